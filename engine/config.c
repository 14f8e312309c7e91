#include "config.h"

#include "fd_limit.h"
#include "log.h"
#include "text_file.h"
#include "webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A row of the table below; fallback NULL means config_finish derives the
 * default from the host. Rows end with (secret, reload), and a row may
 * stop after secret: reload is then false, and the warning for the
 * missing initializer is off for the table. */
#define key_spec config_key
#define STR(field) CONFIG_STRING, offsetof(config_t, field)
#define U64(field) CONFIG_U64, offsetof(config_t, field)
#define BOOL(field) CONFIG_BOOL, offsetof(config_t, field)

/* Assumed peak memory of one video job (decoder, scaler and x264
 * lookahead at 1080p input), used to bound video_workers by the host's
 * memory. NOTE: an estimate, not a measurement of every input. */
#define VIDEO_JOB_MEMORY_BYTES (1024ULL * 1024 * 1024)
/* Largest configuration file read: every key fits many times over. */
#define CONFIG_MAX_FILE_BYTES (1024 * 1024)

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct key_spec keys[] = {
    {"data", STR(data_dir), "./data", "path", "data folder", false},
    {"listen", STR(listen), "127.0.0.1:8080", "addr:port",
     "address to listen on", false},
    {"api_keys", STR(api_keys), "", "list",
     "comma-separated front-end API keys", true, true},
    {"api_keys_file", STR(api_keys_file), "", "path",
     "file with one front-end API key a line", false, true},
    {"token_keys", STR(token_keys), "", "list",
     "comma-separated access token keys, each KEY_ID:BASE64_SECRET", true,
     true},
    {"token_keys_file", STR(token_keys_file), "", "path",
     "file with one access token key (KEY_ID:BASE64_SECRET) a line", false,
     true},
    {"log_level", STR(log_level), "info", "level",
     "debug, info, warn, error or crit", false, true},
    {"access_log", BOOL(access_log), "on", "on/off",
     "write one access log line per request", false, true},
    {"log_rate_limit", U64(log_rate_limit), "10", "lines/s",
     "lines per second of one warn, error or crit event (0: no limit); "
     "the rest are counted and reported",
     false, true},
    {"health_stall_ms", U64(health_stall_ms), "30000", "ms",
     "/healthz reports the workers stalled when the heartbeat probe waits "
     "longer than this for a worker",
     false},
    {"webhook_url", STR(webhook_url), "", "url",
     "http:// URL that gets a POST when a media is ready or failed "
     "(empty: no webhook)",
     false, true},
    {"webhook_max_tries", U64(webhook_max_tries), "5", "count",
     "attempts per event before it is dropped", false, true},
    {"webhook_backoff_ms", U64(webhook_backoff_ms), "1000", "ms",
     "wait before the first retry, doubled for each next one, at most 60 s",
     false, true},
    {"webhook_timeout_ms", U64(webhook_timeout_ms), "5000", "ms",
     "time for one attempt: connect, send the request, read the reply", false,
     true},
    {"webhook_queue_max", U64(webhook_queue_max), "1024", "count",
     "events waiting for delivery; past this the oldest is dropped", false,
     true},
    {"max_upload_bytes", U64(max_upload_bytes), "4294967296", "bytes",
     "largest upload body", false},
    {"disk_reserve_bytes", U64(disk_reserve_bytes), "1073741824", "bytes",
     "uploads get 507 when free space falls under this", false},
    {"volume_max_bytes", U64(volume_max_bytes), "4294967296", "bytes",
     "start a new volume past this size", false},
    {"compact_dead_percent", U64(compact_dead_percent), "50", "percent",
     "compact a volume once this share of its bytes is dead; 0 disables",
     false},
    {"compact_interval_s", U64(compact_interval_s), "300", "seconds",
     "time between checks for volumes to compact", false},
    {"scrub_interval_s", U64(scrub_interval_s), "604800", "seconds",
     "time between starts of background verify passes; 0 disables", false},
    {"scrub_bytes_per_s", U64(scrub_bytes_per_s), "20971520", "bytes/s",
     "read rate of the background verify", false},
    {"index_map_bytes", U64(index_map_bytes), "68719476736", "bytes",
     "LMDB map size (address space, not memory)", false},
    {"workers", U64(workers), NULL, "threads",
     "media worker threads (default: online cores)", false},
    {"video_workers", U64(video_workers), NULL, "threads",
     "workers that may run video jobs at once (default: half the cores, "
     "at most one per GiB of memory)",
     false},
    {"job_max_tries", U64(job_max_tries), "3", "count",
     "runs of a video job that may begin before its media is marked "
     "failed; a run that ends kadrd counts, one stopped by shutdown does "
     "not",
     false},
    {"max_connections", U64(max_connections), NULL, "count",
     "open client connections (default: from the fd limit)", false},
    {"max_uploads", U64(max_uploads), "0", "count",
     "uploads in flight; past this a new upload gets 503 with Retry-After "
     "(0: as many as 1/16 of memory holds in upload buffers)",
     false, true},
    {"max_queued_jobs", U64(max_queued_jobs), "0", "count",
     "image or video jobs waiting for a worker; past this a new upload gets "
     "503 with Retry-After (0: 32 per worker)",
     false, true},
    {"max_header_bytes", U64(max_header_bytes), "32768", "bytes",
     "request line and headers", false},
    {"max_headers", U64(max_headers), "100", "count",
     "header fields in a request", false},
    {"max_url_bytes", U64(max_url_bytes), "8192", "bytes",
     "request target length", false},
    {"header_timeout_ms", U64(header_timeout_ms), "10000", "ms",
     "time for a whole request head", false},
    {"body_timeout_ms", U64(body_timeout_ms), "30000", "ms",
     "longest pause inside a request body", false},
    {"body_min_bytes_per_s", U64(body_min_bytes_per_s), "500", "bytes/s",
     "slowest request body: past body_timeout_ms it gets 408 unless this "
     "many bytes a second came on average (0: no minimum)",
     false},
    {"idle_timeout_ms", U64(idle_timeout_ms), "60000", "ms",
     "keep-alive wait between requests", false},
    {"wait_timeout_ms", U64(wait_timeout_ms), "60000", "ms",
     "longest wait of an upload with ?wait=1", false},
    {"image_max_pixels", U64(image_max_pixels), "100000000", "pixels",
     "largest image area", false},
    {"image_max_width", U64(image_max_width), "20000", "pixels", "widest image",
     false},
    {"image_max_height", U64(image_max_height), "20000", "pixels",
     "tallest image", false},
    {"image_max_file_bytes", U64(image_max_file_bytes), "104857600", "bytes",
     "largest image file; larger ones get 422 before any decode", false},
    {"image_decode_time_ms", U64(image_decode_time_ms), "10000", "ms",
     "longest image decode before the upload gets 422", false},
    {"video_max_duration_s", U64(video_max_duration_s), "900", "seconds",
     "longest video", false},
    {"video_max_width", U64(video_max_width), "7680", "pixels",
     "widest video frame", false},
    {"video_max_height", U64(video_max_height), "7680", "pixels",
     "tallest video frame", false},
    {"video_max_fps", U64(video_max_fps), "240", "frames/s",
     "highest video frame rate", false},
    {"video_max_file_bytes", U64(video_max_file_bytes), "2147483648", "bytes",
     "largest video file; larger ones get 422 before any decode", false},
    {"video_teaser_s", U64(video_teaser_s), "10", "seconds",
     "length of the free teaser.mp4 of a paid video (0: no teaser)", false},
    {"video_crf", U64(video_crf), "23", "crf", "H.264 constant rate factor",
     false},
    {"video_preset", STR(video_preset), "veryfast", "name", "x264 preset",
     false},
    {"video_time_limit_s", U64(video_time_limit_s), "1800", "seconds",
     "longest transcode", false},
    {"video_encoder_threads", U64(video_encoder_threads), NULL, "threads",
     "encoder threads per video job (default: cores / video_workers)", false},
};
#pragma GCC diagnostic pop

