#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "index.h"
#include "needle.h"
#include "source.h"

int store_blob_get(store_txn_t *txn, const kadr_hash_t *hash, store_blob_t *out)
{
    if (txn == NULL || hash == NULL || out == NULL)
        return KADR_E_BAD_INPUT;
    return index_blob_get(txn, hash, out);
}

int store_blob_each(store_txn_t *txn, store_blob_fn fn, void *ctx)
{
    if (txn == NULL || fn == NULL)
        return KADR_E_BAD_INPUT;
    return index_blob_each(txn, NULL, fn, ctx);
}

int store__lookup(store_t *store, const kadr_hash_t *hash, store_blob_t *out)
{
    store_txn_t txn = {.store = store};
    int rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn.mdb);

    if (rc != MDB_SUCCESS)
        return store__index_error(rc);
    rc = index_blob_get(&txn, hash, out);
    mdb_txn_abort(txn.mdb);
    return rc;
}

int store__stage_existing(store_t *store, source_t *src, uint64_t len,
                          const store_blob_t *found, store_staged_t *out)
{
    int fd;
    int rc;

    if (found->length != len)
        return KADR_E_COLLISION;
    fd = volume_fd(&store->volumes, found->volume_id);
    if (fd < 0)
        return fd;
    rc = source_compare_fd(src, fd, found->offset, len);
    if (rc != 0)
        return rc;
    out->blob = *found;
    out->existing = true;
    out->pinned = false;
    return 0;
}

/* Returns KADR_E_DISK_FULL if appending size bytes would leave less free
 * space than the reserve on the volumes' filesystem. */
static int check_reserve(store_t *store, uint64_t size)
{
    struct statvfs vfs;
    uint64_t free_bytes;

    if (store->opts.reserve_bytes == 0)
        return 0;
    if (statvfs(store->volumes_dir, &vfs) != 0)
        return -errno;
    free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (free_bytes < size || free_bytes - size < store->opts.reserve_bytes)
        return KADR_E_DISK_FULL;
    return 0;
}

int store__reserve_needle(store_t *store, uint64_t length, volume_t **vol,
                          uint64_t *offset)
{
    int rc = check_reserve(store, needle_size(length));

    if (rc != 0)
        return rc;
    return volume_append_reserve(&store->volumes, needle_size(length), vol,
                                 offset);
}

void store__staged_new(store_staged_t *out, uint32_t volume_id,
                       uint64_t needle_offset, uint64_t length, uint8_t format)
{
    out->blob = (store_blob_t){
        .volume_id = volume_id,
        .offset = needle_offset + NEEDLE_HEADER_SIZE,
        .length = length,
        .refcount = 0,
        .format = format,
    };
    out->existing = false;
    out->pinned = true; /* the reservation's pin */
}

/* Appends a needle to the active volume and syncs it. A failed write or
 * sync (ENOSPC included) gives the space back, so nothing half-written
 * stays at the tail. A file source is mapped, so its bytes are copied
 * once, from its page cache into the volume's. An upload's temporary
 * file is never synced, so the disk receives its bytes only here, unless
 * the kernel writes its dirty pages back before the upload ends (pages
 * older than vm.dirty_expire_centisecs, 30 s by default, or dirty memory
 * past vm.dirty_background_ratio). */
static int stage_append(store_t *store, source_t *src, uint64_t len,
                        uint8_t format, store_staged_t *out)
{
    needle_header_t header = {.format = format, .length = len};
    volume_t *vol;
    uint64_t offset;
    int rc = store__reserve_needle(store, len, &vol, &offset);

    if (rc != 0)
        return rc;
    header.hash = out->hash;
    rc = needle_write(vol->wfd, offset, &header, src);
    if (rc == 0 && fdatasync(vol->wfd) != 0)
        rc = -errno;
    if (rc != 0) {
        volume_append_cancel(&store->volumes, vol->id, vol->wfd, offset,
                             needle_size(len));
        return rc;
    }
    store__staged_new(out, vol->id, offset, len, format);
    return 0;
}

/* NOTE: the payload is not hashed again here. hash is trusted as the
 * caller's XXH3-128 of the bytes, computed while receiving them. */
static int stage_source(store_t *store, source_t *src, uint64_t len,
                        const kadr_hash_t *hash, uint8_t format,
                        store_staged_t *out)
{
    store_blob_t found;
    int rc;

    if (len > NEEDLE_MAX_PAYLOAD_BYTES)
        return KADR_E_TOO_LARGE;
    out->hash = *hash;
    rc = store__lookup(store, hash, &found);
    if (rc == 0)
        return store__stage_existing(store, src, len, &found, out);
    if (rc != KADR_E_NOT_FOUND)
        return rc;
    return stage_append(store, src, len, format, out);
}

int store_blob_stage(store_t *store, int fd, uint64_t len,
                     const kadr_hash_t *hash, uint8_t format,
                     store_staged_t *out)
{
    source_t src;
    int rc;

    if (store == NULL || fd < 0 || hash == NULL || out == NULL)
        return KADR_E_BAD_INPUT;
    rc = source_init_file(&src, fd, 0, len);
    if (rc != 0)
        return rc;
    rc = stage_source(store, &src, len, hash, format, out);
    source_free(&src);
    return rc;
}

int store_blob_stage_mem(store_t *store, const void *data, size_t len,
                         const kadr_hash_t *hash, uint8_t format,
                         store_staged_t *out)
{
    source_t src;

    if (store == NULL || (data == NULL && len > 0) || hash == NULL ||
        out == NULL)
        return KADR_E_BAD_INPUT;
    source_init_mem(&src, data);
    return stage_source(store, &src, len, hash, format, out);
}

int store_blob_read(store_t *store, const store_blob_t *blob,
                    uint8_t **data_out)
{
    uint8_t *data;
    int fd;
    int rc;

    if (store == NULL || blob == NULL || data_out == NULL)
        return KADR_E_BAD_INPUT;
    if (blob->length > STORE_BLOB_READ_MAX_BYTES)
        return KADR_E_TOO_LARGE;
    if (blob->offset < VOLUME_HEADER_SIZE + NEEDLE_HEADER_SIZE)
        return KADR_E_BAD_INPUT;
    fd = volume_fd(&store->volumes, blob->volume_id);
    if (fd < 0)
        return fd;
    data = malloc(blob->length > 0 ? (size_t)blob->length : 1);
    if (data == NULL)
        return -ENOMEM;
    rc = needle_read(fd, blob->offset - NEEDLE_HEADER_SIZE, blob->length, data);
    if (rc != 0) {
        free(data);
        return rc;
    }
    *data_out = data;
    return 0;
}

void store_staged_release(store_t *store, store_staged_t *staged)
{
    if (store == NULL || staged == NULL || !staged->pinned)
        return;
    volume_unpin(&store->volumes, staged->blob.volume_id,
                 staged->blob.offset - NEEDLE_HEADER_SIZE);
    staged->pinned = false;
}
