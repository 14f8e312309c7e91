/* Volume files: headers, fds, and rolling to a new volume. */
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
        cmocka_unit_test_setup_teardown(volume_other_files_ignored, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
