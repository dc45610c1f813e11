#include "run/http.h"

#include "clock.h"
#include "fiber.h"
#include "model/url.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#define POOL 64 /* idle easy handles kept for transfers in flight together */

struct sc_http {
    CURL *curl; /* reused: keeps connections alive between steps */
    struct sc_http_transport tr; /* scenarist test: recorded answers, or a recorder */
    bool concurrent;  /* a read sent from a fiber yields while it waits */
    CURLM *multi;     /* those reads' transfers, sharing its connection cache */
    CURL *pool[POOL]; /* their idle handles */
    int npool;
    int inflight;     /* transfers in multi */
};

/* One request's transfer: what its callbacks fill and check. */
struct xfer {
    CURL *c;
    struct sc_http_resp *cur;
    bool too_big;
    bool write;     /* this request is a write: sent at most once */
    int sends;      /* how often curl went to send it during this transfer */
    const struct sc_http_req *req;
    bool refused;   /* before_send stopped it */
    struct sc_fiber *fiber; /* waiting on multi; NULL: sent blocking */
    bool done;
    CURLcode rc;
    json_t *last;   /* the last header line's value (in cur->headers), for an obs-fold line */
    enum sc_utf8_as last_as; /* how that header reads bytes that are not UTF-8 */
};

void sc_http_set_transport(struct sc_http *h, const struct sc_http_transport *t)
{
    h->tr = t ? *t : (struct sc_http_transport){0};
}

static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* curl (and OpenSSL under it) starts at the first request: an idle daemon's workers
 * would otherwise carry ~2 MB of TLS set-up that a store-only scenario never uses. */
struct sc_http *sc_http_new(void) { return sc_calloc(1, sizeof(struct sc_http)); }

static CURL *handle(struct sc_http *h)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    if (!h->curl)
        h->curl = curl_easy_init();
    return h->curl;
}

void sc_http_free(struct sc_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    for (int i = 0; i < h->npool; i++)
        curl_easy_cleanup(h->pool[i]);
    curl_multi_cleanup(h->multi);
    free(h);
}

void sc_http_concurrent(struct sc_http *h, bool on) { h->concurrent = on; }

int sc_http_inflight(const struct sc_http *h) { return h->inflight; }

/* Marks the finished transfers of multi done and their fibers ready; how many. */
static int reap(struct sc_http *h)
{
    CURLMsg *m;
    int left, n = 0;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x)
            continue;
        x->done = true;
        x->rc = m->data.result;
        n++;
        if (x->fiber)
            sc_fiber_wake(x->fiber, true);
    }
    return n;
}

int sc_http_wait(struct sc_http *h, int64_t max_ms)
{
    if (!h->multi || !h->inflight)
        return 0;
    int running = 0;
    curl_multi_perform(h->multi, &running);
    if (reap(h) == 0 && running > 0 && max_ms > 0) { /* else the woken go first */
        curl_multi_poll(h->multi, NULL, 0, max_ms > 1000 ? 1000 : (int)max_ms, NULL);
        curl_multi_perform(h->multi, &running);
        reap(h);
    }
    return running;
}

void sc_http_resp_free(struct sc_http_resp *r)
{
    json_decref(r->headers);
    r->headers = NULL;
    free(r->location);
    r->location = NULL;
    sc_buf_free(&r->body);
}

bool sc_http_is_write(const char *m)
{
    return m && (!strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH") ||
                 !strcmp(m, "DELETE"));
}

void sc_http_escape(struct sc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            sc_buf_add(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sc_buf_add(b, e, 3);
        }
    }
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *h = ud;
    size_t len = size * n;
    if (h->cur->body.len + len > SC_HTTP_MAX_BODY) {
        h->too_big = true;
        return 0; /* aborts the transfer */
    }
    sc_buf_add(&h->cur->body, p, len);
    return h->cur->body.oom ? 0 : len;
}

/* Called before each sending of the request. A reused connection found dead makes curl
 * send it again on a fresh one, silently: for a write that could apply it twice, and
 * only the engine decides about writes (with the same Idempotency-Key and an audit row
 * per sending), so the second sending is stopped. */
