/* Blob locations reused within one index snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "blob_cache.h"
#include "support.h"

typedef struct fixture {
    char *dir;
    store_t *store;
    kadr_hash_t hash;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    uint8_t data[4096];
    bool deduped;

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    test_fill(data, sizeof(data), 7);
    fx->hash = test_put_mem(fx->store, data, sizeof(data), &deduped).hash;
    assert_false(deduped);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    store_close(fx->store);
    test_dir_remove(fx->dir);
    free(fx);
    return 0;
}

static void set_refcount(store_t *store, const kadr_hash_t *hash,
                         uint32_t refcount)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_blob_set_refcount(txn, hash, refcount), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

static void blob_cache_sees_commits(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *read;
    store_blob_t blob;

    assert_int_equal(store_txn_begin(fx->store, false, &read), 0);
    assert_int_equal(blob_cache_get(read, &fx->hash, &blob), 0);
    assert_int_equal(blob.length, 4096);
    assert_int_equal(blob.refcount, 1);
    assert_int_equal(blob_cache_get(read, &fx->hash, &blob), 0);
    assert_int_equal(blob.refcount, 1);
    store_txn_reset(read);

    set_refcount(fx->store, &fx->hash, 3);
    assert_int_equal(store_txn_renew(read), 0);
    assert_int_equal(blob_cache_get(read, &fx->hash, &blob), 0);
    assert_int_equal(blob.length, 4096);
    assert_int_equal(blob.refcount, 3);
    store_txn_abort(read);
}

static void blob_cache_write_txn_reads_index(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn;
    store_blob_t blob;

    assert_int_equal(store_txn_begin(fx->store, false, &txn), 0);
    assert_int_equal(blob_cache_get(txn, &fx->hash, &blob), 0);
    assert_int_equal(blob.refcount, 1);
    store_txn_abort(txn);

    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_set_refcount(txn, &fx->hash, 5), 0);
    assert_int_equal(blob_cache_get(txn, &fx->hash, &blob), 0);
    assert_int_equal(blob.refcount, 5);
    store_txn_abort(txn);
}

static void blob_cache_missing_blob(void **state)
{
    fixture_t *fx = *state;
    kadr_hash_t other = fx->hash;
    store_txn_t *read;
    store_blob_t blob;

    other.bytes[KADR_HASH_SIZE - 1] ^= 0xff;
    assert_int_equal(store_txn_begin(fx->store, false, &read), 0);
    assert_int_equal(blob_cache_get(read, &other, &blob), KADR_E_NOT_FOUND);
    assert_int_equal(blob_cache_get(read, &fx->hash, &blob), 0);
    assert_int_equal(blob_cache_get(read, &other, &blob), KADR_E_NOT_FOUND);
    store_txn_abort(read);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(blob_cache_sees_commits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blob_cache_write_txn_reads_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blob_cache_missing_blob, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
