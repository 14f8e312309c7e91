/* Volume files: headers, fds, rolling to a new volume, and reservations
 * given back. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "needle.h"
#include "store_internal.h"
#include "support.h"
#include "volume.h"

typedef struct fixture {
    char *dir;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = test_dir_make();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    test_dir_remove(fx->dir);
    free(fx);
    return 0;
}

static void read_volume_header(const char *dir, uint32_t id,
                               uint8_t out[VOLUME_HEADER_SIZE])
{
    char *path = test_volume_path(dir, id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    free(path);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, out, VOLUME_HEADER_SIZE, 0), VOLUME_HEADER_SIZE);
    close(fd);
}

static void volume_first_has_header(void **state)
{
    fixture_t *fx = *state;
    uint8_t head[VOLUME_HEADER_SIZE];
    store_t *store;

    assert_int_equal(store_open(fx->dir, NULL, &store), 0);
    assert_int_equal(test_volume_size(fx->dir, 1), VOLUME_HEADER_SIZE);
    read_volume_header(fx->dir, 1, head);
    assert_memory_equal(head, "KDVL", 4);
    assert_int_equal(head[4], VOLUME_VERSION);
    assert_int_equal(head[8], 1);
    assert_int_equal(head[12], 0);
    assert_true(store_volume_fd(store, 1) >= 0);
    assert_int_equal(store_volume_fd(store, 2), KADR_E_NOT_FOUND);
    assert_int_equal(store_volume_fd(store, 0), KADR_E_NOT_FOUND);
    store_close(store);
}

static void volume_fd_is_read_only(void **state)
{
    fixture_t *fx = *state;
    store_t *store;
    int fd;

    assert_int_equal(store_open(fx->dir, NULL, &store), 0);
    fd = store_volume_fd(store, 1);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    store_close(store);
}

static void volume_rolls_past_max(void **state)
{
    fixture_t *fx = *state;
    store_options_t opts = {.volume_max_bytes = 4096};
    uint8_t data[3][3000];
    store_staged_t staged[3];
    uint8_t head[VOLUME_HEADER_SIZE];
    store_t *store;
    store_txn_t *txn;
    store_stats_t stats;
    bool deduped;

    assert_int_equal(store_open(fx->dir, &opts, &store), 0);
    for (uint32_t i = 0; i < 3; i++) {
        test_fill(data[i], sizeof(data[i]), 30 + i);
        staged[i] = test_put_mem(store, data[i], sizeof(data[i]), &deduped);
        assert_int_equal(staged[i].blob.volume_id, i + 1);
        assert_int_equal(staged[i].blob.offset,
                         VOLUME_HEADER_SIZE + NEEDLE_HEADER_SIZE);
    }
    read_volume_header(fx->dir, 3, head);
    assert_int_equal(head[8], 3);
    assert_int_equal(test_volume_size(fx->dir, 2),
                     VOLUME_HEADER_SIZE + needle_size(3000));

    assert_int_equal(store_txn_begin(store, false, &txn), 0);
    assert_int_equal(store_get_stats(txn, &stats), 0);
    store_txn_abort(txn);
    assert_int_equal(stats.volumes, 3);
    store_close(store);

    /* After reopening, the last volume is the active one. */
    assert_int_equal(store_open(fx->dir, &opts, &store), 0);
    test_fill(data[0], 10, 40);
    staged[0] = test_put_mem(store, data[0], 10, &deduped);
    assert_int_equal(staged[0].blob.volume_id, 3);
    store_close(store);
}

static void volume_blob_over_max_fits_alone(void **state)
{
    fixture_t *fx = *state;
    store_options_t opts = {.volume_max_bytes = 1024};
    uint8_t data[5000];
    store_staged_t staged;
    store_t *store;
    bool deduped;

    assert_int_equal(store_open(fx->dir, &opts, &store), 0);
    test_fill(data, sizeof(data), 41);
    staged = test_put_mem(store, data, sizeof(data), &deduped);
    assert_int_equal(staged.blob.volume_id, 1);
    staged = test_put_mem(store, data, 100, &deduped);
    assert_int_equal(staged.blob.volume_id, 2);
    /* The new volume has more room left, so it takes the next needles. */
    assert_int_equal(volume_active_id(&store->volumes), 2);
    staged = test_put_mem(store, data + 100, 100, &deduped);
    assert_int_equal(staged.blob.volume_id, 2);
    store_close(store);
}

