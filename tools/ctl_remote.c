/* kadrctl --url URL compact [VOLUME] and kadrctl --url URL gc: send a
 * running kadrd the request POST /v1/admin/compact or /v1/admin/gc,
 * since kadrctl cannot take the writer lock that kadrd holds. The front-end key
 * comes from KADR_API_KEY, so that it shows in no process list. A small
 * blocking HTTP/1.1 client: one request with Connection: close, and the reply
 * read to its end. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"

/* Largest reply read, in bytes: a compaction reply lists one short JSON
 * object per volume, far below this. */
#define CTL_REPLY_MAX_BYTES (1u << 20)

/* Dead share, in percent, at which a compaction without a volume id
 * rewrites a volume: as for kadrctl compact on a stopped kadrd. */
#define CTL_REMOTE_MIN_DEAD_PERCENT 50

/* Splits "http://HOST:PORT" into host and port. HOST is a name, an IPv4
 * address or an IPv6 address in brackets; nothing may follow PORT. */
static int parse_url(const char *url, char *host, size_t host_size, char *port,
                     size_t port_size)
{
    const char *p = url;
    const char *end;
    size_t len;

    if (strncmp(p, "http://", 7) != 0)
        return KADR_E_BAD_INPUT;
    p += 7;
    if (*p == '[') {
        end = strchr(++p, ']');
        if (end == NULL || end[1] != ':')
            return KADR_E_BAD_INPUT;
    } else {
        end = strchr(p, ':');
        if (end == NULL)
            return KADR_E_BAD_INPUT;
    }
    len = (size_t)(end - p);
    if (len == 0 || len >= host_size)
        return KADR_E_BAD_INPUT;
    memcpy(host, p, len);
    host[len] = '\0';
    p = end + (*end == ']' ? 2 : 1);
    len = strlen(p);
    if (len == 0 || len >= port_size || strspn(p, "0123456789") != len)
        return KADR_E_BAD_INPUT;
    memcpy(port, p, len + 1);
    return 0;
}

/* Connects to the first address of host and port that accepts. Returns
 * the socket or -errno (KADR_E_NOT_FOUND when the name does not
 * resolve). */
static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *list;
    int fd = -ECONNREFUSED;

    if (getaddrinfo(host, port, &hints, &list) != 0)
        return KADR_E_NOT_FOUND;
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            fd = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -errno;
    }
    freeaddrinfo(list);
    return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads until the peer closes, into a NUL-terminated malloc'd buffer.
 * Returns KADR_E_TOO_LARGE past CTL_REPLY_MAX_BYTES and -ECONNRESET for
 * an empty reply. */
