/* Media records: the engine's opaque values under short string ids. */
#include "store_internal.h"

#include <string.h>

static int media_key(const store_txn_t *txn, const char *id, MDB_val *key)
{
    size_t len;

    if (txn == NULL || id == NULL)
        return KADR_E_BAD_INPUT;
    len = strnlen(id, STORE_MEDIA_ID_MAX_LEN + 1);
    if (len == 0 || len > STORE_MEDIA_ID_MAX_LEN)
        return KADR_E_BAD_INPUT;
    *key = store__val(id, len);
    return 0;
}

int store_media_put(store_txn_t *txn, const char *id, const void *value,
                    size_t len)
{
    MDB_val key;
    MDB_val val = store__val(value, len);
    int rc = media_key(txn, id, &key);

    if (rc != 0)
        return rc;
    if (value == NULL && len > 0)
        return KADR_E_BAD_INPUT;
    return store__index_error(
        mdb_put(txn->mdb, txn->store->media, &key, &val, 0));
}

int store_media_get(store_txn_t *txn, const char *id, const void **value,
                    size_t *len)
{
    MDB_val key;
    MDB_val val;
    int rc = media_key(txn, id, &key);

    if (rc != 0)
        return rc;
    if (value == NULL || len == NULL)
        return KADR_E_BAD_INPUT;
    rc = mdb_get(txn->mdb, txn->store->media, &key, &val);
    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    *value = val.mv_data;
    *len = val.mv_size;
    return 0;
}

int store_media_del(store_txn_t *txn, const char *id)
{
    MDB_val key;
    int rc = media_key(txn, id, &key);

    if (rc != 0)
        return rc;
    return store__index_error(mdb_del(txn->mdb, txn->store->media, &key, NULL));
}

static int walk_media(MDB_cursor *cursor, store_media_fn fn, void *ctx)
{
    MDB_val key;
    MDB_val val;
    int rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST);

    while (rc == MDB_SUCCESS) {
        int stop = fn(ctx, key.mv_data, key.mv_size, val.mv_data, val.mv_size);

        if (stop != 0)
            return stop;
        rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        return 0;
    return store__index_error(rc);
}

int store_media_each(store_txn_t *txn, store_media_fn fn, void *ctx)
{
    MDB_cursor *cursor;
    int rc;

    if (txn == NULL || fn == NULL)
        return KADR_E_BAD_INPUT;
    rc = mdb_cursor_open(txn->mdb, txn->store->media, &cursor);
    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = walk_media(cursor, fn, ctx);
    mdb_cursor_close(cursor);
    return rc;
}
