#include "store_internal.h"

#include "meta.h"

static int count_entries(store_txn_t *txn, MDB_dbi dbi, uint64_t *out)
{
    MDB_stat st;
    int rc = mdb_stat(txn->mdb, dbi, &st);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    *out = st.ms_entries;
    return 0;
}

int store_get_stats(store_txn_t *txn, store_stats_t *out)
{
    meta_counters_t counters;
    int rc;

    if (txn == NULL || out == NULL)
        return KADR_E_BAD_INPUT;
    rc = meta_counters_get(txn, &counters);
    if (rc == 0)
        rc = count_entries(txn, txn->store->media, &out->media);
    if (rc == 0)
        rc = count_entries(txn, txn->store->jobs, &out->jobs);
    if (rc != 0)
        return rc;
    out->blobs = counters.blobs;
    out->live_bytes = counters.live_bytes;
    out->dead_bytes = counters.dead_bytes;
    out->volumes = volume_count(&txn->store->volumes);
    return 0;
}
