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
    /* With read_only: open the index for writing all the same, so that
     * write transactions work beside a running kadrd (LMDB serialises
     * writers of several processes). Volumes stay read-only. */
    bool index_writes;
    /* Free bytes to keep on the volumes' filesystem: staging a new needle
     * that would leave less returns KADR_E_DISK_FULL. 0 disables it. */
    uint64_t reserve_bytes;
    /* Test hook: store_compact_volume() calls abort() right after this
     * step (a store_compact_step value), to test recovery. 0: never. */
    int compact_abort_after;
    /* Test hook: the time a retired volume stays open, in milliseconds.
     * 0: VOLUME_RETIRED_GRACE_S (60 s). */
    uint32_t retired_grace_ms;
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
    /* true: a pin keeps the needle's volume open, even when a compaction
     * retires it, until store_blob_commit() or store_staged_release(). */
    bool pinned;
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

/* Ends a read transaction but keeps its handle and its slot in LMDB's
 * reader table, so that store_txn_renew() starts the next read without
 * taking the reader table lock. A reset transaction holds no snapshot,
 * so it blocks no writer and no page reuse. Values borrowed from it are
 * no longer valid. store_txn_abort() frees the handle. */
void store_txn_reset(store_txn_t *txn);

/* Starts a reset read transaction again, on the newest committed data.
 * On error the handle stays reset and still needs store_txn_abort(). */
KADR_MUST_CHECK int store_txn_renew(store_txn_t *txn);

/* Returns the id of the commit whose data a read transaction reads, or 0
 * for a write transaction. Two read transactions with the same nonzero id see
 * the same data, so a value read in one stays valid in the other. */
uint64_t store_txn_snapshot(const store_txn_t *txn);

/* Blobs. */

/* Looks up a live or dead blob: KADR_E_NOT_FOUND if absent. */
KADR_MUST_CHECK int store_blob_get(store_txn_t *txn, const kadr_hash_t *hash,
                                   store_blob_t *out);

/* Prepares len bytes of fd (read from offset 0) for commit, outside any
 * write transaction. If the hash is indexed, compares the bytes with the
 * stored blob (KADR_E_COLLISION if they differ) and writes nothing.
 * Otherwise appends a needle to the active volume and syncs it. fd is
 * mapped while staging runs, so the file must not be truncated
 * meanwhile. A file shorter than len fails with KADR_E_CORRUPT. */
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
 * *deduped when no new blob was indexed. A needle staged in a volume that
 * a compaction retired since is copied to the active volume first.
 * Releases the staged needle's pin whatever the result, so a later
 * store_staged_release() of it does nothing. */
KADR_MUST_CHECK int store_blob_commit(store_txn_t *txn,
                                      const store_staged_t *staged,
                                      bool *deduped);

/* Releases the pin of a staged needle that will not be committed (the
 * upload failed after staging). Its bytes stay as unindexed bytes in the
 * volume. Without this call the pin keeps a retired volume open for up
 * to an hour. Does nothing for a needle released or committed already,
 * or for an existing blob. */
void store_staged_release(store_t *store, store_staged_t *staged);

/* An inbound needle: room reserved at the end of a volume for an upload
 * of known length, whose bytes are written there as they arrive. Staging
 * then only seals the needle, so the bytes are copied once, from the
 * network to their place in the store. */
typedef struct store_inbound {
    uint32_t volume_id;
    uint64_t needle_offset;
    uint64_t length; /* payload bytes reserved */
    /* The volume's read fd and the payload's offset in it, for reading
     * the bytes written so far. Borrowed: valid while the inbound needle
     * is open, and for the staged needle until it is committed or
     * released. */
    int read_fd;
    uint64_t payload_offset;
    int write_fd;     /* borrowed, for store_inbound_write() */
    uint64_t flushed; /* payload bytes whose writeback has started */
    bool open;        /* reserved and pinned, not yet staged or cancelled */
} store_inbound_t;

