/* Range header parsing against representation sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http_range.h"

#define NONE HTTP_RANGE_NONE
#define SAT HTTP_RANGE_SATISFIABLE
#define UNSAT HTTP_RANGE_UNSATISFIABLE

struct range_case {
    const char *header;
    uint64_t size;
    enum http_range_result result;
    size_t count;
    http_byte_range_t ranges[4];
};

static void check_cases(const struct range_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct range_case *c = &cases[i];
        http_range_set_t set;
        enum http_range_result result;

        print_message("case %zu: \"%s\" size %llu\n", i,
                      c->header == NULL ? "(null)" : c->header,
                      (unsigned long long)c->size);
        result = http_range_parse(c->header, c->size, &set);
        assert_int_equal(result, c->result);
        assert_int_equal(set.count, c->count);
        for (size_t r = 0; r < c->count; r++) {
            assert_int_equal(set.ranges[r].first, c->ranges[r].first);
            assert_int_equal(set.ranges[r].last, c->ranges[r].last);
        }
    }
}

#define CHECK_CASES(cases) check_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void range_single_forms(void **state)
{
    static const struct range_case cases[] = {
        {"bytes=0-499", 10000, SAT, 1, {{0, 499}}},
        {"bytes=500-999", 10000, SAT, 1, {{500, 999}}},
        {"bytes=9500-", 10000, SAT, 1, {{9500, 9999}}},
        {"bytes=-500", 10000, SAT, 1, {{9500, 9999}}},
        {"bytes=0-0", 10000, SAT, 1, {{0, 0}}},
        {"bytes=-1", 10000, SAT, 1, {{9999, 9999}}},
        {"bytes=9999-9999", 10000, SAT, 1, {{9999, 9999}}},
        {"bytes=0-", 1, SAT, 1, {{0, 0}}},
        {"BYTES=1-2", 10, SAT, 1, {{1, 2}}},
        {"  bytes=1-2  ", 10, SAT, 1, {{1, 2}}},
    };

    CHECK_CASES(cases);
}

static void range_end_clamped(void **state)
{
    static const struct range_case cases[] = {
        {"bytes=0-10000", 10000, SAT, 1, {{0, 9999}}},
        {"bytes=9990-20000", 10000, SAT, 1, {{9990, 9999}}},
        {"bytes=5-18446744073709551615", 10, SAT, 1, {{5, 9}}},
    };

    CHECK_CASES(cases);
}

static void range_suffix_longer_than_size(void **state)
{
    static const struct range_case cases[] = {
        {"bytes=-20000", 10000, SAT, 1, {{0, 9999}}},
        {"bytes=-10000", 10000, SAT, 1, {{0, 9999}}},
        {"bytes=-18446744073709551615", 3, SAT, 1, {{0, 2}}},
    };

    CHECK_CASES(cases);
}

static void range_several_and_merged(void **state)
{
    static const struct range_case cases[] = {
        {"bytes=0-9,20-29", 100, SAT, 2, {{0, 9}, {20, 29}}},
        {"bytes=20-29, 0-9", 100, SAT, 2, {{0, 9}, {20, 29}}},
        {"bytes=0-9,10-19", 100, SAT, 1, {{0, 19}}},
        {"bytes=0-9,5-14", 100, SAT, 1, {{0, 14}}},
        {"bytes=0-50,10-20", 100, SAT, 1, {{0, 50}}},
        {"bytes=90-,-5", 100, SAT, 1, {{90, 99}}},
        {"bytes=0-0,2-2,1-1", 100, SAT, 1, {{0, 2}}},
        {"bytes=0-1,5-6,3-3", 100, SAT, 3, {{0, 1}, {3, 3}, {5, 6}}},
        {"bytes=0-1,200-300", 100, SAT, 1, {{0, 1}}},
        {"bytes=0-1,,4-5", 100, SAT, 2, {{0, 1}, {4, 5}}},
        {"bytes=,0-1", 100, SAT, 1, {{0, 1}}},
        {"bytes=0-1 ,\t4-5", 100, SAT, 2, {{0, 1}, {4, 5}}},
    };

    CHECK_CASES(cases);
}

static void range_too_many(void **state)
{
    static const char sixteen[] =
        "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,"
        "20-20,22-22,24-24,26-26,28-28,30-30";
    static const char seventeen[] =
        "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,"
        "20-20,22-22,24-24,26-26,28-28,30-30,32-32";
    http_range_set_t set;

    assert_int_equal(http_range_parse(sixteen, 100, &set), SAT);
    assert_int_equal(set.count, HTTP_RANGE_MAX);
    for (size_t i = 0; i < HTTP_RANGE_MAX; i++) {
        assert_int_equal(set.ranges[i].first, 2 * i);
        assert_int_equal(set.ranges[i].last, 2 * i);
    }
    assert_int_equal(http_range_parse(seventeen, 100, &set), NONE);
    assert_int_equal(set.count, 0);
}

static void range_syntax_errors(void **state)
{
    static const struct range_case cases[] = {
        {NULL, 100, NONE, 0, {{0, 0}}},
        {"", 100, NONE, 0, {{0, 0}}},
        {"bytes=", 100, NONE, 0, {{0, 0}}},
        {"bytes=,", 100, NONE, 0, {{0, 0}}},
        {"bytes", 100, NONE, 0, {{0, 0}}},
        {"items=0-1", 100, NONE, 0, {{0, 0}}},
        {"bytes = 0-1", 100, NONE, 0, {{0, 0}}},
        {"bytes=-", 100, NONE, 0, {{0, 0}}},
        {"bytes=a-b", 100, NONE, 0, {{0, 0}}},
        {"bytes=1", 100, NONE, 0, {{0, 0}}},
        {"bytes=5-1", 100, NONE, 0, {{0, 0}}},
        {"bytes=0-1,5-1", 100, NONE, 0, {{0, 0}}},
        {"bytes=1-2x", 100, NONE, 0, {{0, 0}}},
        {"bytes=1-2;3-4", 100, NONE, 0, {{0, 0}}},
        {"bytes=+1-2", 100, NONE, 0, {{0, 0}}},
        {"bytes=--1", 100, NONE, 0, {{0, 0}}},
        {"bytes=1 -2", 100, NONE, 0, {{0, 0}}},
        {"bytes=0-1 2-3", 100, NONE, 0, {{0, 0}}},
    };

    CHECK_CASES(cases);
}

static void range_unsatisfiable(void **state)
{
    static const struct range_case cases[] = {
        {"bytes=100-", 100, UNSAT, 0, {{0, 0}}},
        {"bytes=100-200", 100, UNSAT, 0, {{0, 0}}},
        {"bytes=-0", 100, UNSAT, 0, {{0, 0}}},
        {"bytes=200-300,100-", 100, UNSAT, 0, {{0, 0}}},
        {"bytes=0-0", 0, UNSAT, 0, {{0, 0}}},
        {"bytes=0-", 0, UNSAT, 0, {{0, 0}}},
        {"bytes=-0", 0, UNSAT, 0, {{0, 0}}},
    };

    CHECK_CASES(cases);
}

static void range_empty_representation(void **state)
{
    static const struct range_case cases[] = {
        {"bytes=-5", 0, NONE, 0, {{0, 0}}},
        {"bytes=0-1,-5", 0, NONE, 0, {{0, 0}}},
    };

    CHECK_CASES(cases);
}

/* Positions past 2^64 - 1 are valid syntax and past every end: a first
 * position there is unsatisfiable, a last one or a suffix is clamped. */
