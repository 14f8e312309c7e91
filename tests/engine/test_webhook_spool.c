/* The webhook spool: events saved at a stop come back in order at the
 * next start, and the file is gone once read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "webhook_spool.h"

#define MAX_LINES 8

struct fixture {
    char dir[64];
    char path[128];
    char tmp[160];
};

struct collected {
    char *lines[MAX_LINES];
    size_t count;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/kadr-test-spool-XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, WEBHOOK_SPOOL_FILE);
    snprintf(fx->tmp, sizeof(fx->tmp), "%s.tmp", fx->path);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    unlink(fx->path);
    unlink(fx->tmp);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void collect(void *ctx, const char *line, size_t len)
{
    struct collected *c = ctx;

    assert_int_equal(strlen(line), len);
    assert_true(c->count < MAX_LINES);
    c->lines[c->count++] = strdup(line);
}

static void collected_free(struct collected *c)
{
    for (size_t i = 0; i < c->count; i++)
        free(c->lines[i]);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void spool_round_trip(void **state)
{
    struct fixture *fx = *state;
    const char *bodies[] = {"{\"id\":\"a\"}", "{\"id\":\"b\"}",
                            "{\"id\":\"c\"}"};
    struct collected got = {0};

    assert_int_equal(webhook_spool_save(fx->dir, bodies, 3), 0);
    assert_int_equal(access(fx->path, F_OK), 0);
    assert_int_equal(access(fx->tmp, F_OK), -1);
    assert_int_equal(webhook_spool_load(fx->dir, collect, &got), 3);
    assert_int_equal(got.count, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(got.lines[i], bodies[i]);
    assert_int_equal(access(fx->path, F_OK), -1);
    collected_free(&got);
}

static void spool_missing_file_loads_nothing(void **state)
{
    struct fixture *fx = *state;
    struct collected got = {0};

    assert_int_equal(webhook_spool_load(fx->dir, collect, &got), 0);
    assert_int_equal(got.count, 0);
}

static void spool_skips_empty_and_long_lines(void **state)
{
    struct fixture *fx = *state;
    size_t long_len = WEBHOOK_SPOOL_MAX_LINE + 1;
    char *text = malloc(long_len + 16);
    struct collected got = {0};

    assert_non_null(text);
    strcpy(text, "first\n\n");
    memset(text + 7, 'x', long_len);
    strcpy(text + 7 + long_len, "\nlast");
    write_file(fx->path, text);
    free(text);
    assert_int_equal(webhook_spool_load(fx->dir, collect, &got), 2);
    assert_string_equal(got.lines[0], "first");
    assert_string_equal(got.lines[1], "last");
    collected_free(&got);
}

static void spool_save_cut_short_removed(void **state)
{
    struct fixture *fx = *state;
    struct collected got = {0};

    write_file(fx->tmp, "{\"id\":\"half");
    write_file(fx->path, "{\"id\":\"kept\"}\n");
    assert_int_equal(webhook_spool_load(fx->dir, collect, &got), 1);
    assert_string_equal(got.lines[0], "{\"id\":\"kept\"}");
    assert_int_equal(access(fx->tmp, F_OK), -1);
    collected_free(&got);
}

static void spool_save_into_missing_folder_fails(void **state)
{
    const char *bodies[] = {"{}"};

    (void)state;
    assert_int_equal(webhook_spool_save("/nonexistent/kadr", bodies, 1),
                     -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(spool_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(spool_missing_file_loads_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(spool_skips_empty_and_long_lines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(spool_save_cut_short_removed, setup,
                                        teardown),
        cmocka_unit_test(spool_save_into_missing_folder_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
