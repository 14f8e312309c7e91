/* Text files read whole, checked for what stdio would read wrongly. */
#include "text_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kadr/io.h>

/* Reads up to size bytes of fd into buf. Returns the count or -errno. */
static long read_up_to(int fd, char *buf, size_t size)
{
    size_t len = 0;

    while (len < size) {
        ssize_t n = read(fd, buf + len, size - len);

        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        len += (size_t)n;
    }
    return (long)len;
}

/* Returns the 1-based line of the first NUL byte in buf, or 0. */
static int nul_line(const char *buf, size_t len)
{
    const char *nul = memchr(buf, '\0', len);
    int line = 1;

    if (nul == NULL)
        return 0;
    for (const char *p = buf; p < nul; p++)
        line += *p == '\n';
    return line;
}

int text_file_read(const char *path, const char *what, char *buf, size_t size,
                   size_t *len, char *err, size_t err_size)
{
    int fd = kadr_open_regular(path);
    long n;
    int line;

    if (fd == -EINVAL) {
        snprintf(err, err_size, "%s '%s' is not a regular file", what, path);
        return KADR_E_CONFIG;
    }
    if (fd < 0) {
        snprintf(err, err_size, "cannot read %s '%s': %s", what, path,
                 strerror(-fd));
        return KADR_E_CONFIG;
    }
    /* Reading one byte more than fits shows a file that is too large. */
    n = read_up_to(fd, buf, size);
    close(fd);
    if (n < 0) {
        snprintf(err, err_size, "cannot read %s '%s': %s", what, path,
                 strerror((int)-n));
        return KADR_E_CONFIG;
    }
    if ((size_t)n >= size) {
        snprintf(err, err_size, "%s '%s' is larger than %zu bytes", what, path,
                 size - 1);
        return KADR_E_CONFIG;
    }
    buf[n] = '\0';
    line = nul_line(buf, (size_t)n);
    if (line > 0) {
        snprintf(err, err_size, "%s '%s' has a NUL byte on line %d", what, path,
                 line);
        return KADR_E_CONFIG;
    }
    *len = (size_t)n;
    return 0;
}