static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port)
{
    struct xfer *h = ud;
    (void)ip, (void)local_ip, (void)port, (void)local_port;
    if (h->sends++ == 0) {
        h->refused = h->req->before_send && h->req->before_send(h->req->before_ud) != 0;
        return h->refused ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
    }
    return h->write ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

/* A header line that starts with a space or tab (obs-fold): joined to the last value with
 * one space, as RFC 9110 5.5 has a user agent read it. 0, or -1 out of memory. */
static int fold(struct xfer *h, const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (!h->last || p == end)
        return 0; /* nothing to continue, or nothing to add */
    char *fixed = NULL;
    size_t n = (size_t)(end - p);
    if (sc_utf8_fix(p, n, h->last_as, &fixed, &n) != 0)
        return -1;
    struct sc_buf b = {0};
    sc_buf_add(&b, json_string_value(h->last), json_string_length(h->last));
    if (json_string_length(h->last))
        sc_buf_add(&b, " ", 1);
    sc_buf_add(&b, fixed ? fixed : p, n);
    free(fixed);
    int rc = b.data && !b.oom ? json_string_setn_nocheck(h->last, b.data, b.len) : -1;
    sc_buf_free(&b);
    return rc;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *h = ud;
    size_t len = size * n;
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) { /* a new status line: drop 1xx headers */
        json_object_clear(h->cur->headers);
        h->last = NULL;
        return len;
    }
    if (len && (*p == ' ' || *p == '\t')) /* an obs-fold line continues the last value */
        return fold(h, p, len) == 0 ? len : 0;
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p)
        return len;
    char buf[128], *name = buf;
    size_t nl = (size_t)(colon - p);
    if (nl >= sizeof buf && !(name = malloc(nl + 1)))
        return 0;
    for (size_t i = 0; i < nl; i++)
        name[i] = (char)tolower((unsigned char)p[i]);
    name[nl] = '\0';
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--; /* OWS, RFC 9110 5.6.3 */
    /* bytes that are not UTF-8 read as ISO-8859-1: kept, and JSON can hold them; in a URI
     * reference (Link, Location) as the %XX a client sends for them */
    h->last_as = !strcmp(name, "link") || !strcmp(name, "location") ? SC_UTF8_PERCENT
                                                                    : SC_UTF8_LATIN1;
    /* a repeated header keeps every value, in arrival order */
    h->last = sc_json_add_text(h->cur->headers, name, nl, v, (size_t)(end - v), h->last_as);
    if (name != buf)
        free(name);
    return h->last ? len : 0;
}

const char *sc_http_header(const json_t *headers, const char *name)
{
    json_t *v = json_object_get(headers, name);
    return json_string_value(json_is_array(v) ? json_array_get(v, json_array_size(v) - 1) : v);
}

/* Retry-After: delta-seconds or an HTTP date, measured against the engine's clock. */
static int64_t retry_after(json_t *headers)
{
    const char *v = sc_http_header(headers, "retry-after");
    if (!v || !*v)
        return -1;
    char *end;
    long long secs = strtoll(v, &end, 10);
    if (*end == '\0' && secs >= 0)
        return secs * 1000;
    time_t t = curl_getdate(v, NULL);
    if (t < 0)
        return -1;
    int64_t ms = (int64_t)t * 1000 - sc_clock_now_ms();
    return ms > 0 ? ms : 0;
}

static enum sc_status classify(long status)
{
    if (status < 400)
        return SC_OK;
    if (status == 429)
        return SC_ERR_RATE_LIMIT;
    if (status == 408 || status >= 500)
        return SC_ERR_SERVER;
    return SC_ERR_DATA;
}

static bool redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* True when a and b have the same scheme, host and port (RFC 6454 origin). */
static bool same_origin(const char *a, const char *b)
{
    struct sc_url ua, ub;
    char err[256];
    if (sc_url_parse(a, &ua, err, sizeof err) != 0)
        return false;
    bool same = false;
    if (sc_url_parse(b, &ub, err, sizeof err) == 0) {
        same = !strcmp(ua.scheme, ub.scheme) && !strcmp(ua.host, ub.host) && ua.port == ub.port;
        sc_url_free(&ub);
    }
    sc_url_free(&ua);
    return same;
}

