#include "blob_cache.h"

#include <stdbool.h>
#include <string.h>

struct blob_cache_slot {
    bool used;
    uint64_t snapshot; /* the commit the location was read in */
    kadr_hash_t hash;
    store_blob_t blob;
};

static struct blob_cache_slot slots[BLOB_CACHE_SLOTS];

static struct blob_cache_slot *slot_of(const kadr_hash_t *hash)
{
    uint64_t key;

    /* The hash is XXH3-128 output, so its first bytes spread well. */
    memcpy(&key, hash->bytes, sizeof(key));
    return &slots[key % BLOB_CACHE_SLOTS];
}

int blob_cache_get(store_txn_t *txn, const kadr_hash_t *hash, store_blob_t *out)
{
    struct blob_cache_slot *slot = slot_of(hash);
    uint64_t snapshot = store_txn_snapshot(txn);
    int rc;

    if (slot->used && snapshot != 0 && slot->snapshot == snapshot &&
        memcmp(&slot->hash, hash, sizeof(*hash)) == 0) {
        *out = slot->blob;
        return 0;
    }
    rc = store_blob_get(txn, hash, out);
    if (rc != 0)
        return rc;
    slot->used = true;
    slot->snapshot = snapshot;
    slot->hash = *hash;
    slot->blob = *out;
    return 0;
}
