#include "variants.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "format.h"

#define HASH_CHUNK_BYTES (256 * 1024)

const image_preset_t variants_image_presets[] = {
    {"w1080.jpg", IMAGE_FIT_WIDTH, 1080, IMAGE_CODEC_JPEG, 82},
    {"w1080.webp", IMAGE_FIT_WIDTH, 1080, IMAGE_CODEC_WEBP, 80},
    {"w640.webp", IMAGE_FIT_WIDTH, 640, IMAGE_CODEC_WEBP, 80},
    {"w320.webp", IMAGE_FIT_WIDTH, 320, IMAGE_CODEC_WEBP, 80},
    {"s150.jpg", IMAGE_FIT_SQUARE, 150, IMAGE_CODEC_JPEG, 80},
    {VARIANT_PREVIEW, IMAGE_FIT_PREVIEW, 32, IMAGE_CODEC_JPEG, 60},
};
const size_t variants_image_preset_count =
    sizeof(variants_image_presets) / sizeof(variants_image_presets[0]);

void variants_hash_mem(const void *data, size_t len, kadr_hash_t *out)
{
    XXH128_hash_t h = XXH3_128bits(data, len);

    XXH128_canonicalFromHash((XXH128_canonical_t *)out->bytes, h);
}

int variants_hash_fd(int fd, uint64_t *len, kadr_hash_t *out)
{
    XXH3_state_t *state = XXH3_createState();
    uint8_t *buf = malloc(HASH_CHUNK_BYTES);
    uint64_t total = 0;
    int rc = -ENOMEM;

    if (state == NULL || buf == NULL)
        goto done;
    XXH3_128bits_reset(state);
    for (;;) {
        ssize_t n = pread(fd, buf, HASH_CHUNK_BYTES, (off_t)total);

        if (n < 0) {
            rc = -errno;
            goto done;
        }
        if (n == 0)
            break;
        XXH3_128bits_update(state, buf, (size_t)n);
        total += (uint64_t)n;
    }
    XXH128_canonicalFromHash((XXH128_canonical_t *)out->bytes,
                             XXH3_128bits_digest(state));
    *len = total;
    rc = 0;
done:
    free(buf);
    XXH3_freeState(state);
    return rc;
}

int variants_find_cached(store_txn_t *txn, const kadr_hash_t *source,
                         variant_out_t *out)
{
    store_blob_t blob;
    int rc = store_derived_get(txn, source, out->name, &out->hash);

    if (rc != 0)
        return rc;
    rc = store_blob_get(txn, &out->hash, &blob);
    if (rc != 0)
        return rc;
    out->size = blob.length;
    out->cached = true;
    return 0;
}

static kadr_format_t codec_format(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot != NULL && strcmp(dot, ".webp") == 0)
        return KADR_FORMAT_WEBP;
    if (dot != NULL && strcmp(dot, ".mp4") == 0)
        return KADR_FORMAT_MP4;
    return KADR_FORMAT_JPEG;
}

int variants_stage_image(store_t *store, const image_blob_t *blob,
                         variant_out_t *out)
{
    variants_hash_mem(blob->data, blob->len, &out->hash);
    out->size = blob->len;
    out->width = blob->width;
    out->height = blob->height;
    out->cached = false;
    out->shared = false;
    return store_blob_stage_mem(store, blob->data, blob->len, &out->hash,
                                (uint8_t)codec_format(out->name), &out->staged);
}

int variants_commit(store_txn_t *txn, const kadr_hash_t *source,
                    const variant_out_t *v, media_t *media, bool *deduped)
{
    media_variant_t entry;
    int rc;

    if (v->cached || v->shared) {
        rc = store_blob_ref(txn, &v->hash);
        *deduped = true;
    } else {
        rc = store_blob_commit(txn, &v->staged, deduped);
    }
    if (rc != 0)
        return rc;
    rc = store_derived_put(txn, source, v->name, &v->hash);
    if (rc != 0)
        return rc;
    memset(&entry, 0, sizeof(entry));
    snprintf(entry.name, sizeof(entry.name), "%s", v->name);
    entry.hash = v->hash;
    entry.size = v->size;
    entry.width = v->width;
    entry.height = v->height;
    return media_set_variant(media, &entry);
}

int variants_open_tmpfile(const char *dir)
{
    char path[4096];
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd >= 0)
        return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return -errno;
    snprintf(path, sizeof(path), "%s/upload-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unlink(path);
    return fd;
}

void variants_fd_path(int fd, char *out, size_t size)
{
    snprintf(out, size, "/proc/self/fd/%d", fd);
}

static int copy_range(int in_fd, uint64_t offset, uint64_t len, int out_fd)
{
    loff_t in_off = (loff_t)offset;
    loff_t out_off = 0;

    while (len > 0) {
        ssize_t n = copy_file_range(in_fd, &in_off, out_fd, &out_off, len, 0);

        if (n < 0)
            return -errno;
        if (n == 0)
            return KADR_E_CORRUPT; /* the volume is shorter than indexed */
        len -= (uint64_t)n;
    }
    return 0;
}

int variants_open_blob_copy(store_t *store, const store_blob_t *blob)
{
    int volume_fd = store_volume_fd(store, blob->volume_id);
    int fd;
    int rc;

    if (volume_fd < 0)
        return volume_fd;
    fd = variants_open_tmpfile(store_tmp_dir(store));
    if (fd < 0)
        return fd;
    rc = copy_range(volume_fd, blob->offset, blob->length, fd);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int variants_open_hash_copy(store_t *store, const kadr_hash_t *hash,
                            store_blob_t *blob)
{
    store_txn_t *txn;
    int rc = store_txn_begin(store, false, &txn);

    if (rc != 0)
        return rc;
    rc = store_blob_get(txn, hash, blob);
    store_txn_abort(txn);
    if (rc != 0)
        return rc;
    return variants_open_blob_copy(store, blob);
}
