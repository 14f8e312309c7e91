/* Shared blobs: a blob stays readable until its last reference goes, its
 * bytes are then counted dead, and the disk reserve stops new needles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support.h"

#define BLOB_BYTES 4096

typedef struct fixture {
    char *dir;
    store_t *store;
    uint8_t data[BLOB_BYTES];
    kadr_hash_t hash;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    test_fill(fx->data, sizeof(fx->data), 41);
    fx->hash = test_hash(fx->data, sizeof(fx->data));
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

static store_blob_t get_blob(store_t *store, const kadr_hash_t *hash)
{
    store_blob_t blob;

    assert_int_equal(test_lookup(store, hash, &blob), 0);
    return blob;
}

static void change_ref(store_t *store, const kadr_hash_t *hash, bool add)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    if (add)
        assert_int_equal(store_blob_ref(txn, hash), 0);
    else
        assert_int_equal(store_blob_unref(txn, hash), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

static void check_readable(fixture_t *fx)
{
    store_blob_t blob = get_blob(fx->store, &fx->hash);
    uint8_t *data;

    assert_int_equal(store_blob_read(fx->store, &blob, &data), 0);
    assert_memory_equal(data, fx->data, BLOB_BYTES);
    free(data);
}

/* Two uploads of the same original share one blob. */
static void refs_shared_original(void **state)
{
    fixture_t *fx = *state;
    bool deduped;

    (void)test_put_mem(fx->store, fx->data, BLOB_BYTES, &deduped);
    assert_false(deduped);
    (void)test_put_mem(fx->store, fx->data, BLOB_BYTES, &deduped);
    assert_true(deduped);
    assert_int_equal(get_blob(fx->store, &fx->hash).refcount, 2);
    assert_int_equal(test_stats(fx->store).live_bytes, BLOB_BYTES);
    change_ref(fx->store, &fx->hash, false);
    assert_int_equal(get_blob(fx->store, &fx->hash).refcount, 1);
    check_readable(fx);
    assert_int_equal(test_stats(fx->store).dead_bytes, 0);
    change_ref(fx->store, &fx->hash, false);
    assert_int_equal(get_blob(fx->store, &fx->hash).refcount, 0);
    assert_int_equal(test_stats(fx->store).dead_bytes, BLOB_BYTES);
    assert_int_equal(test_stats(fx->store).live_bytes, 0);
    assert_int_equal(test_stats(fx->store).blobs, 0);
}

/* Two media whose variants are equal hold one reference each, as the
 * derivation cache hands the second one the first one's blob. */
static void refs_shared_variant(void **state)
{
    fixture_t *fx = *state;
    store_txn_t *txn;
    bool deduped;

    (void)test_put_mem(fx->store, fx->data, BLOB_BYTES, &deduped);
    change_ref(fx->store, &fx->hash, true);
    change_ref(fx->store, &fx->hash, true);
    assert_int_equal(get_blob(fx->store, &fx->hash).refcount, 3);
    change_ref(fx->store, &fx->hash, false);
    change_ref(fx->store, &fx->hash, false);
    check_readable(fx);
    change_ref(fx->store, &fx->hash, false);
    assert_int_equal(test_stats(fx->store).dead_bytes, BLOB_BYTES);
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_unref(txn, &fx->hash), KADR_E_BAD_INPUT);
    store_txn_abort(txn);
}

/* The last reference gone, compaction reclaims the bytes. */
static void refs_dead_blob_compacted(void **state)
{
    fixture_t *fx = *state;
    store_blob_t blob;
    bool deduped;

    (void)test_put_mem(fx->store, fx->data, BLOB_BYTES, &deduped);
    change_ref(fx->store, &fx->hash, false);
    assert_int_equal(store_compact(fx->store, 0.0, NULL, NULL), 1);
    assert_int_equal(test_stats(fx->store).dead_bytes, 0);
    assert_int_equal(test_lookup(fx->store, &fx->hash, &blob),
                     KADR_E_NOT_FOUND);
}

