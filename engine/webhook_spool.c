/* Webhook spool: queued events saved at a stop and loaded at a start. */
#include "webhook_spool.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kadr/io.h>

/* read_line() results other than a length. */
#define LINE_END (-1L)
#define LINE_TOO_LONG (-2L)

/* The spool file and the temporary file a save writes first. */
struct spool_paths {
    char path[PATH_MAX];
    char tmp[PATH_MAX];
};

int webhook_spool_path(const char *dir, char *path)
{
    int len = snprintf(path, PATH_MAX, "%s/%s", dir, WEBHOOK_SPOOL_FILE);

    return len > 0 && len < PATH_MAX ? 0 : -ENAMETOOLONG;
}

static int spool_paths_init(struct spool_paths *p, const char *dir)
{
    int rc = webhook_spool_path(dir, p->path);
    int tmp_len;

    if (rc != 0)
        return rc;
    tmp_len = snprintf(p->tmp, PATH_MAX, "%s.tmp", p->path);
    return tmp_len > 0 && tmp_len < PATH_MAX ? 0 : -ENAMETOOLONG;
}

static int write_lines(FILE *f, const char *const *bodies, size_t count)
{
    errno = 0; /* stdio sets it on a failed write, such as ENOSPC */
    for (size_t i = 0; i < count; i++) {
        if (fputs(bodies[i], f) == EOF || fputc('\n', f) == EOF)
            return errno != 0 ? -errno : -EIO;
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        return errno != 0 ? -errno : -EIO;
    return 0;
}

int webhook_spool_save(const char *dir, const char *const *bodies, size_t count)
{
    struct spool_paths p;
    FILE *f;
    int rc = spool_paths_init(&p, dir);

    if (rc != 0)
        return rc;
    f = fopen(p.tmp, "we");
    if (f == NULL)
        return -errno;
    rc = write_lines(f, bodies, count);
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(p.tmp, p.path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(p.tmp);
        return rc;
    }
    return kadr_fsync_dir(dir);
}

/* Reads the next line of f into line (WEBHOOK_SPOOL_MAX_LINE + 1 bytes)
 * without its newline, and ends it with NUL. A longer line is read to its
 * end and dropped, so memory stays bounded whatever the file holds.
 * Returns its length, LINE_TOO_LONG, or LINE_END at the end of f. */
static long read_line(FILE *f, char *line)
{
    size_t len = 0;
    bool too_long = false;
    int c;

    while ((c = getc_unlocked(f)) != EOF && c != '\n') {
        if (len < WEBHOOK_SPOOL_MAX_LINE)
            line[len++] = (char)c;
        else
            too_long = true;
    }
    if (c == EOF && len == 0 && !too_long)
        return LINE_END;
    line[len] = '\0';
    return too_long ? LINE_TOO_LONG : (long)len;
}

/* Classes of spool lines, as read_events() and read_done() see them. */
enum line_kind {
    LINE_EVENT,   /* takes the next event number */
    LINE_REMOVAL, /* starts with WEBHOOK_SPOOL_DONE_PREFIX */
    LINE_SKIPPED, /* empty */
};

static enum line_kind classify(const char *line, long len)
{
    size_t prefix = sizeof(WEBHOOK_SPOOL_DONE_PREFIX) - 1;

    if (len == 0)
        return LINE_SKIPPED;
    if (len >= (long)prefix &&
        memcmp(line, WEBHOOK_SPOOL_DONE_PREFIX, prefix) == 0)
        return LINE_REMOVAL;
    return LINE_EVENT;
}

/* Sets *number from a removal line. Returns false when the line does not
 * end in a decimal number below UINT64_MAX and a closing brace. */
static bool parse_done(const char *line, size_t len, uint64_t *number)
{
    size_t prefix = sizeof(WEBHOOK_SPOOL_DONE_PREFIX) - 1;
    uint64_t value = 0;
    size_t i;

    if (len < prefix + 2 || line[len - 1] != '}')
        return false;
    for (i = prefix; i < len - 1; i++) {
        if (line[i] < '0' || line[i] > '9' || value > UINT64_MAX / 10 - 1)
            return false;
        value = value * 10 + (uint64_t)(line[i] - '0');
    }
    *number = value;
    return true;
}

/* Counts the event lines of f into *events. */
static int count_events(FILE *f, char *line, uint64_t *events)
{
    long len;

    *events = 0;
    while ((len = read_line(f, line)) != LINE_END) {
        if (len == LINE_TOO_LONG || classify(line, len) == LINE_EVENT)
            (*events)++;
    }
    return ferror(f) ? -EIO : 0;
}

/* Sets the bit of each event number below events that a removal line of
 * f names. The bitmap has one bit per event line, so memory stays at a
 * sixteenth of the file size at most, whatever numbers the file holds. */
static int read_done(FILE *f, char *line, uint8_t *done, uint64_t events)
{
    uint64_t number;
    long len;

    while ((len = read_line(f, line)) != LINE_END) {
        if (len > 0 && classify(line, len) == LINE_REMOVAL &&
            parse_done(line, (size_t)len, &number) && number < events)
            done[number / 8] |= (uint8_t)(1u << (number % 8));
    }
    return ferror(f) ? -EIO : 0;
}

/* Passes each event line of f that done does not mark to fn. Every line
 * that is neither empty nor a removal line takes the next number, as the
 * journal numbered them. Returns how many lines fn received. */
static int read_events(FILE *f, char *line, const uint8_t *done,
                       webhook_spool_fn fn, void *ctx)
{
    uint64_t number = 0;
    long len;
    int count = 0;

    while ((len = read_line(f, line)) != LINE_END) {
        if (len >= 0 && classify(line, len) != LINE_EVENT)
            continue;
        if (len > 0 && !(done[number / 8] & (1u << (number % 8))) &&
            count < INT_MAX) {
            fn(ctx, line, (size_t)len);
            count++;
        }
        number++;
    }
    return ferror(f) ? -EIO : count;
}

static int rewind_file(FILE *f)
{
    return fseek(f, 0, SEEK_SET) == 0 ? 0 : -errno;
}

/* Passes the events of f that are still queued to fn, in order, in three
 * passes: count the events, mark the removed ones, pass the rest on.
 * Returns how many lines fn received. */
static int read_lines(FILE *f, webhook_spool_fn fn, void *ctx)
{
    char *line = malloc(WEBHOOK_SPOOL_MAX_LINE + 1);
    uint8_t *done = NULL;
    uint64_t events = 0;
    int rc;

    if (line == NULL)
        return -ENOMEM;
    rc = count_events(f, line, &events);
    if (rc == 0 && (done = calloc((size_t)(events / 8 + 1), 1)) == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        rc = rewind_file(f);
    if (rc == 0)
        rc = read_done(f, line, done, events);
    if (rc == 0)
        rc = rewind_file(f);
    if (rc == 0)
        rc = read_events(f, line, done, fn, ctx);
    free(done);
    free(line);
    return rc;
}

/* Opens path for reading only if it is a regular file: a FIFO put in its
 * place would block the start. Returns 0, -errno, or -EINVAL. */
static int open_regular(const char *path, FILE **out)
{
    int fd = kadr_open_regular(path);

    if (fd < 0)
        return fd;
    *out = fdopen(fd, "r");
    if (*out == NULL) {
        close(fd);
        return -ENOMEM;
    }
    return 0;
}

int webhook_spool_load(const char *dir, webhook_spool_fn fn, void *ctx)
{
    struct spool_paths p;
    FILE *f = NULL;
    int rc = spool_paths_init(&p, dir);

    if (rc != 0)
        return rc;
    unlink(p.tmp); /* a save cut short: the file it was to replace remains */
    rc = open_regular(p.path, &f);
    if (rc != 0)
        return rc == -ENOENT ? 0 : rc;
    rc = read_lines(f, fn, ctx);
    fclose(f);
    return rc;
}
