/* A cache of decoded media records for the read path. Decoding a record's
 * JSON costs more than the rest of a small read, so each slot keeps a
 * copy of the stored bytes with their decoded record. A lookup in the
 * snapshot the slot was last checked in (store_txn_snapshot()) reuses the
 * record at once, because no commit came in between. Otherwise it reads
 * the stored bytes from the index (zero copy) and reuses the decoded
 * record only when they are byte for byte the same. So a changed, deleted
 * or new record is never served stale, and writers invalidate nothing.
 * Loop thread only: no locking. */
#ifndef KADR_ENGINE_MEDIA_CACHE_H
#define KADR_ENGINE_MEDIA_CACHE_H

#include "media.h"
#include "store.h"

/* Slots of the direct-mapped cache; a colliding id replaces the slot. */
#define MEDIA_CACHE_SLOTS 4096
/* Stored records larger than this are decoded every time. */
#define MEDIA_CACHE_MAX_RECORD_BYTES 8192

/* Loads the media record id within txn into out, from the cache when the
 * stored bytes match. Returns 0, KADR_E_NOT_FOUND, or another error of
 * store_media_get() or media_decode(). */
KADR_MUST_CHECK int media_cache_load(store_txn_t *txn, const char *id,
                                     media_t *out);

#endif
