/* State shared by the files of the HTTP server. Not part of the API.
 *
 * I/O design: the server owns its sockets. The listening socket and every
 * accepted connection are plain non-blocking file descriptors watched by a
 * uv_poll_t, so one readiness loop drives recv(2), send(2) and
 * sendfile(2) alike. A uv_tcp_t cannot be used here: libuv's stream writes
 * cannot carry sendfile(2), and a uv_poll_t must not share its fd with a
 * uv_tcp_t. Each connection has one uv_timer_t, re-armed for the current
 * phase (request head, body, keep-alive idle, response send, linger). */
#ifndef KADR_ENGINE_HTTP_INTERNAL_H
#define KADR_ENGINE_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* http_parser.h and http.h both declare enum http_method. The parser's
 * enum is renamed here so that both headers fit in one file. */
#define http_method http_parser_method
#include <http_parser.h>
#undef http_method

#include "http.h"

/* Size of a connection's read buffer: the maximum of unparsed bytes. */
#define HTTP_READ_BUFFER_BYTES (64 * 1024)
/* A body left unread by an early response is read and dropped to keep
 * the connection when at most this many bytes of it remain. */
#define HTTP_DISCARD_MAX_BYTES (64 * 1024)
/* After a response with Connection: close, the server shuts down its
 * sending side and drops what the client still sends for this long, so
 * that the client reads the response before the socket is reset. */
#define HTTP_LINGER_MS 1000
#define HTTP_LINGER_MAX_BYTES (1024 * 1024)
/* Connections accepted in one readiness event of the listener. */
#define HTTP_ACCEPT_BATCH 64
/* Pause of the listener after accept(2) ran out of descriptors. */
#define HTTP_ACCEPT_RETRY_MS 100
/* Maximum file bytes sent in one readiness event. On loopback, wrk
 * reading 1 MiB ranges of a 5.9 MB file got 1.3 to 2.5 times the
 * requests/s and half the p99 with 256 KiB than with 4 MiB. Whole 5.9 MB
 * reads got 1.7 times the bytes/s, and 128 and 512 KiB did worse. */
#define HTTP_SENDFILE_BATCH_BYTES (256u * 1024)

/* Maximum pieces in one http_respond_parts() response. */
#define HTTP_MAX_BODY_PARTS 64

/* One queued piece of a parts response: text_len bytes of the connection's
 * segment_text from text_off, then file_len bytes of file_fd. */
struct http_segment {
    size_t text_off;
    size_t text_len;
    uint64_t file_offset;
    uint64_t file_len;
};

/* Phase of a connection within its current request. */
enum http_conn_phase {
    HTTP_PHASE_HEAD,    /* waiting for or reading a request head */
    HTTP_PHASE_BODY,    /* reading the request body */
    HTTP_PHASE_WAIT,    /* request read, waiting for the response end */
    HTTP_PHASE_LINGER,  /* response sent, dropping input before close */
    HTTP_PHASE_CLOSING, /* handles are being closed */
};

struct http_conn {
    http_server_t *server;
    struct http_conn *prev;
    struct http_conn *next;
    int fd;
    uv_poll_t poll;
    uv_timer_t timer;
    int poll_events; /* UV_READABLE | UV_WRITABLE currently watched */
    int open_handles;
    enum http_conn_phase phase;
    unsigned busy;    /* depth of handler and parser calls on the stack */
    bool stepping;    /* http__conn_step() is running for this connection */
    bool kicked;      /* a kick came while stepping: step once more */
    int timer_kind;   /* enum http_timer_kind in http_conn.c */
    bool io_progress; /* bytes moved since the timer was last armed */
    uint64_t request_count;
    uint64_t idle_start_ms; /* loop time the last keep-alive wait began */

    http_parser parser;
    char *buf; /* HTTP_READ_BUFFER_BYTES */
    size_t buf_len;
    size_t buf_off; /* bytes before this were given to the parser */

    /* Request head, collected by the parser callbacks. */
    char *arena;
    size_t arena_cap;
    size_t arena_len;
    size_t url_len;
    size_t head_bytes;
    int last_token; /* which head token the arena is growing */
    http_header_t *headers;
    size_t header_count;
    uint64_t body_received;
    /* Start of the body's time allowance, moved on by the time the
     * handler kept the body paused, and when that pause began. */
    uint64_t body_clock_ms;
    uint64_t paused_at_ms;
    int error_status; /* status the server sends for a rejected request */
    const char *error_detail;

    http_request_t req;
    bool message_begun;   /* a byte of the current request arrived */
    bool message_done;    /* the whole request has been parsed */
    bool handler_owns;    /* on_headers was called, no response yet */
    bool handler_paused;  /* http_request_pause is in effect */
    bool responded;       /* a response was started for this request */
    bool response_sent;   /* the last response byte has been sent */
    bool keep_alive;      /* the connection survives this request */
    bool expect_continue; /* the client waits for 100 Continue */
    bool continue_queued; /* 100 Continue is in out or sent */
    bool head_method;
    bool peer_closed;
    bool finish_pending; /* on_finish is owed for a handler's response */

    /* Response in flight: out (head, copied body) then file bytes. */
    char *out;
    size_t out_cap;
    size_t out_len;
    size_t out_sent;
    int file_fd;     /* file of the response body, or -1 */
    bool file_owned; /* file_fd is a duplicate the connection closes */
    uint64_t file_offset;
    uint64_t file_left;
    /* Pieces of a parts response not yet moved into out and file_left. */
    struct http_segment *segments;
    char *segment_text;
    size_t segment_count;
    size_t segment_next;
    uint64_t response_bytes;
    int response_status;
    size_t linger_bytes;
};

struct http_server {
    uv_loop_t *loop;
    http_server_options_t opts;
    char host[64];
    http_handlers_t handlers;
    int listen_fd;
    /* /dev/null, given up for a moment to accept and turn away a client
     * when the process is out of descriptors, or -1. */
    int reserve_fd;
    int port;
    uv_poll_t listen_poll;
    uv_timer_t accept_timer;
    int open_handles;
    struct http_conn *conns;
    uint64_t next_request_id;
    http_server_counters_t counters;
    bool stopping;
    void (*done)(void *);
    void *done_ctx;
    time_t date_time; /* second that date_text was formatted for */
    char date_text[40];
};

/* http_server.c */
void http__server_release_conn(http_server_t *server, struct http_conn *conn);
void http__server_finish_stop(http_server_t *server);
const char *http__server_date(http_server_t *server);

/* http_conn.c */
int http__conn_start(http_server_t *server, int fd);
void http__conn_step(struct http_conn *conn);
void http__conn_fail(struct http_conn *conn);
void http__conn_close(struct http_conn *conn);
bool http__conn_is_idle(const struct http_conn *conn);
void http__conn_reject(struct http_conn *conn, int status, const char *detail);
void http__conn_kick(struct http_conn *conn);
bool http__conn_can_parse(const struct http_conn *conn);
char *http__conn_reserve_output(struct http_conn *conn, size_t len);
struct http_conn *http__conn_of(http_request_t *req);

/* http_parse.c */
void http__parse_init(struct http_conn *conn);
void http__parse_reset_request(struct http_conn *conn);
int http__parse_run(struct http_conn *conn);

/* http_response.c */
KADR_MUST_CHECK int http__response_start(struct http_conn *conn, int status,
                                         const char *headers, const void *body,
                                         size_t body_len,
                                         uint64_t content_length);
int http__response_send_continue(struct http_conn *conn);
bool http__response_next_segment(struct http_conn *conn);
void http__response_drop_segments(struct http_conn *conn);

#endif
