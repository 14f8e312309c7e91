/* Request parsing: http-parser callbacks collect the head into the
 * connection's arena under the configured limits, check the message
 * framing against request smuggling, and pass the body to the handler. */
#include "http_internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

enum head_token { TOKEN_NONE, TOKEN_URL, TOKEN_FIELD, TOKEN_VALUE };

static const char continue_reply[] = "HTTP/1.1 100 Continue\r\n\r\n";

static struct http_conn *conn_of_parser(http_parser *parser)
{
    return parser->data;
}

/* Records why the request is rejected; the callback then returns -1 so
 * that http-parser stops. */
static int fail_request(struct http_conn *conn, int status, const char *detail)
{
    conn->error_status = status;
    conn->error_detail = detail;
    return -1;
}

static void end_token(struct http_conn *conn)
{
    if (conn->last_token != TOKEN_NONE)
        conn->arena[conn->arena_len++] = '\0';
}

static int append_head(struct http_conn *conn, int token, const char *at,
                       size_t len)
{
    const http_server_options_t *opts = &conn->server->opts;

    conn->head_bytes += len;
    if (conn->head_bytes > opts->max_header_bytes)
        return fail_request(conn, 431, "the request head is too large");
    if (conn->last_token != token)
        end_token(conn);
    conn->last_token = token;
    memcpy(conn->arena + conn->arena_len, at, len);
    conn->arena_len += len;
    return 0;
}

static int on_message_begin(http_parser *parser)
{
    conn_of_parser(parser)->message_begun = true;
    return 0;
}

static int on_url(http_parser *parser, const char *at, size_t len)
{
    struct http_conn *conn = conn_of_parser(parser);

    conn->url_len += len;
    if (conn->url_len > conn->server->opts.max_url_bytes)
        return fail_request(conn, 414, "the request URL is too long");
    return append_head(conn, TOKEN_URL, at, len);
}

static int on_header_field(http_parser *parser, const char *at, size_t len)
{
    struct http_conn *conn = conn_of_parser(parser);

    if (conn->last_token != TOKEN_FIELD) {
        if (conn->header_count == conn->server->opts.max_headers)
            return fail_request(conn, 431, "too many request headers");
        end_token(conn);
        conn->last_token = TOKEN_FIELD;
        conn->headers[conn->header_count].name = conn->arena + conn->arena_len;
        conn->headers[conn->header_count].value = NULL;
        conn->header_count++;
    }
    return append_head(conn, TOKEN_FIELD, at, len);
}

static int on_header_value(http_parser *parser, const char *at, size_t len)
{
    struct http_conn *conn = conn_of_parser(parser);

    if (conn->last_token != TOKEN_VALUE) {
        end_token(conn);
        conn->last_token = TOKEN_VALUE;
        conn->headers[conn->header_count - 1].value =
            conn->arena + conn->arena_len;
    } else if (at != conn->buf + conn->buf_off) {
        /* A second piece of the same value inside one buffer is an
         * obs-fold continuation line, which http-parser joins without a
         * space. RFC 9112, section 5.2 lets a server reject it, and
         * proxies disagree on how to unfold it. */
        return fail_request(conn, 400, "obsolete line folding in a header");
    }
    return append_head(conn, TOKEN_VALUE, at, len);
}

/* Removes the white space around every value, in place. A header with an
 * empty value has had no value callback and gets "". */
static void trim_values(struct http_conn *conn)
{
    for (size_t i = 0; i < conn->header_count; i++) {
        char *value;
        size_t len;

        if (conn->headers[i].value == NULL) {
            conn->headers[i].value = "";
            continue;
        }
        /* The value lies in the arena, which the connection may write. */
        value = conn->arena + (conn->headers[i].value - conn->arena);
        while (*value == ' ' || *value == '\t')
            value++;
        len = strlen(value);
        while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
            value[--len] = '\0';
        conn->headers[i].value = value;
    }
}

/* Splits the URL into path and query in place. An absolute-form URL
 * keeps only its path. */
