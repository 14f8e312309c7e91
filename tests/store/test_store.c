/* Opening the store: one writer per data folder, and readers that open
 * beside it without recovering or writing anything. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static int setup(void **state)
{
    *state = test_dir_make();
    return 0;
}

static int teardown(void **state)
{
    test_dir_remove(*state);
    return 0;
}

static void open_second_writer_busy(void **state)
{
    const char *dir = *state;
    store_t *first;
    store_t *second = NULL;

    assert_int_equal(store_open(dir, NULL, &first), 0);
    assert_int_equal(store_open(dir, NULL, &second), -EBUSY);
    assert_null(second);
    store_close(first);
    assert_int_equal(store_open(dir, NULL, &second), 0);
    store_close(second);
}

static void open_reader_beside_writer(void **state)
{
    const char *dir = *state;
    store_options_t reader_opts = {.read_only = true};
    uint8_t data[5000];
    store_t *writer;
    store_t *reader;
    store_staged_t staged;
    store_staged_t pending;
    store_txn_t *txn;
    store_blob_t blob;
    bool deduped;

    test_fill(data, sizeof(data), 7);
    assert_int_equal(store_open(dir, NULL, &writer), 0);
    staged = test_put_mem(writer, data, sizeof(data), &deduped);
    /* A needle staged and not yet committed, as during an upload. */
    test_fill(data, sizeof(data), 8);
    kadr_hash_t hash = test_hash(data, sizeof(data));
    assert_int_equal(
        store_blob_stage_mem(writer, data, sizeof(data), &hash, 1, &pending),
        0);
    uint64_t size = test_volume_size(dir, 1);

    assert_int_equal(store_open(dir, &reader_opts, &reader), 0);
    assert_int_equal(test_volume_size(dir, 1), size);
    assert_int_equal(store_txn_begin(reader, false, &txn), 0);
    assert_int_equal(store_blob_get(txn, &staged.hash, &blob), 0);
    assert_int_equal(blob.length, sizeof(data));
    store_txn_abort(txn);
    assert_int_equal(
        store_blob_stage_mem(reader, data, sizeof(data), &hash, 1, &pending),
        KADR_E_BAD_INPUT);
    store_close(reader);
    store_close(writer);
}

static void open_reader_missing_index(void **state)
{
    store_options_t reader_opts = {.read_only = true};
    store_t *reader = NULL;
    int rc = store_open(*state, &reader_opts, &reader);

    assert_true(rc < 0);
    assert_null(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_second_writer_busy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(open_reader_beside_writer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(open_reader_missing_index, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
