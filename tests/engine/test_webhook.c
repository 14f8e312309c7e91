/* Webhook URLs: what http:// forms parse and what is rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "webhook.h"

struct url_case {
    const char *url;
    int rc;
    const char *host;
    const char *port;
    const char *path;
};

static void webhook_url_forms(void **state)
{
    static const struct url_case cases[] = {
        {"http://127.0.0.1:9000/hook", 0, "127.0.0.1", "9000", "/hook"},
        {"http://127.0.0.1/hook?a=1", 0, "127.0.0.1", "80", "/hook?a=1"},
        {"http://localhost", 0, "localhost", "80", "/"},
        {"http://[::1]:8081/x", 0, "::1", "8081", "/x"},
        {"http://[::1]", 0, "::1", "80", "/"},
        {"http://h:1?q", 0, "h", "1", "/?q"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        webhook_url_t url;

        print_message("case %s\n", cases[i].url);
        assert_int_equal(webhook_parse_url(cases[i].url, &url), 0);
        assert_string_equal(url.host, cases[i].host);
        assert_string_equal(url.port, cases[i].port);
        assert_string_equal(url.path, cases[i].path);
    }
}

static void webhook_url_rejected(void **state)
{
    static const char *const bad[] = {
        "https://127.0.0.1/hook",
        "ftp://h/",
        "http://",
        "http:///x",
        "http://h:/x",
        "http://h:0/",
        "http://h:65536/",
        "http://h:80x/",
        "http://[::1/x",
        "http://[::1]x/",
        "http://h/a b",
        "http://h/#f",
        "127.0.0.1:80",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        webhook_url_t url;

        print_message("case %s\n", bad[i]);
        assert_int_equal(webhook_parse_url(bad[i], &url), KADR_E_CONFIG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(webhook_url_forms),
        cmocka_unit_test(webhook_url_rejected),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
