/* kadr's content-addressed blob store.
 *
 * Blobs live as needles in append-only volume files under DIR/volumes/ and
 * are indexed in an LMDB environment under DIR/index/ with the named
 * databases blobs, media, derived, jobs and meta. Temporary upload files
 * live in DIR/tmp/, on the same filesystem.
 *
 * Nothing here logs. Every fallible function returns 0 or a negative code
 * from <kadr/error.h>. A store_t is shared by all threads; a store_txn_t
 * belongs to the thread that began it. */
#ifndef KADR_STORE_H
#define KADR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kadr/error.h>
#include <kadr/hash.h>

/* Defaults for the zero fields of store_options_t. */
#define STORE_DEFAULT_VOLUME_MAX_BYTES (UINT64_C(4) << 30) /* 4 GiB */
#define STORE_DEFAULT_MAP_SIZE_BYTES (UINT64_C(64) << 30)  /* 64 GiB */

/* Maximum length of a media id and of a preset name, in bytes. Longer
 * ones, and empty ones, return KADR_E_BAD_INPUT. */
#define STORE_MEDIA_ID_MAX_LEN 64
#define STORE_PRESET_MAX_LEN 64

/* Maximum blob size store_blob_read() loads into memory, in bytes (1 GiB):
 * KADR_E_TOO_LARGE past it. Larger blobs are read through their fd. */
#define STORE_BLOB_READ_MAX_BYTES (UINT64_C(1) << 30)

typedef struct store store_t;
typedef struct store_txn store_txn_t;

typedef struct store_options {
    uint64_t volume_max_bytes; /* start a new volume past this size */
    uint64_t map_size_bytes;   /* LMDB map size */
    /* Open as a reader beside a running kadrd: no recovery, no writes,
     * no lock. Write functions then fail with KADR_E_BAD_INPUT or an
     * LMDB error. */
    bool read_only;
} store_options_t;

/* Where a blob's payload sits. offset is the payload's first byte inside
 * the volume file, past the needle header. */
typedef struct store_blob {
    uint32_t volume_id;
    uint64_t offset;
    uint64_t length;
    uint32_t refcount;
    uint8_t format; /* a kadr_format_t value */
} store_blob_t;

/* A needle written and synced to a volume but not yet in the index, or an
 * existing blob whose bytes matched; made by store_blob_stage(). */
typedef struct store_staged {
    kadr_hash_t hash;
    store_blob_t blob;
    bool existing; /* true: the hash was stored already, bytes compared */
} store_staged_t;

typedef struct store_stats {
    uint64_t blobs;
    uint64_t media;
    uint64_t jobs;
    uint64_t live_bytes;
    uint64_t dead_bytes;
    uint32_t volumes;
} store_stats_t;

/* Opens (creating if needed) the store under data_dir and recovers it:
 * the tail of each volume past its last indexed needle is cut back and
 * DIR/tmp/ is emptied. A writer holds an exclusive lock on DIR/lock, so
 * a second writer on the same folder fails with -EBUSY. opts may be NULL
 * for defaults. */
KADR_MUST_CHECK int store_open(const char *data_dir,
                               const store_options_t *opts, store_t **out);
void store_close(store_t *store);

/* Returns DIR/tmp, where callers create upload files. Borrowed. */
const char *store_tmp_dir(const store_t *store);

/* Transactions wrap LMDB's: many readers, one writer at a time. A read
 * transaction takes no lock. Values borrowed from a transaction stay valid
 * until it ends. commit and abort free the transaction. */
KADR_MUST_CHECK int store_txn_begin(store_t *store, bool write,
                                    store_txn_t **out);
KADR_MUST_CHECK int store_txn_commit(store_txn_t *txn);
void store_txn_abort(store_txn_t *txn);

/* Blobs. */

/* Looks up a live or dead blob: KADR_E_NOT_FOUND if absent. */
KADR_MUST_CHECK int store_blob_get(store_txn_t *txn, const kadr_hash_t *hash,
                                   store_blob_t *out);

