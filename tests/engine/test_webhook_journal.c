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
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "webhook_journal.h"
#include "spool_lines.h"
#include "webhook_spool.h"

struct fixture {
    char dir[64];
    char path[128];
    webhook_journal_t journal;
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
    spool_lines_t got = {0};

    append(j, "{\"id\":\"a\"}", 0);
    append(j, "{\"id\":\"b\"}", 1);
    append(j, "{\"id\":\"c\"}", 2);
    /* A full queue drops the event after the one being sent. */
    assert_int_equal(webhook_journal_remove(j, 1), 0);
    assert_int_equal(webhook_journal_remove(j, 0), 0);
    webhook_journal_close(j);
    assert_int_equal(webhook_spool_load(fx->dir, spool_lines_collect, &got), 1);
    assert_string_equal(got.lines[0], "{\"id\":\"c\"}");
    /* The file stays until the next journal rewrites or empties it. */
    assert_int_equal(file_size(fx->path), 55);
    spool_lines_free(&got);
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
    spool_lines_write_file(fx->path, "{\"id\":\"a\"}\n");
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
    spool_lines_t got = {0};

    spool_lines_write_file(fx->path, "{\"id\":\"a\"}\n"
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
    assert_int_equal(webhook_spool_load(fx->dir, spool_lines_collect, &got), 3);
    assert_string_equal(got.lines[0], "{\"id\":\"a\"}");
    assert_string_equal(got.lines[1], "{\"id\":\"c\"}");
    /* The last line, cut short by a crash, is passed on: the caller
     * checks that it is JSON. */
    assert_string_equal(got.lines[2], "{\"id\":\"d\"");
    spool_lines_free(&got);
}

/* Clearing a journal that wrote nothing yet empties the file an earlier
 * run left, so its events do not come back. */
static void journal_clear_empties_earlier_file(void **state)
{
    struct fixture *fx = *state;

    spool_lines_write_file(fx->path, "{\"id\":\"a\"}\n");
    assert_int_equal(webhook_journal_clear(&fx->journal), 0);
    assert_int_equal(file_size(fx->path), 0);
}

/* A write cut short by the file size limit, as by a full disk, is cut
 * from the file, so the next line starts on its own line. The journal
 * stays usable but lags the queue until a rewrite. */
static void journal_failed_write_cut_from_file(void **state)
{
    struct fixture *fx = *state;
    webhook_journal_t *j = &fx->journal;
    struct rlimit saved;
    struct rlimit limit;
    uint64_t number = UINT64_MAX;
    const char *queue[] = {"{\"id\":\"a\"}", "{\"id\":\"b\"}",
                           "{\"id\":\"c\"}"};

    append(j, "{\"id\":\"a\"}", 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    limit = saved;
    limit.rlim_cur = 15; /* four bytes of the next 11-byte line fit */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    assert_int_equal(webhook_journal_append(j, "{\"id\":\"b\"}", 10, &number),
                     -EFBIG);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    assert_int_equal(number, UINT64_MAX);
    assert_string_equal(read_text(fx->path), "{\"id\":\"a\"}\n");
    assert_true(j->stale);
    assert_false(j->broken);
    assert_true(webhook_journal_behind(j));
    append(j, "{\"id\":\"c\"}", 1);
    assert_string_equal(read_text(fx->path), "{\"id\":\"a\"}\n"
                                             "{\"id\":\"c\"}\n");
    assert_int_equal(webhook_journal_rewrite(j, queue, 3), 0);
    assert_false(webhook_journal_behind(j));
    assert_string_equal(read_text(fx->path), "{\"id\":\"a\"}\n"
                                             "{\"id\":\"b\"}\n"
                                             "{\"id\":\"c\"}\n");
    assert_int_equal(j->size, 33);
}

/* Child exit codes of rewrite_in_child(). */
enum {
    CHILD_OK = 0,
    CHILD_NO_USER = 10,
    CHILD_STILL_WRITABLE = 11,
    CHILD_REWRITE_FAILED = 12,
    CHILD_APPEND_FAILED = 13,
};

/* Rewrites the journal of dir with the data folder read-only, as an
 * unprivileged user when run as root (root ignores the mode). */
static int rewrite_in_child(const char *dir, const char *path)
{
    const char *queue[] = {"{\"id\":\"b\"}"};
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        webhook_journal_t j;
        uint64_t number;

        if (geteuid() == 0 &&
            (chown(dir, 65534, 65534) != 0 || chown(path, 65534, 65534) != 0 ||
             setgid(65534) != 0 || setuid(65534) != 0))
            _exit(CHILD_NO_USER);
        if (chmod(dir, 0555) != 0 || access(dir, W_OK) == 0)
            _exit(CHILD_STILL_WRITABLE);
        webhook_journal_init(&j, dir);
        if (webhook_journal_rewrite(&j, queue, 1) != 0)
            _exit(CHILD_REWRITE_FAILED);
        if (webhook_journal_append(&j, "{\"id\":\"c\"}", 10, &number) != 0 ||
            number != 1)
            _exit(CHILD_APPEND_FAILED);
        webhook_journal_close(&j);
        _exit(CHILD_OK);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    chmod(dir, 0700);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* In a data folder that takes no new file, the journal is rewritten in
 * place, so events sent in this run do not come back at the next. */
static void journal_rewrite_in_place_read_only_folder(void **state)
{
    struct fixture *fx = *state;

    spool_lines_write_file(fx->path, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
    assert_int_equal(rewrite_in_child(fx->dir, fx->path), CHILD_OK);
    assert_string_equal(read_text(fx->path), "{\"id\":\"b\"}\n"
                                             "{\"id\":\"c\"}\n");
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
        cmocka_unit_test_setup_teardown(journal_clear_empties_earlier_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(journal_failed_write_cut_from_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            journal_rewrite_in_place_read_only_folder, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
