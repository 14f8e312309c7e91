/* The key table: parsing, flags over files, secrets hidden, and the keys
 * a reload keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char ini_path[] = "/tmp/kadr-test-config-XXXXXX";

static void write_ini(const char *text)
{
    int fd = mkstemp(ini_path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int remove_ini(void **state)
{
    (void)state;
    unlink(ini_path);
    strcpy(ini_path, "/tmp/kadr-test-config-XXXXXX");
    return 0;
}

static void config_bool_forms(void **state)
{
    static const struct {
        const char *text;
        bool value;
    } cases[] = {{"on", true},     {"off", false}, {"true", true},
                 {"FALSE", false}, {"yes", true},  {"no", false},
                 {"1", true},      {"0", false}};
    config_t cfg;
    char err[256];

    (void)state;
    config_init(&cfg);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case %s\n", cases[i].text);
        assert_int_equal(
            config_set(&cfg, "access-log", cases[i].text, err, sizeof(err)), 0);
        assert_int_equal(cfg.access_log, cases[i].value);
    }
    assert_int_equal(config_set(&cfg, "access_log", "maybe", err, sizeof(err)),
                     KADR_E_CONFIG);
    assert_non_null(strstr(err, "'access_log'"));
    assert_non_null(strstr(err, "'maybe'"));
    config_free(&cfg);
}

static void config_secret_value_hidden(void **state)
{
    const config_key_t *key = config_find_key("api_keys");
    config_t cfg;
    char err[256];
    char value[128];

    (void)state;
    assert_non_null(key);
    assert_true(key->secret);
    config_init(&cfg);
    assert_int_equal(
        config_set(&cfg, "api_keys", "hunter2-key", err, sizeof(err)), 0);
    config_format_value(&cfg, key, value, sizeof(value));
    assert_string_equal(value, "(hidden)");
    config_free(&cfg);
}

static void config_flags_override_file(void **state)
{
    char *argv[] = {"kadrd",       "--workers=3", "--config", ini_path,
                    "--log-level", "debug",       NULL};
    config_t cfg;
    char err[256];

    (void)state;
    write_ini("workers = 9\nlog_level = error\naccess_log = off\n");
    assert_int_equal(
        config_parse_args(&cfg, 6, argv, NULL, NULL, NULL, err, sizeof(err)),
        0);
    assert_int_equal(cfg.workers, 3);
    assert_string_equal(cfg.log_level, "debug");
    assert_false(cfg.access_log);
    /* argv stays as it was, for the next reload. */
    assert_string_equal(argv[1], "--workers=3");
    config_free(&cfg);
}