/* Prepares len bytes of fd (read from offset 0) for commit, outside any
 * write transaction. If the hash is indexed, compares the bytes with the
 * stored blob (KADR_E_COLLISION if they differ) and writes nothing.
 * Otherwise appends a needle to the active volume and syncs it. */
KADR_MUST_CHECK int store_blob_stage(store_t *store, int fd, uint64_t len,
                                     const kadr_hash_t *hash, uint8_t format,
                                     store_staged_t *out);

/* The same from memory, for variants. */
KADR_MUST_CHECK int store_blob_stage_mem(store_t *store, const void *data,
                                         size_t len, const kadr_hash_t *hash,
                                         uint8_t format, store_staged_t *out);

/* Inside a write transaction: indexes a staged needle with one reference,
 * or adds a reference to the existing blob. If another writer indexed the
 * same hash since staging, the staged needle becomes dead bytes. Sets
 * *deduped when no new blob was indexed. */
KADR_MUST_CHECK int store_blob_commit(store_txn_t *txn,
                                      const store_staged_t *staged,
                                      bool *deduped);

/* Adds one reference to an indexed blob (a dead blob becomes live). */
KADR_MUST_CHECK int store_blob_ref(store_txn_t *txn, const kadr_hash_t *hash);

/* Drops one reference; at zero the blob is dead and counted as such. */
KADR_MUST_CHECK int store_blob_unref(store_txn_t *txn,
                                     const kadr_hash_t *hash);

/* Returns the read-only fd of a volume, borrowed: valid until
 * store_close(). Negative code if the volume does not exist. */
KADR_MUST_CHECK int store_volume_fd(store_t *store, uint32_t volume_id);

/* Reads a whole blob into a malloc'd buffer the caller frees. */
KADR_MUST_CHECK int store_blob_read(store_t *store, const store_blob_t *blob,
                                    uint8_t **data_out);

/* Media records: opaque values under a short string id, set by the
 * engine. store_media_get's value is borrowed from the transaction. */
KADR_MUST_CHECK int store_media_put(store_txn_t *txn, const char *id,
                                    const void *value, size_t len);
KADR_MUST_CHECK int store_media_get(store_txn_t *txn, const char *id,
                                    const void **value, size_t *len);
KADR_MUST_CHECK int store_media_del(store_txn_t *txn, const char *id);

/* Calls fn for each media record in id order until fn returns nonzero,
 * which is then returned. */
typedef int (*store_media_fn)(void *ctx, const char *id, size_t id_len,
                              const void *value, size_t len);
KADR_MUST_CHECK int store_media_each(store_txn_t *txn, store_media_fn fn,
                                     void *ctx);

/* Derivation cache: (source hash, preset name) -> variant hash. It holds
 * no reference: a hit whose blob is missing or dead is a miss. */
KADR_MUST_CHECK int store_derived_get(store_txn_t *txn,
                                      const kadr_hash_t *source,
                                      const char *preset, kadr_hash_t *out);
KADR_MUST_CHECK int store_derived_put(store_txn_t *txn,
                                      const kadr_hash_t *source,
                                      const char *preset,
                                      const kadr_hash_t *variant);

/* Jobs: opaque values under increasing 64-bit ids. */
KADR_MUST_CHECK int store_job_add(store_txn_t *txn, const void *value,
                                  size_t len, uint64_t *id_out);
KADR_MUST_CHECK int store_job_del(store_txn_t *txn, uint64_t id);
typedef int (*store_job_fn)(void *ctx, uint64_t id, const void *value,
                            size_t len);
KADR_MUST_CHECK int store_job_each(store_txn_t *txn, store_job_fn fn,
                                   void *ctx);

/* Counts for kadrctl stat and /metrics. */
KADR_MUST_CHECK int store_get_stats(store_txn_t *txn, store_stats_t *out);

#endif
