#ifndef KADR_ENGINE_FD_LIMIT_H
#define KADR_ENGINE_FD_LIMIT_H
/* The open-file limit of the process and the connections it allows.
 * Shells and service managers often start a process with a soft limit
 * of 1024 under a higher hard limit. So kadrd raises its soft limit to
 * what its connections need, up to the hard limit. */

#include <stdint.h>

/* Descriptors kept apart from client connections: volumes, the index,
 * logs, upload and job files.
 * TODO: kadrd keeps two descriptors open per volume, so a store of more
 * than about 50 volumes takes descriptors from the connections' share.
 * Many uploads at once then get 503 before max_connections is reached;
 * the reserve should grow with the volume count. */
#define FD_LIMIT_RESERVED 128
/* Soft open-file limit kadrd sets when max_connections is left to the
 * host. */
#define FD_LIMIT_TARGET 65536

/* Raises the soft open-file limit to `target`, or to the hard limit when
 * that is lower. Never lowers it. Returns the soft limit in effect. */
uint64_t fd_limit_raise(uint64_t target);

/* Connections `open_files` descriptors allow: each may hold a socket and
 * an upload file, and FD_LIMIT_RESERVED descriptors stay apart, or half
 * of `open_files` when that is less. At least 1. */
uint64_t fd_limit_connections(uint64_t open_files);

/* Open files that `connections` connections need. */
uint64_t fd_limit_needed(uint64_t connections);

#endif
