/* The listening socket: start, accept, connection accounting and stop. */
#include "http_internal.h"
#include "http_text.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Connection-level reply to a client over max_connections. It carries
 * the nosniff header that every other response gets too. */
static const char busy_reply[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Length: 0\r\n" HTTP_RETRY_AFTER "Connection: close\r\n"
    "X-Content-Type-Options: nosniff\r\n\r\n";

static int make_address(const char *host, int port,
                        struct sockaddr_storage *addr)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;

    memset(addr, 0, sizeof(*addr));
    if (uv_ip4_addr(host, port, in4) == 0)
        return 0;
    if (uv_ip6_addr(host, port, in6) == 0)
        return 0;
    return KADR_E_CONFIG;
}

static int open_listener(const char *host, int port, int *out_fd)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int enable = 1;
    int fd;
    int rc;

    rc = make_address(host, port, &addr);
    if (rc < 0)
        return rc;
    fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &enable, sizeof(enable)) < 0)
        goto fail_errno;
    addr_len = addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                         : sizeof(struct sockaddr_in6);
    if (bind(fd, (struct sockaddr *)&addr, addr_len) < 0)
        goto fail_errno;
    if (listen(fd, SOMAXCONN) < 0)
        goto fail_errno;
    *out_fd = fd;
    return 0;

fail_errno:
    rc = -errno;
    close(fd);
    return rc;
}

static int read_bound_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);

    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        return -errno;
    if (addr.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&addr)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
}

static int check_options(const http_server_options_t *opts,
                         const http_handlers_t *handlers)
{
    if (opts->host == NULL || strlen(opts->host) >= 64)
        return KADR_E_CONFIG;
    if (opts->port < 0 || opts->port > 65535)
        return KADR_E_CONFIG;
    if (opts->max_header_bytes == 0 || opts->max_headers == 0 ||
        opts->max_url_bytes == 0 || opts->max_connections == 0)
        return KADR_E_CONFIG;
    if (opts->header_timeout_ms == 0 || opts->body_timeout_ms == 0 ||
        opts->idle_timeout_ms == 0)
        return KADR_E_CONFIG;
    if (handlers->on_headers == NULL || handlers->on_abort == NULL)
        return KADR_E_CONFIG;
    return 0;
}

static void reject_connection(http_server_t *server, int fd)
{
    ssize_t rc;

    /* The reply is best effort: it fits any fresh socket buffer, and a
     * client that cannot take it is closed all the same. */
    rc = send(fd, busy_reply, sizeof(busy_reply) - 1,
              MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)rc;
    close(fd);
    server->counters.connections_rejected++;
}

static void on_accept_retry(uv_timer_t *timer);

static void open_reserve(http_server_t *server)
{
    server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors: gives the reserve descriptor up for a moment to
 * accept one waiting client and send it the busy reply, so that it gets
 * a 503 instead of waiting in the backlog until a descriptor frees up.
 * Returns false when no client was taken that way. */
static bool reject_with_reserve(http_server_t *server)
{
    int fd;

    if (server->reserve_fd < 0)
        return false;
    close(server->reserve_fd);
    fd = accept4(server->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        server->counters.connections_accepted++;
        reject_connection(server, fd);
    }
    open_reserve(server);
    return fd >= 0;
}

/* Out of descriptors or memory: the listener stays readable, so it is
 * paused briefly instead of spinning. */
static void pause_listener(http_server_t *server)
{
    if (uv_poll_stop(&server->listen_poll) != 0)
        return;
    if (uv_timer_start(&server->accept_timer, on_accept_retry,
                       HTTP_ACCEPT_RETRY_MS, 0) != 0)
        return;
}

static bool accept_one(http_server_t *server)
{
    int enable = 1;
    int fd =
        accept4(server->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0) {
        int error = errno;

        if ((error == EMFILE || error == ENFILE) && reject_with_reserve(server))
            return true;
        if (error == EMFILE || error == ENFILE || error == ENOBUFS ||
            error == ENOMEM)
            pause_listener(server);
        return error == EINTR || error == ECONNABORTED;
    }
    server->counters.connections_accepted++;
    if (server->counters.connections_open >= server->opts.max_connections) {
        reject_connection(server, fd);
        return true;
    }
    /* Nagle would delay the last segment of a response; responses are
     * batched by the server itself (MSG_MORE before a file body). */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &enable, sizeof(enable)) < 0 ||
        http__conn_start(server, fd) < 0)
        close(fd);
    return true;
}

static void on_listener_readable(uv_poll_t *poll, int status, int events)
{
    http_server_t *server = poll->data;

    if (status < 0 || server->stopping)
        return;
    for (int i = 0; i < HTTP_ACCEPT_BATCH; i++) {
        if (!accept_one(server))
            break;
    }
}

