/* kadrctl verify: re-hashes every indexed needle, then checks the media
 * records against the blobs database in one read transaction (every
 * referenced blob indexed and live, every refcount equal to the number
 * of references). Problems are reported by blob hash with the media ids
 * that use the blob. Exit status 1 if anything is wrong.
 *
 * kadrctl repair does the same, and in one write transaction sets each
 * refcount that differs to the number of references found. A bad needle
 * or a reference to a missing blob cannot be repaired from the store
 * alone: the only copy of a blob is its needle. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "media.h"

/* Payload bytes one verify step reads between index reads. */
#define VERIFY_STEP_BYTES (UINT64_C(64) << 20)
/* Problems listed at most; more are counted. */
#define VERIFY_MAX_LISTED 10000

struct bad_needle {
    kadr_hash_t hash;
    store_blob_t blob;
    int code;
};

/* One reference from a media record to a blob. */
struct ref {
    kadr_hash_t hash;
    char media[MEDIA_ID_LEN + 1];
    char variant[MEDIA_MAX_NAME];
};

struct refcount_fix {
    kadr_hash_t hash;
    uint32_t refcount;
};

struct verify {
    struct ctl *ctl;
    bool repair;
    struct refcount_fix *fixes; /* refcounts to set, when repairing */
    size_t fix_count;
    uint64_t repaired;
    struct bad_needle *bad;
    size_t bad_count;
    struct ref *refs;
    size_t ref_count;
    size_t ref_cap;
    uint64_t media;
    uint64_t unreadable_media;
    json_t *ref_errors; /* array */
    uint64_t problems;
    store_verify_cursor_t cursor;
};

static int on_bad_needle(void *ctx, const kadr_hash_t *hash,
                         const store_blob_t *blob, int code)
{
    struct verify *v = ctx;

    v->problems++;
    if (v->bad_count == VERIFY_MAX_LISTED)
        return 0;
    v->bad[v->bad_count++] = (struct bad_needle){*hash, *blob, code};
    return 0;
}

static int check_needles(struct verify *v)
{
    int rc = 0;

    v->bad = calloc(VERIFY_MAX_LISTED, sizeof(*v->bad));
    if (v->bad == NULL)
        return -ENOMEM;
    while (!v->cursor.done && rc == 0)
        rc = store_verify_step(v->ctl->store, &v->cursor, VERIFY_STEP_BYTES,
                               on_bad_needle, v);
    return rc;
}

static int add_ref(struct verify *v, const kadr_hash_t *hash, const char *media,
                   const char *variant)
{
    struct ref *r;

    if (v->ref_count == v->ref_cap) {
        size_t cap = v->ref_cap == 0 ? 1024 : v->ref_cap * 2;
        struct ref *refs = realloc(v->refs, cap * sizeof(*refs));

        if (refs == NULL)
            return -ENOMEM;
        v->refs = refs;
        v->ref_cap = cap;
    }
    r = &v->refs[v->ref_count++];
    r->hash = *hash;
    snprintf(r->media, sizeof(r->media), "%s", media);
    snprintf(r->variant, sizeof(r->variant), "%s", variant);
    return 0;
}

static int collect_refs(void *ctx, const char *id, size_t id_len,
                        const void *value, size_t len)
{
    struct verify *v = ctx;
    media_t m;
    int rc;

    v->media++;
    if (media_decode(value, len, &m) != 0) {
        v->unreadable_media++;
        v->problems++;
        fprintf(stderr, "kadrctl: media record '%.*s' is unreadable\n",
                (int)id_len, id);
        return 0;
    }
    rc = add_ref(v, &m.original, m.id, "original");
    for (uint32_t i = 0; rc == 0 && i < m.variant_count; i++)
        rc = add_ref(v, &m.variants[i].hash, m.id, m.variants[i].name);
    return rc;
}

static int compare_refs(const void *a, const void *b)
{
    return memcmp(((const struct ref *)a)->hash.bytes,
                  ((const struct ref *)b)->hash.bytes, KADR_HASH_SIZE);
}

