#include "webhook.h"

#include <errno.h>
#include <http_parser.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "media.h"
#include "webhook_journal.h"
#include "webhook_spool.h"

#define MAX_MEDIA_ID 32
#define READ_BUFFER_BYTES 4096

struct event {
    struct event *next;
    char media_id[MAX_MEDIA_ID + 1];
    char *body; /* JSON, owned */
    size_t len;
    unsigned tries;
    bool journaled; /* has a line in the journal, numbered `number` */
    uint64_t number;
};

/* One delivery attempt: a resolve, a connection, a request and a reply.
 * It lives until both its resolve and its socket have finished, even
 * when the webhook has moved on (dead set). */
struct attempt {
    webhook_t *webhook;
    bool dead;
    bool resolving;
    bool tcp_inited;
    uv_getaddrinfo_t resolver;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    char *request;
    http_parser parser;
    int status; /* reply status, 0 until the head is read */
    bool reply_done;
    size_t reply_bytes;
    char buf[READ_BUFFER_BYTES];
};

struct webhook {
    uv_loop_t *loop;
    metrics_t *metrics;
    webhook_url_t url;
    bool enabled;
    uint64_t max_tries;
    uint64_t backoff_ms;
    uint64_t timeout_ms;
    uint64_t queue_max;
    struct event *head;
    struct event *tail;
    size_t queued;
    struct attempt *attempt; /* in flight, or NULL */
    bool waiting;            /* the timer is a backoff wait */
    uv_timer_t timer;        /* attempt timeout or backoff wait */
    unsigned attempts_alive;
    bool stopping;
    bool timer_closed;
    char *spool_dir; /* the data folder, where the spool file goes */
    webhook_journal_t journal;
    bool journaling; /* set once the spool of the last run is restored */
};

static void start_attempt(webhook_t *webhook);

int webhook_parse_url(const char *url, webhook_url_t *out)
{
    static const char scheme[] = "http://";
    const char *host = url + sizeof(scheme) - 1;
    const char *host_end;
    const char *path;
    const char *port = NULL;
    size_t host_len;

    memset(out, 0, sizeof(*out));
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return KADR_E_CONFIG;
    /* A fragment is never sent to the server: reject it as a mistake. */
    if (strchr(url, '#') != NULL)
        return KADR_E_CONFIG;
    path = host + strcspn(host, "/?");
    if (host[0] == '[') {
        host_end = memchr(host, ']', (size_t)(path - host));
        if (host_end == NULL)
            return KADR_E_CONFIG;
        host++;
        if (host_end + 1 < path) {
            if (host_end[1] != ':')
                return KADR_E_CONFIG;
            port = host_end + 2;
        }
    } else {
        host_end = memchr(host, ':', (size_t)(path - host));
        if (host_end != NULL)
            port = host_end + 1;
        else
            host_end = path;
    }
    host_len = (size_t)(host_end - host);
    if (host_len == 0 || host_len >= sizeof(out->host))
        return KADR_E_CONFIG;
    memcpy(out->host, host, host_len);
    if (port != NULL) {
        size_t port_len = (size_t)(path - port);
        long value;
        char *end;

        if (port_len == 0 || port_len >= sizeof(out->port))
            return KADR_E_CONFIG;
        memcpy(out->port, port, port_len);
        value = strtol(out->port, &end, 10);
        if (*end != '\0' || value < 1 || value > 65535)
            return KADR_E_CONFIG;
    } else {
        strcpy(out->port, "80");
    }
    if (strlen(path) + 2 > sizeof(out->path))
        return KADR_E_CONFIG;
    snprintf(out->path, sizeof(out->path), "%s%s", *path == '/' ? "" : "/",
             path);
    for (const char *p = out->path; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return KADR_E_CONFIG;
    }
    return 0;
}

static void maybe_free(webhook_t *webhook)
{
    if (webhook->stopping && webhook->timer_closed &&
        webhook->attempts_alive == 0) {
        free(webhook->spool_dir);
        free(webhook);
    }
}

static void free_attempt(struct attempt *a)
{
    webhook_t *webhook = a->webhook;

    free(a->request);
    free(a);
    webhook->attempts_alive--;
    maybe_free(webhook);
}

