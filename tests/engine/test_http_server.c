/* The HTTP server on 127.0.0.1, driven by a blocking client.
 *
 * Each test starts a server on an ephemeral port with its own loop on a
 * second thread, talks to it over plain sockets with receive timeouts, and
 * stops it. The handler table below serves a few fixed routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>
#include <xxhash.h>

#include "http.h"

#define TEST_HEADER_TIMEOUT_MS 300
#define TEST_IDLE_TIMEOUT_MS 300
#define TEST_BODY_TIMEOUT_MS 1000
#define TEST_MAX_BODY (2u * 1024 * 1024)
#define TEST_RECV_TIMEOUT_S 5
#define TEST_FILE_SIZE (5u * 1024 * 1024)
/* Larger than a loopback socket's buffers, so part of it waits. */
#define SHARED_FILE_LEN (4u * 1024 * 1024)

/* ---- Handlers ---- */

struct test_request {
    http_request_t *req;
    uint64_t body_len;
    XXH3_state_t *hash;
    bool pause_each_piece;
    bool paused;
    uv_timer_t timer; /* resumes the body, or sends a late response */
};

static int test_file_fd = -1;
static unsigned char *test_file_bytes;
static int body_while_paused;
static int pause_count;
static int abort_count;
static int late_started; /* /later requests that reached their handler */
static int finish_count;

static void free_state(uv_handle_t *handle)
{
    struct test_request *state = handle->data;

    XXH3_freeState(state->hash);
    free(state);
}

static void release_state(http_request_t *req)
{
    struct test_request *state = req->user;

    req->user = NULL;
    if (state != NULL)
        uv_close((uv_handle_t *)&state->timer, free_state);
}

static void on_resume_timer(uv_timer_t *timer)
{
    struct test_request *state = timer->data;

    state->paused = false;
    http_request_resume(state->req);
}

static void on_late_timer(uv_timer_t *timer)
{
    struct test_request *state = timer->data;
    int rc = http_respond(state->req, 200, "Content-Type: text/plain\r\n",
                          "late\n", 5);

    assert_int_equal(rc, 0);
}

static struct test_request *new_state(http_request_t *req)
{
    struct test_request *state = calloc(1, sizeof(*state));

    assert_non_null(state);
    state->req = req;
    state->hash = XXH3_createState();
    assert_non_null(state->hash);
    XXH3_64bits_reset(state->hash);
    req->user = state;
    return state;
}

static void respond_file_route(http_request_t *req)
{
    char text[32];
    uint64_t offset = 0;
    uint64_t len = 0;

    if (http_request_query(req, "off", text, sizeof(text)) > 0)
        offset = strtoull(text, NULL, 10);
    if (http_request_query(req, "len", text, sizeof(text)) > 0)
        len = strtoull(text, NULL, 10);
    assert_int_equal(http_respond_file(req, 200,
                                       "Content-Type: "
                                       "application/octet-stream\r\n",
                                       test_file_fd, offset, len),
                     0);
}

/* A shared-fd response whose fd the handler closes 20 ms later, while
 * the body still waits for a slow client: the server must have taken its
 * own duplicate by then. */
static int shared_fd = -1;
static uv_timer_t shared_close_timer;

static void on_shared_close(uv_timer_t *timer)
{
    close(shared_fd);
    shared_fd = -1;
    uv_close((uv_handle_t *)timer, NULL);
}

static void respond_shared_file_route(http_request_t *req)
{
    shared_fd = fcntl(test_file_fd, F_DUPFD_CLOEXEC, 0);
    assert_true(shared_fd >= 0);
    assert_int_equal(
        http_respond_file_shared(req, 200, NULL, shared_fd, 7, SHARED_FILE_LEN),
        0);
    assert_int_equal(uv_timer_init(uv_default_loop(), &shared_close_timer), 0);
    assert_int_equal(
        uv_timer_start(&shared_close_timer, on_shared_close, 20, 0), 0);
}

/* Memory and file pieces in one body, as multipart/byteranges uses. */
static void respond_parts_route(http_request_t *req)
{
    const http_body_part_t parts[] = {
        {"<a>", 3, 10, 10},
        {"<b>", 3, 100, 5},
        {NULL, 0, 4096, 3},
        {"<end>", 5, 0, 0},
    };

    assert_int_equal(http_respond_parts(req, 206, NULL, test_file_fd, parts, 4),
                     0);
}

static void respond_query_route(http_request_t *req)
{
    char value[64];
    char body[96];
    int rc;
    int n;

    /* Stale bytes, so an error that left value unterminated shows. */
    memset(value, 'z', sizeof(value));
    rc = http_request_query(req, "k", value, sizeof(value));
    if (rc < 0)
        n = snprintf(body, sizeof(body), "error %d [%s]", rc, value);
    else
        n = snprintf(body, sizeof(body), "[%s]", value);
    assert_int_equal(http_respond(req, 200, NULL, body, (size_t)n), 0);
}

