/* Blob sources: a mapped file, a file read in chunks, and the fallback
 * from the first to the second. */
#include <errno.h>
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

#include "source.h"
#include "support.h"

#define FILE_BYTES (3 * STORE_CHUNK_BYTES + 100)

typedef struct fixture {
    char *dir;
    int fd; /* FILE_BYTES of test_fill(seed 5) */
    uint8_t *data;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char path[4096];

    assert_non_null(fx);
    fx->dir = test_dir_make();
    fx->data = malloc(FILE_BYTES);
    assert_non_null(fx->data);
    test_fill(fx->data, FILE_BYTES, 5);
    snprintf(path, sizeof(path), "%s/body", fx->dir);
    fx->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fx->fd >= 0);
    assert_int_equal(pwrite(fx->fd, fx->data, FILE_BYTES, 0), FILE_BYTES);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    close(fx->fd);
    free(fx->data);
    test_dir_remove(fx->dir);
    free(fx);
    return 0;
}

/* Reads the whole source chunk by chunk and compares it with want. */
static void assert_source_bytes(source_t *src, const uint8_t *want,
                                uint64_t len)
{
    uint64_t done = 0;

    while (done < len) {
        size_t n = len - done < STORE_CHUNK_BYTES ? (size_t)(len - done)
                                                  : STORE_CHUNK_BYTES;
        const uint8_t *chunk;

        assert_int_equal(source_read(src, done, n, &chunk), 0);
        assert_memory_equal(chunk, want + done, n);
        done += n;
    }
}

static void source_file_is_mapped(void **state)
{
    fixture_t *fx = *state;
    source_t src;

    assert_int_equal(source_init_file(&src, fx->fd, 0, FILE_BYTES), 0);
    assert_non_null(src.map);
    assert_int_equal(src.map_len, FILE_BYTES);
    assert_int_equal(src.fd, -1);
    assert_null(src.buf);
    assert_source_bytes(&src, fx->data, FILE_BYTES);
    source_free(&src);
    assert_null(src.map);
}

/* A prefix of a longer file maps only the prefix. */
static void source_file_prefix(void **state)
{
    fixture_t *fx = *state;
    source_t src;

    assert_int_equal(source_init_file(&src, fx->fd, 0, 1000), 0);
    assert_non_null(src.map);
    assert_int_equal(src.map_len, 1000);
    assert_source_bytes(&src, fx->data, 1000);
    source_free(&src);
}

/* A range that starts inside a page maps from that page on. */
static void source_file_range(void **state)
{
    fixture_t *fx = *state;
    uint64_t base = 3 * 4096 + 123;
    uint64_t len = 2 * STORE_CHUNK_BYTES + 5;
    source_t src;

    assert_int_equal(source_init_file(&src, fx->fd, base, len), 0);
    assert_non_null(src.map);
    assert_int_equal(src.map_len, len + 123);
    assert_ptr_equal(src.mem, (uint8_t *)src.map + 123);
    assert_source_bytes(&src, fx->data + base, len);
    source_free(&src);
}

/* A range past the end of the file is read in chunks. */
static void source_file_range_past_end(void **state)
{
    fixture_t *fx = *state;
    source_t src;
    const uint8_t *chunk;

    assert_int_equal(source_init_file(&src, fx->fd, FILE_BYTES - 10, 20), 0);
    assert_null(src.map);
    assert_int_equal(src.base, FILE_BYTES - 10);
    assert_int_equal(source_read(&src, 0, 10, &chunk), 0);
    assert_memory_equal(chunk, fx->data + FILE_BYTES - 10, 10);
    assert_int_equal(source_read(&src, 0, 20, &chunk), KADR_E_CORRUPT);
    source_free(&src);
}

/* A file shorter than the length is read in chunks, so the read past its
 * end fails with KADR_E_CORRUPT instead of SIGBUS. */
static void source_file_short_reads_chunks(void **state)
{
    fixture_t *fx = *state;
    source_t src;
    const uint8_t *chunk;

    assert_int_equal(source_init_file(&src, fx->fd, 0, FILE_BYTES + 1), 0);
    assert_null(src.map);
    assert_int_equal(src.fd, fx->fd);
    assert_non_null(src.buf);
    assert_source_bytes(&src, fx->data, FILE_BYTES);
    assert_int_equal(source_read(&src, FILE_BYTES, 1, &chunk), KADR_E_CORRUPT);
    source_free(&src);
}

/* An empty source is not mapped. */
static void source_file_empty(void **state)
{
    fixture_t *fx = *state;
    source_t src;

    assert_int_equal(source_init_file(&src, fx->fd, 0, 0), 0);
    assert_null(src.map);
    assert_int_equal(src.fd, fx->fd);
    source_free(&src);
}

/* A file opened for writing only cannot be mapped for reading, and its
 * chunk reads fail with the read's error. */
static void source_file_write_only(void **state)
{
    fixture_t *fx = *state;
    char path[4096];
    source_t src;
    const uint8_t *chunk;
    int fd;

    snprintf(path, sizeof(path), "%s/body", fx->dir);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(source_init_file(&src, fd, 0, FILE_BYTES), 0);
    assert_null(src.map);
    assert_int_equal(source_read(&src, 0, 100, &chunk), -EBADF);
    source_free(&src);
    close(fd);
}

static void source_compare_mapped_with_file(void **state)
{
    fixture_t *fx = *state;
    source_t src;

    assert_int_equal(source_init_file(&src, fx->fd, 0, FILE_BYTES), 0);
    assert_int_equal(source_compare_fd(&src, fx->fd, 0, FILE_BYTES), 0);
    assert_int_equal(source_compare_fd(&src, fx->fd, 1, FILE_BYTES - 1),
                     KADR_E_COLLISION);
    source_free(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(source_file_is_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(source_file_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(source_file_range, setup, teardown),
        cmocka_unit_test_setup_teardown(source_file_range_past_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(source_file_short_reads_chunks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(source_file_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(source_file_write_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(source_compare_mapped_with_file, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