static void on_attempt_closed(uv_handle_t *handle)
{
    struct attempt *a = handle->data;

    a->tcp_inited = false;
    if (!a->resolving)
        free_attempt(a);
}

/* Detaches the attempt from the webhook; it frees itself once its
 * resolve and socket are done. */
static void end_attempt(webhook_t *webhook)
{
    struct attempt *a = webhook->attempt;

    webhook->attempt = NULL;
    uv_timer_stop(&webhook->timer);
    if (a == NULL)
        return;
    a->dead = true;
    if (a->tcp_inited) {
        if (!uv_is_closing((uv_handle_t *)&a->tcp))
            uv_close((uv_handle_t *)&a->tcp, on_attempt_closed);
    } else if (!a->resolving) {
        free_attempt(a);
    }
}

static void journal_failed(int rc)
{
    if (rc < 0)
        log_error("webhook.journal_failed",
                  "file=%s error=\"%s\" detail=\"the file is rewritten "
                  "from the queue at the next write that succeeds\"",
                  WEBHOOK_SPOOL_FILE, kadr_strerror(rc));
}

/* Returns the bodies of the queued events, oldest first, in a malloc'd
 * array of webhook->queued entries (borrowed strings), or NULL. */
static const char **queue_bodies(const webhook_t *webhook)
{
    const char **bodies = calloc(webhook->queued, sizeof(*bodies));
    size_t count = 0;

    if (bodies == NULL)
        return NULL;
    for (struct event *ev = webhook->head; ev != NULL; ev = ev->next)
        bodies[count++] = ev->body;
    return bodies;
}

/* Rewrites the journal from the queue and gives each queued event its
 * number there. A failed rewrite leaves the numbers as they were. */
static void journal_rewrite_queue(webhook_t *webhook)
{
    const char **bodies = queue_bodies(webhook);
    uint64_t number = 0;
    int rc;

    if (bodies == NULL)
        return;
    rc = webhook_journal_rewrite(&webhook->journal, bodies, webhook->queued);
    free(bodies);
    journal_failed(rc);
    if (rc != 0)
        return;
    for (struct event *ev = webhook->head; ev != NULL; ev = ev->next) {
        ev->journaled = true;
        ev->number = number++;
    }
}

/* Rewrites the journal after a line was written (rc 0) when it lags the
 * queue since an earlier failure, when it is broken (rc 1), or when its
 * removal lines pile up. */
static void journal_catch_up(webhook_t *webhook, int rc)
{
    webhook_journal_t *journal = &webhook->journal;

    journal_failed(rc);
    if (rc > 0 || (rc == 0 && webhook_journal_behind(journal)) ||
        webhook_journal_bloated(journal, webhook->queued))
        journal_rewrite_queue(webhook);
}

/* Records in the journal that ev left the queue, which has `queued`
 * events left. */
static void journal_forget(webhook_t *webhook, const struct event *ev)
{
    if (!webhook->journaling)
        return;
    if (webhook->queued == 0) {
        journal_failed(webhook_journal_clear(&webhook->journal));
        return;
    }
    if (ev->journaled)
        journal_catch_up(webhook,
                         webhook_journal_remove(&webhook->journal, ev->number));
    else if (webhook->journal.broken ||
             webhook_journal_bloated(&webhook->journal, webhook->queued))
        journal_rewrite_queue(webhook);
}

/* Unlinks ev, whose predecessor is prev (NULL for the head), and frees
 * it. */
static void remove_event(webhook_t *webhook, struct event *prev,
                         struct event *ev)
{
    if (prev == NULL)
        webhook->head = ev->next;
    else
        prev->next = ev->next;
    if (webhook->tail == ev)
        webhook->tail = prev;
    webhook->queued--;
    journal_forget(webhook, ev);
    free(ev->body);
    free(ev);
}

static void pop_event(webhook_t *webhook)
{
    remove_event(webhook, NULL, webhook->head);
}

static void next_event(webhook_t *webhook)
{
    if (webhook->head != NULL && webhook->enabled && !webhook->stopping)
        start_attempt(webhook);
}

static void on_backoff(uv_timer_t *timer)
{
    webhook_t *webhook = timer->data;

    webhook->waiting = false;
    next_event(webhook);
}