#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

const config_key_t *config_keys(size_t *count)
{
    *count = KEY_COUNT;
    return keys;
}

const config_key_t *config_find_key(const char *name)
{
    char norm[64];
    size_t i;

    for (i = 0; name[i] != '\0' && i + 1 < sizeof(norm); i++)
        norm[i] = name[i] == '-' ? '_' : name[i];
    norm[i] = '\0';
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (strcmp(keys[k].name, norm) == 0)
            return &keys[k];
    }
    return NULL;
}

static int parse_u64(const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (text[0] == '\0' || text[0] == '-')
        return -1;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static const char *expected_text(const struct key_spec *key)
{
    if (key->type == CONFIG_U64)
        return "a whole number";
    if (key->type == CONFIG_BOOL)
        return "on or off";
    return "text";
}

static int set_value(config_t *cfg, const struct key_spec *key,
                     const char *value)
{
    char *field = (char *)cfg + key->offset;

    if (key->type == CONFIG_U64)
        return parse_u64(value, (uint64_t *)(void *)field);
    if (key->type == CONFIG_BOOL)
        return parse_bool(value, (bool *)(void *)field);

    char *copy = strdup(value);
    char **slot = (char **)(void *)field;

    if (copy == NULL)
        return -ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

int config_set(config_t *cfg, const char *name, const char *value, char *err,
               size_t err_size)
{
    const struct key_spec *key = config_find_key(name);

    if (key == NULL) {
        snprintf(err, err_size, "unknown configuration key '%s'", name);
        return KADR_E_CONFIG;
    }
    if (set_value(cfg, key, value) != 0) {
        snprintf(err, err_size,
                 "invalid value for '%s': '%s' (expected %s in %s)", key->name,
                 key->secret ? "(hidden)" : value, expected_text(key),
                 key->unit);
        return KADR_E_CONFIG;
    }
    return 0;
}

static uint64_t online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (uint64_t)n : 1;
}

static uint64_t physical_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);

    if (pages <= 0 || page_size <= 0)
        return 0;
    return (uint64_t)pages * (uint64_t)page_size;
}

