/* Reservations: a needle of known payload length whose bytes the caller
 * writes as they arrive, such as an upload body streamed to its volume
 * while it is received, so that the disk writes the payload while the
 * rest is still on its way. Staging then writes the header and footer
 * and syncs, and only that is left between the last byte and the index
 * commit.
 *
 * The reservation pins its volume and writes through a write fd of its
 * own, so a compaction that retires the volume meanwhile neither closes
 * the fd under it nor drops the file before the commit copies the
 * needle out. */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "io.h"
#include "needle.h"
#include "source.h"

static void reservation_clear(store_reservation_t *res)
{
    res->fd = -1;
    res->volume_id = 0;
}

int store_reserve(store_t *store, uint64_t length, store_reservation_t *out)
{
    uint64_t size = needle_size(length);
    volume_t *vol;
    uint64_t offset;
    int rc;

    if (store == NULL || out == NULL)
        return KADR_E_BAD_INPUT;
    reservation_clear(out);
    if (length > NEEDLE_MAX_PAYLOAD_BYTES)
        return KADR_E_TOO_LARGE;
    rc = store__check_reserve(store, size);
    if (rc != 0)
        return rc;
    rc = volume_append_reserve(&store->volumes, size, &vol, &offset);
    if (rc != 0)
        return rc;
    out->fd = fcntl(vol->wfd, F_DUPFD_CLOEXEC, 0);
    if (out->fd < 0) {
        rc = -errno;
        volume_append_cancel(&store->volumes, vol->id, vol->wfd, offset, size);
        return rc;
    }
    out->volume_id = vol->id;
    out->needle_offset = offset;
    out->length = length;
    out->written = 0;
    out->flushed = 0;
    return 0;
}

int store_reservation_write(store_reservation_t *res, const void *data,
                            size_t len)
{
    uint64_t payload_off;
    int rc;

    if (res == NULL || res->fd < 0 || (data == NULL && len > 0))
        return KADR_E_BAD_INPUT;
    if (len > res->length - res->written)
        return KADR_E_TOO_LARGE;
    payload_off = res->needle_offset + NEEDLE_HEADER_SIZE;
    rc = store__pwrite_full(res->fd, data, len, payload_off + res->written);
    if (rc != 0)
        return rc;
    res->written += len;
    if (res->written - res->flushed >= NEEDLE_WRITEBACK_BYTES) {
        needle_start_writeback(res->fd, payload_off + res->flushed,
                               res->written - res->flushed);
        res->flushed = res->written;
    }
    return 0;
}

void store_reservation_cancel(store_t *store, store_reservation_t *res)
{
    if (store == NULL || res == NULL || res->fd < 0)
        return;
    volume_append_cancel(&store->volumes, res->volume_id, res->fd,
                         res->needle_offset, needle_size(res->length));
    close(res->fd);
    reservation_clear(res);
}

/* Opens a source over the reserved payload through the volume's read fd,
 * which the reservation's pin keeps open. */
static int payload_source(store_t *store, const store_reservation_t *res,
                          source_t *src)
{
    int fd = volume_fd(&store->volumes, res->volume_id);

    if (fd < 0)
        return fd;
    return source_init_file(src, fd, res->needle_offset + NEEDLE_HEADER_SIZE,
                            res->length);
}

/* Writes the header and footer and syncs the needle. The pin moves to
 * the staged needle. */
static int finish_needle(store_reservation_t *res, source_t *src,
                         uint8_t format, store_staged_t *out)
{
    needle_header_t header = {.format = format, .length = res->length};
    int rc;

    header.hash = out->hash;
    rc = needle_write_ends(res->fd, res->needle_offset, &header, src);
    if (rc == 0 && fdatasync(res->fd) != 0)
        rc = -errno;
    if (rc != 0)
        return rc;
    out->blob = (store_blob_t){
        .volume_id = res->volume_id,
        .offset = res->needle_offset + NEEDLE_HEADER_SIZE,
        .length = res->length,
        .refcount = 0,
        .format = format,
    };
    out->existing = false;
    out->pinned = true;
    return 0;
}

/* NOTE: as in store_blob_stage(), hash is trusted as the caller's XXH3-128
 * of the payload and is not computed again. */
static int stage_reserved(store_t *store, store_reservation_t *res,
                          uint8_t format, store_staged_t *out)
{
    store_blob_t found;
    source_t src;
    int found_rc;
    int rc;

    if (res->written != res->length)
        return KADR_E_BAD_INPUT;
    found_rc = store__lookup(store, &out->hash, &found);
    if (found_rc != 0 && found_rc != KADR_E_NOT_FOUND)
        return found_rc;
    rc = payload_source(store, res, &src);
    if (rc != 0)
        return rc;
    if (found_rc == 0)
        rc = store__stage_existing(store, &src, res->length, &found, out);
    else
        rc = finish_needle(res, &src, format, out);
    source_free(&src);
    return rc;
}

int store_blob_stage_reserved(store_t *store, store_reservation_t *res,
                              const kadr_hash_t *hash, uint8_t format,
                              store_staged_t *out)
{
    int rc;

    if (store == NULL || res == NULL || hash == NULL || out == NULL)
        return KADR_E_BAD_INPUT;
    if (res->fd < 0)
        return KADR_E_BAD_INPUT;
    out->hash = *hash;
    out->existing = false;
    out->pinned = false;
    rc = stage_reserved(store, res, format, out);
    if (rc != 0 || out->existing) {
        store_reservation_cancel(store, res);
        return rc;
    }
    close(res->fd);
    reservation_clear(res);
    return 0;
}
