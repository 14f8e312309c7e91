/* Responses: the status line and head the server adds to the handler's
 * header block, copied bodies, file bodies and JSON errors. */
#include "http_internal.h"
#include "http_text.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for the status line and the headers the server adds. */
#define HTTP_HEAD_FIXED_BYTES 256
/* Maximum length of the error and detail texts in a JSON error body. */
#define HTTP_ERROR_TEXT_MAX 512

struct status_text {
    int status;
    const char *text;
};

static const struct status_text status_texts[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {507, "Insufficient Storage"},
};

const char *http_status_text(int status)
{
    for (size_t i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]);
         i++) {
        if (status_texts[i].status == status)
            return status_texts[i].text;
    }
    return "Unknown";
}

/* Writes the error name for a status in the API's form: the reason
 * phrase in lowercase words joined by underscores ("bad_request"). */
static void status_error_name(int status, char *out, size_t size)
{
    const char *text = http_status_text(status);
    size_t n = 0;

    for (; *text != '\0' && n + 1 < size; text++) {
        if (*text == ' ' || *text == '-')
            out[n++] = '_';
        else if (isalnum((unsigned char)*text))
            out[n++] = (char)tolower((unsigned char)*text);
    }
    out[n] = '\0';
}

/* Accepts NULL, "" or a run of "Name: value\r\n" lines: every CR is
 * followed by LF, every LF follows a CR, and no line is empty. */
static bool headers_valid(const char *headers)
{
    size_t line_len = 0;

    if (headers == NULL)
        return true;
    for (const char *p = headers; *p != '\0'; p++) {
        if (*p == '\r') {
            if (p[1] != '\n' || line_len == 0)
                return false;
            p++;
            line_len = 0;
        } else if (*p == '\n') {
            return false;
        } else {
            line_len++;
        }
    }
    return line_len == 0;
}

/* A response that leaves request body unread keeps the connection only
 * when the rest is small enough to read and drop. */
static void settle_unread_body(struct http_conn *conn)
{
    const http_request_t *req = &conn->req;
    uint64_t left;

    if (conn->phase != HTTP_PHASE_BODY || conn->message_done)
        return;
    left = req->content_length - conn->body_received;
    if (req->chunked || left > HTTP_DISCARD_MAX_BYTES ||
        (conn->expect_continue && !conn->continue_queued)) {
        conn->keep_alive = false;
        conn->phase = HTTP_PHASE_WAIT;
    }
}

static bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

static int write_head(struct http_conn *conn, char *out, size_t room,
                      int status, const char *headers, uint64_t content_length)
{
    http_text_t t;

    http_text_init(&t, out, room);
    http_text_put(&t, "HTTP/1.1 ", 9);
    http_text_put_u64(&t, (uint64_t)status);
    http_text_put(&t, " ", 1);
    http_text_puts(&t, http_status_text(status));
    http_text_put(&t, "\r\n", 2);
    if (headers != NULL)
        http_text_puts(&t, headers);
    http_text_put(&t, "Date: ", 6);
    http_text_puts(&t, http__server_date(conn->server));
    if (status_has_body(status)) {
        http_text_put(&t, "\r\nContent-Length: ", 18);
        http_text_put_u64(&t, content_length);
    }
    if (conn->keep_alive)
        http_text_puts(&t, "\r\nConnection: keep-alive");
    else
        http_text_puts(&t, "\r\nConnection: close");
    http_text_puts(&t, "\r\nX-Content-Type-Options: nosniff\r\n\r\n");
    return t.full ? -ENOBUFS : (int)(t.pos - out);
}

/* Builds a server-made error body into out. Returns its length. */
static size_t write_error_json(char *out, size_t room, const char *error,
                               const char *detail);

/* Queues the head and, unless it is HEAD or a bodiless status, the
 * copied body. content_length is what Content-Length announces; a file
 * body of that length may follow. With no header block and no body, a
 * server-made JSON error body is sent for error statuses. */