void config_init(config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (keys[k].fallback != NULL &&
            set_value(cfg, &keys[k], keys[k].fallback) != 0)
            abort(); /* a default in the table above is malformed */
    }
}

struct ini_ctx {
    config_t *cfg;
    char *err;
    size_t err_size;
    int rc;
};

static int on_ini_entry(void *user, const char *section, const char *name,
                        const char *value)
{
    struct ini_ctx *ctx = user;

    (void)section;
    if (ctx->rc != 0)
        return 0;
    ctx->rc = config_set(ctx->cfg, name, value, ctx->err, ctx->err_size);
    return ctx->rc == 0;
}

/* Checks that no line is longer than the INI parser's buffer
 * (INI_MAX_LINE): it would split the line, and read the rest as a line of
 * its own that could set another key. */
static int check_config_lines(const char *path, const char *text, size_t len,
                              char *err, size_t err_size)
{
    size_t line_start = 0;
    int line = 1;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n')
            continue;
        if (i - line_start > INI_MAX_LINE - 1) {
            snprintf(err, err_size,
                     "%s:%d: line longer than %d bytes (put long key lists "
                     "in api_keys_file or token_keys_file, or pass the "
                     "value as a flag)",
                     path, line, INI_MAX_LINE - 1);
            return KADR_E_CONFIG;
        }
        line_start = i + 1;
        line++;
    }
    return 0;
}

int config_load_file(config_t *cfg, const char *path, char *err,
                     size_t err_size)
{
    struct ini_ctx ctx = {cfg, err, err_size, 0};
    char *text = malloc(CONFIG_MAX_FILE_BYTES + 1);
    size_t len = 0;
    int rc;
    int line;

    if (text == NULL)
        return -ENOMEM;
    rc = text_file_read(path, "configuration file", text,
                        CONFIG_MAX_FILE_BYTES + 1, &len, err, err_size);
    if (rc == 0)
        rc = check_config_lines(path, text, len, err, err_size);
    if (rc != 0) {
        free(text);
        return rc;
    }
    line = ini_parse_string(text, on_ini_entry, &ctx);
    free(text);
    if (ctx.rc != 0)
        return ctx.rc;
    if (line != 0) {
        snprintf(err, err_size, "%s:%d: syntax error", path, line);
        return KADR_E_CONFIG;
    }
    return 0;
}

