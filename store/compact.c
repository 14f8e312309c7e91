/* Compaction: a volume's live needles are copied to the active volume,
 * their index entries move in one write transaction, and the old file is
 * unlinked once the copies and the switch are durable.
 *
 * Crash safety rests on the order of durable steps and on the marker in
 * the meta database (meta_compaction_t):
 *   1. marker "copying" committed;
 *   2. copies appended past the active volume's indexed end, synced;
 *   3. one transaction moves the entries, drops dead blobs, deletes the
 *      old volume's indexed end and sets the marker to "switched";
 *   4. the old file is unlinked and the folder synced;
 *   5. the marker is deleted.
 * A crash before 3 leaves the index on the old volume, and the copies are
 * unindexed bytes that recovery cuts or later compactions reclaim. A crash
 * after 3 leaves the index on the copies, and recovery unlinks the old
 * file if it is still there. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "io.h"
#include "meta.h"
#include "needle.h"

/* Bytes one copy_file_range() call may move. */
#define COPY_CHUNK_BYTES (8u << 20)

struct entry {
    kadr_hash_t hash;
    store_blob_t blob; /* where it was when collected */
    store_blob_t copy; /* where the copy went, volume_id 0 if none */
};

struct entry_list {
    uint32_t volume_id;
    struct entry *items;
    size_t count;
    size_t cap;
};

/* Tracks the volumes written since the last sync, one at a time: appends
 * only move forward, so a new volume means the previous one is done. */
struct sync_state {
    volume_t *vol;
};

static uint64_t needle_start(const store_blob_t *blob)
{
    return blob->offset - NEEDLE_HEADER_SIZE;
}

static void maybe_abort(const store_t *store, enum store_compact_step step)
{
    if (store->opts.compact_abort_after == (int)step)
        abort();
}

static int list_add(struct entry_list *list, const kadr_hash_t *hash,
                    const store_blob_t *blob)
{
    if (list->count == list->cap) {
        size_t cap = list->cap == 0 ? 256 : list->cap * 2;
        struct entry *items = realloc(list->items, cap * sizeof(*items));

        if (items == NULL)
            return -ENOMEM;
        list->items = items;
        list->cap = cap;
    }
    memset(&list->items[list->count], 0, sizeof(list->items[0]));
    list->items[list->count].hash = *hash;
    list->items[list->count].blob = *blob;
    list->count++;
    return 0;
}

static int collect_entry(void *ctx, const kadr_hash_t *hash,
                         const store_blob_t *blob)
{
    struct entry_list *list = ctx;

    if (blob->volume_id != list->volume_id)
        return 0;
    return list_add(list, hash, blob);
}

/* Lists every blob indexed in the volume, in hash order. */
static int collect(store_txn_t *txn, struct entry_list *list)
{
    list->count = 0;
    return index_blob_each(txn, NULL, collect_entry, list);
}

static int copy_range_plain(int in, uint64_t in_off, int out, uint64_t out_off,
                            uint64_t len)
{
    uint8_t *buf = malloc(STORE_CHUNK_BYTES);
    int rc = 0;

    if (buf == NULL)
        return -ENOMEM;
    while (len > 0 && rc == 0) {
        size_t n = len < STORE_CHUNK_BYTES ? (size_t)len : STORE_CHUNK_BYTES;

        rc = store__pread_full(in, buf, n, in_off);
        if (rc == 0)
            rc = kadr_pwrite_full(out, buf, n, out_off);
        in_off += n;
        out_off += n;
        len -= n;
    }
    free(buf);
    return rc;
}

/* Copies len bytes between files in the kernel where it can, with plain
 * reads and writes where copy_file_range() is not supported. The bytes
 * are copied as they are, so a damaged needle stays damaged and verify
 * still finds it. */
