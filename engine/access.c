/* Access checks for variant reads, with access tokens for paid media. */
#include "access.h"

#include <strings.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "routes.h"
#include "token.h"
#include "variants.h"

#define BEARER_PREFIX "Bearer "

bool access_variant_is_free(const char *name)
{
    return strcmp(name, VARIANT_PREVIEW) == 0 ||
           strcmp(name, ACCESS_TEASER_VARIANT) == 0;
}

/* Finds the token of req: ?token= first, then Authorization: Bearer.
 * Returns its length, 0 when there is none, or -1 when ?token= is
 * present but cannot be a token (too long or badly escaped). */
static int find_token(const http_request_t *req, char *out, size_t out_size)
{
    const char *auth;
    int n = http_request_query(req, "token", out, out_size);
    size_t len;

    if (n >= 0)
        return n;
    if (n != KADR_E_NOT_FOUND)
        return -1;
    auth = http_request_header(req, "authorization");
    if (auth == NULL ||
        strncasecmp(auth, BEARER_PREFIX, strlen(BEARER_PREFIX)) != 0)
        return 0;
    auth += strlen(BEARER_PREFIX);
    while (*auth == ' ')
        auth++;
    len = strlen(auth);
    if (len >= out_size)
        return -1;
    memcpy(out, auth, len + 1);
    return (int)len;
}

static bool check_token(const app_t *app, const http_request_t *req,
                        const media_t *media, const char *name)
{
    char text[TOKEN_MAX_LEN + 1];
    enum token_verdict verdict = TOKEN_MALFORMED;
    token_t tok;
    int len = find_token(req, text, sizeof(text));

    if (len == 0) {
        log_info("access.denied",
                 "req=%llu media=%s variant=%s "
                 "reason=no_token",
                 (unsigned long long)req->id, media->id, name);
        return false;
    }
    memset(&tok, 0, sizeof(tok));
    if (len > 0 && app->token_keys != NULL)
        verdict = token_verify(app->token_keys, text, (size_t)len, media->id,
                               name, (int64_t)time(NULL), &tok);
    if (verdict == TOKEN_VALID) {
        log_debug("access.token_accepted",
                  "req=%llu media=%s variant=%s "
                  "key_id=%s viewer=%s",
                  (unsigned long long)req->id, media->id, name, tok.key_id,
                  tok.viewer);
        return true;
    }
    /* The key id is only known after a successful parse, and it is then
     * limited to [A-Za-z0-9_-], so it is safe to log as is. */
    log_info("access.denied",
             "req=%llu media=%s variant=%s reason=%s "
             "key_id=%s",
             (unsigned long long)req->id, media->id, name,
             token_verdict_name(verdict),
             verdict == TOKEN_MALFORMED ? "-" : tok.key_id);
    return false;
}

enum access_verdict access_may_read(const app_t *app, const http_request_t *req,
                                    const media_t *media, const char *name)
{
    if (strcmp(name, VARIANT_ORIGINAL) == 0) {
        if (routes_has_api_key(app, req))
            return ACCESS_ALLOWED;
        log_info("access.denied",
                 "req=%llu media=%s variant=%s "
                 "reason=no_api_key",
                 (unsigned long long)req->id, media->id, name);
        return ACCESS_NEEDS_KEY;
    }
    if (media->access == MEDIA_PUBLIC || access_variant_is_free(name))
        return ACCESS_ALLOWED;
    if (routes_has_api_key(app, req))
        return ACCESS_ALLOWED;
    return check_token(app, req, media, name) ? ACCESS_ALLOWED : ACCESS_DENIED;
}