static void volume_foreign_header_rejected(void **state)
{
    fixture_t *fx = *state;
    store_t *store;
    char *path;
    int fd;

    assert_int_equal(store_open(fx->dir, NULL, &store), 0);
    store_close(store);
    path = test_volume_path(fx->dir, 1);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    free(path);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
    close(fd);
    assert_int_equal(store_open(fx->dir, NULL, &store), KADR_E_FORMAT);
}

static void volume_other_files_ignored(void **state)
{
    fixture_t *fx = *state;
    const char *names[] = {"notes.txt", "1.vol", "00000002.vol.bak",
                           "00000000.vol"};
    char path[4096];
    store_t *store;
    store_txn_t *txn;
    store_stats_t stats;

    assert_int_equal(store_open(fx->dir, NULL, &store), 0);
    store_close(store);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int fd;

        snprintf(path, sizeof(path), "%s/volumes/%s", fx->dir, names[i]);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    assert_int_equal(store_open(fx->dir, NULL, &store), 0);
    assert_int_equal(store_txn_begin(store, false, &txn), 0);
    assert_int_equal(store_get_stats(txn, &stats), 0);
    store_txn_abort(txn);
    assert_int_equal(stats.volumes, 1);
    store_close(store);
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

static void assert_blob_bytes(store_t *store, const kadr_hash_t *hash,
                              const uint8_t *want, size_t len)
{
    store_blob_t blob;
    uint8_t *data;

    assert_int_equal(test_lookup(store, hash, &blob), 0);
    assert_int_equal(store_blob_read(store, &blob, &data), 0);
    assert_memory_equal(data, want, len);
    free(data);
}

/* A reservation given back below a later needle (a failed write) leaves
 * a gap of zeros in the file. The volume list counts it as dead bytes,
 * the dead_bytes counter does not, and compaction drops it. */
static void volume_cancelled_gap_compacted(void **state)
{
    fixture_t *fx = *state;
    size_t len = 64 * 1024;
    uint64_t gap_size = needle_size(len);
    uint8_t *gap = malloc(len);
    uint8_t *kept = malloc(len);
    uint8_t zeros[4096] = {0};
    uint8_t read_back[4096];
    kadr_hash_t kept_hash;
    store_volume_info_t info;
    store_t *store;
    volume_t *vol;
    uint64_t offset;
    bool deduped;
    char *path;
    int fd;

    assert_non_null(gap);
    assert_non_null(kept);
    test_fill(gap, len, 71);
    test_fill(kept, len, 72);
    kept_hash = test_hash(kept, len);
    assert_int_equal(store_open(fx->dir, NULL, &store), 0);

    /* Reserve the gap, write part of it, then stage a later needle. */
    assert_int_equal(
        volume_append_reserve(&store->volumes, gap_size, &vol, &offset), 0);
    assert_int_equal(offset, VOLUME_HEADER_SIZE);
    assert_int_equal(pwrite(vol->wfd, gap, len, (off_t)offset), (ssize_t)len);
    (void)test_put_mem(store, kept, len, &deduped);
    volume_append_cancel(&store->volumes, vol->id, vol->wfd, offset, gap_size);

    assert_int_equal(test_volume_size(fx->dir, 1),
                     VOLUME_HEADER_SIZE + 2 * gap_size);
    path = test_volume_path(fx->dir, 1);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(
        pread(fd, read_back, sizeof(read_back), (off_t)offset + 8192),
        (ssize_t)sizeof(read_back));
    close(fd);
    free(path);
    assert_memory_equal(read_back, zeros, sizeof(zeros));
    info = volume_info(store, 1);
    assert_int_equal(info.live_blobs, 1);
    assert_int_equal(info.live_bytes, gap_size);
    assert_int_equal(info.dead_bytes, gap_size);
    assert_int_equal(test_stats(store).dead_bytes, 0);

    assert_int_equal(store_compact(store, 0.5, NULL, NULL), 1);
    info = volume_info(store, 2);
    assert_int_equal(info.file_bytes, VOLUME_HEADER_SIZE + gap_size);
    assert_int_equal(info.dead_bytes, 0);
    assert_blob_bytes(store, &kept_hash, kept, len);
    store_close(store);
    free(gap);
    free(kept);
}

/* A reservation given back at the tail is cut off the file. */
static void volume_cancelled_tail_cut(void **state)
{
    fixture_t *fx = *state;
    store_t *store;
    volume_t *vol;
    uint64_t offset;
    uint8_t data[1000];

    memset(data, 0xab, sizeof(data));
    assert_int_equal(store_open(fx->dir, NULL, &store), 0);
    assert_int_equal(volume_append_reserve(&store->volumes,
                                           needle_size(sizeof(data)), &vol,
                                           &offset),
                     0);
    assert_int_equal(pwrite(vol->wfd, data, sizeof(data), (off_t)offset),
                     (ssize_t)sizeof(data));
    assert_int_equal(test_volume_size(fx->dir, 1),
                     VOLUME_HEADER_SIZE + sizeof(data));
    volume_append_cancel(&store->volumes, vol->id, vol->wfd, offset,
                         needle_size(sizeof(data)));
    assert_int_equal(test_volume_size(fx->dir, 1), VOLUME_HEADER_SIZE);
    store_close(store);
}

/* A large reservation that would pass max_bytes goes to an empty volume
 * of its own, and the active volume keeps taking appends. Given back, it
 * leaves that volume empty, and the next large reservation reuses it. */
static void volume_cancelled_large_reuses_volume(void **state)
{
    fixture_t *fx = *state;
    store_options_t opts = {.volume_max_bytes = 8192};
    uint64_t big = needle_size(8000);
    uint8_t data[100];
    store_staged_t staged;
    store_t *store;
    volume_t *vol;
    uint64_t offset;
    bool deduped;

    assert_int_equal(store_open(fx->dir, &opts, &store), 0);
    for (int round = 0; round < 3; round++) {
        test_fill(data, sizeof(data), 50 + round);
        staged = test_put_mem(store, data, sizeof(data), &deduped);
        assert_int_equal(staged.blob.volume_id, 1);
        assert_int_equal(staged.blob.offset, VOLUME_HEADER_SIZE +
                                                 round * needle_size(100) +
                                                 NEEDLE_HEADER_SIZE);
        assert_int_equal(
            volume_append_reserve(&store->volumes, big, &vol, &offset), 0);
        assert_int_equal(vol->id, 2);
        assert_int_equal(offset, VOLUME_HEADER_SIZE);
        assert_int_equal(volume_active_id(&store->volumes), 1);
        assert_int_equal(pwrite(vol->wfd, data, sizeof(data), (off_t)offset),
                         (ssize_t)sizeof(data));
        volume_append_cancel(&store->volumes, vol->id, vol->wfd, offset, big);
        assert_int_equal(test_volume_size(fx->dir, 2), VOLUME_HEADER_SIZE);
    }
    assert_int_equal(volume_count(&store->volumes), 2);
    store_close(store);
}

/* Volumes emptied by recovery, here two left by reservations in flight
 * at a stop, take later needles instead of new volume files. */
static void volume_empty_after_restart_reused(void **state)
{
    fixture_t *fx = *state;
    store_options_t opts = {.volume_max_bytes = 8192};
    uint64_t big = needle_size(8000);
    uint8_t data[100];
    bool deduped;
    store_t *store;
    volume_t *vol;
    uint64_t offset;

    test_fill(data, sizeof(data), 70);
    assert_int_equal(store_open(fx->dir, &opts, &store), 0);
    test_put_mem(store, data, sizeof(data), &deduped);
    for (uint32_t id = 2; id <= 3; id++) {
        assert_int_equal(
            volume_append_reserve(&store->volumes, big, &vol, &offset), 0);
        assert_int_equal(vol->id, id);
    }
    store_close(store);

    assert_int_equal(store_open(fx->dir, &opts, &store), 0);
    assert_int_equal(test_volume_size(fx->dir, 2), VOLUME_HEADER_SIZE);
    assert_int_equal(test_volume_size(fx->dir, 3), VOLUME_HEADER_SIZE);
    assert_int_equal(volume_active_id(&store->volumes), 3);
    assert_int_equal(volume_append_reserve(&store->volumes, big, &vol, &offset),
                     0);
    assert_int_equal(vol->id, 3);
    assert_int_equal(volume_append_reserve(&store->volumes, big, &vol, &offset),
                     0);
    assert_int_equal(vol->id, 2);
    assert_int_equal(offset, VOLUME_HEADER_SIZE);
    assert_int_equal(volume_count(&store->volumes), 3);
    store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(volume_first_has_header, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(volume_fd_is_read_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(volume_rolls_past_max, setup, teardown),
        cmocka_unit_test_setup_teardown(volume_blob_over_max_fits_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(volume_foreign_header_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(volume_cancelled_gap_compacted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(volume_cancelled_tail_cut, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(volume_other_files_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(volume_cancelled_large_reuses_volume,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(volume_empty_after_restart_reused,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
