/* One client connection: readiness events, reads, sends (send(2) for the
 * head and copied bodies, sendfile(2) for files), timers, keep-alive and
 * close. The request state machine steps in http__conn_step(). */
#include "http_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* An output buffer above this size is freed after its response. */
#define HTTP_OUT_KEEP_BYTES (64 * 1024)

enum http_timer_kind {
    HTTP_TIMER_NONE,
    HTTP_TIMER_KICK,   /* runs the state machine on the next iteration */
    HTTP_TIMER_HEADER, /* header_timeout_ms from the first request byte */
    HTTP_TIMER_IDLE,   /* idle_timeout_ms between keep-alive requests */
    HTTP_TIMER_BODY,   /* body_timeout_ms between two body reads */
    HTTP_TIMER_SEND,   /* body_timeout_ms between two sends */
    HTTP_TIMER_LINGER, /* HTTP_LINGER_MS in total */
};

static void on_poll(uv_poll_t *poll, int status, int events);
static void on_timer(uv_timer_t *timer);

struct http_conn *http__conn_of(http_request_t *req)
{
    return (struct http_conn *)((char *)req - offsetof(struct http_conn, req));
}

static bool output_pending(const struct http_conn *conn)
{
    return conn->out_sent < conn->out_len || conn->file_left > 0 ||
           conn->segment_next < conn->segment_count;
}

bool http__conn_can_parse(const struct http_conn *conn)
{
    if (conn->phase != HTTP_PHASE_HEAD && conn->phase != HTTP_PHASE_BODY)
        return false;
    if (conn->message_done)
        return false;
    return !conn->handler_paused || conn->responded;
}

/* Returns true when closing the connection drops no request that a
 * handler holds: it waits for a head, reads one, or lingers. */
bool http__conn_is_idle(const struct http_conn *conn)
{
    if (conn->phase == HTTP_PHASE_LINGER)
        return true;
    return conn->phase == HTTP_PHASE_HEAD && !conn->handler_owns &&
           !conn->responded;
}

/* Returns room for len more output bytes, or NULL without memory. The
 * caller writes there and adds len to out_len. */
char *http__conn_reserve_output(struct http_conn *conn, size_t len)
{
    size_t need = conn->out_len + len;
    char *grown;

    if (need < len)
        return NULL;
    if (need <= conn->out_cap)
        return conn->out + conn->out_len;
    grown = realloc(conn->out, need);
    if (grown == NULL)
        return NULL;
    conn->out = grown;
    conn->out_cap = need;
    return conn->out + conn->out_len;
}

static void fill_client_address(struct http_conn *conn)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    int rc = -1;

    if (getpeername(conn->fd, (struct sockaddr *)&addr, &len) == 0) {
        if (addr.ss_family == AF_INET)
            rc = uv_ip4_name((struct sockaddr_in *)&addr, conn->req.client,
                             sizeof(conn->req.client));
        else if (addr.ss_family == AF_INET6)
            rc = uv_ip6_name((struct sockaddr_in6 *)&addr, conn->req.client,
                             sizeof(conn->req.client));
    }
    if (rc != 0)
        strcpy(conn->req.client, "unknown");
}

static void free_conn(struct http_conn *conn)
{
    free(conn->out);
    free(conn->headers);
    free(conn->arena);
    free(conn->buf);
    free(conn);
}

static int alloc_conn(http_server_t *server, struct http_conn **out)
{
    const http_server_options_t *opts = &server->opts;
    struct http_conn *conn = calloc(1, sizeof(*conn));

    *out = NULL;
    if (conn == NULL)
        return -ENOMEM;
    /* Every head byte, plus a NUL after the URL and after each name and
     * value. */
    conn->arena_cap =
        (size_t)opts->max_header_bytes + 2 * (size_t)opts->max_headers + 2;
    conn->buf = malloc(HTTP_READ_BUFFER_BYTES);
    conn->arena = malloc(conn->arena_cap);
    conn->headers = calloc(opts->max_headers, sizeof(*conn->headers));
    if (conn->buf == NULL || conn->arena == NULL || conn->headers == NULL) {
        free_conn(conn);
        return -ENOMEM;
    }
    conn->server = server;
    conn->file_fd = -1;
    *out = conn;
    return 0;
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct http_conn *conn = handle->data;
    http_server_t *server = conn->server;

    if (--conn->open_handles > 0)
        return;
    if (conn->fd >= 0)
        close(conn->fd);
    http__server_release_conn(server, conn);
    free_conn(conn);
    http__server_finish_stop(server);
}