static int copy_range(int in, uint64_t in_off, int out, uint64_t out_off,
                      uint64_t len)
{
    while (len > 0) {
        loff_t src = (loff_t)in_off;
        loff_t dst = (loff_t)out_off;
        size_t want = len < COPY_CHUNK_BYTES ? (size_t)len : COPY_CHUNK_BYTES;
        ssize_t n = copy_file_range(in, &src, out, &dst, want, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EXDEV || errno == ENOSYS ||
                      errno == EOPNOTSUPP || errno == EINVAL))
            return copy_range_plain(in, in_off, out, out_off, len);
        if (n < 0)
            return -errno;
        if (n == 0)
            return KADR_E_CORRUPT;
        in_off += (uint64_t)n;
        out_off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

static int sync_switch(struct sync_state *sync, volume_t *next)
{
    int rc = 0;

    if (sync->vol != NULL && sync->vol != next &&
        fdatasync(sync->vol->wfd) != 0)
        rc = -errno;
    sync->vol = next;
    return rc;
}

/* Appends a copy of the needle of blob to the active volume. */
static int copy_needle(store_t *store, const store_blob_t *blob,
                       struct sync_state *sync, store_blob_t *copy)
{
    uint64_t size = needle_size(blob->length);
    int in = volume_fd(&store->volumes, blob->volume_id);
    volume_t *vol;
    uint64_t off;
    int rc;

    if (in < 0)
        return in;
    rc = volume_append_reserve(&store->volumes, size, &vol, &off);
    if (rc != 0)
        return rc;
    rc = sync_switch(sync, vol);
    if (rc == 0)
        rc = copy_range(in, needle_start(blob), vol->wfd, off, size);
    if (rc != 0) {
        volume_append_cancel(&store->volumes, vol->id, vol->wfd, off, size);
        return rc;
    }
    /* The active volume is retired only by a compaction, and compactions
     * run one at a time, so the copy releases its pin at once. */
    volume_unpin(&store->volumes, vol->id, off);
    *copy = *blob;
    copy->volume_id = vol->id;
    copy->offset = off + NEEDLE_HEADER_SIZE;
    return 0;
}

/* NOTE: copies take the live bytes of the volume again before the old
 * file goes, and the disk reserve is not checked here. On a full disk a
 * copy fails with -ENOSPC, the compaction is undone, and the copies made
 * so far stay as unindexed bytes until the next open cuts them. */
static int copy_live(store_t *store, struct entry_list *list,
                     store_compact_result_t *result)
{
    struct sync_state sync = {NULL};
    int rc = 0;

    for (size_t i = 0; i < list->count && rc == 0; i++) {
        struct entry *e = &list->items[i];

        if (e->blob.refcount == 0)
            continue;
        rc = copy_needle(store, &e->blob, &sync, &e->copy);
        if (rc == 0)
            result->bytes_copied += needle_size(e->blob.length);
    }
    if (rc == 0)
        rc = sync_switch(&sync, NULL);
    return rc;
}

static int with_write_txn(store_t *store, int (*fn)(store_txn_t *, void *),
                          void *ctx)
{
    store_txn_t txn = {.store = store};
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn.mdb);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = fn(&txn, ctx);
    if (rc != 0) {
        mdb_txn_abort(txn.mdb);
        return rc;
    }
    return store__index_error(mdb_txn_commit(txn.mdb));
}

static int put_marker(store_txn_t *txn, void *ctx)
{
    return meta_compaction_put(txn, ctx);
}

static int del_marker(store_txn_t *txn, void *ctx)
{
    (void)ctx;
    return meta_compaction_del(txn);
}

/* Finds the copy made for an entry still at the same place, by hash.
 * Both lists are in hash order. */
static const struct entry *find_copy(const struct entry_list *copied,
                                     size_t *pos, const struct entry *now)
{
    while (*pos < copied->count && memcmp(copied->items[*pos].hash.bytes,
                                          now->hash.bytes, KADR_HASH_SIZE) < 0)
        (*pos)++;
    if (*pos == copied->count)
        return NULL;
    const struct entry *e = &copied->items[*pos];

    if (memcmp(e->hash.bytes, now->hash.bytes, KADR_HASH_SIZE) != 0 ||
        e->blob.offset != now->blob.offset || e->copy.volume_id == 0)
        return NULL;
    return e;
}

struct switch_ctx {
    store_t *store;
    struct entry_list *copied; /* from the copy pass */
    struct entry_list now;     /* entries at switch time */
    store_compact_result_t *result;
};

