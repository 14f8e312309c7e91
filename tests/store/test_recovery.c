/* Recovery at store_open(): volume tails cut back to the indexed end,
 * tmp/ emptied, and index or volumes that cannot be trusted rejected. */
#include <fcntl.h>
#include <lmdb.h>
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

#include "needle.h"
#include "support.h"
#include "volume.h"

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

static void reopen(fixture_t *fx, int expected_rc)
{
    store_close(fx->store);
    fx->store = NULL;
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), expected_rc);
}

static int lookup(store_t *store, const kadr_hash_t *hash, store_blob_t *out)
{
    store_txn_t *txn;
    int rc;

    assert_int_equal(store_txn_begin(store, false, &txn), 0);
    rc = store_blob_get(txn, hash, out);
    store_txn_abort(txn);
    return rc;
}

static void recovery_cuts_uncommitted_needle(void **state)
{
    fixture_t *fx = *state;
    uint8_t kept[2000];
    uint8_t lost[3000];
    kadr_hash_t lost_hash;
    kadr_hash_t kept_hash;
    store_staged_t staged;
    store_blob_t blob;
    uint64_t indexed_end;
    uint8_t *read_back;
    bool deduped;

    test_fill(kept, sizeof(kept), 60);
    test_fill(lost, sizeof(lost), 61);
    staged = test_put_mem(fx->store, kept, sizeof(kept), &deduped);
    indexed_end = test_volume_size(fx->dir, 1);
    assert_int_equal(indexed_end, VOLUME_HEADER_SIZE + needle_size(2000));

    lost_hash = test_hash(lost, sizeof(lost));
    assert_int_equal(store_blob_stage_mem(fx->store, lost, sizeof(lost),
                                          &lost_hash, 1, &staged),
                     0);
    assert_int_equal(test_volume_size(fx->dir, 1),
                     indexed_end + needle_size(3000));

    reopen(fx, 0);
    assert_int_equal(test_volume_size(fx->dir, 1), indexed_end);
    assert_int_equal(lookup(fx->store, &lost_hash, &blob), KADR_E_NOT_FOUND);
    kept_hash = test_hash(kept, sizeof(kept));
    assert_int_equal(lookup(fx->store, &kept_hash, &blob), 0);
    assert_int_equal(store_blob_read(fx->store, &blob, &read_back), 0);
    assert_memory_equal(read_back, kept, sizeof(kept));
    free(read_back);

    /* The next needle goes where the cut one was. */
    staged = test_put_mem(fx->store, lost, sizeof(lost), &deduped);
    assert_int_equal(staged.blob.offset, indexed_end + NEEDLE_HEADER_SIZE);
}

static void recovery_empty_volume_keeps_header(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[500];
    kadr_hash_t hash;
    store_staged_t staged;

    test_fill(data, sizeof(data), 62);
    hash = test_hash(data, sizeof(data));
    assert_int_equal(
        store_blob_stage_mem(fx->store, data, sizeof(data), &hash, 1, &staged),
        0);
    reopen(fx, 0);
    assert_int_equal(test_volume_size(fx->dir, 1), VOLUME_HEADER_SIZE);
}

static void append_garbage(const char *dir, uint32_t id, size_t len)
{
    char *path = test_volume_path(dir, id);
    uint8_t *junk = malloc(len);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

    free(path);
    assert_non_null(junk);
    assert_true(fd >= 0);
    test_fill(junk, len, 63);
    assert_int_equal(write(fd, junk, len), len);
    close(fd);
    free(junk);
}

static void recovery_cuts_appended_garbage(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[1234];
    store_staged_t staged;
    store_stats_t stats;
    store_txn_t *txn;
    uint64_t indexed_end;
    bool deduped;

    test_fill(data, sizeof(data), 64);
    staged = test_put_mem(fx->store, data, sizeof(data), &deduped);
    indexed_end = test_volume_size(fx->dir, 1);
    store_close(fx->store);
    fx->store = NULL;
    append_garbage(fx->dir, 1, 1000);
    assert_int_equal(test_volume_size(fx->dir, 1), indexed_end + 1000);

    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
    assert_int_equal(test_volume_size(fx->dir, 1), indexed_end);
    assert_int_equal(store_txn_begin(fx->store, false, &txn), 0);
    assert_int_equal(store_get_stats(txn, &stats), 0);
    store_txn_abort(txn);
    assert_int_equal(stats.blobs, 1);
    assert_int_equal(stats.live_bytes, sizeof(data));
    assert_int_equal(staged.blob.volume_id, 1);
}

static void write_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "partial upload", 14), 14);
    close(fd);
}

