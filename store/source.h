/* The bytes of a blob being staged or compared: a range of a file read in
 * bounded chunks, or a buffer in memory. */
#ifndef KADR_STORE_SOURCE_H
#define KADR_STORE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <kadr/error.h>

/* Maximum chunk read from a file at once, in bytes: the memory a staging
 * or comparing thread uses per file, whatever the blob size. */
#define STORE_CHUNK_BYTES (256 * 1024)

typedef struct source {
    int fd;             /* file to read, or -1 for a memory source */
    uint64_t base;      /* offset of the first byte in fd */
    const uint8_t *mem; /* the bytes of a memory source */
    uint8_t *buf;       /* STORE_CHUNK_BYTES for a file source */
    void *map;          /* mapping that mem points into, or NULL */
    size_t map_len;     /* bytes of map, from the page that holds base */
} source_t;

/* Prepares a file source over fd from byte base on. Allocates its chunk
 * buffer: release it with source_free(). */
KADR_MUST_CHECK int source_init_fd(source_t *src, int fd, uint64_t base);

/* Prepares a source over len bytes of the file fd from byte base on,
 * mapped read-only so that reads copy nothing, or read in chunks as by
 * source_init_fd() when the file cannot be mapped or ends before
 * base + len. The caller must keep the file from being truncated until
 * source_free() (a read past the new end of a mapping raises SIGBUS). */
KADR_MUST_CHECK int source_init_file(source_t *src, int fd, uint64_t base,
                                     uint64_t len);

/* Prepares a memory source that borrows mem and allocates nothing. */
void source_init_mem(source_t *src, const void *mem);

void source_free(source_t *src);

/* Points *out at len bytes (len <= STORE_CHUNK_BYTES) from offset off of
 * the source. *out stays valid until the next call on src. Returns 0,
 * -errno, or KADR_E_CORRUPT if a file source ends first. */
KADR_MUST_CHECK int source_read(source_t *src, uint64_t off, size_t len,
                                const uint8_t **out);

/* Compares len bytes of src with len bytes of fd at off, chunk by chunk.
 * Returns 0 if equal, KADR_E_COLLISION if not, or a read error. */
KADR_MUST_CHECK int source_compare_fd(source_t *src, int fd, uint64_t off,
                                      uint64_t len);

#endif