/* Writes len bytes of text, NUL bytes included, to a new ini_path. */
static void write_ini_bytes(const char *text, size_t len)
{
    int fd = mkstemp(ini_path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static void config_file_nul_byte_rejected(void **state)
{
    static const char text[] = "workers = 2\0junk\n";
    char expected[128];
    config_t cfg;
    char err[256];

    (void)state;
    write_ini_bytes(text, sizeof(text) - 1);
    config_init(&cfg);
    assert_int_equal(config_load_file(&cfg, ini_path, err, sizeof(err)),
                     KADR_E_CONFIG);
    snprintf(expected, sizeof(expected),
             "configuration file '%s' has a NUL byte on line 1", ini_path);
    assert_string_equal(err, expected);
    config_free(&cfg);
}

static void config_file_line_past_parser_buffer(void **state)
{
    char text[512];
    config_t cfg;
    char err[256];

    (void)state;
    /* 199 bytes before the newline still fit the parser's buffer. */
    memset(text, 'a', sizeof(text));
    memcpy(text, "api_keys = ", 11);
    strcpy(text + 199, "\nworkers = 3\n");
    write_ini(text);
    config_init(&cfg);
    assert_int_equal(config_load_file(&cfg, ini_path, err, sizeof(err)), 0);
    assert_int_equal(cfg.workers, 3);
    config_free(&cfg);
    unlink(ini_path);
    strcpy(ini_path, "/tmp/kadr-test-config-XXXXXX");
    /* One more byte, and the tail would be read as "aworkers = 7". */
    memset(text, 'a', sizeof(text));
    memcpy(text, "api_keys = ", 11);
    strcpy(text + 200, "workers = 7\n");
    write_ini(text);
    config_init(&cfg);
    assert_int_equal(config_load_file(&cfg, ini_path, err, sizeof(err)),
                     KADR_E_CONFIG);
    assert_non_null(strstr(err, ":1: line longer than 199 bytes"));
    config_free(&cfg);
}

static void config_file_folder_rejected(void **state)
{
    char folder[] = "/tmp/kadr-test-config-dir-XXXXXX";
    char expected[128];
    config_t cfg;
    char err[256];

    (void)state;
    assert_non_null(mkdtemp(folder));
    config_init(&cfg);
    assert_int_equal(config_load_file(&cfg, folder, err, sizeof(err)),
                     KADR_E_CONFIG);
    snprintf(expected, sizeof(expected),
             "configuration file '%s' is not a regular file", folder);
    assert_string_equal(err, expected);
    config_free(&cfg);
    rmdir(folder);
}

static void config_bad_flag_named(void **state)
{
    char *argv[] = {"kadrd", "--max-upload-bytes", "lots", NULL};
    config_t cfg;
    char err[256];

    (void)state;
    assert_int_equal(
        config_parse_args(&cfg, 3, argv, NULL, NULL, NULL, err, sizeof(err)),
        KADR_E_CONFIG);
    assert_non_null(strstr(err, "'max_upload_bytes'"));
    assert_non_null(strstr(err, "'lots'"));
    config_free(&cfg);
}

static void note_changed(const char *name, void *ctx)
{
    char *names = ctx;

    strcat(names, name);
    strcat(names, " ");
}

static void config_reload_keeps_fixed(void **state)
{
    char *argv_live[] = {"kadrd",       "--listen", "127.0.0.1:9000",
                         "--log-level", "info",     NULL};
    char *argv_new[] = {"kadrd",       "--listen", "127.0.0.1:9001",
                        "--log-level", "warn",     NULL};
    char changed[256] = "";
    config_t live;
    config_t fresh;
    char err[256];

    (void)state;
    assert_int_equal(config_parse_args(&live, 5, argv_live, NULL, NULL, NULL,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(config_parse_args(&fresh, 5, argv_new, &live, note_changed,
                                       changed, err, sizeof(err)),
                     0);
    assert_string_equal(fresh.listen, "127.0.0.1:9000");
    assert_int_equal(fresh.port, 9000);
    assert_string_equal(fresh.log_level, "warn");
    assert_int_equal(fresh.workers, live.workers);
    assert_string_equal(changed, "listen ");
    config_free(&fresh);
    config_free(&live);
}

static void config_docs_list_every_key(void **state)
{
    size_t count;
    const config_key_t *keys = config_keys(&count);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    assert_non_null(f);
    config_print_docs(f);
    fclose(f);
    for (size_t k = 0; k < count; k++) {
        char cell[96];

        snprintf(cell, sizeof(cell), "| `%s` |", keys[k].name);
        print_message("key %s\n", keys[k].name);
        assert_non_null(strstr(text, cell));
        assert_non_null(keys[k].unit);
        assert_non_null(keys[k].help);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_bool_forms),
        cmocka_unit_test(config_secret_value_hidden),
        cmocka_unit_test_teardown(config_flags_override_file, remove_ini),
        cmocka_unit_test_teardown(config_file_nul_byte_rejected, remove_ini),
        cmocka_unit_test_teardown(config_file_line_past_parser_buffer,
                                  remove_ini),
        cmocka_unit_test(config_file_folder_rejected),
        cmocka_unit_test(config_bad_flag_named),
        cmocka_unit_test(config_reload_keeps_fixed),
        cmocka_unit_test(config_docs_list_every_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
