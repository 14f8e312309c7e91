/* Needle encoding, writing and checksum verification. */
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
#include <xxhash.h>

#include "needle.h"
#include "support.h"
#include "volume.h"

typedef struct fixture {
    char *dir;
    int fd; /* a scratch file in dir */
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    char path[4096];

    assert_non_null(fx);
    fx->dir = test_dir_make();
    snprintf(path, sizeof(path), "%s/needles", fx->dir);
    fx->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fx->fd >= 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    close(fx->fd);
    test_dir_remove(fx->dir);
    free(fx);
    return 0;
}

static void needle_size_pads_to_eight(void **state)
{
    assert_int_equal(needle_size(0), 48);
    assert_int_equal(needle_size(1), 56);
    assert_int_equal(needle_size(8), 56);
    assert_int_equal(needle_size(9), 64);
    assert_int_equal(needle_size(1000) % NEEDLE_ALIGN, 0);
}

static void needle_header_layout(void **state)
{
    needle_header_t header = {.flags = 0, .format = 3, .length = 0x0102};
    needle_header_t decoded;
    uint8_t bytes[NEEDLE_HEADER_SIZE];

    header.hash = test_hash("abc", 3);
    needle_header_encode(&header, bytes);
    assert_memory_equal(bytes, "KDNH", 4);
    assert_int_equal(bytes[4], NEEDLE_VERSION);
    assert_int_equal(bytes[6], 3);
    assert_memory_equal(bytes + 8, header.hash.bytes, KADR_HASH_SIZE);
    assert_int_equal(bytes[24], 0x02);
    assert_int_equal(bytes[25], 0x01);
    assert_int_equal(bytes[31], 0);

    assert_int_equal(needle_header_decode(bytes, &decoded), 0);
    assert_int_equal(decoded.format, 3);
    assert_int_equal(decoded.length, 0x0102);
    assert_memory_equal(decoded.hash.bytes, header.hash.bytes, KADR_HASH_SIZE);
}

static void needle_header_rejects_unknown(void **state)
{
    needle_header_t header = {.length = 10};
    needle_header_t decoded;
    uint8_t bytes[NEEDLE_HEADER_SIZE];

    needle_header_encode(&header, bytes);
    bytes[4] = NEEDLE_VERSION + 1;
    assert_int_equal(needle_header_decode(bytes, &decoded), KADR_E_FORMAT);
    bytes[4] = NEEDLE_VERSION;
    bytes[0] = 'X';
    assert_int_equal(needle_header_decode(bytes, &decoded), KADR_E_CORRUPT);
}

static void write_needle(int fd, uint64_t off, const uint8_t *data, size_t len)
{
    needle_header_t header = {.format = 1, .length = len};
    source_t src;

    header.hash = test_hash(data, len);
    source_init_mem(&src, data);
    assert_int_equal(needle_write(fd, off, &header, &src), 0);
}

static void needle_scan_round_trip(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[700 * 1024]; /* more than two chunks */
    uint8_t *payload = malloc(sizeof(data));
    needle_header_t header;
    uint64_t second = needle_size(sizeof(data));

    assert_non_null(payload);
    test_fill(data, sizeof(data), 21);
    write_needle(fx->fd, 0, data, sizeof(data));
    write_needle(fx->fd, second, data, 5);

    assert_int_equal(needle_scan(fx->fd, 0, &header), 0);
    assert_int_equal(header.length, sizeof(data));
    assert_int_equal(header.format, 1);
    assert_int_equal(needle_read(fx->fd, 0, sizeof(data), payload), 0);
    assert_memory_equal(payload, data, sizeof(data));

    assert_int_equal(needle_scan(fx->fd, second, &header), 0);
    assert_int_equal(header.length, 5);
    assert_int_equal(lseek(fx->fd, 0, SEEK_END), second + needle_size(5));
    free(payload);
}

/* Writes a needle of format version 1, whose footer checksum covers the
 * header and the payload. */
static void write_v1_needle(int fd, const uint8_t *data, size_t len)
{
    needle_header_t header = {.format = 2, .length = len};
    uint8_t head[NEEDLE_HEADER_SIZE];
    uint8_t foot[NEEDLE_FOOTER_SIZE] = {0};
    XXH3_state_t *sum = XXH3_createState();
    uint64_t checksum;

    assert_non_null(sum);
    header.hash = test_hash(data, len);
    needle_header_encode(&header, head);
    head[4] = NEEDLE_VERSION_1;
    XXH3_64bits_reset(sum);
    XXH3_64bits_update(sum, head, sizeof(head));
    XXH3_64bits_update(sum, data, len);
    checksum = XXH3_64bits_digest(sum);
    XXH3_freeState(sum);
    for (int i = 0; i < 8; i++)
        foot[i] = (uint8_t)(checksum >> (8 * i));
    memcpy(foot + 8, "KDNF", 4);
    assert_int_equal(pwrite(fd, head, sizeof(head), 0), sizeof(head));
    assert_int_equal(pwrite(fd, data, len, NEEDLE_HEADER_SIZE), (ssize_t)len);
    assert_int_equal(pwrite(fd, foot, sizeof(foot), NEEDLE_HEADER_SIZE + len),
                     sizeof(foot));
}

