/* kadrd: the media daemon. */
#include <libavutil/log.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "fd_limit.h"
#include "log.h"
#include "maintenance.h"
#include "ops.h"
#include "read_txn.h"
#include "reload.h"
#include "routes.h"
#include "token.h"
#include "upload.h"
#include "video_job.h"
#include "video_running.h"

struct daemon {
    app_t app;
    config_t cfg;
    token_keyring_t token_keys;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_signal_t sighup;
    reload_t reload;
};

static void print_usage(FILE *out)
{
    fputs("usage: kadrd --data DIR --listen ADDR:PORT [--config FILE] "
          "[--KEY VALUE]...\n"
          "       kadrd --check-config FILE\n"
          "       kadrd --print-config-docs\n\n"
          "Stores uploaded photos and videos once, makes their display\n"
          "variants and serves them over HTTP.\n\n"
          "  --config FILE              read keys from an INI file first\n"
          "  --check-config FILE        validate FILE, print its values "
          "(secrets hidden) and exit\n"
          "  --print-config-docs        print the key reference in "
          "Markdown and exit\n"
          "  --help                     print this help\n\n"
          "Every configuration key is also a flag:\n",
          out);
    config_print_help(out);
}

/* Loads FILE as the daemon would, token keys included, and prints every
 * value with secrets hidden. */
static int check_config(char *path)
{
    char *argv[] = {"kadrd", "--config", path, NULL};
    token_keyring_t ring;
    config_t cfg;
    char err[512];
    int rc;

    memset(&ring, 0, sizeof(ring));
    rc = config_parse_args(&cfg, 3, argv, NULL, NULL, NULL, err, sizeof(err));
    if (rc == 0)
        rc = token_keyring_load(&ring, cfg.token_keys, cfg.token_keys_file, err,
                                sizeof(err));
    token_keyring_clear(&ring);
    if (rc == 0) {
        printf("%s: configuration is valid\n", path);
        config_print_values(&cfg, stdout);
    }
    config_free(&cfg);
    if (rc != 0) {
        fprintf(stderr, "kadrd: %s: %s\n", path, err);
        return 1;
    }
    return 0;
}

static int parse_command_line(config_t *cfg, int argc, char **argv)
{
    char err[512];

    if (config_parse_args(cfg, argc, argv, NULL, NULL, NULL, err,
                          sizeof(err)) != 0) {
        fprintf(stderr, "kadrd: %s\n", err);
        return -1;
    }
    return 0;
}

static int load_token_keys(struct daemon *d)
{
    char err[512];

    if (token_keyring_load(&d->token_keys, d->cfg.token_keys,
                           d->cfg.token_keys_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "kadrd: %s\n", err);
        return -1;
    }
    d->app.token_keys = &d->token_keys;
    return 0;
}

/* Raises the open-file limit to what max_connections needs beside the
 * descriptors of the store's volumes, and sets the connections in effect
 * to what the hard limit allows. A cap left to the host follows the
 * limit; a configured one that does not fit is lowered and logged. */
static void fit_connections(app_t *app, const config_t *cfg)
{
    uint64_t volumes = store_volume_count(app->store);
    uint64_t target = cfg->max_connections_from_host
                          ? FD_LIMIT_TARGET + FD_LIMIT_PER_VOLUME * volumes
                          : fd_limit_needed(cfg->max_connections, volumes);
    uint64_t open_files = fd_limit_raise(target);
    uint64_t allowed = fd_limit_connections(open_files, volumes);

    app->max_connections = allowed;
    if (cfg->max_connections_from_host)
        return;
    if (cfg->max_connections <= allowed) {
        app->max_connections = cfg->max_connections;
        return;
    }
    log_warn("config.max_connections_lowered",
             "configured=%llu allowed=%llu open_files=%llu",
             (unsigned long long)cfg->max_connections,
             (unsigned long long)allowed, (unsigned long long)open_files);
}

static void fill_limits(app_t *app, const config_t *cfg)
{
    app->image_limits.max_pixels = cfg->image_max_pixels;
    app->image_limits.max_width = (uint32_t)cfg->image_max_width;
    app->image_limits.max_height = (uint32_t)cfg->image_max_height;
    app->image_limits.max_file_bytes = cfg->image_max_file_bytes;
    app->image_limits.max_decode_ms = cfg->image_decode_time_ms;
    app->video_limits.max_duration_s = (double)cfg->video_max_duration_s;
    app->video_limits.max_width = (uint32_t)cfg->video_max_width;
    app->video_limits.max_height = (uint32_t)cfg->video_max_height;
    app->video_limits.max_fps = (double)cfg->video_max_fps;
    app->video_limits.max_file_bytes = cfg->video_max_file_bytes;
    app->video_params.max_long = 1280;
    app->video_params.max_short = 720;
    app->video_params.crf = (int)cfg->video_crf;
    app->video_params.preset = cfg->video_preset;
    app->video_params.threads = (int)cfg->video_encoder_threads;
    app->video_params.audio_bitrate = 128000;
    app->video_params.gop_seconds = 2.0;
    app->video_params.time_limit_s = (double)cfg->video_time_limit_s;
    app->video_params.max_duration_s = (double)cfg->video_max_duration_s;
}

static void fill_server_options(http_server_options_t *o, const app_t *app,
                                const config_t *cfg)
{
    o->host = cfg->host;
    o->port = cfg->port;
    o->max_header_bytes = (uint32_t)cfg->max_header_bytes;
    o->max_headers = (uint32_t)cfg->max_headers;
    o->max_url_bytes = (uint32_t)cfg->max_url_bytes;
    o->max_body_bytes = cfg->max_upload_bytes;
    o->max_connections = (uint32_t)app->max_connections;
    o->header_timeout_ms = (uint32_t)cfg->header_timeout_ms;
    o->body_timeout_ms = (uint32_t)cfg->body_timeout_ms;
    o->body_min_bytes_per_s = (uint32_t)cfg->body_min_bytes_per_s;
    o->idle_timeout_ms = (uint32_t)cfg->idle_timeout_ms;
}

