/* The read path: media JSON, and variant bytes with ranges and
 * conditional requests, sent with sendfile from the volume. One read
 * transaction finds the record and the blob; the bytes then go straight
 * from the volume file to the socket. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "access.h"
#include "blob_cache.h"
#include "http_range.h"
#include "http_text.h"
#include "log.h"
#include "media_cache.h"
#include "read_txn.h"
#include "routes.h"
#include "variants.h"
#include "video_running.h"

#define IMMUTABLE_CACHE "public, max-age=31536000, immutable"
/* Paid bytes: a browser may keep them, no shared cache may store them. */
#define PAID_CACHE "private, max-age=3600"
/* Longest MIME type of a variant, for the multipart part headers. */
#define MULTIPART_PART_HEAD_MAX 256

struct located {
    media_t media;
    store_blob_t blob;
    const char *mime;
};

static int find_media(app_t *app, const char *id, media_t *out)
{
    store_txn_t *txn;
    int rc = read_txn_begin(app, &txn);

    if (rc != 0)
        return rc;
    rc = media_load(txn, id, out);
    read_txn_end(app, txn);
    return rc;
}

static void respond_lookup_error(app_t *app, http_request_t *req, int rc)
{
    if (rc == KADR_E_NOT_FOUND) {
        routes_respond_error(app, req, 404, "not_found", "no such media");
        return;
    }
    log_error("media.read_failed", "req=%llu error=\"%s\"",
              (unsigned long long)req->id, kadr_strerror(rc));
    routes_respond_error(app, req, 500, "internal_error",
                         "reading the index failed");
}

void route_media_show(app_t *app, http_request_t *req, const char *id)
{
    media_t media;
    int rc = find_media(app, id, &media);

    if (rc != 0) {
        respond_lookup_error(app, req, rc);
        return;
    }
    if (media.status == MEDIA_PROCESSING) {
        /* A queued transcode shows 0 percent. */
        int percent = video_running_progress(id);

        media.progress = percent > 0 ? percent : 0;
    }
    routes_respond_json(app, req, 200, NULL,
                        media_to_json(&media, routes_has_api_key(app, req)));
}

/* Finds the blob of variant name, or of the original. */
static int locate_variant(app_t *app, const char *id, const char *name,
                          struct located *out)
{
    const kadr_hash_t *hash;
    store_txn_t *txn;
    int rc = read_txn_begin(app, &txn);

    if (rc != 0)
        return rc;
    rc = media_cache_load(txn, id, &out->media);
    if (rc != 0)
        goto done;
    if (strcmp(name, VARIANT_ORIGINAL) == 0) {
        hash = &out->media.original;
        out->mime = format_mime((kadr_format_t)out->media.format);
    } else {
        const media_variant_t *v = media_find_variant(&out->media, name);

        if (v == NULL) {
            rc = KADR_E_NOT_FOUND;
            goto done;
        }
        hash = &v->hash;
        out->mime = media_variant_mime(name);
    }
    rc = blob_cache_get(txn, hash, &out->blob);
    /* The ETag is the blob hash; keep a copy past the transaction. */
    out->media.original = *hash;
done:
    read_txn_end(app, txn);
    return rc;
}

/* Compares an If-None-Match or If-Range list with our strong ETag. weak
 * allows W/ tags to match, as If-None-Match's weak comparison does. */
static bool etag_list_matches(const char *list, const char *etag, bool weak)
{
    size_t len = strlen(etag);
    const char *p = list;

    while (*p != '\0') {
        bool is_weak = false;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*' && weak)
            return true;
        if (strncmp(p, "W/", 2) == 0) {
            is_weak = true;
            p += 2;
        }
        if (strncmp(p, etag, len) == 0 && (is_weak ? weak : true) &&
            (p[len] == '\0' || p[len] == ',' || p[len] == ' '))
            return true;
        p = strchr(p, ',');
        if (p == NULL)
            break;
    }
    return false;
}

/* Last-Modified dates already formatted, by time value. Read and written
 * on the loop thread only. */
#define MODIFIED_CACHE_SLOTS 256

