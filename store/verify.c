/* Verification: every indexed needle is read back, its header and footer
 * checked, and its payload hashed again against its key. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "needle.h"

/* Blobs a step collects in one read transaction at most. */
#define VERIFY_BATCH_MAX 256

struct batch {
    kadr_hash_t hashes[VERIFY_BATCH_MAX];
    store_blob_t blobs[VERIFY_BATCH_MAX];
    size_t count;
    uint64_t bytes;
    uint64_t max_bytes;
    bool more;        /* entries remain after this batch */
    kadr_hash_t next; /* the first of them */
};

static int add_to_batch(void *ctx, const kadr_hash_t *hash,
                        const store_blob_t *blob)
{
    struct batch *b = ctx;

    if (b->count == VERIFY_BATCH_MAX ||
        (b->count > 0 && b->bytes >= b->max_bytes)) {
        b->more = true;
        b->next = *hash;
        return 1;
    }
    b->hashes[b->count] = *hash;
    b->blobs[b->count] = *blob;
    b->count++;
    b->bytes += blob->length;
    return 0;
}

static int read_batch(store_t *store, const store_verify_cursor_t *cursor,
                      struct batch *b)
{
    store_txn_t txn = {.store = store};
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn.mdb);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = index_blob_each(&txn, cursor->blobs > 0 ? &cursor->next : NULL,
                         add_to_batch, b);
    mdb_txn_abort(txn.mdb);
    return rc == 1 ? 0 : rc;
}

static int check_needle(store_t *store, const kadr_hash_t *hash,
                        const store_blob_t *blob)
{
    needle_header_t header;
    kadr_hash_t content;
    int fd;
    int rc;

    if (blob->offset < VOLUME_HEADER_SIZE + NEEDLE_HEADER_SIZE)
        return KADR_E_CORRUPT;
    fd = volume_fd(&store->volumes, blob->volume_id);
    if (fd < 0)
        return fd;
    rc =
        needle_verify(fd, blob->offset - NEEDLE_HEADER_SIZE, &header, &content);
    if (rc != 0)
        return rc;
    if (memcmp(header.hash.bytes, hash->bytes, KADR_HASH_SIZE) != 0 ||
        header.length != blob->length)
        return KADR_E_CORRUPT;
    if (memcmp(content.bytes, hash->bytes, KADR_HASH_SIZE) != 0)
        return KADR_E_CHECKSUM;
    return 0;
}

/* Checks one blob. A failure is confirmed against the index as it is now,
 * because a compaction or a delete may have changed the entry since the
 * batch was read: a moved blob is checked at its new place, a dropped one
 * is skipped. */
static int check_blob(store_t *store, const kadr_hash_t *hash,
                      store_blob_t *blob)
{
    store_blob_t now;
    int code = check_needle(store, hash, blob);
    int rc;

    if (code == 0)
        return 0;
    rc = store__lookup(store, hash, &now);
    if (rc == KADR_E_NOT_FOUND)
        return 0;
    if (rc != 0)
        return code;
    if (now.volume_id == blob->volume_id && now.offset == blob->offset)
        return code;
    *blob = now;
    return check_needle(store, hash, blob);
}

static int check_batch(store_t *store, struct batch *b,
                       store_verify_cursor_t *cursor, store_verify_fn fn,
                       void *ctx)
{
    for (size_t i = 0; i < b->count; i++) {
        int code = check_blob(store, &b->hashes[i], &b->blobs[i]);

        cursor->blobs++;
        cursor->bytes += b->blobs[i].length;
        if (code == 0)
            continue;
        cursor->errors++;
        if (fn != NULL) {
            int stop = fn(ctx, &b->hashes[i], &b->blobs[i], code);

            if (stop != 0)
                return stop;
        }
    }
    return 0;
}

int store_verify_step(store_t *store, store_verify_cursor_t *cursor,
                      uint64_t max_bytes, store_verify_fn fn, void *ctx)
{
    struct batch *b;
    int rc;

    if (store == NULL || cursor == NULL)
        return KADR_E_BAD_INPUT;
    if (cursor->done)
        return 0;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->max_bytes = max_bytes;
    rc = read_batch(store, cursor, b);
    if (rc == 0)
        rc = check_batch(store, b, cursor, fn, ctx);
    if (rc == 0) {
        cursor->done = !b->more;
        cursor->next = b->next;
    }
    free(b);
    return rc;
}