static void derive_host_defaults(config_t *cfg)
{
    uint64_t cores = online_cores();

    if (cfg->workers == 0)
        cfg->workers = cores;
    if (cfg->video_workers == 0) {
        uint64_t by_memory = physical_memory_bytes() / VIDEO_JOB_MEMORY_BYTES;

        cfg->video_workers = cores >= 2 ? cores / 2 : 1;
        if (by_memory >= 1 && by_memory < cfg->video_workers)
            cfg->video_workers = by_memory;
    }
    if (cfg->video_workers > cfg->workers)
        cfg->video_workers = cfg->workers;
    if (cfg->video_encoder_threads == 0)
        cfg->video_encoder_threads = cores / cfg->video_workers;
    if (cfg->video_encoder_threads == 0)
        cfg->video_encoder_threads = 1;
    if (cfg->max_connections == 0) {
        /* Without the store's volumes: kadrd sizes it again once the
         * store is open. */
        cfg->max_connections =
            fd_limit_connections(fd_limit_raise(FD_LIMIT_TARGET), 0);
        cfg->max_connections_from_host = true;
    }
}

static int parse_listen(config_t *cfg, char *err, size_t err_size)
{
    const char *colon = strrchr(cfg->listen, ':');
    const char *host;
    unsigned char addr[sizeof(struct in6_addr)];
    uint64_t port;
    size_t host_len;

    if (colon == NULL || parse_u64(colon + 1, &port) != 0 || port > 65535)
        goto invalid;
    host = cfg->listen;
    host_len = (size_t)(colon - cfg->listen);
    /* An IPv6 address comes in brackets: [::1]:8080. */
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof(cfg->host))
        goto invalid;
    memcpy(cfg->host, host, host_len);
    cfg->host[host_len] = '\0';
    if (inet_pton(AF_INET, cfg->host, addr) != 1 &&
        inet_pton(AF_INET6, cfg->host, addr) != 1)
        goto invalid;
    cfg->port = (int)port;
    return 0;

invalid:
    snprintf(err, err_size,
             "invalid value for 'listen': '%s' (expected a numeric IPv4 or "
             "IPv6 address and a port, for example 127.0.0.1:8080 or "
             "[::1]:8080; host names are not resolved)",
             cfg->listen);
    return KADR_E_CONFIG;
}

static int add_api_key(config_t *cfg, const char *start, size_t len)
{
    while (len > 0 && (*start == ' ' || *start == '\t'))
        start++, len--;
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t' ||
                       start[len - 1] == '\r'))
        len--;
    if (len == 0)
        return 0;
    if (cfg->api_key_count == CONFIG_MAX_API_KEYS)
        return KADR_E_TOO_LARGE;
    cfg->api_key_list[cfg->api_key_count] = strndup(start, len);
    if (cfg->api_key_list[cfg->api_key_count] == NULL)
        return -ENOMEM;
    cfg->api_key_count++;
    return 0;
}

static int split_api_keys(config_t *cfg, const char *text, char sep)
{
    const char *p = text;

    while (*p != '\0') {
        const char *end = strchr(p, sep);
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        int rc = add_api_key(cfg, p, len);

        if (rc != 0)
            return rc;
        p += len;
        if (*p == sep)
            p++;
    }
    return 0;
}

static int read_api_keys_file(config_t *cfg, char *err, size_t err_size)
{
    char text[8192];
    size_t len;
    int rc = text_file_read(cfg->api_keys_file, "'api_keys_file'", text,
                            sizeof(text), &len, err, err_size);

    if (rc == 0)
        rc = split_api_keys(cfg, text, '\n');
    explicit_bzero(text, sizeof(text));
    return rc;
}

/* The x264 presets, fastest first, as libx264 names them. */
static const char *const x264_presets[] = {
    "ultrafast", "superfast", "veryfast", "faster",   "fast",
    "medium",    "slow",      "slower",   "veryslow", "placebo",
};

