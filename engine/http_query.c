/* Request accessors: header lookup and URL-decoded query parameters. */
#include "http_internal.h"

#include <string.h>
#include <strings.h>

const char *http_request_header(const http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the form-encoded byte at text[*pos] ("+" is a space, "%XX" a
 * byte) and advances *pos. Returns the byte, or -1 for a broken escape. */
static int decode_byte(const char *text, size_t len, size_t *pos)
{
    char c = text[*pos];
    int high;
    int low;

    if (c == '+') {
        (*pos)++;
        return ' ';
    }
    if (c != '%') {
        (*pos)++;
        return (unsigned char)c;
    }
    if (*pos + 2 >= len)
        return -1;
    high = hex_value(text[*pos + 1]);
    low = hex_value(text[*pos + 2]);
    if (high < 0 || low < 0)
        return -1;
    *pos += 3;
    return high * 16 + low;
}

/* Returns true when the encoded name decodes to key. */
static bool name_matches(const char *name, size_t len, const char *key)
{
    size_t pos = 0;
    size_t k = 0;

    while (pos < len) {
        int c = decode_byte(name, len, &pos);

        if (c < 0 || key[k] == '\0' || (unsigned char)key[k] != c)
            return false;
        k++;
    }
    return key[k] == '\0';
}

static int decode_value(const char *value, size_t len, char *out,
                        size_t out_size)
{
    size_t pos = 0;
    size_t n = 0;

    while (pos < len) {
        int c = decode_byte(value, len, &pos);

        if (c <= 0 || n + 1 >= out_size) {
            if (out_size > 0)
                out[0] = '\0';
            /* c <= 0: a broken escape or a NUL byte */
            return c <= 0 ? KADR_E_BAD_INPUT : KADR_E_TOO_LARGE;
        }
        out[n++] = (char)c;
    }
    if (out_size == 0)
        return KADR_E_TOO_LARGE;
    out[n] = '\0';
    return (int)n;
}

int http_request_query(const http_request_t *req, const char *key, char *out,
                       size_t out_size)
{
    const char *p = req->query;

    /* An empty string unless a value is copied, so a caller that reads out
     * after an error reads no stale or unterminated bytes. */
    if (out_size > 0)
        out[0] = '\0';
    while (*p != '\0') {
        size_t pair_len = strcspn(p, "&");
        const char *equals = memchr(p, '=', pair_len);
        size_t name_len = equals == NULL ? pair_len : (size_t)(equals - p);

        if (name_len > 0 && name_matches(p, name_len, key)) {
            const char *value = equals == NULL ? p + pair_len : equals + 1;

            return decode_value(value, pair_len - (size_t)(value - p), out,
                                out_size);
        }
        p += pair_len;
        if (*p == '&')
            p++;
    }
    return KADR_E_NOT_FOUND;
}

bool http_request_query_names_in(const http_request_t *req,
                                 const char *const *keys)
{
    const char *p = req->query;

    while (*p != '\0') {
        size_t pair_len = strcspn(p, "&");
        size_t name_len = strcspn(p, "=&");
        size_t i = 0;

        while (name_len > 0 && keys[i] != NULL &&
               !name_matches(p, name_len, keys[i]))
            i++;
        if (name_len > 0 && keys[i] == NULL)
            return false;
        p += pair_len;
        if (*p == '&')
            p++;
    }
    return true;
}
