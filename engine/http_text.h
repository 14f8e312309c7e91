/* Header text for responses: appending to a fixed buffer without
 * printf(3), and IMF-fixdate dates (RFC 9110, section 5.6.7). Every
 * response formats a few headers, so this is plain copying. */
#ifndef KADR_HTTP_TEXT_H
#define KADR_HTTP_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Length of an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". */
#define HTTP_DATE_LEN 29

/* A text being appended to a fixed buffer. */
typedef struct {
    char *pos; /* where the next byte goes */
    char *end; /* the last byte of the buffer, kept for the NUL */
    bool full; /* an append did not fit */
} http_text_t;

static inline void http_text_init(http_text_t *t, char *out, size_t size)
{
    t->pos = out;
    t->end = size > 0 ? out + size - 1 : out;
    t->full = size == 0;
}

static inline void http_text_put(http_text_t *t, const char *s, size_t n)
{
    if (t->full || (size_t)(t->end - t->pos) < n) {
        t->full = true;
        return;
    }
    memcpy(t->pos, s, n);
    t->pos += n;
}

static inline void http_text_puts(http_text_t *t, const char *s)
{
    http_text_put(t, s, strlen(s));
}

/* Appends v in decimal. */
void http_text_put_u64(http_text_t *t, uint64_t v);

/* Ends the text with a NUL. Returns its length, or -1 if it was cut. */
int http_text_finish(http_text_t *t, char *out);

/* Writes the IMF-fixdate of when into out and a NUL. Day and month names
 * are spelled here because strftime(3) follows the locale. Returns false
 * for a time gmtime_r() cannot break down. */
bool http_format_date(time_t when, char out[HTTP_DATE_LEN + 1]);

#endif