static uint64_t backoff_for(const webhook_t *webhook, unsigned tries)
{
    uint64_t wait = webhook->backoff_ms;

    for (unsigned i = 1; i < tries && wait < WEBHOOK_MAX_BACKOFF_MS; i++)
        wait *= 2;
    return wait < WEBHOOK_MAX_BACKOFF_MS ? wait : WEBHOOK_MAX_BACKOFF_MS;
}

/* Ends the attempt on the head event: drops the event after its last
 * try, or waits and tries again. */
static void fail_attempt(webhook_t *webhook, const char *error, int status)
{
    struct event *ev = webhook->head;
    uint64_t wait;

    end_attempt(webhook);
    ev->tries++;
    if (ev->tries >= webhook->max_tries) {
        metrics_add(webhook->metrics->webhook_dropped, 1);
        log_error("webhook.dropped", "media=%s tries=%u status=%d error=\"%s\"",
                  ev->media_id, ev->tries, status, error);
        pop_event(webhook);
        next_event(webhook);
        return;
    }
    wait = backoff_for(webhook, ev->tries);
    metrics_add(webhook->metrics->webhook_retries, 1);
    log_warn("webhook.retry",
             "media=%s try=%u status=%d error=\"%s\" wait_ms=%llu",
             ev->media_id, ev->tries, status, error, (unsigned long long)wait);
    webhook->waiting = true;
    uv_timer_start(&webhook->timer, on_backoff, wait, 0);
}

static void finish_reply(webhook_t *webhook, struct attempt *a)
{
    struct event *ev = webhook->head;
    int status = a->status;

    if (status < 200 || status > 299) {
        fail_attempt(webhook, "not_2xx", status);
        return;
    }
    end_attempt(webhook);
    metrics_add(webhook->metrics->webhook_sent, 1);
    log_info("webhook.sent", "media=%s status=%d tries=%u", ev->media_id,
             status, ev->tries + 1);
    pop_event(webhook);
    next_event(webhook);
}

static int on_reply_headers(http_parser *parser)
{
    struct attempt *a = parser->data;

    a->status = (int)parser->status_code;
    return 0;
}

static int on_reply_complete(http_parser *parser)
{
    struct attempt *a = parser->data;

    a->reply_done = true;
    return 0;
}

