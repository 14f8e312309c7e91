/* kadr-bench: drives a running kadrd, or any HTTP server for reads.
 *
 *   kadr-bench upload --url http://127.0.0.1:8080 --dir photos/ -n 200
 *   kadr-bench read --url http://127.0.0.1:8080 --dir photos/ -d 10
 *   kadr-bench urls --urls-file list.txt -c 32 -d 10
 *
 * kadr-bench --help lists every option. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kadr_bench_run.h"

static void print_usage(FILE *out)
{
    fputs("usage: kadr-bench upload|read|urls [options]\n\n"
          "  upload   POST every file of --dir in turn to /v1/media\n"
          "  read     upload the files of --dir once (not measured), then\n"
          "           GET their variants, some with a Range header\n"
          "  urls     GET each URL of --urls-file in turn (any HTTP server)\n\n"
          "  --url URL            kadrd's base URL, http://HOST:PORT "
          "(default http://127.0.0.1:8080)\n"
          "  --dir DIR            photos and videos to upload\n"
          "  --urls-file FILE     one http:// URL a line, all on one "
          "HOST:PORT\n"
          "  --api-key KEY        front-end key for uploads\n"
          "  --api-key-file FILE  read the key from the file's first line\n"
          "  --paid               upload with ?access=paid\n"
          "  --token TOKEN        send Authorization: Bearer TOKEN on reads\n"
          "  --token-key ID:BASE64  mint a token per media with this key\n"
          "  --variants LIST      read only these variants (comma-separated)\n"
          "  --range-share P      share of reads with a Range header, 0..1 "
          "(default 0.5)\n"
          "  --range-bytes N      length of each range (default 65536)\n"
          "  -c, --connections N  concurrent connections (default 8)\n"
          "  -n, --requests N     stop after N requests\n"
          "  -d, --duration S     stop after S seconds (default 10 without "
          "-n)\n"
          "  --timeout-ms N       time for one request (default 30000)\n"
          "  --quiet              no progress line\n",
          out);
}

enum long_only {
    OPT_URL = 256,
    OPT_DIR,
    OPT_URLS_FILE,
    OPT_API_KEY,
    OPT_API_KEY_FILE,
    OPT_PAID,
    OPT_TOKEN,
    OPT_TOKEN_KEY,
    OPT_VARIANTS,
    OPT_RANGE_SHARE,
    OPT_RANGE_BYTES,
    OPT_TIMEOUT,
    OPT_QUIET,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"dir", required_argument, NULL, OPT_DIR},
    {"urls-file", required_argument, NULL, OPT_URLS_FILE},
    {"api-key", required_argument, NULL, OPT_API_KEY},
    {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
    {"paid", no_argument, NULL, OPT_PAID},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"token-key", required_argument, NULL, OPT_TOKEN_KEY},
    {"variants", required_argument, NULL, OPT_VARIANTS},
    {"range-share", required_argument, NULL, OPT_RANGE_SHARE},
    {"range-bytes", required_argument, NULL, OPT_RANGE_BYTES},
    {"connections", required_argument, NULL, 'c'},
    {"requests", required_argument, NULL, 'n'},
    {"duration", required_argument, NULL, 'd'},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int parse_count(const char *name, const char *text, uint64_t min,
                       uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);

    if (text[0] == '\0' || text[0] == '-' || *end != '\0' || v < min) {
        fprintf(stderr,
                "kadr-bench: invalid value for --%s: '%s' (expected "
                "a whole number of at least %llu)\n",
                name, text, (unsigned long long)min);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_share(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);

    if (text[0] == '\0' || *end != '\0' || !(v >= 0 && v <= 1)) {
        fprintf(stderr,
                "kadr-bench: invalid value for --range-share: '%s' "
                "(expected a number from 0 to 1)\n",
                text);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_number_option(int opt, const char *arg, bench_config_t *cfg)
{
    uint64_t v;

    switch (opt) {
    case 'c':
        if (parse_count("connections", arg, 1, &v) != 0 || v > 10000)
            return -1;
        cfg->connections = (uint32_t)v;
        return 0;
    case 'n':
        return parse_count("requests", arg, 1, &cfg->requests);
    case 'd':
        return parse_count("duration", arg, 1, &cfg->duration_s);
    case OPT_RANGE_BYTES:
        return parse_count("range-bytes", arg, 1, &cfg->range_bytes);
    case OPT_TIMEOUT:
        if (parse_count("timeout-ms", arg, 1, &v) != 0 || v > UINT32_MAX)
            return -1;
        cfg->timeout_ms = (uint32_t)v;
        return 0;
    case OPT_RANGE_SHARE:
        return parse_share(arg, &cfg->range_share);
    }
    return 1; /* not a number option */
}

static int parse_option(int opt, const char *arg, bench_config_t *cfg)
{
    int rc = parse_number_option(opt, arg, cfg);

    if (rc <= 0)
        return rc;
    switch (opt) {
    case OPT_URL:
        cfg->url = arg;
        return 0;
    case OPT_DIR:
        cfg->dir = arg;
        return 0;
    case OPT_URLS_FILE:
        cfg->urls_file = arg;
        return 0;
    case OPT_API_KEY:
        cfg->api_key = arg;
        return 0;
    case OPT_API_KEY_FILE:
        cfg->api_key_file = arg;
        return 0;
    case OPT_PAID:
        cfg->paid = true;
        return 0;
    case OPT_TOKEN:
        cfg->token = arg;
        return 0;
    case OPT_TOKEN_KEY:
        cfg->token_key = arg;
        return 0;
    case OPT_VARIANTS:
        cfg->variants = arg;
        return 0;
    case OPT_QUIET:
        cfg->quiet = true;
        return 0;
    }
    return -1;
}

static int parse_mode(const char *name, enum bench_mode *out)
{
    if (strcmp(name, "upload") == 0)
        *out = BENCH_UPLOAD;
    else if (strcmp(name, "read") == 0)
        *out = BENCH_READ;
    else if (strcmp(name, "urls") == 0)
        *out = BENCH_URLS;
    else
        return -1;
    return 0;
}

static int parse_args(int argc, char **argv, bench_config_t *cfg)
{
    int opt;

    while ((opt = getopt_long(argc, argv, "c:n:d:", long_options, NULL)) !=
           -1) {
        if (opt == OPT_HELP) {
            print_usage(stdout);
            exit(0);
        }
        if (opt == '?' || parse_option(opt, optarg, cfg) != 0)
            return -1;
    }
    if (optind + 1 != argc || parse_mode(argv[optind], &cfg->mode) != 0) {
        fprintf(stderr, "kadr-bench: expected one mode: upload, read or "
                        "urls (see --help)\n");
        return -1;
    }
    if (cfg->requests == 0 && cfg->duration_s == 0)
        cfg->duration_s = 10;
    return 0;
}

int main(int argc, char **argv)
{
    bench_config_t cfg = {
        .url = "http://127.0.0.1:8080",
        .connections = 8,
        .range_share = 0.5,
        .range_bytes = 65536,
        .timeout_ms = 30000,
    };

    if (parse_args(argc, argv, &cfg) != 0)
        return 2;
    if (!isatty(STDERR_FILENO))
        cfg.progress_lines = true;
    return bench_run(&cfg) == 0 ? 0 : 1;
}
