/* Puts a fuzz input in an anonymous in-memory file, so the codecs that
 * take a path read it through /proc/self/fd/N like any other file. */
#ifndef KADR_FUZZ_MEMFD_H
#define KADR_FUZZ_MEMFD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data to a new memfd and its /proc path to path. Returns the fd,
 * or -1 when the file cannot be made; the caller closes it. */
static inline int fuzz_memfd_open(const uint8_t *data, size_t size, char *path,
                                  size_t path_size)
{
    int fd = memfd_create("kadr-fuzz", MFD_CLOEXEC);
    size_t done = 0;

    if (fd < 0)
        return -1;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);

        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
