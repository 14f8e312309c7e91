/* Compaction: live needles move, dead ones go, readers of old locations
 * keep working, and a crash at any step leaves a consistent store. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

#define BLOB_COUNT 12
#define BLOB_BYTES 3000

typedef struct fixture {
    char *dir;
    store_t *store;
    uint8_t data[BLOB_COUNT][BLOB_BYTES];
    kadr_hash_t hashes[BLOB_COUNT];
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    for (int i = 0; i < BLOB_COUNT; i++) {
        test_fill(fx->data[i], BLOB_BYTES, 700 + (uint32_t)i);
        fx->hashes[i] = test_hash(fx->data[i], BLOB_BYTES);
    }
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

static void unref(store_t *store, const kadr_hash_t *hash)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_blob_unref(txn, hash), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

/* Puts every blob, then unreferences the odd ones. */
static void put_half_dead(fixture_t *fx)
{
    bool deduped;

    for (int i = 0; i < BLOB_COUNT; i++)
        (void)test_put_mem(fx->store, fx->data[i], BLOB_BYTES, &deduped);
    for (int i = 1; i < BLOB_COUNT; i += 2)
        unref(fx->store, &fx->hashes[i]);
}

static void check_blob_bytes(store_t *store, const kadr_hash_t *hash,
                             const uint8_t *expected)
{
    store_blob_t blob;
    uint8_t *data;

    assert_int_equal(test_lookup(store, hash, &blob), 0);
    assert_int_equal(store_blob_read(store, &blob, &data), 0);
    assert_memory_equal(data, expected, BLOB_BYTES);
    free(data);
}

/* Live blobs read back, dead ones are gone from the index. */
static void check_after_compaction(fixture_t *fx)
{
    store_blob_t blob;

    for (int i = 0; i < BLOB_COUNT; i += 2)
        check_blob_bytes(fx->store, &fx->hashes[i], fx->data[i]);
    for (int i = 1; i < BLOB_COUNT; i += 2)
        assert_int_equal(test_lookup(fx->store, &fx->hashes[i], &blob),
                         KADR_E_NOT_FOUND);
}

static bool file_exists(const char *dir, uint32_t id)
{
    char *path = test_volume_path(dir, id);
    struct stat st;
    bool exists = stat(path, &st) == 0;

    free(path);
    return exists;
}

static void compact_moves_live_drops_dead(void **state)
{
    fixture_t *fx = *state;
    store_compact_result_t result;
    store_blob_t blob;
    store_stats_t st;

    put_half_dead(fx);
    assert_true(test_stats(fx->store).dead_bytes > 0);
    assert_int_equal(store_compact_volume(fx->store, 1, &result), 0);
    assert_int_equal(result.volume_id, 1);
    assert_int_equal(result.blobs_moved, BLOB_COUNT / 2);
    assert_int_equal(result.blobs_dropped, BLOB_COUNT / 2);
    check_after_compaction(fx);
    assert_int_equal(test_lookup(fx->store, &fx->hashes[0], &blob), 0);
    assert_int_not_equal(blob.volume_id, 1);
    assert_int_equal(blob.refcount, 1);
    assert_false(file_exists(fx->dir, 1));
    st = test_stats(fx->store);
    assert_int_equal(st.dead_bytes, 0);
    assert_int_equal(st.blobs, BLOB_COUNT / 2);
    assert_int_equal(st.volumes, 1);
}

static void compact_survives_reopen(void **state)
{
    fixture_t *fx = *state;

    put_half_dead(fx);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    check_after_compaction(fx);
    assert_false(file_exists(fx->dir, 1));
}

/* A reader that looked the old location up just before the switch still
 * reads the right bytes through the old volume's fd. */