static void test_on_headers(http_request_t *req, void *ctx)
{
    struct test_request *state;

    if (strcmp(req->path, "/hello") == 0) {
        assert_int_equal(http_respond(req, 200, "Content-Type: text/plain\r\n",
                                      "hello\n", 6),
                         0);
        return;
    }
    if (strcmp(req->path, "/file") == 0) {
        respond_file_route(req);
        return;
    }
    if (strcmp(req->path, "/query") == 0) {
        respond_query_route(req);
        return;
    }
    if (strcmp(req->path, "/shared-file") == 0) {
        respond_shared_file_route(req);
        return;
    }
    if (strcmp(req->path, "/parts") == 0) {
        respond_parts_route(req);
        return;
    }
    if (strcmp(req->path, "/bad-headers") == 0) {
        assert_int_equal(http_respond(req, 200, "X-Split: a\nb\r\n", "x", 1),
                         KADR_E_BAD_INPUT);
        return;
    }
    if (strcmp(req->path, "/busy") == 0) {
        assert_int_equal(
            http_respond_error(req, 503, "overloaded", "out of descriptors"),
            0);
        return;
    }
    if (strcmp(req->path, "/reject") == 0) {
        assert_int_equal(
            http_respond_error(req, 403, "forbidden", "no \"access\""), 0);
        return;
    }
    state = new_state(req);
    assert_int_equal(uv_timer_init(uv_default_loop(), &state->timer), 0);
    state->timer.data = state;
    if (strcmp(req->path, "/later") == 0) {
        assert_int_equal(uv_timer_start(&state->timer, on_late_timer, 50, 0),
                         0);
        __atomic_add_fetch(&late_started, 1, __ATOMIC_SEQ_CST);
        return;
    }
    state->pause_each_piece = strcmp(req->query, "pause=1") == 0;
}

static void test_on_body(http_request_t *req, const char *data, size_t len,
                         void *ctx)
{
    struct test_request *state = req->user;

    if (state->paused)
        __atomic_add_fetch(&body_while_paused, 1, __ATOMIC_SEQ_CST);
    state->body_len += len;
    XXH3_64bits_update(state->hash, data, len);
    if (!state->pause_each_piece)
        return;
    state->paused = true;
    __atomic_add_fetch(&pause_count, 1, __ATOMIC_SEQ_CST);
    http_request_pause(req);
    assert_int_equal(uv_timer_start(&state->timer, on_resume_timer, 1, 0), 0);
}

static void test_on_complete(http_request_t *req, void *ctx)
{
    struct test_request *state = req->user;
    char body[96];
    int n;

    if (state == NULL || strcmp(req->path, "/later") == 0)
        return;
    n = snprintf(body, sizeof(body), "len=%" PRIu64 " xxh=%016" PRIx64,
                 state->body_len, (uint64_t)XXH3_64bits_digest(state->hash));
    assert_int_equal(http_respond(req, 200, NULL, body, (size_t)n), 0);
}

static void test_on_abort(http_request_t *req, void *ctx)
{
    __atomic_add_fetch(&abort_count, 1, __ATOMIC_SEQ_CST);
    release_state(req);
}

static void test_on_finish(http_request_t *req, int result, void *ctx)
{
    __atomic_add_fetch(&finish_count, 1, __ATOMIC_SEQ_CST);
    release_state(req);
}

/* ---- Server on a loop thread ---- */

struct server_fixture {
    bool stopped;
    bool joined;
    http_server_counters_t counters; /* taken by the loop at stop */
    uv_loop_t *loop;
    uv_async_t stop_async;
    uv_thread_t thread;
    http_server_t *server;
    int port;
};

static void on_server_stopped(void *ctx)
{
    struct server_fixture *fixture = ctx;

    uv_close((uv_handle_t *)&fixture->stop_async, NULL);
}

static void on_stop_async(uv_async_t *async)
{
    struct server_fixture *fixture = async->data;

    http_server_get_counters(fixture->server, &fixture->counters);
    http_server_stop(fixture->server, on_server_stopped, fixture);
}

static void run_loop(void *arg)
{
    struct server_fixture *fixture = arg;

    uv_run(fixture->loop, UV_RUN_DEFAULT);
}