struct modified_text {
    int64_t when;
    char text[HTTP_DATE_LEN + 1];
};

/* Returns the IMF-fixdate of when from a small direct-mapped cache, so
 * that the dates of the records being served are formatted once. */
static const char *modified_date(int64_t when)
{
    static struct modified_text cache[MODIFIED_CACHE_SLOTS];
    struct modified_text *slot = &cache[(uint64_t)when % MODIFIED_CACHE_SLOTS];

    if (slot->text[0] != '\0' && slot->when == when)
        return slot->text;
    if (!http_format_date((time_t)when, slot->text))
        (void)http_format_date(0, slot->text);
    slot->when = when;
    return slot->text;
}

/* Returns the tm_year of a two-digit year: in this century, unless that
 * is more than 50 years ahead, then in the one before (RFC 9110, section
 * 5.6.7). */
static int full_year(int two_digits)
{
    time_t now = time(NULL);
    struct tm today;
    int year;

    if (gmtime_r(&now, &today) == NULL)
        return two_digits;
    year = today.tm_year + 1900 - (today.tm_year + 1900) % 100 + two_digits;
    if (year > today.tm_year + 1900 + 50)
        year -= 100;
    return year - 1900;
}

/* Parses text in one of the three date forms of RFC 9110, section
 * 5.6.7: the IMF-fixdate, the obsolete RFC 850 form and asctime's. */
static bool parse_http_date(const char *text, int64_t *out)
{
    static const char *const forms[] = {
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    };

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct tm tm;
        const char *end;

        memset(&tm, 0, sizeof(tm));
        end = strptime(text, forms[i], &tm);
        if (end == NULL || *end != '\0')
            continue;
        if (i == 1)
            tm.tm_year = full_year(tm.tm_year % 100);
        *out = (int64_t)timegm(&tm);
        return true;
    }
    return false;
}

/* RFC 9110 section 13.2.2: If-None-Match first, then If-Modified-Since. */
static bool not_modified(const http_request_t *req, const char *etag,
                         int64_t modified)
{
    const char *inm = http_request_header(req, "if-none-match");
    const char *ims = http_request_header(req, "if-modified-since");
    int64_t since;

    if (inm != NULL)
        return etag_list_matches(inm, etag, true);
    if (ims != NULL && parse_http_date(ims, &since))
        return modified <= since;
    return false;
}

/* If-Range: the range applies only when the validator still matches. */
static bool range_allowed(const http_request_t *req, const char *etag,
                          int64_t modified)
{
    const char *if_range = http_request_header(req, "if-range");
    int64_t date;

    if (if_range == NULL)
        return true;
    if (if_range[0] == '"')
        return strcmp(if_range, etag) == 0;
    return parse_http_date(if_range, &date) && date == modified;
}

/* NOTE: public variants are sent as immutable for a year, so a switch
 * from public to paid cannot recall copies that CDNs and browsers already
 * hold; those need a purge at the CDN. */
static const char *cache_policy(const struct located *loc, const char *name)
{
    if (strcmp(name, VARIANT_ORIGINAL) == 0)
        return "private, no-store";
    if (loc->media.access == MEDIA_PAID && !access_variant_is_free(name))
        return PAID_CACHE;
    return IMMUTABLE_CACHE;
}

static int build_headers(char *out, size_t size, const struct located *loc,
                         const char *name, const char *etag)
{
    http_text_t t;

    http_text_init(&t, out, size);
    http_text_put(&t, "Content-Type: ", 14);
    http_text_puts(&t, loc->mime);
    http_text_put(&t, "\r\nETag: ", 8);
    http_text_puts(&t, etag);
    http_text_put(&t, "\r\nLast-Modified: ", 17);
    http_text_puts(&t, modified_date(loc->media.created));
    http_text_puts(&t, "\r\nAccept-Ranges: bytes\r\nCache-Control: ");
    http_text_puts(&t, cache_policy(loc, name));
    http_text_put(&t, "\r\n", 2);
    return http_text_finish(&t, out);
}

