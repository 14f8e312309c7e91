/* The derivation cache: (source hash, preset name) -> variant hash. */
#include "store_internal.h"

#include <errno.h>
#include <string.h>

#include "index.h"

#define DERIVED_KEY_MAX (KADR_HASH_SIZE + STORE_PRESET_MAX_LEN)

/* Builds the key: the 16 hash bytes, then the preset name without NUL. */
static int derived_key(const store_txn_t *txn, const kadr_hash_t *source,
                       const char *preset, uint8_t out[DERIVED_KEY_MAX],
                       MDB_val *key)
{
    size_t len;

    if (txn == NULL || source == NULL || preset == NULL)
        return KADR_E_BAD_INPUT;
    len = strnlen(preset, STORE_PRESET_MAX_LEN + 1);
    if (len == 0 || len > STORE_PRESET_MAX_LEN)
        return KADR_E_BAD_INPUT;
    memcpy(out, source->bytes, KADR_HASH_SIZE);
    memcpy(out + KADR_HASH_SIZE, preset, len);
    *key = store__val(out, KADR_HASH_SIZE + len);
    return 0;
}

/* A cached variant counts only while its blob is indexed and live. */
static int check_variant_live(store_txn_t *txn, const kadr_hash_t *variant)
{
    store_blob_t blob;
    int rc = index_blob_get(txn, variant, &blob);

    if (rc != 0)
        return rc;
    if (blob.refcount == 0)
        return KADR_E_NOT_FOUND;
    return 0;
}

int store_derived_get(store_txn_t *txn, const kadr_hash_t *source,
                      const char *preset, kadr_hash_t *out)
{
    uint8_t buf[DERIVED_KEY_MAX];
    MDB_val key;
    MDB_val val;
    kadr_hash_t variant;
    int rc = derived_key(txn, source, preset, buf, &key);

    if (rc != 0)
        return rc;
    if (out == NULL)
        return KADR_E_BAD_INPUT;
    rc = mdb_get(txn->mdb, txn->store->derived, &key, &val);
    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    if (val.mv_size != KADR_HASH_SIZE)
        return KADR_E_FORMAT;
    memcpy(variant.bytes, val.mv_data, KADR_HASH_SIZE);
    rc = check_variant_live(txn, &variant);
    if (rc != 0)
        return rc;
    *out = variant;
    return 0;
}

int store_derived_put(store_txn_t *txn, const kadr_hash_t *source,
                      const char *preset, const kadr_hash_t *variant)
{
    uint8_t buf[DERIVED_KEY_MAX];
    MDB_val key;
    MDB_val val;
    int rc = derived_key(txn, source, preset, buf, &key);

    if (rc != 0)
        return rc;
    if (variant == NULL)
        return KADR_E_BAD_INPUT;
    val = store__val(variant->bytes, KADR_HASH_SIZE);
    return store__index_error(
        mdb_put(txn->mdb, txn->store->derived, &key, &val, 0));
}

/* Deletes the entry under the cursor if its variant is missing or dead,
 * and returns 1 if it did. */
static int prune_current(store_txn_t *txn, MDB_cursor *cursor,
                         const MDB_val *val)
{
    kadr_hash_t variant;
    int rc;

    if (val->mv_size != KADR_HASH_SIZE)
        return KADR_E_FORMAT;
    memcpy(variant.bytes, val->mv_data, KADR_HASH_SIZE);
    rc = check_variant_live(txn, &variant);
    if (rc == 0)
        return 0;
    if (rc != KADR_E_NOT_FOUND)
        return rc;
    rc = store__index_error(mdb_cursor_del(cursor, 0));
    return rc == 0 ? 1 : rc;
}

static int prune_all(store_txn_t *txn, MDB_cursor *cursor)
{
    MDB_val key;
    MDB_val val;
    int pruned = 0;
    int rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST);

    while (rc == MDB_SUCCESS) {
        int gone = prune_current(txn, cursor, &val);

        if (gone < 0)
            return gone;
        pruned += gone;
        /* After mdb_cursor_del() the cursor sits on the next entry, and
         * MDB_GET_CURRENT returns it. */
        rc = mdb_cursor_get(cursor, &key, &val,
                            gone ? MDB_GET_CURRENT : MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND || rc == EINVAL)
        return pruned;
    return store__index_error(rc);
}

int store_derived_prune(store_txn_t *txn)
{
    MDB_cursor *cursor;
    int rc;

    if (txn == NULL)
        return KADR_E_BAD_INPUT;
    rc = mdb_cursor_open(txn->mdb, txn->store->derived, &cursor);
    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = prune_all(txn, cursor);
    mdb_cursor_close(cursor);
    return rc;
}

int store_derived_gc(store_t *store)
{
    store_txn_t *txn;
    int pruned;
    int rc = store_txn_begin(store, true, &txn);

    if (rc != 0)
        return rc;
    pruned = store_derived_prune(txn);
    if (pruned < 0) {
        store_txn_abort(txn);
        return pruned;
    }
    rc = store_txn_commit(txn);
    return rc != 0 ? rc : pruned;
}