static int start_server(void **state)
{
    static const http_handlers_t handlers = {
        .on_headers = test_on_headers,
        .on_body = test_on_body,
        .on_complete = test_on_complete,
        .on_abort = test_on_abort,
        .on_finish = test_on_finish,
    };
    http_server_options_t opts = {
        .host = "127.0.0.1",
        .port = 0,
        .max_header_bytes = 4096,
        .max_headers = 32,
        .max_url_bytes = 1024,
        .max_body_bytes = TEST_MAX_BODY,
        .max_connections = 16,
        .header_timeout_ms = TEST_HEADER_TIMEOUT_MS,
        .body_timeout_ms = TEST_BODY_TIMEOUT_MS,
        .idle_timeout_ms = TEST_IDLE_TIMEOUT_MS,
    };
    struct server_fixture *fixture = calloc(1, sizeof(*fixture));

    assert_non_null(fixture);
    /* The handlers create their timers on the default loop. */
    fixture->loop = uv_default_loop();
    assert_int_equal(
        uv_async_init(fixture->loop, &fixture->stop_async, on_stop_async), 0);
    fixture->stop_async.data = fixture;
    assert_int_equal(
        http_server_start(fixture->loop, &opts, &handlers, &fixture->server),
        0);
    fixture->port = http_server_port(fixture->server);
    assert_true(fixture->port > 0);
    __atomic_store_n(&body_while_paused, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&pause_count, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&abort_count, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&finish_count, 0, __ATOMIC_SEQ_CST);
    assert_int_equal(uv_thread_create(&fixture->thread, run_loop, fixture), 0);
    *state = fixture;
    return 0;
}

static int stop_server(void **state)
{
    struct server_fixture *fixture = *state;

    if (!fixture->stopped)
        assert_int_equal(uv_async_send(&fixture->stop_async), 0);
    if (!fixture->joined)
        assert_int_equal(uv_thread_join(&fixture->thread), 0);
    free(fixture);
    return 0;
}

/* ---- Blocking client ---- */

static int connect_client(const struct server_fixture *fixture)
{
    struct timeval timeout = {.tv_sec = TEST_RECV_TIMEOUT_S};
    struct sockaddr_in addr = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    addr.sin_port = htons((uint16_t)fixture->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);
    assert_int_equal(
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static void send_text(int fd, const char *text)
{
    send_all(fd, text, strlen(text));
}

static void recv_exact(int fd, void *out, size_t len)
{
    char *p = out;

    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);

        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

struct response {
    int status;
    char head[8192];
    char *body;
    size_t body_len;
};

/* Reads one response head, byte by byte up to the empty line. */
static void recv_head(int fd, struct response *resp)
{
    size_t len = 0;

    while (len < 4 || memcmp(resp->head + len - 4, "\r\n\r\n", 4) != 0) {
        assert_true(len + 1 < sizeof(resp->head));
        recv_exact(fd, resp->head + len, 1);
        len++;
    }
    resp->head[len] = '\0';
    assert_int_equal(sscanf(resp->head, "HTTP/1.1 %d ", &resp->status), 1);
}

/* Returns the value of a response header, or NULL. */
static const char *find_header(const struct response *resp, const char *name,
                               char *value, size_t size)
{
    char pattern[64];
    const char *at;
    size_t len;

    snprintf(pattern, sizeof(pattern), "\r\n%s: ", name);
    at = strstr(resp->head, pattern);
    if (at == NULL)
        return NULL;
    at += strlen(pattern);
    len = strcspn(at, "\r");
    assert_true(len < size);
    memcpy(value, at, len);
    value[len] = '\0';
    return value;
}

static void recv_response(int fd, struct response *resp, bool head_request)
{
    char value[64];

    memset(resp, 0, sizeof(*resp));
    recv_head(fd, resp);
    if (find_header(resp, "Content-Length", value, sizeof(value)) != NULL)
        resp->body_len = strtoull(value, NULL, 10);
    resp->body = malloc(resp->body_len + 1);
    assert_non_null(resp->body);
    if (!head_request)
        recv_exact(fd, resp->body, resp->body_len);
    resp->body[head_request ? 0 : resp->body_len] = '\0';
}

static void free_response(struct response *resp)
{
    free(resp->body);
    resp->body = NULL;
}

/* Asserts that the server closes the connection with no more bytes. */
static void expect_closed(int fd)
{
    char byte;
    ssize_t n = recv(fd, &byte, 1, 0);

    if (n < 0)
        assert_int_equal(errno, ECONNRESET);
    else
        assert_int_equal(n, 0);
}

static void expect_header(const struct response *resp, const char *name,
                          const char *expected)
{
    char value[256];

    assert_non_null(find_header(resp, name, value, sizeof(value)));
    assert_string_equal(value, expected);
}

/* Sends a request that the server rejects and checks the status and
 * that the connection then closes. */
static void expect_rejected(void **state, const char *request, int status)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    send_text(fd, request);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, status);
    expect_header(&resp, "Connection", "close");
    expect_header(&resp, "Content-Type", "application/json");
    assert_non_null(strstr(resp.body, "\"detail\": "));
    expect_closed(fd);
    free_response(&resp);
    close(fd);
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Tests ---- */

static void server_keepalive_three_gets(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    char value[64];

    for (int i = 0; i < 3; i++) {
        struct response resp;

        send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
        recv_response(fd, &resp, false);
        assert_int_equal(resp.status, 200);
        assert_memory_equal(resp.head, "HTTP/1.1 200 OK\r\n", 17);
        expect_header(&resp, "Content-Type", "text/plain");
        expect_header(&resp, "Content-Length", "6");
        expect_header(&resp, "Connection", "keep-alive");
        expect_header(&resp, "X-Content-Type-Options", "nosniff");
        assert_non_null(find_header(&resp, "Date", value, sizeof(value)));
        assert_int_equal(strlen(value), 29);
        assert_string_equal(resp.body, "hello\n");
        free_response(&resp);
    }
    close(fd);
}

static void server_pipelined_in_order(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    /* The first response is sent from a timer, after the second request
     * has long arrived. */
    send_text(fd, "GET /later HTTP/1.1\r\nHost: test\r\n\r\n"
                  "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "late\n");
    free_response(&resp);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello\n");
    free_response(&resp);
    close(fd);
}

static void send_chunked(int fd, const unsigned char *data, size_t len)
{
    size_t sizes[] = {1, 4096, 65536, 13, 100000, 7, 300};
    size_t pos = 0;
    size_t i = 0;
    char line[32];

    while (pos < len) {
        size_t piece = sizes[i++ % (sizeof(sizes) / sizeof(sizes[0]))];

        if (piece > len - pos)
            piece = len - pos;
        snprintf(line, sizeof(line), "%zx\r\n", piece);
        send_text(fd, line);
        send_all(fd, data + pos, piece);
        send_text(fd, "\r\n");
        pos += piece;
    }
    send_text(fd, "0\r\n\r\n");
}

static void server_chunked_post_paused(void **state)
{
    struct server_fixture *fixture = *state;
    size_t len = 1024 * 1024;
    unsigned char *data = malloc(len);
    struct response resp;
    char expected[96];
    int fd;

    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 7 + i / 251);
    snprintf(expected, sizeof(expected), "len=%zu xxh=%016" PRIx64, len,
             (uint64_t)XXH3_64bits(data, len));
    fd = connect_client(fixture);
    send_text(fd, "POST /echo?pause=1 HTTP/1.1\r\nHost: test\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n");
    send_chunked(fd, data, len);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, expected);
    assert_true(__atomic_load_n(&pause_count, __ATOMIC_SEQ_CST) > 1);
    assert_int_equal(__atomic_load_n(&body_while_paused, __ATOMIC_SEQ_CST), 0);
    free_response(&resp);

    /* The connection stays usable after the chunked body. */
    send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_string_equal(resp.body, "hello\n");
    free_response(&resp);
    close(fd);
    free(data);
}

