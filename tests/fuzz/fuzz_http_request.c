/* libFuzzer target for the HTTP server's request path: the input is what
 * a client sends on one connection. It goes through a socketpair into a
 * real connection of the server (http__conn_start). So http-parser, the
 * head and framing checks, body handling and pipelining run as in kadrd,
 * and so do the response writers (memory, file and parts bodies) and the
 * connection close. The server also listens on 127.0.0.1 with a free port
 * because http_server_start needs a listener; no client ever connects. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"
#include "http_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Size of the file that file and range responses send from. */
#define FILE_BYTES 4096
/* Loop rounds after the input is written, before the client side shuts
 * down its sending half. */
#define SETTLE_ROUNDS 16
/* A connection still open this long after the client closed is a hang. */
#define CLOSE_DEADLINE_MS 5000
/* Inputs larger than this are cut: the socketpair buffer is the limit. */
#define MAX_INPUT_BYTES (128 * 1024)

static uv_loop_t loop;
static http_server_t *server;
static int file_fd = -1;
static int body_marker;

static void respond_ranges(http_request_t *req)
{
    static const char head[] = "--b\r\nContent-Type: text/plain\r\n\r\n";
    http_range_set_t set;
    http_body_part_t parts[HTTP_RANGE_MAX];
    enum http_range_result kind =
        http_range_parse(http_request_header(req, "range"), FILE_BYTES, &set);

    if (kind == HTTP_RANGE_UNSATISFIABLE) {
        (void)http_respond(req, 416, "Content-Range: bytes */4096\r\n", "", 0);
        return;
    }
    if (kind == HTTP_RANGE_NONE) {
        (void)http_respond_file(req, 200, NULL, file_fd, 0, FILE_BYTES);
        return;
    }
    for (size_t i = 0; i < set.count; i++) {
        parts[i] =
            (http_body_part_t){head, sizeof(head) - 1, set.ranges[i].first,
                               set.ranges[i].last - set.ranges[i].first + 1};
    }
    (void)http_respond_parts(req, 206,
                             "Content-Type: multipart/byteranges; "
                             "boundary=b\r\n",
                             file_fd, parts, set.count);
}

/* Picks a response by the first letter after the slash of the path. */
static void respond(http_request_t *req)
{
    char value[64];
    char letter = req->path[0] == '/' ? req->path[1] : '\0';

    switch (letter) {
    case 'f':
        (void)http_respond_file(req, 200, "Content-Type: text/plain\r\n",
                                file_fd, 100, 1000);
        break;
    case 'r':
        respond_ranges(req);
        break;
    case 'e':
        (void)http_respond_error(req, 404, "not_found", req->path);
        break;
    case 'q':
        if (http_request_query(req, "token", value, sizeof(value)) < 0)
            (void)http_respond(req, 400, NULL, value, strlen(value));
        else
            (void)http_respond(req, 200, NULL, value, strlen(value));
        break;
    case 'h':
        /* A header block that is not CRLF lines is rejected. */
        if (http_respond(req, 200, "Bad\n", "x", 1) != 0)
            (void)http_respond(req, 500, NULL, "", 0);
        break;
    default:
        (void)http_respond(req, 200, "Content-Type: text/plain\r\n", "ok", 2);
        break;
    }
}

static void on_headers(http_request_t *req, void *ctx)
{
    (void)ctx;
    /* "/early..." responds before its body arrives, the others after. */
    if (!req->has_body || strncmp(req->path, "/early", 6) == 0) {
        respond(req);
        return;
    }
    req->user = &body_marker;
    if (strncmp(req->path, "/pause", 6) == 0) {
        http_request_pause(req);
        http_request_resume(req);
    }
}

static void on_body(http_request_t *req, const char *data, size_t len,
                    void *ctx)
{
    (void)req;
    (void)ctx;
    /* Read every byte, so ASan reports a read past the piece. */
    volatile char sink = 0;

    for (size_t i = 0; i < len; i++)
        sink ^= data[i];
    (void)sink;
}

static void on_complete(http_request_t *req, void *ctx)
{
    (void)ctx;
    req->user = NULL;
    respond(req);
}

static void on_abort(http_request_t *req, void *ctx)
{
    (void)ctx;
    req->user = NULL;
}

static int make_file(void)
{
    char block[FILE_BYTES];
    int fd = memfd_create("kadr-fuzz-http", MFD_CLOEXEC);

    for (size_t i = 0; i < sizeof(block); i++)
        block[i] = (char)('a' + i % 26);
    if (fd < 0 || write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
        abort();
    return fd;
}

static void start_server(void)
{
    static const http_handlers_t handlers = {
        on_headers, on_body, on_complete, on_abort, NULL, NULL, NULL,
    };
    http_server_options_t opts = {
        .host = "127.0.0.1",
        .port = 0,
        .max_header_bytes = 8192,
        .max_headers = 32,
        .max_url_bytes = 2048,
        .max_body_bytes = 65536,
        .max_connections = 4,
        .header_timeout_ms = 50,
        .body_timeout_ms = 50,
        .idle_timeout_ms = 50,
    };

    if (uv_loop_init(&loop) != 0 ||
        http_server_start(&loop, &opts, &handlers, &server) != 0)
        abort();
    file_fd = make_file();
}

static void drain(int fd)
{
    char sink[65536];

    while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
        continue;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Writes the input, lets the server work, then closes the client side
 * and waits until the server has released the connection. */
static void run_client(int client, const uint8_t *data, size_t size)
{
    size_t sent = 0;
    uint64_t deadline;

    for (int settle = 0; settle < SETTLE_ROUNDS;) {
        if (sent < size) {
            ssize_t n = send(client, data + sent, size - sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);

            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN)
                sent = size;
        } else {
            settle++;
        }
        drain(client);
        uv_run(&loop, UV_RUN_NOWAIT);
        if (server->conns == NULL)
            break;
    }
    shutdown(client, SHUT_WR);
    deadline = now_ms() + CLOSE_DEADLINE_MS;
    while (server->conns != NULL && now_ms() < deadline) {
        drain(client);
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(100);
    }
    close(client);
    if (server->conns != NULL) {
        fprintf(stderr,
                "connection still open %d ms after the client "
                "closed\n",
                CLOSE_DEADLINE_MS);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int pair[2];

    if (server == NULL)
        start_server();
    if (size > MAX_INPUT_BYTES)
        size = MAX_INPUT_BYTES;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   pair) != 0)
        abort();
    if (http__conn_start(server, pair[0]) != 0) {
        close(pair[0]);
        close(pair[1]);
        return 0;
    }
    run_client(pair[1], data, size);
    return 0;
}
