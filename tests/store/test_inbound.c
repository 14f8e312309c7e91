/* Inbound needles: uploads written in place, then sealed, deduplicated
 * or given back. */
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
#include "volume.h"

#define BODY_BYTES (3 * 1024 * 1024 + 123)

typedef struct fixture {
    char *dir;
    store_t *store;
    uint8_t *body;
    kadr_hash_t hash;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = test_dir_make();
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    fx->body = malloc(BODY_BYTES);
    assert_non_null(fx->body);
    test_fill(fx->body, BODY_BYTES, 41);
    fx->hash = test_hash(fx->body, BODY_BYTES);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    store_close(fx->store);
    test_dir_remove(fx->dir);
    free(fx->body);
    free(fx);
    return 0;
}

/* Writes the body in uneven pieces, as reads from a socket come. */
static void write_body(store_inbound_t *in, const uint8_t *body, size_t len)
{
    size_t done = 0;
    size_t piece = 1000;

    while (done < len) {
        size_t n = len - done < piece ? len - done : piece;

        assert_int_equal(store_inbound_write(in, body + done, n, done), 0);
        done += n;
        piece = piece * 3 + 7;
    }
}

static void inbound_stage_seals_needle(void **state)
{
    fixture_t *fx = *state;
    store_inbound_t in;
    store_staged_t staged;
    store_blob_t blob;
    needle_header_t header;
    uint8_t *read_back = NULL;
    bool deduped = true;

    assert_int_equal(store_inbound_open(fx->store, BODY_BYTES, &in), 0);
    assert_true(in.open);
    assert_int_equal(in.payload_offset,
                     VOLUME_HEADER_SIZE + NEEDLE_HEADER_SIZE);
    write_body(&in, fx->body, BODY_BYTES);
    assert_int_equal(store_inbound_stage(fx->store, &in, &fx->hash, 1, &staged),
                     0);
    assert_false(in.open);
    assert_false(staged.existing);
    assert_true(staged.pinned);
    test_commit(fx->store, &staged, &deduped);
    assert_false(deduped);

    assert_int_equal(test_lookup(fx->store, &fx->hash, &blob), 0);
    assert_int_equal(blob.offset, VOLUME_HEADER_SIZE + NEEDLE_HEADER_SIZE);
    assert_int_equal(blob.length, BODY_BYTES);
    assert_int_equal(needle_scan(store_volume_fd(fx->store, blob.volume_id),
                                 blob.offset - NEEDLE_HEADER_SIZE, &header),
                     0);
    assert_int_equal(header.length, BODY_BYTES);
    assert_int_equal(header.format, 1);
    assert_int_equal(store_blob_read(fx->store, &blob, &read_back), 0);
    assert_memory_equal(read_back, fx->body, BODY_BYTES);
    free(read_back);
    assert_int_equal(test_volume_size(fx->dir, blob.volume_id),
                     VOLUME_HEADER_SIZE + needle_size(BODY_BYTES));
}

static void inbound_duplicate_gives_space_back(void **state)
{
    fixture_t *fx = *state;
    store_inbound_t in;
    store_staged_t staged;
    bool deduped = false;
    uint32_t volume;

    staged = test_put_mem(fx->store, fx->body, BODY_BYTES, &deduped);
    volume = staged.blob.volume_id;
    assert_int_equal(store_inbound_open(fx->store, BODY_BYTES, &in), 0);
    write_body(&in, fx->body, BODY_BYTES);
    assert_int_equal(store_inbound_stage(fx->store, &in, &fx->hash, 1, &staged),
                     0);
    assert_true(staged.existing);
    assert_false(staged.pinned);
    assert_false(in.open);
    test_commit(fx->store, &staged, &deduped);
    assert_true(deduped);
    assert_int_equal(test_stats(fx->store).blobs, 1);
    /* The reservation was the volume's tail: the file is cut back. */
    assert_int_equal(test_volume_size(fx->dir, volume),
                     VOLUME_HEADER_SIZE + needle_size(BODY_BYTES));
}