static void needle_version_1_still_read(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[3000];
    uint8_t payload[sizeof(data)];
    needle_header_t header;
    kadr_hash_t content;
    uint8_t byte = 0x55;

    test_fill(data, sizeof(data), 31);
    write_v1_needle(fx->fd, data, sizeof(data));
    assert_int_equal(needle_scan(fx->fd, 0, &header), 0);
    assert_int_equal(header.version, NEEDLE_VERSION_1);
    assert_int_equal(header.format, 2);
    assert_int_equal(header.length, sizeof(data));
    assert_int_equal(needle_read(fx->fd, 0, sizeof(data), payload), 0);
    assert_memory_equal(payload, data, sizeof(data));
    assert_int_equal(needle_verify(fx->fd, 0, &header, &content), 0);
    assert_memory_equal(content.bytes, header.hash.bytes, KADR_HASH_SIZE);

    /* A changed payload byte breaks the version 1 checksum. */
    assert_int_equal(pwrite(fx->fd, &byte, 1, NEEDLE_HEADER_SIZE + 7), 1);
    assert_int_equal(needle_scan(fx->fd, 0, &header), KADR_E_CHECKSUM);
    assert_int_equal(needle_read(fx->fd, 0, sizeof(data), payload),
                     KADR_E_CHECKSUM);
}

static void needle_written_as_version_2(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[100];
    uint8_t head[NEEDLE_HEADER_SIZE];
    uint8_t foot[NEEDLE_FOOTER_SIZE];
    uint64_t checksum = 0;

    test_fill(data, sizeof(data), 32);
    write_needle(fx->fd, 0, data, sizeof(data));
    assert_int_equal(pread(fx->fd, head, sizeof(head), 0), sizeof(head));
    assert_int_equal(head[4], 2);
    assert_int_equal(
        pread(fx->fd, foot, sizeof(foot), NEEDLE_HEADER_SIZE + sizeof(data)),
        sizeof(foot));
    for (int i = 7; i >= 0; i--)
        checksum = checksum << 8 | foot[i];
    assert_true(checksum == XXH3_64bits(head, sizeof(head)));
}

static void needle_scan_flipped_payload_byte(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[4000];
    uint8_t byte;
    uint8_t payload[4000];
    needle_header_t header;
    off_t at = NEEDLE_HEADER_SIZE + 1234;

    test_fill(data, sizeof(data), 22);
    write_needle(fx->fd, 0, data, sizeof(data));
    assert_int_equal(pread(fx->fd, &byte, 1, at), 1);
    byte ^= 0x10;
    assert_int_equal(pwrite(fx->fd, &byte, 1, at), 1);

    assert_int_equal(needle_scan(fx->fd, 0, &header), KADR_E_CHECKSUM);
    assert_int_equal(needle_read(fx->fd, 0, sizeof(data), payload),
                     KADR_E_CHECKSUM);
}

static void needle_scan_flipped_header_byte(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[100];
    uint8_t byte;
    needle_header_t header;

    test_fill(data, sizeof(data), 23);
    write_needle(fx->fd, 0, data, sizeof(data));
    assert_int_equal(pread(fx->fd, &byte, 1, 10), 1);
    byte ^= 0x01;
    assert_int_equal(pwrite(fx->fd, &byte, 1, 10), 1);
    assert_int_equal(needle_scan(fx->fd, 0, &header), KADR_E_CHECKSUM);
}

static void needle_scan_cut_short(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[100];
    needle_header_t header;

    test_fill(data, sizeof(data), 24);
    write_needle(fx->fd, 0, data, sizeof(data));
    assert_int_equal(ftruncate(fx->fd, NEEDLE_HEADER_SIZE + 50), 0);
    assert_int_equal(needle_scan(fx->fd, 0, &header), KADR_E_CORRUPT);
}

static void needle_read_wrong_length(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[100];
    uint8_t payload[100];

    test_fill(data, sizeof(data), 25);
    write_needle(fx->fd, 0, data, sizeof(data));
    assert_int_equal(needle_read(fx->fd, 0, 99, payload), KADR_E_CORRUPT);
}

/* A payload byte flipped inside a store's volume is caught by both the
 * scan and store_blob_read(). */
static void needle_flip_in_store_volume(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[2048];
    store_t *store;
    store_staged_t staged;
    needle_header_t header;
    uint8_t *read_back = NULL;
    uint8_t byte;
    bool deduped;
    char *path;
    int fd;

    assert_int_equal(store_open(fx->dir, NULL, &store), 0);
    test_fill(data, sizeof(data), 26);
    staged = test_put_mem(store, data, sizeof(data), &deduped);
    fd = store_volume_fd(store, staged.blob.volume_id);
    assert_int_equal(
        needle_scan(fd, staged.blob.offset - NEEDLE_HEADER_SIZE, &header), 0);

    path = test_volume_path(fx->dir, staged.blob.volume_id);
    fd = open(path, O_RDWR | O_CLOEXEC);
    free(path);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &byte, 1, (off_t)staged.blob.offset + 99), 1);
    byte ^= 0x80;
    assert_int_equal(pwrite(fd, &byte, 1, (off_t)staged.blob.offset + 99), 1);
    close(fd);

    fd = store_volume_fd(store, staged.blob.volume_id);
    assert_int_equal(
        needle_scan(fd, staged.blob.offset - NEEDLE_HEADER_SIZE, &header),
        KADR_E_CHECKSUM);
    assert_int_equal(store_blob_read(store, &staged.blob, &read_back),
                     KADR_E_CHECKSUM);
    assert_null(read_back);
    store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(needle_size_pads_to_eight),
        cmocka_unit_test(needle_header_layout),
        cmocka_unit_test(needle_header_rejects_unknown),
        cmocka_unit_test_setup_teardown(needle_version_1_still_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(needle_written_as_version_2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(needle_scan_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(needle_scan_flipped_payload_byte, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(needle_scan_flipped_header_byte, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(needle_scan_cut_short, setup, teardown),
        cmocka_unit_test_setup_teardown(needle_read_wrong_length, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(needle_flip_in_store_volume, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