int http__conn_start(http_server_t *server, int fd)
{
    struct http_conn *conn;
    int rc;

    rc = alloc_conn(server, &conn);
    if (rc < 0)
        return rc;
    rc = uv_poll_init(server->loop, &conn->poll, fd);
    if (rc < 0) {
        free_conn(conn);
        return rc;
    }
    conn->fd = fd;
    conn->poll.data = conn;
    conn->timer.data = conn;
    conn->open_handles = 1;
    conn->next = server->conns;
    if (server->conns != NULL)
        server->conns->prev = conn;
    server->conns = conn;
    server->counters.connections_open++;
    if (uv_timer_init(server->loop, &conn->timer) != 0) {
        http__conn_fail(conn);
        return 0;
    }
    conn->open_handles = 2;
    fill_client_address(conn);
    http__parse_init(conn);
    http__conn_step(conn);
    return 0;
}

/* Ends the request as the connection goes: the handler gets on_abort if
 * it still owns the request, or on_finish with an error if its response
 * was cut short. */
static void end_request_on_close(struct http_conn *conn)
{
    const http_handlers_t *handlers = &conn->server->handlers;

    if (conn->handler_owns) {
        conn->handler_owns = false;
        conn->busy++;
        handlers->on_abort(&conn->req, handlers->ctx);
        conn->busy--;
    }
    if (conn->finish_pending) {
        conn->finish_pending = false;
        if (handlers->on_finish != NULL) {
            conn->busy++;
            handlers->on_finish(&conn->req, -ECONNABORTED, handlers->ctx);
            conn->busy--;
        }
    }
}

void http__conn_close(struct http_conn *conn)
{
    if (conn->phase == HTTP_PHASE_CLOSING)
        return;
    conn->phase = HTTP_PHASE_CLOSING;
    end_request_on_close(conn);
    if (conn->file_fd >= 0) {
        if (conn->file_owned)
            close(conn->file_fd);
        conn->file_fd = -1;
    }
    conn->file_left = 0;
    http__response_drop_segments(conn);
    uv_close((uv_handle_t *)&conn->poll, on_handle_closed);
    if (conn->open_handles == 2)
        uv_close((uv_handle_t *)&conn->timer, on_handle_closed);
}

/* Closes the connection after an I/O error or a broken response. */
void http__conn_fail(struct http_conn *conn)
{
    conn->keep_alive = false;
    http__conn_close(conn);
}

/* Makes the loop run the state machine on its next iteration, so that a
 * handler calling into the server is never re-entered. A kick from a
 * handler the state machine called, the usual case of a response made at
 * once, only makes the running step go round again. */
void http__conn_kick(struct http_conn *conn)
{
    if (conn->phase == HTTP_PHASE_CLOSING)
        return;
    if (conn->stepping) {
        conn->kicked = true;
        return;
    }
    if (uv_timer_start(&conn->timer, on_timer, 0, 0) != 0) {
        http__conn_fail(conn);
        return;
    }
    conn->timer_kind = HTTP_TIMER_KICK;
}

void http__conn_reject(struct http_conn *conn, int status, const char *detail)
{
    const http_handlers_t *handlers = &conn->server->handlers;

    if (status == 408)
        conn->server->counters.timeouts++;
    else
        conn->server->counters.bad_requests++;
    conn->keep_alive = false;
    if (conn->handler_owns) {
        conn->handler_owns = false;
        conn->busy++;
        handlers->on_abort(&conn->req, handlers->ctx);
        conn->busy--;
    }
    /* No more request bytes are parsed; lingering drops the rest. */
    conn->phase = HTTP_PHASE_WAIT;
    if (conn->responded)
        return;
    if (handlers->on_reject != NULL)
        handlers->on_reject(&conn->req, status, detail, handlers->ctx);
    conn->error_detail = detail;
    if (http__response_start(conn, status, NULL, NULL, 0, 0) < 0)
        http__conn_fail(conn);
}

/* ---- Reading ---- */

/* TODO: a connection waiting for its response is not read, so a client
 * that leaves is noticed only when the response is sent. This matters
 * for long waits such as uploads with ?wait=1. */