static void server_content_length_body(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;
    char expected[96];

    snprintf(expected, sizeof(expected), "len=5 xxh=%016" PRIx64,
             (uint64_t)XXH3_64bits("abcde", 5));
    send_text(fd, "POST /echo HTTP/1.1\r\nHost: test\r\n"
                  "Content-Length: 5\r\n\r\nabcde");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, expected);
    free_response(&resp);
    close(fd);
}

static void server_length_and_chunked_400(void **state)
{
    expect_rejected(state,
                    "POST /echo HTTP/1.1\r\nHost: test\r\n"
                    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "0\r\n\r\n",
                    400);
}

static void server_duplicate_length_400(void **state)
{
    expect_rejected(state,
                    "POST /echo HTTP/1.1\r\nHost: test\r\n"
                    "Content-Length: 5\r\nContent-Length: 5\r\n\r\nabcde",
                    400);
}

static void server_gzip_chunked_400(void **state)
{
    expect_rejected(state,
                    "POST /echo HTTP/1.1\r\nHost: test\r\n"
                    "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                    400);
}

static void server_bad_chunk_size_400(void **state)
{
    expect_rejected(state,
                    "POST /echo HTTP/1.1\r\nHost: test\r\n"
                    "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
                    400);
}

static void server_unknown_version_505(void **state)
{
    expect_rejected(state, "GET /hello HTTP/9.9\r\nHost: test\r\n\r\n", 505);
    expect_rejected(state, "GET /hello HTTP/2.0\r\nHost: test\r\n\r\n", 505);
}

static void server_header_too_large_431(void **state)
{
    char request[8192];
    char filler[5001];

    memset(filler, 'a', sizeof(filler) - 1);
    filler[sizeof(filler) - 1] = '\0';
    snprintf(request, sizeof(request),
             "GET /hello HTTP/1.1\r\nHost: test\r\nX-Filler: %s\r\n\r\n",
             filler);
    expect_rejected(state, request, 431);
}

static void server_too_many_headers_431(void **state)
{
    char request[4096] = "GET /hello HTTP/1.1\r\n";

    for (int i = 0; i < 40; i++) {
        char line[32];

        snprintf(line, sizeof(line), "X-H%d: %d\r\n", i, i);
        strcat(request, line);
    }
    strcat(request, "\r\n");
    expect_rejected(state, request, 431);
}

static void server_url_too_long_414(void **state)
{
    char request[4096];
    char path[2001];

    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    snprintf(request, sizeof(request), "GET /%s HTTP/1.1\r\nHost: t\r\n\r\n",
             path);
    expect_rejected(state, request, 414);
}

static void server_body_over_limit_413(void **state)
{
    expect_rejected(state,
                    "POST /echo HTTP/1.1\r\nHost: test\r\n"
                    "Content-Length: 3145728\r\n\r\n",
                    413);
}

static void server_chunked_over_limit_413(void **state)
{
    struct server_fixture *fixture = *state;
    size_t piece = 256 * 1024;
    char *data = calloc(1, piece);
    struct response resp;
    char line[32];
    int fd = connect_client(fixture);

    assert_non_null(data);
    send_text(fd, "POST /echo HTTP/1.1\r\nHost: test\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n");
    /* 2.25 MiB against a 2 MiB limit. The server stops reading once it
     * rejects, so a send may fail after that. */
    for (int i = 0; i < 9; i++) {
        snprintf(line, sizeof(line), "%zx\r\n", piece);
        if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0 ||
            send(fd, data, piece, MSG_NOSIGNAL) < 0 ||
            send(fd, "\r\n", 2, MSG_NOSIGNAL) < 0)
            break;
    }
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 413);
    expect_header(&resp, "Connection", "close");
    assert_true(__atomic_load_n(&abort_count, __ATOMIC_SEQ_CST) == 1);
    free_response(&resp);
    close(fd);
    free(data);
}

