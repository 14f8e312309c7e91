/* The open-file limit: connections it allows and raising the soft limit
 * within the hard one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "fd_limit.h"

static struct rlimit saved;

static int save_limit(void **state)
{
    (void)state;
    return getrlimit(RLIMIT_NOFILE, &saved);
}

static int restore_limit(void **state)
{
    (void)state;
    return setrlimit(RLIMIT_NOFILE, &saved);
}

static void set_soft_limit(rlim_t soft)
{
    struct rlimit limit = saved;

    limit.rlim_cur = soft;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &limit), 0);
}

static rlim_t soft_limit(void)
{
    struct rlimit limit;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &limit), 0);
    return limit.rlim_cur;
}

static void connections_follow_open_files(void **state)
{
    (void)state;
    assert_int_equal(fd_limit_connections(1024, 0), 448);
    assert_int_equal(fd_limit_connections(65536, 0), 32704);
    /* Under twice the reserve, half the limit stays reserved. */
    assert_int_equal(fd_limit_connections(256, 0), 64);
    assert_int_equal(fd_limit_connections(255, 0), 63);
    assert_int_equal(fd_limit_connections(100, 0), 25);
    assert_int_equal(fd_limit_connections(3, 0), 1);
    assert_int_equal(fd_limit_connections(0, 0), 1);
    assert_int_equal(fd_limit_needed(448, 0), 1024);
    assert_int_equal(fd_limit_needed(32704, 0), 65536);
}

static void volumes_take_from_connections(void **state)
{
    (void)state;
    /* 5000 volumes of 4 GiB: 10,000 descriptors fewer for clients. */
    assert_int_equal(fd_limit_connections(65536, 5000), 27704);
    assert_int_equal(fd_limit_needed(27704, 5000), 65536);
    assert_int_equal(fd_limit_needed(32704, 5000), 75536);
    assert_int_equal(fd_limit_connections(75536, 5000), 32704);
    assert_int_equal(fd_limit_connections(512, 40), 152);
    assert_int_equal(fd_limit_connections(1024, 1), 447);
    /* What the volumes leave under twice the reserve: half of it stays
     * reserved. */
    assert_int_equal(fd_limit_connections(1024, 400), 56);
    assert_int_equal(fd_limit_connections(100, 1), 24);
    /* Volumes that need more than the limit leave one connection. */
    assert_int_equal(fd_limit_connections(1024, 600), 1);
}

static void raise_lifts_soft_limit(void **state)
{
    (void)state;
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 2048)
        skip();
    set_soft_limit(256);
    assert_int_equal(fd_limit_raise(2048), 2048);
    assert_int_equal(soft_limit(), 2048);
}

static void raise_never_lowers(void **state)
{
    (void)state;
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 2048)
        skip();
    set_soft_limit(2048);
    assert_int_equal(fd_limit_raise(512), 2048);
    assert_int_equal(soft_limit(), 2048);
}

static void raise_stops_at_hard_limit(void **state)
{
    (void)state;
    if (saved.rlim_max == RLIM_INFINITY)
        skip();
    set_soft_limit(64);
    assert_int_equal(fd_limit_raise((uint64_t)saved.rlim_max + 1000),
                     saved.rlim_max);
    assert_int_equal(soft_limit(), saved.rlim_max);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connections_follow_open_files),
        cmocka_unit_test(volumes_take_from_connections),
        cmocka_unit_test_setup_teardown(raise_lifts_soft_limit, save_limit,
                                        restore_limit),
        cmocka_unit_test_setup_teardown(raise_never_lowers, save_limit,
                                        restore_limit),
        cmocka_unit_test_setup_teardown(raise_stops_at_hard_limit, save_limit,
                                        restore_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
