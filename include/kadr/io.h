/* Positioned writes that finish the whole range, for the store's volumes
 * and the engine's upload files. */
#ifndef KADR_IO_H
#define KADR_IO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

/* Writes exactly len bytes at off, retrying on EINTR and short writes.
 * Returns 0 or -errno. */
static inline int kadr_pwrite_full(int fd, const void *buf, size_t len,
                                   uint64_t off)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

#endif
