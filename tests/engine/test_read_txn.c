/* The loop thread's reused read transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "read_txn.h"
#include "support.h"

typedef struct fixture {
    char *dir;
    app_t app;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, NULL, &fx->app.store), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    read_txn_close(&fx->app);
    store_close(fx->app.store);
    test_dir_remove(fx->dir);
    free(fx);
    return 0;
}

static void put_media(store_t *store, const char *id, const char *value)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_media_put(txn, id, value, strlen(value)), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

static void read_txn_reuses_handle(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *first;
    store_txn_t *second;
    const void *value;
    size_t len;

    assert_int_equal(read_txn_begin(&fx->app, &first), 0);
    assert_int_equal(store_media_get(first, "m1", &value, &len),
                     KADR_E_NOT_FOUND);
    read_txn_end(&fx->app, first);
    assert_ptr_equal(fx->app.loop_read_txn, first);

    put_media(fx->app.store, "m1", "record");
    assert_int_equal(read_txn_begin(&fx->app, &second), 0);
    assert_ptr_equal(second, first);
    assert_null(fx->app.loop_read_txn);
    assert_int_equal(store_media_get(second, "m1", &value, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(value, "record", 6);
    read_txn_end(&fx->app, second);
}

static void read_txn_nested_reads(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *outer;
    store_txn_t *inner;
    const void *value;
    size_t len;

    put_media(fx->app.store, "m1", "record");
    assert_int_equal(read_txn_begin(&fx->app, &outer), 0);
    assert_int_equal(read_txn_begin(&fx->app, &inner), 0);
    assert_ptr_not_equal(inner, outer);
    assert_int_equal(store_media_get(inner, "m1", &value, &len), 0);
    read_txn_end(&fx->app, inner);
    assert_ptr_equal(fx->app.loop_read_txn, inner);

    /* The outer one is freed: only one handle is kept. */
    assert_int_equal(store_media_get(outer, "m1", &value, &len), 0);
    assert_int_equal(len, 6);
    read_txn_end(&fx->app, outer);
    assert_ptr_equal(fx->app.loop_read_txn, inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(read_txn_reuses_handle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(read_txn_nested_reads, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