/* Drops the " after N ms" (or "milliseconds") libcurl puts in its messages: the time a
 * failure took is noise in a stored error, and made equal failures read differently. */
static const char *drop_elapsed(char *msg)
{
    char *p = msg;
    while ((p = strstr(p, " after ")) != NULL) {
        char *d = p + 7, *e = d;
        while (*e >= '0' && *e <= '9')
            e++;
        size_t unit = !strncmp(e, " milliseconds", 13) ? 13 : !strncmp(e, " ms", 3) ? 3 : 0;
        if (e == d || !unit) {
            p += 7;
            continue;
        }
        memmove(p, e + unit, strlen(e + unit) + 1);
    }
    return msg;
}

/* Runs x's transfer: on the worker's multi while the fiber waits (the scheduler's
 * sc_http_wait wakes it), or in place when it cannot yield (the context could not be
 * parked), driving the multi itself; the others' transfers go on meanwhile. */
static CURLcode in_flight(struct sc_http *h, struct xfer *x)
{
    curl_easy_setopt(x->c, CURLOPT_PRIVATE, (char *)x);
    if (curl_multi_add_handle(h->multi, x->c) != CURLM_OK)
        return curl_easy_perform(x->c);
    h->inflight++;
    x->done = false;
    while (!x->done)
        if (!sc_fiber_yield())
            sc_http_wait(h, 1000);
    curl_multi_remove_handle(h->multi, x->c);
    h->inflight--;
    return x->rc;
}

/* One exchange; CURLE_OK or curl's code. */
static CURLcode perform(struct sc_http *h, struct xfer *x, const struct sc_http_req *req,
                        const char *method, const char *url, struct curl_slist *hl, char *cerr,
                        int64_t timeout_ms)
{
    CURL *c = x->c;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "scenarist/0.1");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, x);
    if (timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    if (req->tls_cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, req->tls_cert);
    if (req->tls_key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, req->tls_key);
    if (req->tls_key_pem) { /* copied by libcurl (CURL_BLOB_COPY), gone at the reset */
        struct curl_blob kb = {(void *)req->tls_key_pem, strlen(req->tls_key_pem),
                               CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kb);
    }
    if (req->tls_ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, req->tls_ca);
    if (req->username) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, req->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    }
    x->too_big = false;
    x->last = NULL;
    CURLcode rc = x->fiber ? in_flight(h, x) : curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    return rc;
}

/* A failed answer's error: its status and up to 200 bytes of its body, not cut inside a
 * UTF-8 character (a body that is not UTF-8 the step's error reads as ISO-8859-1). */
static void status_error(const struct sc_http_req *req, const struct sc_http_resp *resp,
                         char *err, size_t errlen)
{
    const char *b = resp->body.data ? resp->body.data : "";
    size_t show = resp->body.len > 200 ? 200 : resp->body.len;
    for (int k = 0; k < 3 && show < resp->body.len && ((unsigned char)b[show] & 0xC0) == 0x80; k++)
        show--; /* b[show] continues a character: end before it */
    snprintf(err, errlen, "%s %s: HTTP %ld%s%.*s%s", req->method, req->url, resp->status,
             show ? ": " : "", (int)show, b, resp->body.len > show ? "..." : "");
}

/* A 3xx that was not (or could not be) followed: a data error naming where it pointed. */
static enum sc_status redirect_error(const struct sc_http_req *req, const char *url,
                                     const struct sc_http_resp *resp, char *err, size_t errlen)
{
    const char *loc = resp->location;
    const char *why = !loc                            ? "without a Location"
                    : sc_http_is_write(req->method)   ? "a write never follows a redirect: "
                                                        "nothing was written there; point the "
                                                        "connection's base_url at the final address"
                    : req->max_redirects == 0         ? "not followed: follow_redirects is false"
                    : !same_origin(url, loc)          ? "to another origin: not followed"
                                                      : NULL;
    char many[64];
    if (!why) {
        snprintf(many, sizeof many, "one too many: reads follow up to %d", req->max_redirects);
        why = many;
    }
    if (loc)
        snprintf(err, errlen, "%s %s: HTTP %ld redirect to %s (%s)", req->method, req->url,
                 resp->status, loc, why);
    else
        snprintf(err, errlen, "%s %s: HTTP %ld %s", req->method, req->url, resp->status, why);
    return SC_ERR_DATA;
}

