/* Reference counts of blobs and the byte counters they move. */
#include "store_internal.h"

#include "index.h"
#include "meta.h"
#include "needle.h"
#include "source.h"

/* Adds signed deltas to the counters, and the dead delta also to the
 * dead bytes of the volume the needle is in. Unsigned wrap-around makes
 * a negative delta a subtraction. */
static int count(store_txn_t *txn, uint32_t volume_id, int64_t blobs,
                 int64_t live, int64_t dead)
{
    meta_counters_t counters;
    int rc = meta_counters_get(txn, &counters);

    if (rc != 0)
        return rc;
    if (dead != 0) {
        rc = meta_volume_dead_add(txn, volume_id, dead);
        if (rc != 0)
            return rc;
    }
    counters.blobs += (uint64_t)blobs;
    counters.live_bytes += (uint64_t)live;
    counters.dead_bytes += (uint64_t)dead;
    return meta_counters_put(txn, &counters);
}

static uint64_t needle_end(const store_blob_t *blob)
{
    return blob->offset - NEEDLE_HEADER_SIZE + needle_size(blob->length);
}

/* Adds one reference to the blob stored under hash, reviving a dead blob. */
static int add_ref(store_txn_t *txn, const kadr_hash_t *hash,
                   store_blob_t *blob)
{
    int64_t len = (int64_t)blob->length;
    int rc;

    if (blob->refcount == UINT32_MAX)
        return KADR_E_TOO_LARGE;
    if (blob->refcount == 0) {
        rc = count(txn, blob->volume_id, 1, len, -len);
        if (rc != 0)
            return rc;
    }
    blob->refcount++;
    return index_blob_put(txn, hash, blob);
}

static int index_new(store_txn_t *txn, const store_staged_t *staged)
{
    store_blob_t blob = staged->blob;
    int rc;

    blob.refcount = 1;
    rc = index_blob_put(txn, &staged->hash, &blob);
    if (rc == 0)
        rc = count(txn, blob.volume_id, 1, (int64_t)blob.length, 0);
    if (rc == 0)
        rc = meta_volume_end_raise(txn, blob.volume_id, needle_end(&blob));
    return rc;
}

/* Compares the bytes of two needles' payloads of equal length. */
static int compare_blobs(store_t *store, const store_blob_t *a,
                         const store_blob_t *b)
{
    int fd_a = volume_fd(&store->volumes, a->volume_id);
    int fd_b = volume_fd(&store->volumes, b->volume_id);
    source_t src;
    int rc;

    if (fd_a < 0)
        return fd_a;
    if (fd_b < 0)
        return fd_b;
    rc = source_init_fd(&src, fd_a, a->offset);
    if (rc != 0)
        return rc;
    rc = source_compare_fd(&src, fd_b, b->offset, a->length);
    source_free(&src);
    return rc;
}

/* Another writer indexed the same hash after this needle was staged, so
 * staging could not compare the bytes and they are compared here. The
 * needle stays as dead bytes. Its volume end is raised so that recovery
 * never cuts a needle that the counters include. */
static int absorb_staged(store_txn_t *txn, const store_staged_t *staged,
                         const store_blob_t *indexed)
{
    int rc;

    if (staged->blob.length != indexed->length)
        return KADR_E_COLLISION;
    rc = compare_blobs(txn->store, &staged->blob, indexed);
    if (rc != 0)
        return rc;
    /* A needle in a compacted volume goes away with its file. */
    if (volume_is_retired(&txn->store->volumes, staged->blob.volume_id))
        return 0;
    rc = count(txn, staged->blob.volume_id, 0, 0, (int64_t)staged->blob.length);
    if (rc == 0)
        rc = meta_volume_end_raise(txn, staged->blob.volume_id,
                                   needle_end(&staged->blob));
    return rc;
}

static int commit_staged(store_txn_t *txn, const store_staged_t *staged,
                         bool *deduped)
{
    store_staged_t relocated;
    store_blob_t indexed;
    int rc = index_blob_get(txn, &staged->hash, &indexed);

    /* A volume closed by compaction takes the staged bytes with it: its
     * pin was released, or held longer than VOLUME_PIN_MAX_GRACES. */
    if (rc == KADR_E_NOT_FOUND &&
        volume_fd(&txn->store->volumes, staged->blob.volume_id) < 0)
        return KADR_E_NOT_FOUND;
    if (rc == KADR_E_NOT_FOUND &&
        volume_is_retired(&txn->store->volumes, staged->blob.volume_id)) {
        /* Staged before a compaction of its volume: new, or a dead blob
         * the compaction dropped. Its bytes move to the active volume.
         * The staged needle's pin kept the retired volume open for it. */
        rc = store__relocate_staged(txn->store, staged, &relocated);
        if (rc != 0)
            return rc;
        staged = &relocated;
        rc = KADR_E_NOT_FOUND;
    }
    if (rc == KADR_E_NOT_FOUND && !staged->existing) {
        rc = index_new(txn, staged);
        if (rc == 0)
            *deduped = false;
        return rc;
    }
    if (rc != 0)
        return rc;
    if (!staged->existing) {
        rc = absorb_staged(txn, staged, &indexed);
        if (rc != 0)
            return rc;
    }
    rc = add_ref(txn, &staged->hash, &indexed);
    if (rc == 0)
        *deduped = true;
    return rc;
}

int store_blob_commit(store_txn_t *txn, const store_staged_t *staged,
                      bool *deduped)
{
    int rc;

    if (txn == NULL || staged == NULL || deduped == NULL)
        return KADR_E_BAD_INPUT;
    rc = commit_staged(txn, staged, deduped);
    if (staged->pinned)
        volume_unpin(&txn->store->volumes, staged->blob.volume_id,
                     staged->blob.offset - NEEDLE_HEADER_SIZE);
    return rc;
}

int store_blob_ref(store_txn_t *txn, const kadr_hash_t *hash)
{
    store_blob_t blob;
    int rc;

    if (txn == NULL || hash == NULL)
        return KADR_E_BAD_INPUT;
    rc = index_blob_get(txn, hash, &blob);
    if (rc != 0)
        return rc;
    return add_ref(txn, hash, &blob);
}

int store_blob_unref(store_txn_t *txn, const kadr_hash_t *hash)
{
    store_blob_t blob;
    int rc;

    if (txn == NULL || hash == NULL)
        return KADR_E_BAD_INPUT;
    rc = index_blob_get(txn, hash, &blob);
    if (rc != 0)
        return rc;
    if (blob.refcount == 0)
        return KADR_E_BAD_INPUT;
    blob.refcount--;
    if (blob.refcount == 0) {
        rc = count(txn, blob.volume_id, -1, -(int64_t)blob.length,
                   (int64_t)blob.length);
        if (rc != 0)
            return rc;
    }
    return index_blob_put(txn, hash, &blob);
}

int store_blob_set_refcount(store_txn_t *txn, const kadr_hash_t *hash,
                            uint32_t refcount)
{
    store_blob_t blob;
    int64_t len;
    int rc;

    if (txn == NULL || hash == NULL)
        return KADR_E_BAD_INPUT;
    rc = index_blob_get(txn, hash, &blob);
    if (rc != 0)
        return rc;
    len = (int64_t)blob.length;
    if (blob.refcount == 0 && refcount > 0)
        rc = count(txn, blob.volume_id, 1, len, -len);
    else if (blob.refcount > 0 && refcount == 0)
        rc = count(txn, blob.volume_id, -1, -len, len);
    if (rc != 0)
        return rc;
    blob.refcount = refcount;
    return index_blob_put(txn, hash, &blob);
}