static void on_server_stopped(void *ctx)
{
    struct daemon *d = ctx;

    d->app.server = NULL;
    pool_stop(d->app.pool);
    d->app.pool = NULL;
    ops_stop(&d->app);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sighup, NULL);
    log_info("server.stopped", "%s", "");
}

static void on_signal(uv_signal_t *handle, int signum)
{
    struct daemon *d = handle->data;

    if (d->app.stopping)
        return;
    log_info("server.stopping", "signal=%d", signum);
    d->app.stopping = true;
    atomic_store(&d->app.cancel_all, 1);
    video_running_cancel_all();
    ingest_video_finish_waits(&d->app);
    http_server_stop(d->app.server, on_server_stopped, d);
}

static void on_reload_signal(uv_signal_t *handle, int signum)
{
    struct daemon *d = handle->data;

    (void)signum;
    if (d->app.stopping)
        return;
    log_info("config.reloading", "signal=%d", signum);
    (void)reload_config(&d->reload); /* logs its own errors */
}

static int start_server(struct daemon *d)
{
    http_server_options_t opts;
    http_handlers_t handlers;
    int rc;

    memset(&opts, 0, sizeof(opts));
    fill_server_options(&opts, &d->app, &d->cfg);
    routes_handlers(&d->app, &handlers);
    rc = http_server_start(d->app.loop, &opts, &handlers, &d->app.server);
    if (rc != 0) {
        log_error("server.listen_failed", "listen=%s error=\"%s\"",
                  d->cfg.listen, kadr_strerror(rc));
        return rc;
    }
    log_info("server.listening",
             "host=%s port=%d workers=%llu "
             "video_workers=%llu max_connections=%llu",
             d->cfg.host, http_server_port(d->app.server),
             (unsigned long long)d->cfg.workers,
             (unsigned long long)d->cfg.video_workers,
             (unsigned long long)d->app.max_connections);
    return 0;
}

static void start_signals(struct daemon *d)
{
    uv_signal_init(d->app.loop, &d->sigterm);
    uv_signal_init(d->app.loop, &d->sigint);
    d->sigterm.data = d;
    d->sigint.data = d;
    uv_signal_init(d->app.loop, &d->sighup);
    d->sighup.data = d;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_signal_start(&d->sighup, on_reload_signal, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
}

static int open_store(struct daemon *d)
{
    store_options_t opts = {
        .volume_max_bytes = d->cfg.volume_max_bytes,
        .map_size_bytes = d->cfg.index_map_bytes,
        .reserve_bytes = d->cfg.disk_reserve_bytes,
    };
    int rc = store_open(d->cfg.data_dir, &opts, &d->app.store);

    if (rc == -EBUSY)
        log_error("store.locked",
                  "data=%s error=\"another process holds DATA/lock (a "
                  "kadrd, or kadrctl gc or compact): stop it or choose "
                  "another --data\"",
                  d->cfg.data_dir);
    else if (rc != 0)
        log_error("store.open_failed", "data=%s error=\"%s\"", d->cfg.data_dir,
                  kadr_strerror(rc));
    else
        maintenance_start(&d->app);
    return rc;
}

static int run_daemon(struct daemon *d)
{
    int rc = open_store(d);

    if (rc != 0)
        return 1;
    fit_connections(&d->app, &d->cfg);
    rc = pool_start(d->app.loop, (uint32_t)d->cfg.workers,
                    (uint32_t)d->cfg.video_workers, &d->app.pool);
    if (rc == 0)
        rc = ops_start(&d->app);
    if (rc == 0)
        rc = start_server(d);
    if (rc == 0) {
        int jobs = video_job_resume_all(&d->app);

        if (jobs < 0)
            log_error("job.resume_failed", "error=\"%s\"", kadr_strerror(jobs));
        else if (jobs > 0)
            log_info("job.resumed", "count=%d", jobs);
        start_signals(d);
        uv_run(d->app.loop, UV_RUN_DEFAULT);
    } else if (d->app.pool != NULL) {
        pool_stop(d->app.pool);
        ops_stop(&d->app);
        uv_run(d->app.loop, UV_RUN_DEFAULT);
    }
    maintenance_stop(&d->app);
    read_txn_close(&d->app);
    store_close(d->app.store);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct daemon d;
    int status;

    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--check-config") == 0)
        return check_config(argv[2]);
    if (argc == 2 && strcmp(argv[1], "--print-config-docs") == 0) {
        config_print_docs(stdout);
        return 0;
    }
    memset(&d, 0, sizeof(d));
    if (parse_command_line(&d.cfg, argc, argv) != 0 ||
        load_token_keys(&d) != 0) {
        config_free(&d.cfg);
        token_keyring_clear(&d.token_keys);
        return 2;
    }
    av_log_set_level(AV_LOG_QUIET);
    if (d.cfg.api_key_count == 0)
        log_warn("config.no_api_keys", "%s",
                 "uploads and originals are closed until api_keys is set");
    d.app.loop = uv_default_loop();
    d.app.cfg = &d.cfg;
    reload_init(&d.reload, &d.app, argc, argv, &d.token_keys);
    reload_apply_logging(&d.app);
    fill_limits(&d.app, &d.cfg);
    status = run_daemon(&d);
    uv_loop_close(d.app.loop);
    reload_free(&d.reload);
    config_free(&d.cfg);
    token_keyring_clear(&d.token_keys);
    return status;
}