/* Returns the first reference to hash, and its count in *n. */
static const struct ref *find_refs(const struct verify *v,
                                   const kadr_hash_t *hash, size_t *n)
{
    size_t lo = 0;
    size_t hi = v->ref_count;
    size_t end;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (memcmp(v->refs[mid].hash.bytes, hash->bytes, KADR_HASH_SIZE) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    end = lo;
    while (end < v->ref_count &&
           memcmp(v->refs[end].hash.bytes, hash->bytes, KADR_HASH_SIZE) == 0)
        end++;
    *n = end - lo;
    return *n > 0 ? &v->refs[lo] : NULL;
}

static json_t *media_list(const struct ref *refs, size_t n)
{
    json_t *list = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s,s:s}", "id", refs[i].media,
                                              "variant", refs[i].variant));
    return list;
}

static void add_ref_error(struct verify *v, const kadr_hash_t *hash,
                          const char *error, uint32_t refcount,
                          const struct ref *refs, size_t n, bool fixable)
{
    char hex[KADR_HASH_HEX_LEN + 1];
    bool repaired = v->repair && fixable;

    v->problems++;
    v->repaired += repaired ? 1 : 0;
    if (json_array_size(v->ref_errors) >= VERIFY_MAX_LISTED)
        return;
    kadr_hash_to_hex(hash, hex);
    json_array_append_new(
        v->ref_errors,
        json_pack("{s:s,s:s,s:I,s:I,s:o,s:b}", "blob", hex, "error", error,
                  "refcount", (json_int_t)refcount, "references", (json_int_t)n,
                  "media", media_list(refs, n), "repaired", repaired));
}

static int add_fix(struct verify *v, const kadr_hash_t *hash, size_t n)
{
    struct refcount_fix *fixes;

    if (n > UINT32_MAX)
        return KADR_E_TOO_LARGE;
    fixes = realloc(v->fixes, (v->fix_count + 1) * sizeof(*fixes));
    if (fixes == NULL)
        return -ENOMEM;
    v->fixes = fixes;
    v->fixes[v->fix_count++] = (struct refcount_fix){*hash, (uint32_t)n};
    return 0;
}

/* Applies the collected fixes after the walk, which must not change the
 * database it iterates. */
static int apply_fixes(struct verify *v, store_txn_t *txn)
{
    for (size_t i = 0; i < v->fix_count; i++) {
        int rc = store_blob_set_refcount(txn, &v->fixes[i].hash,
                                         v->fixes[i].refcount);

        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Compares one indexed blob's refcount with the references found. */
static int check_refcount(void *ctx, const kadr_hash_t *hash,
                          const store_blob_t *blob)
{
    struct verify *v = ctx;
    size_t n;
    const struct ref *refs = find_refs(v, hash, &n);

    if (blob->refcount == n)
        return 0;
    add_ref_error(v, hash, "refcount differs from references", blob->refcount,
                  refs, n, true);
    return v->repair ? add_fix(v, hash, n) : 0;
}

/* Reports references to blobs that are not indexed, once per hash. */
static int check_missing(struct verify *v, store_txn_t *txn)
{
    for (size_t i = 0; i < v->ref_count;) {
        store_blob_t blob;
        size_t n;
        const struct ref *refs = find_refs(v, &v->refs[i].hash, &n);
        int rc = store_blob_get(txn, &v->refs[i].hash, &blob);

        if (rc == KADR_E_NOT_FOUND)
            add_ref_error(v, &v->refs[i].hash, "referenced blob not indexed", 0,
                          refs, n, false);
        else if (rc != 0)
            return rc;
        i += n;
    }
    return 0;
}

static int check_references(struct verify *v)
{
    store_txn_t *txn;
    int rc = store_txn_begin(v->ctl->store, v->repair, &txn);

    if (rc != 0)
        return rc;
    rc = store_media_each(txn, collect_refs, v);
    if (rc == 0) {
        if (v->ref_count > 0)
            qsort(v->refs, v->ref_count, sizeof(*v->refs), compare_refs);
        rc = store_blob_each(txn, check_refcount, v);
    }
    if (rc == 0)
        rc = check_missing(v, txn);
    if (rc == 0 && v->repair && v->fix_count > 0) {
        rc = apply_fixes(v, txn);
        if (rc == 0)
            return store_txn_commit(txn);
    }
    store_txn_abort(txn);
    return rc;
}

static json_t *bad_needle_json(const struct verify *v,
                               const struct bad_needle *b)
{
    char hex[KADR_HASH_HEX_LEN + 1];
    size_t n;
    const struct ref *refs = find_refs(v, &b->hash, &n);

    kadr_hash_to_hex(&b->hash, hex);
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:s,s:o}", "blob", hex, "volume",
                     (json_int_t)b->blob.volume_id, "offset",
                     (json_int_t)b->blob.offset, "length",
                     (json_int_t)b->blob.length, "refcount",
                     (json_int_t)b->blob.refcount, "error",
                     kadr_strerror(b->code), "media", media_list(refs, n));
}