static void server_expect_continue(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;
    char expected[96];

    snprintf(expected, sizeof(expected), "len=4 xxh=%016" PRIx64,
             (uint64_t)XXH3_64bits("data", 4));
    send_text(fd, "PUT /echo HTTP/1.1\r\nHost: test\r\n"
                  "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    memset(&resp, 0, sizeof(resp));
    recv_head(fd, &resp);
    assert_string_equal(resp.head, "HTTP/1.1 100 Continue\r\n\r\n");
    send_text(fd, "data");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, expected);
    free_response(&resp);
    close(fd);
}

static void server_sendfile_offset_exact(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    uint64_t offset = 1234;
    uint64_t len = 3 * 1024 * 1024;
    struct response resp;
    char request[128];

    snprintf(request, sizeof(request),
             "GET /file?off=%" PRIu64 "&len=%" PRIu64
             " HTTP/1.1\r\nHost: test\r\n\r\n",
             offset, len);
    send_text(fd, request);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    expect_header(&resp, "Content-Length", "3145728");
    assert_int_equal(resp.body_len, len);
    assert_memory_equal(resp.body, test_file_bytes + offset, len);
    free_response(&resp);

    /* The connection stays open after a file body. */
    send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_string_equal(resp.body, "hello\n");
    free_response(&resp);
    close(fd);
}

