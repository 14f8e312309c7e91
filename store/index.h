/* The LMDB environment under DIR/index/ and the records of the blobs
 * database.
 *
 * A blob record, all integers little-endian, INDEX_BLOB_RECORD_SIZE bytes:
 *   0 u32 volume id   4 u64 payload offset   12 u64 length
 *   20 u32 refcount   24 kadr_format byte */
#ifndef KADR_STORE_INDEX_H
#define KADR_STORE_INDEX_H

#include "store_internal.h"

#define INDEX_BLOB_RECORD_SIZE 25
#define INDEX_MAX_DBS 8

/* Opens the environment in dir and its named databases, creating them if
 * needed, and checks the schema version (KADR_E_FORMAT if unknown). */
KADR_MUST_CHECK int index_open(store_t *store, const char *dir,
                               uint64_t map_size);
void index_close(store_t *store);

KADR_MUST_CHECK int index_blob_get(store_txn_t *txn, const kadr_hash_t *hash,
                                   store_blob_t *out);
KADR_MUST_CHECK int index_blob_put(store_txn_t *txn, const kadr_hash_t *hash,
                                   const store_blob_t *blob);
KADR_MUST_CHECK int index_blob_del(store_txn_t *txn, const kadr_hash_t *hash);

/* Calls fn for each blob in hash order, starting at the first hash not
 * below from (or at the first if from is NULL), until fn returns nonzero,
 * which is then returned. */
typedef int (*index_blob_fn)(void *ctx, const kadr_hash_t *hash,
                             const store_blob_t *blob);
KADR_MUST_CHECK int index_blob_each(store_txn_t *txn, const kadr_hash_t *from,
                                    index_blob_fn fn, void *ctx);

#endif
