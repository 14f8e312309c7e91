/* Jobs: the engine's opaque values under increasing 64-bit ids, stored
 * as big-endian keys so that LMDB's byte order is id order. */
#include "store_internal.h"

#include "byte_order.h"
#include "meta.h"

/* Returns the id after the largest one stored, or 1 if there is none. */
static int after_last_id(store_txn_t *txn, uint64_t *out)
{
    MDB_cursor *cursor;
    MDB_val key;
    MDB_val val;
    int rc = mdb_cursor_open(txn->mdb, txn->store->jobs, &cursor);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = mdb_cursor_get(cursor, &key, &val, MDB_LAST);
    mdb_cursor_close(cursor);
    if (rc == MDB_NOTFOUND) {
        *out = 1;
        return 0;
    }
    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    if (key.mv_size != 8)
        return KADR_E_FORMAT;
    *out = store__get_be64(key.mv_data) + 1;
    if (*out == 0)
        return KADR_E_TOO_LARGE;
    return 0;
}

/* Takes the next id from the counter in meta and moves the counter on,
 * so that an id stays unique after its job is deleted. An index written
 * before the counter existed starts it after the largest stored id; so
 * does a counter that is behind the stored ids. */
static int take_id(store_txn_t *txn, uint64_t *out)
{
    uint64_t counter = 0;
    uint64_t after_last = 1;
    int rc = meta_next_job_id_get(txn, &counter);

    if (rc == 0)
        rc = after_last_id(txn, &after_last);
    if (rc != 0)
        return rc;
    *out = counter > after_last ? counter : after_last;
    if (*out == UINT64_MAX)
        return KADR_E_TOO_LARGE;
    return meta_next_job_id_put(txn, *out + 1);
}

int store_job_add(store_txn_t *txn, const void *value, size_t len,
                  uint64_t *id_out)
{
    uint8_t id_bytes[8];
    MDB_val key;
    MDB_val val = store__val(value, len);
    uint64_t id = 0; /* gcc 12 -O2 warns maybe-uninitialized */
    int rc;

    if (txn == NULL || (value == NULL && len > 0) || id_out == NULL)
        return KADR_E_BAD_INPUT;
    rc = take_id(txn, &id);
    if (rc != 0)
        return rc;
    store__put_be64(id_bytes, id);
    key = store__val(id_bytes, sizeof(id_bytes));
    rc = mdb_put(txn->mdb, txn->store->jobs, &key, &val,
                 MDB_NOOVERWRITE | MDB_APPEND);
    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    *id_out = id;
    return 0;
}

int store_job_del(store_txn_t *txn, uint64_t id)
{
    uint8_t id_bytes[8];
    MDB_val key;

    if (txn == NULL)
        return KADR_E_BAD_INPUT;
    store__put_be64(id_bytes, id);
    key = store__val(id_bytes, sizeof(id_bytes));
    return store__index_error(mdb_del(txn->mdb, txn->store->jobs, &key, NULL));
}

static int walk_jobs(MDB_cursor *cursor, store_job_fn fn, void *ctx)
{
    MDB_val key;
    MDB_val val;
    int rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST);

    while (rc == MDB_SUCCESS) {
        int stop;

        if (key.mv_size != 8)
            return KADR_E_FORMAT;
        stop = fn(ctx, store__get_be64(key.mv_data), val.mv_data, val.mv_size);
        if (stop != 0)
            return stop;
        rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        return 0;
    return store__index_error(rc);
}

int store_job_each(store_txn_t *txn, store_job_fn fn, void *ctx)
{
    MDB_cursor *cursor;
    int rc;

    if (txn == NULL || fn == NULL)
        return KADR_E_BAD_INPUT;
    rc = mdb_cursor_open(txn->mdb, txn->store->jobs, &cursor);
    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = walk_jobs(cursor, fn, ctx);
    mdb_cursor_close(cursor);
    return rc;
}
