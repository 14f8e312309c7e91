/* The content hash that names every blob: XXH3-128 in its canonical
 * (big-endian) byte order, printed as 32 lowercase hex digits. */
#ifndef KADR_HASH_H
#define KADR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define KADR_HASH_SIZE 16
#define KADR_HASH_HEX_LEN 32

typedef struct kadr_hash {
    uint8_t bytes[KADR_HASH_SIZE];
} kadr_hash_t;

/* Writes 32 hex digits and a NUL into out. */
static inline void kadr_hash_to_hex(const kadr_hash_t *hash,
                                    char out[KADR_HASH_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < KADR_HASH_SIZE; i++) {
        out[2 * i] = digits[hash->bytes[i] >> 4];
        out[2 * i + 1] = digits[hash->bytes[i] & 0x0f];
    }
    out[KADR_HASH_HEX_LEN] = '\0';
}

static inline int kadr_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses exactly 32 hex digits. Returns 0, or -1 on any other input. */
static inline int kadr_hash_from_hex(const char *hex, size_t len,
                                     kadr_hash_t *out)
{
    if (len != KADR_HASH_HEX_LEN)
        return -1;
    for (int i = 0; i < KADR_HASH_SIZE; i++) {
        int hi = kadr_hex_digit(hex[2 * i]);
        int lo = kadr_hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out->bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

#endif
