/* Route labels, histogram buckets and registered counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "metrics.h"

static void metrics_route_labels(void **state)
{
    static const struct {
        const char *path;
        enum metrics_route route;
    } cases[] = {
        {"/v1/media", METRICS_ROUTE_UPLOAD},
        {"/v1/media/AAAAAAAAAAAAAAAA", METRICS_ROUTE_MEDIA},
        {"/v1/media/AAAAAAAAAAAAAAAA/w320.webp", METRICS_ROUTE_VARIANT},
        {"/metrics", METRICS_ROUTE_METRICS},
        {"/healthz", METRICS_ROUTE_HEALTH},
        {"/", METRICS_ROUTE_OTHER},
        {"/v1/mediax", METRICS_ROUTE_OTHER},
        {"/v1/media/", METRICS_ROUTE_OTHER},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case %s\n", cases[i].path);
        assert_int_equal(metrics_route_of(cases[i].path), cases[i].route);
    }
}

static void metrics_observe_buckets(void **state)
{
    static const double bounds[] = {0.1, 1};
    static metrics_histogram_t h;

    (void)state;
    metrics_observe(&h, bounds, 2, 0.05);
    metrics_observe(&h, bounds, 2, 0.1); /* le is inclusive */
    metrics_observe(&h, bounds, 2, 0.5);
    metrics_observe(&h, bounds, 2, 7);
    assert_int_equal(h.buckets[0], 2);
    assert_int_equal(h.buckets[1], 1);
    assert_int_equal(h.buckets[2], 1);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.sum_us, 7650000);
}

static void metrics_register_names(void **state)
{
    static metrics_t m;
    atomic_uint_fast64_t *a;

    (void)state;
    a = metrics_register(&m, "kadr_test_total", "A test counter.", false);
    assert_non_null(a);
    metrics_add(*a, 3);
    assert_int_equal(m.registered[0].value, 3);
    assert_null(metrics_register(&m, "kadr_test_total", "again", false));
}

static void metrics_register_full(void **state)
{
    static metrics_t m;
    static char names[METRICS_MAX_REGISTERED + 1][24];

    (void)state;
    for (int i = 0; i <= METRICS_MAX_REGISTERED; i++)
        snprintf(names[i], sizeof(names[i]), "kadr_test_%d", i);
    for (int i = 0; i < METRICS_MAX_REGISTERED; i++)
        assert_non_null(metrics_register(&m, names[i], "x", true));
    assert_null(metrics_register(&m, names[METRICS_MAX_REGISTERED], "x", true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metrics_route_labels),
        cmocka_unit_test(metrics_observe_buckets),
        cmocka_unit_test(metrics_register_names),
        cmocka_unit_test(metrics_register_full),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