static const http_parser_settings reply_settings = {
    .on_headers_complete = on_reply_headers,
    .on_message_complete = on_reply_complete,
};

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct attempt *a = handle->data;

    (void)suggested;
    *buf = uv_buf_init(a->buf, sizeof(a->buf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct attempt *a = stream->data;
    webhook_t *webhook = a->webhook;

    if (a->dead || nread == 0)
        return;
    if (nread > 0) {
        a->reply_bytes += (size_t)nread;
        http_parser_execute(&a->parser, &reply_settings, buf->base,
                            (size_t)nread);
    } else {
        /* EOF or an error: let a reply without Content-Length end. */
        http_parser_execute(&a->parser, &reply_settings, NULL, 0);
    }
    if (a->reply_done) {
        finish_reply(webhook, a);
    } else if (HTTP_PARSER_ERRNO(&a->parser) != HPE_OK) {
        fail_attempt(webhook, "bad_reply", a->status);
    } else if (a->reply_bytes > WEBHOOK_MAX_REPLY_BYTES) {
        fail_attempt(webhook, "reply_too_large", a->status);
    } else if (nread < 0) {
        fail_attempt(webhook,
                     nread == UV_EOF ? "closed_before_reply"
                                     : uv_err_name((int)nread),
                     a->status);
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct attempt *a = req->data;

    if (a->dead || status == 0)
        return;
    fail_attempt(a->webhook, uv_err_name(status), 0);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct attempt *a = req->data;
    uv_buf_t buf;
    int rc;

    if (a->dead)
        return;
    if (status != 0) {
        fail_attempt(a->webhook, uv_err_name(status), 0);
        return;
    }
    buf = uv_buf_init(a->request, (unsigned)strlen(a->request));
    a->write.data = a;
    rc = uv_write(&a->write, (uv_stream_t *)&a->tcp, &buf, 1, on_written);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read);
    if (rc != 0)
        fail_attempt(a->webhook, uv_err_name(rc), 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct attempt *a = req->data;
    int rc;

    a->resolving = false;
    if (a->dead) {
        uv_freeaddrinfo(res);
        if (!a->tcp_inited)
            free_attempt(a);
        return;
    }
    if (status != 0) {
        fail_attempt(a->webhook, uv_err_name(status), 0);
        return;
    }
    rc = uv_tcp_init(a->webhook->loop, &a->tcp);
    if (rc == 0) {
        a->tcp_inited = true;
        a->tcp.data = a;
        a->connect.data = a;
        rc = uv_tcp_connect(&a->connect, &a->tcp, res->ai_addr, on_connected);
    }
    uv_freeaddrinfo(res);
    if (rc != 0)
        fail_attempt(a->webhook, uv_err_name(rc), 0);
}

static void on_timeout(uv_timer_t *timer)
{
    fail_attempt(timer->data, "timed_out", 0);
}

static char *format_request(const webhook_t *webhook, const struct event *ev)
{
    const webhook_url_t *url = &webhook->url;
    bool ipv6 = strchr(url->host, ':') != NULL;
    char *text = NULL;

    if (asprintf(&text,
                 "POST %s HTTP/1.1\r\n"
                 "Host: %s%s%s:%s\r\n"
                 "User-Agent: kadrd\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 url->path, ipv6 ? "[" : "", url->host, ipv6 ? "]" : "",
                 url->port, ev->len, ev->body) < 0)
        return NULL;
    return text;
}

static void start_attempt(webhook_t *webhook)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct attempt *a;
    int rc;

    /* A journal left behind by a failed write is tried again here too,
     * so it catches up while events only wait for retries. */
    if (webhook->journaling && webhook_journal_behind(&webhook->journal))
        journal_rewrite_queue(webhook);
    a = calloc(1, sizeof(*a));
    if (a == NULL ||
        (a->request = format_request(webhook, webhook->head)) == NULL) {
        free(a);
        fail_attempt(webhook, "out_of_memory", 0);
        return;
    }
    a->webhook = webhook;
    webhook->attempts_alive++;
    webhook->attempt = a;
    http_parser_init(&a->parser, HTTP_RESPONSE);
    a->parser.data = a;
    a->resolver.data = a;
    uv_timer_start(&webhook->timer, on_timeout, webhook->timeout_ms, 0);
    rc = uv_getaddrinfo(webhook->loop, &a->resolver, on_resolved,
                        webhook->url.host, webhook->url.port, &hints);
    if (rc != 0) {
        fail_attempt(webhook, uv_err_name(rc), 0);
        return;
    }
    a->resolving = true;
}

int webhook_create(uv_loop_t *loop, metrics_t *metrics, webhook_t **out)
{
    webhook_t *webhook = calloc(1, sizeof(*webhook));
    int rc;

    if (webhook == NULL)
        return -ENOMEM;
    webhook->loop = loop;
    webhook->metrics = metrics;
    rc = uv_timer_init(loop, &webhook->timer);
    if (rc != 0) {
        free(webhook);
        return rc;
    }
    webhook->timer.data = webhook;
    *out = webhook;
    return 0;
}

/* Drops the oldest events that are not being sent until at most limit
 * are queued, or only the one being sent is left. */
static void trim_queue(webhook_t *webhook, uint64_t limit)
{
    while (webhook->queued > limit) {
        bool busy = webhook->attempt != NULL;
        struct event *victim = busy ? webhook->head->next : webhook->head;

        if (victim == NULL)
            return;
        metrics_add(webhook->metrics->webhook_dropped, 1);
        log_error("webhook.dropped", "media=%s error=queue_full",
                  victim->media_id);
        remove_event(webhook, busy ? webhook->head : NULL, victim);
    }
}

/* Makes room for one more event in a full queue. */
static void make_room(webhook_t *webhook)
{
    trim_queue(webhook, webhook->queue_max - 1);
}

static void drop_all(webhook_t *webhook)
{
    while (webhook->head != NULL) {
        metrics_add(webhook->metrics->webhook_dropped, 1);
        pop_event(webhook);
    }
}

int webhook_configure(webhook_t *webhook, const config_t *cfg, char *err,
                      size_t err_size)
{
    webhook_url_t url;

    if (webhook->spool_dir == NULL && cfg->data_dir != NULL) {
        webhook->spool_dir = strdup(cfg->data_dir);
        if (webhook->spool_dir == NULL)
            return -ENOMEM;
        webhook_journal_init(&webhook->journal, webhook->spool_dir);
    }
    if (cfg->webhook_url[0] == '\0') {
        end_attempt(webhook);
        webhook->waiting = false;
        drop_all(webhook);
        webhook->enabled = false;
        return 0;
    }
    if (webhook_parse_url(cfg->webhook_url, &url) != 0) {
        snprintf(err, err_size, "invalid value for 'webhook_url'");
        return KADR_E_CONFIG;
    }
    webhook->url = url;
    webhook->enabled = true;
    webhook->max_tries =
        cfg->webhook_max_tries > 0 ? cfg->webhook_max_tries : 1;
    webhook->backoff_ms = cfg->webhook_backoff_ms;
    webhook->timeout_ms =
        cfg->webhook_timeout_ms > 0 ? cfg->webhook_timeout_ms : 1;
    webhook->queue_max =
        cfg->webhook_queue_max > 0 ? cfg->webhook_queue_max : 1;
    /* A smaller webhook_queue_max applies to the events waiting now. */
    trim_queue(webhook, webhook->queue_max);
    return 0;
}

static char *format_event(const char *media_id, const char *status,
                          const char *kind, const char *error)
{
    char event[32];
    json_t *doc;
    char *text;

    snprintf(event, sizeof(event), "media.%s", status);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I}", "event", event, "id",
                    media_id, "status", status, "kind", kind, "error",
                    error != NULL && error[0] != '\0' ? json_string(error)
                                                      : json_null(),
                    "time", (json_int_t)time(NULL));
    if (doc == NULL)
        return NULL;
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* Appends the line of ev, the newest queued event, to the journal. */
static void journal_record(webhook_t *webhook, struct event *ev)
{
    int rc = webhook_journal_append(&webhook->journal, ev->body, ev->len,
                                    &ev->number);

    ev->journaled = rc == 0;
    journal_catch_up(webhook, rc);
}

