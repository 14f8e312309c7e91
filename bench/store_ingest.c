/* store_ingest: times store_blob_stage() and store_blob_commit() on files
 * of random bytes, the store's part of an upload without HTTP, for
 * bench/ingest.sh.
 *
 * usage: store_ingest DIR SIZE_BYTES COUNT RUNS
 * Prints the median seconds per run (COUNT new blobs) and per run of
 * COUNT dedup hits (the same files staged again). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "store.h"

/* Maximum bodies per run, to bound the open files. */
#define MAX_COUNT 1000

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Writes size random bytes to a new file under tmp and returns it open
 * for reading, with the XXH3-128 of its bytes in *hash. */
static int make_body(store_t *store, uint64_t size, kadr_hash_t *hash)
{
    char path[4096];
    uint8_t *buf = malloc(1 << 20);
    XXH3_state_t *state = XXH3_createState();
    int fd;

    snprintf(path, sizeof(path), "%s/body-XXXXXX", store_tmp_dir(store));
    fd = mkstemp(path);
    if (fd < 0 || buf == NULL || state == NULL)
        abort();
    unlink(path);
    XXH3_128bits_reset(state);
    for (uint64_t done = 0; done < size;) {
        size_t n = size - done < (1 << 20) ? (size_t)(size - done) : 1 << 20;

        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand();
        if (write(fd, buf, n) != (ssize_t)n)
            abort();
        XXH3_128bits_update(state, buf, n);
        done += n;
    }
    XXH128_canonicalFromHash((XXH128_canonical_t *)hash->bytes,
                             XXH3_128bits_digest(state));
    XXH3_freeState(state);
    free(buf);
    return fd;
}

static int ingest(store_t *store, int fd, uint64_t size,
                  const kadr_hash_t *hash)
{
    store_staged_t staged;
    store_txn_t *txn;
    bool deduped;
    int rc = store_blob_stage(store, fd, size, hash, 1, &staged);

    if (rc == 0)
        rc = store_txn_begin(store, true, &txn);
    if (rc != 0)
        return rc;
    rc = store_blob_commit(txn, &staged, &deduped);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

/* Times one run of count ingests and returns the seconds taken. */
static double time_run(store_t *store, const int *fds,
                       const kadr_hash_t *hashes, int count, uint64_t size)
{
    double start = now_s();

    for (int i = 0; i < count; i++) {
        int rc = ingest(store, fds[i], size, &hashes[i]);

        if (rc != 0) {
            fprintf(stderr, "store_ingest: ingest failed: %s\n",
                    kadr_strerror(rc));
            exit(1);
        }
    }
    return now_s() - start;
}

int main(int argc, char **argv)
{
    store_t *store;
    int fds[MAX_COUNT];
    kadr_hash_t hashes[MAX_COUNT];
    double fresh[64];
    double hits[64];
    uint64_t size;
    int count;
    int runs;
    int rc;

    if (argc != 5) {
        fputs("usage: store_ingest DIR SIZE_BYTES COUNT RUNS\n", stderr);
        return 2;
    }
    size = strtoull(argv[2], NULL, 10);
    count = atoi(argv[3]);
    runs = atoi(argv[4]);
    if (count < 1 || count > MAX_COUNT || runs < 1 || runs > 64) {
        fputs("store_ingest: COUNT is 1 to 1000, RUNS 1 to 64\n", stderr);
        return 2;
    }
    rc = store_open(argv[1], NULL, &store);
    if (rc != 0) {
        fprintf(stderr, "store_ingest: opening %s failed: %s\n", argv[1],
                kadr_strerror(rc));
        return 1;
    }
    for (int r = 0; r < runs; r++) {
        for (int i = 0; i < count; i++)
            fds[i] = make_body(store, size, &hashes[i]);
        fresh[r] = time_run(store, fds, hashes, count, size);
        hits[r] = time_run(store, fds, hashes, count, size);
        for (int i = 0; i < count; i++)
            close(fds[i]);
    }
    qsort(fresh, (size_t)runs, sizeof(double), compare_doubles);
    qsort(hits, (size_t)runs, sizeof(double), compare_doubles);
    printf("%.6f %.6f\n", fresh[runs / 2], hits[runs / 2]);
    store_close(store);
    return 0;
}
