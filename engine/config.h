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

typedef struct config {
    char *data_dir;
    char *listen;
    char *api_keys; /* comma-separated front-end keys; a secret */
    char *api_keys_file;
    char *token_keys; /* "kid:base64secret,..." for access tokens; secret */
    char *token_keys_file;
    char *log_level;
    uint64_t max_upload_bytes;
    uint64_t disk_reserve_bytes;
    uint64_t volume_max_bytes;
    uint64_t index_map_bytes;
    uint64_t workers;
    uint64_t video_workers;
    uint64_t job_max_tries;
    uint64_t max_connections;
    uint64_t max_header_bytes;
    uint64_t max_headers;
    uint64_t max_url_bytes;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t wait_timeout_ms;
    uint64_t image_max_pixels;
    uint64_t image_max_width;
    uint64_t image_max_height;
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
KADR_MUST_CHECK int config_load_file(config_t *cfg, const char *path,
                                     char *err, size_t err_size);

/* Sets one key from its name (dashes and underscores alike). */
KADR_MUST_CHECK int config_set(config_t *cfg, const char *key,
                               const char *value, char *err,
                               size_t err_size);

/* Checks values that depend on each other and derives host, port and the
 * key list. Returns KADR_E_CONFIG with a message in err. */
KADR_MUST_CHECK int config_finish(config_t *cfg, char *err, size_t err_size);

/* Prints every key with its default and unit, for --help. */
void config_print_help(FILE *out);

void config_free(config_t *cfg);

#endif
