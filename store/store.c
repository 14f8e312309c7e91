#include "store_internal.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "meta.h"

/* Open file descriptors nftw() may use while emptying DIR/tmp/. */
#define TMP_WALK_MAX_FDS 16

static char *path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *path = malloc(len);

    if (path != NULL)
        snprintf(path, len, "%s/%s", dir, name);
    return path;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *walk)
{
    if (walk->level == 0)
        return 0;
    if (remove(path) != 0)
        return errno;
    return 0;
}

/* Removes everything inside dir, keeping dir itself. */
static int empty_dir(const char *dir)
{
    int rc = nftw(dir, remove_entry, TMP_WALK_MAX_FDS, FTW_DEPTH | FTW_PHYS);

    if (rc == -1)
        return -errno;
    return -rc;
}

static void apply_defaults(store_options_t *opts, const store_options_t *in)
{
    if (in != NULL)
        *opts = *in;
    else
        memset(opts, 0, sizeof(*opts));
    if (opts->volume_max_bytes == 0)
        opts->volume_max_bytes = STORE_DEFAULT_VOLUME_MAX_BYTES;
    if (opts->map_size_bytes == 0)
        opts->map_size_bytes = STORE_DEFAULT_MAP_SIZE_BYTES;
}

/* Returns the indexed end of a volume for recovery, from the meta database. */
static int indexed_end(void *ctx, uint32_t id, uint64_t *end)
{
    int rc = meta_volume_end_get(ctx, id, end);

    if (rc == KADR_E_NOT_FOUND) {
        *end = VOLUME_HEADER_SIZE;
        return 0;
    }
    return rc;
}

/* Returns KADR_E_CORRUPT for an indexed volume whose file is missing. */
static int check_volume_exists(void *ctx, uint32_t id, uint64_t end)
{
    store_t *store = ctx;

    if (volume_fd(&store->volumes, id) < 0)
        return KADR_E_CORRUPT;
    return 0;
}

static int open_volumes(store_t *store, const char *dir)
{
    store_txn_t txn = {.store = store};
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn.mdb);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = volume_table_open(&store->volumes, dir, store->opts.volume_max_bytes,
                           store->opts.read_only, indexed_end, &txn);
    if (rc == 0 && store->opts.retired_grace_ms > 0)
        store->volumes.retired_grace_ns =
            (uint64_t)store->opts.retired_grace_ms * 1000000u;
    if (rc == 0) {
        rc = meta_volume_each(&txn, check_volume_exists, store);
        if (rc != 0)
            volume_table_close(&store->volumes);
    }
    mdb_txn_abort(txn.mdb);
    return rc;
}

/* Takes DIR/lock so that two writers never recover or append to the
 * same volumes. The lock goes with the process, even on SIGKILL. */
static int lock_data_dir(store_t *store, const char *data_dir)
{
    char *path = path_join(data_dir, "lock");

    if (path == NULL)
        return -ENOMEM;
    store->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (store->lock_fd < 0)
        return -errno;
    if (flock(store->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

        close(store->lock_fd);
        store->lock_fd = -1;
        return rc;
    }
    return 0;
}

/* Creates the folders of the store and opens the index and volumes. */
static int open_parts(store_t *store, const char *index_dir,
                      const char *volumes_dir)
{
    int rc;

    if (store->opts.read_only) {
        rc = index_open(store, index_dir, store->opts.map_size_bytes);
        if (rc == 0)
            rc = open_volumes(store, volumes_dir);
        return rc;
    }
    rc = make_dir(index_dir);

    if (rc == 0)
        rc = make_dir(volumes_dir);
    if (rc == 0)
        rc = make_dir(store->tmp_dir);
    if (rc == 0)
        rc = empty_dir(store->tmp_dir);
    if (rc != 0)
        return rc;
    rc = index_open(store, index_dir, store->opts.map_size_bytes);
    if (rc != 0)
        return rc;
    rc = store__compact_recover(store);
    if (rc == 0)
        rc = open_volumes(store, volumes_dir);
    if (rc != 0)
        index_close(store);
    return rc;
}

int store_open(const char *data_dir, const store_options_t *opts, store_t **out)
{
    store_t *store;
    char *index_dir = NULL;
    char *volumes_dir = NULL;
    int rc;

    if (data_dir == NULL || out == NULL)
        return KADR_E_BAD_INPUT;
    store = calloc(1, sizeof(*store));
    if (store == NULL)
        return -ENOMEM;
    store->lock_fd = -1;
    apply_defaults(&store->opts, opts);
    rc = store->opts.read_only ? 0 : make_dir(data_dir);
    if (rc == 0 && !store->opts.read_only)
        rc = lock_data_dir(store, data_dir);
    if (rc != 0) {
        free(store);
        return rc;
    }
    index_dir = path_join(data_dir, "index");
    volumes_dir = path_join(data_dir, "volumes");
    store->tmp_dir = path_join(data_dir, "tmp");
    store->volumes_dir = volumes_dir;
    rc = pthread_mutex_init(&store->compact_lock, NULL);
    if (rc != 0)
        rc = -rc;
    else if (index_dir == NULL || volumes_dir == NULL || store->tmp_dir == NULL)
        rc = -ENOMEM;
    else
        rc = open_parts(store, index_dir, volumes_dir);
    free(index_dir);
    if (rc != 0)
        goto fail_open;
    *out = store;
    return 0;

fail_open:
    if (store->lock_fd >= 0)
        close(store->lock_fd);
    free(store->volumes_dir);
    free(store->tmp_dir);
    free(store);
    return rc;
}

void store_close(store_t *store)
{
    if (store == NULL)
        return;
    volume_table_close(&store->volumes);
    index_close(store);
    if (store->lock_fd >= 0)
        close(store->lock_fd);
    pthread_mutex_destroy(&store->compact_lock);
    free(store->volumes_dir);
    free(store->tmp_dir);
    free(store);
}

const char *store_tmp_dir(const store_t *store)
{
    return store->tmp_dir;
}

int store_volume_fd(store_t *store, uint32_t volume_id)
{
    return volume_fd(&store->volumes, volume_id);
}

void store_close_retired(store_t *store)
{
    volume_drop_retired(&store->volumes);
}

uint32_t store_volume_count(store_t *store)
{
    return volume_count(&store->volumes);
}
