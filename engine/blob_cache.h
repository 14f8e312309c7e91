/* Blob locations for the read path, kept between requests. A slot filled
 * in a read transaction of the same snapshot (store_txn_snapshot()) is
 * returned without an index lookup, because no commit came in between.
 * After any commit, including a compaction's, the next lookup reads the
 * index again. A write transaction always reads the index. Loop thread
 * only: no locking. */
#ifndef KADR_ENGINE_BLOB_CACHE_H
#define KADR_ENGINE_BLOB_CACHE_H

#include "store.h"

/* Slots of the direct-mapped cache; a colliding hash replaces the slot. */
#define BLOB_CACHE_SLOTS 4096

/* Looks the blob of hash up within txn into out, from the cache when it
 * was read in the same snapshot. Returns what store_blob_get() returns. */
KADR_MUST_CHECK int blob_cache_get(store_txn_t *txn, const kadr_hash_t *hash,
                                   store_blob_t *out);

#endif
