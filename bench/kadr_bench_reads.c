/* Read mode: upload the sample files once (not measured), then plan GETs
 * of every variant kadrd made from them, paid with tokens when asked. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kadr_bench_plan.h"
#include "token.h"

#define TOKEN_LIFETIME_S 3600 /* longer than any run */

struct setup {
    bench_plan_t *plan;
    size_t next;
    json_t *media; /* array of the upload replies */
    unsigned failed;
};

static bool next_upload(void *ctx, bench_request_t *out)
{
    struct setup *s = ctx;
    const bench_target_t *t;

    if (s->next == s->plan->count)
        return false;
    t = &s->plan->targets[s->next++];
    out->head = t->head;
    out->head_len = strlen(t->head);
    out->body = t->body;
    out->body_len = t->body_len;
    return true;
}

static void on_upload_reply(void *ctx, int status, const char *body, size_t len)
{
    struct setup *s = ctx;
    json_t *doc = status == 201 ? json_loadb(body, len, 0, NULL) : NULL;

    if (doc == NULL) {
        fprintf(stderr, "kadr-bench: setup upload got %d: %.200s\n", status,
                body);
        s->failed++;
        return;
    }
    json_array_append_new(s->media, doc);
}

static void clear_targets(bench_plan_t *plan)
{
    for (size_t i = 0; i < plan->count; i++) {
        free(plan->targets[i].head);
        free(plan->targets[i].ranged_head);
    }
    plan->count = 0;
}

static int upload_files(const bench_config_t *cfg, uv_loop_t *loop,
                        bench_plan_t *plan, json_t *media)
{
    bench_stats_t *stats = calloc(1, sizeof(*stats));
    struct setup s = {.plan = plan, .media = media};
    bench_client_options_t opts = {
        .loop = loop,
        .addr = plan->addr,
        .connections = 1,
        .timeout_ms = cfg->timeout_ms,
        .keep_body = true,
        .next = next_upload,
        .on_response = on_upload_reply,
        .ctx = &s,
        .stats = stats,
    };
    int rc;

    if (stats == NULL)
        return -ENOMEM;
    rc = bench_plan_add_uploads(plan,
                                cfg->paid ? "?wait=1&access=paid" : "?wait=1");
    if (rc == 0)
        rc = bench_client_run(&opts);
    if (rc == 0 && stats->count != plan->count) {
        fprintf(stderr,
                "kadr-bench: setup uploads failed: is kadrd "
                "running on %s?\n",
                plan->base);
        rc = -1;
    }
    free(stats);
    clear_targets(plan);
    return rc;
}

static bool is_wanted(const bench_config_t *cfg, const char *name)
{
    size_t len = strlen(name);
    const char *p = cfg->variants;

    if (strcmp(name, "original") == 0)
        return false;
    if (p == NULL)
        return true;
    while ((p = strstr(p, name)) != NULL) {
        bool starts = p == cfg->variants || p[-1] == ',';
        bool ends = p[len] == '\0' || p[len] == ',';

        if (starts && ends)
            return true;
        p += len;
    }
    return false;
}

/* Writes "Authorization: Bearer ...\r\n" for media_id into out. */
static int auth_for(const bench_config_t *cfg, const token_keyring_t *ring,
                    const bench_plan_t *plan, const char *media_id, char *out,
                    size_t size)
{
    char token[TOKEN_MAX_LEN + 1];
    int rc;

    if (ring == NULL) {
        snprintf(out, size, "%s", plan->auth_header);
        return 0;
    }
    rc = token_mint(ring, ring->keys[0].id, media_id,
                    (int64_t)time(NULL) + TOKEN_LIFETIME_S, NULL, NULL, token,
                    sizeof(token));
    if (rc != 0) {
        fprintf(stderr, "kadr-bench: cannot mint a token for %s\n", media_id);
        return rc;
    }
    snprintf(out, size, "Authorization: Bearer %s\r\n", token);
    (void)cfg;
    return 0;
}

static int add_media_reads(const bench_config_t *cfg,
                           const token_keyring_t *ring, bench_plan_t *plan,
                           json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    json_t *variants = json_object_get(doc, "variants");
    char auth[TOKEN_MAX_LEN + 64];
    size_t i;
    json_t *v;
    int rc;

    if (id == NULL)
        return 0;
    rc = auth_for(cfg, ring, plan, id, auth, sizeof(auth));
    json_array_foreach(variants, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *url = json_string_value(json_object_get(v, "url"));

        if (rc == 0 && name != NULL && url != NULL && is_wanted(cfg, name))
            rc = bench_plan_add_read(plan, cfg, url, auth);
    }
    return rc;
}

static int load_ring(const bench_config_t *cfg, token_keyring_t *ring)
{
    char err[256];

    if (token_keyring_add(ring, cfg->token_key, ',', err, sizeof(err)) != 0 ||
        ring->count == 0) {
        fprintf(stderr, "kadr-bench: invalid --token-key: %s\n", err);
        return -1;
    }
    return 0;
}

int bench_plan_build_reads(const bench_config_t *cfg, uv_loop_t *loop,
                           bench_plan_t *plan)
{
    token_keyring_t ring;
    json_t *media = json_array();
    json_t *doc;
    size_t i;
    int rc = 0;

    memset(&ring, 0, sizeof(ring));
    if (cfg->dir == NULL) {
        fprintf(stderr, "kadr-bench: read needs --dir with files to "
                        "upload first\n");
        rc = -1;
    }
    if (rc == 0 && cfg->token_key != NULL)
        rc = load_ring(cfg, &ring);
    if (rc == 0)
        rc = bench_plan_read_api_key(cfg, plan);
    if (rc == 0)
        rc = bench_plan_load_files(cfg->dir, plan);
    if (rc == 0 && media != NULL)
        rc = upload_files(cfg, loop, plan, media);
    json_array_foreach(media, i, doc)
    {
        if (rc == 0)
            rc = add_media_reads(cfg, cfg->token_key != NULL ? &ring : NULL,
                                 plan, doc);
    }
    token_keyring_clear(&ring);
    json_decref(media);
    return rc;
}
