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
    /* Pins: the needle offsets of reservations and staged needles not
     * yet indexed in this volume, unordered. While there are any,
     * retirement keeps wfd open and the volume stays open past the grace
     * time (up to VOLUME_PIN_MAX_GRACES of it). */
    uint64_t *pins;
    size_t pin_count;
    size_t pin_cap;
    /* Offset where the next needle of this volume would go, guarded by
     * the table's append_lock. It is 0 for a volume not appended to since
     * the table was opened. */
    uint64_t append_end;
} volume_t;

typedef struct volume_table {
    char *dir;
    uint64_t max_bytes;
    pthread_rwlock_t lock; /* guards items and count */
    volume_t **items;      /* sorted by id; each volume_t never moves */
    size_t count;
    size_t cap;
    pthread_mutex_t append_lock; /* guards active and each append_end */
    volume_t *active;
    uint32_t next_id; /* id of the next volume created */
    bool read_only;   /* a reader: no recovery, no active volume */
    /* Time a retired volume stays open at least, in nanoseconds:
     * VOLUME_RETIRED_GRACE_S unless the store's options shorten it. */
    uint64_t retired_grace_ns;
} volume_table_t;

/* Returns the offset of the end of the last indexed needle of volume id,
 * or VOLUME_HEADER_SIZE if none is indexed. Recovery cuts the file there. */
typedef int (*volume_end_fn)(void *ctx, uint32_t id, uint64_t *end);

/* Returns 1 when a volume file in dir is longer than its header, 0 when
 * none is (or dir does not exist), or -errno. */
KADR_MUST_CHECK int volume_dir_has_data(const char *dir);

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

/* A pinned retired volume stays open for this many grace times at most
 * (an hour by default). A pin that is never released, from a staged
 * needle whose caller gave up without store_staged_release(), keeps the
 * unlinked file's disk space for no longer than that. */
#define VOLUME_PIN_MAX_GRACES 60

/* Returns the read fd of volume id (borrowed, valid until close, or for
 * the grace time after a compaction retires it, longer while pinned), or
 * KADR_E_NOT_FOUND. A read-only table opens volumes created after it was
 * opened on demand. */
KADR_MUST_CHECK int volume_fd(volume_table_t *table, uint32_t id);

/* Returns the number of volumes that are not retired. */
uint32_t volume_count(volume_table_t *table);

/* Returns the id of the volume appends go to, or 0 for a reader. */
uint32_t volume_active_id(volume_table_t *table);

/* Starts a new active volume if id is the active one, so that id takes
 * no more appends. */
KADR_MUST_CHECK int volume_seal(volume_table_t *table, uint32_t id);

/* Marks volume id retired and closes its write fd, or leaves that to the
 * last volume_unpin() while the volume is pinned. Its read fd stays open
 * until volume_drop_retired() or close. */
void volume_retire(volume_table_t *table, uint32_t id, bool retired);
bool volume_is_retired(volume_table_t *table, uint32_t id);

/* Maximum number of pins on one volume: reservations past it fail with
 * KADR_E_TOO_LARGE. Far above the uploads and variants in flight. */
#define VOLUME_MAX_PINS (1u << 20)

/* Releases the pin of the needle at offset of volume id, taken by
 * volume_append_reserve(). A retired volume's write fd closes with its
 * last pin. Does nothing for a pin released already or a volume that is
 * gone, so releasing twice is harmless. */
void volume_unpin(volume_table_t *table, uint32_t id, uint64_t offset);

/* Closes and forgets the volumes retired more than the grace time ago,
 * except pinned ones younger than VOLUME_PIN_MAX_GRACES grace times. */
void volume_drop_retired(volume_table_t *table);

/* Writes DIR/<id>.vol into out. */
KADR_MUST_CHECK int volume_path(const char *dir, uint32_t id,
                                char out[PATH_MAX]);

/* Reserves size bytes at the end of the active volume for one needle.
 * A needle that would take an active volume with needles past max_bytes
 * goes to an empty volume instead: one emptied by the cancel of every
 * reservation it had since the table was opened, else a new one. That
 * volume becomes the active one only if it has more room left than the
 * active one. So a large reservation that is then given back, such as a
 * client that declared a large body and left, takes no room from the
 * active volume and adds no volume file. Sets *vol and *offset to where
 * the needle goes, and pins the needle. The caller releases the pin with
 * volume_unpin() once the needle is indexed or given up, or through
 * volume_append_cancel(). */
KADR_MUST_CHECK int volume_append_reserve(volume_table_t *table, uint64_t size,
                                          volume_t **vol, uint64_t *offset);

/* Gives back a reservation of volume id whose write or sync failed, and
 * releases its pin. fd is a write fd of the volume. The space returns to
 * the volume, active or not, if no later reservation follows it.
 * Otherwise the bytes stay as a gap between needles. Their disk blocks are
 * freed (FALLOC_FL_PUNCH_HOLE, where the filesystem supports it), they read as
 * zeros, and store_volume_list() counts them as dead bytes, so compaction
 * reclaims them. */
void volume_append_cancel(volume_table_t *table, uint32_t id, int fd,
                          uint64_t offset, uint64_t size);

/* Writes the file name of volume id ("00000001.vol") into out. */
void volume_file_name(uint32_t id, char out[16]);

#endif