static int split_url(struct http_conn *conn)
{
    char *url = conn->arena;
    char *mark;

    if (url[0] != '/' && strcmp(url, "*") != 0) {
        struct http_parser_url parts;

        http_parser_url_init(&parts);
        if (http_parser_parse_url(url, strlen(url), 0, &parts) != 0)
            return fail_request(conn, 400, "the request URL is invalid");
        if ((parts.field_set & (1 << UF_PATH)) == 0)
            return fail_request(conn, 400, "the request URL has no path");
        url += parts.field_data[UF_PATH].off;
    }
    mark = strchr(url, '#');
    if (mark != NULL)
        *mark = '\0';
    conn->req.path = url;
    conn->req.query = "";
    mark = strchr(url, '?');
    if (mark != NULL) {
        *mark = '\0';
        conn->req.query = mark + 1;
    }
    return 0;
}

static enum http_method map_method(unsigned method)
{
    switch (method) {
    case HTTP_GET:
        return HTTP_M_GET;
    case HTTP_HEAD:
        return HTTP_M_HEAD;
    case HTTP_POST:
        return HTTP_M_POST;
    case HTTP_PUT:
        return HTTP_M_PUT;
    case HTTP_PATCH:
        return HTTP_M_PATCH;
    case HTTP_DELETE:
        return HTTP_M_DELETE;
    case HTTP_OPTIONS:
        return HTTP_M_OPTIONS;
    default:
        return HTTP_M_OTHER;
    }
}

static bool parse_length(const char *text, uint64_t *out)
{
    uint64_t value = 0;

    if (*text == '\0')
        return false;
    for (; *text != '\0'; text++) {
        if (*text < '0' || *text > '9')
            return false;
        if (value > (UINT64_MAX - 9) / 10)
            return false;
        value = value * 10 + (uint64_t)(*text - '0');
    }
    *out = value;
    return true;
}

/* Rejects every framing that two parsers could read differently: white
 * space in a field name, more than one Content-Length or
 * Transfer-Encoding, an invalid length, a coding other than exactly
 * "chunked", both headers at once, or Transfer-Encoding in HTTP/1.0
 * (RFC 9112, section 6.1: its framing is faulty). */
static int check_framing(struct http_conn *conn, const http_parser *parser)
{
    const char *length = NULL;
    const char *coding = NULL;

    for (size_t i = 0; i < conn->header_count; i++) {
        const http_header_t *h = &conn->headers[i];

        /* RFC 9112, section 5.1: white space before the colon gets 400,
         * because other parsers may strip it and see another header. */
        if (strpbrk(h->name, " \t") != NULL)
            return fail_request(conn, 400,
                                "white space before a header field colon");
        if (strcasecmp(h->name, "Content-Length") == 0) {
            if (length != NULL)
                return fail_request(conn, 400, "duplicate Content-Length");
            length = h->value;
        } else if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
            if (coding != NULL)
                return fail_request(conn, 400, "duplicate Transfer-Encoding");
            coding = h->value;
        }
    }
    if (length != NULL && coding != NULL)
        return fail_request(conn, 400,
                            "both Content-Length and Transfer-Encoding");
    if (coding != NULL && parser->http_minor == 0)
        return fail_request(conn, 400,
                            "Transfer-Encoding in an HTTP/1.0 request");
    if (coding != NULL && strcasecmp(coding, "chunked") != 0)
        return fail_request(conn, 400, "unsupported Transfer-Encoding");
    conn->req.chunked = coding != NULL;
    conn->req.content_length = 0;
    if (length != NULL && !parse_length(length, &conn->req.content_length))
        return fail_request(conn, 400, "invalid Content-Length");
    return 0;
}

/* Characters of uri-host [":" port] (RFC 3986, section 3.2.2). */
static bool host_value_valid(const char *host)
{
    for (; *host != '\0'; host++) {
        if (!isalnum((unsigned char)*host) &&
            strchr("-._~%!$&'()*+,;=:[]", *host) == NULL)
            return false;
    }
    return true;
}

/* RFC 9112, section 3.2: an HTTP/1.1 request needs exactly one Host
 * header with a valid value; anything else gets 400. */
static int check_host(struct http_conn *conn, const http_parser *parser)
{
    const char *host = NULL;

    for (size_t i = 0; i < conn->header_count; i++) {
        if (strcasecmp(conn->headers[i].name, "Host") != 0)
            continue;
        if (host != NULL)
            return fail_request(conn, 400, "more than one Host header");
        host = conn->headers[i].value;
    }
    if (host == NULL && parser->http_minor >= 1)
        return fail_request(conn, 400,
                            "an HTTP/1.1 request needs a Host "
                            "header");
    if (host != NULL && !host_value_valid(host))
        return fail_request(conn, 400, "invalid Host header");
    return 0;
}

