#ifndef KADR_TESTS_SPOOL_LINES_H
#define KADR_TESTS_SPOOL_LINES_H
/* Helpers for the webhook spool and journal tests: collecting the lines
 * webhook_spool_load() passes on, and writing a spool file by hand. */

#include <stddef.h>

#define SPOOL_LINES_MAX 16

/* Lines passed to spool_lines_collect(), each with its length. */
typedef struct spool_lines {
    char *lines[SPOOL_LINES_MAX];
    size_t lengths[SPOOL_LINES_MAX];
    size_t count;
} spool_lines_t;

/* Keeps a copy of line, a webhook_spool_fn over a spool_lines_t, and
 * checks that line contains no NUL byte. */
void spool_lines_collect(void *ctx, const char *line, size_t len);

/* Keeps a copy of line with its NUL bytes, and checks that a NUL ends it
 * at len. */
void spool_lines_collect_raw(void *ctx, const char *line, size_t len);

/* Frees the copies. */
void spool_lines_free(spool_lines_t *lines);

/* Writes text to path, replacing the file. */
void spool_lines_write_file(const char *path, const char *text);

#endif
