/* Positioned writes that finish the whole range, read-only mappings of a
 * range, folder syncs and opens of regular files only, for the store's
 * volumes and the engine's files. */
#ifndef KADR_IO_H
#define KADR_IO_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

/* Maps len bytes (len > 0) of fd from offset on, read-only and shared,
 * with extra mmap(2) flags such as MAP_POPULATE. Sets *base and
 * *base_len to the whole mapping, which starts at the page that contains
 * offset, for munmap(2). Returns the address of byte offset, or NULL with
 * errno set. */
static inline const uint8_t *kadr_map_range(int fd, uint64_t offset,
                                            uint64_t len, int flags,
                                            void **base, size_t *base_len)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t start = offset / page * page;
    void *addr;

    if (len == 0 || len > SIZE_MAX - page) {
        errno = EINVAL;
        return NULL;
    }
    *base_len = (size_t)(offset - start + len);
    addr =
        mmap(NULL, *base_len, PROT_READ, MAP_SHARED | flags, fd, (off_t)start);
    if (addr == MAP_FAILED)
        return NULL;
    *base = addr;
    return (const uint8_t *)addr + (offset - start);
}

/* Syncs the folder at path so that entries created, renamed or removed
 * in it are durable. Returns 0 or -errno. */
static inline int kadr_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Opens path for reading if it is a regular file. O_NONBLOCK keeps a FIFO
 * put in its place from blocking the open. Returns the fd, -errno, or
 * -EINVAL for anything but a regular file. */
static inline int kadr_open_regular(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    return fd;
}

#endif
