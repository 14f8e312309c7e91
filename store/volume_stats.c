/* Per-volume live and dead bytes, from a walk over the blobs database. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "index.h"
#include "meta.h"
#include "needle.h"

struct volume_walk {
    store_volume_info_t *items;
    size_t count;
};

static store_volume_info_t *find_info(struct volume_walk *w, uint32_t id)
{
    size_t lo = 0;
    size_t hi = w->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (w->items[mid].id == id)
            return &w->items[mid];
        if (w->items[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int add_blob(void *ctx, const kadr_hash_t *hash,
                    const store_blob_t *blob)
{
    store_volume_info_t *info = find_info(ctx, blob->volume_id);

    (void)hash;
    if (info == NULL)
        return 0; /* a volume this reader has not opened; see below */
    if (blob->refcount == 0) {
        info->dead_blobs++;
        return 0;
    }
    info->live_blobs++;
    info->live_bytes += needle_size(blob->length);
    return 0;
}

/* Fills ids and file sizes from the volume table. */
static int list_files(store_t *store, struct volume_walk *w)
{
    volume_table_t *table = &store->volumes;
    uint32_t active = volume_active_id(table);
    int rc = 0;

    pthread_rwlock_rdlock(&table->lock);
    w->items = calloc(table->count > 0 ? table->count : 1, sizeof(*w->items));
    if (w->items == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < table->count; i++) {
        const volume_t *vol = table->items[i];
        store_volume_info_t *info = &w->items[w->count];
        struct stat st;

        if (vol->retired)
            continue;
        if (fstat(vol->rfd, &st) != 0) {
            rc = -errno;
            break;
        }
        info->id = vol->id;
        info->active = vol->id == active;
        info->file_bytes = (uint64_t)st.st_size;
        w->count++;
    }
    pthread_rwlock_unlock(&table->lock);
    return rc;
}

static int read_ends(store_txn_t *txn, struct volume_walk *w)
{
    for (size_t i = 0; i < w->count; i++) {
        int rc =
            meta_volume_end_get(txn, w->items[i].id, &w->items[i].indexed_end);

        if (rc == KADR_E_NOT_FOUND)
            w->items[i].indexed_end = 0;
        else if (rc != 0)
            return rc;
    }
    return 0;
}

static void finish_counts(struct volume_walk *w)
{
    for (size_t i = 0; i < w->count; i++) {
        store_volume_info_t *info = &w->items[i];
        uint64_t body = info->file_bytes > VOLUME_HEADER_SIZE
                            ? info->file_bytes - VOLUME_HEADER_SIZE
                            : 0;

        info->dead_bytes =
            body > info->live_bytes ? body - info->live_bytes : 0;
    }
}

/* NOTE: a reader beside a running kadrd lists the volumes it has opened,
 * and blobs in volumes created after that are not counted. The walk reads
 * every blob record, so its cost grows with the index: kadrd runs it once
 * per compact_interval_s. */
int store_volume_list(store_t *store, store_volume_info_t **out, size_t *count)
{
    struct volume_walk w = {NULL, 0};
    store_txn_t txn = {.store = store};
    int rc;

    if (store == NULL || out == NULL || count == NULL)
        return KADR_E_BAD_INPUT;
    rc = list_files(store, &w);
    if (rc == 0)
        rc = store__index_error(
            mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn.mdb));
    if (rc != 0) {
        free(w.items);
        return rc;
    }
    rc = index_blob_each(&txn, NULL, add_blob, &w);
    if (rc == 0)
        rc = read_ends(&txn, &w);
    mdb_txn_abort(txn.mdb);
    if (rc != 0) {
        free(w.items);
        return rc;
    }
    finish_counts(&w);
    *out = w.items;
    *count = w.count;
    return 0;
}

double store_volume_dead_ratio(const store_volume_info_t *info)
{
    uint64_t body = info->live_bytes + info->dead_bytes;

    return body == 0 ? 0.0 : (double)info->dead_bytes / (double)body;
}