static int fill_request(struct http_conn *conn, http_parser *parser)
{
    http_request_t *req = &conn->req;
    const char *expect;
    int rc;

    end_token(conn);
    conn->last_token = TOKEN_NONE;
    trim_values(conn);
    req->headers = conn->headers;
    req->header_count = conn->header_count;
    /* http-parser takes any one-digit version ("HTTP/9.9"), but only
     * HTTP/1.x framing is understood here (RFC 9110, 15.6.6). */
    if (parser->http_major != 1)
        return fail_request(conn, 505,
                            "only HTTP/1.0 and HTTP/1.1 are "
                            "supported");
    rc = split_url(conn);
    if (rc == 0)
        rc = check_framing(conn, parser);
    if (rc == 0)
        rc = check_host(conn, parser);
    if (rc < 0)
        return rc;
    req->method = map_method(parser->method);
    req->has_body = req->chunked || req->content_length > 0;
    if (req->content_length > conn->server->opts.max_body_bytes)
        return fail_request(conn, 413, "the request body is too large");
    req->id = conn->server->next_request_id++;
    req->user = NULL;
    conn->head_method = req->method == HTTP_M_HEAD;
    /* kadrd switches to no other protocol, but http-parser treats the
     * bytes after an Upgrade or CONNECT request as another protocol's. The
     * connection closes after the response, which sends Connection: close. */
    conn->keep_alive = http_should_keep_alive(parser) != 0 &&
                       !parser->upgrade && !conn->server->stopping;
    expect = http_request_header(req, "Expect");
    conn->expect_continue = req->has_body && expect != NULL &&
                            strcasecmp(expect, "100-continue") == 0 &&
                            parser->http_major == 1 && parser->http_minor >= 1;
    return 0;
}

static void queue_continue(struct http_conn *conn)
{
    char *out = http__conn_reserve_output(conn, sizeof(continue_reply) - 1);

    if (out == NULL) {
        http__conn_fail(conn);
        return;
    }
    memcpy(out, continue_reply, sizeof(continue_reply) - 1);
    conn->out_len += sizeof(continue_reply) - 1;
    conn->continue_queued = true;
}

/* Pauses http-parser when the request may not go on: the handler paused
 * it, a response ended it, or the connection is closing. */
static void pause_unless_parsable(struct http_conn *conn)
{
    if (!http__conn_can_parse(conn))
        http_parser_pause(&conn->parser, 1);
}

static int on_headers_complete(http_parser *parser)
{
    struct http_conn *conn = conn_of_parser(parser);
    const http_handlers_t *handlers = &conn->server->handlers;

    if (fill_request(conn, parser) < 0)
        return -1;
    conn->server->counters.requests++;
    conn->body_clock_ms = uv_now(conn->server->loop);
    if (conn->req.has_body)
        conn->phase = HTTP_PHASE_BODY;
    conn->handler_owns = true;
    conn->busy++;
    handlers->on_headers(&conn->req, handlers->ctx);
    conn->busy--;
    if (conn->phase == HTTP_PHASE_CLOSING)
        return -1;
    if (!conn->responded && conn->expect_continue)
        queue_continue(conn);
    pause_unless_parsable(conn);
    return 0;
}

/* A body that trickles in, a byte before each body_timeout_ms, would hold
 * its connection for ever. It may take body_timeout_ms plus one second
 * for each body_min_bytes_per_s bytes, the rule of Apache's
 * mod_reqtimeout (whose default is body=20,MinRate=500). Only body bytes
 * count: chunk sizes, chunk extensions and trailer fields do not. */
static bool body_too_slow(const struct http_conn *conn)
{
    const http_server_options_t *opts = &conn->server->opts;
    uint64_t allowed_ms;

    if (opts->body_min_bytes_per_s == 0)
        return false;
    allowed_ms = opts->body_timeout_ms +
                 conn->body_received * 1000 / opts->body_min_bytes_per_s;
    return uv_now(conn->server->loop) - conn->body_clock_ms > allowed_ms;
}