static int drop_dead(store_txn_t *txn, const struct entry *e)
{
    return index_blob_del(txn, &e->hash);
}

/* Moves one live entry to its copy. An entry indexed after the copy pass
 * (its upload staged the needle before the volume was sealed) is copied
 * here, inside the transaction, and synced before the commit. */
static int move_live(struct switch_ctx *sc, store_txn_t *txn,
                     const struct entry *e, const struct entry *copied)
{
    store_blob_t copy;
    int rc;

    if (copied != NULL) {
        copy = copied->copy;
    } else {
        struct sync_state sync = {NULL};

        rc = copy_needle(sc->store, &e->blob, &sync, &copy);
        if (rc == 0)
            rc = sync_switch(&sync, NULL);
        if (rc != 0)
            return rc;
        sc->result->bytes_copied += needle_size(e->blob.length);
    }
    copy.refcount = e->blob.refcount;
    rc = index_blob_put(txn, &e->hash, &copy);
    if (rc == 0)
        rc = meta_volume_end_raise(txn, copy.volume_id,
                                   needle_start(&copy) +
                                       needle_size(copy.length));
    if (rc == 0)
        sc->result->blobs_moved++;
    return rc;
}

static int switch_entries(struct switch_ctx *sc, store_txn_t *txn)
{
    size_t pos = 0;
    int rc = 0;

    for (size_t i = 0; i < sc->now.count && rc == 0; i++) {
        const struct entry *e = &sc->now.items[i];

        if (e->blob.refcount == 0) {
            rc = drop_dead(txn, e);
            sc->result->blobs_dropped += rc == 0 ? 1 : 0;
            continue;
        }
        rc = move_live(sc, txn, e, find_copy(sc->copied, &pos, e));
    }
    return rc;
}

/* The switch transaction. The volume is marked retired before the commit,
 * while this transaction still holds LMDB's writer lock, so that a commit
 * of a needle staged in it before the seal sees the flag and copies the
 * needle instead of indexing a place about to be unlinked. */
static int switch_index(store_txn_t *txn, void *ctx)
{
    struct switch_ctx *sc = ctx;
    uint32_t id = sc->now.volume_id;
    meta_compaction_t marker = {id, META_COMPACTION_SWITCHED};
    meta_counters_t counters;
    uint64_t dead;
    int rc = collect(txn, &sc->now);

    if (rc == 0)
        rc = switch_entries(sc, txn);
    /* Every dead byte counted in the volume goes with it: dead blobs and
     * needles absorbed by a concurrent commit of the same hash. */
    if (rc == 0)
        rc = meta_volume_dead_take(txn, id, &dead);
    if (rc == 0)
        rc = meta_counters_get(txn, &counters);
    if (rc == 0) {
        counters.dead_bytes -= dead;
        rc = meta_counters_put(txn, &counters);
    }
    if (rc == 0)
        rc = meta_volume_end_del(txn, id);
    if (rc == 0)
        rc = meta_compaction_put(txn, &marker);
    if (rc == 0)
        volume_retire(&sc->store->volumes, id, true);
    return rc;
}

static int unlink_volume(store_t *store, uint32_t id)
{
    char path[PATH_MAX];
    int rc = volume_path(store->volumes_dir, id, path);

    if (rc != 0)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    return kadr_fsync_dir(store->volumes_dir);
}

static int read_entries(store_t *store, struct entry_list *list)
{
    store_txn_t txn = {.store = store};
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn.mdb);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = collect(&txn, list);
    mdb_txn_abort(txn.mdb);
    return rc;
}

static int run_switch(store_t *store, struct entry_list *copied,
                      store_compact_result_t *result)
{
    struct switch_ctx sc = {
        store, copied, {.volume_id = copied->volume_id}, result};
    int rc = with_write_txn(store, switch_index, &sc);

    /* A failed commit leaves the index on the old volume. */
    if (rc != 0)
        volume_retire(&store->volumes, copied->volume_id, false);
    free(sc.now.items);
    return rc;
}

