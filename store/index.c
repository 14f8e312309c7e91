#include "index.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "byte_order.h"
#include "meta.h"
#include "volume.h"

int store__index_error(int mdb_rc)
{
    if (mdb_rc == MDB_SUCCESS)
        return 0;
    if (mdb_rc == MDB_NOTFOUND)
        return KADR_E_NOT_FOUND;
    if (mdb_rc == MDB_MAP_FULL)
        return KADR_E_INDEX_FULL;
    if (mdb_rc > 0)
        return -mdb_rc;
    return KADR_E_INDEX;
}

static int open_dbs(store_t *store, MDB_txn *mdb, unsigned int flags)
{
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {
        {"blobs", &store->blobs},     {"media", &store->media},
        {"derived", &store->derived}, {"jobs", &store->jobs},
        {"meta", &store->meta},
    };

    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        int rc = mdb_dbi_open(mdb, dbs[i].name, flags, dbs[i].dbi);

        if (rc != MDB_SUCCESS)
            return store__index_error(rc);
    }
    return 0;
}

/* A reader opens the databases as they are and checks the schema; a
 * writer creates them and writes the schema version of a new index. */
static int prepare_dbs(store_t *store)
{
    bool reader = store->opts.read_only;
    bool created = false;
    store_txn_t txn = {.store = store};
    int rc = mdb_txn_begin(store->env, NULL, reader ? MDB_RDONLY : 0, &txn.mdb);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = open_dbs(store, txn.mdb, reader ? 0 : MDB_CREATE);
    /* A reader finds no databases in an index that was never written. */
    created = reader && rc == KADR_E_NOT_FOUND;
    if (rc == 0)
        rc = meta_schema_check(&txn, &created);
    /* Opening volumes against a new index would cut every one of them back
     * to its header, as if no needle in them had ever been indexed. */
    if ((rc == 0 || rc == KADR_E_NOT_FOUND) && created &&
        store->volumes_dir != NULL) {
        int data = volume_dir_has_data(store->volumes_dir);

        if (data > 0)
            rc = KADR_E_INDEX_LOST;
        else if (data < 0)
            rc = data;
    }
    if (rc != 0) {
        mdb_txn_abort(txn.mdb);
        return rc;
    }
    return store__index_error(mdb_txn_commit(txn.mdb));
}

static int configure_env(MDB_env *env, uint64_t map_size)
{
    int rc = mdb_env_set_maxdbs(env, INDEX_MAX_DBS);

    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_mapsize(env, (size_t)map_size);
    return store__index_error(rc);
}

/* Rejects an empty data.mdb beside volumes with data for a reader, which
 * LMDB would report as EBADF when it fails to write the first pages. */
static int check_reader_index(const store_t *store, const char *dir)
{
    char path[PATH_MAX];
    struct stat st;
    int n = snprintf(path, sizeof(path), "%s/data.mdb", dir);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    if (stat(path, &st) != 0 || st.st_size > 0 || store->volumes_dir == NULL)
        return 0;
    return volume_dir_has_data(store->volumes_dir) > 0 ? KADR_E_INDEX_LOST : 0;
}

int index_open(store_t *store, const char *dir, uint64_t map_size)
{
    unsigned int flags;
    int rc = mdb_env_create(&store->env);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = configure_env(store->env, map_size);
    if (rc != 0)
        goto fail_env;
    /* MDB_NOTLS ties read transactions to store_txn_t values instead of
     * threads (lmdb.h, mdb_txn_begin), so one thread may have a read and
     * a write transaction open at once. */
    flags = MDB_NOTLS;
    if (store->opts.read_only && !store->opts.index_writes)
        flags |= MDB_RDONLY;
    if (flags & MDB_RDONLY) {
        rc = check_reader_index(store, dir);
        if (rc != 0)
            goto fail_env;
    }
    rc = store__index_error(mdb_env_open(store->env, dir, flags, 0644));
    if (rc != 0)
        goto fail_env;
    rc = prepare_dbs(store);
    if (rc != 0)
        goto fail_env;
    return 0;

fail_env:
    mdb_env_close(store->env);
    store->env = NULL;
    return rc;
}

void index_close(store_t *store)
{
    if (store->env != NULL)
        mdb_env_close(store->env);
    store->env = NULL;
}

static void encode_blob(const store_blob_t *blob,
                        uint8_t out[INDEX_BLOB_RECORD_SIZE])
{
    store__put_le32(out, blob->volume_id);
    store__put_le64(out + 4, blob->offset);
    store__put_le64(out + 12, blob->length);
    store__put_le32(out + 20, blob->refcount);
    out[24] = blob->format;
}

static void decode_blob(const uint8_t in[INDEX_BLOB_RECORD_SIZE],
                        store_blob_t *out)
{
    out->volume_id = store__get_le32(in);
    out->offset = store__get_le64(in + 4);
    out->length = store__get_le64(in + 12);
    out->refcount = store__get_le32(in + 20);
    out->format = in[24];
}

int index_blob_get(store_txn_t *txn, const kadr_hash_t *hash, store_blob_t *out)
{
    MDB_val key = store__val(hash->bytes, KADR_HASH_SIZE);
    MDB_val val;
    int rc = mdb_get(txn->mdb, txn->store->blobs, &key, &val);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    if (val.mv_size != INDEX_BLOB_RECORD_SIZE)
        return KADR_E_FORMAT;
    decode_blob(val.mv_data, out);
    return 0;
}

int index_blob_put(store_txn_t *txn, const kadr_hash_t *hash,
                   const store_blob_t *blob)
{
    uint8_t record[INDEX_BLOB_RECORD_SIZE];
    MDB_val key = store__val(hash->bytes, KADR_HASH_SIZE);
    MDB_val val = store__val(record, sizeof(record));

    encode_blob(blob, record);
    return store__index_error(
        mdb_put(txn->mdb, txn->store->blobs, &key, &val, 0));
}

int index_blob_del(store_txn_t *txn, const kadr_hash_t *hash)
{
    MDB_val key = store__val(hash->bytes, KADR_HASH_SIZE);

    return store__index_error(mdb_del(txn->mdb, txn->store->blobs, &key, NULL));
}

static int walk_blobs(MDB_cursor *cursor, const kadr_hash_t *from,
                      index_blob_fn fn, void *ctx)
{
    MDB_val key = {0};
    MDB_val val;
    int rc;

    if (from != NULL) {
        key = store__val(from->bytes, KADR_HASH_SIZE);
        rc = mdb_cursor_get(cursor, &key, &val, MDB_SET_RANGE);
    } else {
        rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST);
    }
    while (rc == MDB_SUCCESS) {
        kadr_hash_t hash;
        store_blob_t blob;
        int stop;

        if (key.mv_size != KADR_HASH_SIZE ||
            val.mv_size != INDEX_BLOB_RECORD_SIZE)
            return KADR_E_FORMAT;
        memcpy(hash.bytes, key.mv_data, KADR_HASH_SIZE);
        decode_blob(val.mv_data, &blob);
        stop = fn(ctx, &hash, &blob);
        if (stop != 0)
            return stop;
        rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        return 0;
    return store__index_error(rc);
}

int index_blob_each(store_txn_t *txn, const kadr_hash_t *from, index_blob_fn fn,
                    void *ctx)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn->mdb, txn->store->blobs, &cursor);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = walk_blobs(cursor, from, fn, ctx);
    mdb_cursor_close(cursor);
    return rc;
}
