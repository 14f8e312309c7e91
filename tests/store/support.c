#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cmocka.h>

char *test_dir_make(void)
{
    const char *base = getenv("TMPDIR");
    char *path;
    size_t len;

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    len = strlen(base) + sizeof("/kadr-store-XXXXXX");
    path = malloc(len);
    assert_non_null(path);
    snprintf(path, len, "%s/kadr-store-XXXXXX", base);
    assert_non_null(mkdtemp(path));
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *walk)
{
    return remove(path) == 0 ? 0 : errno;
}

void test_dir_remove(char *dir)
{
    if (dir == NULL)
        return;
    assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

void test_fill(uint8_t *buf, size_t len, uint32_t seed)
{
    uint64_t x = 0x9e3779b97f4a7c15u ^ seed;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
}

kadr_hash_t test_hash(const void *data, size_t len)
{
    XXH128_canonical_t canonical;
    kadr_hash_t hash;

    XXH128_canonicalFromHash(&canonical, XXH3_128bits(data, len));
    memcpy(hash.bytes, canonical.digest, KADR_HASH_SIZE);
    return hash;
}

char *test_volume_path(const char *dir, uint32_t id)
{
    size_t len = strlen(dir) + sizeof("/volumes/4294967295.vol");
    char *path = malloc(len);

    assert_non_null(path);
    snprintf(path, len, "%s/volumes/%08u.vol", dir, (unsigned)id);
    return path;
}

uint64_t test_volume_size(const char *dir, uint32_t id)
{
    char *path = test_volume_path(dir, id);
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    free(path);
    return (uint64_t)st.st_size;
}

int test_tmp_file(store_t *store, const char *name, const void *data,
                  size_t len)
{
    char path[4096];
    const uint8_t *p = data;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", store_tmp_dir(store), name);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
    return fd;
}

void test_commit(store_t *store, const store_staged_t *staged, bool *deduped)
{
    store_txn_t *txn;

    assert_int_equal(store_txn_begin(store, true, &txn), 0);
    assert_int_equal(store_blob_commit(txn, staged, deduped), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

store_staged_t test_put_mem(store_t *store, const void *data, size_t len,
                            bool *deduped)
{
    kadr_hash_t hash = test_hash(data, len);
    store_staged_t staged;

    assert_int_equal(store_blob_stage_mem(store, data, len, &hash, 1, &staged),
                     0);
    test_commit(store, &staged, deduped);
    return staged;
}

int test_lookup(store_t *store, const kadr_hash_t *hash, store_blob_t *out)
{
    store_txn_t *txn;
    int rc;

    assert_int_equal(store_txn_begin(store, false, &txn), 0);
    rc = store_blob_get(txn, hash, out);
    store_txn_abort(txn);
    return rc;
}

store_stats_t test_stats(store_t *store)
{
    store_txn_t *txn;
    store_stats_t st;

    assert_int_equal(store_txn_begin(store, false, &txn), 0);
    assert_int_equal(store_get_stats(txn, &st), 0);
    store_txn_abort(txn);
    return st;
}
