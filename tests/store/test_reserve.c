/* Reservations: a payload written into its needle as it arrives, then
 * staged, deduplicated or given back, beside compactions and reopens. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"

/* Needle layout constants, as docs/STORAGE.md gives them. */
#define HEADER_BYTES 32
#define VOLUME_HEADER_BYTES 16
#define PIECE_BYTES 300000

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

static uint64_t needle_bytes(uint64_t len)
{
    return (HEADER_BYTES + len + 16 + 7) / 8 * 8;
}

/* Writes data into res in pieces, as an upload's buffers arrive. */
static void write_all(store_reservation_t *res, const uint8_t *data, size_t len)
{
    size_t done = 0;

    while (done < len) {
        size_t n = len - done < PIECE_BYTES ? len - done : PIECE_BYTES;

        assert_int_equal(store_reservation_write(res, data + done, n), 0);
        done += n;
    }
    assert_int_equal(res->written, len);
}

static void commit(store_t *store, store_staged_t *staged, bool *deduped)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, staged, deduped), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

static void assert_blob_bytes(store_t *store, const kadr_hash_t *hash,
                              const uint8_t *want, size_t len)
{
    store_blob_t blob;
    uint8_t *data;

    assert_int_equal(test_lookup(store, hash, &blob), 0);
    assert_int_equal(blob.length, len);
    assert_int_equal(store_blob_read(store, &blob, &data), 0);
    assert_memory_equal(data, want, len);
    free(data);
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

static void assert_verify_clean(store_t *store)
{
    store_verify_cursor_t cursor;
    int bad = 0;

    memset(&cursor, 0, sizeof(cursor));
    while (!cursor.done)
        assert_int_equal(
            store_verify_step(store, &cursor, 1 << 20, count_bad, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(cursor.errors, 0);
}

static uint8_t *make_data(size_t len, uint32_t seed)
{
    uint8_t *data = malloc(len);

    assert_non_null(data);
    test_fill(data, len, seed);
    return data;
}

static void reserve_stage_round_trip(void **state)
{
    fixture_t *fx = *state;
    size_t len = 3 * 1000 * 1000 + 5;
    uint8_t *data = make_data(len, 1);
    kadr_hash_t hash = test_hash(data, len);
    store_reservation_t res;
    store_staged_t staged;
    bool deduped = true;

    assert_int_equal(store_reserve(fx->store, len, &res), 0);
    assert_int_equal(res.volume_id, 1);
    assert_int_equal(res.needle_offset, VOLUME_HEADER_BYTES);
    write_all(&res, data, len);
    /* Writeback starts after every 1 MiB written: after pieces 4 and 8. */
    assert_int_equal(res.flushed, 8 * PIECE_BYTES);
    assert_int_equal(
        store_blob_stage_reserved(fx->store, &res, &hash, 9, &staged), 0);
    assert_int_equal(res.fd, -1);
    assert_false(staged.existing);
    assert_true(staged.pinned);
    assert_int_equal(staged.blob.offset, VOLUME_HEADER_BYTES + HEADER_BYTES);
    assert_int_equal(staged.blob.length, len);
    commit(fx->store, &staged, &deduped);
    assert_false(deduped);
    assert_int_equal(test_volume_size(fx->dir, 1),
                     VOLUME_HEADER_BYTES + needle_bytes(len));
    assert_blob_bytes(fx->store, &hash, data, len);
    assert_verify_clean(fx->store);
    free(data);
}

/* Bytes stored already: the reservation goes back and the blob gains a
 * reference. */
static void reserve_dedup_gives_back(void **state)
{
    fixture_t *fx = *state;
    size_t len = 100000;
    uint8_t *data = make_data(len, 2);
    kadr_hash_t hash = test_hash(data, len);
    store_reservation_t res;
    store_staged_t staged;
    store_blob_t blob;
    uint64_t size;
    bool deduped = false;

    test_put_mem(fx->store, data, len, &deduped);
    size = test_volume_size(fx->dir, 1);
    assert_int_equal(store_reserve(fx->store, len, &res), 0);
    write_all(&res, data, len);
    assert_int_equal(
        store_blob_stage_reserved(fx->store, &res, &hash, 1, &staged), 0);
    assert_true(staged.existing);
    assert_false(staged.pinned);
    assert_int_equal(res.fd, -1);
    assert_int_equal(test_volume_size(fx->dir, 1), size);
    commit(fx->store, &staged, &deduped);
    assert_true(deduped);
    assert_int_equal(test_lookup(fx->store, &hash, &blob), 0);
    assert_int_equal(blob.refcount, 2);
    free(data);
}

static void reserve_collision_gives_back(void **state)
{
    fixture_t *fx = *state;
    size_t len = 5000;
    uint8_t *data = make_data(len, 3);
    uint8_t *other = make_data(len, 4);
    kadr_hash_t hash = test_hash(data, len);
    store_reservation_t res;
    store_staged_t staged;
    uint64_t size;
    bool deduped;

    test_put_mem(fx->store, data, len, &deduped);
    size = test_volume_size(fx->dir, 1);
    assert_int_equal(store_reserve(fx->store, len, &res), 0);
    write_all(&res, other, len);
    assert_int_equal(
        store_blob_stage_reserved(fx->store, &res, &hash, 1, &staged),
        KADR_E_COLLISION);
    assert_int_equal(res.fd, -1);
    assert_int_equal(test_volume_size(fx->dir, 1), size);
    free(data);
    free(other);
}

static void reserve_short_write_rejected(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[1000];
    kadr_hash_t hash;
    store_reservation_t res;
    store_staged_t staged;

    test_fill(data, sizeof(data), 5);
    hash = test_hash(data, sizeof(data));
    assert_int_equal(store_reserve(fx->store, sizeof(data), &res), 0);
    assert_int_equal(store_reservation_write(&res, data, 999), 0);
    assert_int_equal(
        store_blob_stage_reserved(fx->store, &res, &hash, 1, &staged),
        KADR_E_BAD_INPUT);
    assert_int_equal(res.fd, -1);
    assert_int_equal(test_volume_size(fx->dir, 1), VOLUME_HEADER_BYTES);
    assert_int_equal(test_lookup(fx->store, &hash, &(store_blob_t){0}),
                     KADR_E_NOT_FOUND);
}

static void reserve_write_past_length(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[100] = {0};
    store_reservation_t res;

    assert_int_equal(store_reserve(fx->store, 99, &res), 0);
    assert_int_equal(store_reservation_write(&res, data, 100),
                     KADR_E_TOO_LARGE);
    assert_int_equal(store_reservation_write(&res, data, 99), 0);
    assert_int_equal(store_reservation_write(&res, data, 1), KADR_E_TOO_LARGE);
    store_reservation_cancel(fx->store, &res);
    assert_int_equal(res.fd, -1);
    store_reservation_cancel(fx->store, &res);
}

/* A reservation at the tail of the volume is cut off the file. */
static void reserve_cancel_tail(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[4096];
    store_reservation_t res;

    test_fill(data, sizeof(data), 6);
    assert_int_equal(store_reserve(fx->store, sizeof(data), &res), 0);
    assert_int_equal(store_reservation_write(&res, data, sizeof(data)), 0);
    assert_int_equal(test_volume_size(fx->dir, 1),
                     VOLUME_HEADER_BYTES + HEADER_BYTES + sizeof(data));
    store_reservation_cancel(fx->store, &res);
    assert_int_equal(test_volume_size(fx->dir, 1), VOLUME_HEADER_BYTES);
}

static uint8_t *read_volume(const char *dir, uint32_t id, uint64_t off,
                            size_t len)
{
    char *path = test_volume_path(dir, id);
    uint8_t *buf = malloc(len);
    int fd = open(path, O_RDONLY);

    assert_non_null(buf);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
    free(path);
    return buf;
}

static store_volume_info_t volume_info(store_t *store, uint32_t id)
{
    store_volume_info_t *list;
    store_volume_info_t info = {0};
    size_t count;

    assert_int_equal(store_volume_list(store, &list, &count), 0);
    for (size_t i = 0; i < count; i++) {
        if (list[i].id == id)
            info = list[i];
    }
    free(list);
    assert_int_equal(info.id, id);
    return info;
}

/* A reservation given back below a later needle leaves a gap of zeros.
 * The volume list counts it as dead bytes, and compaction drops it. */
static void reserve_cancel_gap_compacted(void **state)
{
    fixture_t *fx = *state;
    size_t len = 1 << 20;
    uint8_t *gap_data = make_data(len, 7);
    uint8_t *kept_data = make_data(len, 8);
    kadr_hash_t kept_hash = test_hash(kept_data, len);
    store_reservation_t gap;
    store_reservation_t kept;
    store_staged_t staged;
    store_volume_info_t info;
    uint8_t *bytes;
    uint8_t zeros[4096] = {0};
    bool deduped;

    assert_int_equal(store_reserve(fx->store, len, &gap), 0);
    assert_int_equal(store_reserve(fx->store, len, &kept), 0);
    write_all(&gap, gap_data, len);
    write_all(&kept, kept_data, len);
    store_reservation_cancel(fx->store, &gap);
    assert_int_equal(
        store_blob_stage_reserved(fx->store, &kept, &kept_hash, 1, &staged), 0);
    commit(fx->store, &staged, &deduped);

    assert_int_equal(test_volume_size(fx->dir, 1),
                     VOLUME_HEADER_BYTES + 2 * needle_bytes(len));
    bytes = read_volume(fx->dir, 1, VOLUME_HEADER_BYTES + 8192, sizeof(zeros));
    assert_memory_equal(bytes, zeros, sizeof(zeros));
    free(bytes);
    info = volume_info(fx->store, 1);
    assert_int_equal(info.live_blobs, 1);
    assert_int_equal(info.live_bytes, needle_bytes(len));
    assert_int_equal(info.dead_bytes, needle_bytes(len));
    assert_int_equal(test_stats(fx->store).dead_bytes, 0);

    assert_int_equal(store_compact(fx->store, 0.5, NULL, NULL), 1);
    info = volume_info(fx->store, 2);
    assert_int_equal(info.file_bytes, VOLUME_HEADER_BYTES + needle_bytes(len));
    assert_int_equal(info.dead_bytes, 0);
    assert_blob_bytes(fx->store, &kept_hash, kept_data, len);
    assert_verify_clean(fx->store);
    free(gap_data);
    free(kept_data);
}

/* A compaction retires the reservation's volume while the payload is
 * still arriving: the commit copies the finished needle out of it. */
static void reserve_volume_compacted_meanwhile(void **state)
{
    fixture_t *fx = *state;
    size_t len = 700000;
    uint8_t *early = make_data(1000, 9);
    uint8_t *data = make_data(len, 10);
    kadr_hash_t hash = test_hash(data, len);
    store_reservation_t res;
    store_staged_t staged;
    store_blob_t blob;
    bool deduped;

    test_put_mem(fx->store, early, 1000, &deduped);
    assert_int_equal(store_reserve(fx->store, len, &res), 0);
    assert_int_equal(store_reservation_write(&res, data, len / 2), 0);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    assert_int_equal(
        store_reservation_write(&res, data + len / 2, len - len / 2), 0);
    assert_int_equal(
        store_blob_stage_reserved(fx->store, &res, &hash, 1, &staged), 0);
    assert_int_equal(staged.blob.volume_id, 1);
    commit(fx->store, &staged, &deduped);
    assert_false(deduped);
    assert_int_equal(test_lookup(fx->store, &hash, &blob), 0);
    assert_int_equal(blob.volume_id, 2);
    assert_blob_bytes(fx->store, &hash, data, len);
    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    assert_blob_bytes(fx->store, &hash, data, len);
    assert_verify_clean(fx->store);
    free(early);
    free(data);
}

/* A reservation never staged is cut off at the next open, like a crash
 * while the upload streamed. */
static void reserve_unstaged_cut_at_open(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[10000];
    kadr_hash_t hash;
    store_reservation_t res;
    bool deduped;

    test_fill(data, sizeof(data), 11);
    hash = test_hash(data, 5000);
    test_put_mem(fx->store, data, 5000, &deduped);
    assert_int_equal(store_reserve(fx->store, sizeof(data), &res), 0);
    assert_int_equal(store_reservation_write(&res, data, sizeof(data)), 0);
    close(res.fd);
    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    assert_int_equal(test_volume_size(fx->dir, 1),
                     VOLUME_HEADER_BYTES + needle_bytes(5000));
    assert_blob_bytes(fx->store, &hash, data, 5000);
}

static void reserve_disk_full(void **state)
{
    fixture_t *fx = *state;
    store_options_t opts = {.reserve_bytes = UINT64_MAX / 2};
    store_reservation_t res;

    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, &opts, &fx->store), 0);
    assert_int_equal(store_reserve(fx->store, 1000, &res), KADR_E_DISK_FULL);
    assert_int_equal(res.fd, -1);
    assert_int_equal(test_volume_size(fx->dir, 1), VOLUME_HEADER_BYTES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reserve_stage_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reserve_dedup_gives_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reserve_collision_gives_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reserve_short_write_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reserve_write_past_length, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reserve_cancel_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(reserve_cancel_gap_compacted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reserve_volume_compacted_meanwhile,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(reserve_unstaged_cut_at_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reserve_disk_full, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
