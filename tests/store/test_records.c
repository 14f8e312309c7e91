/* Media records, the derivation cache and jobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meta.h"
#include "support.h"

typedef struct fixture {
    char *dir;
    store_t *store;
    store_txn_t *txn; /* a write transaction, aborted at teardown */
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    assert_int_equal(store_txn_begin(fx->store, true, &fx->txn), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    store_txn_abort(fx->txn);
    store_close(fx->store);
    test_dir_remove(fx->dir);
    free(fx);
    return 0;
}

static void media_put_get_del(void **state)
{
    fixture_t *fx = *state;
    const void *value;
    size_t len;

    assert_int_equal(store_media_put(fx->txn, "m1", "record-1", 8), 0);
    assert_int_equal(store_media_get(fx->txn, "m1", &value, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(value, "record-1", 8);

    assert_int_equal(store_media_put(fx->txn, "m1", "r2", 2), 0);
    assert_int_equal(store_media_get(fx->txn, "m1", &value, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(value, "r2", 2);

    assert_int_equal(store_media_del(fx->txn, "m1"), 0);
    assert_int_equal(store_media_get(fx->txn, "m1", &value, &len),
                     KADR_E_NOT_FOUND);
    assert_int_equal(store_media_del(fx->txn, "m1"), KADR_E_NOT_FOUND);
}

static void media_id_length_limits(void **state)
{
    fixture_t *fx = *state;
    char id[STORE_MEDIA_ID_MAX_LEN + 2];
    const void *value;
    size_t len;

    memset(id, 'a', sizeof(id));
    id[STORE_MEDIA_ID_MAX_LEN] = '\0';
    assert_int_equal(store_media_put(fx->txn, id, "v", 1), 0);
    id[STORE_MEDIA_ID_MAX_LEN] = 'a';
    id[STORE_MEDIA_ID_MAX_LEN + 1] = '\0';
    assert_int_equal(store_media_put(fx->txn, id, "v", 1), KADR_E_BAD_INPUT);
    assert_int_equal(store_media_get(fx->txn, id, &value, &len),
                     KADR_E_BAD_INPUT);
    assert_int_equal(store_media_del(fx->txn, id), KADR_E_BAD_INPUT);
    assert_int_equal(store_media_put(fx->txn, "", "v", 1), KADR_E_BAD_INPUT);
    assert_int_equal(store_media_put(fx->txn, NULL, "v", 1), KADR_E_BAD_INPUT);
}

typedef struct seen {
    char ids[8][8];
    size_t count;
    size_t stop_after; /* returns 99 after this many, 0 for never */
} seen_t;

static int collect_media(void *ctx, const char *id, size_t id_len,
                         const void *value, size_t len)
{
    seen_t *seen = ctx;

    assert_true(id_len < sizeof(seen->ids[0]));
    assert_int_equal(len, 1);
    memcpy(seen->ids[seen->count], id, id_len);
    seen->ids[seen->count][id_len] = '\0';
    seen->count++;
    if (seen->stop_after != 0 && seen->count == seen->stop_after)
        return 99;
    return 0;
}

static void media_each_in_id_order(void **state)
{
    fixture_t *fx = *state;
    seen_t seen = {0};

    assert_int_equal(store_media_put(fx->txn, "b", "2", 1), 0);
    assert_int_equal(store_media_put(fx->txn, "c", "3", 1), 0);
    assert_int_equal(store_media_put(fx->txn, "a", "1", 1), 0);
    assert_int_equal(store_media_each(fx->txn, collect_media, &seen), 0);
    assert_int_equal(seen.count, 3);
    assert_string_equal(seen.ids[0], "a");
    assert_string_equal(seen.ids[1], "b");
    assert_string_equal(seen.ids[2], "c");

    memset(&seen, 0, sizeof(seen));
    seen.stop_after = 2;
    assert_int_equal(store_media_each(fx->txn, collect_media, &seen), 99);
    assert_int_equal(seen.count, 2);
}

static void derived_put_get(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[300];
    kadr_hash_t source = test_hash("source", 6);
    kadr_hash_t variant;
    kadr_hash_t got;
    bool deduped;

    store_txn_abort(fx->txn);
    fx->txn = NULL;
    test_fill(data, sizeof(data), 50);
    variant = test_put_mem(fx->store, data, sizeof(data), &deduped).hash;
    assert_int_equal(store_txn_begin(fx->store, true, &fx->txn), 0);

    assert_int_equal(store_derived_put(fx->txn, &source, "w640.webp", &variant),
                     0);
    assert_int_equal(store_derived_get(fx->txn, &source, "w640.webp", &got), 0);
    assert_memory_equal(got.bytes, variant.bytes, KADR_HASH_SIZE);
    assert_int_equal(store_derived_get(fx->txn, &source, "w320.webp", &got),
                     KADR_E_NOT_FOUND);
    assert_int_equal(store_derived_get(fx->txn, &variant, "w640.webp", &got),
                     KADR_E_NOT_FOUND);
    assert_int_equal(store_derived_get(fx->txn, &source, "", &got),
                     KADR_E_BAD_INPUT);
}

static void derived_dead_or_missing_blob_misses(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[300];
    kadr_hash_t source = test_hash("source", 6);
    kadr_hash_t missing = test_hash("missing", 7);
    kadr_hash_t variant;
    kadr_hash_t got;
    bool deduped;

    store_txn_abort(fx->txn);
    fx->txn = NULL;
    test_fill(data, sizeof(data), 51);
    variant = test_put_mem(fx->store, data, sizeof(data), &deduped).hash;
    assert_int_equal(store_txn_begin(fx->store, true, &fx->txn), 0);

    assert_int_equal(store_derived_put(fx->txn, &source, "gone", &missing), 0);
    assert_int_equal(store_derived_get(fx->txn, &source, "gone", &got),
                     KADR_E_NOT_FOUND);
    assert_int_equal(store_derived_put(fx->txn, &source, "dead", &variant), 0);
    assert_int_equal(store_blob_unref(fx->txn, &variant), 0);
    assert_int_equal(store_derived_get(fx->txn, &source, "dead", &got),
                     KADR_E_NOT_FOUND);
    assert_int_equal(store_blob_ref(fx->txn, &variant), 0);
    assert_int_equal(store_derived_get(fx->txn, &source, "dead", &got), 0);
}

typedef struct job_list {
    uint64_t ids[400];
    size_t count;
} job_list_t;

static int collect_job(void *ctx, uint64_t id, const void *value, size_t len)
{
    job_list_t *list = ctx;

    assert_true(list->count < 400);
    assert_int_equal(len, sizeof(uint64_t));
    assert_memory_equal(value, &id, sizeof(id));
    list->ids[list->count++] = id;
    return 0;
}

static uint64_t add_job(store_txn_t *txn, uint64_t expected_id)
{
    uint64_t id = 0;

    /* The value is the expected id, so collect_job can check it. */
    assert_int_equal(store_job_add(txn, &expected_id, sizeof(expected_id), &id),
                     0);
    assert_int_equal(id, expected_id);
    return id;
}

static void job_ids_increase(void **state)
{
    fixture_t *fx = *state;
    job_list_t list = {0};

    add_job(fx->txn, 1);
    add_job(fx->txn, 2);
    add_job(fx->txn, 3);
    assert_int_equal(store_job_del(fx->txn, 2), 0);
    assert_int_equal(store_job_del(fx->txn, 2), KADR_E_NOT_FOUND);
    add_job(fx->txn, 4);
    assert_int_equal(store_job_each(fx->txn, collect_job, &list), 0);
    assert_int_equal(list.count, 3);
    assert_int_equal(list.ids[0], 1);
    assert_int_equal(list.ids[1], 3);
    assert_int_equal(list.ids[2], 4);
}

/* Ids past 255 still iterate in numeric order. */
static void job_each_in_id_order(void **state)
{
    fixture_t *fx = *state;
    job_list_t list = {0};

    for (uint64_t id = 1; id <= 300; id++)
        add_job(fx->txn, id);
    assert_int_equal(store_job_each(fx->txn, collect_job, &list), 0);
    assert_int_equal(list.count, 300);
    for (size_t i = 0; i < list.count; i++)
        assert_int_equal(list.ids[i], i + 1);
}

/* Deleting the newest job does not free its id for the next one. */
static void job_id_not_reused(void **state)
{
    fixture_t *fx = *state;
    job_list_t list = {0};

    add_job(fx->txn, 1);
    add_job(fx->txn, 2);
    add_job(fx->txn, 3);
    assert_int_equal(store_job_del(fx->txn, 3), 0);
    assert_int_equal(store_job_del(fx->txn, 2), 0);
    add_job(fx->txn, 4);
    assert_int_equal(store_job_each(fx->txn, collect_job, &list), 0);
    assert_int_equal(list.count, 2);
    assert_int_equal(list.ids[0], 1);
    assert_int_equal(list.ids[1], 4);
}

/* With every job deleted and the store reopened, ids go on. */
static void job_id_unique_across_reopen(void **state)
{
    fixture_t *fx = *state;
    uint64_t next;

    add_job(fx->txn, 1);
    add_job(fx->txn, 2);
    assert_int_equal(store_job_del(fx->txn, 1), 0);
    assert_int_equal(store_job_del(fx->txn, 2), 0);
    assert_int_equal(store_txn_commit(fx->txn), 0);
    fx->txn = NULL;
    store_close(fx->store);
    fx->store = NULL;

    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    assert_int_equal(store_txn_begin(fx->store, true, &fx->txn), 0);
    assert_int_equal(meta_next_job_id_get(fx->txn, &next), 0);
    assert_int_equal(next, 3);
    add_job(fx->txn, 3);
}

/* An index without the counter, or with one behind the stored ids,
 * continues after the largest stored id. */
static void job_counter_behind_stored_ids(void **state)
{
    fixture_t *fx = *state;
    uint64_t next;

    add_job(fx->txn, 1);
    add_job(fx->txn, 2);
    add_job(fx->txn, 3);
    assert_int_equal(meta_next_job_id_put(fx->txn, 0), 0);
    add_job(fx->txn, 4);
    assert_int_equal(meta_next_job_id_put(fx->txn, 2), 0);
    add_job(fx->txn, 5);
    assert_int_equal(meta_next_job_id_get(fx->txn, &next), 0);
    assert_int_equal(next, 6);
    assert_int_equal(store_job_del(fx->txn, 5), 0);
    assert_int_equal(meta_next_job_id_put(fx->txn, 9), 0);
    add_job(fx->txn, 9);
}

static void job_survives_reopen(void **state)
{
    fixture_t *fx = *state;
    job_list_t list = {0};
    store_stats_t stats;

    add_job(fx->txn, 1);
    add_job(fx->txn, 2);
    assert_int_equal(store_media_put(fx->txn, "m", "x", 1), 0);
    assert_int_equal(store_txn_commit(fx->txn), 0);
    fx->txn = NULL;
    store_close(fx->store);
    fx->store = NULL;

    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    assert_int_equal(store_txn_begin(fx->store, true, &fx->txn), 0);
    assert_int_equal(store_get_stats(fx->txn, &stats), 0);
    assert_int_equal(stats.jobs, 2);
    assert_int_equal(stats.media, 1);
    add_job(fx->txn, 3);
    assert_int_equal(store_job_each(fx->txn, collect_job, &list), 0);
    assert_int_equal(list.count, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(media_put_get_del, setup, teardown),
        cmocka_unit_test_setup_teardown(media_id_length_limits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(media_each_in_id_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(derived_put_get, setup, teardown),
        cmocka_unit_test_setup_teardown(derived_dead_or_missing_blob_misses,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(job_ids_increase, setup, teardown),
        cmocka_unit_test_setup_teardown(job_each_in_id_order, setup, teardown),
        cmocka_unit_test_setup_teardown(job_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(job_id_not_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(job_id_unique_across_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(job_counter_behind_stored_ids, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
