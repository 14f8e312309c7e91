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
    txn->read_only = !write;
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

uint64_t store_txn_snapshot(const store_txn_t *txn)
{
    /* A write transaction's id is that of the commit it would make, and
     * its data still changes, so it has no snapshot to name. */
    return txn->read_only ? (uint64_t)mdb_txn_id(txn->mdb) : 0;
}
