/* libFuzzer target for the format sniffer: format_sniff() on any bytes,
 * then every lookup that takes its result. The sniffer must never read
 * past len and must map any input to a known enum value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies the input into a buffer of exactly its size, so ASan catches a
 * read one byte past the end even when libFuzzer's own buffer is larger. */
static uint8_t *copy_exact(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size > 0 ? size : 1);

    if (copy != NULL && size > 0)
        memcpy(copy, data, size);
    return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = copy_exact(data, size);
    kadr_format_t format;
    kadr_kind_t kind;

    if (copy == NULL)
        return 0;
    format = format_sniff(copy, size);
    kind = format_kind(format);
    if (format_name(format) == NULL || format_mime(format) == NULL ||
        format_kind_name(kind) == NULL)
        abort();
    if (format == KADR_FORMAT_UNKNOWN && kind != KADR_KIND_UNSUPPORTED)
        abort();
    /* Prefixes of the input (every seventh length) are sniffed too: a
     * short file must never make the sniffer read past its length. */
    for (size_t len = 0; len < size && len < FORMAT_SNIFF_BYTES; len += 7)
        (void)format_sniff(copy, len);
    free(copy);
    return 0;
}
