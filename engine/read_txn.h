/* Read transactions for the loop thread's request handlers. The handle
 * of the last one is kept reset between requests (store_txn_reset()), so
 * that a read costs no allocation and no lock on LMDB's reader table.
 * A reset handle has no snapshot, so it never holds back writers or
 * compaction between requests. Loop thread only. */
#ifndef KADR_ENGINE_READ_TXN_H
#define KADR_ENGINE_READ_TXN_H

#include "app.h"

/* Begins a read transaction on the newest committed data. It renews the
 * kept handle, or begins a new one when none is kept (at the first read,
 * or for a read nested in another). Returns 0 or an error of
 * store_txn_begin(). */
KADR_MUST_CHECK int read_txn_begin(app_t *app, store_txn_t **out);

/* Ends txn from read_txn_begin(), keeping its handle for the next read
 * when no other is kept. Values borrowed from txn are no longer valid. */
void read_txn_end(app_t *app, store_txn_t *txn);

/* Frees the kept handle. Call before store_close(). */
void read_txn_close(app_t *app);

#endif