static void send_range(app_t *app, http_request_t *req, char *headers,
                       size_t size, int fd, const struct located *loc,
                       const http_byte_range_t *r)
{
    size_t used = strlen(headers);
    uint64_t len = r->last - r->first + 1;
    http_text_t t;

    http_text_init(&t, headers + used, size - used);
    http_text_put(&t, "Content-Range: bytes ", 21);
    http_text_put_u64(&t, r->first);
    http_text_put(&t, "-", 1);
    http_text_put_u64(&t, r->last);
    http_text_put(&t, "/", 1);
    http_text_put_u64(&t, loc->blob.length);
    http_text_put(&t, "\r\n", 2);
    if (http_text_finish(&t, headers + used) < 0) {
        respond_lookup_error(app, req, KADR_E_TOO_LARGE);
        return;
    }
    metrics_add(app->metrics.responses[206], 1);
    if (req->method == HTTP_M_GET)
        metrics_add(app->metrics.bytes_out, len);
    http_respond_file_shared(req, 206, headers, fd, loc->blob.offset + r->first,
                             len);
}

/* Writes the head of part i of a multipart/byteranges body: the
 * delimiter (after a CRLF for every part but the first), Content-Type and
 * Content-Range. Returns its length or -1. */
static int write_part_head(char *out, size_t size, size_t i,
                           const char *boundary, const struct located *loc,
                           const http_byte_range_t *r)
{
    int n = snprintf(out, size,
                     "%s--%s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64
                     "\r\n\r\n",
                     i == 0 ? "" : "\r\n", boundary, loc->mime, r->first,
                     r->last, loc->blob.length);

    return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Sends several ranges as multipart/byteranges (RFC 9110, section
 * 14.6): part heads from memory and part bodies with sendfile. */
static void send_multipart(app_t *app, http_request_t *req, char *headers,
                           size_t size, int fd, const struct located *loc,
                           const char *etag, const http_range_set_t *set)
{
    char text[HTTP_RANGE_MAX + 1][MULTIPART_PART_HEAD_MAX];
    http_body_part_t parts[HTTP_RANGE_MAX + 1];
    char boundary[32];
    char *type_line;
    char *type_end;
    uint64_t bytes = 0;
    size_t i;

    /* The boundary is a fixed word and part of the ETag: a blob that
     * contains it would need to contain that hash of itself. */
    snprintf(boundary, sizeof(boundary), "kadr-%.20s", etag + 1);
    for (i = 0; i < set->count; i++) {
        const http_byte_range_t *r = &set->ranges[i];
        int n = write_part_head(text[i], sizeof(text[i]), i, boundary, loc, r);

        if (n < 0) {
            respond_lookup_error(app, req, KADR_E_TOO_LARGE);
            return;
        }
        parts[i] =
            (http_body_part_t){text[i], (size_t)n, loc->blob.offset + r->first,
                               r->last - r->first + 1};
        bytes += parts[i].file_len;
    }
    snprintf(text[i], sizeof(text[i]), "\r\n--%s--\r\n", boundary);
    parts[i] = (http_body_part_t){text[i], strlen(text[i]), 0, 0};
    /* Replace the representation's Content-Type with the multipart one. */
    type_line = strstr(headers, "Content-Type: ");
    type_end = type_line != NULL ? strstr(type_line, "\r\n") : NULL;
    if (type_end != NULL)
        memmove(type_line, type_end + 2, strlen(type_end + 2) + 1);
    snprintf(headers + strlen(headers), size - strlen(headers),
             "Content-Type: multipart/byteranges; boundary=%s\r\n", boundary);
    metrics_add(app->metrics.responses[206], 1);
    if (req->method == HTTP_M_GET)
        metrics_add(app->metrics.bytes_out, bytes);
    http_respond_parts(req, 206, headers, fd, parts, set->count + 1);
}

static void send_unsatisfiable(app_t *app, http_request_t *req,
                               const struct located *loc)
{
    static const char body[] = "{\"error\":\"range_not_satisfiable\","
                               "\"detail\":\"the range is past the end\"}";
    char headers[160];

    snprintf(headers, sizeof(headers),
             HTTP_ERROR_HEADERS "Content-Range: bytes */%" PRIu64 "\r\n",
             loc->blob.length);
    metrics_add(app->metrics.responses[416], 1);
    http_respond(req, 416, headers, body, sizeof(body) - 1);
}

static void send_body(app_t *app, http_request_t *req,
                      const struct located *loc, const char *name)
{
    char etag[KADR_HASH_HEX_LEN + 3];
    char headers[1024];
    http_range_set_t ranges;
    enum http_range_result kind = HTTP_RANGE_NONE;
    /* A volume fd stays valid through the request that looked it up
     * (store.h), and http_respond_file_shared() duplicates it before it
     * is used any later. */
    int fd = store_volume_fd(app->store, loc->blob.volume_id);

    if (fd < 0) {
        respond_lookup_error(app, req, fd);
        return;
    }
    etag[0] = '"';
    kadr_hash_to_hex(&loc->media.original, etag + 1);
    strcpy(etag + 1 + KADR_HASH_HEX_LEN, "\"");
    build_headers(headers, sizeof(headers), loc, name, etag);
    if (not_modified(req, etag, loc->media.created)) {
        metrics_add(app->metrics.responses[304], 1);
        http_respond(req, 304, headers, NULL, 0);
        return;
    }
    if (range_allowed(req, etag, loc->media.created))
        kind = http_range_parse(http_request_header(req, "range"),
                                loc->blob.length, &ranges);
    if (kind == HTTP_RANGE_UNSATISFIABLE) {
        send_unsatisfiable(app, req, loc);
        return;
    }
    if (kind == HTTP_RANGE_SATISFIABLE && ranges.count == 1) {
        send_range(app, req, headers, sizeof(headers), fd, loc,
                   &ranges.ranges[0]);
        return;
    }
    if (kind == HTTP_RANGE_SATISFIABLE) {
        send_multipart(app, req, headers, sizeof(headers), fd, loc, etag,
                       &ranges);
        return;
    }
    metrics_add(app->metrics.responses[200], 1);
    if (req->method == HTTP_M_GET)
        metrics_add(app->metrics.bytes_out, loc->blob.length);
    http_respond_file_shared(req, 200, headers, fd, loc->blob.offset,
                             loc->blob.length);
}

/* Sends a refused read with a fixed JSON body that no cache may store. */
static void send_denied(app_t *app, http_request_t *req, int status,
                        const char *body)
{
    metrics_add(app->metrics.responses[status], 1);
    http_respond(
        req, status,
        status == 401
            ? "Content-Type: application/json\r\n"
              "Cache-Control: private, no-store\r\n" ROUTES_KEY_CHALLENGE
            : "Content-Type: application/json\r\n"
              "Cache-Control: private, no-store\r\n",
        body, strlen(body));
}

/* The 401 for an original read without the front-end key. */
static const char unauthorized_body[] =
    "{\"error\": \"unauthorized\", \"detail\": \"the original needs a "
    "front-end key in X-Api-Key\"}\n";

/* The same 403 for every token denial, so the client learns no reason. */
static const char forbidden_body[] =
    "{\"error\": \"forbidden\", \"detail\": \"this media needs a valid "
    "access token\"}\n";

void route_variant(app_t *app, http_request_t *req, const char *id,
                   const char *name)
{
    struct located loc;
    int rc = locate_variant(app, id, name, &loc);

    if (rc == KADR_E_NOT_FOUND) {
        routes_respond_error(app, req, 404, "not_found",
                             "no such media or variant");
        return;
    }
    if (rc != 0) {
        respond_lookup_error(app, req, rc);
        return;
    }
    switch (access_may_read(app, req, &loc.media, name)) {
    case ACCESS_ALLOWED:
        break;
    case ACCESS_NEEDS_KEY:
        send_denied(app, req, 401, unauthorized_body);
        return;
    case ACCESS_DENIED:
        send_denied(app, req, 403, forbidden_body);
        return;
    }
    send_body(app, req, &loc, name);
}
