/* Header text without printf(3): decimal numbers and IMF-fixdates. */
#include "http_text.h"

void http_text_put_u64(http_text_t *t, uint64_t v)
{
    char digits[20];
    size_t n = 0;

    do {
        digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    http_text_put(t, digits + sizeof(digits) - n, n);
}

int http_text_finish(http_text_t *t, char *out)
{
    if (t->full) {
        if (t->end >= out)
            *t->end = '\0';
        return -1;
    }
    *t->pos = '\0';
    return (int)(t->pos - out);
}

static void put_two(char *out, int v)
{
    out[0] = (char)('0' + v / 10 % 10);
    out[1] = (char)('0' + v % 10);
}

bool http_format_date(time_t when, char out[HTTP_DATE_LEN + 1])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    int year;

    if (gmtime_r(&when, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
        tm.tm_year + 1900 < 0)
        return false;
    year = tm.tm_year + 1900;
    memcpy(out, days[tm.tm_wday], 3);
    memcpy(out + 3, ", ", 2);
    put_two(out + 5, tm.tm_mday);
    out[7] = ' ';
    memcpy(out + 8, months[tm.tm_mon], 3);
    out[11] = ' ';
    put_two(out + 12, year / 100);
    put_two(out + 14, year % 100);
    out[16] = ' ';
    put_two(out + 17, tm.tm_hour);
    out[19] = ':';
    put_two(out + 20, tm.tm_min);
    out[22] = ':';
    put_two(out + 23, tm.tm_sec);
    memcpy(out + 25, " GMT", 4);
    out[HTTP_DATE_LEN] = '\0';
    return true;
}
