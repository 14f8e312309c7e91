#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#define LIMIT_SLOTS 128 /* a power of two */
#define LIMIT_PROBES 8

_Atomic(enum log_level) log_min_level = LOG_LEVEL_INFO;

/* Lines of one event within one second of wall time. */
struct event_limit {
    const char *event; /* NULL: free slot */
    time_t second;
    unsigned lines;
    uint64_t suppressed;
};

static struct event_limit limits[LIMIT_SLOTS];
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint rate_limit = 10;
static _Atomic(atomic_uint_fast64_t *) suppressed_counter;

static const char *level_names[] = {"debug", "info", "warn", "error", "crit"};

int log_parse_level(const char *name)
{
    for (int i = 0; i <= LOG_LEVEL_CRIT; i++) {
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    }
    return -1;
}

void log_set_rate_limit(unsigned per_second)
{
    atomic_store(&rate_limit, per_second);
}

void log_set_suppressed_counter(atomic_uint_fast64_t *counter)
{
    atomic_store(&suppressed_counter, counter);
}

static size_t hash_event(const char *event)
{
    size_t h = 5381;

    for (; *event != '\0'; event++)
        h = h * 33 + (unsigned char)*event;
    return h;
}

/* Finds the event's slot, or the least recently used one of its probe
 * range, which then starts over for this event. */
static struct event_limit *limit_slot(const char *event)
{
    size_t home = hash_event(event);
    struct event_limit *oldest = NULL;

    for (size_t i = 0; i < LIMIT_PROBES; i++) {
        struct event_limit *slot = &limits[(home + i) & (LIMIT_SLOTS - 1)];

        if (slot->event != NULL && strcmp(slot->event, event) == 0)
            return slot;
        if (oldest == NULL || slot->event == NULL ||
            (oldest->event != NULL && slot->second < oldest->second))
            oldest = slot;
    }
    memset(oldest, 0, sizeof(*oldest));
    oldest->event = event;
    return oldest;
}

/* Returns whether a line of event may be written in second now, the
 * second of the line's timestamp. *report gets the count suppressed in
 * the event's previous second, to be written first. */
static bool admit_line(const char *event, unsigned limit, time_t now,
                       uint64_t *report)
{
    struct event_limit *slot;
    bool admitted = true;

    *report = 0;
    pthread_mutex_lock(&limit_lock);
    slot = limit_slot(event);
    if (slot->second != now) {
        *report = slot->suppressed;
        slot->second = now;
        slot->lines = 0;
        slot->suppressed = 0;
    }
    if (slot->lines < limit) {
        slot->lines++;
    } else {
        slot->suppressed++;
        admitted = false;
    }
    pthread_mutex_unlock(&limit_lock);
    if (!admitted) {
        atomic_uint_fast64_t *counter = atomic_load(&suppressed_counter);

        if (counter != NULL)
            atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
    }
    return admitted;
}

static void format_timestamp(const struct timeval *tv, char *out, size_t size)
{
    struct tm tm;

    gmtime_r(&tv->tv_sec, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(tv->tv_usec / 1000));
}

static void write_line(const char *line)
{
    /* One fputs per line keeps lines from different threads whole. */
    flockfile(stderr);
    fputs(line, stderr);
    fputc('\n', stderr);
    funlockfile(stderr);
}

void log_write(enum log_level level, const char *event, const char *fmt, ...)
{
    char line[2048];
    char stamp[64];
    unsigned limit = atomic_load(&rate_limit);
    uint64_t suppressed = 0;
    struct timeval now;
    va_list ap;
    int used;

    /* One clock read for the limit and the stamp: time(2) may still be
     * in the previous second when gettimeofday(2) is past it. */
    gettimeofday(&now, NULL);
    if (level >= LOG_LEVEL_WARN && limit > 0 &&
        !admit_line(event, limit, now.tv_sec, &suppressed))
        return;
    format_timestamp(&now, stamp, sizeof(stamp));
    if (suppressed > 0) {
        snprintf(line, sizeof(line),
                 "%s level=warn event=log.suppressed name=%s count=%llu", stamp,
                 event, (unsigned long long)suppressed);
        write_line(line);
    }
    used = snprintf(line, sizeof(line), "%s level=%s event=%s ", stamp,
                    level_names[level], event);
    if (used < 0 || (size_t)used >= sizeof(line))
        return;
    va_start(ap, fmt);
    vsnprintf(line + used, sizeof(line) - (size_t)used, fmt, ap);
    va_end(ap);
    write_line(line);
}

void log_escape(const char *in, char *out, size_t out_size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (out_size == 0)
        return;
    for (; *in != '\0'; in++) {
        unsigned char c = (unsigned char)*in;
        int plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\';
        size_t need = plain ? 1 : 4;

        if (o + need + 4 > out_size) {
            if (o + 4 <= out_size)
                memcpy(out + o, "...", 3), o += 3;
            break;
        }
        if (plain) {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 0x0f];
    }
    out[o] = '\0';
}
