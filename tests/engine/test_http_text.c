/* Header text without printf: decimal numbers, cut texts and IMF-fixdate
 * dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_text.h"

static void test_number_edges(void **state)
{
    char out[64];
    http_text_t t;

    (void)state;
    http_text_init(&t, out, sizeof(out));
    http_text_put_u64(&t, 0);
    http_text_put(&t, " ", 1);
    http_text_put_u64(&t, 1024);
    http_text_put(&t, " ", 1);
    http_text_put_u64(&t, UINT64_MAX);
    assert_int_equal(http_text_finish(&t, out), 27);
    assert_string_equal(out, "0 1024 18446744073709551615");
}

static void test_text_cut_when_full(void **state)
{
    char out[8];
    http_text_t t;

    (void)state;
    http_text_init(&t, out, sizeof(out));
    http_text_puts(&t, "1234567");
    assert_false(t.full);
    http_text_puts(&t, "8");
    assert_true(t.full);
    assert_int_equal(http_text_finish(&t, out), -1);
    assert_int_equal(out[7], '\0');
}

static void test_text_exact_fit(void **state)
{
    char out[8];
    http_text_t t;

    (void)state;
    http_text_init(&t, out, sizeof(out));
    http_text_puts(&t, "1234");
    http_text_put_u64(&t, 567);
    assert_int_equal(http_text_finish(&t, out), 7);
    assert_string_equal(out, "1234567");
}

static void test_date_formats(void **state)
{
    static const struct {
        time_t when;
        const char *text;
    } cases[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {1796428799, "Fri, 04 Dec 2026 23:59:59 GMT"},
        {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
    };
    char out[HTTP_DATE_LEN + 1];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(http_format_date(cases[i].when, out));
        assert_string_equal(out, cases[i].text);
    }
}

static void test_date_past_year_9999(void **state)
{
    char out[HTTP_DATE_LEN + 1];

    (void)state;
    assert_false(http_format_date(253402300800, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_edges),
        cmocka_unit_test(test_text_cut_when_full),
        cmocka_unit_test(test_text_exact_fit),
        cmocka_unit_test(test_date_formats),
        cmocka_unit_test(test_date_past_year_9999),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
