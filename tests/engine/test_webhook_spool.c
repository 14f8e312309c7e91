/* The webhook spool: events saved at a stop come back in order at the
 * next start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool_lines.h"
#include "webhook_spool.h"

struct fixture {
    char dir[64];
    char path[128];
    char tmp[160];
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

static void spool_round_trip(void **state)
{
    struct fixture *fx = *state;
    const char *bodies[] = {"{\"id\":\"a\"}", "{\"id\":\"b\"}",
                            "{\"id\":\"c\"}"};
    spool_lines_t got = {0};

    assert_int_equal(webhook_spool_save(fx->dir, bodies, 3), 0);
    assert_int_equal(access(fx->path, F_OK), 0);
    assert_int_equal(access(fx->tmp, F_OK), -1);
    assert_int_equal(webhook_spool_load(fx->dir, spool_lines_collect, &got), 3);
    assert_int_equal(got.count, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(got.lines[i], bodies[i]);
    /* Loading leaves the file for the journal to rewrite or empty. */
    assert_int_equal(access(fx->path, F_OK), 0);
    spool_lines_free(&got);
}

static void spool_missing_file_loads_nothing(void **state)
{
    struct fixture *fx = *state;
    spool_lines_t got = {0};

    assert_int_equal(webhook_spool_load(fx->dir, spool_lines_collect, &got), 0);
    assert_int_equal(got.count, 0);
}

static void spool_skips_empty_and_long_lines(void **state)
{
    struct fixture *fx = *state;
    size_t long_len = WEBHOOK_SPOOL_MAX_LINE + 1;
    char *text = malloc(long_len + 16);
    spool_lines_t got = {0};

    assert_non_null(text);
    strcpy(text, "first\n\n");
    memset(text + 7, 'x', long_len);
    strcpy(text + 7 + long_len, "\nlast");
    spool_lines_write_file(fx->path, text);
    free(text);
    assert_int_equal(webhook_spool_load(fx->dir, spool_lines_collect, &got), 2);
    assert_string_equal(got.lines[0], "first");
    assert_string_equal(got.lines[1], "last");
    spool_lines_free(&got);
}

static void spool_save_cut_short_removed(void **state)
{
    struct fixture *fx = *state;
    spool_lines_t got = {0};

    spool_lines_write_file(fx->tmp, "{\"id\":\"half");
    spool_lines_write_file(fx->path, "{\"id\":\"kept\"}\n");
    assert_int_equal(webhook_spool_load(fx->dir, spool_lines_collect, &got), 1);
    assert_string_equal(got.lines[0], "{\"id\":\"kept\"}");
    assert_int_equal(access(fx->tmp, F_OK), -1);
    spool_lines_free(&got);
}

/* Returns the data segment size of this process in bytes (VmData), or
 * 0 if /proc cannot be read. */
static size_t data_segment_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    size_t kib = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmData: %zu kB", &kib) == 1)
            break;
    }
    fclose(f);
    return kib * 1024;
}

/* Loads dir under a data limit of 16 MiB past what the process uses and
 * returns the loader's result, or -1 when the child did not exit. */
static int load_with_data_limit(const char *dir)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        spool_lines_t got = {0};
        struct rlimit limit;
        size_t used = data_segment_bytes();
        int count;

        limit.rlim_cur = used + (16u << 20);
        limit.rlim_max = RLIM_INFINITY;
        if (used == 0 || setrlimit(RLIMIT_DATA, &limit) != 0)
            _exit(100);
        count = webhook_spool_load(dir, spool_lines_collect, &got);
        _exit(count >= 0 && count < 100 ? count : 101);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void spool_huge_line_memory_bounded(void **state)
{
    struct fixture *fx = *state;
    size_t huge = 64u << 20;
    char block[4096];
    FILE *f = fopen(fx->path, "w");

    assert_non_null(f);
    memset(block, 'x', sizeof(block));
    fputs("first\n", f);
    for (size_t i = 0; i < huge / sizeof(block); i++)
        assert_int_equal(fwrite(block, 1, sizeof(block), f), sizeof(block));
    fputs("\nlast\n", f);
    assert_int_equal(fclose(f), 0);
    /* Both short lines come through, and the long one never sits whole
     * in memory. */
    assert_int_equal(load_with_data_limit(fx->dir), 2);
}

/* Removal lines take memory by the events they can name, not by their
 * own count: 2.5 million of them would need 20 MiB as a list. */
static void spool_many_removals_memory_bounded(void **state)
{
    struct fixture *fx = *state;
    FILE *f = fopen(fx->path, "w");

    assert_non_null(f);
    fputs("{\"id\":\"a\"}\n{\"id\":\"b\"}\n", f);
    for (unsigned i = 0; i < 2500000; i++)
        fprintf(f, "{\"done\":%u}\n", i == 0 ? 1 : i + 1);
    assert_int_equal(fclose(f), 0);
    /* Event 1 is removed, event 0 stays. */
    assert_int_equal(load_with_data_limit(fx->dir), 1);
}

static void spool_line_with_nul_passed_whole(void **state)
{
    struct fixture *fx = *state;
    static const char text[] = "ab\0cd\nlast";
    spool_lines_t got = {0};
    FILE *f = fopen(fx->path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(webhook_spool_load(fx->dir, spool_lines_collect_raw, &got),
                     2);
    assert_int_equal(got.lengths[0], 5);
    assert_memory_equal(got.lines[0], "ab\0cd", 5);
    assert_int_equal(got.lengths[1], 4);
    assert_string_equal(got.lines[1], "last");
    spool_lines_free(&got);
}

static void spool_save_on_full_disk_reports_enospc(void **state)
{
    struct fixture *fx = *state;
    const char *bodies[1000];
    char body[100];

    /* More bytes than one stdio buffer, so that a write fails before
     * the final flush does. */
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    for (size_t i = 0; i < 1000; i++)
        bodies[i] = body;
    /* The temporary file as a link to /dev/full: every write of it
     * fails with ENOSPC, as on a full filesystem. */
    assert_int_equal(symlink("/dev/full", fx->tmp), 0);
    assert_int_equal(webhook_spool_save(fx->dir, bodies, 1000), -ENOSPC);
    assert_int_equal(access(fx->path, F_OK), -1);
    assert_int_equal(access(fx->tmp, F_OK), -1);
}

/* A FIFO in the spool's place is left alone instead of blocking the
 * start on a read. */
static void spool_fifo_not_read(void **state)
{
    struct fixture *fx = *state;
    spool_lines_t got = {0};

    assert_int_equal(mkfifo(fx->path, 0600), 0);
    assert_int_equal(webhook_spool_load(fx->dir, spool_lines_collect, &got),
                     -EINVAL);
    assert_int_equal(got.count, 0);
    assert_int_equal(access(fx->path, F_OK), 0);
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
        cmocka_unit_test_setup_teardown(spool_fifo_not_read, setup, teardown),
        cmocka_unit_test(spool_save_into_missing_folder_fails),
        cmocka_unit_test_setup_teardown(spool_save_on_full_disk_reports_enospc,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spool_huge_line_memory_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(spool_many_removals_memory_bounded,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(spool_line_with_nul_passed_whole, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
