/* kadrctl token: mints an access token from the keys of a kadrd config
 * file or from keys given on the command line. Needs no data folder. */
#include "ctl_token.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "media.h"
#include "token.h"

struct token_args {
    const char *key_id;
    const char *media;
    const char *variant;
    const char *viewer;
    const char *config;
    const char *keys;
    const char *keys_file;
    int64_t ttl_s;
};

static void print_token_usage(FILE *out)
{
    fputs("usage: kadrctl token --key-id KID --media ID --ttl SECONDS\n"
          "           [--variant NAME] [--viewer ID]\n"
          "           (--config FILE | --token-keys LIST | "
          "--token-keys-file FILE)\n\n"
          "Prints an access token for a paid media on standard output.\n\n"
          "  --key-id KID            token key to sign with\n"
          "  --media ID              media id the token opens\n"
          "  --ttl SECONDS           lifetime from now, in seconds\n"
          "  --variant NAME          open only this variant (default: all)\n"
          "  --viewer ID             viewer id bound into the token "
          "(default: none)\n"
          "  --config FILE           kadrd INI file with token_keys or "
          "token_keys_file\n"
          "  --token-keys LIST       KEY_ID:BASE64_SECRET,... as in the "
          "config\n"
          "  --token-keys-file FILE  one KEY_ID:BASE64_SECRET a line\n",
          out);
}

/* Reads a TTL of decimal digits only: strtoll(3) alone would also take
 * leading blanks and a sign. */
static int parse_ttl(const char *text, int64_t *out)
{
    char *end;
    long long v;

    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || v <= 0 ||
        v > 100LL * 365 * 86400)
        return -1;
    *out = v;
    return 0;
}

/* Returns 0, 1 after --help, or -1 on a usage error. */
static int parse_args(int argc, char **argv, struct token_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(opt, "--help") == 0)
            return 1;
        if (val == NULL) {
            fprintf(stderr, "kadrctl token: '%s' needs a value\n", opt);
            return -1;
        }
        if (strcmp(opt, "--key-id") == 0) {
            a->key_id = val;
        } else if (strcmp(opt, "--media") == 0) {
            a->media = val;
        } else if (strcmp(opt, "--variant") == 0) {
            a->variant = val;
        } else if (strcmp(opt, "--viewer") == 0) {
            a->viewer = val;
        } else if (strcmp(opt, "--config") == 0) {
            a->config = val;
        } else if (strcmp(opt, "--token-keys") == 0) {
            a->keys = val;
        } else if (strcmp(opt, "--token-keys-file") == 0) {
            a->keys_file = val;
        } else if (strcmp(opt, "--ttl") == 0) {
            if (parse_ttl(val, &a->ttl_s) != 0) {
                fprintf(stderr,
                        "kadrctl token: invalid --ttl '%s' "
                        "(expected seconds, 1 to 100 years)\n",
                        val);
                return -1;
            }
        } else {
            fprintf(stderr, "kadrctl token: unknown option '%s'\n", opt);
            return -1;
        }
        i++;
    }
    return 0;
}

static int check_args(const struct token_args *a)
{
    if (a->key_id == NULL || a->media == NULL || a->ttl_s == 0) {
        fprintf(stderr, "kadrctl token: --key-id, --media and --ttl are "
                        "required (see --help)\n");
        return -1;
    }
    if (!media_id_valid(a->media, strlen(a->media))) {
        fprintf(stderr, "kadrctl token: invalid media id '%s'\n", a->media);
        return -1;
    }
    if (a->config == NULL && a->keys == NULL && a->keys_file == NULL) {
        fprintf(stderr, "kadrctl token: give --config, --token-keys or "
                        "--token-keys-file\n");
        return -1;
    }
    return 0;
}

/* Loads the keys from the config file, then the flags add theirs. */
static int load_keys(const struct token_args *a, token_keyring_t *ring)
{
    char err[512];
    config_t cfg;
    int rc = 0;

    config_init(&cfg);
    if (a->config != NULL)
        rc = config_load_file(&cfg, a->config, err, sizeof(err));
    if (rc == 0)
        rc = token_keyring_load(ring, cfg.token_keys, cfg.token_keys_file, err,
                                sizeof(err));
    if (rc == 0 && a->keys != NULL)
        rc = token_keyring_add(ring, a->keys, ',', err, sizeof(err));
    if (rc == 0 && a->keys_file != NULL)
        rc = token_keyring_load_file(ring, a->keys_file, err, sizeof(err));
    config_free(&cfg);
    if (rc != 0)
        fprintf(stderr, "kadrctl token: %s\n", err);
    return rc;
}

static int mint(const struct token_args *a, const token_keyring_t *ring)
{
    char text[TOKEN_MAX_LEN + 1];
    int64_t expiry = (int64_t)time(NULL) + a->ttl_s;
    int rc = token_mint(ring, a->key_id, a->media, expiry, a->variant,
                        a->viewer, text, sizeof(text));

    if (rc == KADR_E_NOT_FOUND) {
        fprintf(stderr, "kadrctl token: no token key with id '%s'\n",
                a->key_id);
        return 1;
    }
    if (rc == KADR_E_BAD_INPUT) {
        fprintf(stderr,
                "kadrctl token: invalid --key-id, --variant or "
                "--viewer (expected up to %d of A-Z a-z 0-9 . _ -)\n",
                TOKEN_MAX_FIELD);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "kadrctl token: minting failed: %s\n",
                kadr_strerror(rc));
        return 1;
    }
    printf("%s\n", text);
    return 0;
}

int ctl_token_main(int argc, char **argv)
{
    struct token_args args;
    token_keyring_t ring;
    int status;
    int rc;

    memset(&args, 0, sizeof(args));
    memset(&ring, 0, sizeof(ring));
    rc = parse_args(argc, argv, &args);
    if (rc == 1) {
        print_token_usage(stdout);
        return 0;
    }
    if (rc != 0 || check_args(&args) != 0)
        return 2;
    if (load_keys(&args, &ring) != 0)
        return 1;
    status = mint(&args, &ring);
    token_keyring_clear(&ring);
    return status;
}