/* Reserves a needle for length payload bytes (1 to 2^40) at the end of a
 * volume, as volume_append_reserve() places it. Returns KADR_E_DISK_FULL
 * if it would leave less free space than the reserve. Give it up with
 * store_inbound_cancel() unless store_inbound_stage() succeeds. */
KADR_MUST_CHECK int store_inbound_open(store_t *store, uint64_t length,
                                       store_inbound_t *out);

/* Writes len bytes at payload byte at of an open inbound needle, and
 * starts writeback of each MiB written so that the final sync has less
 * to wait for. Callable from any thread, one write at a time per needle. */
KADR_MUST_CHECK int store_inbound_write(store_inbound_t *in, const void *data,
                                        size_t len, uint64_t at);

/* Stages an inbound needle whose length bytes are all written, as
 * store_blob_stage() does with a file. If hash is indexed, compares the
 * bytes and gives the reservation back. Otherwise writes the header and
 * footer and syncs. On success the inbound needle is closed and *out
 * holds the pin. On failure it stays open, for store_inbound_cancel(). */
KADR_MUST_CHECK int store_inbound_stage(store_t *store, store_inbound_t *in,
                                        const kadr_hash_t *hash, uint8_t format,
                                        store_staged_t *out);

/* Gives back the reservation of an open inbound needle: the volume is
 * cut back if nothing was reserved after it, else its blocks are freed
 * and count as dead bytes until compaction. Does nothing for a closed
 * one. */
void store_inbound_cancel(store_t *store, store_inbound_t *in);

/* Adds one reference to an indexed blob (a dead blob becomes live). */
KADR_MUST_CHECK int store_blob_ref(store_txn_t *txn, const kadr_hash_t *hash);

/* Drops one reference; at zero the blob is dead and counted as such. */
KADR_MUST_CHECK int store_blob_unref(store_txn_t *txn, const kadr_hash_t *hash);

/* Calls fn for each indexed blob, live or dead, in hash order until fn
 * returns nonzero, which is then returned. */
typedef int (*store_blob_fn)(void *ctx, const kadr_hash_t *hash,
                             const store_blob_t *blob);
KADR_MUST_CHECK int store_blob_each(store_txn_t *txn, store_blob_fn fn,
                                    void *ctx);

/* Sets the refcount of an indexed blob, moving it between live and dead
 * in the counters as needed: for repairing a count that verify found to
 * differ from the references in the media records. */
KADR_MUST_CHECK int store_blob_set_refcount(store_txn_t *txn,
                                            const kadr_hash_t *hash,
                                            uint32_t refcount);

/* Returns the read-only fd of a volume, borrowed. It stays valid until
 * store_close(), except for a volume that compaction retired: its fd is
 * closed by store_close_retired() or a compaction more than
 * VOLUME_RETIRED_GRACE_S (60 s) after the retirement, so that the disk
 * space is freed, or later while a staged needle in it waits for its
 * commit. A caller
 * that uses the fd past the request that looked it up (a response sent
 * over time) must dup() it first. Negative code if the volume does not
 * exist. */
KADR_MUST_CHECK int store_volume_fd(store_t *store, uint32_t volume_id);

/* Closes the volumes that compaction retired more than the grace time
 * ago and that no staged needle pins, so that their unlinked files give
 * their disk space back. Safe beside readers and compaction. */
void store_close_retired(store_t *store);

/* Returns the number of volumes open and not retired. */
uint32_t store_volume_count(store_t *store);

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

/* Volumes and compaction. */

/* One volume as a walk over the blobs database finds it. Byte counts are
 * whole needle bytes (header, payload, footer, padding). */
typedef struct store_volume_info {
    uint32_t id;
    bool active;          /* appends go here; false in a read-only store */
    uint64_t file_bytes;  /* size of the volume file */
    uint64_t indexed_end; /* end of the last indexed needle, 0 if none */
    uint64_t live_bytes;  /* needles of blobs with references */
    uint64_t dead_bytes;  /* every other byte past the volume header */
    uint64_t live_blobs;
    uint64_t dead_blobs; /* indexed blobs without references */
} store_volume_info_t;

