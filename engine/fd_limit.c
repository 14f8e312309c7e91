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

uint64_t fd_limit_connections(uint64_t open_files)
{
    uint64_t count;

    /* Under twice the reserve, half the limit stays reserved, so the
     * connections never need more descriptors than the limit has. At 256
     * both rules give 64. */
    if (open_files >= 2 * FD_LIMIT_RESERVED)
        count = (open_files - FD_LIMIT_RESERVED) / 2;
    else
        count = open_files / 4;
    return count > 0 ? count : 1;
}

uint64_t fd_limit_needed(uint64_t connections)
{
    return 2 * connections + FD_LIMIT_RESERVED;
}
