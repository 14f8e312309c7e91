#include "needle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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
    if (in[4] != NEEDLE_VERSION_1 && in[4] != NEEDLE_VERSION)
        return KADR_E_FORMAT;
    out->version = in[4];
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

void needle_start_writeback(int fd, uint64_t off, uint64_t len)
{
    (void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
}

/* Copies the payload from src to fd at payload_off, and starts writeback
 * every NEEDLE_WRITEBACK_BYTES. */
static int copy_payload(int fd, uint64_t payload_off, uint64_t length,
                        source_t *src)
{
    uint64_t done = 0;
    uint64_t flushed = 0;

    while (done < length) {
        size_t n = chunk_len(length - done);
        const uint8_t *chunk;
        int rc = source_read(src, done, n, &chunk);

        if (rc != 0)
            return rc;
        rc = kadr_pwrite_full(fd, chunk, n, payload_off + done);
        if (rc != 0)
            return rc;
        done += n;
        if (done - flushed >= NEEDLE_WRITEBACK_BYTES) {
            needle_start_writeback(fd, payload_off + flushed, done - flushed);
            flushed = done;
        }
    }
    return 0;
}

int needle_seal(int fd, uint64_t needle_off, const needle_header_t *header)
{
    uint8_t head[NEEDLE_HEADER_SIZE];
    uint8_t foot[NEEDLE_FOOTER_SIZE + NEEDLE_ALIGN];
    size_t foot_len;
    int rc;

    needle_header_encode(header, head);
    foot_len =
        encode_footer(XXH3_64bits(head, sizeof(head)), header->length, foot);
    rc = kadr_pwrite_full(fd, foot, foot_len,
                          needle_off + NEEDLE_HEADER_SIZE + header->length);
    if (rc != 0)
        return rc;
    return kadr_pwrite_full(fd, head, sizeof(head), needle_off);
}

int needle_write(int fd, uint64_t needle_off, const needle_header_t *header,
                 source_t *src)
{
    int rc =
        copy_payload(fd, needle_off + NEEDLE_HEADER_SIZE, header->length, src);

    if (rc != 0)
        return rc;
    return needle_seal(fd, needle_off, header);
}

/* The running checks of one needle being read. Version 1's footer
 * checksum covers the header and the payload. Version 2's covers the
 * header only, and the payload must hash to the content hash in the
 * header. */
typedef struct needle_check {
    uint64_t needle_off;
    needle_header_t header;
    XXH3_state_t *sum;     /* XXH3-64 for the footer */
    XXH3_state_t *content; /* XXH3-128 of the payload */
    bool want_content;     /* the caller needs the payload's hash */
} needle_check_t;

static int check_init(needle_check_t *check, bool want_content)
{
    check->sum = XXH3_createState();
    check->content = XXH3_createState();
    check->want_content = want_content;
    if (check->sum == NULL || check->content == NULL)
        return -ENOMEM;
    return 0;
}

static void check_free(needle_check_t *check)
{
    XXH3_freeState(check->sum);
    XXH3_freeState(check->content);
}

static bool hashes_content(const needle_check_t *check)
{
    return check->want_content || check->header.version != NEEDLE_VERSION_1;
}

/* Reads and decodes the header at needle_off, and starts the checks. */
static int check_begin(needle_check_t *check, int fd, uint64_t needle_off)
{
    uint8_t head[NEEDLE_HEADER_SIZE];
    int rc = store__pread_full(fd, head, sizeof(head), needle_off);

    if (rc != 0)
        return rc;
    rc = needle_header_decode(head, &check->header);
    if (rc != 0)
        return rc;
    check->needle_off = needle_off;
    if (XXH3_64bits_reset(check->sum) != XXH_OK ||
        XXH3_64bits_update(check->sum, head, sizeof(head)) != XXH_OK ||
        XXH3_128bits_reset(check->content) != XXH_OK)
        return -EINVAL;
    return 0;
}

static int check_feed(needle_check_t *check, const uint8_t *data, size_t len)
{
    if (check->header.version == NEEDLE_VERSION_1 &&
        XXH3_64bits_update(check->sum, data, len) != XXH_OK)
        return -EINVAL;
    if (hashes_content(check) &&
        XXH3_128bits_update(check->content, data, len) != XXH_OK)
        return -EINVAL;
    return 0;
}

/* Checks the footer after the payload and, for version 2, the payload's
 * hash. Writes the payload's hash into *content when the caller wants
 * it. */
static int check_end(needle_check_t *check, int fd, kadr_hash_t *content)
{
    uint64_t footer_off =
        check->needle_off + NEEDLE_HEADER_SIZE + check->header.length;
    uint8_t foot[NEEDLE_FOOTER_SIZE];
    kadr_hash_t hash;
    int rc = store__pread_full(fd, foot, sizeof(foot), footer_off);

    if (rc != 0)
        return rc;
    rc = check_footer(foot, XXH3_64bits_digest(check->sum));
    if (rc != 0 || !hashes_content(check))
        return rc;
    XXH128_canonicalFromHash((XXH128_canonical_t *)hash.bytes,
                             XXH3_128bits_digest(check->content));
    if (content != NULL)
        *content = hash;
    if (check->header.version != NEEDLE_VERSION_1 &&
        memcmp(hash.bytes, check->header.hash.bytes, KADR_HASH_SIZE) != 0)
        return KADR_E_CHECKSUM;
    return 0;
}

/* Feeds the payload to the checks in bounded chunks read from fd. */
static int check_payload(needle_check_t *check, int fd)
{
    uint64_t length = check->header.length;
    uint64_t done = 0;
    source_t src;
    int rc = source_init_fd(&src, fd, check->needle_off + NEEDLE_HEADER_SIZE);

    while (rc == 0 && done < length) {
        size_t n = chunk_len(length - done);
        const uint8_t *chunk;

        rc = source_read(&src, done, n, &chunk);
        if (rc == 0)
            rc = check_feed(check, chunk, n);
        done += n;
    }
    source_free(&src);
    return rc;
}

/* Checks the whole needle at needle_off, reading the payload in chunks. */
static int check_needle(int fd, uint64_t needle_off, needle_header_t *out,
                        kadr_hash_t *content)
{
    needle_check_t check;
    int rc = check_init(&check, content != NULL);

    if (rc == 0)
        rc = check_begin(&check, fd, needle_off);
    if (rc == 0) {
        *out = check.header;
        rc = check_payload(&check, fd);
    }
    if (rc == 0)
        rc = check_end(&check, fd, content);
    check_free(&check);
    return rc;
}

int needle_scan(int fd, uint64_t needle_off, needle_header_t *out)
{
    return check_needle(fd, needle_off, out, NULL);
}

int needle_verify(int fd, uint64_t needle_off, needle_header_t *out,
                  kadr_hash_t *content)
{
    return check_needle(fd, needle_off, out, content);
}

/* Reads the payload of length expected_len into payload and checks it. */
static int read_checked(needle_check_t *check, int fd, uint64_t needle_off,
                        uint64_t expected_len, uint8_t *payload)
{
    int rc = check_begin(check, fd, needle_off);

    if (rc != 0)
        return rc;
    if (check->header.length != expected_len)
        return KADR_E_CORRUPT;
    rc = store__pread_full(fd, payload, (size_t)expected_len,
                           needle_off + NEEDLE_HEADER_SIZE);
    if (rc != 0)
        return rc;
    rc = check_feed(check, payload, (size_t)expected_len);
    if (rc != 0)
        return rc;
    return check_end(check, fd, NULL);
}

int needle_read(int fd, uint64_t needle_off, uint64_t expected_len,
                uint8_t *payload)
{
    needle_check_t check;
    int rc = check_init(&check, false);

    if (rc == 0)
        rc = read_checked(&check, fd, needle_off, expected_len, payload);
    check_free(&check);
    return rc;
}
