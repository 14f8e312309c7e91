/* Staging, committing, reading and reference counting of blobs. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

typedef struct fixture {
    char *dir;
    store_t *store;
} fixture_t;

static int open_with(void **state, const store_options_t *opts)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, opts, &fx->store), 0);
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return open_with(state, NULL);
}

/* Small volumes, so that the concurrency test rolls many of them. */
static int setup_small_volumes(void **state)
{
    store_options_t opts = {.volume_max_bytes = 64 * 1024};

    return open_with(state, &opts);
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    store_close(fx->store);
    test_dir_remove(fx->dir);
    free(fx);
    return 0;
}

static store_blob_t get_blob(store_t *store, const kadr_hash_t *hash)
{
    store_txn_t *txn;
    store_blob_t blob;

    assert_int_equal(store_txn_begin(store, false, &txn), 0);
    assert_int_equal(store_blob_get(txn, hash, &blob), 0);
    store_txn_abort(txn);
    return blob;
}

static store_stats_t get_stats(store_t *store)
{
    store_txn_t *txn;
    store_stats_t stats;

    assert_int_equal(store_txn_begin(store, false, &txn), 0);
    assert_int_equal(store_get_stats(txn, &stats), 0);
    store_txn_abort(txn);
    return stats;
}

/* Reads a blob through its volume fd, as the engine's sendfile path
 * does, and compares it with expected. */
static void assert_blob_bytes(store_t *store, const store_blob_t *blob,
                              const uint8_t *expected)
{
    int fd = store_volume_fd(store, blob->volume_id);
    uint8_t *got = malloc(blob->length + 1);

    assert_true(fd >= 0);
    assert_non_null(got);
    assert_int_equal(pread(fd, got, blob->length, (off_t)blob->offset),
                     blob->length);
    assert_memory_equal(got, expected, blob->length);
    free(got);
}

static void blob_stage_file_round_trip(void **state)
{
    fixture_t *fx = *state;
    size_t len = 3 * 1000 * 1000;
    uint8_t *data = malloc(len);
    uint8_t *read_back;
    kadr_hash_t hash;
    store_staged_t staged;
    store_txn_t *txn;
    store_blob_t blob;
    bool deduped = true;
    int fd;

    assert_non_null(data);
    test_fill(data, len, 1);
    hash = test_hash(data, len);
    fd = test_tmp_file(fx->store, "upload", data, len);
    assert_int_equal(store_blob_stage(fx->store, fd, len, &hash, 7, &staged),
                     0);
    close(fd);
    assert_false(staged.existing);
    assert_int_equal(staged.blob.length, len);
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, &staged, &deduped), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_false(deduped);

    blob = get_blob(fx->store, &hash);
    assert_int_equal(blob.volume_id, 1);
    assert_int_equal(blob.offset, staged.blob.offset);
    assert_int_equal(blob.length, len);
    assert_int_equal(blob.refcount, 1);
    assert_int_equal(blob.format, 7);
    assert_blob_bytes(fx->store, &blob, data);

    assert_int_equal(store_blob_read(fx->store, &blob, &read_back), 0);
    assert_memory_equal(read_back, data, len);
    free(read_back);
    free(data);
}

static void blob_stage_mem_empty(void **state)
{
    fixture_t *fx = *state;
    bool deduped;
    store_staged_t staged = test_put_mem(fx->store, "", 0, &deduped);
    store_blob_t blob = get_blob(fx->store, &staged.hash);
    uint8_t *read_back;

    assert_false(deduped);
    assert_int_equal(blob.length, 0);
    assert_int_equal(blob.refcount, 1);
    assert_int_equal(store_blob_read(fx->store, &blob, &read_back), 0);
    free(read_back);
}