static void refs_reserve_rejects_append(void **state)
{
    fixture_t *fx = *state;
    store_options_t opts = {.reserve_bytes = UINT64_MAX / 2};
    store_staged_t staged;
    uint64_t size_before;
    bool deduped;

    (void)test_put_mem(fx->store, fx->data, BLOB_BYTES, &deduped);
    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, &opts, &fx->store), 0);
    size_before = test_volume_size(fx->dir, 1);
    {
        uint8_t other[BLOB_BYTES];
        kadr_hash_t hash;

        test_fill(other, sizeof(other), 42);
        hash = test_hash(other, sizeof(other));
        assert_int_equal(store_blob_stage_mem(fx->store, other, sizeof(other),
                                              &hash, 1, &staged),
                         KADR_E_DISK_FULL);
    }
    assert_int_equal(test_volume_size(fx->dir, 1), size_before);
    /* A dedup hit writes nothing, so the reserve does not stop it. */
    assert_int_equal(store_blob_stage_mem(fx->store, fx->data, BLOB_BYTES,
                                          &fx->hash, 1, &staged),
                     0);
    assert_true(staged.existing);
}

static void set_refcount(store_t *store, const kadr_hash_t *hash,
                         uint32_t refcount)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_blob_set_refcount(txn, hash, refcount), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

/* Repairing a refcount moves the blob between live and dead. */
static void refs_set_refcount(void **state)
{
    fixture_t *fx = *state;
    bool deduped;

    (void)test_put_mem(fx->store, fx->data, BLOB_BYTES, &deduped);
    set_refcount(fx->store, &fx->hash, 3);
    assert_int_equal(get_blob(fx->store, &fx->hash).refcount, 3);
    assert_int_equal(test_stats(fx->store).live_bytes, BLOB_BYTES);
    set_refcount(fx->store, &fx->hash, 0);
    assert_int_equal(test_stats(fx->store).live_bytes, 0);
    assert_int_equal(test_stats(fx->store).dead_bytes, BLOB_BYTES);
    assert_int_equal(test_stats(fx->store).blobs, 0);
    set_refcount(fx->store, &fx->hash, 1);
    assert_int_equal(test_stats(fx->store).live_bytes, BLOB_BYTES);
    assert_int_equal(test_stats(fx->store).dead_bytes, 0);
    assert_int_equal(test_stats(fx->store).blobs, 1);
    check_readable(fx);
}

/* Grace time of the retired volumes in the pin tests, in milliseconds:
 * a pinned volume stays open for up to 60 times as long. */
#define GRACE_MS 20

static void reopen_with_grace(fixture_t *fx)
{
    store_options_t opts = {.retired_grace_ms = GRACE_MS};

    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, &opts, &fx->store), 0);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Stages fx->data in the active volume, then compacts that volume (its
 * committed blob moves, the staged needle stays behind) and, past the
 * grace time, the next volume, which drops every retired volume that is
 * not pinned. */
static store_staged_t stage_then_compact_twice(fixture_t *fx, unsigned wait_ms)
{
    uint8_t first[100];
    store_staged_t staged;
    bool deduped;

    test_fill(first, sizeof(first), 43);
    (void)test_put_mem(fx->store, first, sizeof(first), &deduped);
    assert_int_equal(store_blob_stage_mem(fx->store, fx->data, BLOB_BYTES,
                                          &fx->hash, 1, &staged),
                     0);
    assert_int_equal(staged.blob.volume_id, 1);
    assert_true(staged.pinned);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    sleep_ms(wait_ms);
    assert_int_equal(store_compact_volume(fx->store, 2, NULL), 0);
    return staged;
}

/* A compacted volume is closed past its grace time without another
 * compaction, so its unlinked file gives its space back. */
static void refs_retired_volume_closed_without_compaction(void **state)
{
    fixture_t *fx = *state;
    bool deduped;

    reopen_with_grace(fx);
    (void)test_put_mem(fx->store, fx->data, BLOB_BYTES, &deduped);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    store_close_retired(fx->store);
    /* Within the grace time, readers that looked the fd up may still
     * use it. */
    assert_true(store_volume_fd(fx->store, 1) >= 0);
    sleep_ms(2 * GRACE_MS);
    store_close_retired(fx->store);
    assert_int_equal(store_volume_fd(fx->store, 1), KADR_E_NOT_FOUND);
    assert_int_equal(get_blob(fx->store, &fx->hash).volume_id, 2);
    check_readable(fx);
}

/* A staged needle committed after two compactions, the second past the
 * grace time: its pin kept the retired volume open for the copy. */
