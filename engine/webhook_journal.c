/* Webhook journal: queued events appended to the spool as they come and
 * go. */
#include "webhook_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "webhook_spool.h"

/* Lines a file may have past twice the queue before it is rewritten. */
#define JOURNAL_SLACK_LINES 64

/* Opens the file for appends, O_TRUNC only when it should be empty, and
 * takes its size. */
static int journal_open(webhook_journal_t *j, bool truncate)
{
    char path[PATH_MAX];
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
    struct stat st;
    int rc = webhook_spool_path(j->dir, path);

    if (rc != 0)
        return rc;
    if (truncate)
        flags |= O_TRUNC;
    j->fd = open(path, flags, 0600);
    if (j->fd < 0)
        return -errno;
    if (fstat(j->fd, &st) != 0) {
        rc = -errno;
        close(j->fd);
        j->fd = -1;
        return rc;
    }
    j->size = (uint64_t)st.st_size;
    return 0;
}

static void journal_break(webhook_journal_t *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    j->broken = true;
}

/* Writes data and a newline, in one write(2) unless it comes up short,
 * so that a crash leaves at most the last line cut short. A short write
 * is continued to learn its error, such as ENOSPC or EFBIG. */
static int write_all(int fd, const char *data, size_t len)
{
    char *line = malloc(len + 1);
    size_t done = 0;
    ssize_t n;
    int rc = 0;

    if (line == NULL)
        return -ENOMEM;
    memcpy(line, data, len);
    line[len] = '\n';
    while (rc == 0 && done < len + 1) {
        n = write(fd, line + done, len + 1 - done);
        if (n > 0)
            done += (size_t)n;
        else if (n == 0)
            rc = -EIO;
        else if (errno != EINTR)
            rc = -errno;
    }
    free(line);
    return rc;
}

/* Cuts what a failed write left past the last whole line, so the next
 * line starts on a line of its own. The journal is stale from here on,
 * or broken when the cut fails. */
static void journal_cut(webhook_journal_t *j)
{
    if (ftruncate(j->fd, (off_t)j->size) != 0) {
        journal_break(j);
        return;
    }
    j->stale = true;
}

/* Appends one line, opening the file first if needed. */
static int write_line(webhook_journal_t *j, const char *data, size_t len)
{
    int rc;

    if (j->broken)
        return 1;
    if (j->fd < 0) {
        rc = journal_open(j, j->lines == 0);
        if (rc != 0) {
            journal_break(j);
            return rc;
        }
    }
    rc = write_all(j->fd, data, len);
    if (rc != 0) {
        journal_cut(j);
        return rc;
    }
    j->lines++;
    j->size += len + 1;
    return 0;
}

void webhook_journal_init(webhook_journal_t *j, const char *dir)
{
    j->dir = dir;
    j->fd = -1;
    j->broken = false;
    j->stale = false;
    j->events = 0;
    j->lines = 0;
    j->size = 0;
}

int webhook_journal_append(webhook_journal_t *j, const char *body, size_t len,
                           uint64_t *number)
{
    int rc = write_line(j, body, len);

    if (rc == 0)
        *number = j->events++;
    return rc;
}

int webhook_journal_remove(webhook_journal_t *j, uint64_t number)
{
    char line[48];
    int len = snprintf(line, sizeof(line), "%s%" PRIu64 "}",
                       WEBHOOK_SPOOL_DONE_PREFIX, number);

    return write_line(j, line, (size_t)len);
}

bool webhook_journal_behind(const webhook_journal_t *j)
{
    return j->broken || j->stale;
}

static void journal_reset(webhook_journal_t *j, uint64_t events, uint64_t size)
{
    j->broken = false;
    j->stale = false;
    j->events = events;
    j->lines = events;
    j->size = size;
}

int webhook_journal_clear(webhook_journal_t *j)
{
    char path[PATH_MAX];
    int rc;

    if (j->fd >= 0) {
        if (ftruncate(j->fd, 0) != 0) {
            rc = -errno;
            journal_break(j);
            return rc;
        }
    } else {
        rc = webhook_spool_path(j->dir, path);
        if (rc == 0 && truncate(path, 0) != 0 && errno != ENOENT)
            rc = -errno;
        if (rc != 0)
            return rc;
    }
    journal_reset(j, 0, 0);
    return 0;
}

bool webhook_journal_bloated(const webhook_journal_t *j, size_t queued)
{
    return j->lines > 2 * (uint64_t)queued + JOURNAL_SLACK_LINES;
}

/* Writes bodies over the file itself, for a data folder where no
 * temporary file can be made. A crash part way loses the events not yet
 * written, so this is the fallback only. Leaves the file open. */
static int rewrite_in_place(webhook_journal_t *j, const char *const *bodies,
                            size_t count)
{
    int rc;

    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    j->lines = 0;
    rc = journal_open(j, true);
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = write_all(j->fd, bodies[i], strlen(bodies[i]));
    if (rc == 0 && fsync(j->fd) != 0)
        rc = -errno;
    return rc;
}

static uint64_t bodies_size(const char *const *bodies, size_t count)
{
    uint64_t size = 0;

    for (size_t i = 0; i < count; i++)
        size += strlen(bodies[i]) + 1;
    return size;
}

/* Returns true when the file open in j has been renamed over, so a save
 * that failed only after its rename still put the new file in place. */
static bool journal_replaced(const webhook_journal_t *j)
{
    struct stat st;

    return j->fd >= 0 && fstat(j->fd, &st) == 0 && st.st_nlink == 0;
}

int webhook_journal_rewrite(webhook_journal_t *j, const char *const *bodies,
                            size_t count)
{
    uint64_t size = bodies_size(bodies, count);
    int rc = webhook_spool_save(j->dir, bodies, count);

    if (rc == -EACCES || rc == -EPERM) {
        rc = rewrite_in_place(j, bodies, count);
        if (rc != 0) {
            journal_break(j);
            return rc;
        }
        journal_reset(j, count, size);
        return 0;
    }
    if (rc == 0 || journal_replaced(j)) {
        webhook_journal_close(j);
        journal_reset(j, count, size);
        return 0;
    }
    /* The open file was not replaced, so its lines and numbers still
     * hold. Without an open file there is no telling. */
    if (j->fd >= 0 && !j->broken)
        j->stale = true;
    else
        journal_break(j);
    return rc;
}

void webhook_journal_close(webhook_journal_t *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}
