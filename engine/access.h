/* Read access to variants. The front-end key opens everything. Public
 * media and the free variants of paid media are open to all. The rest of
 * paid media needs a valid access token (token.h). */
#ifndef KADR_ENGINE_ACCESS_H
#define KADR_ENGINE_ACCESS_H

#include <stdbool.h>

#include "app.h"
#include "http.h"
#include "media.h"

/* Name of the free clip of a paid video, public like preview.jpg. */
#define ACCESS_TEASER_VARIANT "teaser.mp4"

/* Returns whether variant name of media stays public when the media is
 * paid. */
bool access_variant_is_free(const char *name);

/* The decision of access_may_read(). */
enum access_verdict {
    ACCESS_ALLOWED,
    ACCESS_NEEDS_KEY, /* only the front-end key reads this variant */
    ACCESS_DENIED,    /* a valid token is missing */
};

/* Decides whether req may read variant name of media. A token comes from
 * the "token" query parameter or from "Authorization: Bearer". A denial
 * is logged with its reason; the caller sends the same 403 for every
 * token denial. */
enum access_verdict access_may_read(const app_t *app, const http_request_t *req,
                                    const media_t *media, const char *name);

#endif
