/* Structured log lines: one line per event on stderr,
 *   2026-12-04T15:28:18.123Z level=info event=upload.done media=... ms=12
 * The level is checked before any argument is formatted. Warn, error and
 * crit lines are rate-limited per event name: past the limit in one
 * second they are counted, and the next line of that event that gets
 * through is preceded by a log.suppressed line with the count. */
#ifndef KADR_ENGINE_LOG_H
#define KADR_ENGINE_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_CRIT = 4,
};

/* Changed at run time by SIGHUP; any thread may read it. */
extern _Atomic(enum log_level) log_min_level;

/* Sets how many warn, error or crit lines of one event may be written per
 * second (0: no limit). */
void log_set_rate_limit(unsigned per_second);

/* Sets a counter (may be NULL) that log_write adds suppressed lines to. */
void log_set_suppressed_counter(atomic_uint_fast64_t *counter);

/* Parses "debug", "info", "warn", "error" or "crit". Returns the level, or
 * -1 if the name is unknown. */
int log_parse_level(const char *name);

/* Writes one line: timestamp, level, event, then fields formatted from
 * fmt, which should be space-separated key=value pairs. */
void log_write(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies an untrusted string into out for a log field: at most out_size-1
 * bytes, control characters, quotes, spaces and backslashes escaped as
 * \xHH, and "..." appended if it was cut. */
void log_escape(const char *in, char *out, size_t out_size);

#define LOG_AT(level, event, ...)                                              \
    do {                                                                       \
        if ((level) >= log_min_level)                                          \
            log_write((level), (event), __VA_ARGS__);                          \
    } while (0)

#define log_debug(event, ...) LOG_AT(LOG_LEVEL_DEBUG, event, __VA_ARGS__)
#define log_info(event, ...) LOG_AT(LOG_LEVEL_INFO, event, __VA_ARGS__)
#define log_warn(event, ...) LOG_AT(LOG_LEVEL_WARN, event, __VA_ARGS__)
#define log_error(event, ...) LOG_AT(LOG_LEVEL_ERROR, event, __VA_ARGS__)
#define log_crit(event, ...) LOG_AT(LOG_LEVEL_CRIT, event, __VA_ARGS__)

#endif
