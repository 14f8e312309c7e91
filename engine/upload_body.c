/* Access to a received upload's bytes, through a mapping or a URL: a
 * range of the volume that contains its inbound needle, or the whole
 * temporary file of a chunked upload. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <kadr/io.h>

#include "upload.h"

static void body_range(const upload_t *up, int *fd, uint64_t *offset)
{
    if (up->inbound.open) {
        *fd = up->inbound.read_fd;
        *offset = up->inbound.payload_offset;
    } else {
        *fd = up->fd;
        *offset = 0;
    }
}

int upload_map_body(const upload_t *up, upload_map_t *out)
{
    uint64_t offset;
    int fd;

    body_range(up, &fd, &offset);
    /* Not populated: a decoder may read only part of the body, such as
     * the JPEG of a motion photo with its video appended. For the parts
     * read, Linux maps up to fault_around_bytes (64 KiB) per fault. */
    out->data =
        kadr_map_range(fd, offset, up->received, 0, &out->base, &out->base_len);
    if (out->data == NULL)
        return -errno;
    out->len = (size_t)up->received;
    return 0;
}

void upload_unmap_body(upload_map_t *map)
{
    if (map->base != NULL)
        munmap(map->base, map->base_len);
    map->base = NULL;
    map->data = NULL;
}

void upload_body_url(const upload_t *up, char *out, size_t size)
{
    uint64_t offset;
    int fd;

    body_range(up, &fd, &offset);
    snprintf(out, size,
             "subfile,,start,%" PRIu64 ",end,%" PRIu64 ",,:/proc/self/fd/%d",
             offset, offset + up->received, fd);
}
