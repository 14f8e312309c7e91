#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int store__pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return KADR_E_CORRUPT;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}