static void compact_old_location_still_reads(void **state)
{
    fixture_t *fx = *state;
    store_blob_t before;
    uint8_t *data;

    put_half_dead(fx);
    assert_int_equal(test_lookup(fx->store, &fx->hashes[2], &before), 0);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    assert_int_equal(before.volume_id, 1);
    assert_true(store_volume_fd(fx->store, 1) >= 0);
    assert_int_equal(store_blob_read(fx->store, &before, &data), 0);
    assert_memory_equal(data, fx->data[2], BLOB_BYTES);
    free(data);
}

/* A needle staged before the compaction and committed after it is copied
 * out of the retired volume at commit. */
static void compact_then_commit_staged(void **state)
{
    fixture_t *fx = *state;
    uint8_t late[BLOB_BYTES];
    kadr_hash_t hash;
    store_staged_t staged;
    store_blob_t blob;
    store_txn_t *txn;
    bool deduped;

    put_half_dead(fx);
    test_fill(late, sizeof(late), 799);
    hash = test_hash(late, sizeof(late));
    assert_int_equal(
        store_blob_stage_mem(fx->store, late, sizeof(late), &hash, 1, &staged),
        0);
    assert_int_equal(staged.blob.volume_id, 1);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, &staged, &deduped), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_false(deduped);
    assert_int_equal(test_lookup(fx->store, &hash, &blob), 0);
    assert_int_not_equal(blob.volume_id, 1);
    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    check_blob_bytes(fx->store, &hash, late);
}

/* A dead blob that an upload found before compaction dropped it comes
 * back as a new blob. */
static void compact_then_commit_revived_dead(void **state)
{
    fixture_t *fx = *state;
    store_staged_t staged;
    store_blob_t blob;
    store_txn_t *txn;
    bool deduped;

    put_half_dead(fx);
    assert_int_equal(store_blob_stage_mem(fx->store, fx->data[1], BLOB_BYTES,
                                          &fx->hashes[1], 1, &staged),
                     0);
    assert_true(staged.existing);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, &staged, &deduped), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_int_equal(test_lookup(fx->store, &fx->hashes[1], &blob), 0);
    assert_int_equal(blob.refcount, 1);
    check_blob_bytes(fx->store, &fx->hashes[1], fx->data[1]);
}

static void compact_by_ratio(void **state)
{
    fixture_t *fx = *state;
    bool deduped;

    for (int i = 0; i < BLOB_COUNT; i++)
        (void)test_put_mem(fx->store, fx->data[i], BLOB_BYTES, &deduped);
    unref(fx->store, &fx->hashes[0]);
    /* One dead blob in twelve is under a 50 % ratio. */
    assert_int_equal(store_compact(fx->store, 0.5, NULL, NULL), 0);
    assert_true(file_exists(fx->dir, 1));
    assert_int_equal(store_compact(fx->store, 0.01, NULL, NULL), 1);
    assert_false(file_exists(fx->dir, 1));
}

static void compact_needs_writer(void **state)
{
    fixture_t *fx = *state;
    store_options_t opts = {.read_only = true};
    store_t *reader;

    put_half_dead(fx);
    assert_int_equal(store_open(fx->dir, &opts, &reader), 0);
    assert_int_equal(store_compact_volume(reader, 1, NULL), KADR_E_BAD_INPUT);
    store_close(reader);
    assert_int_equal(store_compact_volume(fx->store, 99, NULL),
                     KADR_E_NOT_FOUND);
}

