/* Text files read whole: regular files only, within the buffer, with no
 * NUL byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "text_file.h"

static char dir[] = "/tmp/kadr-test-text-XXXXXX";
static char path[64];

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/file", dir);
    return 0;
}

static int remove_file(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    rmdir(dir);
    return 0;
}

static void write_bytes(const char *text, size_t len)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void text_file_fits_buffer(void **state)
{
    char buf[8];
    char err[128] = "";
    size_t len = 0;

    (void)state;
    write_bytes("a\nbcdef", 7);
    assert_int_equal(text_file_read(path, "key file", buf, sizeof(buf), &len,
                                    err, sizeof(err)),
                     0);
    assert_int_equal(len, 7);
    assert_string_equal(buf, "a\nbcdef");
    write_bytes("a\nbcdefg", 8);
    assert_int_equal(text_file_read(path, "key file", buf, sizeof(buf), &len,
                                    err, sizeof(err)),
                     KADR_E_CONFIG);
    assert_non_null(strstr(err, "is larger than 7 bytes"));
}

static void text_file_nul_byte_line(void **state)
{
    char buf[64];
    char err[128] = "";
    char expected[128];
    size_t len = 0;

    (void)state;
    write_bytes("one\ntwo\nth\0ree\n", 15);
    assert_int_equal(text_file_read(path, "key file", buf, sizeof(buf), &len,
                                    err, sizeof(err)),
                     KADR_E_CONFIG);
    snprintf(expected, sizeof(expected),
             "key file '%s' has a NUL byte on line 3", path);
    assert_string_equal(err, expected);
}

static void text_file_folder_rejected(void **state)
{
    char buf[64];
    char err[128] = "";
    char expected[128];
    size_t len = 0;

    (void)state;
    assert_int_equal(text_file_read(dir, "key file", buf, sizeof(buf), &len,
                                    err, sizeof(err)),
                     KADR_E_CONFIG);
    snprintf(expected, sizeof(expected), "key file '%s' is not a regular file",
             dir);
    assert_string_equal(err, expected);
}

static void text_file_missing_named(void **state)
{
    char buf[64];
    char err[128] = "";
    char expected[160];
    size_t len = 0;

    (void)state;
    assert_int_equal(text_file_read(path, "key file", buf, sizeof(buf), &len,
                                    err, sizeof(err)),
                     KADR_E_CONFIG);
    snprintf(expected, sizeof(expected),
             "cannot read key file '%s': No such file or directory", path);
    assert_string_equal(err, expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(text_file_fits_buffer, remove_file),
        cmocka_unit_test_teardown(text_file_nul_byte_line, remove_file),
        cmocka_unit_test(text_file_folder_rejected),
        cmocka_unit_test(text_file_missing_named),
    };

    return cmocka_run_group_tests(tests, setup, remove_dir);
}
