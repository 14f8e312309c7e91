/* kadr's HTTP/1.1 server on the libuv loop.
 *
 * The server parses requests with http-parser and hands each one to the
 * handler table given to http_server_start(). All callbacks run on the
 * loop thread. A request object stays valid until the handler calls one
 * of the http_respond*() functions or until on_abort, whichever comes
 * first. After that the handler touches it only inside on_finish. Calls
 * into the server never make a handler callback before they return:
 * on_body, on_complete and on_finish follow on a later loop iteration.
 *
 * I/O: the server owns its sockets and drives them with uv_poll_t, so a
 * file body goes out with sendfile(2) straight from the page cache, and a
 * slow client is waited for with UV_WRITABLE, never by polling in a loop.
 * sendfile(2) raises SIGPIPE when the peer has gone, so the process must
 * ignore SIGPIPE. */
#ifndef KADR_ENGINE_HTTP_H
#define KADR_ENGINE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <kadr/error.h>

typedef struct http_server http_server_t;
typedef struct http_request http_request_t;

enum http_method {
    HTTP_M_OTHER = 0,
    HTTP_M_GET,
    HTTP_M_HEAD,
    HTTP_M_POST,
    HTTP_M_PUT,
    HTTP_M_PATCH,
    HTTP_M_DELETE,
    HTTP_M_OPTIONS,
};

typedef struct http_header {
    const char *name;  /* as received */
    const char *value; /* leading and trailing white space removed */
} http_header_t;

/* What the handler sees. All strings are NUL-terminated and owned by the
 * server until the request ends. path is the raw path without the query;
 * query is the raw text after '?', or "" when there is none. */
struct http_request {
    enum http_method method;
    const char *path;
    const char *query;
    const http_header_t *headers;
    size_t header_count;
    uint64_t content_length; /* 0 with has_body false: no body */
    bool has_body;
    bool chunked;
    uint64_t id;     /* unique per server run, for logs */
    void *user;      /* the handler's per-request state */
    char client[48]; /* peer address for logs */
};

typedef struct http_handlers {
    /* Headers complete. The handler either responds now (any body is then
     * read and discarded, or the connection closed if it is large) or
     * sets req->user and waits for the body. */
    void (*on_headers)(http_request_t *req, void *ctx);
    /* A piece of the (de-chunked) body, valid only during the call. */
    void (*on_body)(http_request_t *req, const char *data, size_t len,
                    void *ctx);
    /* The whole body has arrived. The handler responds now or later. */
    void (*on_complete)(http_request_t *req, void *ctx);
    /* The connection is gone or the request failed before the handler
     * called http_respond*(): release req->user. Never called after it. */
    void (*on_abort)(http_request_t *req, void *ctx);
    /* Optional (may be NULL). The response started by http_respond*() has
     * been sent in full (result 0) or failed (a negative code). req and
     * req->user are still readable during the call, for access logs and
     * metrics; the request ends when it returns. */
    void (*on_finish)(http_request_t *req, int result, void *ctx);
    /* Optional (may be NULL). The server rejects the request with status
     * and sends the error itself, because the request is malformed, over
     * a limit or too slow. detail is the text of the JSON error.
     * req->client is set, but other fields may be empty because the head
     * may not have been read in full. */
    void (*on_reject)(const http_request_t *req, int status, const char *detail,
                      void *ctx);
    void *ctx;
} http_handlers_t;

/* Header line of every 503 kadrd sends: a client over a cap or a queue
 * is asked to try again after one second. */
#define HTTP_RETRY_AFTER "Retry-After: 1\r\n"

/* Header lines of every JSON error kadrd sends. A 404 or 405 is
 * heuristically cacheable (RFC 9110, section 15.1), so without no-store a
 * CDN could keep the 404 of a variant that is still being made. */
#define HTTP_ERROR_HEADERS                                                     \
    "Content-Type: application/json\r\nCache-Control: no-store\r\n"

typedef struct http_server_options {
    const char *host;          /* numeric address, e.g. "127.0.0.1" */
    int port;                  /* 0: pick a free port */
    uint32_t max_header_bytes; /* request line and headers together */
    uint32_t max_headers;
    uint32_t max_url_bytes;
    uint64_t max_body_bytes; /* 413 past this */
    uint32_t max_connections;
    uint32_t header_timeout_ms; /* whole request head must arrive */
    uint32_t body_timeout_ms;   /* between two reads of request body,
                                 * or two sends of response bytes */
    /* A body may take body_timeout_ms plus one second for each this many
     * bytes; 0: no minimum rate. */
    uint32_t body_min_bytes_per_s;
    uint32_t idle_timeout_ms; /* keep-alive wait between requests */
} http_server_options_t;

KADR_MUST_CHECK int http_server_start(uv_loop_t *loop,
                                      const http_server_options_t *opts,
                                      const http_handlers_t *handlers,
                                      http_server_t **out);