static void refs_late_commit_after_two_compactions(void **state)
{
    fixture_t *fx = *state;
    store_staged_t staged;
    store_blob_t blob;
    store_txn_t *txn;
    bool deduped = true;

    reopen_with_grace(fx);
    staged = stage_then_compact_twice(fx, 2 * GRACE_MS);
    assert_true(store_volume_fd(fx->store, 1) >= 0);
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, &staged, &deduped), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_false(deduped);
    blob = get_blob(fx->store, &fx->hash);
    assert_int_equal(blob.volume_id, 3);
    assert_int_equal(blob.refcount, 1);
    check_readable(fx);
    /* The commit released the pin: the next compaction closes volume 1. */
    sleep_ms(2 * GRACE_MS);
    assert_int_equal(store_compact_volume(fx->store, 3, NULL), 0);
    assert_int_equal(store_volume_fd(fx->store, 1), KADR_E_NOT_FOUND);
    check_readable(fx);
}

/* A released staged needle no longer holds its volume open. */
static void refs_released_stage_unpins(void **state)
{
    fixture_t *fx = *state;
    uint8_t first[100];
    store_staged_t staged;
    bool deduped;

    reopen_with_grace(fx);
    test_fill(first, sizeof(first), 44);
    (void)test_put_mem(fx->store, first, sizeof(first), &deduped);
    assert_int_equal(store_blob_stage_mem(fx->store, fx->data, BLOB_BYTES,
                                          &fx->hash, 1, &staged),
                     0);
    store_staged_release(fx->store, &staged);
    assert_false(staged.pinned);
    store_staged_release(fx->store, &staged);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    sleep_ms(2 * GRACE_MS);
    assert_int_equal(store_compact_volume(fx->store, 2, NULL), 0);
    assert_int_equal(store_volume_fd(fx->store, 1), KADR_E_NOT_FOUND);
}

/* Releasing a needle that its commit released already leaves the pin of
 * another needle of the same volume in place. */
static void refs_release_after_commit_is_noop(void **state)
{
    fixture_t *fx = *state;
    uint8_t other[BLOB_BYTES];
    kadr_hash_t other_hash;
    store_staged_t committed;
    store_staged_t waiting;
    store_txn_t *txn;
    bool deduped;

    reopen_with_grace(fx);
    test_fill(other, sizeof(other), 45);
    other_hash = test_hash(other, sizeof(other));
    assert_int_equal(store_blob_stage_mem(fx->store, other, sizeof(other),
                                          &other_hash, 1, &committed),
                     0);
    assert_int_equal(store_blob_stage_mem(fx->store, fx->data, BLOB_BYTES,
                                          &fx->hash, 1, &waiting),
                     0);
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, &committed, &deduped), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    store_staged_release(fx->store, &committed);
    store_staged_release(fx->store, &committed);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    sleep_ms(2 * GRACE_MS);
    assert_int_equal(store_compact_volume(fx->store, 2, NULL), 0);
    assert_true(store_volume_fd(fx->store, 1) >= 0);
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, &waiting, &deduped), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    check_readable(fx);
}

/* A pin never released holds a retired volume for 60 grace times at
 * most. A commit after that fails and indexes nothing. */
static void refs_forgotten_pin_expires(void **state)
{
    fixture_t *fx = *state;
    store_staged_t staged;
    store_blob_t blob;
    store_txn_t *txn;
    bool deduped;

    reopen_with_grace(fx);
    staged = stage_then_compact_twice(fx, 61 * GRACE_MS);
    assert_int_equal(store_volume_fd(fx->store, 1), KADR_E_NOT_FOUND);
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, &staged, &deduped),
                     KADR_E_NOT_FOUND);
    store_txn_abort(txn);
    assert_int_equal(test_lookup(fx->store, &fx->hash, &blob),
                     KADR_E_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(refs_shared_original, setup, teardown),
        cmocka_unit_test_setup_teardown(refs_shared_variant, setup, teardown),
        cmocka_unit_test_setup_teardown(refs_dead_blob_compacted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refs_reserve_rejects_append, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refs_set_refcount, setup, teardown),
        cmocka_unit_test_setup_teardown(
            refs_retired_volume_closed_without_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(refs_late_commit_after_two_compactions,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(refs_released_stage_unpins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refs_release_after_commit_is_noop,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(refs_forgotten_pin_expires, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
