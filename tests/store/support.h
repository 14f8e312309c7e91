/* Helpers shared by the store tests: temporary data folders, test data
 * and its hash, and volume file paths. They fail the running cmocka test
 * on any system error. */
#ifndef KADR_TESTS_STORE_SUPPORT_H
#define KADR_TESTS_STORE_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Creates an empty folder under $TMPDIR (or /tmp); free with
 * test_dir_remove(), which deletes it and everything in it. */
char *test_dir_make(void);
void test_dir_remove(char *dir);

/* Fills buf with bytes that depend only on seed. */
void test_fill(uint8_t *buf, size_t len, uint32_t seed);

/* Returns the XXH3-128 hash of data in kadr's canonical byte order. */
kadr_hash_t test_hash(const void *data, size_t len);

/* Returns DIR/volumes/<id>.vol in a malloc'd string. */
char *test_volume_path(const char *dir, uint32_t id);

/* Returns the size of a volume file in bytes. */
uint64_t test_volume_size(const char *dir, uint32_t id);

/* Writes data to a new file at DIR/tmp/name and returns it opened for
 * reading, as an upload's temporary file would be. */
int test_tmp_file(store_t *store, const char *name, const void *data,
                  size_t len);

/* Commits a staged blob in a write transaction of its own. */
void test_commit(store_t *store, const store_staged_t *staged, bool *deduped);

/* Stages data from memory and commits it in a write transaction of its
 * own. Returns the staged needle. */
store_staged_t test_put_mem(store_t *store, const void *data, size_t len,
                            bool *deduped);

/* Looks hash up in a read transaction of its own and returns the result
 * of store_blob_get(). */
int test_lookup(store_t *store, const kadr_hash_t *hash, store_blob_t *out);

/* Returns the store's counters, read in a transaction of its own. */
store_stats_t test_stats(store_t *store);

#endif
