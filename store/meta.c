#include "meta.h"

#include <string.h>

#include "byte_order.h"

#define KEY_SCHEMA "schema_version"
#define KEY_BLOBS "blob_count"
#define KEY_LIVE "live_bytes"
#define KEY_DEAD "dead_bytes"
#define KEY_NEXT_JOB_ID "next_job_id"
/* u32 volume id and u8 state: see meta_compaction_t. */
#define KEY_COMPACTION "compaction"
/* Followed by the big-endian u32 volume id. */
#define KEY_VOLUME_END "volume_end:"
#define KEY_VOLUME_END_LEN (sizeof(KEY_VOLUME_END) - 1)
/* Followed by the big-endian u32 volume id; the value is a u64. */
#define KEY_VOLUME_DEAD "volume_dead:"
#define KEY_VOLUME_DEAD_LEN (sizeof(KEY_VOLUME_DEAD) - 1)

static int get_raw(store_txn_t *txn, const void *key, size_t key_len,
                   MDB_val *val)
{
    MDB_val k = store__val(key, key_len);

    return store__index_error(mdb_get(txn->mdb, txn->store->meta, &k, val));
}

static int put_raw(store_txn_t *txn, const void *key, size_t key_len,
                   const void *data, size_t len)
{
    MDB_val k = store__val(key, key_len);
    MDB_val v = store__val(data, len);

    return store__index_error(mdb_put(txn->mdb, txn->store->meta, &k, &v, 0));
}

/* Reads a u64 value. A missing key reads as zero. */
static int get_u64(store_txn_t *txn, const char *key, uint64_t *out)
{
    MDB_val val;
    int rc = get_raw(txn, key, strlen(key), &val);

    *out = 0;
    if (rc == KADR_E_NOT_FOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (val.mv_size != 8)
        return KADR_E_FORMAT;
    *out = store__get_le64(val.mv_data);
    return 0;
}

static int put_u64(store_txn_t *txn, const char *key, uint64_t value)
{
    uint8_t data[8];

    store__put_le64(data, value);
    return put_raw(txn, key, strlen(key), data, sizeof(data));
}

int meta_schema_check(store_txn_t *txn, bool *created)
{
    uint8_t data[4];
    MDB_val val;
    int rc = get_raw(txn, KEY_SCHEMA, strlen(KEY_SCHEMA), &val);

    *created = rc == KADR_E_NOT_FOUND;
    if (rc == KADR_E_NOT_FOUND) {
        store__put_le32(data, META_SCHEMA_VERSION);
        return put_raw(txn, KEY_SCHEMA, strlen(KEY_SCHEMA), data, 4);
    }
    if (rc != 0)
        return rc;
    if (val.mv_size != 4 || store__get_le32(val.mv_data) != META_SCHEMA_VERSION)
        return KADR_E_FORMAT;
    return 0;
}

int meta_next_job_id_get(store_txn_t *txn, uint64_t *out)
{
    return get_u64(txn, KEY_NEXT_JOB_ID, out);
}

int meta_next_job_id_put(store_txn_t *txn, uint64_t id)
{
    return put_u64(txn, KEY_NEXT_JOB_ID, id);
}

int meta_counters_get(store_txn_t *txn, meta_counters_t *out)
{
    int rc = get_u64(txn, KEY_BLOBS, &out->blobs);

    if (rc == 0)
        rc = get_u64(txn, KEY_LIVE, &out->live_bytes);
    if (rc == 0)
        rc = get_u64(txn, KEY_DEAD, &out->dead_bytes);
    return rc;
}

int meta_counters_put(store_txn_t *txn, const meta_counters_t *counters)
{
    int rc = put_u64(txn, KEY_BLOBS, counters->blobs);

    if (rc == 0)
        rc = put_u64(txn, KEY_LIVE, counters->live_bytes);
    if (rc == 0)
        rc = put_u64(txn, KEY_DEAD, counters->dead_bytes);
    return rc;
}

static void volume_end_key(uint32_t id, uint8_t out[KEY_VOLUME_END_LEN + 4])
{
    memcpy(out, KEY_VOLUME_END, KEY_VOLUME_END_LEN);
    store__put_be32(out + KEY_VOLUME_END_LEN, id);
}

int meta_volume_end_get(store_txn_t *txn, uint32_t id, uint64_t *end)
{
    uint8_t key[KEY_VOLUME_END_LEN + 4];
    MDB_val val;
    int rc;

    volume_end_key(id, key);
    rc = get_raw(txn, key, sizeof(key), &val);
    if (rc != 0)
        return rc;
    if (val.mv_size != 8)
        return KADR_E_FORMAT;
    *end = store__get_le64(val.mv_data);
    return 0;
}

int meta_volume_end_raise(store_txn_t *txn, uint32_t id, uint64_t end)
{
    uint8_t key[KEY_VOLUME_END_LEN + 4];
    uint8_t data[8];
    uint64_t current;
    int rc = meta_volume_end_get(txn, id, &current);

    if (rc == 0 && current >= end)
        return 0;
    if (rc != 0 && rc != KADR_E_NOT_FOUND)
        return rc;
    volume_end_key(id, key);
    store__put_le64(data, end);
    return put_raw(txn, key, sizeof(key), data, sizeof(data));
}

static bool is_volume_end_key(const MDB_val *key)
{
    return key->mv_size == KEY_VOLUME_END_LEN + 4 &&
           memcmp(key->mv_data, KEY_VOLUME_END, KEY_VOLUME_END_LEN) == 0;
}

static int walk_volume_ends(MDB_cursor *cursor, meta_volume_fn fn, void *ctx)
{
    MDB_val key = store__val(KEY_VOLUME_END, KEY_VOLUME_END_LEN);
    MDB_val val;
    int rc = mdb_cursor_get(cursor, &key, &val, MDB_SET_RANGE);

    while (rc == MDB_SUCCESS && is_volume_end_key(&key)) {
        const uint8_t *k = key.mv_data;
        int stop;

        if (val.mv_size != 8)
            return KADR_E_FORMAT;
        stop = fn(ctx, store__get_be32(k + KEY_VOLUME_END_LEN),
                  store__get_le64(val.mv_data));
        if (stop != 0)
            return stop;
        rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT);
    }
    if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND)
        return 0;
    return store__index_error(rc);
}

