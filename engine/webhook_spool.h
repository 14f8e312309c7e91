#ifndef KADR_ENGINE_WEBHOOK_SPOOL_H
#define KADR_ENGINE_WEBHOOK_SPOOL_H
/* Webhook spool: the events still queued, kept in a file of the data
 * folder and queued again at the next start. Each line is the JSON body
 * of one event, oldest first, or a removal line {"done":N}: event N,
 * counted from 0 among the event lines, has left the queue. */

#include <stddef.h>

#include <kadr/error.h>

#define WEBHOOK_SPOOL_FILE "webhook-queue.jsonl"
/* A longer line is not an event body: those are a few hundred bytes,
 * most of them the failure reason of a failed media. */
#define WEBHOOK_SPOOL_MAX_LINE 65536
/* A removal line is this prefix, the event's number and a closing brace. */
#define WEBHOOK_SPOOL_DONE_PREFIX "{\"done\":"

/* Writes DIR/webhook-queue.jsonl into path. Returns 0, or -ENAMETOOLONG
 * when it does not fit in PATH_MAX bytes. */
KADR_MUST_CHECK int webhook_spool_path(const char *dir, char *path);

/* Writes bodies (JSON without newlines) to DIR/webhook-queue.jsonl
 * through a temporary file that is synced and renamed over it. Returns 0
 * or -errno, and leaves no temporary file behind. */
KADR_MUST_CHECK int webhook_spool_save(const char *dir,
                                       const char *const *bodies, size_t count);

/* Called with each line of the spool, without its newline. */
typedef void (*webhook_spool_fn)(void *ctx, const char *line, size_t len);

/* Calls fn for each event line of DIR/webhook-queue.jsonl in order,
 * skipping empty and over-long lines and removed events. A line that
 * starts with WEBHOOK_SPOOL_DONE_PREFIX is never an event, whatever
 * follows. The file stays in place: the caller rewrites or empties it.
 * Returns the number of lines passed to fn (0 when there is no file),
 * -EINVAL when it is not a regular file, or -errno. */
KADR_MUST_CHECK int webhook_spool_load(const char *dir, webhook_spool_fn fn,
                                       void *ctx);

#endif
