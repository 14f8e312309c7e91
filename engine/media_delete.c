/* Deleting a media record together with the references it holds. */
#include "media.h"

#include "store.h"

static int unref_all(store_txn_t *txn, const media_t *m)
{
    int rc = store_blob_unref(txn, &m->original);

    for (uint32_t i = 0; rc == 0 && i < m->variant_count; i++)
        rc = store_blob_unref(txn, &m->variants[i].hash);
    return rc;
}

int media_delete(struct store_txn *txn, const char *id, media_t *out)
{
    int rc = media_load(txn, id, out);

    if (rc == 0)
        rc = unref_all(txn, out);
    if (rc == 0)
        rc = store_media_del(txn, id);
    return rc;
}
