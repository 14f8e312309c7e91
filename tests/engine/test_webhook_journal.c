/* The webhook journal: events appended as they are queued, removal lines
 * as they leave, and the spool loader that gives back only the events
 * still queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "webhook_journal.h"
#include "webhook_spool.h"

#define MAX_LINES 16

struct fixture {
    char dir[64];
    char path[128];
    webhook_journal_t journal;
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
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/kadr-test-journal-XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, WEBHOOK_SPOOL_FILE);
    webhook_journal_init(&fx->journal, fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    webhook_journal_close(&fx->journal);
    unlink(fx->path);
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

static char *read_text(const char *path)
{
    static char text[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static off_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void append(webhook_journal_t *j, const char *body, uint64_t expected)
{
    uint64_t number = UINT64_MAX;

    assert_int_equal(webhook_journal_append(j, body, strlen(body), &number), 0);
    assert_int_equal(number, expected);
}

static void journal_lines_numbered(void **state)
{
    struct fixture *fx = *state;
    webhook_journal_t *j = &fx->journal;

    append(j, "{\"id\":\"a\"}", 0);
    append(j, "{\"id\":\"b\"}", 1);
    assert_int_equal(webhook_journal_remove(j, 0), 0);
    append(j, "{\"id\":\"c\"}", 2);
    assert_string_equal(read_text(fx->path), "{\"id\":\"a\"}\n"
                                             "{\"id\":\"b\"}\n"
                                             "{\"done\":0}\n"
                                             "{\"id\":\"c\"}\n");
    assert_int_equal(j->lines, 4);
}

static void journal_load_skips_removed(void **state)
{
    struct fixture *fx = *state;
    webhook_journal_t *j = &fx->journal;
    struct collected got = {0};

    append(j, "{\"id\":\"a\"}", 0);
    append(j, "{\"id\":\"b\"}", 1);
    append(j, "{\"id\":\"c\"}", 2);
    /* A full queue drops the event after the one being sent. */
    assert_int_equal(webhook_journal_remove(j, 1), 0);
    assert_int_equal(webhook_journal_remove(j, 0), 0);
    webhook_journal_close(j);
    assert_int_equal(webhook_spool_load(fx->dir, collect, &got), 1);
    assert_string_equal(got.lines[0], "{\"id\":\"c\"}");
    assert_int_equal(access(fx->path, F_OK), -1);
    collected_free(&got);
}

static void journal_clear_empties_file(void **state)
{
    struct fixture *fx = *state;
    webhook_journal_t *j = &fx->journal;

    append(j, "{\"id\":\"a\"}", 0);
    assert_int_equal(webhook_journal_clear(j), 0);
    assert_int_equal(file_size(fx->path), 0);
    /* Numbers start again in the emptied file. */
    append(j, "{\"id\":\"b\"}", 0);
    assert_string_equal(read_text(fx->path), "{\"id\":\"b\"}\n");
}

static void journal_rewrite_renumbers(void **state)
{
    struct fixture *fx = *state;
    webhook_journal_t *j = &fx->journal;
    const char *queue[] = {"{\"id\":\"b\"}", "{\"id\":\"c\"}"};

    append(j, "{\"id\":\"a\"}", 0);
    append(j, "{\"id\":\"b\"}", 1);
    append(j, "{\"id\":\"c\"}", 2);
    assert_int_equal(webhook_journal_remove(j, 0), 0);
    assert_int_equal(webhook_journal_rewrite(j, queue, 2), 0);
    append(j, "{\"id\":\"d\"}", 2);
    assert_int_equal(webhook_journal_remove(j, 0), 0);
    assert_string_equal(read_text(fx->path), "{\"id\":\"b\"}\n"
                                             "{\"id\":\"c\"}\n"
                                             "{\"id\":\"d\"}\n"
                                             "{\"done\":0}\n");
}

static void journal_bloated_past_twice_queue(void **state)
{
    struct fixture *fx = *state;
    webhook_journal_t *j = &fx->journal;

    j->lines = 2 * 10 + 64;
    assert_false(webhook_journal_bloated(j, 10));
    j->lines++;
    assert_true(webhook_journal_bloated(j, 10));
    assert_false(webhook_journal_bloated(j, 11));
}

/* A write that fails breaks the journal: later events are not written,
 * so no line follows a cut one, until the queue empties. */
static void journal_write_failure_breaks(void **state)
{
    struct fixture *fx = *state;
    webhook_journal_t *j = &fx->journal;
    uint64_t number;

    append(j, "{\"id\":\"a\"}", 0);
    webhook_journal_close(j);
    assert_int_equal(unlink(fx->path), 0);
    /* Every write of /dev/full fails with ENOSPC. */
    assert_int_equal(symlink("/dev/full", fx->path), 0);
    assert_int_equal(webhook_journal_append(j, "{\"id\":\"b\"}", 10, &number),
                     -ENOSPC);
    assert_true(j->broken);
    assert_int_equal(webhook_journal_append(j, "{\"id\":\"c\"}", 10, &number),
                     1);
    assert_int_equal(webhook_journal_remove(j, 0), 1);
    assert_int_equal(unlink(fx->path), 0);
    write_file(fx->path, "{\"id\":\"a\"}\n");
    assert_int_equal(webhook_journal_clear(j), 0);
    assert_false(j->broken);
    assert_int_equal(file_size(fx->path), 0);
    append(j, "{\"id\":\"d\"}", 0);
}

/* A line that starts like a removal is never an event, so a damaged
 * one does not shift the numbers of the events after it. A removal of a
 * number past the file is ignored. */
static void load_removal_lines_never_events(void **state)
{
    struct fixture *fx = *state;
    struct collected got = {0};

    write_file(fx->path, "{\"id\":\"a\"}\n"
                         "{\"done\":}\n"
                         "{\"done\":1 }\n"
                         "{\"done\":99999999999999999999999}\n"
                         "{\"done\":18446744073709551615}\n"
                         "{\"done\":-1}\n"
                         "{\"id\":\"b\"}\n"
                         "{\"id\":\"c\"}\n"
                         "{\"done\":1}\n"
                         "{\"done\":4}\n"
                         "{\"done\":70}\n"
                         "{\"id\":\"d\"");
    assert_int_equal(webhook_spool_load(fx->dir, collect, &got), 3);
    assert_string_equal(got.lines[0], "{\"id\":\"a\"}");
    assert_string_equal(got.lines[1], "{\"id\":\"c\"}");
    /* The last line, cut short by a crash, is passed on: the caller
     * checks that it is JSON. */
    assert_string_equal(got.lines[2], "{\"id\":\"d\"");
    collected_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(journal_lines_numbered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_load_skips_removed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_clear_empties_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_rewrite_renumbers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_bloated_past_twice_queue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_write_failure_breaks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(load_removal_lines_never_events, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
