#include "kadr_bench_plan.h"

#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "webhook.h"

#define MAX_FILE_BYTES (1ULL << 30) /* larger files are skipped */
#define MAX_URL_LINE 4096

static char *format_text(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *format_text(const char *fmt, ...)
{
    va_list ap;
    char *text = NULL;
    int rc;

    va_start(ap, fmt);
    rc = vasprintf(&text, fmt, ap);
    va_end(ap);
    return rc < 0 ? NULL : text;
}

static void format_host(const webhook_url_t *url, char *out, size_t size)
{
    bool ipv6 = strchr(url->host, ':') != NULL;

    snprintf(out, size, "%s%s%s:%s", ipv6 ? "[" : "", url->host,
             ipv6 ? "]" : "", url->port);
}

static int resolve(const webhook_url_t *url, bench_plan_t *plan)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int rc = getaddrinfo(url->host, url->port, &hints, &res);

    if (rc != 0) {
        fprintf(stderr, "kadr-bench: cannot resolve '%s': %s\n", url->host,
                gai_strerror(rc));
        return -1;
    }
    memcpy(&plan->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    format_host(url, plan->host, sizeof(plan->host));
    snprintf(plan->base, sizeof(plan->base), "http://%s", plan->host);
    return 0;
}

static int parse_base(const char *text, bench_plan_t *plan)
{
    webhook_url_t url;

    if (webhook_parse_url(text, &url) != 0) {
        fprintf(stderr,
                "kadr-bench: invalid URL '%s' (expected "
                "http://HOST[:PORT])\n",
                text);
        return -1;
    }
    return resolve(&url, plan);
}

static int add_target(bench_plan_t *plan, char *head, char *ranged_head,
                      const char *body, size_t body_len)
{
    if (head == NULL)
        return -ENOMEM;
    if (plan->count == plan->cap) {
        size_t cap = plan->cap > 0 ? plan->cap * 2 : 64;
        bench_target_t *grown = realloc(plan->targets, cap * sizeof(*grown));

        if (grown == NULL) {
            free(head);
            free(ranged_head);
            return -ENOMEM;
        }
        plan->targets = grown;
        plan->cap = cap;
    }
    plan->targets[plan->count++] =
        (bench_target_t){head, ranged_head, body, body_len};
    return 0;
}

int bench_plan_add_read(bench_plan_t *plan, const bench_config_t *cfg,
                        const char *path, const char *extra_headers)
{
    char range[64];
    char *head;
    char *ranged;

    snprintf(range, sizeof(range), "Range: bytes=0-%llu\r\n",
             (unsigned long long)(cfg->range_bytes - 1));
    head = format_text("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path,
                       plan->host, extra_headers);
    ranged = format_text("GET %s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n", path,
                         plan->host, extra_headers, range);
    if (head == NULL || ranged == NULL) {
        free(head);
        free(ranged);
        return -ENOMEM;
    }
    return add_target(plan, head, ranged, NULL, 0);
}

static int read_whole(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    size_t n;

    if (f == NULL)
        return -errno;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 ||
        (unsigned long long)st.st_size > MAX_FILE_BYTES) {
        fclose(f);
        return -EFBIG;
    }
    *data = malloc((size_t)st.st_size);
    if (*data == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    n = fread(*data, 1, (size_t)st.st_size, f);
    fclose(f);
    if (n != (size_t)st.st_size) {
        free(*data);
        return -EIO;
    }
    *len = n;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const bench_file_t *)a)->name,
                  ((const bench_file_t *)b)->name);
}

static int add_file(bench_plan_t *plan, const char *dir, const char *name)
{
    char path[4096];
    bench_file_t file = {0};
    bench_file_t *grown;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    rc = read_whole(path, &file.data, &file.len);
    if (rc != 0) {
        fprintf(stderr, "kadr-bench: skipping '%s': %s\n", path, strerror(-rc));
        return 0;
    }
    grown = realloc(plan->files, (plan->file_count + 1) * sizeof(*grown));
    file.name = strdup(name);
    if (grown == NULL || file.name == NULL) {
        free(file.data);
        free(file.name);
        if (grown != NULL)
            plan->files = grown;
        return -ENOMEM;
    }
    plan->files = grown;
    plan->files[plan->file_count++] = file;
    return 0;
}

/* Loads every regular file of dir, in name order. */
int bench_plan_load_files(const char *dir, bench_plan_t *plan)
{
    DIR *d = opendir(dir);
    struct dirent *entry;
    int rc = 0;

    if (d == NULL) {
        fprintf(stderr, "kadr-bench: cannot open --dir '%s': %s\n", dir,
                strerror(errno));
        return -1;
    }
    while (rc == 0 && (entry = readdir(d)) != NULL) {
        if (entry->d_name[0] != '.' && entry->d_type != DT_DIR)
            rc = add_file(plan, dir, entry->d_name);
    }
    closedir(d);
    if (rc != 0 || plan->file_count == 0) {
        fprintf(stderr, "kadr-bench: no files to upload in '%s'\n", dir);
        return -1;
    }
    qsort(plan->files, plan->file_count, sizeof(*plan->files), compare_names);
    return 0;
}

