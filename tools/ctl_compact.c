/* kadrctl compact [VOLUME] and kadrctl gc: rewrite volumes without their
 * dead bytes. Both need the writer lock, so kadrd must be stopped. A
 * running kadrd compacts on its own (compact_dead_percent), or at once on
 * POST /v1/admin/compact, which kadrctl --url sends (ctl_remote.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

/* Dead share at which a plain compact rewrites a volume: kadrd's default
 * compact_dead_percent. */
#define CTL_COMPACT_MIN_DEAD_RATIO 0.5

struct compact_report {
    const struct ctl *ctl;
    json_t *volumes; /* array */
};

static void on_compacted(void *ctx, const store_compact_result_t *r)
{
    struct compact_report *report = ctx;

    json_array_append_new(report->volumes,
                          json_pack("{s:I,s:I,s:I,s:I,s:I}", "volume",
                                    (json_int_t)r->volume_id, "bytes_before",
                                    (json_int_t)r->bytes_before, "bytes_copied",
                                    (json_int_t)r->bytes_copied, "blobs_moved",
                                    (json_int_t)r->blobs_moved, "blobs_dropped",
                                    (json_int_t)r->blobs_dropped));
    if (!report->ctl->json)
        printf("volume %u: %llu bytes, %llu copied (%llu blobs moved, "
               "%llu dead blobs dropped)\n",
               r->volume_id, (unsigned long long)r->bytes_before,
               (unsigned long long)r->bytes_copied,
               (unsigned long long)r->blobs_moved,
               (unsigned long long)r->blobs_dropped);
}

static int parse_volume_id(const char *text, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX) {
        fprintf(stderr,
                "kadrctl: invalid volume id '%s' (expected a "
                "number from kadrctl volumes)\n",
                text);
        return KADR_E_BAD_INPUT;
    }
    *out = (uint32_t)v;
    return 0;
}

static int compact_one(struct compact_report *report, const char *volume)
{
    store_compact_result_t result;
    uint32_t id;
    int rc = parse_volume_id(volume, &id);

    if (rc != 0)
        return rc;
    rc = store_compact_volume(report->ctl->store, id, &result);
    if (rc == KADR_E_NOT_FOUND) {
        fprintf(stderr, "kadrctl: no volume %u\n", id);
        return CTL_FOUND_PROBLEMS;
    }
    if (rc == 0)
        on_compacted(report, &result);
    return rc;
}

static int finish(struct compact_report *report, int rc, json_t *extra)
{
    if (rc == 0 && report->ctl->json) {
        json_t *doc = json_pack("{s:O}", "compacted", report->volumes);

        if (extra != NULL)
            json_object_update(doc, extra);
        ctl_print_json(report->ctl, doc);
    } else if (rc == 0 && json_array_size(report->volumes) == 0) {
        puts("no volume needed compaction");
    }
    json_decref(extra);
    json_decref(report->volumes);
    return rc;
}

int ctl_cmd_compact(struct ctl *ctl, const char *volume)
{
    struct compact_report report = {ctl, json_array()};
    int rc;

    if (volume != NULL) {
        rc = compact_one(&report, volume);
    } else {
        rc = store_compact(ctl->store, CTL_COMPACT_MIN_DEAD_RATIO, on_compacted,
                           &report);
        rc = rc > 0 ? 0 : rc;
    }
    return finish(&report, rc, NULL);
}

/* Reclaims every dead byte: compacts each volume with any, then drops
 * derivation cache entries whose variant is gone. */
int ctl_cmd_gc(struct ctl *ctl)
{
    struct compact_report report = {ctl, json_array()};
    int pruned = 0;
    int rc = store_compact(ctl->store, 0.0, on_compacted, &report);

    rc = rc > 0 ? 0 : rc;
    if (rc == 0) {
        pruned = store_derived_gc(ctl->store);
        rc = pruned < 0 ? pruned : 0;
    }
    /* Printed after the compaction summary, as kadrctl --url gc prints it. */
    rc = finish(&report, rc, json_pack("{s:i}", "derived_pruned", pruned));
    if (rc == 0 && !ctl->json)
        printf("%d derivation cache entries pruned\n", pruned);
    return rc;
}