static void server_parts_body_exact(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;
    unsigned char want[64];
    size_t n = 0;

    memcpy(want + n, "<a>", 3);
    n += 3;
    memcpy(want + n, test_file_bytes + 10, 10);
    n += 10;
    memcpy(want + n, "<b>", 3);
    n += 3;
    memcpy(want + n, test_file_bytes + 100, 5);
    n += 5;
    memcpy(want + n, test_file_bytes + 4096, 3);
    n += 3;
    memcpy(want + n, "<end>", 5);
    n += 5;
    send_text(fd, "GET /parts HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 206);
    expect_header(&resp, "Content-Length", "29");
    assert_int_equal(resp.body_len, n);
    assert_memory_equal(resp.body, want, n);
    free_response(&resp);

    /* HEAD announces the same length and sends no body. */
    send_text(fd, "HEAD /parts HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, true);
    expect_header(&resp, "Content-Length", "29");
    free_response(&resp);
    send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_string_equal(resp.body, "hello\n");
    free_response(&resp);
    close(fd);
}

static void server_shared_fd_outlives_caller(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    send_text(fd, "GET /shared-file HTTP/1.1\r\nHost: test\r\n\r\n");
    /* Read only after the handler has closed its fd. */
    usleep(200 * 1000);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_len, SHARED_FILE_LEN);
    assert_memory_equal(resp.body, test_file_bytes + 7, SHARED_FILE_LEN);
    free_response(&resp);
    close(fd);
}

static void server_head_has_no_body(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    send_text(fd, "HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, true);
    assert_int_equal(resp.status, 200);
    expect_header(&resp, "Content-Length", "6");
    free_response(&resp);
    send_text(fd, "HEAD /file?off=0&len=1000 HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, true);
    expect_header(&resp, "Content-Length", "1000");
    free_response(&resp);

    /* Had a body been sent, it would be read here as the next head. */
    send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "hello\n");
    free_response(&resp);
    close(fd);
}

static void server_slow_header_408(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;
    double start = now_seconds();
    double elapsed;

    send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n");
    recv_response(fd, &resp, false);
    elapsed = now_seconds() - start;
    assert_int_equal(resp.status, 408);
    expect_header(&resp, "Connection", "close");
    expect_closed(fd);
    assert_true(elapsed >= TEST_HEADER_TIMEOUT_MS / 1000.0 - 0.05);
    assert_true(elapsed < 2.0);
    free_response(&resp);
    close(fd);
}

static void server_idle_close(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;
    double start;
    double elapsed;

    send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    free_response(&resp);
    start = now_seconds();
    expect_closed(fd);
    elapsed = now_seconds() - start;
    assert_true(elapsed >= TEST_IDLE_TIMEOUT_MS / 1000.0 - 0.05);
    assert_true(elapsed < 2.0);
    close(fd);
}

static void server_http10_closes(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    send_text(fd, "GET /hello HTTP/1.0\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    expect_header(&resp, "Connection", "close");
    expect_closed(fd);
    free_response(&resp);
    close(fd);
}

/* 64 bytes: one more than a 64-byte buffer holds before its NUL. */
#define LONG_VALUE                                                             \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void server_query_decoded(void **state)
{
    static const struct {
        const char *url;
        const char *body;
    } cases[] = {
        {"/query?k=a%20b+c", "[a b c]"},
        {"/query?x=1&k=%2F%41&k=2", "[/A]"},
        {"/query?k=", "[]"},
        {"/query?k", "[]"},
        {"/query?x=1", "error -40003 []"},
        {"/query?k=%zz", "error -40016 []"},
        {"/query?k=%00", "error -40016 []"},
        {"/query?k=ab%00", "error -40016 []"},
        {"/query?k=" LONG_VALUE, "error -40002 []"},
    };
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct response resp;
        char request[256];

        snprintf(request, sizeof(request),
                 "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", cases[i].url);
        send_text(fd, request);
        recv_response(fd, &resp, false);
        assert_string_equal(resp.body, cases[i].body);
        free_response(&resp);
    }
    close(fd);
}

static void server_error_json_escaped(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    send_text(fd, "GET /reject HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 403);
    expect_header(&resp, "Content-Type", "application/json");
    expect_header(&resp, "Connection", "keep-alive");
    assert_string_equal(resp.body, "{\"error\": \"forbidden\", "
                                   "\"detail\": \"no \\\"access\\\"\"}\n");
    free_response(&resp);
    close(fd);
}

static void server_error_503_retry_after(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;
    char value[64];

    send_text(fd, "GET /busy HTTP/1.1\r\nHost: test\r\n\r\n"
                  "GET /reject HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 503);
    expect_header(&resp, "Retry-After", "1");
    free_response(&resp);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 403);
    assert_null(find_header(&resp, "Retry-After", value, sizeof(value)));
    free_response(&resp);
    close(fd);
}

static void server_client_gone_aborts(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    int probe;
    struct response resp;

    send_text(fd, "POST /echo HTTP/1.1\r\nHost: test\r\n"
                  "Content-Length: 100\r\n\r\nabc");
    close(fd);
    /* A second request on a new connection orders the check after the
     * server has seen the close. */
    usleep(100 * 1000);
    probe = connect_client(fixture);
    send_text(probe, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(probe, &resp, false);
    free_response(&resp);
    assert_int_equal(__atomic_load_n(&abort_count, __ATOMIC_SEQ_CST), 1);
    close(probe);
}

static void server_early_response_small_body(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    /* The handler responds on the head; the short body is read and
     * dropped so that the connection stays usable. */
    send_text(fd, "POST /reject HTTP/1.1\r\nHost: test\r\n"
                  "Content-Length: 10\r\n\r\n0123456789");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 403);
    expect_header(&resp, "Connection", "keep-alive");
    free_response(&resp);
    send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_string_equal(resp.body, "hello\n");
    free_response(&resp);
    close(fd);
}

static void server_early_response_large_body(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    char *data = calloc(1, 256 * 1024);
    struct response resp;

    assert_non_null(data);
    send_text(fd, "POST /reject HTTP/1.1\r\nHost: test\r\n"
                  "Content-Length: 1048576\r\n\r\n");
    send_all(fd, data, 256 * 1024);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 403);
    expect_header(&resp, "Connection", "close");
    free_response(&resp);
    /* The server drops the rest while it lingers, then closes. */
    send_all(fd, data, 256 * 1024);
    expect_closed(fd);
    close(fd);
    free(data);
}

static void server_body_timeout_408(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;
    double start = now_seconds();
    double elapsed;

    send_text(fd, "POST /echo HTTP/1.1\r\nHost: test\r\n"
                  "Content-Length: 10\r\n\r\nabc");
    recv_response(fd, &resp, false);
    elapsed = now_seconds() - start;
    assert_int_equal(resp.status, 408);
    expect_closed(fd);
    assert_true(elapsed >= TEST_BODY_TIMEOUT_MS / 1000.0 - 0.05);
    assert_true(elapsed < 3.0);
    assert_int_equal(__atomic_load_n(&abort_count, __ATOMIC_SEQ_CST), 1);
    free_response(&resp);
    close(fd);
}

static void server_sendfile_slow_reader(void **state)
{
    struct server_fixture *fixture = *state;
    struct timeval timeout = {.tv_sec = TEST_RECV_TIMEOUT_S};
    struct sockaddr_in addr = {.sin_family = AF_INET};
    int small = 16 * 1024;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct response resp;
    unsigned len = TEST_FILE_SIZE - 7;
    char request[128];

    /* A small receive buffer makes the server wait for writability
     * during the body, which is larger than a loopback send buffer. */
    assert_true(fd >= 0);
    assert_int_equal(
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    assert_int_equal(
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);
    addr.sin_port = htons((uint16_t)fixture->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    snprintf(request, sizeof(request),
             "GET /file?off=7&len=%u HTTP/1.1\r\nHost: t\r\n\r\n", len);
    send_text(fd, request);
    usleep(200 * 1000);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_len, len);
    assert_memory_equal(resp.body, test_file_bytes + 7, len);
    free_response(&resp);
    close(fd);
}

static void server_max_connections_503(void **state)
{
    struct server_fixture *fixture = *state;
    int fds[16];
    int extra;
    struct response resp;

    for (int i = 0; i < 16; i++) {
        fds[i] = connect_client(fixture);
        send_text(fds[i], "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n");
        recv_response(fds[i], &resp, false);
        assert_int_equal(resp.status, 200);
        free_response(&resp);
    }
    extra = connect_client(fixture);
    recv_response(extra, &resp, false);
    assert_int_equal(resp.status, 503);
    expect_header(&resp, "Connection", "close");
    expect_header(&resp, "Retry-After", "1");
    expect_header(&resp, "X-Content-Type-Options", "nosniff");
    assert_int_equal(resp.body_len, 0);
    expect_closed(extra);
    free_response(&resp);
    close(extra);
    for (int i = 0; i < 16; i++)
        close(fds[i]);
}

static void server_stop_finishes_inflight(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;
    struct sockaddr_in addr = {.sin_family = AF_INET};
    int late;
    int started = __atomic_load_n(&late_started, __ATOMIC_SEQ_CST);

    send_text(fd, "GET /later HTTP/1.1\r\nHost: test\r\n\r\n");
    /* Stop only once the request is in its handler, however loaded the
     * machine: up to 5 s. */
    for (int i = 0; i < 5000 &&
                    __atomic_load_n(&late_started, __ATOMIC_SEQ_CST) == started;
         i++)
        usleep(1000);
    assert_int_not_equal(__atomic_load_n(&late_started, __ATOMIC_SEQ_CST),
                         started);
    fixture->stopped = true;
    assert_int_equal(uv_async_send(&fixture->stop_async), 0);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "late\n");
    expect_header(&resp, "Connection", "close");
    expect_closed(fd);
    free_response(&resp);
    close(fd);

    /* The listener is closed once the loop has run the stop. */
    assert_int_equal(uv_thread_join(&fixture->thread), 0);
    fixture->joined = true;
    late = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_port = htons((uint16_t)fixture->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(late, (struct sockaddr *)&addr, sizeof(addr)), -1);
    assert_int_equal(errno, ECONNREFUSED);
    close(late);
}

static void server_absolute_url(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    send_text(fd, "GET http://origin.test/query?k=v HTTP/1.1\r\n"
                  "Host: origin.test\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "[v]");
    free_response(&resp);
    close(fd);
}

static void server_bad_response_headers(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);

    send_text(fd, "GET /bad-headers HTTP/1.1\r\nHost: test\r\n\r\n");
    expect_closed(fd);
    close(fd);
}

static void server_pipelined_error_after_good(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    send_text(fd, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"
                  "GET /hello HTTP/9.9x\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    free_response(&resp);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 400);
    expect_closed(fd);
    free_response(&resp);
    close(fd);
}

static void server_length_body_paused(void **state)
{
    struct server_fixture *fixture = *state;
    size_t len = 1024 * 1024 + 17;
    unsigned char *data = malloc(len);
    struct response resp;
    char request[128];
    char expected[96];
    int fd;

    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i ^ (i >> 9));
    snprintf(expected, sizeof(expected), "len=%zu xxh=%016" PRIx64, len,
             (uint64_t)XXH3_64bits(data, len));
    snprintf(request, sizeof(request),
             "POST /echo?pause=1 HTTP/1.1\r\nHost: test\r\n"
             "Content-Length: %zu\r\n\r\n",
             len);
    fd = connect_client(fixture);
    send_text(fd, request);
    send_all(fd, data, len);
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, expected);
    assert_true(__atomic_load_n(&pause_count, __ATOMIC_SEQ_CST) > 1);
    assert_int_equal(__atomic_load_n(&body_while_paused, __ATOMIC_SEQ_CST), 0);
    free_response(&resp);
    close(fd);
    free(data);
}

static void server_expect_rejected_early(void **state)
{
    struct server_fixture *fixture = *state;
    int fd = connect_client(fixture);
    struct response resp;

    /* The handler rejects on the head, so no 100 Continue is sent and the
     * body that the client then holds back is never waited for. */
    send_text(fd, "PUT /reject HTTP/1.1\r\nHost: test\r\n"
                  "Expect: 100-continue\r\nContent-Length: 10\r\n\r\n");
    recv_response(fd, &resp, false);
    assert_int_equal(resp.status, 403);
    expect_header(&resp, "Connection", "close");
    expect_closed(fd);
    free_response(&resp);
    close(fd);
}

static int open_test_file(void)
{
    char path[] = "/tmp/kadr_http_test_XXXXXX";
    int fd = mkstemp(path);

    if (fd < 0)
        return -1;
    unlink(path);
    test_file_bytes = malloc(TEST_FILE_SIZE);
    if (test_file_bytes == NULL)
        return -1;
    for (size_t i = 0; i < TEST_FILE_SIZE; i++)
        test_file_bytes[i] = (unsigned char)((i * 131) ^ (i >> 13));
    if (write(fd, test_file_bytes, TEST_FILE_SIZE) != TEST_FILE_SIZE)
        return -1;
    test_file_fd = fd;
    return 0;
}

#define SERVER_TEST(name)                                                      \
    cmocka_unit_test_setup_teardown(name, start_server, stop_server)

int main(void)
{
    const struct CMUnitTest tests[] = {
        SERVER_TEST(server_keepalive_three_gets),
        SERVER_TEST(server_pipelined_in_order),
        SERVER_TEST(server_chunked_post_paused),
        SERVER_TEST(server_content_length_body),
        SERVER_TEST(server_length_and_chunked_400),
        SERVER_TEST(server_duplicate_length_400),
        SERVER_TEST(server_gzip_chunked_400),
        SERVER_TEST(server_bad_chunk_size_400),
        SERVER_TEST(server_unknown_version_505),
        SERVER_TEST(server_header_too_large_431),
        SERVER_TEST(server_too_many_headers_431),
        SERVER_TEST(server_url_too_long_414),
        SERVER_TEST(server_body_over_limit_413),
        SERVER_TEST(server_chunked_over_limit_413),
        SERVER_TEST(server_expect_continue),
        SERVER_TEST(server_parts_body_exact),
        SERVER_TEST(server_shared_fd_outlives_caller),
        SERVER_TEST(server_sendfile_offset_exact),
        SERVER_TEST(server_head_has_no_body),
        SERVER_TEST(server_slow_header_408),
        SERVER_TEST(server_idle_close),
        SERVER_TEST(server_http10_closes),
        SERVER_TEST(server_error_503_retry_after),
        SERVER_TEST(server_query_decoded),
        SERVER_TEST(server_error_json_escaped),
        SERVER_TEST(server_client_gone_aborts),
        SERVER_TEST(server_early_response_small_body),
        SERVER_TEST(server_early_response_large_body),
        SERVER_TEST(server_body_timeout_408),
        SERVER_TEST(server_sendfile_slow_reader),
        SERVER_TEST(server_max_connections_503),
        SERVER_TEST(server_stop_finishes_inflight),
        SERVER_TEST(server_absolute_url),
        SERVER_TEST(server_bad_response_headers),
        SERVER_TEST(server_pipelined_error_after_good),
        SERVER_TEST(server_length_body_paused),
        SERVER_TEST(server_expect_rejected_early),
    };
    int failed;

    signal(SIGPIPE, SIG_IGN);
    if (open_test_file() < 0) {
        fprintf(stderr, "cannot create the test file: %s\n", strerror(errno));
        return 1;
    }
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    close(test_file_fd);
    free(test_file_bytes);
    return failed;
}