int bench_plan_read_api_key(const bench_config_t *cfg, bench_plan_t *plan)
{
    FILE *f;

    if (cfg->api_key != NULL) {
        snprintf(plan->api_key, sizeof(plan->api_key), "%s", cfg->api_key);
        return 0;
    }
    if (cfg->api_key_file == NULL) {
        fprintf(stderr, "kadr-bench: uploads need --api-key or "
                        "--api-key-file\n");
        return -1;
    }
    f = fopen(cfg->api_key_file, "r");
    if (f == NULL || fgets(plan->api_key, sizeof(plan->api_key), f) == NULL) {
        fprintf(stderr, "kadr-bench: cannot read --api-key-file '%s'\n",
                cfg->api_key_file);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    plan->api_key[strcspn(plan->api_key, "\r\n")] = '\0';
    return 0;
}

int bench_plan_add_uploads(bench_plan_t *plan, const char *query)
{
    for (size_t i = 0; i < plan->file_count; i++) {
        char *head = format_text(
            "POST /v1/media%s HTTP/1.1\r\nHost: %s\r\nX-Api-Key: %s\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Content-Length: %zu\r\n\r\n",
            query, plan->host, plan->api_key, plan->files[i].len);
        int rc = add_target(plan, head, NULL, plan->files[i].data,
                            plan->files[i].len);

        if (rc != 0)
            return rc;
    }
    return 0;
}

static int build_upload(const bench_config_t *cfg, bench_plan_t *plan)
{
    if (cfg->dir == NULL) {
        fprintf(stderr, "kadr-bench: upload needs --dir\n");
        return -1;
    }
    if (bench_plan_read_api_key(cfg, plan) != 0 ||
        bench_plan_load_files(cfg->dir, plan) != 0)
        return -1;
    return bench_plan_add_uploads(plan, cfg->paid ? "?access=paid" : "");
}

/* TODO: every URL must name the same HOST:PORT because the connections
 * go to one address; a mix of servers needs one pool per address. */
static int build_urls(const bench_config_t *cfg, bench_plan_t *plan)
{
    char line[MAX_URL_LINE];
    char first[sizeof(plan->host)] = "";
    char host[sizeof(plan->host)];
    FILE *f;
    int rc = 0;

    if (cfg->urls_file == NULL || (f = fopen(cfg->urls_file, "r")) == NULL) {
        fprintf(stderr, "kadr-bench: urls needs a readable --urls-file\n");
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        webhook_url_t url;

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (webhook_parse_url(line, &url) != 0) {
            fprintf(stderr, "kadr-bench: invalid URL '%s'\n", line);
            rc = -1;
        } else if (first[0] == '\0') {
            rc = resolve(&url, plan);
            snprintf(first, sizeof(first), "%s", plan->host);
        }
        if (rc == 0)
            format_host(&url, host, sizeof(host));
        if (rc == 0 && strcmp(host, first) != 0) {
            fprintf(stderr,
                    "kadr-bench: '%s' is not on %s; every URL must "
                    "name the same HOST:PORT\n",
                    line, first);
            rc = -1;
        }
        if (rc == 0)
            rc = bench_plan_add_read(plan, cfg, url.path, plan->auth_header);
    }
    fclose(f);
    return rc;
}

void bench_plan_free(bench_plan_t *plan)
{
    for (size_t i = 0; i < plan->count; i++) {
        free(plan->targets[i].head);
        free(plan->targets[i].ranged_head);
    }
    for (size_t i = 0; i < plan->file_count; i++) {
        free(plan->files[i].name);
        free(plan->files[i].data);
    }
    free(plan->targets);
    free(plan->files);
    free(plan->auth_header);
    memset(plan, 0, sizeof(*plan));
}

int bench_plan_build(const bench_config_t *cfg, uv_loop_t *loop,
                     bench_plan_t *plan)
{
    int rc;

    plan->auth_header =
        cfg->token != NULL
            ? format_text("Authorization: Bearer %s\r\n", cfg->token)
            : strdup("");
    if (plan->auth_header == NULL)
        return -1;
    if (cfg->mode == BENCH_URLS)
        return build_urls(cfg, plan) == 0 ? 0 : -1;
    if (parse_base(cfg->url, plan) != 0)
        return -1;
    if (cfg->mode == BENCH_UPLOAD)
        rc = build_upload(cfg, plan);
    else
        rc = bench_plan_build_reads(cfg, loop, plan);
    return rc == 0 ? 0 : -1;
}
