#include <stdlib.h>
#include <string.h>

#include "media.h"
#include "store.h"

int media_load(store_txn_t *txn, const char *id, media_t *out)
{
    const void *value;
    size_t len;
    int rc = store_media_get(txn, id, &value, &len);

    if (rc != 0)
        return rc;
    return media_decode(value, len, out);
}

int media_save(store_txn_t *txn, const media_t *m)
{
    char *json;
    size_t len;
    int rc = media_encode(m, &json, &len);

    if (rc != 0)
        return rc;
    rc = store_media_put(txn, m->id, json, len);
    free(json);
    return rc;
}
