#include "source.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

int source_init_fd(source_t *src, int fd, uint64_t base)
{
    src->fd = fd;
    src->base = base;
    src->mem = NULL;
    src->map = NULL;
    src->map_len = 0;
    src->buf = malloc(STORE_CHUNK_BYTES);
    if (src->buf == NULL)
        return -ENOMEM;
    return 0;
}

/* Maps len bytes of fd from base on, pages populated up front. Sets
 * *map and *map_len to the whole mapping, which starts at the page that
 * contains base, and returns the address of byte base, or NULL. */
static const uint8_t *map_range(int fd, uint64_t base, uint64_t len, void **map,
                                size_t *map_len)
{
    struct stat st;

    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < base + len)
        return NULL;
    return kadr_map_range(fd, base, len, MAP_POPULATE, map, map_len);
}

int source_init_file(source_t *src, int fd, uint64_t base, uint64_t len)
{
    void *map = NULL;
    size_t map_len = 0;
    const uint8_t *mem = map_range(fd, base, len, &map, &map_len);

    if (mem == NULL)
        return source_init_fd(src, fd, base);
    source_init_mem(src, mem);
    src->map = map;
    src->map_len = map_len;
    return 0;
}

void source_init_mem(source_t *src, const void *mem)
{
    src->fd = -1;
    src->base = 0;
    src->mem = mem;
    src->buf = NULL;
    src->map = NULL;
    src->map_len = 0;
}

void source_free(source_t *src)
{
    free(src->buf);
    src->buf = NULL;
    if (src->map != NULL)
        munmap(src->map, src->map_len);
    src->map = NULL;
    src->mem = NULL;
}

int source_read(source_t *src, uint64_t off, size_t len, const uint8_t **out)
{
    int rc;

    if (src->fd < 0) {
        *out = src->mem + off;
        return 0;
    }
    rc = store__pread_full(src->fd, src->buf, len, src->base + off);
    if (rc != 0)
        return rc;
    *out = src->buf;
    return 0;
}

int source_compare_fd(source_t *src, int fd, uint64_t off, uint64_t len)
{
    uint8_t *theirs = malloc(STORE_CHUNK_BYTES);
    uint64_t done = 0;
    int rc = 0;

    if (theirs == NULL)
        return -ENOMEM;
    while (done < len && rc == 0) {
        size_t n = (size_t)(len - done < STORE_CHUNK_BYTES ? len - done
                                                           : STORE_CHUNK_BYTES);
        const uint8_t *ours;

        rc = source_read(src, done, n, &ours);
        if (rc == 0)
            rc = store__pread_full(fd, theirs, n, off + done);
        if (rc == 0 && memcmp(ours, theirs, n) != 0)
            rc = KADR_E_COLLISION;
        done += n;
    }
    free(theirs);
    return rc;
}
