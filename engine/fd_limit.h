#ifndef KADR_ENGINE_FD_LIMIT_H
#define KADR_ENGINE_FD_LIMIT_H
/* The open-file limit of the process and the connections it allows.
 * Shells and service managers often start a process with a soft limit
 * of 1024 under a higher hard limit. So kadrd raises its soft limit to
 * what its connections need, up to the hard limit. */

#include <stdint.h>

/* Descriptors kept apart from client connections for the index, logs,
 * webhook and job files, and volumes added while kadrd runs. */
#define FD_LIMIT_RESERVED 128
/* Descriptors a volume may hold: one for reads, one for appends. */
#define FD_LIMIT_PER_VOLUME 2
/* Soft open-file limit kadrd sets when max_connections is left to the
 * host, before the descriptors of its volumes are added. */
#define FD_LIMIT_TARGET 65536

/* Raises the soft open-file limit to `target`, or to the hard limit when
 * that is lower. Never lowers it. Returns the soft limit in effect. */
uint64_t fd_limit_raise(uint64_t target);

/* Connections `open_files` descriptors allow in a store of `volumes`
 * volumes. Each connection may hold a socket and an upload file. Each
 * volume uses FD_LIMIT_PER_VOLUME, and FD_LIMIT_RESERVED more stay
 * apart, or, when fewer than twice that are left after the volumes, half
 * of what is left. At least 1. */
uint64_t fd_limit_connections(uint64_t open_files, uint64_t volumes);

/* Open files that `connections` connections need in a store of `volumes`
 * volumes. */
uint64_t fd_limit_needed(uint64_t connections, uint64_t volumes);

#endif
