/* Keep-alive HTTP/1.1 connections on libuv that send requests back to back
 * and parse responses with http-parser. */
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>

#include "kadr_bench.h"

#define READ_BUFFER_BYTES 65536
#define MAX_KEPT_BODY (64u * 1024 * 1024)

struct conn {
    const bench_client_options_t *opts;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_timer_t timer;
    http_parser parser;
    bench_request_t request;
    uint64_t start_ns;
    uint64_t body_bytes;
    char *body; /* kept when opts->keep_body */
    size_t body_cap;
    int status;
    bool done; /* the response is complete */
    bool in_flight;
    bool closing;
    bool finished; /* next() returned false */
    char buf[READ_BUFFER_BYTES];
};

static void start_connection(struct conn *c);
static void send_next(struct conn *c);

/* A connection that is not finished reconnects. */
static void on_tcp_closed(uv_handle_t *handle)
{
    struct conn *c = handle->data;

    if (!c->finished && !c->closing)
        start_connection(c);
}

static void close_socket(struct conn *c)
{
    uv_timer_stop(&c->timer);
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
}

static void fail_request(struct conn *c, uint64_t *counter)
{
    if (c->in_flight)
        (*counter)++;
    c->in_flight = false;
    close_socket(c);
}

static int on_headers_complete(http_parser *parser)
{
    struct conn *c = parser->data;

    c->status = (int)parser->status_code;
    return 0;
}

static int keep_body(struct conn *c, const char *at, size_t len)
{
    size_t need = c->body_bytes + len + 1;

    if (need > MAX_KEPT_BODY)
        return -1;
    if (need > c->body_cap) {
        size_t cap = need * 2;
        char *grown = realloc(c->body, cap);

        if (grown == NULL)
            return -1;
        c->body = grown;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_bytes, at, len);
    c->body[c->body_bytes + len] = '\0';
    return 0;
}

static int on_body(http_parser *parser, const char *at, size_t len)
{
    struct conn *c = parser->data;

    if (c->opts->keep_body && keep_body(c, at, len) != 0)
        return -1;
    c->body_bytes += len;
    return 0;
}

static int on_message_complete(http_parser *parser)
{
    struct conn *c = parser->data;

    c->done = true;
    http_parser_pause(parser, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void finish_response(struct conn *c)
{
    uint64_t us = (uv_hrtime() - c->start_ns) / 1000;
    bool keep_alive = http_should_keep_alive(&c->parser) != 0;

    c->in_flight = false;
    uv_timer_stop(&c->timer);
    bench_stats_add(c->opts->stats, c->status, us, c->body_bytes);
    c->opts->stats->request_bytes += c->request.body_len;
    if (c->opts->on_response != NULL)
        c->opts->on_response(c->opts->ctx, c->status,
                             c->body != NULL ? c->body : "", c->body_bytes);
    if (keep_alive)
        send_next(c);
    else
        close_socket(c);
}

static void on_alloc(uv_handle_t *handle, size_t size, uv_buf_t *buf)
{
    struct conn *c = handle->data;

    (void)size;
    *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = stream->data;

    if (nread < 0) {
        if (c->in_flight)
            http_parser_execute(&c->parser, &settings, NULL, 0);
        if (c->in_flight && c->done)
            finish_response(c);
        else
            fail_request(c, &c->opts->stats->io_errors);
        return;
    }
    if (nread == 0 || !c->in_flight) {
        if (nread > 0) /* bytes outside any request: a broken server */
            fail_request(c, &c->opts->stats->io_errors);
        return;
    }
    /* Bytes after a complete response are ignored: one request is in
     * flight at a time, so a correct server sends none. */
    http_parser_execute(&c->parser, &settings, buf->base, (size_t)nread);
    if (c->done) {
        finish_response(c);
    } else if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK) {
        fail_request(c, &c->opts->stats->io_errors);
    }
}

static void on_write(uv_write_t *req, int status)
{
    struct conn *c = req->data;

    if (status != 0 && c->in_flight)
        fail_request(c, &c->opts->stats->io_errors);
}

static void on_timeout(uv_timer_t *timer)
{
    struct conn *c = timer->data;

    fail_request(c, &c->opts->stats->timeouts);
}

static void send_next(struct conn *c)
{
    uv_buf_t bufs[2];
    unsigned count = 1;

    if (!c->opts->next(c->opts->ctx, &c->request)) {
        c->finished = true;
        close_socket(c);
        return;
    }
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    c->status = 0;
    c->done = false;
    c->body_bytes = 0;
    c->in_flight = true;
    bufs[0] = uv_buf_init((char *)(uintptr_t)c->request.head,
                          (unsigned)c->request.head_len);
    if (c->request.body_len > 0)
        bufs[count++] = uv_buf_init((char *)(uintptr_t)c->request.body,
                                    (unsigned)c->request.body_len);
    c->start_ns = uv_hrtime();
    uv_timer_start(&c->timer, on_timeout, c->opts->timeout_ms, 0);
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, bufs, count, on_write) != 0)
        fail_request(c, &c->opts->stats->io_errors);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;

    if (status != 0) {
        c->opts->stats->connect_errors++;
        /* Count the failure as one request so a dead server ends the
         * run instead of reconnecting forever. */
        if (!c->opts->next(c->opts->ctx, &c->request))
            c->finished = true;
        close_socket(c);
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        close_socket(c);
        return;
    }
    send_next(c);
}

static void start_connection(struct conn *c)
{
    if (uv_tcp_init(c->opts->loop, &c->tcp) != 0) {
        c->finished = true;
        return;
    }
    c->tcp.data = c;
    c->connect.data = c;
    c->write.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_connect(&c->connect, &c->tcp,
                       (const struct sockaddr *)&c->opts->addr,
                       on_connect) != 0) {
        c->opts->stats->connect_errors++;
        c->finished = true;
        close_socket(c);
    }
}

int bench_client_run(const bench_client_options_t *opts)
{
    struct conn *conns = calloc(opts->connections, sizeof(*conns));

    if (conns == NULL)
        return UV_ENOMEM;
    for (uint32_t i = 0; i < opts->connections; i++) {
        struct conn *c = &conns[i];

        c->opts = opts;
        uv_timer_init(opts->loop, &c->timer);
        c->timer.data = c;
        start_connection(c);
    }
    uv_run(opts->loop, UV_RUN_DEFAULT);
    for (uint32_t i = 0; i < opts->connections; i++) {
        conns[i].closing = true;
        uv_close((uv_handle_t *)&conns[i].timer, NULL);
    }
    uv_run(opts->loop, UV_RUN_DEFAULT);
    for (uint32_t i = 0; i < opts->connections; i++)
        free(conns[i].body);
    free(conns);
    return 0;
}