static int on_body(http_parser *parser, const char *at, size_t len)
{
    struct http_conn *conn = conn_of_parser(parser);
    const http_handlers_t *handlers = &conn->server->handlers;

    conn->body_received += len;
    if (conn->body_received > conn->server->opts.max_body_bytes)
        return fail_request(conn, 413, "the request body is too large");
    if (!conn->handler_owns || handlers->on_body == NULL)
        return 0;
    conn->busy++;
    handlers->on_body(&conn->req, at, len, handlers->ctx);
    conn->busy--;
    if (conn->phase == HTTP_PHASE_CLOSING)
        return -1;
    pause_unless_parsable(conn);
    return 0;
}

static int on_message_complete(http_parser *parser)
{
    struct http_conn *conn = conn_of_parser(parser);
    const http_handlers_t *handlers = &conn->server->handlers;

    conn->message_done = true;
    conn->phase = HTTP_PHASE_WAIT;
    /* The next pipelined request waits for the response to this one. */
    http_parser_pause(parser, 1);
    if (!conn->handler_owns || handlers->on_complete == NULL)
        return 0;
    conn->busy++;
    handlers->on_complete(&conn->req, handlers->ctx);
    conn->busy--;
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http__parse_init(struct http_conn *conn)
{
    http_parser_init(&conn->parser, HTTP_REQUEST);
    conn->parser.data = conn;
    http__parse_reset_request(conn);
}

void http__parse_reset_request(struct http_conn *conn)
{
    char client[sizeof(conn->req.client)];

    memcpy(client, conn->req.client, sizeof(client));
    memset(&conn->req, 0, sizeof(conn->req));
    memcpy(conn->req.client, client, sizeof(client));
    conn->req.path = "";
    conn->req.query = "";
    conn->arena_len = 0;
    conn->url_len = 0;
    conn->head_bytes = 0;
    conn->last_token = TOKEN_NONE;
    conn->header_count = 0;
    conn->body_received = 0;
    conn->error_status = 0;
    conn->error_detail = NULL;
    conn->message_begun = false;
    conn->message_done = false;
    conn->handler_owns = false;
    conn->handler_paused = false;
    conn->responded = false;
    conn->response_sent = false;
    conn->keep_alive = true;
    conn->expect_continue = false;
    conn->continue_queued = false;
    conn->head_method = false;
    conn->finish_pending = false;
    conn->response_status = 0;
    conn->response_bytes = 0;
}

static void reject_parse_error(struct http_conn *conn, enum http_errno err)
{
    int status = conn->error_status;
    const char *detail = conn->error_detail;

    /* NOTE: http-parser 2.9 also limits a head to HTTP_MAX_HEADER_SIZE
     * (80 KiB as packaged), so a larger max_header_bytes has no effect. */
    if (status == 0 && err == HPE_HEADER_OVERFLOW) {
        status = 431;
        detail = "the request head is too large";
    } else if (status == 0 && err == HPE_INVALID_CONTENT_LENGTH &&
               (conn->parser.flags & F_CHUNKED) != 0) {
        /* http-parser reports a chunk size overflow with this code. */
        status = 400;
        detail = "invalid chunk size";
    } else if (status == 0) {
        status = 400;
        detail = http_errno_description(err);
    }
    http__conn_reject(conn, status, detail);
}

/* Feeds buffered bytes to http-parser while the request may go on.
 * Returns 0; a rejected request has its error response queued. */
int http__parse_run(struct http_conn *conn)
{
    while (conn->buf_off < conn->buf_len && http__conn_can_parse(conn)) {
        enum http_errno err;
        size_t n;

        if (HTTP_PARSER_ERRNO(&conn->parser) == HPE_PAUSED)
            http_parser_pause(&conn->parser, 0);
        conn->busy++;
        n = http_parser_execute(&conn->parser, &parser_settings,
                                conn->buf + conn->buf_off,
                                conn->buf_len - conn->buf_off);
        conn->busy--;
        conn->buf_off += n;
        if (conn->phase == HTTP_PHASE_CLOSING)
            return 0;
        /* Checked after every step, because chunk framing can trickle
         * in without a single body byte. */
        if (conn->phase == HTTP_PHASE_BODY && body_too_slow(conn)) {
            http__conn_reject(conn, 408, "the request body arrived too slowly");
            return 0;
        }
        err = HTTP_PARSER_ERRNO(&conn->parser);
        if (err != HPE_OK && err != HPE_PAUSED) {
            reject_parse_error(conn, err);
            return 0;
        }
        if (n == 0)
            break; /* paused before its first byte; the caller retries */
    }
    return 0;
}
