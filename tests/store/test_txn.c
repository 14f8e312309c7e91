/* Read transactions kept between reads with reset and renew. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "support.h"

typedef struct fixture {
    char *dir;
    store_t *store;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
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

static void put_media(store_t *store, const char *id, const char *value,
                      size_t len)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_media_put(txn, id, value, len), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

static void del_media(store_t *store, const char *id)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_media_del(txn, id), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

static void renew_sees_later_commits(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *read;
    const void *value;
    size_t len;

    assert_int_equal(store_txn_begin(fx->store, false, &read), 0);
    assert_int_equal(store_media_get(read, "m1", &value, &len),
                     KADR_E_NOT_FOUND);
    store_txn_reset(read);

    put_media(fx->store, "m1", "record-1", 8);
    assert_int_equal(store_txn_renew(read), 0);
    assert_int_equal(store_media_get(read, "m1", &value, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(value, "record-1", 8);
    store_txn_reset(read);

    put_media(fx->store, "m1", "r2", 2);
    assert_int_equal(store_txn_renew(read), 0);
    assert_int_equal(store_media_get(read, "m1", &value, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(value, "r2", 2);
    store_txn_reset(read);

    del_media(fx->store, "m1");
    assert_int_equal(store_txn_renew(read), 0);
    assert_int_equal(store_media_get(read, "m1", &value, &len),
                     KADR_E_NOT_FOUND);
    store_txn_abort(read);
}

static void renewed_snapshot_stays_fixed(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *read;
    const void *value;
    size_t len;

    put_media(fx->store, "m1", "old", 3);
    assert_int_equal(store_txn_begin(fx->store, false, &read), 0);
    store_txn_reset(read);
    assert_int_equal(store_txn_renew(read), 0);

    put_media(fx->store, "m1", "new!", 4);
    assert_int_equal(store_media_get(read, "m1", &value, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(value, "old", 3);
    store_txn_abort(read);
}

static void reset_handle_aborts(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *read;

    assert_int_equal(store_txn_begin(fx->store, false, &read), 0);
    store_txn_reset(read);
    /* Freed without a renew: the sanitizer build's leak check fails if
     * the handle stays allocated. */
    store_txn_abort(read);
    put_media(fx->store, "m1", "v", 1);
}

static void snapshot_follows_commits(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *read;
    store_txn_t *write;
    uint64_t first;

    assert_int_equal(store_txn_begin(fx->store, false, &read), 0);
    first = store_txn_snapshot(read);
    assert_int_not_equal(first, 0);
    store_txn_reset(read);
    assert_int_equal(store_txn_renew(read), 0);
    assert_int_equal(store_txn_snapshot(read), first);
    store_txn_reset(read);

    put_media(fx->store, "m1", "v", 1);
    assert_int_equal(store_txn_renew(read), 0);
    assert_true(store_txn_snapshot(read) > first);

    assert_int_equal(store_txn_begin(fx->store, true, &write), 0);
    assert_int_equal(store_txn_snapshot(write), 0);
    store_txn_abort(write);
    store_txn_abort(read);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(renew_sees_later_commits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(renewed_snapshot_stays_fixed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reset_handle_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(snapshot_follows_commits, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
