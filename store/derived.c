/* The derivation cache: (source hash, preset name) -> variant hash. */
#include "store_internal.h"

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