static bool preset_known(const char *name)
{
    for (size_t i = 0; i < sizeof(x264_presets) / sizeof(*x264_presets); i++) {
        if (strcmp(name, x264_presets[i]) == 0)
            return true;
    }
    return false;
}

/* Rejects values that would start a daemon that cannot work: a zero
 * timeout closes every connection at once, and a bad preset or CRF
 * would fail every video job later. */
static int check_values(const config_t *cfg, char *err, size_t err_size)
{
    const char *zero = cfg->header_timeout_ms == 0  ? "header_timeout_ms"
                       : cfg->body_timeout_ms == 0  ? "body_timeout_ms"
                       : cfg->idle_timeout_ms == 0  ? "idle_timeout_ms"
                       : cfg->max_header_bytes == 0 ? "max_header_bytes"
                       : cfg->max_url_bytes == 0    ? "max_url_bytes"
                                                    : NULL;

    if (zero != NULL) {
        snprintf(err, err_size,
                 "invalid value for '%s': 0 (expected 1 or "
                 "more)",
                 zero);
        return KADR_E_CONFIG;
    }
    if (cfg->video_crf > 51) {
        snprintf(err, err_size,
                 "invalid value for 'video_crf': %llu "
                 "(expected 0 to 51; 23 is the usual default)",
                 (unsigned long long)cfg->video_crf);
        return KADR_E_CONFIG;
    }
    if (!preset_known(cfg->video_preset)) {
        snprintf(err, err_size,
                 "invalid value for 'video_preset': '%s' "
                 "(expected an x264 preset: ultrafast, superfast, veryfast, "
                 "faster, fast, medium, slow, slower, veryslow or placebo)",
                 cfg->video_preset);
        return KADR_E_CONFIG;
    }
    return 0;
}

int config_finish(config_t *cfg, char *err, size_t err_size)
{
    webhook_url_t url;
    int rc;

    derive_host_defaults(cfg);
    rc = parse_listen(cfg, err, err_size);
    if (rc == 0)
        rc = check_values(cfg, err, err_size);
    if (rc != 0)
        return rc;
    rc = split_api_keys(cfg, cfg->api_keys, ',');
    if (rc == 0 && cfg->api_keys_file[0] != '\0')
        rc = read_api_keys_file(cfg, err, err_size);
    if (rc == KADR_E_TOO_LARGE) {
        snprintf(err, err_size, "more than %d API keys", CONFIG_MAX_API_KEYS);
        return KADR_E_CONFIG;
    }
    if (rc != 0)
        return rc;
    if (cfg->webhook_url[0] != '\0' &&
        webhook_parse_url(cfg->webhook_url, &url) != 0) {
        snprintf(err, err_size,
                 "invalid value for 'webhook_url': '%s' (expected "
                 "http://HOST[:PORT][/PATH]; https is not supported)",
                 cfg->webhook_url);
        return KADR_E_CONFIG;
    }
    if (log_parse_level(cfg->log_level) < 0) {
        snprintf(err, err_size,
                 "invalid value for 'log_level': '%s' (expected debug, "
                 "info, warn, error or crit)",
                 cfg->log_level);
        return KADR_E_CONFIG;
    }
    return 0;
}

void config_print_help(FILE *out)
{
    for (size_t k = 0; k < KEY_COUNT; k++) {
        char flag[64];

        snprintf(flag, sizeof(flag), "--%s", keys[k].name);
        for (char *p = flag + 2; *p != '\0'; p++)
            *p = *p == '_' ? '-' : *p;
        fprintf(out, "  %-26s %s (%s; default: %s)\n", flag, keys[k].help,
                keys[k].unit,
                keys[k].fallback == NULL      ? "from the host"
                : keys[k].fallback[0] == '\0' ? "none"
                                              : keys[k].fallback);
    }
}

void config_free(config_t *cfg)
{
    for (size_t k = 0; k < KEY_COUNT; k++) {
        if (keys[k].type == CONFIG_STRING)
            free(*(char **)(void *)((char *)cfg + keys[k].offset));
    }
    for (uint32_t i = 0; i < cfg->api_key_count; i++)
        free(cfg->api_key_list[i]);
    memset(cfg, 0, sizeof(*cfg));
}
