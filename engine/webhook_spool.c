/* Webhook spool: queued events saved at a stop and loaded at a start. */
#include "webhook_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int spool_paths_init(struct spool_paths *p, const char *dir)
{
    int len = snprintf(p->path, PATH_MAX, "%s/%s", dir, WEBHOOK_SPOOL_FILE);
    int tmp_len = snprintf(p->tmp, PATH_MAX, "%s.tmp", p->path);

    if (len <= 0 || tmp_len <= 0 || tmp_len >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
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

/* Event numbers named by removal lines. */
struct done_set {
    uint64_t *numbers;
    size_t count;
    size_t cap;
};

/* Sets *number from a removal line. Returns false for any other line. */
static bool parse_done(const char *line, size_t len, uint64_t *number)
{
    size_t prefix = sizeof(WEBHOOK_SPOOL_DONE_PREFIX) - 1;
    uint64_t value = 0;
    size_t i;

    if (len < prefix + 2 || memcmp(line, WEBHOOK_SPOOL_DONE_PREFIX, prefix) ||
        line[len - 1] != '}')
        return false;
    for (i = prefix; i < len - 1; i++) {
        if (line[i] < '0' || line[i] > '9' || value > UINT64_MAX / 10 - 1)
            return false;
        value = value * 10 + (uint64_t)(line[i] - '0');
    }
    *number = value;
    return true;
}

static int done_add(struct done_set *done, uint64_t number)
{
    if (done->count == done->cap) {
        size_t cap = done->cap == 0 ? 64 : done->cap * 2;
        uint64_t *numbers = realloc(done->numbers, cap * sizeof(*numbers));

        if (numbers == NULL)
            return -ENOMEM;
        done->numbers = numbers;
        done->cap = cap;
    }
    done->numbers[done->count++] = number;
    return 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static bool done_has(const struct done_set *done, uint64_t number)
{
    return done->count > 0 && bsearch(&number, done->numbers, done->count,
                                      sizeof(number), compare_u64) != NULL;
}

/* Reads the removal lines of f into done, sorted. */
static int read_done(FILE *f, char *line, struct done_set *done)
{
    uint64_t number;
    long len;
    int rc = 0;

    while (rc == 0 && (len = read_line(f, line)) != LINE_END) {
        if (len > 0 && parse_done(line, (size_t)len, &number))
            rc = done_add(done, number);
    }
    if (rc == 0 && ferror(f))
        rc = -EIO;
    if (done->count > 1)
        qsort(done->numbers, done->count, sizeof(uint64_t), compare_u64);
    return rc;
}

/* Passes each event line of f that done does not name to fn. Every line
 * that is neither empty nor a removal line takes the next number, as the
 * journal numbered them. Returns how many lines fn received. */
static int read_events(FILE *f, char *line, const struct done_set *done,
                       webhook_spool_fn fn, void *ctx)
{
    uint64_t number = 0;
    uint64_t removed;
    long len;
    int count = 0;

    while ((len = read_line(f, line)) != LINE_END) {
        if (len == 0)
            continue;
        if (len > 0 && parse_done(line, (size_t)len, &removed))
            continue;
        if (len > 0 && !done_has(done, number)) {
            fn(ctx, line, (size_t)len);
            count++;
        }
        number++;
    }
    return ferror(f) ? -EIO : count;
}

/* Passes the events of f that are still queued to fn, in order. Returns
 * how many lines fn received. */
static int read_lines(FILE *f, webhook_spool_fn fn, void *ctx)
{
    char *line = malloc(WEBHOOK_SPOOL_MAX_LINE + 1);
    struct done_set done = {NULL, 0, 0};
    int rc;

    if (line == NULL)
        return -ENOMEM;
    rc = read_done(f, line, &done);
    if (rc == 0 && fseek(f, 0, SEEK_SET) != 0)
        rc = -errno;
    if (rc == 0)
        rc = read_events(f, line, &done, fn, ctx);
    free(done.numbers);
    free(line);
    return rc;
}

/* Opens path for reading only if it is a regular file: a FIFO put in its
 * place would block the start. Returns 0, -errno, or -EINVAL. */
static int open_regular(const char *path, FILE **out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
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
    FILE *f;
    int rc = spool_paths_init(&p, dir);

    if (rc != 0)
        return rc;
    unlink(p.tmp); /* a save cut short: the file it was to replace remains */
    rc = open_regular(p.path, &f);
    if (rc != 0)
        return rc == -ENOENT ? 0 : rc;
    rc = read_lines(f, fn, ctx);
    fclose(f);
    if (rc >= 0 && unlink(p.path) != 0)
        rc = -errno;
    return rc;
}