static void blob_same_bytes_dedup(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[5000];
    bool deduped;
    store_staged_t first;
    store_staged_t second;
    uint64_t size_after_first;
    store_stats_t stats;

    test_fill(data, sizeof(data), 2);
    first = test_put_mem(fx->store, data, sizeof(data), &deduped);
    assert_false(deduped);
    size_after_first = test_volume_size(fx->dir, 1);

    second = test_put_mem(fx->store, data, sizeof(data), &deduped);
    assert_true(deduped);
    assert_true(second.existing);
    assert_int_equal(second.blob.offset, first.blob.offset);
    assert_int_equal(test_volume_size(fx->dir, 1), size_after_first);
    assert_int_equal(get_blob(fx->store, &first.hash).refcount, 2);

    stats = get_stats(fx->store);
    assert_int_equal(stats.blobs, 1);
    assert_int_equal(stats.live_bytes, sizeof(data));
    assert_int_equal(stats.dead_bytes, 0);
}

static void blob_same_hash_other_bytes(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[4096];
    uint8_t other[4096];
    kadr_hash_t hash;
    store_staged_t staged;
    bool deduped;
    uint64_t size;
    int fd;

    test_fill(data, sizeof(data), 3);
    memcpy(other, data, sizeof(other));
    other[sizeof(other) - 1] ^= 0x01;
    hash = test_put_mem(fx->store, data, sizeof(data), &deduped).hash;
    size = test_volume_size(fx->dir, 1);

    assert_int_equal(store_blob_stage_mem(fx->store, other, sizeof(other),
                                          &hash, 1, &staged),
                     KADR_E_COLLISION);
    assert_int_equal(
        store_blob_stage_mem(fx->store, data, 100, &hash, 1, &staged),
        KADR_E_COLLISION);
    fd = test_tmp_file(fx->store, "other", other, sizeof(other));
    assert_int_equal(
        store_blob_stage(fx->store, fd, sizeof(other), &hash, 1, &staged),
        KADR_E_COLLISION);
    close(fd);
    assert_int_equal(test_volume_size(fx->dir, 1), size);
}

static void commit_with_txn(store_t *store, const store_staged_t *staged,
                            int expected_rc, bool *deduped)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, staged, deduped), expected_rc);
    if (expected_rc == 0)
        assert_int_equal(store_txn_commit(txn), 0);
    else
        store_txn_abort(txn);
}

/* Two uploads of the same bytes both staged before either commits. */
static void blob_commit_race_dedup(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[3000];
    kadr_hash_t hash;
    store_staged_t first;
    store_staged_t second;
    store_stats_t stats;
    bool deduped;

    test_fill(data, sizeof(data), 4);
    hash = test_hash(data, sizeof(data));
    assert_int_equal(
        store_blob_stage_mem(fx->store, data, sizeof(data), &hash, 1, &first),
        0);
    assert_int_equal(
        store_blob_stage_mem(fx->store, data, sizeof(data), &hash, 1, &second),
        0);
    assert_false(second.existing);
    assert_true(second.blob.offset != first.blob.offset);

    commit_with_txn(fx->store, &first, 0, &deduped);
    assert_false(deduped);
    commit_with_txn(fx->store, &second, 0, &deduped);
    assert_true(deduped);

    assert_int_equal(get_blob(fx->store, &hash).refcount, 2);
    assert_int_equal(get_blob(fx->store, &hash).offset, first.blob.offset);
    stats = get_stats(fx->store);
    assert_int_equal(stats.blobs, 1);
    assert_int_equal(stats.live_bytes, sizeof(data));
    assert_int_equal(stats.dead_bytes, sizeof(data));
}

static void blob_commit_race_collision(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[3000];
    uint8_t other[3000];
    kadr_hash_t hash;
    store_staged_t first;
    store_staged_t second;
    bool deduped;

    test_fill(data, sizeof(data), 5);
    test_fill(other, sizeof(other), 6);
    hash = test_hash(data, sizeof(data));
    assert_int_equal(
        store_blob_stage_mem(fx->store, data, sizeof(data), &hash, 1, &first),
        0);
    assert_int_equal(store_blob_stage_mem(fx->store, other, sizeof(other),
                                          &hash, 1, &second),
                     0);
    commit_with_txn(fx->store, &first, 0, &deduped);
    commit_with_txn(fx->store, &second, KADR_E_COLLISION, &deduped);
    assert_int_equal(get_blob(fx->store, &hash).refcount, 1);
}

