/* Needles: one blob as stored in a volume.
 *
 * Layout, all integers little-endian:
 *   header, NEEDLE_HEADER_SIZE bytes:
 *     0  magic "KDNH"       4  format version      5  flags (0)
 *     6  kadr_format byte   7  reserved (0)
 *     8  16-byte content hash (XXH3-128, canonical order)
 *     24 u64 payload length
 *   payload, length bytes
 *   footer, NEEDLE_FOOTER_SIZE bytes:
 *     0  u64 checksum: XXH3-64 over the header (format version 2), or
 *        over the header and the payload (version 1, still read)
 *     8  magic "KDNF"       12 reserved (0)
 *   zero bytes up to the next multiple of NEEDLE_ALIGN. */
#ifndef KADR_STORE_NEEDLE_H
#define KADR_STORE_NEEDLE_H

#include <stdint.h>

#include <kadr/error.h>
#include <kadr/hash.h>

#include "source.h"

#define NEEDLE_HEADER_SIZE 32
#define NEEDLE_FOOTER_SIZE 16
#define NEEDLE_ALIGN 8
/* The format version written. A version 2 payload is checked against
 * the content hash in its header, so the footer checksum covers the
 * header alone and a needle can be sealed without reading its payload
 * again. Version 1 needles are still read and checked. */
#define NEEDLE_VERSION 2
#define NEEDLE_VERSION_1 1

/* Bytes written between two writeback starts (sync_file_range) while a
 * needle is copied into a volume: 1 MiB. */
#define NEEDLE_WRITEBACK_BYTES (UINT64_C(1) << 20)

/* Maximum payload a needle may declare, in bytes (1 TiB): keeps offset
 * arithmetic far from overflow when a header is corrupt. */
#define NEEDLE_MAX_PAYLOAD_BYTES (UINT64_C(1) << 40)

typedef struct needle_header {
    uint8_t version; /* set by needle_header_decode() */
    uint8_t flags;
    uint8_t format;
    kadr_hash_t hash;
    uint64_t length; /* payload bytes */
} needle_header_t;

/* Returns the bytes a needle with a payload of length bytes takes in a
 * volume: header, payload, footer and padding. */
uint64_t needle_size(uint64_t length);

void needle_header_encode(const needle_header_t *header,
                          uint8_t out[NEEDLE_HEADER_SIZE]);

/* Returns 0, KADR_E_CORRUPT for a bad magic or length, or KADR_E_FORMAT
 * for an unknown format version. */
KADR_MUST_CHECK int needle_header_decode(const uint8_t in[NEEDLE_HEADER_SIZE],
                                         needle_header_t *out);

/* Starts writeback of the len bytes at off of fd that were just written,
 * so that the disk works while later bytes are written and the final
 * fdatasync() has less left to wait for. It is only a hint: an I/O error
 * it meets is reported again by that fdatasync(). */
void needle_start_writeback(int fd, uint64_t off, uint64_t len);

/* Writes a whole needle at needle_off of the volume fd, with the payload
 * taken from src (header->length bytes). Does not sync. */
KADR_MUST_CHECK int needle_write(int fd, uint64_t needle_off,
                                 const needle_header_t *header, source_t *src);

/* Finishes a needle whose payload is in place already, at
 * needle_off + NEEDLE_HEADER_SIZE of fd, by writing its footer and then
 * its header. Does not sync. */
KADR_MUST_CHECK int needle_seal(int fd, uint64_t needle_off,
                                const needle_header_t *header);

/* Reads the needle at needle_off of fd and checks it, reading the payload
 * in bounded chunks: header, footer checksum and, for version 2, the
 * payload's XXH3-128 against the content hash in the header. Returns 0,
 * KADR_E_CHECKSUM if a checksum or the hash differs, KADR_E_CORRUPT for
 * a bad magic or a needle cut short, KADR_E_FORMAT, or -errno. */
KADR_MUST_CHECK int needle_scan(int fd, uint64_t needle_off,
                                needle_header_t *out);

/* Checks the needle at needle_off as needle_scan() does, and also
 * computes the XXH3-128 of its payload into *content. Reads in bounded
 * chunks. */
KADR_MUST_CHECK int needle_verify(int fd, uint64_t needle_off,
                                  needle_header_t *out, kadr_hash_t *content);

/* Reads the payload of the needle at needle_off into payload, which has
 * room for expected_len bytes, and checks it as needle_scan() does. Also
 * returns KADR_E_CORRUPT if the needle's length is not expected_len. */
KADR_MUST_CHECK int needle_read(int fd, uint64_t needle_off,
                                uint64_t expected_len, uint8_t *payload);

#endif
