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
#include <unistd.h>

#include "webhook_spool.h"

/* Lines a file may have past twice the queue before it is rewritten. */
#define JOURNAL_SLACK_LINES 64

static int journal_path(const webhook_journal_t *j, char path[PATH_MAX])
{
    int len = snprintf(path, PATH_MAX, "%s/%s", j->dir, WEBHOOK_SPOOL_FILE);

    return len > 0 && len < PATH_MAX ? 0 : -ENAMETOOLONG;
}

/* Opens the file for appends. O_TRUNC only when it should be empty. */
static int journal_open(webhook_journal_t *j, bool truncate)
{
    char path[PATH_MAX];
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
    int rc = journal_path(j, path);

    if (rc != 0)
        return rc;
    if (truncate)
        flags |= O_TRUNC;
    j->fd = open(path, flags, 0600);
    return j->fd < 0 ? -errno : 0;
}

static void journal_break(webhook_journal_t *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    j->broken = true;
}

/* Writes data and a newline in one write(2), so that a crash leaves at
 * most the last line cut short. */
static int write_all(int fd, const char *data, size_t len)
{
    char *line = malloc(len + 1);
    ssize_t n;

    if (line == NULL)
        return -ENOMEM;
    memcpy(line, data, len);
    line[len] = '\n';
    do
        n = write(fd, line, len + 1);
    while (n < 0 && errno == EINTR);
    free(line);
    if (n < 0)
        return -errno;
    return n == (ssize_t)(len + 1) ? 0 : -EIO;
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
        journal_break(j);
        return rc;
    }
    j->lines++;
    return 0;
}

void webhook_journal_init(webhook_journal_t *j, const char *dir)
{
    j->dir = dir;
    j->fd = -1;
    j->broken = false;
    j->events = 0;
    j->lines = 0;
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

int webhook_journal_clear(webhook_journal_t *j)
{
    char path[PATH_MAX];
    int rc = 0;

    if (j->fd >= 0) {
        if (ftruncate(j->fd, 0) != 0) {
            rc = -errno;
            journal_break(j);
            return rc;
        }
    } else if (j->broken || j->lines > 0) {
        rc = journal_path(j, path);
        if (rc == 0 && truncate(path, 0) != 0 && errno != ENOENT)
            rc = -errno;
        if (rc != 0)
            return rc;
    }
    j->broken = false;
    j->events = 0;
    j->lines = 0;
    return 0;
}

bool webhook_journal_bloated(const webhook_journal_t *j, size_t queued)
{
    return j->lines > 2 * (uint64_t)queued + JOURNAL_SLACK_LINES;
}

int webhook_journal_rewrite(webhook_journal_t *j, const char *const *bodies,
                            size_t count)
{
    int rc = webhook_spool_save(j->dir, bodies, count);

    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    if (rc != 0) {
        j->broken = true;
        return rc;
    }
    j->broken = false;
    j->events = count;
    j->lines = count;
    return 0;
}

void webhook_journal_close(webhook_journal_t *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}