int http__response_start(struct http_conn *conn, int status,
                         const char *headers, const void *body, size_t body_len,
                         uint64_t content_length)
{
    char error_body[2 * 6 * HTTP_ERROR_TEXT_MAX + 64];
    size_t headers_len;
    size_t room;
    char *out;
    int n;

    if (status < 200 || status > 599 || !headers_valid(headers))
        return KADR_E_BAD_INPUT;
    if (headers == NULL && body == NULL && status >= 400 &&
        conn->error_detail != NULL) {
        char name[64];

        status_error_name(status, name, sizeof(name));
        headers = HTTP_ERROR_HEADERS;
        body_len = write_error_json(error_body, sizeof(error_body), name,
                                    conn->error_detail);
        body = error_body;
        content_length = body_len;
    }
    settle_unread_body(conn);
    /* A request that gets 411 has neither Content-Length nor chunked
     * framing, so body bytes its client sends anyway would be read as the
     * next request. */
    if (status == 411)
        conn->keep_alive = false;
    if (!status_has_body(status) || conn->head_method)
        body_len = 0;
    headers_len = headers == NULL ? 0 : strlen(headers);
    room = HTTP_HEAD_FIXED_BYTES + headers_len;
    out = http__conn_reserve_output(conn, room + body_len);
    if (out == NULL)
        return -ENOMEM;
    n = write_head(conn, out, room, status, headers, content_length);
    if (n < 0)
        return n;
    if (body_len > 0)
        memcpy(out + n, body, body_len);
    conn->out_len += (size_t)n + body_len;
    conn->responded = true;
    conn->response_status = status;
    conn->response_bytes = content_length;
    conn->server->counters.responses++;
    return 0;
}

/* Takes the request from the handler for its response. */
static int claim_request(struct http_conn *conn)
{
    if (!conn->handler_owns || conn->phase == HTTP_PHASE_CLOSING)
        return KADR_E_BAD_INPUT;
    conn->handler_owns = false;
    return 0;
}

static int end_respond(struct http_conn *conn, int rc)
{
    if (rc < 0) {
        http__conn_fail(conn);
        return rc;
    }
    conn->finish_pending = true;
    http__conn_kick(conn);
    return 0;
}

int http_respond(http_request_t *req, int status, const char *headers,
                 const void *body, size_t len)
{
    struct http_conn *conn = http__conn_of(req);
    int rc = claim_request(conn);

    if (rc < 0)
        return rc;
    if (body == NULL && len > 0)
        return end_respond(conn, KADR_E_BAD_INPUT);
    rc = http__response_start(conn, status, headers, body == NULL ? "" : body,
                              len, len);
    return end_respond(conn, rc);
}

/* Starts a file response. With shared, fd is used as given and must stay
 * open until the response ends; otherwise the server sends from a
 * duplicate it owns. */
static int respond_file(http_request_t *req, int status, const char *headers,
                        int fd, uint64_t offset, uint64_t len, bool shared)
{
    struct http_conn *conn = http__conn_of(req);
    int rc = claim_request(conn);

    if (rc < 0)
        return rc;
    if (fd < 0 || offset > INT64_MAX || len > INT64_MAX - offset)
        return end_respond(conn, KADR_E_BAD_INPUT);
    rc = http__response_start(conn, status, headers, "", 0, len);
    if (rc < 0 || len == 0 || conn->head_method || !status_has_body(status))
        return end_respond(conn, rc);
    if (!shared) {
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
            return end_respond(conn, -errno);
    }
    conn->file_fd = fd;
    conn->file_owned = !shared;
    conn->file_offset = offset;
    conn->file_left = len;
    return end_respond(conn, 0);
}

int http_respond_file(http_request_t *req, int status, const char *headers,
                      int fd, uint64_t offset, uint64_t len)
{
    return respond_file(req, status, headers, fd, offset, len, false);
}

int http_respond_file_shared(http_request_t *req, int status,
                             const char *headers, int fd, uint64_t offset,
                             uint64_t len)
{
    return respond_file(req, status, headers, fd, offset, len, true);
}

/* Moves the next queued piece of a parts response into out and
 * file_left. Returns false when none is left. */
bool http__response_next_segment(struct http_conn *conn)
{
    const struct http_segment *seg;
    char *out;

    if (conn->segment_next >= conn->segment_count)
        return false;
    seg = &conn->segments[conn->segment_next];
    /* out is empty here, so this mostly reuses its buffer. Without
     * memory the response ends short and the connection closes. */
    out = http__conn_reserve_output(conn, seg->text_len);
    if (out == NULL) {
        conn->segment_next = conn->segment_count;
        conn->keep_alive = false;
        return false;
    }
    memcpy(out, conn->segment_text + seg->text_off, seg->text_len);
    conn->out_len += seg->text_len;
    conn->file_offset = seg->file_offset;
    conn->file_left = seg->file_len;
    conn->segment_next++;
    return true;
}

void http__response_drop_segments(struct http_conn *conn)
{
    free(conn->segments);
    free(conn->segment_text);
    conn->segments = NULL;
    conn->segment_text = NULL;
    conn->segment_count = 0;
    conn->segment_next = 0;
}

