/* The store's shared state, for the files of store/ only. */
#ifndef KADR_STORE_INTERNAL_H
#define KADR_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>

#include "source.h"
#include "store.h"
#include "volume.h"

struct store {
    char *tmp_dir;
    store_options_t opts;
    MDB_env *env;
    MDB_dbi blobs;   /* hash -> blob record */
    MDB_dbi media;   /* media id -> engine's record */
    MDB_dbi derived; /* source hash + preset -> variant hash */
    MDB_dbi jobs;    /* big-endian u64 id -> engine's job */
    MDB_dbi meta;    /* schema version, counters, volume ends */
    volume_table_t volumes;
    int lock_fd; /* DIR/lock, held exclusively by a writer; -1 if reader */
    char *volumes_dir;
    pthread_mutex_t compact_lock; /* one compaction at a time */
};

struct store_txn {
    store_t *store;
    MDB_txn *mdb;
    bool read_only; /* begun by store_txn_begin() without write */
};

/* Maps an LMDB result to kadr's convention: 0, -errno for a system error,
 * KADR_E_NOT_FOUND, KADR_E_INDEX_FULL for a full map, else KADR_E_INDEX. */
int store__index_error(int mdb_rc);

/* Looks a blob up in a read transaction of its own. */
KADR_MUST_CHECK int store__lookup(store_t *store, const kadr_hash_t *hash,
                                  store_blob_t *out);

/* Compares len bytes of src with the indexed blob found under the same
 * hash, and on a match fills *out as an existing blob (no pin). Returns
 * KADR_E_COLLISION if the bytes or lengths differ. */
KADR_MUST_CHECK int store__stage_existing(store_t *store, source_t *src,
                                          uint64_t len,
                                          const store_blob_t *found,
                                          store_staged_t *out);

/* Reserves a needle for length payload bytes with volume_append_reserve(),
 * or returns KADR_E_DISK_FULL if it would leave less free space than the
 * reserve on the volumes' filesystem. */
KADR_MUST_CHECK int store__reserve_needle(store_t *store, uint64_t length,
                                          volume_t **vol, uint64_t *offset);

/* Fills *out as a new needle staged at needle_offset of volume_id. *out
 * takes over the reservation's pin until its commit or release. */
void store__staged_new(store_staged_t *out, uint32_t volume_id,
                       uint64_t needle_offset, uint64_t length, uint8_t format);

/* Copies a needle of a retired (compacted) volume that was staged but
 * not committed before the compaction to the active volume, and fills
 * *out with the copy. Inside the caller's write transaction. */
KADR_MUST_CHECK int store__relocate_staged(store_t *store,
                                           const store_staged_t *staged,
                                           store_staged_t *out);

/* Finishes or undoes a compaction that a crash cut off, from the marker
 * in the meta database. Runs before the volumes are opened. */
KADR_MUST_CHECK int store__compact_recover(store_t *store);

/* Points an MDB_val at bytes LMDB only reads. */
static inline MDB_val store__val(const void *data, size_t len)
{
    MDB_val val = {.mv_size = len, .mv_data = (void *)(uintptr_t)data};

    return val;
}

#endif
