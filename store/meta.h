/* The meta database: schema version, byte counters and the indexed end of
 * each volume. Integers are little-endian. Volume ids in keys are
 * big-endian so that the ends sort by volume. */
#ifndef KADR_STORE_META_H
#define KADR_STORE_META_H

#include "store_internal.h"

/* Version of the index records and volume layout this code reads. */
#define META_SCHEMA_VERSION 1

/* Bytes are payload bytes: needle headers, footers and padding are not
 * counted. */
typedef struct meta_counters {
    uint64_t blobs;      /* blobs with one reference or more */
    uint64_t live_bytes; /* payload bytes of those blobs */
    uint64_t dead_bytes; /* payload bytes no blob references */
} meta_counters_t;

/* Writes the schema version into a new index, setting *created, or checks
 * the one stored: KADR_E_FORMAT if this code cannot read it. Needs a
 * write transaction. */
KADR_MUST_CHECK int meta_schema_check(store_txn_t *txn, bool *created);

/* The id the next job gets: never reused for the life of the store. A
 * missing counter (an index written before it existed) reads as zero. */
KADR_MUST_CHECK int meta_next_job_id_get(store_txn_t *txn, uint64_t *out);
KADR_MUST_CHECK int meta_next_job_id_put(store_txn_t *txn, uint64_t id);

/* Missing counters read as zero. */
KADR_MUST_CHECK int meta_counters_get(store_txn_t *txn, meta_counters_t *out);
KADR_MUST_CHECK int meta_counters_put(store_txn_t *txn,
                                      const meta_counters_t *counters);

/* Gets the end offset of the last indexed needle of a volume, or
 * KADR_E_NOT_FOUND if the volume has none. */
KADR_MUST_CHECK int meta_volume_end_get(store_txn_t *txn, uint32_t id,
                                        uint64_t *end);

/* Raises the volume's indexed end to end. A lower end changes nothing,
 * since needles of one volume can be indexed out of order. */
KADR_MUST_CHECK int meta_volume_end_raise(store_txn_t *txn, uint32_t id,
                                          uint64_t end);

/* Adds delta (wrapping, so a negative delta subtracts) to the dead
 * payload bytes counted in volume id: the share of dead_bytes that
 * compacting the volume reclaims. */
KADR_MUST_CHECK int meta_volume_dead_add(store_txn_t *txn, uint32_t id,
                                         int64_t delta);

/* Reads and deletes the dead payload bytes counted in volume id (0 if
 * none). */
KADR_MUST_CHECK int meta_volume_dead_take(store_txn_t *txn, uint32_t id,
                                          uint64_t *out);

/* Deletes the indexed end of a volume whose needles all moved away. */
KADR_MUST_CHECK int meta_volume_end_del(store_txn_t *txn, uint32_t id);

/* States of the compaction marker: the durable record of a compaction
 * in progress, read by recovery at the next open. */
enum meta_compaction_state {
    META_COMPACTION_COPYING = 1,  /* index still points at the old volume */
    META_COMPACTION_SWITCHED = 2, /* index points at the copies */
};

typedef struct meta_compaction {
    uint32_t volume_id; /* the volume being compacted */
    enum meta_compaction_state state;
} meta_compaction_t;

/* KADR_E_NOT_FOUND when no compaction is in progress. */
KADR_MUST_CHECK int meta_compaction_get(store_txn_t *txn,
                                        meta_compaction_t *out);
KADR_MUST_CHECK int meta_compaction_put(store_txn_t *txn,
                                        const meta_compaction_t *marker);
KADR_MUST_CHECK int meta_compaction_del(store_txn_t *txn);

/* Calls fn for each volume with an indexed end, in id order, until fn
 * returns nonzero, which is then returned. */
typedef int (*meta_volume_fn)(void *ctx, uint32_t id, uint64_t end);
KADR_MUST_CHECK int meta_volume_each(store_txn_t *txn, meta_volume_fn fn,
                                     void *ctx);

#endif