static void ref_in_txn(store_t *store, const kadr_hash_t *hash, bool add,
                       int expected_rc)
{
    store_txn_t *txn;
    int rc;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    rc = add ? store_blob_ref(txn, hash) : store_blob_unref(txn, hash);
    assert_int_equal(rc, expected_rc);
    if (rc == 0)
        assert_int_equal(store_txn_commit(txn), 0);
    else
        store_txn_abort(txn);
}

static void blob_refcount_counters(void **state)
{
    fixture_t *fx = *state;
    uint8_t a[1000];
    uint8_t b[2500];
    kadr_hash_t hash_a;
    kadr_hash_t unknown;
    store_stats_t stats;
    bool deduped;

    test_fill(a, sizeof(a), 7);
    test_fill(b, sizeof(b), 8);
    hash_a = test_put_mem(fx->store, a, sizeof(a), &deduped).hash;
    (void)test_put_mem(fx->store, b, sizeof(b), &deduped);
    stats = get_stats(fx->store);
    assert_int_equal(stats.blobs, 2);
    assert_int_equal(stats.live_bytes, sizeof(a) + sizeof(b));
    assert_int_equal(stats.dead_bytes, 0);

    ref_in_txn(fx->store, &hash_a, true, 0);
    assert_int_equal(get_blob(fx->store, &hash_a).refcount, 2);
    ref_in_txn(fx->store, &hash_a, false, 0);
    ref_in_txn(fx->store, &hash_a, false, 0);
    assert_int_equal(get_blob(fx->store, &hash_a).refcount, 0);
    stats = get_stats(fx->store);
    assert_int_equal(stats.blobs, 1);
    assert_int_equal(stats.live_bytes, sizeof(b));
    assert_int_equal(stats.dead_bytes, sizeof(a));

    ref_in_txn(fx->store, &hash_a, false, KADR_E_BAD_INPUT);
    ref_in_txn(fx->store, &hash_a, true, 0);
    assert_int_equal(get_blob(fx->store, &hash_a).refcount, 1);
    stats = get_stats(fx->store);
    assert_int_equal(stats.blobs, 2);
    assert_int_equal(stats.live_bytes, sizeof(a) + sizeof(b));
    assert_int_equal(stats.dead_bytes, 0);

    unknown = test_hash("unknown", 7);
    ref_in_txn(fx->store, &unknown, true, KADR_E_NOT_FOUND);
    ref_in_txn(fx->store, &unknown, false, KADR_E_NOT_FOUND);
}

static void blob_dead_blob_restaged(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[1500];
    store_staged_t first;
    store_staged_t again;
    store_stats_t stats;
    bool deduped;

    test_fill(data, sizeof(data), 9);
    first = test_put_mem(fx->store, data, sizeof(data), &deduped);
    ref_in_txn(fx->store, &first.hash, false, 0);
    again = test_put_mem(fx->store, data, sizeof(data), &deduped);
    assert_true(again.existing);
    assert_true(deduped);
    assert_int_equal(get_blob(fx->store, &first.hash).refcount, 1);
    stats = get_stats(fx->store);
    assert_int_equal(stats.live_bytes, sizeof(data));
    assert_int_equal(stats.dead_bytes, 0);
}

static void blob_get_unknown_hash(void **state)
{
    fixture_t *fx = *state;
    kadr_hash_t hash = test_hash("absent", 6);
    store_txn_t *txn;
    store_blob_t blob;

    assert_int_equal(store_txn_begin(fx->store, false, &txn), 0);
    assert_int_equal(store_blob_get(txn, &hash, &blob), KADR_E_NOT_FOUND);
    store_txn_abort(txn);
}

#define THREADS 4
#define BLOBS_PER_THREAD 50

typedef struct worker {
    pthread_t thread;
    store_t *store;
    uint32_t index;
    int failures;
    int first_error;
} worker_t;

static size_t worker_blob_len(uint32_t seed)
{
    return 1000 + (seed * 7919) % 9000;
}

