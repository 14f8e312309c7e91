/* Verification: a clean store passes, and a flipped byte anywhere in a
 * needle is found and reported under the right hash. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "needle.h"
#include "support.h"

#define BLOB_COUNT 8
#define BLOB_BYTES 5000

typedef struct fixture {
    char *dir;
    store_t *store;
    kadr_hash_t hashes[BLOB_COUNT];
    store_blob_t blobs[BLOB_COUNT];
} fixture_t;

struct found {
    int count;
    kadr_hash_t hash;
    int code;
};

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    uint8_t data[BLOB_BYTES];
    bool deduped;

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    for (int i = 0; i < BLOB_COUNT; i++) {
        store_staged_t staged;

        test_fill(data, sizeof(data), 300 + (uint32_t)i);
        staged = test_put_mem(fx->store, data, sizeof(data), &deduped);
        fx->hashes[i] = staged.hash;
        fx->blobs[i] = staged.blob;
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

static int on_bad(void *ctx, const kadr_hash_t *hash, const store_blob_t *blob,
                  int code)
{
    struct found *f = ctx;

    (void)blob;
    f->count++;
    f->hash = *hash;
    f->code = code;
    return 0;
}

static struct found run_verify(store_t *store, uint64_t step_bytes,
                               store_verify_cursor_t *cursor)
{
    struct found f = {0};

    memset(cursor, 0, sizeof(*cursor));
    while (!cursor->done)
        assert_int_equal(
            store_verify_step(store, cursor, step_bytes, on_bad, &f), 0);
    return f;
}

static void flip_byte(const char *dir, uint32_t volume, uint64_t offset)
{
    char *path = test_volume_path(dir, volume);
    int fd = open(path, O_RDWR);
    uint8_t b;

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, (off_t)offset), 1);
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)offset), 1);
    close(fd);
    free(path);
}

static void verify_clean_store(void **state)
{
    fixture_t *fx = *state;
    store_verify_cursor_t cursor;
    struct found f = run_verify(fx->store, 1 << 20, &cursor);

    assert_int_equal(f.count, 0);
    assert_int_equal(cursor.blobs, BLOB_COUNT);
    assert_int_equal(cursor.bytes, BLOB_COUNT * BLOB_BYTES);
    assert_int_equal(cursor.errors, 0);
}

/* Steps of one byte still check each blob once. */
static void verify_small_steps(void **state)
{
    fixture_t *fx = *state;
    store_verify_cursor_t cursor;
    struct found f = run_verify(fx->store, 1, &cursor);

    assert_int_equal(f.count, 0);
    assert_int_equal(cursor.blobs, BLOB_COUNT);
}

static void verify_flipped_payload_byte(void **state)
{
    fixture_t *fx = *state;
    store_verify_cursor_t cursor;
    struct found f;

    flip_byte(fx->dir, fx->blobs[3].volume_id, fx->blobs[3].offset + 1234);
    f = run_verify(fx->store, 1 << 20, &cursor);
    assert_int_equal(f.count, 1);
    assert_memory_equal(f.hash.bytes, fx->hashes[3].bytes, KADR_HASH_SIZE);
    assert_int_equal(f.code, KADR_E_CHECKSUM);
    assert_int_equal(cursor.errors, 1);
}

static void verify_flipped_header_hash(void **state)
{
    fixture_t *fx = *state;
    store_verify_cursor_t cursor;
    struct found f;

    /* Byte 8 of the header is the first byte of the content hash. */
    flip_byte(fx->dir, fx->blobs[5].volume_id,
              fx->blobs[5].offset - NEEDLE_HEADER_SIZE + 8);
    f = run_verify(fx->store, 1 << 20, &cursor);
    assert_int_equal(f.count, 1);
    assert_memory_equal(f.hash.bytes, fx->hashes[5].bytes, KADR_HASH_SIZE);
    assert_int_equal(f.code, KADR_E_CHECKSUM);
}

static void verify_flipped_footer(void **state)
{
    fixture_t *fx = *state;
    store_verify_cursor_t cursor;
    struct found f;

    flip_byte(fx->dir, fx->blobs[0].volume_id,
              fx->blobs[0].offset + BLOB_BYTES);
    f = run_verify(fx->store, 1 << 20, &cursor);
    assert_int_equal(f.count, 1);
    assert_memory_equal(f.hash.bytes, fx->hashes[0].bytes, KADR_HASH_SIZE);
    assert_int_equal(f.code, KADR_E_CHECKSUM);
}

static void verify_flipped_magic(void **state)
{
    fixture_t *fx = *state;
    store_verify_cursor_t cursor;
    struct found f;

    flip_byte(fx->dir, fx->blobs[7].volume_id,
              fx->blobs[7].offset - NEEDLE_HEADER_SIZE);
    f = run_verify(fx->store, 1 << 20, &cursor);
    assert_int_equal(f.count, 1);
    assert_int_equal(f.code, KADR_E_CORRUPT);
}

/* A reader beside the writer sees volumes the writer made after it. */
static void verify_reader_sees_new_volume(void **state)
{
    fixture_t *fx = *state;
    store_options_t opts = {.read_only = true};
    store_verify_cursor_t cursor;
    store_t *reader;
    struct found f;

    assert_int_equal(store_open(fx->dir, &opts, &reader), 0);
    assert_int_equal(store_compact_volume(fx->store, 1, NULL), 0);
    f = run_verify(reader, 1 << 20, &cursor);
    assert_int_equal(f.count, 0);
    assert_int_equal(cursor.blobs, BLOB_COUNT);
    store_close(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(verify_clean_store, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_small_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_flipped_payload_byte, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(verify_flipped_header_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(verify_flipped_footer, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_flipped_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_reader_sees_new_volume, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
