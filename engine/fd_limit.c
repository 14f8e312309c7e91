/* Open-file limit: raising the soft limit and sizing connections by it. */
#include "fd_limit.h"

#include <sys/resource.h>

uint64_t fd_limit_raise(uint64_t target)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 0;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < target) {
        struct rlimit raised = limit;

        raised.rlim_cur = target;
        if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < target)
            raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? target : (uint64_t)limit.rlim_cur;
}

uint64_t fd_limit_connections(uint64_t open_files, uint64_t volumes)
{
    uint64_t volume_fds = FD_LIMIT_PER_VOLUME * volumes;
    uint64_t left;
    uint64_t count;

    if (open_files <= volume_fds)
        return 1;
    left = open_files - volume_fds;
    /* Under twice the reserve, half of what is left stays reserved, so
     * the connections never need more descriptors than the limit has.
     * At twice the reserve both rules give the same count. */
    if (left >= 2 * FD_LIMIT_RESERVED)
        count = (left - FD_LIMIT_RESERVED) / 2;
    else
        count = left / 4;
    return count > 0 ? count : 1;
}

uint64_t fd_limit_needed(uint64_t connections, uint64_t volumes)
{
    return 2 * connections + FD_LIMIT_RESERVED + FD_LIMIT_PER_VOLUME * volumes;
}