static int stage_and_commit(store_t *store, uint32_t seed)
{
    uint8_t data[10000];
    size_t len = worker_blob_len(seed);
    kadr_hash_t hash;
    store_staged_t staged;
    store_txn_t *txn;
    bool deduped;
    int rc;

    test_fill(data, len, seed);
    hash = test_hash(data, len);
    rc = store_blob_stage_mem(store, data, len, &hash, 1, &staged);
    if (rc != 0)
        return rc;
    rc = store_txn_begin(store, true, &txn);
    if (rc != 0)
        return rc;
    rc = store_blob_commit(txn, &staged, &deduped);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

static void *worker_run(void *arg)
{
    worker_t *w = arg;

    for (uint32_t i = 0; i < BLOBS_PER_THREAD; i++) {
        int rc = stage_and_commit(w->store, 1000 + w->index * 100 + i);

        if (rc != 0 && w->failures++ == 0)
            w->first_error = rc;
    }
    return NULL;
}

static void assert_seed_stored(store_t *store, uint32_t seed)
{
    uint8_t data[10000];
    size_t len = worker_blob_len(seed);
    kadr_hash_t hash;
    store_blob_t blob;
    uint8_t *read_back;

    test_fill(data, len, seed);
    hash = test_hash(data, len);
    blob = get_blob(store, &hash);
    assert_int_equal(blob.refcount, 1);
    assert_int_equal(blob.length, len);
    assert_blob_bytes(store, &blob, data);
    assert_int_equal(store_blob_read(store, &blob, &read_back), 0);
    assert_memory_equal(read_back, data, len);
    free(read_back);
}

static void blob_concurrent_stage_commit(void **state)
{
    fixture_t *fx = *state;
    worker_t workers[THREADS];
    uint64_t total = 0;
    store_stats_t stats;

    for (uint32_t t = 0; t < THREADS; t++) {
        workers[t] = (worker_t){.store = fx->store, .index = t};
        assert_int_equal(
            pthread_create(&workers[t].thread, NULL, worker_run, &workers[t]),
            0);
    }
    for (uint32_t t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(workers[t].thread, NULL), 0);
        assert_int_equal(workers[t].first_error, 0);
        assert_int_equal(workers[t].failures, 0);
    }
    for (uint32_t t = 0; t < THREADS; t++) {
        for (uint32_t i = 0; i < BLOBS_PER_THREAD; i++) {
            uint32_t seed = 1000 + t * 100 + i;

            assert_seed_stored(fx->store, seed);
            total += worker_blob_len(seed);
        }
    }
    stats = get_stats(fx->store);
    assert_int_equal(stats.blobs, THREADS * BLOBS_PER_THREAD);
    assert_int_equal(stats.live_bytes, total);
    assert_int_equal(stats.dead_bytes, 0);
    assert_true(stats.volumes > 1);
}

static void blob_bad_arguments(void **state)
{
    fixture_t *fx = *state;
    kadr_hash_t hash = test_hash("x", 1);
    store_staged_t staged;

    assert_int_equal(store_blob_stage(fx->store, -1, 1, &hash, 1, &staged),
                     KADR_E_BAD_INPUT);
    assert_int_equal(
        store_blob_stage_mem(fx->store, NULL, 1, &hash, 1, &staged),
        KADR_E_BAD_INPUT);
}

/* A file shorter than the length given to stage. */
static void blob_stage_short_file(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[100];
    kadr_hash_t hash;
    store_staged_t staged;
    uint64_t size = test_volume_size(fx->dir, 1);
    int fd;

    test_fill(data, sizeof(data), 10);
    hash = test_hash(data, sizeof(data));
    fd = test_tmp_file(fx->store, "short", data, sizeof(data));
    assert_int_equal(store_blob_stage(fx->store, fd, 200, &hash, 1, &staged),
                     KADR_E_CORRUPT);
    close(fd);
    assert_int_equal(test_volume_size(fx->dir, 1), size);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(blob_stage_file_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blob_stage_mem_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(blob_same_bytes_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(blob_same_hash_other_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blob_commit_race_dedup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blob_commit_race_collision, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blob_refcount_counters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blob_dead_blob_restaged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blob_get_unknown_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(blob_concurrent_stage_commit,
                                        setup_small_volumes, teardown),
        cmocka_unit_test_setup_teardown(blob_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(blob_stage_short_file, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