static void inbound_collision_stays_open(void **state)
{
    fixture_t *fx = *state;
    store_inbound_t in;
    store_staged_t staged;
    bool deduped;
    kadr_hash_t other_hash;

    staged = test_put_mem(fx->store, fx->body, BODY_BYTES, &deduped);
    other_hash = fx->hash;
    fx->body[5] ^= 1; /* same hash claimed, other bytes */
    assert_int_equal(store_inbound_open(fx->store, BODY_BYTES, &in), 0);
    write_body(&in, fx->body, BODY_BYTES);
    assert_int_equal(
        store_inbound_stage(fx->store, &in, &other_hash, 1, &staged),
        KADR_E_COLLISION);
    assert_true(in.open);
    store_inbound_cancel(fx->store, &in);
    assert_false(in.open);
    assert_int_equal(test_volume_size(fx->dir, staged.blob.volume_id),
                     VOLUME_HEADER_SIZE + needle_size(BODY_BYTES));
}

/* A reservation given back below a later one leaves a punched gap that
 * counts as dead bytes, and the later needle stays readable. */
static void inbound_cancel_below_later_needle(void **state)
{
    fixture_t *fx = *state;
    store_inbound_t first;
    store_inbound_t second;
    store_staged_t staged;
    store_volume_info_t *vols = NULL;
    uint8_t *read_back = NULL;
    size_t count = 0;
    bool deduped;

    assert_int_equal(store_inbound_open(fx->store, 5000, &first), 0);
    assert_int_equal(store_inbound_write(&first, fx->body + 9, 5000, 0), 0);
    assert_int_equal(store_inbound_open(fx->store, BODY_BYTES, &second), 0);
    assert_int_equal(second.needle_offset,
                     first.needle_offset + needle_size(5000));
    write_body(&second, fx->body, BODY_BYTES);
    store_inbound_cancel(fx->store, &first);
    assert_int_equal(
        store_inbound_stage(fx->store, &second, &fx->hash, 1, &staged), 0);
    test_commit(fx->store, &staged, &deduped);

    assert_int_equal(store_blob_read(fx->store, &staged.blob, &read_back), 0);
    assert_memory_equal(read_back, fx->body, BODY_BYTES);
    free(read_back);
    assert_int_equal(store_volume_list(fx->store, &vols, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(vols[0].dead_bytes, needle_size(5000));
    assert_int_equal(vols[0].live_bytes, needle_size(BODY_BYTES));
    free(vols);
}

static void inbound_rejects_bad_writes(void **state)
{
    fixture_t *fx = *state;
    store_inbound_t in;

    assert_int_equal(store_inbound_open(fx->store, 0, &in), KADR_E_BAD_INPUT);
    assert_int_equal(
        store_inbound_open(fx->store, NEEDLE_MAX_PAYLOAD_BYTES + 1, &in),
        KADR_E_TOO_LARGE);
    assert_int_equal(store_inbound_open(fx->store, 100, &in), 0);
    assert_int_equal(store_inbound_write(&in, fx->body, 101, 0),
                     KADR_E_BAD_INPUT);
    assert_int_equal(store_inbound_write(&in, fx->body, 2, 99),
                     KADR_E_BAD_INPUT);
    assert_int_equal(store_inbound_write(&in, fx->body, 100, 0), 0);
    store_inbound_cancel(fx->store, &in);
    assert_int_equal(store_inbound_write(&in, fx->body, 1, 0),
                     KADR_E_BAD_INPUT);
    store_inbound_cancel(fx->store, &in); /* twice is harmless */
    assert_int_equal(test_volume_size(fx->dir, in.volume_id),
                     VOLUME_HEADER_SIZE);
}

/* A crash before the seal leaves an unindexed tail, which the next open
 * cuts off. */
static void inbound_unsealed_tail_cut_at_open(void **state)
{
    fixture_t *fx = *state;
    store_inbound_t in;
    uint32_t volume;

    assert_int_equal(store_inbound_open(fx->store, BODY_BYTES, &in), 0);
    write_body(&in, fx->body, BODY_BYTES / 2);
    volume = in.volume_id;
    assert_true(test_volume_size(fx->dir, volume) > BODY_BYTES / 2);
    in.open = false; /* abandoned, as by a crash */
    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    assert_int_equal(test_volume_size(fx->dir, volume), VOLUME_HEADER_SIZE);
    assert_int_equal(test_stats(fx->store).blobs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(inbound_stage_seals_needle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(inbound_duplicate_gives_space_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(inbound_collision_stays_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(inbound_cancel_below_later_needle,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(inbound_rejects_bad_writes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(inbound_unsealed_tail_cut_at_open,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
