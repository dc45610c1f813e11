#include "http.h"

#include "clock.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

struct sc_http {
    CURL *curl; /* reused: keeps connections alive between steps */
    struct sc_http_resp *cur;
    bool too_big;
    bool write;     /* this request is a write: sent at most once */
    int sends;      /* how often curl went to send it during this transfer */
    const struct sc_http_req *req;
    bool refused;   /* before_send stopped it */
};

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
    free(h);
}

void sc_http_resp_free(struct sc_http_resp *r)
{
    json_decref(r->headers);
    r->headers = NULL;
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
    struct sc_http *h = ud;
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
    struct sc_http *h = ud;
    (void)ip, (void)local_ip, (void)port, (void)local_port;
    if (h->sends++ == 0) {
        h->refused = h->req->before_send && h->req->before_send(h->req->before_ud) != 0;
        return h->refused ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
    }
    return h->write ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct sc_http *h = ud;
    size_t len = size * n;
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) { /* a new status line: drop 1xx headers */
        json_object_clear(h->cur->headers);
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p)
        return len;
    char name[128];
    size_t nl = (size_t)(colon - p);
    if (nl >= sizeof name)
        return len;
    for (size_t i = 0; i < nl; i++)
        name[i] = (char)tolower((unsigned char)p[i]);
    name[nl] = '\0';
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    json_t *val = json_stringn_nocheck(v, (size_t)(end - v));
    if (!val || json_object_set_new(h->cur->headers, name, val) != 0)
        return 0;
    return len;
}

/* Retry-After: delta-seconds or an HTTP date, measured against the engine's clock. */
static int64_t retry_after(json_t *headers)
{
    const char *v = json_string_value(json_object_get(headers, "retry-after"));
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

enum sc_status sc_http_send(struct sc_http *h, const struct sc_http_req *req,
                            struct sc_http_resp *resp, char *err, size_t errlen)
{
    CURL *c = handle(h);
    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    if (!c) {
        snprintf(err, errlen, "out of memory (HTTP client)");
        return SC_ERR_RUNTIME;
    }
    resp->headers = json_object();
    if (!resp->headers) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    h->cur = resp;
    h->too_big = false;
    char cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hl = NULL;
    bool oom = false;
    for (const char *const *p = req->headers; p && *p; p++) {
        struct curl_slist *n = curl_slist_append(hl, *p);
        if (!n) {
            oom = true;
            break;
        }
        hl = n;
    }
    if (!req->body) { /* no "Expect: 100-continue" round trip on small bodies either */
        struct curl_slist *n = curl_slist_append(hl, "Expect:");
        oom |= !n;
        hl = n ? n : hl;
    }
    if (oom) {
        curl_slist_free_all(hl);
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "scenarist/0.1");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    h->write = sc_http_is_write(req->method);
    h->sends = 0;
    h->req = req;
    h->refused = false;
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, h);
    if (req->timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    if (req->username) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, req->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    if (!strcmp(req->method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(req->method, "GET"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    }
    int64_t t0 = sc_clock_mono_ms();
    CURLcode rc = curl_easy_perform(c);
    resp->duration_ms = sc_clock_mono_ms() - t0;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hl);
    h->cur = NULL;
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
                     cerr[0] ? cerr : curl_easy_strerror(rc));
        return rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR ? SC_ERR_RUNTIME
                                                                    : SC_ERR_CONNECTION;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->retry_after_ms = retry_after(resp->headers);
    enum sc_status st = classify(resp->status);
    if (st != SC_OK) {
        int show = resp->body.len > 200 ? 200 : (int)resp->body.len;
        snprintf(err, errlen, "%s %s: HTTP %ld%s%.*s%s", req->method, req->url, resp->status,
                 show ? ": " : "", show, resp->body.data ? resp->body.data : "",
                 resp->body.len > 200 ? "..." : "");
    }
    return st;
}
