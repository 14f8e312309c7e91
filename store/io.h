/* Positioned reads that finish the whole range (writes: <kadr/io.h>). */
#ifndef KADR_STORE_IO_H
#define KADR_STORE_IO_H

#include <stddef.h>
#include <stdint.h>

#include <kadr/error.h>
#include <kadr/io.h>

/* Reads exactly len bytes at off, retrying on EINTR and short reads.
 * Returns 0, -errno, or KADR_E_CORRUPT if the file ends first. */
KADR_MUST_CHECK int store__pread_full(int fd, void *buf, size_t len,
                                      uint64_t off);

#endif
