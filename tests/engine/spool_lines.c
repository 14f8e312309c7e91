/* Helpers for the webhook spool and journal tests. */
#include "spool_lines.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void spool_lines_collect(void *ctx, const char *line, size_t len)
{
    assert_int_equal(strlen(line), len);
    spool_lines_collect_raw(ctx, line, len);
}

void spool_lines_collect_raw(void *ctx, const char *line, size_t len)
{
    spool_lines_t *c = ctx;

    assert_true(c->count < SPOOL_LINES_MAX);
    assert_int_equal(line[len], '\0');
    c->lines[c->count] = malloc(len + 1);
    assert_non_null(c->lines[c->count]);
    memcpy(c->lines[c->count], line, len + 1);
    c->lengths[c->count++] = len;
}

void spool_lines_free(spool_lines_t *lines)
{
    for (size_t i = 0; i < lines->count; i++)
        free(lines->lines[i]);
}

void spool_lines_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}