static bool want_read(const struct http_conn *conn)
{
    if (conn->peer_closed)
        return false;
    if (conn->phase == HTTP_PHASE_LINGER)
        return true;
    if (!http__conn_can_parse(conn))
        return false;
    return conn->buf_len < HTTP_READ_BUFFER_BYTES || conn->buf_off > 0;
}

static void make_read_room(struct http_conn *conn)
{
    if (conn->buf_off == conn->buf_len) {
        conn->buf_off = 0;
        conn->buf_len = 0;
    } else if (conn->buf_len == HTTP_READ_BUFFER_BYTES) {
        memmove(conn->buf, conn->buf + conn->buf_off,
                conn->buf_len - conn->buf_off);
        conn->buf_len -= conn->buf_off;
        conn->buf_off = 0;
    }
}

static void read_linger(struct http_conn *conn)
{
    ssize_t n = recv(conn->fd, conn->buf, HTTP_READ_BUFFER_BYTES, 0);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        http__conn_close(conn);
        return;
    }
    conn->linger_bytes += (size_t)n;
    if (conn->linger_bytes > HTTP_LINGER_MAX_BYTES)
        http__conn_close(conn);
}

static void handle_peer_close(struct http_conn *conn)
{
    conn->peer_closed = true;
    conn->keep_alive = false;
    /* A response already started is still sent: the client may have shut
     * down only its sending side. */
    if (conn->responded)
        return;
    http__conn_close(conn);
}

static void read_request(struct http_conn *conn)
{
    ssize_t n;

    make_read_room(conn);
    n = recv(conn->fd, conn->buf + conn->buf_len,
             HTTP_READ_BUFFER_BYTES - conn->buf_len, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            http__conn_fail(conn);
        return;
    }
    if (n == 0) {
        handle_peer_close(conn);
        return;
    }
    conn->buf_len += (size_t)n;
    conn->io_progress = true;
    conn->server->counters.bytes_received += (uint64_t)n;
}

/* ---- Sending ---- */

static int send_buffer(struct http_conn *conn)
{
    bool more = conn->file_left > 0 || conn->segment_next < conn->segment_count;
    int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);

    while (conn->out_sent < conn->out_len) {
        ssize_t n = send(conn->fd, conn->out + conn->out_sent,
                         conn->out_len - conn->out_sent, flags);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        conn->out_sent += (size_t)n;
        conn->io_progress = true;
        conn->server->counters.bytes_sent += (uint64_t)n;
    }
    conn->out_sent = 0;
    conn->out_len = 0;
    return 0;
}

static int send_file(struct http_conn *conn)
{
    uint64_t batch = 0;

    while (conn->file_left > 0 && batch < HTTP_SENDFILE_BATCH_BYTES) {
        off_t offset = (off_t)conn->file_offset;
        uint64_t want = conn->file_left;
        ssize_t n;

        if (want > HTTP_SENDFILE_BATCH_BYTES - batch)
            want = HTTP_SENDFILE_BATCH_BYTES - batch;
        n = sendfile(conn->fd, conn->file_fd, &offset, (size_t)want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -errno;
        }
        if (n == 0)
            return KADR_E_CORRUPT; /* the file ended before len bytes */
        conn->file_offset += (uint64_t)n;
        conn->file_left -= (uint64_t)n;
        batch += (uint64_t)n;
        conn->io_progress = true;
        conn->server->counters.bytes_sent += (uint64_t)n;
    }
    return 0;
}

/* Takes a duplicate of a shared response file, so that the caller's fd
 * may close while the rest of the body waits for the socket. */
