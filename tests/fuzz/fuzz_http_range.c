/* libFuzzer target for the Range header parser. The first 8 input bytes
 * (fewer when the input is shorter) give the representation size, the
 * rest is the header value. Every result must keep the contract of
 * http_range.h: sorted, merged, in-bounds ranges, at most HTTP_RANGE_MAX,
 * and a count of 0 unless satisfiable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_set(enum http_range_result kind, uint64_t length,
                      const http_range_set_t *set)
{
    if (kind != HTTP_RANGE_SATISFIABLE) {
        if (set->count != 0)
            abort();
        return;
    }
    if (set->count == 0 || set->count > HTTP_RANGE_MAX)
        abort();
    for (size_t i = 0; i < set->count; i++) {
        const http_byte_range_t *r = &set->ranges[i];

        if (r->first > r->last || r->last >= length)
            abort();
        /* Overlapping and adjacent ranges are merged. */
        if (i > 0 && r->first <= set->ranges[i - 1].last + 1)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t head = size < 8 ? size : 8;
    uint64_t length = 0;
    char *header;
    http_range_set_t set;
    enum http_range_result kind;

    for (size_t i = 0; i < head; i++)
        length = length << 8 | data[i];
    /* Small sizes find more edge cases; keep the full range reachable. */
    if (head > 0 && (data[0] & 0x80) == 0)
        length %= 100000;
    header = malloc(size - head + 1);
    if (header == NULL)
        return 0;
    memcpy(header, data + head, size - head);
    header[size - head] = '\0';
    kind = http_range_parse(header, length, &set);
    check_set(kind, length, &set);
    if (http_range_parse(NULL, length, &set) != HTTP_RANGE_NONE)
        abort();
    free(header);
    return 0;
}
