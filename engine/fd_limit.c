/* Open-file limit: raising the soft limit and sizing connections by it. */
#include "fd_limit.h"

#include <sys/resource.h>

#define FD_LIMIT_MIN_CONNECTIONS 64

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
    uint64_t count = open_files > FD_LIMIT_RESERVED
                         ? (open_files - FD_LIMIT_RESERVED) / 2
                         : 0;

    return count > FD_LIMIT_MIN_CONNECTIONS ? count : FD_LIMIT_MIN_CONNECTIONS;
}

uint64_t fd_limit_needed(uint64_t connections)
{
    return 2 * connections + FD_LIMIT_RESERVED;
}