/* Checks the parts and returns the body length they make, or -1. */
static int64_t parts_length(const http_body_part_t *parts, size_t count,
                            size_t *text_len)
{
    uint64_t total = 0;

    *text_len = 0;
    if (count == 0 || count > HTTP_MAX_BODY_PARTS)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const http_body_part_t *p = &parts[i];

        if ((p->data == NULL && p->len > 0) || p->len > INT32_MAX ||
            p->file_offset > INT64_MAX || p->file_len > INT64_MAX ||
            p->file_len > INT64_MAX - p->file_offset)
            return -1;
        *text_len += p->len;
        total += p->len + p->file_len;
        if (total > INT64_MAX)
            return -1;
    }
    return (int64_t)total;
}

/* Copies the parts' memory bytes into one block and queues them. */
static int queue_segments(struct http_conn *conn, const http_body_part_t *parts,
                          size_t count, size_t text_len)
{
    size_t off = 0;

    conn->segments = calloc(count, sizeof(*conn->segments));
    conn->segment_text = malloc(text_len > 0 ? text_len : 1);
    if (conn->segments == NULL || conn->segment_text == NULL) {
        http__response_drop_segments(conn);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        struct http_segment *seg = &conn->segments[i];

        if (parts[i].len > 0)
            memcpy(conn->segment_text + off, parts[i].data, parts[i].len);
        seg->text_off = off;
        seg->text_len = parts[i].len;
        seg->file_offset = parts[i].file_offset;
        seg->file_len = parts[i].file_len;
        off += parts[i].len;
    }
    conn->segment_count = count;
    conn->segment_next = 0;
    return 0;
}

int http_respond_parts(http_request_t *req, int status, const char *headers,
                       int fd, const http_body_part_t *parts, size_t count)
{
    struct http_conn *conn = http__conn_of(req);
    int rc = claim_request(conn);
    size_t text_len;
    int64_t total;

    if (rc < 0)
        return rc;
    total = parts_length(parts, count, &text_len);
    if (fd < 0 || total < 0)
        return end_respond(conn, KADR_E_BAD_INPUT);
    rc = http__response_start(conn, status, headers, "", 0, (uint64_t)total);
    if (rc < 0 || total == 0 || conn->head_method || !status_has_body(status))
        return end_respond(conn, rc);
    rc = queue_segments(conn, parts, count, text_len);
    if (rc < 0)
        return end_respond(conn, rc);
    conn->file_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    conn->file_owned = true;
    if (conn->file_fd < 0) {
        rc = -errno;
        http__response_drop_segments(conn);
        return end_respond(conn, rc);
    }
    return end_respond(conn, 0);
}

/* Copies text into out as a JSON string body without quotes, escaping
 * '"', '\\' and control bytes, and cutting it at HTTP_ERROR_TEXT_MAX
 * bytes. out needs 6 * HTTP_ERROR_TEXT_MAX + 1 bytes. */
static size_t escape_json(char *out, const char *text)
{
    size_t n = 0;

    for (size_t i = 0; text[i] != '\0' && i < HTTP_ERROR_TEXT_MAX; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)sprintf(out + n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

static size_t write_error_json(char *out, size_t room, const char *error,
                               const char *detail)
{
    char error_text[6 * HTTP_ERROR_TEXT_MAX + 1];
    char detail_text[6 * HTTP_ERROR_TEXT_MAX + 1];
    int n;

    escape_json(error_text, error == NULL ? "" : error);
    escape_json(detail_text, detail == NULL ? "" : detail);
    n = snprintf(out, room, "{\"error\": \"%s\", \"detail\": \"%s\"}\n",
                 error_text, detail_text);
    return n < 0 ? 0 : (size_t)n;
}

int http_respond_error(http_request_t *req, int status, const char *error,
                       const char *detail)
{
    size_t room = 2 * 6 * HTTP_ERROR_TEXT_MAX + 64;
    char *body = malloc(room);
    size_t len;
    int rc;

    if (body == NULL) {
        struct http_conn *conn = http__conn_of(req);

        rc = claim_request(conn);
        return rc < 0 ? rc : end_respond(conn, -ENOMEM);
    }
    len = write_error_json(body, room, error, detail);
    rc = http_respond(req, status,
                      status == 503 ? HTTP_ERROR_HEADERS HTTP_RETRY_AFTER
                                    : HTTP_ERROR_HEADERS,
                      body, len);
    free(body);
    return rc;
}

int http_request_response_status(const http_request_t *req)
{
    const struct http_conn *conn =
        (const struct http_conn *)(const void *)((const char *)req -
                                                 offsetof(struct http_conn,
                                                          req));

    return conn->response_status;
}

uint64_t http_request_response_bytes(const http_request_t *req)
{
    const struct http_conn *conn =
        (const struct http_conn *)(const void *)((const char *)req -
                                                 offsetof(struct http_conn,
                                                          req));

    return conn->response_bytes;
}
