#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

enum log_level log_min_level = LOG_LEVEL_INFO;

static const char *level_names[] = {"debug", "info", "warn", "error",
                                    "crit"};

int log_parse_level(const char *name)
{
    for (int i = 0; i <= LOG_LEVEL_CRIT; i++) {
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    }
    return -1;
}

static void format_timestamp(char *out, size_t size)
{
    struct timeval tv;
    struct tm tm;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
}

void log_write(enum log_level level, const char *event, const char *fmt,
               ...)
{
    char line[2048];
    char stamp[64];
    va_list ap;
    int used;

    format_timestamp(stamp, sizeof(stamp));
    used = snprintf(line, sizeof(line), "%s level=%s event=%s ", stamp,
                    level_names[level], event);
    if (used < 0 || (size_t)used >= sizeof(line))
        return;
    va_start(ap, fmt);
    vsnprintf(line + used, sizeof(line) - (size_t)used, fmt, ap);
    va_end(ap);
    /* One fputs per line keeps lines from different threads whole. */
    flockfile(stderr);
    fputs(line, stderr);
    fputc('\n', stderr);
    funlockfile(stderr);
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
