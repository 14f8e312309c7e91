/* Volumes: the append-only files under DIR/volumes/ that hold needles.
 *
 * A volume file is named by its id as eight decimal digits and ".vol"
 * (00000001.vol) and begins with a VOLUME_HEADER_SIZE-byte header, all
 * integers little-endian:
 *   0 magic "KDVL"   4 u32 format version   8 u32 volume id   12 reserved
 * Needles follow, each starting at a multiple of NEEDLE_ALIGN. */
#ifndef KADR_STORE_VOLUME_H
#define KADR_STORE_VOLUME_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kadr/error.h>

#define VOLUME_HEADER_SIZE 16
#define VOLUME_VERSION 1

/* Maximum number of volumes one store opens, each with an open read fd. */
#define VOLUME_MAX_COUNT 65536

typedef struct volume {
    uint32_t id;
    int rfd; /* O_RDONLY, for readers on any thread */
    int wfd; /* O_WRONLY, or -1 for volumes not appended to since open */
    /* Compacted away: the file is unlinked or about to be, and rfd stays
     * open for reads that looked the old location up just before. */
    bool retired;
    uint64_t retired_ns; /* CLOCK_MONOTONIC time of retirement */
} volume_t;

typedef struct volume_table {
    char *dir;
    uint64_t max_bytes;
    pthread_rwlock_t lock; /* guards items and count */
    volume_t **items;      /* sorted by id; each volume_t never moves */
    size_t count;
    size_t cap;
    pthread_mutex_t append_lock; /* guards active and append_end */
    volume_t *active;
    uint64_t append_end; /* offset where the next needle goes */
    uint32_t next_id;    /* id of the next volume created */
    bool read_only;      /* a reader: no recovery, no active volume */
} volume_table_t;

/* Returns the offset of the end of the last indexed needle of volume id,
 * or VOLUME_HEADER_SIZE if none is indexed. Recovery cuts the file there. */
typedef int (*volume_end_fn)(void *ctx, uint32_t id, uint64_t *end);

/* Opens every volume in dir. Each file is first cut back to the end that
 * end_of returns and synced, so needles appended but never indexed are
 * removed. Creates volume 1 if dir has none. The last volume becomes the
 * active one. A read_only table skips the cut and has no active volume.
 * Returns 0, -errno, KADR_E_FORMAT for a foreign header, or
 * KADR_E_CORRUPT if a file is shorter than its indexed end. */
KADR_MUST_CHECK int volume_table_open(volume_table_t *table, const char *dir,
                                      uint64_t max_bytes, bool read_only,
                                      volume_end_fn end_of, void *ctx);
void volume_table_close(volume_table_t *table);

/* Time a retired volume's read fd stays open at least, in seconds: far
 * longer than a reader needs between its index lookup and its read or
 * dup() of the fd. */
#define VOLUME_RETIRED_GRACE_S 60

/* Returns the read fd of volume id (borrowed, valid until close, or for
 * VOLUME_RETIRED_GRACE_S after a compaction retires it), or
 * KADR_E_NOT_FOUND. A
 * read-only table opens volumes created after it was opened on demand. */
KADR_MUST_CHECK int volume_fd(volume_table_t *table, uint32_t id);

/* Returns the number of volumes that are not retired. */
uint32_t volume_count(volume_table_t *table);

/* Returns the id of the volume appends go to, or 0 for a reader. */
uint32_t volume_active_id(volume_table_t *table);

/* Starts a new active volume if id is the active one, so that id takes
 * no more appends. */
KADR_MUST_CHECK int volume_seal(volume_table_t *table, uint32_t id);

/* Marks volume id retired and closes its write fd. Its read fd stays open
 * until volume_drop_retired() or close. */
void volume_retire(volume_table_t *table, uint32_t id, bool retired);
bool volume_is_retired(volume_table_t *table, uint32_t id);

/* Closes and forgets the volumes retired more than
 * VOLUME_RETIRED_GRACE_S ago. */
void volume_drop_retired(volume_table_t *table);

/* Writes DIR/<id>.vol into out. */
KADR_MUST_CHECK int volume_path(const char *dir, uint32_t id,
                                char out[PATH_MAX]);

/* Reserves size bytes at the end of the active volume for one needle,
 * first starting a new volume if the active one has needles and would
 * pass max_bytes. Sets *vol and *offset to where the needle goes. */
KADR_MUST_CHECK int volume_append_reserve(volume_table_t *table, uint64_t size,
                                          volume_t **vol, uint64_t *offset);

/* Gives back a reservation whose write failed. The space returns to the
 * volume only if no later reservation follows it. Otherwise it stays as
 * unused bytes between needles. */
void volume_append_cancel(volume_table_t *table, volume_t *vol, uint64_t offset,
                          uint64_t size);

/* Writes the file name of volume id ("00000001.vol") into out. */
void volume_file_name(uint32_t id, char out[16]);

#endif