static int read_all(int fd, char **out, size_t *out_len)
{
    char *buf = malloc(CTL_REPLY_MAX_BYTES + 1);
    size_t len = 0;
    ssize_t n = 1;
    int rc = 0;

    if (buf == NULL)
        return -ENOMEM;
    while (n > 0 && len < CTL_REPLY_MAX_BYTES) {
        n = recv(fd, buf + len, CTL_REPLY_MAX_BYTES - len, 0);
        if (n < 0 && errno == EINTR)
            n = 1;
        else if (n < 0)
            rc = -errno;
        else
            len += (size_t)n;
    }
    if (rc == 0 && len == CTL_REPLY_MAX_BYTES)
        rc = KADR_E_TOO_LARGE;
    if (rc == 0 && len == 0)
        rc = -ECONNRESET;
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/* Splits a reply into its status and its JSON body (NULL if the body is
 * not JSON). */
static int parse_reply(const char *reply, size_t len, int *status, json_t **doc)
{
    const char *body = strstr(reply, "\r\n\r\n");

    if (strncmp(reply, "HTTP/1.", 7) != 0 || len < 12 || body == NULL)
        return KADR_E_CORRUPT;
    *status = atoi(reply + 9);
    body += 4;
    *doc = json_loadb(body, len - (size_t)(body - reply), 0, NULL);
    return 0;
}

/* Sends POST target to the kadrd at url and returns the reply's status
 * and JSON body (the caller frees it). */
static int post(const char *url, const char *target, const char *key,
                int *status, json_t **doc)
{
    char host[256];
    char port[8];
    char head[1024];
    char *reply = NULL;
    size_t len = 0;
    int fd;
    int n;
    int rc = parse_url(url, host, sizeof(host), port, sizeof(port));

    if (rc != 0)
        return rc;
    n = snprintf(head, sizeof(head),
                 "POST %s HTTP/1.1\r\nHost: %s:%s\r\nX-Api-Key: %s\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n",
                 target, host, port, key);
    if (n < 0 || (size_t)n >= sizeof(head))
        return KADR_E_TOO_LARGE;
    fd = connect_to(host, port);
    if (fd < 0)
        return fd;
    rc = send_all(fd, head, (size_t)n);
    if (rc == 0)
        rc = read_all(fd, &reply, &len);
    close(fd);
    if (rc != 0)
        return rc;
    rc = parse_reply(reply, len, status, doc);
    free(reply);
    return rc;
}

static void print_volumes(const struct ctl *ctl, json_t *doc)
{
    json_t *list = json_object_get(doc, "compacted");
    size_t i;
    json_t *v;

    json_t *pruned = json_object_get(doc, "derived_pruned");

    if (ctl->json) {
        ctl_print_json(ctl, json_incref(doc));
        return;
    }
    json_array_foreach(list, i, v)
    {
        printf("volume %lld: %lld bytes, %lld copied (%lld blobs moved, "
               "%lld dead blobs dropped)\n",
               json_integer_value(json_object_get(v, "volume")),
               json_integer_value(json_object_get(v, "bytes_before")),
               json_integer_value(json_object_get(v, "bytes_copied")),
               json_integer_value(json_object_get(v, "blobs_moved")),
               json_integer_value(json_object_get(v, "blobs_dropped")));
    }
    if (json_array_size(list) == 0)
        puts("no volume needed compaction");
    if (pruned != NULL)
        printf("%lld derivation cache entries pruned\n",
               json_integer_value(pruned));
}

static void print_failure(const char *url, int status, json_t *doc)
{
    const char *error = json_string_value(json_object_get(doc, "error"));
    const char *detail = json_string_value(json_object_get(doc, "detail"));

    fprintf(stderr, "kadrctl: %s responded %d %s: %s\n", url, status,
            error != NULL ? error : "(no error name)",
            detail != NULL ? detail : "(no detail)");
}

/* Sends POST target to ctl->url with the key in KADR_API_KEY, and prints
 * the volumes compacted and, for gc, the entries pruned. */
static int ask_remote(struct ctl *ctl, const char *target, const char *action)
{
    const char *key = getenv("KADR_API_KEY");
    json_t *doc = NULL;
    int status = 0;
    int rc;

    if (key == NULL || key[0] == '\0') {
        fputs("kadrctl: set KADR_API_KEY to one of kadrd's api_keys to "
              "use --url\n",
              stderr);
        return CTL_FOUND_PROBLEMS;
    }
    rc = post(ctl->url, target, key, &status, &doc);
    if (rc == KADR_E_BAD_INPUT) {
        fprintf(stderr,
                "kadrctl: invalid --url '%s' (expected "
                "http://HOST:PORT)\n",
                ctl->url);
        return CTL_FOUND_PROBLEMS;
    }
    if (rc != 0) {
        fprintf(stderr, "kadrctl: asking %s to %s failed: %s\n", ctl->url,
                action, kadr_strerror(rc));
        return CTL_FOUND_PROBLEMS;
    }
    if (status == 200)
        print_volumes(ctl, doc);
    else
        print_failure(ctl->url, status, doc);
    json_decref(doc);
    return status == 200 ? 0 : CTL_FOUND_PROBLEMS;
}

int ctl_cmd_compact_remote(struct ctl *ctl, const char *volume)
{
    char target[96];

    if (volume != NULL && strspn(volume, "0123456789") != strlen(volume)) {
        fprintf(stderr,
                "kadrctl: invalid volume id '%s' (expected a "
                "number from kadrctl volumes)\n",
                volume);
        return KADR_E_BAD_INPUT;
    }
    if (volume != NULL)
        snprintf(target, sizeof(target), "/v1/admin/compact?volume=%.20s",
                 volume);
    else
        snprintf(target, sizeof(target),
                 "/v1/admin/compact?min_dead_percent=%d",
                 CTL_REMOTE_MIN_DEAD_PERCENT);
    return ask_remote(ctl, target, "compact");
}

int ctl_cmd_gc_remote(struct ctl *ctl)
{
    return ask_remote(ctl, "/v1/admin/gc", "collect garbage");
}