static int own_file(struct http_conn *conn)
{
    int copy;

    if (conn->file_fd < 0 || conn->file_owned || conn->file_left == 0)
        return 0;
    copy = fcntl(conn->file_fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
        return -errno;
    conn->file_fd = copy;
    conn->file_owned = true;
    return 0;
}

/* Sends what the socket takes now; the rest waits for UV_WRITABLE. A
 * parts response moves its pieces into out and file_left one at a time. */
static int send_output(struct http_conn *conn)
{
    do {
        int rc = send_buffer(conn);

        if (rc < 0 || conn->out_len > 0)
            return rc;
        if (conn->file_left > 0) {
            rc = send_file(conn);
            if (rc < 0 || conn->file_left > 0)
                return rc;
        }
    } while (http__response_next_segment(conn));
    http__response_drop_segments(conn);
    if (conn->file_fd >= 0) {
        if (conn->file_owned)
            close(conn->file_fd);
        conn->file_fd = -1;
    }
    return 0;
}

static int flush_output(struct http_conn *conn)
{
    int rc = send_output(conn);

    if (rc == 0 && conn->file_left > 0)
        rc = own_file(conn);
    return rc;
}

static void finish_response(struct http_conn *conn)
{
    const http_handlers_t *handlers = &conn->server->handlers;

    conn->response_sent = true;
    if (conn->out_cap > HTTP_OUT_KEEP_BYTES) {
        free(conn->out);
        conn->out = NULL;
        conn->out_cap = 0;
    }
    if (!conn->finish_pending)
        return;
    conn->finish_pending = false;
    if (handlers->on_finish == NULL)
        return;
    conn->busy++;
    handlers->on_finish(&conn->req, 0, handlers->ctx);
    conn->busy--;
}

/* ---- State machine ---- */

/* Sends the FIN and drops input for a while, so that a client still
 * sending its request reads the response instead of a reset. */
static void start_linger(struct http_conn *conn)
{
    if (conn->peer_closed || shutdown(conn->fd, SHUT_WR) < 0) {
        http__conn_close(conn);
        return;
    }
    conn->phase = HTTP_PHASE_LINGER;
    conn->buf_off = 0;
    conn->buf_len = 0;
}

static void start_next_request(struct http_conn *conn)
{
    conn->request_count++;
    if (conn->server->stopping) {
        http__conn_close(conn);
        return;
    }
    http__parse_reset_request(conn);
    conn->phase = HTTP_PHASE_HEAD;
    conn->idle_start_ms = uv_now(conn->server->loop);
}

/* Makes one step of progress. Returns true when another step may make
 * more. */
static bool advance(struct http_conn *conn)
{
    size_t parsed = conn->buf_off;

    if (conn->phase == HTTP_PHASE_LINGER)
        return false;
    if (output_pending(conn)) {
        int rc = flush_output(conn);

        if (rc < 0) {
            http__conn_fail(conn);
            return false;
        }
        if (output_pending(conn))
            return false;
    }
    if (conn->responded && !conn->response_sent) {
        finish_response(conn);
        return true;
    }
    if (conn->response_sent && !conn->keep_alive &&
        conn->phase != HTTP_PHASE_LINGER) {
        start_linger(conn);
        return false;
    }
    if (conn->response_sent && conn->message_done) {
        start_next_request(conn);
        return true;
    }
    if (http__conn_can_parse(conn) && conn->buf_off < conn->buf_len) {
        enum http_conn_phase phase = conn->phase;
        bool responded = conn->responded;

        http__parse_run(conn);
        return conn->buf_off != parsed || conn->phase != phase ||
               conn->responded != responded;
    }
    return false;
}

static enum http_timer_kind pick_timer(const struct http_conn *conn)
{
    switch (conn->phase) {
    case HTTP_PHASE_LINGER:
        return HTTP_TIMER_LINGER;
    case HTTP_PHASE_CLOSING:
        return HTTP_TIMER_NONE;
    default:
        break;
    }
    if (output_pending(conn))
        return HTTP_TIMER_SEND;
    if (conn->phase == HTTP_PHASE_HEAD) {
        if (conn->message_begun || conn->request_count == 0)
            return HTTP_TIMER_HEADER;
        return HTTP_TIMER_IDLE;
    }
    if (conn->phase == HTTP_PHASE_BODY && http__conn_can_parse(conn))
        return HTTP_TIMER_BODY;
    /* TODO: no limit runs while the handler prepares its response, so a
     * handler that never responds holds the connection, and a stop, for
     * ever. A response deadline option would bound both. */
    return HTTP_TIMER_NONE;
}

static uint64_t timer_ms(const struct http_conn *conn,
                         enum http_timer_kind kind)
{
    const http_server_options_t *opts = &conn->server->opts;

    switch (kind) {
    case HTTP_TIMER_HEADER:
        return opts->header_timeout_ms;
    case HTTP_TIMER_IDLE:
        return opts->idle_timeout_ms;
    case HTTP_TIMER_LINGER:
        return HTTP_LINGER_MS;
    default:
        return opts->body_timeout_ms;
    }
}

/* Arms the timer of the current phase. Header, idle and linger limits
 * run from the start of their phase; body and send limits restart on
 * every read or send that moved bytes. */
static int update_timer(struct http_conn *conn)
{
    enum http_timer_kind kind = pick_timer(conn);
    bool restart = conn->io_progress &&
                   (kind == HTTP_TIMER_BODY || kind == HTTP_TIMER_SEND);

    conn->io_progress = false;
    if (kind == (enum http_timer_kind)conn->timer_kind && !restart)
        return 0;
    conn->timer_kind = kind;
    if (kind == HTTP_TIMER_NONE)
        return uv_timer_stop(&conn->timer);
    return uv_timer_start(&conn->timer, on_timer, timer_ms(conn, kind), 0);
}

static int update_poll(struct http_conn *conn)
{
    int events = 0;

    if (want_read(conn))
        events |= UV_READABLE;
    if (output_pending(conn))
        events |= UV_WRITABLE;
    if (events == conn->poll_events)
        return 0;
    conn->poll_events = events;
    if (events == 0)
        return uv_poll_stop(&conn->poll);
    return uv_poll_start(&conn->poll, events, on_poll);
}

/* Runs advance() until it makes no more progress. A kick that came while
 * it ran means a handler changed the state: one more round follows. */
static void run_steps(struct http_conn *conn)
{
    conn->stepping = true;
    do {
        conn->kicked = false;
        while (advance(conn) && conn->phase != HTTP_PHASE_CLOSING) {
        }
    } while (conn->kicked && conn->phase != HTTP_PHASE_CLOSING);
    conn->stepping = false;
}

void http__conn_step(struct http_conn *conn)
{
    if (conn->busy > 0 || conn->phase == HTTP_PHASE_CLOSING)
        return;
    run_steps(conn);
    if (conn->phase == HTTP_PHASE_CLOSING)
        return;
    if (update_poll(conn) < 0 || update_timer(conn) < 0)
        http__conn_fail(conn);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct http_conn *conn = poll->data;

    if (status < 0) {
        http__conn_fail(conn);
        return;
    }
    if ((events & UV_READABLE) != 0) {
        if (conn->phase == HTTP_PHASE_LINGER)
            read_linger(conn);
        else
            read_request(conn);
    }
    http__conn_step(conn);
}

static void on_timeout(struct http_conn *conn, enum http_timer_kind kind)
{
    bool request_started = kind == HTTP_TIMER_BODY ||
                           (kind == HTTP_TIMER_HEADER && conn->message_begun);

    if (request_started && !conn->responded) {
        http__conn_reject(conn, 408, "the request was not received in time");
        http__conn_step(conn);
        return;
    }
    if (kind != HTTP_TIMER_IDLE && kind != HTTP_TIMER_LINGER)
        conn->server->counters.timeouts++;
    http__conn_fail(conn);
}

/* A keep-alive wait that follows a request handled at once keeps the
 * idle timer of an earlier wait, which saves a timer restart per request.
 * Returns true when the timer was armed again for the rest of the
 * current wait, which began at idle_start_ms. */
static bool idle_wait_continues(struct http_conn *conn)
{
    uint64_t now = uv_now(conn->server->loop);
    uint64_t deadline =
        conn->idle_start_ms + conn->server->opts.idle_timeout_ms;

    if (now >= deadline)
        return false;
    if (uv_timer_start(&conn->timer, on_timer, deadline - now, 0) != 0)
        return false;
    conn->timer_kind = HTTP_TIMER_IDLE;
    return true;
}

static void on_timer(uv_timer_t *timer)
{
    struct http_conn *conn = timer->data;
    enum http_timer_kind kind = conn->timer_kind;

    conn->timer_kind = HTTP_TIMER_NONE;
    if (kind == HTTP_TIMER_KICK) {
        http__conn_step(conn);
        return;
    }
    if (kind == HTTP_TIMER_IDLE && idle_wait_continues(conn))
        return;
    on_timeout(conn, kind);
}

void http_request_pause(http_request_t *req)
{
    struct http_conn *conn = http__conn_of(req);

    if (conn->handler_paused)
        return;
    conn->handler_paused = true;
    conn->paused_at_ms = uv_now(conn->server->loop);
    if (conn->busy > 0 && HTTP_PARSER_ERRNO(&conn->parser) == HPE_OK)
        http_parser_pause(&conn->parser, 1);
    http__conn_kick(conn);
}

void http_request_resume(http_request_t *req)
{
    struct http_conn *conn = http__conn_of(req);

    if (!conn->handler_paused)
        return;
    conn->handler_paused = false;
    conn->body_clock_ms += uv_now(conn->server->loop) - conn->paused_at_ms;
    http__conn_kick(conn);
}
