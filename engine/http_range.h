/* Parsing of the HTTP Range request header (RFC 9110, section 14).
 *
 * Only the bytes unit is understood. The parser is a pure function: it
 * allocates nothing and writes only to the result it is given. */
#ifndef KADR_ENGINE_HTTP_RANGE_H
#define KADR_ENGINE_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

/* Maximum number of range specs accepted in one Range header. A header
 * with more is ignored, as RFC 9110 allows for abusive range sets. */
#define HTTP_RANGE_MAX 16

enum http_range_result {
    HTTP_RANGE_NONE = 0,          /* no usable Range: send 200 and all */
    HTTP_RANGE_SATISFIABLE = 1,   /* send 206 with the ranges found */
    HTTP_RANGE_UNSATISFIABLE = 2, /* send 416 */
};

/* One satisfiable byte range, both ends inclusive: first <= last < size. */
typedef struct http_byte_range {
    uint64_t first;
    uint64_t last;
} http_byte_range_t;

/* Ranges sorted by first, with overlapping and adjacent ones merged. */
typedef struct http_range_set {
    size_t count;
    http_byte_range_t ranges[HTTP_RANGE_MAX];
} http_range_set_t;

/* Parses the Range header value (NULL when absent) against a
 * representation of size bytes and fills out. Returns HTTP_RANGE_NONE for
 * an absent header, another unit, a syntax error, a number past
 * UINT64_MAX, more than HTTP_RANGE_MAX specs, or a satisfiable suffix
 * range of an empty representation. out->count is 0 unless the result is
 * HTTP_RANGE_SATISFIABLE. */
enum http_range_result http_range_parse(const char *header, uint64_t size,
                                        http_range_set_t *out);

#endif
