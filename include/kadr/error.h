/* kadr's error codes.
 *
 * Every fallible function in kadr returns int: 0 on success, -errno for a
 * system error, or one of the codes below. kadr's own codes sit in a block
 * far below any errno value and below LMDB's reserved block (-30799 to
 * -30780), so the three never collide. */
#ifndef KADR_ERROR_H
#define KADR_ERROR_H

#include <string.h>

#define KADR_MUST_CHECK __attribute__((warn_unused_result))

enum kadr_error {
    KADR_ERR_FIRST = -40000,
    KADR_E_UNSUPPORTED = -40000, /* a format kadr does not serve */
    KADR_E_CORRUPT = -40001,     /* media bytes are malformed or truncated */
    KADR_E_TOO_LARGE = -40002,   /* over a configured limit */
    KADR_E_NOT_FOUND = -40003,   /* no such key, id or variant */
    KADR_E_EXISTS = -40004,      /* the key is already present */
    KADR_E_CHECKSUM = -40005,    /* stored bytes do not match their checksum */
    KADR_E_INDEX = -40006,       /* the LMDB index returned an error */
    KADR_E_INDEX_FULL = -40007,  /* the LMDB map is full */
    KADR_E_NO_VIDEO = -40008,    /* a container with no video stream */
    KADR_E_TIMEOUT = -40009,     /* a time limit passed */
    KADR_E_CANCELLED = -40010,   /* the caller cancelled the work */
    KADR_E_DISK_FULL = -40011,   /* free space is under the reserve */
    KADR_E_COLLISION = -40012,   /* equal hashes, different bytes */
    KADR_E_FORMAT = -40013,      /* an on-disk format kadr cannot read */
    KADR_E_CONFIG = -40014,      /* an invalid configuration value */
    KADR_E_CODEC = -40015,       /* a codec library failed */
    KADR_E_BAD_INPUT = -40016,   /* an invalid argument or request */
    KADR_E_INDEX_LOST = -40017,  /* a new index beside volumes with data */
    KADR_ERR_LAST = -40017,
};

/* Returns a static description of any kadr code or -errno value. */
static inline const char *kadr_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case KADR_E_UNSUPPORTED:
        return "unsupported format";
    case KADR_E_CORRUPT:
        return "corrupt or truncated media";
    case KADR_E_TOO_LARGE:
        return "over a configured limit";
    case KADR_E_NOT_FOUND:
        return "not found";
    case KADR_E_EXISTS:
        return "already exists";
    case KADR_E_CHECKSUM:
        return "checksum mismatch";
    case KADR_E_INDEX:
        return "index error";
    case KADR_E_INDEX_FULL:
        return "index map full";
    case KADR_E_NO_VIDEO:
        return "no video stream";
    case KADR_E_TIMEOUT:
        return "timed out";
    case KADR_E_CANCELLED:
        return "cancelled";
    case KADR_E_DISK_FULL:
        return "disk space under the reserve";
    case KADR_E_COLLISION:
        return "hash collision with different bytes";
    case KADR_E_FORMAT:
        return "unknown on-disk format version";
    case KADR_E_CONFIG:
        return "invalid configuration";
    case KADR_E_CODEC:
        return "codec failure";
    case KADR_E_BAD_INPUT:
        return "invalid input";
    case KADR_E_INDEX_LOST:
        return "the index is empty but volumes/ holds stored data (restore "
               "index/ from a backup, or move volumes/ away to start an "
               "empty store)";
    default:
        break;
    }
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}

#endif