/* Runs a compaction in a child process that aborts right after step. */
static void crash_child(const char *dir, int step)
{
    store_options_t opts = {.compact_abort_after = step};
    store_t *store;
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        if (store_open(dir, &opts, &store) != 0)
            _exit(3);
        if (store_compact_volume(store, 1, NULL) != 0)
            _exit(5);
        _exit(4); /* the hook did not fire */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static int count_bad(void *ctx, const kadr_hash_t *hash,
                     const store_blob_t *blob, int code)
{
    (void)hash;
    (void)blob;
    (void)code;
    (*(int *)ctx)++;
    return 0;
}

static void check_consistent(store_t *store)
{
    store_verify_cursor_t cursor = {0};
    store_volume_info_t *list;
    size_t count;
    int bad = 0;

    while (!cursor.done)
        assert_int_equal(
            store_verify_step(store, &cursor, 1 << 20, count_bad, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(store_volume_list(store, &list, &count), 0);
    for (size_t i = 0; i < count; i++) {
        uint64_t end = list[i].indexed_end > 16 ? list[i].indexed_end : 16;

        assert_true(list[i].file_bytes <= end);
    }
    free(list);
}

static void compact_crash_at_each_step(void **state)
{
    fixture_t *fx = *state;

    put_half_dead(fx);
    store_close(fx->store);
    fx->store = NULL;
    for (int step = STORE_COMPACT_MARKED; step <= STORE_COMPACT_UNLINKED;
         step++) {
        char *copy = test_dir_make();
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "cp -a %s/. %s/", fx->dir, copy);
        assert_int_equal(system(cmd), 0);
        crash_child(copy, step);
        assert_int_equal(store_open(copy, NULL, &fx->store), 0);
        for (int i = 0; i < BLOB_COUNT; i += 2)
            check_blob_bytes(fx->store, &fx->hashes[i], fx->data[i]);
        assert_int_equal(file_exists(copy, 1), step < STORE_COMPACT_SWITCHED);
        check_consistent(fx->store);
        /* A compaction after the crash finishes the work. */
        if (step < STORE_COMPACT_SWITCHED)
            assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
        check_after_compaction(fx);
        check_consistent(fx->store);
        store_close(fx->store);
        fx->store = NULL;
        test_dir_remove(copy);
    }
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
}

#define READER_THREADS 3

struct race {
    fixture_t *fx;
    atomic_bool stop;
    atomic_int reads;
    atomic_int failures;
};

static void *read_loop(void *arg)
{
    struct race *r = arg;

    while (!atomic_load(&r->stop)) {
        for (int i = 0; i < BLOB_COUNT; i += 2) {
            store_blob_t blob;
            uint8_t *data;

            if (test_lookup(r->fx->store, &r->fx->hashes[i], &blob) != 0 ||
                store_blob_read(r->fx->store, &blob, &data) != 0) {
                atomic_fetch_add(&r->failures, 1);
                continue;
            }
            if (memcmp(data, r->fx->data[i], BLOB_BYTES) != 0)
                atomic_fetch_add(&r->failures, 1);
            free(data);
            atomic_fetch_add(&r->reads, 1);
        }
    }
    return NULL;
}

/* Readers check bytes while new blobs arrive and volumes are compacted
 * again and again. */
static void compact_while_reading(void **state)
{
    fixture_t *fx = *state;
    struct race r = {.fx = fx};
    pthread_t threads[READER_THREADS];
    bool deduped;

    put_half_dead(fx);
    for (int t = 0; t < READER_THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, read_loop, &r), 0);
    for (int round = 0; round < 20; round++) {
        uint8_t extra[BLOB_BYTES];
        kadr_hash_t hash;

        test_fill(extra, sizeof(extra), 900 + (uint32_t)round);
        hash = test_hash(extra, sizeof(extra));
        (void)test_put_mem(fx->store, extra, sizeof(extra), &deduped);
        unref(fx->store, &hash);
        assert_true(store_compact(fx->store, 0.0, NULL, NULL) >= 1);
    }
    atomic_store(&r.stop, true);
    for (int t = 0; t < READER_THREADS; t++)
        pthread_join(threads[t], NULL);
    assert_int_equal(atomic_load(&r.failures), 0);
    assert_true(atomic_load(&r.reads) > 0);
    check_after_compaction(fx);
    check_consistent(fx->store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(compact_moves_live_drops_dead, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compact_survives_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compact_old_location_still_reads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compact_then_commit_staged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compact_then_commit_revived_dead, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compact_by_ratio, setup, teardown),
        cmocka_unit_test_setup_teardown(compact_needs_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(compact_crash_at_each_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compact_while_reading, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