static json_t *report_json(const struct verify *v)
{
    json_t *bad = json_array();

    for (size_t i = 0; i < v->bad_count; i++)
        json_array_append_new(bad, bad_needle_json(v, &v->bad[i]));
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:o,s:O,s:b}", "blobs_checked",
                     (json_int_t)v->cursor.blobs, "bytes_checked",
                     (json_int_t)v->cursor.bytes, "media_checked",
                     (json_int_t)v->media, "problems", (json_int_t)v->problems,
                     "repaired", (json_int_t)v->repaired, "bad_needles", bad,
                     "reference_errors", v->ref_errors, "ok",
                     v->problems == v->repaired);
}

static void print_media(json_t *media)
{
    size_t i;
    json_t *m;

    if (json_array_size(media) == 0) {
        fputs("; no media uses it\n", stdout);
        return;
    }
    fputs("; used by", stdout);
    json_array_foreach(media, i, m)
    {
        printf("%s %s (%s)", i == 0 ? "" : ",",
               json_string_value(json_object_get(m, "id")),
               json_string_value(json_object_get(m, "variant")));
    }
    putchar('\n');
}

static void print_human(json_t *doc)
{
    size_t i;
    json_t *e;

    printf("checked %" JSON_INTEGER_FORMAT " blobs (%" JSON_INTEGER_FORMAT
           " bytes) and %" JSON_INTEGER_FORMAT " media records\n",
           json_integer_value(json_object_get(doc, "blobs_checked")),
           json_integer_value(json_object_get(doc, "bytes_checked")),
           json_integer_value(json_object_get(doc, "media_checked")));
    json_array_foreach(json_object_get(doc, "bad_needles"), i, e)
    {
        printf("bad needle: blob %s in volume %" JSON_INTEGER_FORMAT
               " at offset %" JSON_INTEGER_FORMAT ": %s",
               json_string_value(json_object_get(e, "blob")),
               json_integer_value(json_object_get(e, "volume")),
               json_integer_value(json_object_get(e, "offset")),
               json_string_value(json_object_get(e, "error")));
        print_media(json_object_get(e, "media"));
    }
    json_array_foreach(json_object_get(doc, "reference_errors"), i, e)
    {
        printf("reference error: blob %s: %s (refcount %" JSON_INTEGER_FORMAT
               ", %" JSON_INTEGER_FORMAT " references%s)",
               json_string_value(json_object_get(e, "blob")),
               json_string_value(json_object_get(e, "error")),
               json_integer_value(json_object_get(e, "refcount")),
               json_integer_value(json_object_get(e, "references")),
               json_is_true(json_object_get(e, "repaired")) ? ", repaired"
                                                            : "");
        print_media(json_object_get(e, "media"));
    }
    printf("%" JSON_INTEGER_FORMAT " problems found, %" JSON_INTEGER_FORMAT
           " repaired\n",
           json_integer_value(json_object_get(doc, "problems")),
           json_integer_value(json_object_get(doc, "repaired")));
}

static int run_verify(struct ctl *ctl, bool repair)
{
    struct verify v = {
        .ctl = ctl, .repair = repair, .ref_errors = json_array()};
    json_t *doc;
    int rc = check_needles(&v);

    if (rc == 0)
        rc = check_references(&v);
    if (rc == 0) {
        doc = report_json(&v);
        if (ctl->json)
            ctl_print_json(ctl, doc);
        else {
            print_human(doc);
            json_decref(doc);
        }
        rc = v.problems == v.repaired ? 0 : CTL_FOUND_PROBLEMS;
    }
    json_decref(v.ref_errors);
    free(v.bad);
    free(v.refs);
    free(v.fixes);
    return rc;
}

int ctl_cmd_verify(struct ctl *ctl)
{
    return run_verify(ctl, false);
}

int ctl_cmd_repair(struct ctl *ctl)
{
    return run_verify(ctl, true);
}
