/* Variant presets and the steps every variant goes through: hash, stage,
 * look up in the derivation cache, commit with the media record. */
#ifndef KADR_ENGINE_VARIANTS_H
#define KADR_ENGINE_VARIANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kadr/error.h>
#include <kadr/hash.h>

#include "image.h"
#include "media.h"
#include "store.h"

#define VARIANT_ORIGINAL "original"
#define VARIANT_VIDEO "720.mp4"
#define VARIANT_PREVIEW "preview.jpg"
#define VARIANT_POSTER_JPEG "poster.jpg"
#define VARIANT_POSTER_WEBP "poster.webp"

/* The image presets: w1080.jpg, w1080.webp, w640.webp, w320.webp,
 * s150.jpg and preview.jpg. */
extern const image_preset_t variants_image_presets[];
extern const size_t variants_image_preset_count;

/* One variant on its way into a media record. */
typedef struct variant_out {
    char name[MEDIA_MAX_NAME];
    kadr_hash_t hash;
    uint64_t size;
    uint32_t width;
    uint32_t height;
    bool cached;           /* from the derivation cache: nothing staged */
    bool shared;           /* the bytes of an earlier variant: not staged */
    store_staged_t staged; /* valid when neither cached nor shared */
} variant_out_t;

/* Hashes a buffer with XXH3-128 into kadr's canonical form. */
void variants_hash_mem(const void *data, size_t len, kadr_hash_t *out);

/* Hashes len bytes of fd from offset 0 in bounded chunks. */
KADR_MUST_CHECK int variants_hash_fd(int fd, uint64_t *len, kadr_hash_t *out);

/* Looks up (source, name) in the derivation cache; a hit whose blob is
 * gone counts as a miss. On a hit fills out and sets out->cached. */
KADR_MUST_CHECK int variants_find_cached(store_txn_t *txn,
                                         const kadr_hash_t *source,
                                         variant_out_t *out);

/* Hashes and stages an encoded image as variant out->name. */
KADR_MUST_CHECK int variants_stage_image(store_t *store,
                                         const image_blob_t *blob,
                                         variant_out_t *out);

/* Inside a write transaction: references or indexes the variant's blob,
 * records it in the derivation cache under source, and adds it to
 * media. *deduped tells whether the blob already existed. */
KADR_MUST_CHECK int variants_commit(store_txn_t *txn, const kadr_hash_t *source,
                                    const variant_out_t *v, media_t *media,
                                    bool *deduped);

/* Copies a stored blob into an unnamed temporary file under the store's
 * tmp folder and returns its fd (the caller closes it), so that codecs
 * can open it as /proc/self/fd/N. */
KADR_MUST_CHECK int variants_open_blob_copy(store_t *store,
                                            const store_blob_t *blob);

/* Looks up the blob of hash in its own read transaction, sets *blob and
 * returns a copy as variants_open_blob_copy() does. */
KADR_MUST_CHECK int variants_open_hash_copy(store_t *store,
                                            const kadr_hash_t *hash,
                                            store_blob_t *blob);

/* Opens an unnamed temporary file in dir (O_TMPFILE, or a name that is
 * removed at once where that is not supported). Returns the fd. */
KADR_MUST_CHECK int variants_open_tmpfile(const char *dir);

/* Writes "/proc/self/fd/N" into out. */
void variants_fd_path(int fd, char *out, size_t size);

#endif
