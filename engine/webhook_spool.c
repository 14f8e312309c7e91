/* Webhook spool: queued events saved at a stop and loaded at a start. */
#include "webhook_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
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

/* Passes each line of f to fn. Returns how many lines fn received. */
static int read_lines(FILE *f, webhook_spool_fn fn, void *ctx)
{
    char *line = malloc(WEBHOOK_SPOOL_MAX_LINE + 1);
    long len;
    int count = 0;

    if (line == NULL)
        return -ENOMEM;
    while ((len = read_line(f, line)) != LINE_END) {
        if (len <= 0)
            continue; /* empty or too long */
        fn(ctx, line, (size_t)len);
        count++;
    }
    free(line);
    return ferror(f) ? -EIO : count;
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