/* Lists the volumes in id order, retired ones left out. *out is malloc'd
 * and freed by the caller. A reader beside a running kadrd sees files
 * that may grow while it walks: dead_bytes is then an upper bound. */
KADR_MUST_CHECK int store_volume_list(store_t *store, store_volume_info_t **out,
                                      size_t *count);

/* Returns dead_bytes over the bytes past the volume header, 0 to 1. */
double store_volume_dead_ratio(const store_volume_info_t *info);

/* The steps of a compaction, in order, for compact_abort_after. */
enum store_compact_step {
    STORE_COMPACT_MARKED = 1,   /* marker "copying" committed */
    STORE_COMPACT_COPIED = 2,   /* live needles copied and synced */
    STORE_COMPACT_SWITCHED = 3, /* index moved, marker "switched" */
    STORE_COMPACT_UNLINKED = 4, /* old file unlinked, folder synced */
};

typedef struct store_compact_result {
    uint32_t volume_id;     /* the volume compacted away */
    uint64_t bytes_before;  /* its file size */
    uint64_t bytes_copied;  /* needle bytes written to the active volume */
    uint64_t blobs_moved;   /* live blobs copied */
    uint64_t blobs_dropped; /* dead blobs removed from the index */
} store_compact_result_t;

/* Rewrites volume id online: copies its live needles to the active
 * volume (starting a new active volume first if id is the active one),
 * syncs them, moves their index entries and drops its dead blobs in one
 * write transaction, then unlinks the old file. A durable marker in the
 * meta database lets store_open() finish or undo a compaction cut off at
 * any step. Reads of old locations keep working: the old read fd stays
 * open for at least a minute, until a later compaction or store_close().
 * Needs a writer; compactions run one at a time. */
KADR_MUST_CHECK int store_compact_volume(store_t *store, uint32_t id,
                                         store_compact_result_t *out);

/* Compacts every volume with dead bytes whose dead ratio is at least
 * min_dead_ratio, calling fn (if not NULL) after each. Returns the
 * number of volumes compacted, or a negative code. */
typedef void (*store_compact_fn)(void *ctx,
                                 const store_compact_result_t *result);
KADR_MUST_CHECK int store_compact(store_t *store, double min_dead_ratio,
                                  store_compact_fn fn, void *ctx);

/* Deletes derivation cache entries whose variant blob is missing or dead,
 * and returns how many went (or a negative code). */
KADR_MUST_CHECK int store_derived_prune(store_txn_t *txn);

/* Runs store_derived_prune() in a write transaction of its own and
 * commits it. Returns the number of entries dropped or a negative code. */
KADR_MUST_CHECK int store_derived_gc(store_t *store);

/* Verification. */

/* Position of a verification pass over the blobs database, in hash order;
 * zero it to start. */
typedef struct store_verify_cursor {
    kadr_hash_t next; /* first hash not checked yet */
    bool done;        /* the pass reached the end */
    uint64_t blobs;   /* needles checked so far */
    uint64_t bytes;   /* payload bytes read so far */
    uint64_t errors;  /* bad needles found so far */
} store_verify_cursor_t;

/* Called for each indexed blob whose needle is bad. code is
 * KADR_E_CHECKSUM (footer checksum or content hash differs),
 * KADR_E_CORRUPT (bad magic, wrong hash or length in the header, or cut
 * short), KADR_E_FORMAT, KADR_E_NOT_FOUND (volume missing) or -errno.
 * A nonzero return stops the pass and is returned. */
typedef int (*store_verify_fn)(void *ctx, const kadr_hash_t *hash,
                               const store_blob_t *blob, int code);

/* Checks the next blobs of a pass, about max_bytes of payload (at least
 * one blob): reads each needle, checks its header and footer checksum and
 * re-computes the XXH3-128 of the payload against its key. Holds no
 * transaction while reading volumes. A blob that compaction moved while
 * it was read is checked again at its new place. */
KADR_MUST_CHECK int store_verify_step(store_t *store,
                                      store_verify_cursor_t *cursor,
                                      uint64_t max_bytes, store_verify_fn fn,
                                      void *ctx);

#endif
