#include "media.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "format.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int media_new_id(char out[MEDIA_ID_LEN + 1])
{
    uint8_t raw[MEDIA_ID_LEN];

    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -errno;
    for (int i = 0; i < MEDIA_ID_LEN; i++)
        out[i] = b64url[raw[i] & 63];
    out[MEDIA_ID_LEN] = '\0';
    return 0;
}

bool media_id_valid(const char *text, size_t len)
{
    if (len != MEDIA_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (strchr(b64url, text[i]) == NULL || text[i] == '\0')
            return false;
    }
    return true;
}

const char *media_status_name(enum media_status status)
{
    switch (status) {
    case MEDIA_PROCESSING:
        return "processing";
    case MEDIA_READY:
        return "ready";
    case MEDIA_FAILED:
        return "failed";
    }
    return "unknown";
}

const char *media_access_name(enum media_access access)
{
    return access == MEDIA_PAID ? "paid" : "public";
}

int media_parse_access(const char *text, enum media_access *out)
{
    if (strcmp(text, "public") == 0)
        *out = MEDIA_PUBLIC;
    else if (strcmp(text, "paid") == 0)
        *out = MEDIA_PAID;
    else
        return KADR_E_BAD_INPUT;
    return 0;
}

const char *media_variant_mime(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot == NULL)
        return "application/octet-stream";
    if (strcmp(dot, ".jpg") == 0)
        return "image/jpeg";
    if (strcmp(dot, ".webp") == 0)
        return "image/webp";
    if (strcmp(dot, ".mp4") == 0)
        return "video/mp4";
    return "application/octet-stream";
}

const media_variant_t *media_find_variant(const media_t *media,
                                          const char *name)
{
    for (uint32_t i = 0; i < media->variant_count; i++) {
        if (strcmp(media->variants[i].name, name) == 0)
            return &media->variants[i];
    }
    return NULL;
}

int media_set_variant(media_t *media, const media_variant_t *variant)
{
    media_variant_t *slot = NULL;

    for (uint32_t i = 0; i < media->variant_count && slot == NULL; i++) {
        if (strcmp(media->variants[i].name, variant->name) == 0)
            slot = &media->variants[i];
    }
    if (slot == NULL) {
        if (media->variant_count == MEDIA_MAX_VARIANTS)
            return KADR_E_TOO_LARGE;
        slot = &media->variants[media->variant_count++];
    }
    *slot = *variant;
    return 0;
}