/* The request's headers as curl's list; NULL with *oom when memory ran out. */
static struct curl_slist *header_list(const struct sc_http_req *req, bool *oom)
{
    struct curl_slist *hl = NULL;
    *oom = false;
    for (const char *const *p = req->headers; p && *p; p++) {
        struct curl_slist *n = curl_slist_append(hl, *p);
        if (!n) {
            *oom = true;
            break;
        }
        hl = n;
    }
    if (!*oom && !req->body) { /* no "Expect: 100-continue" round trip on small bodies either */
        struct curl_slist *n = curl_slist_append(hl, "Expect:");
        *oom |= !n;
        hl = n ? n : hl;
    }
    if (*oom) {
        curl_slist_free_all(hl);
        hl = NULL;
    }
    return hl;
}

/* Sends, then follows a read's same-origin redirects up to max_redirects; the rest is
 * the caller's answer to judge (a write is never re-sent elsewhere). *url ends as the
 * last hop's (owned). */
static CURLcode exchange(struct sc_http *h, struct xfer *x, const struct sc_http_req *req,
                         struct curl_slist *hl, char *cerr, struct sc_http_resp *resp,
                         char **url)
{
    int64_t t0 = sc_clock_mono_ms();
    const char *method = req->method;
    CURLcode rc = *url ? CURLE_OK : CURLE_OUT_OF_MEMORY;
    for (int hops = 0; rc == CURLE_OK; hops++) {
        sc_buf_free(&resp->body);
        json_object_clear(resp->headers);
        int64_t left = req->timeout_ms - (sc_clock_mono_ms() - t0); /* for all the hops */
        if (req->timeout_ms > 0 && left <= 0) {
            rc = CURLE_OPERATION_TIMEDOUT;
            break;
        }
        rc = perform(h, x, req, method, *url, hl, cerr, req->timeout_ms > 0 ? left : 0);
        CURL *c = x->c;
        char *loc = NULL, *next;
        resp->status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
        free(resp->location);
        resp->location = loc ? sc_strdup(loc) : NULL;
        if (rc != CURLE_OK || !redirect(resp->status) || !loc || sc_http_is_write(method) ||
            hops >= req->max_redirects || !same_origin(*url, loc))
            break;
        if (!(next = sc_strdup(loc))) {
            rc = CURLE_OUT_OF_MEMORY;
            break;
        }
        free(*url);
        *url = next;
        if (resp->status == 303 && strcmp(method, "HEAD"))
            method = "GET";
    }
    resp->duration_ms = sc_clock_mono_ms() - t0;
    return rc;
}

/* What the exchange came to: a transfer that failed (too big, refused, a write's
 * second sending stopped, curl's error), a 3xx not followed, or the status's class. */
static enum sc_status outcome(struct xfer *h, const struct sc_http_req *req, CURLcode rc,
                              char *cerr, const char *url, struct sc_http_resp *resp,
                              char *err, size_t errlen)
{
    if (h->too_big) {
        snprintf(err, errlen, "%s %s: response body over the %u MiB limit", req->method,
                 req->url, SC_HTTP_MAX_BODY >> 20);
        return SC_ERR_LIMIT;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK && h->refused) {
        snprintf(err, errlen, "%s %s: not sent", req->method, req->url);
        return SC_ERR_RUNTIME;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK && h->write && h->sends > 1) {
        snprintf(err, errlen, "%s %s: the connection closed before an answer came; the write "
                 "was not sent again on a new connection", req->method, req->url);
        return SC_ERR_CONNECTION;
    }
    if (rc != CURLE_OK) {
        if (rc == CURLE_OPERATION_TIMEDOUT)
            snprintf(err, errlen, "%s %s: timed out after %lld ms", req->method, req->url,
                     (long long)req->timeout_ms);
        else
            snprintf(err, errlen, "%s %s: %s", req->method, req->url,
                     cerr[0] ? drop_elapsed(cerr) : curl_easy_strerror(rc));
        return rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR ? SC_ERR_RUNTIME
                                                                    : SC_ERR_CONNECTION;
    }
    resp->retry_after_ms = retry_after(resp->headers);
    enum sc_status st = classify(resp->status);
    if (resp->status >= 300 && resp->status < 400 && resp->status != 304)
        return redirect_error(req, url, resp, err, errlen);
    if (st != SC_OK)
        status_error(req, resp, err, errlen);
    return st;
}

