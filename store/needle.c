#include "needle.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <xxhash.h>

#include "byte_order.h"
#include "io.h"

static const uint8_t header_magic[4] = {'K', 'D', 'N', 'H'};
static const uint8_t footer_magic[4] = {'K', 'D', 'N', 'F'};

uint64_t needle_size(uint64_t length)
{
    uint64_t raw = NEEDLE_HEADER_SIZE + length + NEEDLE_FOOTER_SIZE;

    return (raw + NEEDLE_ALIGN - 1) / NEEDLE_ALIGN * NEEDLE_ALIGN;
}

void needle_header_encode(const needle_header_t *header,
                          uint8_t out[NEEDLE_HEADER_SIZE])
{
    memcpy(out, header_magic, sizeof(header_magic));
    out[4] = NEEDLE_VERSION;
    out[5] = header->flags;
    out[6] = header->format;
    out[7] = 0;
    memcpy(out + 8, header->hash.bytes, KADR_HASH_SIZE);
    store__put_le64(out + 24, header->length);
}

int needle_header_decode(const uint8_t in[NEEDLE_HEADER_SIZE],
                         needle_header_t *out)
{
    if (memcmp(in, header_magic, sizeof(header_magic)) != 0)
        return KADR_E_CORRUPT;
    if (in[4] != NEEDLE_VERSION)
        return KADR_E_FORMAT;
    out->flags = in[5];
    out->format = in[6];
    memcpy(out->hash.bytes, in + 8, KADR_HASH_SIZE);
    out->length = store__get_le64(in + 24);
    if (out->length > NEEDLE_MAX_PAYLOAD_BYTES)
        return KADR_E_CORRUPT;
    return 0;
}

/* Encodes the footer and the padding after it, and returns their size. */
static size_t encode_footer(uint64_t checksum, uint64_t length,
                            uint8_t out[NEEDLE_FOOTER_SIZE + NEEDLE_ALIGN])
{
    size_t size = (size_t)(needle_size(length) - NEEDLE_HEADER_SIZE - length);

    memset(out, 0, NEEDLE_FOOTER_SIZE + NEEDLE_ALIGN);
    store__put_le64(out, checksum);
    memcpy(out + 8, footer_magic, sizeof(footer_magic));
    return size;
}

static int check_footer(const uint8_t in[NEEDLE_FOOTER_SIZE], uint64_t checksum)
{
    if (memcmp(in + 8, footer_magic, sizeof(footer_magic)) != 0)
        return KADR_E_CORRUPT;
    if (store__get_le64(in) != checksum)
        return KADR_E_CHECKSUM;
    return 0;
}

static size_t chunk_len(uint64_t left)
{
    return left < STORE_CHUNK_BYTES ? (size_t)left : STORE_CHUNK_BYTES;
}

/* Starts writeback of the len bytes at off that were just written, so
 * that the disk works while the next chunks are copied and the final
 * fdatasync() has less left to wait for. It is only a hint: an I/O error
 * it meets is reported again by that fdatasync(). */
