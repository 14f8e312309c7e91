/* The media record: kadr's data on one upload, stored as compact
 * JSON under its id in the store's media database. */
#ifndef KADR_ENGINE_MEDIA_H
#define KADR_ENGINE_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <kadr/error.h>
#include <kadr/hash.h>

#define MEDIA_ID_LEN 16 /* base64url characters */
#define MEDIA_MAX_VARIANTS 16
#define MEDIA_MAX_OWNER 64     /* bytes of the owner tag */
#define MEDIA_MAX_ERROR 160    /* bytes of a failure reason */
#define MEDIA_MAX_NAME 24      /* bytes of a variant name */
#define MEDIA_MAX_BLURHASH 166 /* characters of a BlurHash placeholder */

enum media_status {
    MEDIA_PROCESSING = 0,
    MEDIA_READY = 1,
    MEDIA_FAILED = 2,
};

enum media_access {
    MEDIA_PUBLIC = 0,
    MEDIA_PAID = 1,
};

typedef struct media_variant {
    char name[MEDIA_MAX_NAME];
    kadr_hash_t hash;
    uint64_t size;
    uint32_t width;
    uint32_t height;
} media_variant_t;

typedef struct media {
    char id[MEDIA_ID_LEN + 1];
    char owner[MEDIA_MAX_OWNER + 1];
    enum media_access access;
    int kind;   /* kadr_kind_t */
    int format; /* kadr_format_t of the original */
    enum media_status status;
    char error[MEDIA_MAX_ERROR + 1];
    kadr_hash_t original;
    uint64_t size;
    uint32_t width; /* upright, as displayed */
    uint32_t height;
    double duration_s;
    char blurhash[MEDIA_MAX_BLURHASH + 1]; /* "" when there is none */
    int64_t created;                       /* Unix seconds */
    /* Percent done of the transcode while processing (0 before it
     * starts, -1 to leave it out); set when read, never stored. */
    int progress;
    uint32_t variant_count;
    media_variant_t variants[MEDIA_MAX_VARIANTS];
} media_t;

/* Writes a new random id (MEDIA_ID_LEN base64url characters and NUL). */
KADR_MUST_CHECK int media_new_id(char out[MEDIA_ID_LEN + 1]);

/* Returns whether text is shaped like a media id. */
bool media_id_valid(const char *text, size_t len);

/* Serialises a record; *out is malloc'd and owned by the caller. */
KADR_MUST_CHECK int media_encode(const media_t *media, char **out, size_t *len);

/* Parses a stored record: KADR_E_FORMAT if it is not one. */
KADR_MUST_CHECK int media_decode(const void *data, size_t len, media_t *out);

/* Builds the API's JSON view of a record. The owner tag and the
 * original's blob hash are included only when show_private is set (the
 * caller has a front-end key). Returns a new reference, NULL on no
 * memory. */
json_t *media_to_json(const media_t *media, bool show_private);

/* Finds a variant by name, or NULL. */
const media_variant_t *media_find_variant(const media_t *media,
                                          const char *name);

/* Appends or replaces a variant: KADR_E_TOO_LARGE when full. */
KADR_MUST_CHECK int media_set_variant(media_t *media,
                                      const media_variant_t *variant);

/* Returns the Content-Type for a variant name ("w640.webp"). */
const char *media_variant_mime(const char *name);

const char *media_status_name(enum media_status status);
const char *media_access_name(enum media_access access);

/* Parses "public" or "paid": KADR_E_BAD_INPUT otherwise. */
KADR_MUST_CHECK int media_parse_access(const char *text,
                                       enum media_access *out);

/* Loads and saves records in the store's media database. */
struct store_txn;
KADR_MUST_CHECK int media_load(struct store_txn *txn, const char *id,
                               media_t *out);
KADR_MUST_CHECK int media_save(struct store_txn *txn, const media_t *media);

/* Drops the references of a record's original and variants and deletes
 * the record, inside the caller's write transaction. Fills *out with the
 * record as it was. KADR_E_NOT_FOUND if there is none. */
KADR_MUST_CHECK int media_delete(struct store_txn *txn, const char *id,
                                 media_t *out);

#endif