/* Queues an event with body (JSON, malloc'd, owned from here on). */
static void push_event(webhook_t *webhook, const char *media_id, char *body)
{
    struct event *ev = body != NULL ? calloc(1, sizeof(*ev)) : NULL;

    if (ev == NULL) {
        free(body);
        metrics_add(webhook->metrics->webhook_dropped, 1);
        log_error("webhook.dropped", "media=%s error=out_of_memory", media_id);
        return;
    }
    ev->body = body;
    snprintf(ev->media_id, sizeof(ev->media_id), "%s", media_id);
    ev->len = strlen(ev->body);
    make_room(webhook);
    if (webhook->tail != NULL)
        webhook->tail->next = ev;
    else
        webhook->head = ev;
    webhook->tail = ev;
    webhook->queued++;
    if (webhook->journaling)
        journal_record(webhook, ev);
    if (webhook->attempt == NULL && !webhook->waiting)
        start_attempt(webhook);
}

void webhook_notify(webhook_t *webhook, const char *media_id,
                    const char *status, const char *kind, const char *error)
{
    if (webhook == NULL || !webhook->enabled || webhook->stopping)
        return;
    push_event(webhook, media_id, format_event(media_id, status, kind, error));
}

struct restore {
    webhook_t *webhook;
    unsigned skipped;
};

/* Queues one spooled event again, if it is a JSON object with one "id"
 * that is shaped like a media id. The check matters because the file may
 * have been edited, and the id is logged and sent without escaping. */
static void restore_line(void *ctx, const char *line, size_t len)
{
    struct restore *r = ctx;
    json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    const char *id = json_string_value(json_object_get(doc, "id"));
    char *body = NULL;

    if (id != NULL && media_id_valid(id, strlen(id)))
        body = strndup(line, len);
    if (body != NULL && r->webhook->enabled) {
        push_event(r->webhook, id, body);
    } else {
        free(body);
        r->skipped++;
    }
    json_decref(doc);
}