/* A recorded answer in place of the network, classified as one that came over it. */
static enum sc_status replay(struct sc_http *h, const struct sc_http_req *req,
                             struct sc_http_resp *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    if (req->before_send && req->before_send(req->before_ud)) {
        snprintf(err, errlen, "%s %s: not sent", req->method, req->url);
        return SC_ERR_RUNTIME;
    }
    char why[400] = "";
    if (h->tr.send(h->tr.ud, req, resp, why, sizeof why)) {
        sc_http_resp_free(resp);
        resp->status = 0;
        snprintf(err, errlen, "%s %s: %s", req->method, req->url, why);
        return SC_ERR_CONNECTION;
    }
    if (!resp->headers)
        resp->headers = json_object();
    resp->retry_after_ms = retry_after(resp->headers);
    enum sc_status st = classify(resp->status);
    if (st != SC_OK)
        status_error(req, resp, err, errlen);
    return st;
}

/* The handle a transfer uses: the worker's own for one sent blocking, else an idle one
 * of the pool (or a new one) for a read that waits on the multi. NULL out of memory. */
static CURL *take(struct sc_http *h, struct xfer *x, const struct sc_http_req *req)
{
    CURL *c = handle(h);
    if (!c)
        return NULL;
    x->fiber = NULL;
    if (!h->concurrent || !sc_fiber_current() || req->before_send || x->write)
        return c; /* a write never waits beside others: its audit row's commit, or an
                     oauth token's POST made under its cache entry's lock (run/oauth.c) */
    if (!h->multi) {
        if (!(h->multi = curl_multi_init()))
            return c;
        /* its cache would shrink with the handles in it (4 each): kept, a batch's
         * connections serve the next batch */
        curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)POOL);
    }
    CURL *p = h->npool ? h->pool[--h->npool] : curl_easy_init();
    if (p)
        x->fiber = sc_fiber_current();
    return p ? p : c;
}

static void give_back(struct sc_http *h, struct xfer *x)
{
    if (!x->fiber)
        return;
    if (h->npool < POOL)
        h->pool[h->npool++] = x->c;
    else
        curl_easy_cleanup(x->c);
}

enum sc_status sc_http_send(struct sc_http *h, const struct sc_http_req *req,
                            struct sc_http_resp *resp, char *err, size_t errlen)
{
    if (h->tr.send)
        return replay(h, req, resp, err, errlen);
    struct xfer x = {.write = sc_http_is_write(req->method), .req = req, .cur = resp};
    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    if (!(x.c = take(h, &x, req))) {
        snprintf(err, errlen, "out of memory (HTTP client)");
        return SC_ERR_RUNTIME;
    }
    resp->headers = json_object();
    bool oom = !resp->headers;
    struct curl_slist *hl = oom ? NULL : header_list(req, &oom);
    if (oom) {
        give_back(h, &x);
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    /* x.sends counts across the hops: before_send once, a write never sent twice */
    char cerr[CURL_ERROR_SIZE] = "";
    char *url = sc_strdup(req->url);
    CURLcode rc = exchange(h, &x, req, hl, cerr, resp, &url);
    curl_slist_free_all(hl);
    give_back(h, &x);
    enum sc_status st = outcome(&x, req, rc, cerr, url, resp, err, errlen);
    free(url);
    if (h->tr.seen && resp->status)
        h->tr.seen(h->tr.ud, req, resp);
    return st;
}