static void range_huge_positions_clamped(void **state)
{
    static const struct range_case cases[] = {
        {"bytes=18446744073709551616-", 100, UNSAT, 0, {{0, 0}}},
        {"bytes=0-18446744073709551616", 100, SAT, 1, {{0, 99}}},
        {"bytes=5-99999999999999999999999999", 100, SAT, 1, {{5, 99}}},
        {"bytes=-18446744073709551616", 100, SAT, 1, {{0, 99}}},
        {"bytes=99999999999999999999999999-1", 100, NONE, 0, {{0, 0}}},
        {"bytes=18446744073709551615-", UINT64_MAX, UNSAT, 0, {{0, 0}}},
        {"bytes=18446744073709551614-",
         UINT64_MAX,
         SAT,
         1,
         {{UINT64_MAX - 1, UINT64_MAX - 1}}},
    };

    CHECK_CASES(cases);
}

/* 2^64 and 2^64 - 1 as written in a header. */
#define TWO_64 "18446744073709551616"
#define MAX_64 "18446744073709551615"

/* Two huge positions are compared as the numbers written, not as the
 * UINT64_MAX both stop at: a last position below the first makes the
 * spec invalid (RFC 9110, 14.1.1), and the header is then ignored. */
static void range_huge_positions_ordered(void **state)
{
    static const struct range_case cases[] = {
        {"bytes=" TWO_64 "-" MAX_64, 100, NONE, 0, {{0, 0}}},
        {"bytes=2" TWO_64 "-1" TWO_64, 100, NONE, 0, {{0, 0}}},
        {"bytes=0-1,2" TWO_64 "-" TWO_64, 100, NONE, 0, {{0, 0}}},
        {"bytes=000" TWO_64 "-" TWO_64, 100, UNSAT, 0, {{0, 0}}},
        {"bytes=" TWO_64 "-1" TWO_64, 100, UNSAT, 0, {{0, 0}}},
        {"bytes=0-1," TWO_64 "-2" TWO_64, 100, SAT, 1, {{0, 1}}},
    };

    CHECK_CASES(cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(range_single_forms),
        cmocka_unit_test(range_end_clamped),
        cmocka_unit_test(range_suffix_longer_than_size),
        cmocka_unit_test(range_several_and_merged),
        cmocka_unit_test(range_too_many),
        cmocka_unit_test(range_syntax_errors),
        cmocka_unit_test(range_unsatisfiable),
        cmocka_unit_test(range_empty_representation),
        cmocka_unit_test(range_huge_positions_clamped),
        cmocka_unit_test(range_huge_positions_ordered),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