/* Starts the journal of this run from the restored queue: the file of
 * the last run is replaced by the queue, or emptied when nothing is
 * queued, so no event sent or dropped in this run comes back. */
static void journal_start(webhook_t *webhook)
{
    webhook->journaling = true;
    if (webhook->queued > 0)
        journal_rewrite_queue(webhook);
    else
        journal_failed(webhook_journal_clear(&webhook->journal));
}

void webhook_restore(webhook_t *webhook)
{
    struct restore r = {webhook, 0};
    int rc;

    if (webhook == NULL || webhook->spool_dir == NULL)
        return;
    rc = webhook_spool_load(webhook->spool_dir, restore_line, &r);
    if (rc < 0) {
        /* The file stays as it was, and this run keeps its events in
         * memory only. */
        log_error("webhook.restore_failed",
                  "file=%s/%s error=\"%s\" detail=\"%s\"", webhook->spool_dir,
                  WEBHOOK_SPOOL_FILE,
                  rc == -EINVAL ? "not a regular file" : kadr_strerror(rc),
                  "events are kept in memory only until a restart, so move "
                  "the file away and restart to keep them across a crash");
        return;
    }
    journal_start(webhook);
    if (rc == 0)
        return;
    if (r.skipped > 0)
        metrics_add(webhook->metrics->webhook_dropped, r.skipped);
    /* A full queue has dropped and logged the oldest events already. */
    log_info("webhook.restored", "queued=%zu skipped=%u", webhook->queued,
             r.skipped);
}

/* Frees the queue without touching the journal, at a stop. */
static void free_queue(webhook_t *webhook)
{
    webhook->journaling = false;
    while (webhook->head != NULL)
        pop_event(webhook);
}

/* Returns true when every queued event has its line in the journal and
 * every event that left has its removal line. */
static bool journal_current(webhook_t *webhook)
{
    if (!webhook->journaling || webhook_journal_behind(&webhook->journal))
        return false;
    for (struct event *ev = webhook->head; ev != NULL; ev = ev->next) {
        if (!ev->journaled)
            return false;
    }
    return true;
}

/* Writes the queued events to the spool, oldest first. Returns 0 when
 * they are saved (or there are none). */
static int save_queue(webhook_t *webhook)
{
    const char **bodies;
    size_t count = webhook->queued;
    int rc;

    if (count == 0)
        return 0;
    if (webhook->spool_dir == NULL)
        return KADR_E_BAD_INPUT;
    bodies = queue_bodies(webhook);
    if (bodies == NULL)
        return -ENOMEM;
    rc = webhook_spool_save(webhook->spool_dir, bodies, count);
    free(bodies);
    if (rc != 0 && journal_current(webhook)) {
        /* The journal lists the queue already, so the next start reads
         * it from there. */
        log_warn("webhook.save_failed",
                 "count=%zu error=\"%s\" detail=\"the journal keeps the "
                 "queue\"",
                 count, kadr_strerror(rc));
        rc = 0;
    } else if (rc != 0) {
        log_error("webhook.save_failed", "count=%zu error=\"%s\"", count,
                  kadr_strerror(rc));
        return rc;
    }
    log_info("webhook.saved", "count=%zu file=%s/%s", count, webhook->spool_dir,
             WEBHOOK_SPOOL_FILE);
    free_queue(webhook);
    return 0;
}

static void on_timer_closed(uv_handle_t *handle)
{
    webhook_t *webhook = handle->data;

    webhook->timer_closed = true;
    maybe_free(webhook);
}

/* The receiver may get an event twice: one in flight when kadrd stopped
 * is saved too. */
void webhook_stop(webhook_t *webhook)
{
    if (webhook == NULL)
        return;
    webhook->stopping = true;
    end_attempt(webhook);
    if (save_queue(webhook) != 0 && webhook->queued > 0)
        log_warn("webhook.dropped", "count=%zu error=shutting_down",
                 webhook->queued);
    /* Events a failed save leaves stay in the journal for the next
     * start. */
    webhook->journaling = false;
    drop_all(webhook);
    if (webhook->spool_dir != NULL)
        webhook_journal_close(&webhook->journal);
    uv_close((uv_handle_t *)&webhook->timer, on_timer_closed);
}
