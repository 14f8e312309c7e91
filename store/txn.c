#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>

int store_txn_begin(store_t *store, bool write, store_txn_t **out)
{
    store_txn_t *txn = malloc(sizeof(*txn));
    int rc;

    if (txn == NULL)
        return -ENOMEM;
    txn->store = store;
    rc = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, &txn->mdb);
    if (rc != MDB_SUCCESS) {
        free(txn);
        return store__index_error(rc);
    }
    *out = txn;
    return 0;
}

int store_txn_commit(store_txn_t *txn)
{
    int rc = mdb_txn_commit(txn->mdb);

    free(txn);
    return store__index_error(rc);
}

void store_txn_abort(store_txn_t *txn)
{
    if (txn == NULL)
        return;
    mdb_txn_abort(txn->mdb);
    free(txn);
}

void store_txn_reset(store_txn_t *txn)
{
    mdb_txn_reset(txn->mdb);
}

int store_txn_renew(store_txn_t *txn)
{
    return store__index_error(mdb_txn_renew(txn->mdb));
}