static void recovery_empties_tmp(void **state)
{
    fixture_t *fx = *state;
    char path[4096];
    struct stat st;
    int entries = 0;
    FILE *listing;

    snprintf(path, sizeof(path), "%s/upload-1", store_tmp_dir(fx->store));
    write_file(path);
    snprintf(path, sizeof(path), "%s/nested", store_tmp_dir(fx->store));
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/nested/upload-2",
             store_tmp_dir(fx->store));
    write_file(path);

    reopen(fx, 0);
    assert_int_equal(stat(store_tmp_dir(fx->store), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(path, sizeof(path), "ls -A '%s'", store_tmp_dir(fx->store));
    listing = popen(path, "r");
    assert_non_null(listing);
    while (fgets(path, sizeof(path), listing) != NULL)
        entries++;
    assert_int_equal(pclose(listing), 0);
    assert_int_equal(entries, 0);
}

static void recovery_counters_persist(void **state)
{
    fixture_t *fx = *state;
    uint8_t a[700];
    uint8_t b[900];
    kadr_hash_t hash_b;
    store_txn_t *txn;
    store_stats_t stats;
    bool deduped;

    test_fill(a, sizeof(a), 65);
    test_fill(b, sizeof(b), 66);
    (void)test_put_mem(fx->store, a, sizeof(a), &deduped);
    hash_b = test_put_mem(fx->store, b, sizeof(b), &deduped).hash;
    assert_int_equal(store_txn_begin(fx->store, true, &txn), 0);
    assert_int_equal(store_blob_unref(txn, &hash_b), 0);
    assert_int_equal(store_txn_commit(txn), 0);

    reopen(fx, 0);
    assert_int_equal(store_txn_begin(fx->store, false, &txn), 0);
    assert_int_equal(store_get_stats(txn, &stats), 0);
    store_txn_abort(txn);
    assert_int_equal(stats.blobs, 1);
    assert_int_equal(stats.live_bytes, sizeof(a));
    assert_int_equal(stats.dead_bytes, sizeof(b));
    assert_int_equal(stats.volumes, 1);
}

static void recovery_volume_shorter_than_index(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[2000];
    char *path;
    bool deduped;

    test_fill(data, sizeof(data), 67);
    (void)test_put_mem(fx->store, data, sizeof(data), &deduped);
    store_close(fx->store);
    fx->store = NULL;
    path = test_volume_path(fx->dir, 1);
    assert_int_equal(truncate(path, 100), 0);
    free(path);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), KADR_E_CORRUPT);
}

static void recovery_missing_volume_file(void **state)
{
    fixture_t *fx = *state;
    uint8_t data[2000];
    store_options_t opts = {.volume_max_bytes = 2048};
    char *path;
    bool deduped;

    store_close(fx->store);
    assert_int_equal(store_open(fx->dir, &opts, &fx->store), 0);
    test_fill(data, sizeof(data), 68);
    (void)test_put_mem(fx->store, data, sizeof(data), &deduped);
    (void)test_put_mem(fx->store, data, 1000, &deduped);
    store_close(fx->store);
    fx->store = NULL;
    path = test_volume_path(fx->dir, 1);
    assert_int_equal(unlink(path), 0);
    free(path);
    assert_int_equal(store_open(fx->dir, &opts, &fx->store), KADR_E_CORRUPT);
}

/* Writes schema_version into the meta database, bypassing the store. */
static void set_schema_version(const char *dir, uint32_t version)
{
    char path[4096];
    uint8_t bytes[4] = {(uint8_t)version, (uint8_t)(version >> 8),
                        (uint8_t)(version >> 16), (uint8_t)(version >> 24)};
    MDB_val key = {.mv_size = 14, .mv_data = "schema_version"};
    MDB_val val = {.mv_size = sizeof(bytes), .mv_data = bytes};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;

    snprintf(path, sizeof(path), "%s/index", dir);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0644), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void recovery_unknown_schema_version(void **state)
{
    fixture_t *fx = *state;

    store_close(fx->store);
    fx->store = NULL;
    set_schema_version(fx->dir, 99);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), KADR_E_FORMAT);
    set_schema_version(fx->dir, 1);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
}

/* Returns the size of volume id in dir. */
static off_t volume_size(const char *dir, uint32_t id)
{
    char *path = test_volume_path(dir, id);
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    free(path);
    return st.st_size;
}

/* An emptied index beside volumes with needles is rejected instead of
 * being started afresh, which would cut every volume to its header. */
static void recovery_empty_index_keeps_volumes(void **state)
{
    fixture_t *fx = *state;
    store_options_t reader = {.read_only = true};
    uint8_t data[2000];
    char path[4096];
    off_t before;
    bool deduped;

    test_fill(data, sizeof(data), 69);
    (void)test_put_mem(fx->store, data, sizeof(data), &deduped);
    store_close(fx->store);
    fx->store = NULL;
    before = volume_size(fx->dir, 1);
    assert_true(before > VOLUME_HEADER_SIZE);
    snprintf(path, sizeof(path), "%s/index/data.mdb", fx->dir);
    assert_int_equal(truncate(path, 0), 0);
    /* A reader, as kadrctl opens the store, gets the same error. */
    assert_int_equal(store_open(fx->dir, &reader, &fx->store),
                     KADR_E_INDEX_LOST);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), KADR_E_INDEX_LOST);
    assert_int_equal(volume_size(fx->dir, 1), before);
    /* The refused start left no schema behind, so a second one refuses
     * too. */
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), KADR_E_INDEX_LOST);
    assert_int_equal(volume_size(fx->dir, 1), before);
}

/* Volumes that hold only their header carry nothing to lose. */
static void recovery_empty_index_header_only(void **state)
{
    fixture_t *fx = *state;
    char path[4096];

    store_close(fx->store);
    fx->store = NULL;
    assert_int_equal(volume_size(fx->dir, 1), VOLUME_HEADER_SIZE);
    snprintf(path, sizeof(path), "%s/index/data.mdb", fx->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(store_open(fx->dir, NULL, &fx->store), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(recovery_cuts_uncommitted_needle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recovery_empty_volume_keeps_header,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(recovery_cuts_appended_garbage, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recovery_empties_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(recovery_counters_persist, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recovery_volume_shorter_than_index,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(recovery_missing_volume_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recovery_unknown_schema_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recovery_empty_index_keeps_volumes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(recovery_empty_index_header_only, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
