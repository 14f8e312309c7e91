/* Range header parsing: syntax first, then each spec against the size,
 * then sorting and merging of what is satisfiable. */
#include "http_range.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* A range spec as written. A suffix spec ("-n") has is_suffix set and its
 * length in last. An open spec ("a-") has has_last clear. */
struct range_spec {
    uint64_t first;
    uint64_t last;
    bool is_suffix;
    bool has_last;
};

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Reads a non-empty run of digits into *out, which stops at UINT64_MAX:
 * RFC 9110 sets no bound on a position, and any larger one is past the
 * end of every representation. Returns the end, or NULL on no digits. */
static const char *parse_number(const char *p, uint64_t *out)
{
    uint64_t value = 0;
    const char *start = p;

    while (*p >= '0' && *p <= '9') {
        uint64_t digit = (uint64_t)(*p - '0');

        if (value > (UINT64_MAX - digit) / 10)
            value = UINT64_MAX;
        else
            value = value * 10 + digit;
        p++;
    }
    if (p == start)
        return NULL;
    *out = value;
    return p;
}

/* Compares two runs of decimal digits as the numbers they write, so that
 * positions past UINT64_MAX keep their order. Returns <0, 0 or >0. */
static int compare_digits(const char *a, size_t a_len, const char *b,
                          size_t b_len)
{
    while (a_len > 1 && *a == '0') {
        a++;
        a_len--;
    }
    while (b_len > 1 && *b == '0') {
        b++;
        b_len--;
    }
    if (a_len != b_len)
        return a_len < b_len ? -1 : 1;
    return memcmp(a, b, a_len);
}

/* Parses one spec at p. Returns the end, or NULL on a syntax error. */
static const char *parse_spec(const char *p, struct range_spec *spec)
{
    const char *first_digits = p;
    const char *last_digits;

    spec->first = 0;
    spec->last = 0;
    spec->is_suffix = false;
    spec->has_last = false;
    if (*p == '-') {
        spec->is_suffix = true;
        spec->has_last = true;
        return parse_number(p + 1, &spec->last);
    }
    p = parse_number(p, &spec->first);
    if (p == NULL || *p != '-')
        return NULL;
    last_digits = ++p;
    if (*p < '0' || *p > '9')
        return p;
    spec->has_last = true;
    p = parse_number(p, &spec->last);
    if (p != NULL &&
        compare_digits(last_digits, (size_t)(p - last_digits), first_digits,
                       (size_t)(last_digits - 1 - first_digits)) < 0)
        return NULL;
    return p;
}

/* Parses the comma-separated spec list. Empty list elements are allowed,
 * as in every list rule of RFC 9110. Returns the number of specs, 0 on a
 * syntax error or an empty list, or HTTP_RANGE_MAX + 1 when over. */
static size_t parse_spec_list(const char *p, struct range_spec *specs)
{
    size_t count = 0;

    for (;;) {
        p = skip_ows(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0')
            return count;
        if (count == HTTP_RANGE_MAX)
            return HTTP_RANGE_MAX + 1;
        p = parse_spec(p, &specs[count]);
        if (p == NULL)
            return 0;
        count++;
        p = skip_ows(p);
        if (*p != ',' && *p != '\0')
            return 0;
    }
}

/* Resolves a spec against size. Returns false when it is unsatisfiable. */
static bool resolve_spec(const struct range_spec *spec, uint64_t size,
                         http_byte_range_t *range)
{
    if (spec->is_suffix) {
        if (spec->last == 0 || size == 0)
            return false;
        range->first = spec->last >= size ? 0 : size - spec->last;
        range->last = size - 1;
        return true;
    }
    if (spec->first >= size)
        return false;
    range->first = spec->first;
    range->last = size - 1;
    if (spec->has_last && spec->last < size - 1)
        range->last = spec->last;
    return true;
}

static void sort_ranges(http_range_set_t *set)
{
    for (size_t i = 1; i < set->count; i++) {
        http_byte_range_t key = set->ranges[i];
        size_t j = i;

        while (j > 0 && set->ranges[j - 1].first > key.first) {
            set->ranges[j] = set->ranges[j - 1];
            j--;
        }
        set->ranges[j] = key;
    }
}

/* Merges overlapping and adjacent ranges of a sorted set in place. */
static void merge_ranges(http_range_set_t *set)
{
    size_t last_kept = 0;

    for (size_t i = 1; i < set->count; i++) {
        http_byte_range_t *prev = &set->ranges[last_kept];
        const http_byte_range_t *next = &set->ranges[i];

        if (next->first <= prev->last || next->first - prev->last == 1) {
            if (next->last > prev->last)
                prev->last = next->last;
            continue;
        }
        set->ranges[++last_kept] = *next;
    }
    if (set->count > 0)
        set->count = last_kept + 1;
}

/* An empty representation has no byte to address, but RFC 9110 still
 * calls a non-zero suffix range satisfiable: the whole (empty) body is
 * then sent with 200. */
static bool has_nonzero_suffix(const struct range_spec *specs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (specs[i].is_suffix && specs[i].last > 0)
            return true;
    }
    return false;
}

enum http_range_result http_range_parse(const char *header, uint64_t size,
                                        http_range_set_t *out)
{
    struct range_spec specs[HTTP_RANGE_MAX];
    size_t count;

    out->count = 0;
    if (header == NULL)
        return HTTP_RANGE_NONE;
    header = skip_ows(header);
    if (strncasecmp(header, "bytes=", 6) != 0)
        return HTTP_RANGE_NONE;
    count = parse_spec_list(header + 6, specs);
    if (count == 0 || count > HTTP_RANGE_MAX)
        return HTTP_RANGE_NONE;
    if (size == 0 && has_nonzero_suffix(specs, count))
        return HTTP_RANGE_NONE;

    for (size_t i = 0; i < count; i++) {
        if (resolve_spec(&specs[i], size, &out->ranges[out->count]))
            out->count++;
    }
    if (out->count == 0)
        return HTTP_RANGE_UNSATISFIABLE;
    sort_ranges(out);
    merge_ranges(out);
    return HTTP_RANGE_SATISFIABLE;
}
