#include "volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "byte_order.h"
#include "io.h"

static const uint8_t volume_magic[4] = {'K', 'D', 'V', 'L'};

void volume_file_name(uint32_t id, char out[16])
{
    snprintf(out, 16, "%08u.vol", (unsigned)id);
}

int volume_path(const char *dir, uint32_t id, char out[PATH_MAX])
{
    char name[16];
    int n;

    volume_file_name(id, name);
    n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

/* Returns the id that a volume file name stands for, or 0 if the name is
 * not the canonical name of a volume. */
static uint32_t parse_file_name(const char *name)
{
    char canonical[16];
    char *end;
    unsigned long long id;

    if (name[0] < '0' || name[0] > '9')
        return 0;
    errno = 0;
    id = strtoull(name, &end, 10);
    if (errno != 0 || id == 0 || id > UINT32_MAX || strcmp(end, ".vol") != 0)
        return 0;
    volume_file_name((uint32_t)id, canonical);
    if (strcmp(canonical, name) != 0)
        return 0;
    return (uint32_t)id;
}

static void encode_header(uint32_t id, uint8_t out[VOLUME_HEADER_SIZE])
{
    memcpy(out, volume_magic, sizeof(volume_magic));
    store__put_le32(out + 4, VOLUME_VERSION);
    store__put_le32(out + 8, id);
    store__put_le32(out + 12, 0);
}

static int check_header(int fd, uint32_t id)
{
    uint8_t head[VOLUME_HEADER_SIZE];
    int rc = store__pread_full(fd, head, sizeof(head), 0);

    if (rc != 0)
        return rc;
    if (memcmp(head, volume_magic, sizeof(volume_magic)) != 0)
        return KADR_E_FORMAT;
    if (store__get_le32(head + 4) != VOLUME_VERSION)
        return KADR_E_FORMAT;
    if (store__get_le32(head + 8) != id)
        return KADR_E_CORRUPT;
    return 0;
}

static int write_header(int fd, uint32_t id)
{
    uint8_t head[VOLUME_HEADER_SIZE];
    int rc;

    encode_header(id, head);
    rc = kadr_pwrite_full(fd, head, sizeof(head), 0);
    if (rc != 0)
        return rc;
    if (fsync(fd) != 0)
        return -errno;
    return 0;
}

/* Cuts an open volume file back to end and syncs it. A file shorter than
 * its header contains no indexed needle (a volume whose creation was cut
 * off), so it gets its header again. */
static int recover_fd(int fd, uint32_t id, uint64_t end)
{
    struct stat st;
    int rc;

    if (fstat(fd, &st) != 0)
        return -errno;
    if ((uint64_t)st.st_size < VOLUME_HEADER_SIZE) {
        if (end > VOLUME_HEADER_SIZE)
            return KADR_E_CORRUPT;
        return write_header(fd, id);
    }
    rc = check_header(fd, id);
    if (rc != 0)
        return rc;
    if ((uint64_t)st.st_size < end)
        return KADR_E_CORRUPT;
    if ((uint64_t)st.st_size == end)
        return 0;
    if (ftruncate(fd, (off_t)end) != 0)
        return -errno;
    if (fsync(fd) != 0)
        return -errno;
    return 0;
}

static int recover_file(const char *dir, uint32_t id, uint64_t end)
{
    char path[PATH_MAX];
    int fd;
    int rc = volume_path(dir, id, path);

    if (rc != 0)
        return rc;
    if (end < VOLUME_HEADER_SIZE)
        end = VOLUME_HEADER_SIZE;
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = recover_fd(fd, id, end);
    close(fd);
    return rc;
}

static void volume_free(volume_t *vol)
{
    free(vol->pins);
    if (vol->rfd >= 0)
        close(vol->rfd);
    if (vol->wfd >= 0)
        close(vol->wfd);
    free(vol);
}

/* Opens the read fd of an existing volume file. */
static int volume_load(const char *dir, uint32_t id, volume_t **out)
{
    char path[PATH_MAX];
    volume_t *vol;
    int rc = volume_path(dir, id, path);

    if (rc != 0)
        return rc;
    vol = malloc(sizeof(*vol));
    if (vol == NULL)
        return -ENOMEM;
    vol->id = id;
    vol->wfd = -1;
    vol->retired = false;
    vol->pins = NULL;
    vol->pin_count = 0;
    vol->pin_cap = 0;
    vol->append_end = 0;
    vol->rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (vol->rfd < 0) {
        rc = -errno;
        free(vol);
        return rc;
    }
    *out = vol;
    return 0;
}

/* Creates volume id with its header, synced along with the folder entry,
 * and opens it for reading and appending. */
static int volume_create(const char *dir, uint32_t id, volume_t **out)
{
    char path[PATH_MAX];
    volume_t *vol;
    int fd;
    int rc = volume_path(dir, id, path);

    if (rc != 0)
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    rc = write_header(fd, id);
    if (rc != 0)
        goto fail_header;
    rc = kadr_fsync_dir(dir);
    if (rc != 0)
        goto fail_header;
    rc = volume_load(dir, id, &vol);
    if (rc != 0)
        goto fail_header;
    vol->wfd = fd;
    *out = vol;
    return 0;

fail_header:
    close(fd);
    unlink(path);
    return rc;
}

static int table_grow(volume_table_t *table)
{
    size_t cap = table->cap == 0 ? 16 : table->cap * 2;
    volume_t **items;

    if (cap > VOLUME_MAX_COUNT)
        cap = VOLUME_MAX_COUNT;
    if (cap <= table->count)
        return KADR_E_TOO_LARGE;
    items = realloc(table->items, cap * sizeof(*items));
    if (items == NULL)
        return -ENOMEM;
    table->items = items;
    table->cap = cap;
    return 0;
}

/* Returns the index of the first volume whose id is id or more. The
 * caller holds the table lock. */
static size_t table_find(const volume_table_t *table, uint32_t id)
{
    size_t lo = 0;
    size_t hi = table->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (table->items[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static volume_t *table_lookup(const volume_table_t *table, uint32_t id)
{
    size_t i = table_find(table, id);

    if (i < table->count && table->items[i]->id == id)
        return table->items[i];
    return NULL;
}

/* Inserts vol in id order. KADR_E_EXISTS if its id is there already. */
static int table_add(volume_table_t *table, volume_t *vol)
{
    size_t i;
    int rc = 0;

    pthread_rwlock_wrlock(&table->lock);
    i = table_find(table, vol->id);
    if (i < table->count && table->items[i]->id == vol->id)
        rc = KADR_E_EXISTS;
    if (rc == 0 && table->count == table->cap)
        rc = table_grow(table);
    if (rc == 0) {
        memmove(table->items + i + 1, table->items + i,
                (table->count - i) * sizeof(*table->items));
        table->items[i] = vol;
        table->count++;
        if (vol->id >= table->next_id)
            table->next_id = vol->id + 1;
    }
    pthread_rwlock_unlock(&table->lock);
    return rc;
}

static int compare_ids(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Lists the ids of the volume files in dir, sorted. */
static int list_ids(const char *dir, uint32_t **ids_out, size_t *count_out)
{
    DIR *d = opendir(dir);
    uint32_t *ids;
    size_t count = 0;
    struct dirent *entry;

    if (d == NULL)
        return -errno;
    ids = malloc(VOLUME_MAX_COUNT * sizeof(*ids));
    if (ids == NULL) {
        closedir(d);
        return -ENOMEM;
    }
    while ((entry = readdir(d)) != NULL) {
        uint32_t id = parse_file_name(entry->d_name);

        if (id == 0)
            continue;
        if (count == VOLUME_MAX_COUNT) {
            closedir(d);
            free(ids);
            return KADR_E_TOO_LARGE;
        }
        ids[count++] = id;
    }
    closedir(d);
    qsort(ids, count, sizeof(*ids), compare_ids);
    *ids_out = ids;
    *count_out = count;
    return 0;
}

int volume_dir_has_data(const char *dir)
{
    uint32_t *ids = NULL;
    size_t count = 0;
    int rc = list_ids(dir, &ids, &count);

    if (rc == -ENOENT)
        return 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char path[PATH_MAX];
        struct stat st;

        rc = volume_path(dir, ids[i], path);
        if (rc != 0)
            break;
        if (stat(path, &st) != 0)
            rc = -errno;
        else if ((uint64_t)st.st_size > VOLUME_HEADER_SIZE)
            rc = 1;
    }
    free(ids);
    return rc;
}

/* Opens an empty volume for appends, so that it takes later needles. */
/* Opens the write fd of a loaded volume, unless it has one. */
static int open_write_fd(const char *dir, volume_t *vol)
{
    char path[PATH_MAX];
    int rc;

    if (vol->wfd >= 0)
        return 0;
    rc = volume_path(dir, vol->id, path);
    if (rc != 0)
        return rc;
    vol->wfd = open(path, O_WRONLY | O_CLOEXEC);
    return vol->wfd < 0 ? -errno : 0;
}

static int open_empty(const char *dir, volume_t *vol)
{
    int rc = open_write_fd(dir, vol);

    if (rc == 0)
        vol->append_end = VOLUME_HEADER_SIZE;
    return rc;
}

static int recover_and_load(volume_table_t *table, uint32_t id,
                            volume_end_fn end_of, void *ctx)
{
    uint64_t end;
    volume_t *vol;
    int rc = end_of(ctx, id, &end);

    if (rc != 0)
        return rc;
    if (!table->read_only)
        rc = recover_file(table->dir, id, end);
    if (rc != 0)
        return rc;
    rc = volume_load(table->dir, id, &vol);
    if (rc != 0)
        return rc;
    if (!table->read_only && end <= VOLUME_HEADER_SIZE)
        rc = open_empty(table->dir, vol);
    if (rc == 0)
        rc = table_add(table, vol);
    if (rc != 0)
        volume_free(vol);
    return rc;
}

static int load_all(volume_table_t *table, volume_end_fn end_of, void *ctx)
{
    uint32_t *ids = NULL;
    size_t count = 0;
    int rc = list_ids(table->dir, &ids, &count);

    if (rc != 0)
        return rc;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = recover_and_load(table, ids[i], end_of, ctx);
    free(ids);
    return rc;
}

static int create_first(volume_table_t *table)
{
    volume_t *vol;
    int rc = volume_create(table->dir, 1, &vol);

    if (rc != 0)
        return rc;
    rc = table_add(table, vol);
    if (rc != 0)
        volume_free(vol);
    return rc;
}

/* Makes the last volume the active one, creating volume 1 if none. */
static int activate_last(volume_table_t *table)
{
    volume_t *vol;
    struct stat st;
    int rc;

    if (table->count == 0) {
        rc = create_first(table);
        if (rc != 0)
            return rc;
    }
    vol = table->items[table->count - 1];
    rc = open_write_fd(table->dir, vol);
    if (rc != 0)
        return rc;
    if (fstat(vol->wfd, &st) != 0)
        return -errno;
    table->active = vol;
    vol->append_end = (uint64_t)st.st_size;
    return 0;
}

static int init_locks(volume_table_t *table)
{
    int rc = pthread_rwlock_init(&table->lock, NULL);

    if (rc != 0)
        return -rc;
    rc = pthread_mutex_init(&table->append_lock, NULL);
    if (rc != 0) {
        pthread_rwlock_destroy(&table->lock);
        return -rc;
    }
    return 0;
}

int volume_table_open(volume_table_t *table, const char *dir,
                      uint64_t max_bytes, bool read_only, volume_end_fn end_of,
                      void *ctx)
{
    int rc;

    memset(table, 0, sizeof(*table));
    table->next_id = 1;
    table->retired_grace_ns = (uint64_t)VOLUME_RETIRED_GRACE_S * 1000000000u;
    table->max_bytes = max_bytes;
    table->read_only = read_only;
    table->dir = strdup(dir);
    if (table->dir == NULL)
        return -ENOMEM;
    rc = init_locks(table);
    if (rc != 0)
        goto fail_locks;
    rc = load_all(table, end_of, ctx);
    if (rc != 0)
        goto fail_load;
    if (!read_only)
        rc = activate_last(table);
    if (rc != 0)
        goto fail_load;
    return 0;

fail_load:
    volume_table_close(table);
    return rc;
fail_locks:
    free(table->dir);
    table->dir = NULL;
    return rc;
}

void volume_table_close(volume_table_t *table)
{
    if (table->dir == NULL)
        return;
    for (size_t i = 0; i < table->count; i++)
        volume_free(table->items[i]);
    free(table->items);
    pthread_mutex_destroy(&table->append_lock);
    pthread_rwlock_destroy(&table->lock);
    free(table->dir);
    memset(table, 0, sizeof(*table));
}

static int lookup_fd(volume_table_t *table, uint32_t id)
{
    volume_t *vol;
    int fd = KADR_E_NOT_FOUND;

    pthread_rwlock_rdlock(&table->lock);
    vol = table_lookup(table, id);
    if (vol != NULL)
        fd = vol->rfd;
    pthread_rwlock_unlock(&table->lock);
    return fd;
}

/* Opens a volume that a writer created after this reader opened. */
static int load_late(volume_table_t *table, uint32_t id)
{
    volume_t *vol;
    int rc = volume_load(table->dir, id, &vol);

    if (rc == -ENOENT)
        return KADR_E_NOT_FOUND;
    if (rc != 0)
        return rc;
    rc = table_add(table, vol);
    if (rc != 0)
        volume_free(vol);
    if (rc == KADR_E_EXISTS)
        return 0; /* another thread loaded it first */
    return rc;
}

int volume_fd(volume_table_t *table, uint32_t id)
{
    int fd = lookup_fd(table, id);
    int rc;

    if (fd != KADR_E_NOT_FOUND || !table->read_only || id == 0)
        return fd;
    rc = load_late(table, id);
    if (rc != 0)
        return rc;
    return lookup_fd(table, id);
}

uint32_t volume_count(volume_table_t *table)
{
    uint32_t count = 0;

    pthread_rwlock_rdlock(&table->lock);
    for (size_t i = 0; i < table->count; i++)
        count += table->items[i]->retired ? 0 : 1;
    pthread_rwlock_unlock(&table->lock);
    return count;
}

uint32_t volume_active_id(volume_table_t *table)
{
    uint32_t id = 0;

    pthread_mutex_lock(&table->append_lock);
    if (table->active != NULL)
        id = table->active->id;
    pthread_mutex_unlock(&table->append_lock);
    return id;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void volume_retire(volume_table_t *table, uint32_t id, bool retired)
{
    volume_t *vol;

    pthread_rwlock_wrlock(&table->lock);
    vol = table_lookup(table, id);
    if (vol != NULL) {
        vol->retired = retired;
        vol->retired_ns = monotonic_ns();
        if (retired && vol->pin_count == 0 && vol->wfd >= 0) {
            close(vol->wfd);
            vol->wfd = -1;
        }
    }
    pthread_rwlock_unlock(&table->lock);
}

/* Adds a pin. The caller holds the table lock for writing. */
static int pin_add(volume_t *vol, uint64_t offset)
{
    if (vol->pin_count == vol->pin_cap) {
        size_t cap = vol->pin_cap == 0 ? 16 : vol->pin_cap * 2;
        uint64_t *pins;

        if (cap > VOLUME_MAX_PINS)
            return KADR_E_TOO_LARGE;
        pins = realloc(vol->pins, cap * sizeof(*pins));
        if (pins == NULL)
            return -ENOMEM;
        vol->pins = pins;
        vol->pin_cap = cap;
    }
    vol->pins[vol->pin_count++] = offset;
    return 0;
}

/* Removes a pin if it is there. The caller holds the table lock for
 * writing. */
static void pin_remove(volume_t *vol, uint64_t offset)
{
    for (size_t i = 0; i < vol->pin_count; i++) {
        if (vol->pins[i] == offset) {
            vol->pins[i] = vol->pins[--vol->pin_count];
            return;
        }
    }
}

void volume_unpin(volume_table_t *table, uint32_t id, uint64_t offset)
{
    volume_t *vol;

    pthread_rwlock_wrlock(&table->lock);
    vol = table_lookup(table, id);
    if (vol != NULL) {
        pin_remove(vol, offset);
        if (vol->pin_count == 0 && vol->retired && vol->wfd >= 0) {
            close(vol->wfd);
            vol->wfd = -1;
        }
    }
    pthread_rwlock_unlock(&table->lock);
}

bool volume_is_retired(volume_table_t *table, uint32_t id)
{
    volume_t *vol;
    bool retired = false;

    pthread_rwlock_rdlock(&table->lock);
    vol = table_lookup(table, id);
    if (vol != NULL)
        retired = vol->retired;
    pthread_rwlock_unlock(&table->lock);
    return retired;
}

static bool can_drop(const volume_table_t *table, const volume_t *vol,
                     uint64_t now)
{
    uint64_t age = now - vol->retired_ns;

    if (!vol->retired || age <= table->retired_grace_ns)
        return false;
    return vol->pin_count == 0 ||
           age > table->retired_grace_ns * VOLUME_PIN_MAX_GRACES;
}

void volume_drop_retired(volume_table_t *table)
{
    uint64_t now = monotonic_ns();
    size_t kept = 0;

    pthread_rwlock_wrlock(&table->lock);
    for (size_t i = 0; i < table->count; i++) {
        if (can_drop(table, table->items[i], now))
            volume_free(table->items[i]);
        else
            table->items[kept++] = table->items[i];
    }
    table->count = kept;
    pthread_rwlock_unlock(&table->lock);
}

/* Returns an empty volume: emptied by cancelled reservations, or by
 * recovery when the store was opened. It is not active, not retired,
 * open for writing, with no needle and no pin. The caller holds
 * append_lock. */
static volume_t *find_empty(volume_table_t *table)
{
    volume_t *found = NULL;

    pthread_rwlock_rdlock(&table->lock);
    for (size_t i = 0; i < table->count && found == NULL; i++) {
        volume_t *vol = table->items[i];

        if (vol != table->active && !vol->retired && vol->wfd >= 0 &&
            vol->append_end == VOLUME_HEADER_SIZE && vol->pin_count == 0)
            found = vol;
    }
    pthread_rwlock_unlock(&table->lock);
    return found;
}

/* Sets *out to an empty volume for appends: an emptied one, else a new
 * one. The caller holds append_lock. */
static int empty_volume(volume_table_t *table, volume_t **out)
{
    volume_t *vol = find_empty(table);
    int rc;

    if (vol != NULL) {
        *out = vol;
        return 0;
    }
    if (table->next_id == UINT32_MAX)
        return KADR_E_TOO_LARGE;
    rc = volume_create(table->dir, table->next_id, &vol);
    if (rc != 0)
        return rc;
    rc = table_add(table, vol);
    if (rc != 0) {
        volume_free(vol);
        return rc;
    }
    vol->append_end = VOLUME_HEADER_SIZE;
    *out = vol;
    return 0;
}

/* Starts the volume after the active one. The caller holds append_lock. */
static int roll_active(volume_table_t *table)
{
    volume_t *vol;
    int rc = empty_volume(table, &vol);

    if (rc == 0)
        table->active = vol;
    return rc;
}

int volume_seal(volume_table_t *table, uint32_t id)
{
    int rc = 0;

    if (table->read_only)
        return KADR_E_BAD_INPUT;
    pthread_mutex_lock(&table->append_lock);
    if (table->active->id == id)
        rc = roll_active(table);
    pthread_mutex_unlock(&table->append_lock);
    return rc;
}

/* Sets *out to the volume a needle of size bytes goes to. The caller
 * holds append_lock. */
static int place_needle(volume_table_t *table, uint64_t size, volume_t **out)
{
    volume_t *active = table->active;
    volume_t *vol;
    int rc;

    if (active->append_end == VOLUME_HEADER_SIZE ||
        active->append_end + size <= table->max_bytes) {
        *out = active;
        return 0;
    }
    rc = empty_volume(table, &vol);
    if (rc != 0)
        return rc;
    /* The volume with more room left takes the appends that follow. */
    if (VOLUME_HEADER_SIZE + size < active->append_end)
        table->active = vol;
    *out = vol;
    return 0;
}

int volume_append_reserve(volume_table_t *table, uint64_t size, volume_t **vol,
                          uint64_t *offset)
{
    volume_t *target = NULL;
    int rc;

    if (table->read_only)
        return KADR_E_BAD_INPUT;
    pthread_mutex_lock(&table->append_lock);
    rc = place_needle(table, size, &target);
    /* Pinned under the table lock that volume_retire() takes, so a
     * retirement that follows sees the pin. */
    if (rc == 0) {
        pthread_rwlock_wrlock(&table->lock);
        rc = pin_add(target, target->append_end);
        pthread_rwlock_unlock(&table->lock);
    }
    if (rc == 0) {
        *vol = target;
        *offset = target->append_end;
        target->append_end += size;
    }
    pthread_mutex_unlock(&table->append_lock);
    return rc;
}

/* NOTE: a needle staged but never committed below a later indexed needle
 * stays as it was written, and a punched gap stays in the file's size.
 * Neither is in the dead_bytes counter of the meta database. Both are
 * found by store_volume_list(), which counts every byte of a volume file
 * that is not a live needle as dead. */
void volume_append_cancel(volume_table_t *table, uint32_t id, int fd,
                          uint64_t offset, uint64_t size)
{
    volume_t *vol;
    bool retired = true;
    bool tail;

    pthread_mutex_lock(&table->append_lock);
    pthread_rwlock_rdlock(&table->lock);
    vol = table_lookup(table, id);
    if (vol != NULL)
        retired = vol->retired;
    pthread_rwlock_unlock(&table->lock);
    /* The reservation's pin keeps vol in the table until the unpin. */
    tail = !retired && vol->append_end == offset + size &&
           ftruncate(fd, (off_t)offset) == 0;
    if (tail)
        vol->append_end = offset;
    pthread_mutex_unlock(&table->append_lock);
    /* A failed punch leaves the bytes as they are, which nothing reads. */
    if (!tail)
        (void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        (off_t)offset, (off_t)size);
    volume_unpin(table, id, offset);
}
