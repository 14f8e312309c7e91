/* Decoded media records keyed by id, checked against the stored bytes on
 * every lookup (see media_cache.h). */
#include "media_cache.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

struct media_cache_slot {
    char id[MEDIA_ID_LEN + 1];
    size_t raw_len;
    size_t raw_cap;
    char *raw;         /* a copy of the stored bytes */
    uint64_t snapshot; /* the commit the copy was last checked against */
    media_t media;
};

/* Allocated at the first lookup and kept for the life of the process. */
static struct media_cache_slot *slots;

static struct media_cache_slot *slot_of(const char *id)
{
    if (slots == NULL) {
        slots = calloc(MEDIA_CACHE_SLOTS, sizeof(*slots));
        if (slots == NULL)
            return NULL;
    }
    return &slots[XXH3_64bits(id, strlen(id)) % MEDIA_CACHE_SLOTS];
}

int media_cache_load(store_txn_t *txn, const char *id, media_t *out)
{
    struct media_cache_slot *slot = slot_of(id);
    uint64_t snapshot = store_txn_snapshot(txn);
    const void *value;
    size_t len;
    int rc;

    if (slot != NULL && slot->raw != NULL && snapshot != 0 &&
        slot->snapshot == snapshot && strcmp(slot->id, id) == 0) {
        *out = slot->media;
        return 0;
    }
    rc = store_media_get(txn, id, &value, &len);
    if (rc != 0)
        return rc;
    if (slot != NULL && slot->raw != NULL && slot->raw_len == len &&
        strcmp(slot->id, id) == 0 && memcmp(slot->raw, value, len) == 0) {
        slot->snapshot = snapshot;
        *out = slot->media;
        return 0;
    }
    rc = media_decode(value, len, out);
    if (rc != 0 || slot == NULL || len > MEDIA_CACHE_MAX_RECORD_BYTES ||
        strlen(id) > MEDIA_ID_LEN)
        return rc;
    if (len > slot->raw_cap) {
        char *grown = realloc(slot->raw, len);

        if (grown == NULL)
            return 0; /* the record is decoded; it is just not cached */
        slot->raw = grown;
        slot->raw_cap = len;
    }
    strcpy(slot->id, id);
    memcpy(slot->raw, value, len);
    slot->raw_len = len;
    slot->snapshot = snapshot;
    slot->media = *out;
    return 0;
}