/* Returns the bound port (useful with port 0). */
int http_server_port(const http_server_t *server);

/* Totals since the server started, for metrics. */
typedef struct http_server_counters {
    uint64_t connections_accepted;
    uint64_t connections_rejected; /* over max_connections */
    uint64_t connections_open;
    uint64_t requests;
    uint64_t responses;
    uint64_t bad_requests; /* rejected by the server: 400, 413, 414, 431 */
    uint64_t timeouts;
    uint64_t bytes_received;
    uint64_t bytes_sent;
} http_server_counters_t;

void http_server_get_counters(const http_server_t *server,
                              http_server_counters_t *out);

/* Stops accepting, lets responses in flight finish, closes idle
 * connections, then calls done (may be NULL) and frees the server. */
void http_server_stop(http_server_t *server, void (*done)(void *),
                      void *done_ctx);

/* Returns the first header of that name (case-insensitive), or NULL. */
const char *http_request_header(const http_request_t *req, const char *name);

/* Copies the URL-decoded value ("+" and %XX) of the first query
 * parameter named key into out (NUL terminated). Returns its length,
 * KADR_E_NOT_FOUND if absent, KADR_E_TOO_LARGE if it does not fit, or
 * KADR_E_BAD_INPUT for a broken %XX escape or an encoded NUL byte. On
 * every error out is an empty string. */
int http_request_query(const http_request_t *req, const char *key, char *out,
                       size_t out_size);

/* Returns true when the URL-decoded name of every query parameter is one
 * of keys, a NULL-terminated list. Pairs with an empty name are skipped,
 * as http_request_query() skips them. */
bool http_request_query_names_in(const http_request_t *req,
                                 const char *const *keys);

/* Stop and restart reading the request body from the socket, for
 * backpressure while the handler writes what it has. While paused no
 * on_body call is made; pieces already read are kept and delivered in
 * order after resume, from a later loop iteration. */
void http_request_pause(http_request_t *req);
void http_request_resume(http_request_t *req);

/* Responses. headers is a block of complete "Name: value\r\n" lines (or
 * NULL) that the server sends as given; the server adds Date,
 * Content-Length, Connection and X-Content-Type-Options: nosniff. For
 * HEAD requests the server sends the headers only, and for 1xx, 204 and
 * 304 it sends no Content-Length and no body. Each call completes the
 * request; exactly one response per request. A response may be sent from
 * any later loop callback. When the request body has not all arrived, the
 * server reads and drops up to 64 KiB of the rest to keep the connection,
 * and closes it (Connection: close) when more is due or the body is
 * chunked.
 *
 * They return 0, or KADR_E_BAD_INPUT for a second response, a status
 * outside 200-599 or a header block that is not CRLF-terminated lines, or
 * -ENOMEM. On any error but a second response the server closes the
 * connection, the request ends and on_abort is not called. */

/* Sends len bytes of body, copied. */
int http_respond(http_request_t *req, int status, const char *headers,
                 const void *body, size_t len);

/* Sends len bytes of fd starting at offset with sendfile(2). fd is
 * borrowed for the call only: the server sends from a duplicate it closes
 * itself. A file shorter than offset + len closes the connection. */
int http_respond_file(http_request_t *req, int status, const char *headers,
                      int fd, uint64_t offset, uint64_t len);

/* Sends like http_respond_file(), but the first sends come from fd
 * itself, on the next loop iteration. Only when body bytes are left for
 * later does the server take a duplicate of fd, so a body that goes out
 * at once costs no dup(2) and close(2). The caller keeps fd open and
 * pointing at the same file until the loop iteration after this call. */
int http_respond_file_shared(http_request_t *req, int status,
                             const char *headers, int fd, uint64_t offset,
                             uint64_t len);

/* One piece of a body made of several: len bytes of data (copied when the
 * response starts), then file_len bytes of the response's file from
 * file_offset (either may be empty). */
typedef struct http_body_part {
    const void *data;
    size_t len;
    uint64_t file_offset;
    uint64_t file_len;
} http_body_part_t;

/* Sends count pieces (at most 64) one after the other as one body, the
 * memory bytes with send(2) and the file ranges of fd with sendfile(2),
 * for multipart/byteranges. fd is borrowed as in http_respond_file().
 * Content-Length is the sum of all pieces. */
int http_respond_parts(http_request_t *req, int status, const char *headers,
                       int fd, const http_body_part_t *parts, size_t count);

/* Sends {"error": error, "detail": detail} with Content-Type JSON. */
int http_respond_error(http_request_t *req, int status, const char *error,
                       const char *detail);

/* Returns the reason phrase for a status code. */
const char *http_status_text(int status);

/* Return the status and the body length (Content-Length) of the response
 * started for req, or 0 before one. For access logs in on_finish. */
int http_request_response_status(const http_request_t *req);
uint64_t http_request_response_bytes(const http_request_t *req);

#endif