int meta_volume_each(store_txn_t *txn, meta_volume_fn fn, void *ctx)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn->mdb, txn->store->meta, &cursor);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = walk_volume_ends(cursor, fn, ctx);
    mdb_cursor_close(cursor);
    return rc;
}

int meta_volume_end_del(store_txn_t *txn, uint32_t id)
{
    uint8_t key[KEY_VOLUME_END_LEN + 4];
    MDB_val k;
    int rc;

    volume_end_key(id, key);
    k = store__val(key, sizeof(key));
    rc = mdb_del(txn->mdb, txn->store->meta, &k, NULL);
    if (rc == MDB_NOTFOUND)
        return 0;
    return store__index_error(rc);
}

int meta_compaction_get(store_txn_t *txn, meta_compaction_t *out)
{
    const uint8_t *data;
    MDB_val val;
    int rc = get_raw(txn, KEY_COMPACTION, strlen(KEY_COMPACTION), &val);

    if (rc != 0)
        return rc;
    if (val.mv_size != 5)
        return KADR_E_FORMAT;
    data = val.mv_data;
    out->volume_id = store__get_le32(data);
    out->state = (enum meta_compaction_state)data[4];
    if (out->state != META_COMPACTION_COPYING &&
        out->state != META_COMPACTION_SWITCHED)
        return KADR_E_FORMAT;
    return 0;
}

int meta_compaction_put(store_txn_t *txn, const meta_compaction_t *marker)
{
    uint8_t data[5];

    store__put_le32(data, marker->volume_id);
    data[4] = (uint8_t)marker->state;
    return put_raw(txn, KEY_COMPACTION, strlen(KEY_COMPACTION), data,
                   sizeof(data));
}

int meta_compaction_del(store_txn_t *txn)
{
    MDB_val k = store__val(KEY_COMPACTION, strlen(KEY_COMPACTION));
    int rc = mdb_del(txn->mdb, txn->store->meta, &k, NULL);

    if (rc == MDB_NOTFOUND)
        return 0;
    return store__index_error(rc);
}

static void volume_dead_key(uint32_t id, uint8_t out[KEY_VOLUME_DEAD_LEN + 4])
{
    memcpy(out, KEY_VOLUME_DEAD, KEY_VOLUME_DEAD_LEN);
    store__put_be32(out + KEY_VOLUME_DEAD_LEN, id);
}

static int volume_dead_get(store_txn_t *txn, const uint8_t *key, uint64_t *out)
{
    MDB_val val;
    int rc = get_raw(txn, key, KEY_VOLUME_DEAD_LEN + 4, &val);

    *out = 0;
    if (rc == KADR_E_NOT_FOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (val.mv_size != 8)
        return KADR_E_FORMAT;
    *out = store__get_le64(val.mv_data);
    return 0;
}

int meta_volume_dead_add(store_txn_t *txn, uint32_t id, int64_t delta)
{
    uint8_t key[KEY_VOLUME_DEAD_LEN + 4];
    uint8_t data[8];
    uint64_t value;
    int rc;

    volume_dead_key(id, key);
    rc = volume_dead_get(txn, key, &value);
    if (rc != 0)
        return rc;
    store__put_le64(data, value + (uint64_t)delta);
    return put_raw(txn, key, sizeof(key), data, sizeof(data));
}

int meta_volume_dead_take(store_txn_t *txn, uint32_t id, uint64_t *out)
{
    uint8_t key[KEY_VOLUME_DEAD_LEN + 4];
    MDB_val k;
    int rc;

    volume_dead_key(id, key);
    k = store__val(key, sizeof(key));
    rc = volume_dead_get(txn, key, out);
    if (rc != 0)
        return rc;
    rc = mdb_del(txn->mdb, txn->store->meta, &k, NULL);
    if (rc == MDB_NOTFOUND)
        return 0;
    return store__index_error(rc);
}
