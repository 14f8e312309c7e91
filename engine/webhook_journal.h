#ifndef KADR_ENGINE_WEBHOOK_JOURNAL_H
#define KADR_ENGINE_WEBHOOK_JOURNAL_H
/* Webhook journal: the spool file kept up to date while kadrd runs, so
 * that a crash loses no queued event. Each event is appended as a line
 * when it is queued, numbered from 0 in the file. When it leaves the
 * queue, a removal line {"done":N} follows. webhook_spool_load() skips
 * removed events. An empty queue empties the file, and a file with many
 * removal lines is rewritten with the queue alone. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kadr/error.h>

typedef struct webhook_journal {
    const char *dir; /* the data folder, borrowed */
    int fd;          /* O_APPEND, or -1 until the next event */
    bool broken;     /* the file's lines are unknown: rewrite before use */
    bool stale;      /* a line is missing: the file lags the queue */
    uint64_t events; /* event lines in the file: the next event's number */
    uint64_t lines;  /* event and removal lines in the file */
    uint64_t size;   /* bytes in the file, all whole lines */
} webhook_journal_t;

/* Sets up a journal in dir, which must outlive it. Opens nothing. */
void webhook_journal_init(webhook_journal_t *j, const char *dir);

/* Appends an event line and sets *number to the event's number. Returns
 * 0, 1 when the journal is broken (nothing written), or -errno for a
 * write that failed now. A failed write is cut from the file, which
 * leaves the journal stale, or breaks it when the cut fails too. Either
 * lasts until the file is emptied or rewritten. */
KADR_MUST_CHECK int webhook_journal_append(webhook_journal_t *j,
                                           const char *body, size_t len,
                                           uint64_t *number);

/* Appends the removal line of event number. Same returns as append. */
KADR_MUST_CHECK int webhook_journal_remove(webhook_journal_t *j,
                                           uint64_t number);

/* Returns true when the file must be rewritten from the queue before it
 * matches it again: the journal is broken, or stale after a failed
 * write. */
bool webhook_journal_behind(const webhook_journal_t *j);

/* Empties the file (there may be one from an earlier run even when no
 * line was written yet), for an empty queue. Returns 0 or -errno. */
KADR_MUST_CHECK int webhook_journal_clear(webhook_journal_t *j);

/* Returns true when the file has more than twice as many lines as the
 * queue has events, plus some slack, so a rewrite pays off. */
bool webhook_journal_bloated(const webhook_journal_t *j, size_t queued);

/* Replaces the file with bodies, synced, numbered 0 to count - 1 from
 * here on: through a renamed temporary file, or in place when the data
 * folder rejects new files (EACCES, EPERM). Returns 0 or -errno. On
 * failure the journal is stale when the old file is known to be intact,
 * and broken otherwise. */
KADR_MUST_CHECK int webhook_journal_rewrite(webhook_journal_t *j,
                                            const char *const *bodies,
                                            size_t count);

/* Closes the file, leaving it as it is. */
void webhook_journal_close(webhook_journal_t *j);

#endif