static void start_writeback(int fd, uint64_t off, uint64_t len)
{
    (void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
}

/* Copies the payload from src to fd at payload_off, feeding the checksum,
 * and starts writeback every NEEDLE_WRITEBACK_BYTES. */
static int copy_payload(int fd, uint64_t payload_off, uint64_t length,
                        source_t *src, XXH3_state_t *state)
{
    uint64_t done = 0;
    uint64_t flushed = 0;

    while (done < length) {
        size_t n = chunk_len(length - done);
        const uint8_t *chunk;
        int rc = source_read(src, done, n, &chunk);

        if (rc != 0)
            return rc;
        if (XXH3_64bits_update(state, chunk, n) != XXH_OK)
            return -EINVAL;
        rc = store__pwrite_full(fd, chunk, n, payload_off + done);
        if (rc != 0)
            return rc;
        done += n;
        if (done - flushed >= NEEDLE_WRITEBACK_BYTES) {
            start_writeback(fd, payload_off + flushed, done - flushed);
            flushed = done;
        }
    }
    return 0;
}

static int write_with_state(int fd, uint64_t needle_off,
                            const needle_header_t *header, source_t *src,
                            XXH3_state_t *state)
{
    uint8_t head[NEEDLE_HEADER_SIZE];
    uint8_t foot[NEEDLE_FOOTER_SIZE + NEEDLE_ALIGN];
    uint64_t payload_off = needle_off + NEEDLE_HEADER_SIZE;
    size_t foot_len;
    int rc;

    needle_header_encode(header, head);
    if (XXH3_64bits_reset(state) != XXH_OK ||
        XXH3_64bits_update(state, head, sizeof(head)) != XXH_OK)
        return -EINVAL;
    rc = store__pwrite_full(fd, head, sizeof(head), needle_off);
    if (rc != 0)
        return rc;
    rc = copy_payload(fd, payload_off, header->length, src, state);
    if (rc != 0)
        return rc;
    foot_len = encode_footer(XXH3_64bits_digest(state), header->length, foot);
    return store__pwrite_full(fd, foot, foot_len, payload_off + header->length);
}

int needle_write(int fd, uint64_t needle_off, const needle_header_t *header,
                 source_t *src)
{
    XXH3_state_t *state = XXH3_createState();
    int rc;

    if (state == NULL)
        return -ENOMEM;
    rc = write_with_state(fd, needle_off, header, src, state);
    XXH3_freeState(state);
    return rc;
}

/* Reads and decodes the header at needle_off, and starts the checksum. */
static int read_header(int fd, uint64_t needle_off, needle_header_t *out,
                       XXH3_state_t *state)
{
    uint8_t head[NEEDLE_HEADER_SIZE];
    int rc = store__pread_full(fd, head, sizeof(head), needle_off);

    if (rc != 0)
        return rc;
    rc = needle_header_decode(head, out);
    if (rc != 0)
        return rc;
    if (XXH3_64bits_reset(state) != XXH_OK ||
        XXH3_64bits_update(state, head, sizeof(head)) != XXH_OK)
        return -EINVAL;
    return 0;
}

static int read_footer(int fd, uint64_t footer_off, XXH3_state_t *state)
{
    uint8_t foot[NEEDLE_FOOTER_SIZE];
    int rc = store__pread_full(fd, foot, sizeof(foot), footer_off);

    if (rc != 0)
        return rc;
    return check_footer(foot, XXH3_64bits_digest(state));
}

struct verify_states {
    XXH3_state_t *checksum; /* XXH3-64 over header and payload */
    XXH3_state_t *content;  /* XXH3-128 over the payload, or NULL */
};

static int hash_payload(source_t *src, uint64_t length,
                        const struct verify_states *st)
{
    uint64_t done = 0;

    while (done < length) {
        size_t n = chunk_len(length - done);
        const uint8_t *chunk;
        int rc = source_read(src, done, n, &chunk);

        if (rc != 0)
            return rc;
        if (XXH3_64bits_update(st->checksum, chunk, n) != XXH_OK)
            return -EINVAL;
        if (st->content != NULL &&
            XXH3_128bits_update(st->content, chunk, n) != XXH_OK)
            return -EINVAL;
        done += n;
    }
    return 0;
}

static int scan_with_state(int fd, uint64_t needle_off, needle_header_t *out,
                           XXH3_state_t *state)
{
    uint64_t payload_off = needle_off + NEEDLE_HEADER_SIZE;
    source_t src;
    int rc = read_header(fd, needle_off, out, state);

    if (rc != 0)
        return rc;
    rc = source_init_fd(&src, fd, payload_off);
    if (rc != 0)
        return rc;
    rc = hash_payload(&src, out->length, &(struct verify_states){state, NULL});
    source_free(&src);
    if (rc != 0)
        return rc;
    return read_footer(fd, payload_off + out->length, state);
}

int needle_scan(int fd, uint64_t needle_off, needle_header_t *out)
{
    XXH3_state_t *state = XXH3_createState();
    int rc;

    if (state == NULL)
        return -ENOMEM;
    rc = scan_with_state(fd, needle_off, out, state);
    XXH3_freeState(state);
    return rc;
}

static int read_with_state(int fd, uint64_t needle_off, uint64_t expected_len,
                           uint8_t *payload, XXH3_state_t *state)
{
    uint64_t payload_off = needle_off + NEEDLE_HEADER_SIZE;
    needle_header_t header;
    int rc = read_header(fd, needle_off, &header, state);

    if (rc != 0)
        return rc;
    if (header.length != expected_len)
        return KADR_E_CORRUPT;
    rc = store__pread_full(fd, payload, (size_t)expected_len, payload_off);
    if (rc != 0)
        return rc;
    if (XXH3_64bits_update(state, payload, (size_t)expected_len) != XXH_OK)
        return -EINVAL;
    return read_footer(fd, payload_off + expected_len, state);
}

int needle_read(int fd, uint64_t needle_off, uint64_t expected_len,
                uint8_t *payload)
{
    XXH3_state_t *state = XXH3_createState();
    int rc;

    if (state == NULL)
        return -ENOMEM;
    rc = read_with_state(fd, needle_off, expected_len, payload, state);
    XXH3_freeState(state);
    return rc;
}

static int verify_with_states(int fd, uint64_t needle_off, needle_header_t *out,
                              kadr_hash_t *content,
                              const struct verify_states *st)
{
    uint64_t payload_off = needle_off + NEEDLE_HEADER_SIZE;
    source_t src;
    int rc = read_header(fd, needle_off, out, st->checksum);

    if (rc != 0)
        return rc;
    if (XXH3_128bits_reset(st->content) != XXH_OK)
        return -EINVAL;
    rc = source_init_fd(&src, fd, payload_off);
    if (rc != 0)
        return rc;
    rc = hash_payload(&src, out->length, st);
    source_free(&src);
    if (rc != 0)
        return rc;
    XXH128_canonicalFromHash((XXH128_canonical_t *)content->bytes,
                             XXH3_128bits_digest(st->content));
    return read_footer(fd, payload_off + out->length, st->checksum);
}

int needle_verify(int fd, uint64_t needle_off, needle_header_t *out,
                  kadr_hash_t *content)
{
    struct verify_states st = {XXH3_createState(), XXH3_createState()};
    int rc = -ENOMEM;

    if (st.checksum != NULL && st.content != NULL)
        rc = verify_with_states(fd, needle_off, out, content, &st);
    XXH3_freeState(st.checksum);
    XXH3_freeState(st.content);
    return rc;
}
