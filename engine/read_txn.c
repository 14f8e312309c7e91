#include "read_txn.h"

int read_txn_begin(app_t *app, store_txn_t **out)
{
    store_txn_t *reusable = app->loop_read_txn;

    if (reusable == NULL)
        return store_txn_begin(app->store, false, out);
    app->loop_read_txn = NULL;
    if (store_txn_renew(reusable) != 0) {
        /* Drop the handle, so that a new one takes a fresh reader slot. */
        store_txn_abort(reusable);
        return store_txn_begin(app->store, false, out);
    }
    *out = reusable;
    return 0;
}

void read_txn_end(app_t *app, store_txn_t *txn)
{
    if (app->loop_read_txn != NULL) {
        store_txn_abort(txn);
        return;
    }
    store_txn_reset(txn);
    app->loop_read_txn = txn;
}

void read_txn_close(app_t *app)
{
    store_txn_abort(app->loop_read_txn);
    app->loop_read_txn = NULL;
}
