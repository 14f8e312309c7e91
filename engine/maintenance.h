/* Background store maintenance in kadrd: a thread that compacts volumes
 * whose dead share passes compact_dead_percent, checked every
 * compact_interval_s, and scrubs the store (verify at a limited read
 * rate) every scrub_interval_s. */
#ifndef KADR_ENGINE_MAINTENANCE_H
#define KADR_ENGINE_MAINTENANCE_H

#include <stdio.h>

struct app;

/* Starts the thread once the store is open. A failure to start is logged
 * and kadrd runs without background maintenance. */
void maintenance_start(struct app *app);

/* Stops the thread, waiting for the scrub step or compaction under way,
 * and frees it. Safe when it never started. */
void maintenance_stop(struct app *app);

/* Writes the maintenance counters in the Prometheus text format. */
void maintenance_write_metrics(FILE *f, struct app *app);

#endif
