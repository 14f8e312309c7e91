/* Inbound needles: uploads written in place at the end of a volume. */
#include "store_internal.h"

#include <errno.h>
#include <unistd.h>

#include "io.h"
#include "needle.h"

int store_inbound_open(store_t *store, uint64_t length, store_inbound_t *out)
{
    volume_t *vol;
    uint64_t offset;
    int rc;

    if (store == NULL || out == NULL || length == 0)
        return KADR_E_BAD_INPUT;
    if (length > NEEDLE_MAX_PAYLOAD_BYTES)
        return KADR_E_TOO_LARGE;
    rc = store__reserve_needle(store, length, &vol, &offset);
    if (rc != 0)
        return rc;
    *out = (store_inbound_t){
        .volume_id = vol->id,
        .needle_offset = offset,
        .length = length,
        .read_fd = vol->rfd,
        .payload_offset = offset + NEEDLE_HEADER_SIZE,
        .write_fd = vol->wfd,
        .open = true,
    };
    return 0;
}

int store_inbound_write(store_inbound_t *in, const void *data, size_t len,
                        uint64_t at)
{
    uint64_t end = at + len;
    int rc;

    if (in == NULL || !in->open || end < at || end > in->length)
        return KADR_E_BAD_INPUT;
    rc = kadr_pwrite_full(in->write_fd, data, len, in->payload_offset + at);
    if (rc != 0)
        return rc;
    if (end - in->flushed >= NEEDLE_WRITEBACK_BYTES || end == in->length) {
        needle_start_writeback(in->write_fd, in->payload_offset + in->flushed,
                               end - in->flushed);
        in->flushed = end;
    }
    return 0;
}

static int seal(store_inbound_t *in, uint8_t format, store_staged_t *out)
{
    needle_header_t header = {
        .format = format,
        .hash = out->hash,
        .length = in->length,
    };
    int rc = needle_seal(in->write_fd, in->needle_offset, &header);

    if (rc == 0 && fdatasync(in->write_fd) != 0)
        rc = -errno;
    if (rc != 0)
        return rc;
    /* The reservation's pin moves to *out. */
    store__staged_new(out, in->volume_id, in->needle_offset, in->length,
                      format);
    in->open = false;
    return 0;
}

/* The hash is indexed: the upload is a dedup hit if its bytes match. */
static int stage_existing(store_t *store, store_inbound_t *in, source_t *src,
                          const store_blob_t *found, store_staged_t *out)
{
    int rc = store__stage_existing(store, src, in->length, found, out);

    if (rc == 0)
        store_inbound_cancel(store, in);
    return rc;
}

/* NOTE: as for store_blob_stage(), hash is trusted as the caller's
 * XXH3-128 of the bytes, computed while receiving them. */
int store_inbound_stage(store_t *store, store_inbound_t *in,
                        const kadr_hash_t *hash, uint8_t format,
                        store_staged_t *out)
{
    store_blob_t found;
    source_t src;
    int rc;

    if (store == NULL || in == NULL || !in->open || hash == NULL || out == NULL)
        return KADR_E_BAD_INPUT;
    out->hash = *hash;
    rc = store__lookup(store, hash, &found);
    if (rc == KADR_E_NOT_FOUND)
        return seal(in, format, out);
    if (rc != 0)
        return rc;
    rc = source_init_file(&src, in->read_fd, in->payload_offset, in->length);
    if (rc != 0)
        return rc;
    rc = stage_existing(store, in, &src, &found, out);
    source_free(&src);
    return rc;
}

void store_inbound_cancel(store_t *store, store_inbound_t *in)
{
    if (store == NULL || in == NULL || !in->open)
        return;
    volume_append_cancel(&store->volumes, in->volume_id, in->write_fd,
                         in->needle_offset, needle_size(in->length));
    in->open = false;
}
