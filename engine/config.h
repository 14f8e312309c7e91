/* kadrd's configuration: one INI file plus command-line flags that
 * override it. Every key is listed once in config.c with its type,
 * default and unit; --help and the docs are written from that table. */
#ifndef KADR_ENGINE_CONFIG_H
#define KADR_ENGINE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <kadr/error.h>

#define CONFIG_MAX_API_KEYS 16

enum config_key_type { CONFIG_STRING, CONFIG_U64, CONFIG_BOOL };

/* One row of the key table: the key's name in the file (a flag is the same
 * name with dashes), where it lives in config_t, its default as text (NULL
 * when config_finish derives it from the host), unit and help line. */
typedef struct config_key {
    const char *name;
    enum config_key_type type;
    size_t offset;
    const char *fallback;
    const char *unit;
    const char *help;
    bool secret; /* never printed: not in --help, logs or --check-config */
    bool reload; /* SIGHUP applies a new value without a restart */
} config_key_t;

typedef struct config {
    char *data_dir;
    char *listen;
    char *api_keys; /* comma-separated front-end keys; a secret */
    char *api_keys_file;
    char *token_keys; /* "kid:base64secret,..." for access tokens; secret */
    char *token_keys_file;
    char *log_level;
    bool access_log;
    uint64_t log_rate_limit;
    uint64_t health_stall_ms;
    char *webhook_url;
    uint64_t webhook_max_tries;
    uint64_t webhook_backoff_ms;
    uint64_t webhook_timeout_ms;
    uint64_t webhook_queue_max;
    uint64_t max_upload_bytes;
    uint64_t disk_reserve_bytes;
    uint64_t volume_max_bytes;
    uint64_t compact_dead_percent;
    uint64_t compact_interval_s;
    uint64_t scrub_interval_s;
    uint64_t scrub_bytes_per_s;
    uint64_t index_map_bytes;
    uint64_t workers;
    uint64_t video_workers;
    uint64_t job_max_tries;
    uint64_t max_connections;
    /* max_connections was left to the open-file limit. */
    bool max_connections_from_host;
    uint64_t max_uploads;
    uint64_t max_queued_jobs;
    uint64_t max_header_bytes;
    uint64_t max_headers;
    uint64_t max_url_bytes;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t body_min_bytes_per_s;
    uint64_t idle_timeout_ms;
    uint64_t wait_timeout_ms;
    uint64_t image_max_pixels;
    uint64_t image_max_width;
    uint64_t image_max_height;
    uint64_t image_max_file_bytes;
    uint64_t image_decode_time_ms;
    uint64_t video_max_duration_s;
    uint64_t video_max_width;
    uint64_t video_max_height;
    uint64_t video_max_fps;
    uint64_t video_max_file_bytes;
    uint64_t video_teaser_s;
    uint64_t video_crf;
    char *video_preset;
    uint64_t video_time_limit_s;
    uint64_t video_encoder_threads;

    /* Derived at load time, not keys. */
    char *api_key_list[CONFIG_MAX_API_KEYS];
    uint32_t api_key_count;
    char host[64];
    int port;
} config_t;

/* Fills cfg with defaults, some taken from the host (cores). */
void config_init(config_t *cfg);

/* Reads an INI file. On a bad key or value, writes a message naming it
 * into err and returns KADR_E_CONFIG. */
KADR_MUST_CHECK int config_load_file(config_t *cfg, const char *path, char *err,
                                     size_t err_size);

/* Sets one key from its name (dashes and underscores alike). */
KADR_MUST_CHECK int config_set(config_t *cfg, const char *key,
                               const char *value, char *err, size_t err_size);

/* Fills cfg from the defaults, the files of "--config FILE", then the
 * other "--key value" and "--key=value" flags of argv (left unchanged),
 * and calls config_finish. With live set (a reload), keys that a reload
 * cannot change keep live's values, as config_keep_fixed does with
 * fixed_changed. On error err names the argument, key or value (never a
 * secret's value); cfg must still be freed. */
KADR_MUST_CHECK int config_parse_args(config_t *cfg, int argc,
                                      char *const *argv, const config_t *live,
                                      void (*fixed_changed)(const char *name,
                                                            void *ctx),
                                      void *ctx, char *err, size_t err_size);

/* Checks values that depend on each other and derives host, port and the
 * key list. Returns KADR_E_CONFIG with a message in err. */
KADR_MUST_CHECK int config_finish(config_t *cfg, char *err, size_t err_size);

/* Prints every key with its default and unit, for --help. */
void config_print_help(FILE *out);

/* Returns the key table and its length in *count. */
const config_key_t *config_keys(size_t *count);

/* Returns the key of that name (dashes and underscores alike), or NULL. */
const config_key_t *config_find_key(const char *name);

/* Writes one key's value as text into out; a secret set to anything but
 * "" is written as "(hidden)". */
void config_format_value(const config_t *cfg, const config_key_t *key,
                         char *out, size_t out_size);

/* Prints "key = value" for every key, secrets hidden, for --check-config. */
void config_print_values(const config_t *cfg, FILE *out);

/* Prints docs/CONFIGURATION.md's key reference in Markdown. */
void config_print_docs(FILE *out);

/* Copies into fresh every key that a reload cannot change (listen, data,
 * workers, ...), so that fresh describes the running daemon, and calls
 * changed(name, ctx) for each of them whose value differed. */
KADR_MUST_CHECK int
config_keep_fixed(config_t *fresh, const config_t *live,
                  void (*changed)(const char *name, void *ctx), void *ctx);

void config_free(config_t *cfg);

#endif