static int volume_file_size(store_t *store, uint32_t id, uint64_t *out)
{
    struct stat st;
    int fd = volume_fd(&store->volumes, id);

    if (fd < 0)
        return fd;
    if (fstat(fd, &st) != 0)
        return -errno;
    *out = (uint64_t)st.st_size;
    return 0;
}

static int compact_locked(store_t *store, uint32_t id,
                          store_compact_result_t *result)
{
    meta_compaction_t marker = {id, META_COMPACTION_COPYING};
    struct entry_list list = {.volume_id = id};
    int rc;

    volume_drop_retired(&store->volumes);
    rc = volume_file_size(store, id, &result->bytes_before);
    if (rc == 0)
        rc = volume_seal(&store->volumes, id);
    if (rc == 0)
        rc = with_write_txn(store, put_marker, &marker);
    if (rc != 0)
        return rc;
    maybe_abort(store, STORE_COMPACT_MARKED);
    rc = read_entries(store, &list);
    if (rc == 0)
        rc = copy_live(store, &list, result);
    if (rc == 0) {
        maybe_abort(store, STORE_COMPACT_COPIED);
        rc = run_switch(store, &list, result);
    }
    free(list.items);
    if (rc != 0) {
        /* The index still points at the old volume and the copies are
         * unindexed bytes. If the marker stays, the next open drops it. */
        (void)with_write_txn(store, del_marker, NULL);
        return rc;
    }
    maybe_abort(store, STORE_COMPACT_SWITCHED);
    rc = unlink_volume(store, id);
    if (rc != 0)
        return rc; /* the marker stays: the next open unlinks the file */
    maybe_abort(store, STORE_COMPACT_UNLINKED);
    return with_write_txn(store, del_marker, NULL);
}

int store_compact_volume(store_t *store, uint32_t id,
                         store_compact_result_t *out)
{
    store_compact_result_t result = {.volume_id = id};
    int rc;

    if (store == NULL || id == 0)
        return KADR_E_BAD_INPUT;
    if (store->lock_fd < 0)
        return KADR_E_BAD_INPUT; /* a reader may not rewrite volumes */
    if (volume_fd(&store->volumes, id) < 0 ||
        volume_is_retired(&store->volumes, id))
        return KADR_E_NOT_FOUND;
    pthread_mutex_lock(&store->compact_lock);
    rc = compact_locked(store, id, &result);
    pthread_mutex_unlock(&store->compact_lock);
    if (rc == 0 && out != NULL)
        *out = result;
    return rc;
}

int store__relocate_staged(store_t *store, const store_staged_t *staged,
                           store_staged_t *out)
{
    struct sync_state sync = {NULL};
    int rc;

    *out = *staged;
    rc = copy_needle(store, &staged->blob, &sync, &out->blob);
    if (rc == 0)
        rc = sync_switch(&sync, NULL);
    out->existing = false;
    return rc;
}

static int recover_marker(store_txn_t *txn, void *ctx)
{
    store_t *store = ctx;
    meta_compaction_t marker;
    int rc = meta_compaction_get(txn, &marker);

    if (rc == KADR_E_NOT_FOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (marker.state == META_COMPACTION_SWITCHED) {
        rc = unlink_volume(store, marker.volume_id);
        if (rc != 0)
            return rc;
    }
    return meta_compaction_del(txn);
}

int store__compact_recover(store_t *store)
{
    return with_write_txn(store, recover_marker, store);
}

int store_compact(store_t *store, double min_dead_ratio, store_compact_fn fn,
                  void *ctx)
{
    store_volume_info_t *list;
    size_t count;
    int done = 0;
    int rc;

    if (store == NULL)
        return KADR_E_BAD_INPUT;
    rc = store_volume_list(store, &list, &count);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        store_compact_result_t result;

        if (list[i].dead_bytes == 0 ||
            store_volume_dead_ratio(&list[i]) < min_dead_ratio)
            continue;
        rc = store_compact_volume(store, list[i].id, &result);
        if (rc != 0)
            break;
        done++;
        if (fn != NULL)
            fn(ctx, &result);
    }
    free(list);
    return rc != 0 ? rc : done;
}