static void on_accept_retry(uv_timer_t *timer)
{
    http_server_t *server = timer->data;

    if (server->stopping)
        return;
    if (uv_poll_start(&server->listen_poll, UV_READABLE,
                      on_listener_readable) != 0)
        pause_listener(server);
}

static int start_listening(http_server_t *server)
{
    int rc;

    rc = uv_poll_init(server->loop, &server->listen_poll, server->listen_fd);
    if (rc < 0)
        return rc;
    server->listen_poll.data = server;
    server->open_handles++;
    rc = uv_timer_init(server->loop, &server->accept_timer);
    if (rc < 0)
        return rc;
    server->accept_timer.data = server;
    server->open_handles++;
    return uv_poll_start(&server->listen_poll, UV_READABLE,
                         on_listener_readable);
}

static void finish_stop(http_server_t *server)
{
    void (*done)(void *) = server->done;
    void *done_ctx = server->done_ctx;

    if (server->open_handles > 0 || server->conns != NULL)
        return;
    if (server->listen_fd >= 0)
        close(server->listen_fd);
    if (server->reserve_fd >= 0)
        close(server->reserve_fd);
    free(server);
    if (done != NULL)
        done(done_ctx);
}

static void on_server_handle_closed(uv_handle_t *handle)
{
    http_server_t *server = handle->data;

    server->open_handles--;
    if (server->stopping)
        finish_stop(server);
}

/* Closes the listening socket as soon as its poll handle is gone, so that
 * new connections are refused while the open ones finish. */
static void on_listen_poll_closed(uv_handle_t *handle)
{
    http_server_t *server = handle->data;

    if (server->listen_fd >= 0) {
        close(server->listen_fd);
        server->listen_fd = -1;
    }
    on_server_handle_closed(handle);
}

static void close_server_handles(http_server_t *server)
{
    if (server->listen_poll.data != NULL &&
        !uv_is_closing((uv_handle_t *)&server->listen_poll))
        uv_close((uv_handle_t *)&server->listen_poll, on_listen_poll_closed);
    if (server->accept_timer.data != NULL &&
        !uv_is_closing((uv_handle_t *)&server->accept_timer))
        uv_close((uv_handle_t *)&server->accept_timer, on_server_handle_closed);
}

int http_server_start(uv_loop_t *loop, const http_server_options_t *opts,
                      const http_handlers_t *handlers, http_server_t **out)
{
    http_server_t *server;
    int rc;

    *out = NULL;
    rc = check_options(opts, handlers);
    if (rc < 0)
        return rc;
    server = calloc(1, sizeof(*server));
    if (server == NULL)
        return -ENOMEM;
    server->loop = loop;
    server->opts = *opts;
    strcpy(server->host, opts->host);
    server->opts.host = server->host;
    server->handlers = *handlers;
    server->next_request_id = 1;
    server->reserve_fd = -1;

    rc = open_listener(opts->host, opts->port, &server->listen_fd);
    if (rc < 0)
        goto fail_free;
    server->port = read_bound_port(server->listen_fd);
    if (server->port < 0) {
        rc = server->port;
        goto fail_close;
    }
    rc = start_listening(server);
    if (rc < 0)
        goto fail_handles;
    open_reserve(server);
    *out = server;
    return 0;

fail_handles:
    /* The loop owns the handles until their close callbacks have run, so
     * the server is released through the normal stop path. */
    server->stopping = true;
    close_server_handles(server);
    if (server->open_handles == 0)
        finish_stop(server);
    return rc;
fail_close:
    close(server->listen_fd);
fail_free:
    free(server);
    return rc;
}

int http_server_port(const http_server_t *server)
{
    return server->port;
}

void http_server_get_counters(const http_server_t *server,
                              http_server_counters_t *out)
{
    *out = server->counters;
}

void http_server_stop(http_server_t *server, void (*done)(void *),
                      void *done_ctx)
{
    struct http_conn *conn = server->conns;

    server->stopping = true;
    server->done = done;
    server->done_ctx = done_ctx;
    close_server_handles(server);
    while (conn != NULL) {
        struct http_conn *next = conn->next;

        if (http__conn_is_idle(conn))
            http__conn_close(conn);
        else
            conn->keep_alive = false;
        conn = next;
    }
    finish_stop(server);
}

/* Unlinks a connection whose handles have closed, before the caller
 * frees it. */
void http__server_release_conn(http_server_t *server, struct http_conn *conn)
{
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    server->counters.connections_open--;
}

/* Frees a stopping server once its last handle and connection are gone. */
void http__server_finish_stop(http_server_t *server)
{
    if (server->stopping)
        finish_stop(server);
}

/* Returns the IMF-fixdate of the current second for the Date header. */
const char *http__server_date(http_server_t *server)
{
    time_t now = time(NULL);

    if (now == server->date_time && server->date_text[0] != '\0')
        return server->date_text;
    if (http_format_date(now, server->date_text))
        server->date_time = now;
    return server->date_text;
}
