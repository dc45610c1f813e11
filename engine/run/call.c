#include "run/call.h"

#include "clock.h"
#include "lang/duration.h"
#include "lang/text.h"
#include "model/url.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 64

/* Query values: strings as they are, numbers and booleans as JSON text, arrays as
 * repeated keys, null left out. */
static void add_pair(struct sc_buf *b, const char *k, json_t *v, char sep)
{
    if (json_is_null(v))
        return;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) add_pair(b, k, e, sep);
        return;
    }
    if (b->len && b->data[b->len - 1] != '?' && b->data[b->len - 1] != sep)
        sc_buf_add(b, &sep, 1);
    sc_http_escape(b, k, strlen(k));
    sc_buf_puts(b, "=");
    if (json_is_string(v)) {
        sc_http_escape(b, json_string_value(v), json_string_length(v));
    } else {
        char *t = sc_text_json(v, 0, false); /* 0.1, not 0.10000000000000001 */
        if (t)
            sc_http_escape(b, t, strlen(t));
        else
            b->oom = true;
        free(t);
    }
}

static enum sc_status fail(char *err, size_t errlen, enum sc_status st, const char *fmt,
                           const char *a, const char *b, const char *c)
{
    snprintf(err, errlen, fmt, a, b, c);
    return st;
}

struct headers {
    char *v[MAX_HEADERS + 1];
    bool mine[MAX_HEADERS]; /* set by the step */
    size_t n;
    bool oom;
};

static void header(struct headers *h, char *line)
{
    if (!line)
        h->oom = true;
    else if (h->n < MAX_HEADERS)
        h->v[h->n++] = line;
    else
        free(line);
}

/* Where a write without a JSON body came from and went, as headers (a JSON object body
 * carries them as fields instead); control and non-ASCII bytes percent-encoded. */
static void sent_headers(struct headers *h, const char *from, const char *to)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *names[2] = {"Scenarist-Sent-From", "Scenarist-Sent-To"}, *vals[2] = {from, to};
    for (int i = 0; i < 2; i++) {
        struct sc_buf b = {0};
        sc_buf_printf(&b, "%s: ", names[i]);
        for (const unsigned char *p = (const unsigned char *)vals[i]; *p; p++) {
            if (*p < 0x20 || *p >= 0x7f) {
                char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
                sc_buf_add(&b, e, 3);
            } else {
                sc_buf_add(&b, (const char *)p, 1);
            }
        }
        header(h, sc_buf_take(&b));
    }
}

/* A write's pending audit row, written by the HTTP client just before it sends. */
struct audit_ahead {
    struct sc_step_ctx *ctx;
    const struct sc_step_audit_row *row;
    int64_t id;                 /* the pending row; 0 none (not sent, or no store); -1 failed */
    char err[512];
};

static int audit_ahead(void *ud)
{
    struct audit_ahead *a = ud;
    a->id = sc_step_audit_ref(a->ctx, a->row, a->err, sizeof a->err);
    return a->id < 0;
}

/* The header with line's name (names ignore case), or -1. */
static long find_header(const struct headers *h, const char *line)
{
    size_t nl = strcspn(line, ":");
    for (size_t i = 0; i < h->n; i++)
        if (!strncasecmp(h->v[i], line, nl) && h->v[i][nl] == ':')
            return (long)i;
    return -1;
}

/* One of the engine's defaults: left out when the step set that header. */
static void header_default(struct headers *h, char *line)
{
    if (line && find_header(h, line) >= 0)
        free(line);
    else
        header(h, line);
}

/* One of the step's: replaces the engine's default of that name; -1 when the step set
 * the same header twice (two spellings of the name). */
static int header_step(struct headers *h, char *line)
{
    long i = line ? find_header(h, line) : -1;
    if (i >= 0 && h->mine[i]) {
        free(line);
        return -1;
    }
    if (i >= 0) {
        free(h->v[i]);
        h->v[i] = line;
    } else {
        size_t before = h->n;
        header(h, line);
        i = h->n > before ? (long)h->n - 1 : -1; /* -1: memory ran out, or too many */
    }
    if (i >= 0)
        h->mine[i] = true;
    return 0;
}

/* The offset of the first control byte of a header value (NUL included: it would cut the
 * value short; a tab is allowed, RFC 9110 section 5.5), or -1. */
static long header_ctl(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return (long)i;
    return -1;
}

static json_t *parse_body(const struct sc_http_resp *resp, const char *mode, char *err,
                          size_t errlen)
{
    const char *ct = sc_http_header(resp->headers, "content-type");
    bool as_json = !strcmp(mode, "json") ||
                   (!strcmp(mode, "auto") && ct && strstr(ct, "json") != NULL);
    if (!strcmp(mode, "none") || resp->body.len == 0)
        return json_null();
    if (!as_json) {
        json_t *t = json_stringn(resp->body.data, resp->body.len);
        if (!t)
            snprintf(err, errlen, "response body is not valid UTF-8 text");
        return t;
    }
    json_error_t je;
    size_t bom = resp->body.len >= 3 && !memcmp(resp->body.data, "\xEF\xBB\xBF", 3) ? 3 : 0;
    json_t *v = json_loadb(resp->body.data + bom, resp->body.len - bom, JSON_DECODE_ANY, &je);
    if (!v)
        snprintf(err, errlen, "response body is not valid JSON (line %d, column %d: %s)",
                 je.line, je.column, je.text);
    return v;
}

/* Why the request must not be sent (written to why), or SC_REFUSE_NONE. */
static enum sc_refusal refusal(const struct sc_org *org, const struct sc_call *c,
                               const struct sc_url *base, const struct sc_url *t, bool write,
                               char *why, size_t n)
{
    const char *ro, *ov;
    enum sc_refusal r = sc_org_check_target(org, c->connection, write, c->headers, base, t,
                                            &ro, &ov);
    switch (r) {
    case SC_REFUSE_NONE:
        break;
    case SC_REFUSE_CLIMB:
        snprintf(why, n, "path '%s' must stay under connection '%s' (%s)", c->path,
                 c->connection, base->full);
        break;
    case SC_REFUSE_ESCAPE:
        snprintf(why, n, "path '%s' holds %s", c->path,
                 sc_url_escape_why(t->flags));
        break;
    case SC_REFUSE_SLASH:
        snprintf(why, n, "%s refused: the path '%s' holds an encoded '/' or '\\' (%%2F, %%5C) "
                 "that a server may take for a separator (nothing was sent)", c->method, c->path);
        break;
    case SC_REFUSE_READ_ONLY:
        if (!strcmp(ro, c->connection))
            snprintf(why, n, "%s refused: connection '%s' is read-only in org '%s' (nothing was "
                     "sent)", c->method, ro, org->name);
        else
            snprintf(why, n, "%s refused: connection '%s' is read-only in org '%s' (nothing was "
                     "sent): %s lies under its base URL", c->method, ro, org->name, t->full);
        break;
    case SC_REFUSE_OVERRIDE:
        snprintf(why, n, "%s refused: %s%s%s asks for another method, and connection '%s' is "
                 "read-only in org '%s' (nothing was sent)", c->method,
                 strcmp(ov, "_method") ? "header '" : "the query key ", ov,
                 strcmp(ov, "_method") ? "'" : "", ro, org->name);
        break;
    }
    return r;
}

enum sc_status sc_call_connection(struct sc_step_ctx *ctx, const struct sc_call *c,
                                  json_t **output, char *err, size_t errlen)
{
    *output = NULL;
    const struct sc_org *org = sc_step_org(ctx);
    json_t *conn = org ? sc_org_connection(org, c->connection) : NULL;
    if (!conn)
        return fail(err, errlen, SC_ERR_CONFIG, "connection '%s' is not defined in org '%s'%s",
                    c->connection, org ? org->name : "(none)", "");
    bool write = sc_http_is_write(c->method);
    const char *base = json_string_value(json_object_get(conn, "base_url"));
    const struct sc_url *bu = sc_org_base(org, c->connection);
    struct sc_url t;
    if (!bu)
        return fail(err, errlen, SC_ERR_CONFIG, "connection '%s': base URL '%s' does not parse%s",
                    c->connection, base ? base : "", "");
    if (sc_url_join(bu, c->path, c->query, &t, err, errlen) != 0)
        return SC_ERR_DATA;
    char why[768];
    enum sc_refusal ref = refusal(org, c, bu, &t, write, why, sizeof why);
    if (ref != SC_REFUSE_NONE) { /* defence in depth: validation refuses it too, when it can see it */
        enum sc_status rst = fail(err, errlen, SC_ERR_DATA, "%s%s%s", why, "", "");
        if ((write || ref == SC_REFUSE_OVERRIDE || ref == SC_REFUSE_SLASH) &&
            sc_step_audit(ctx, c->method, t.full, 0, 0, NULL, 0, "refused") != 0)
            snprintf(err + strlen(err), errlen - strlen(err), "; the refusal could not be audited");
        sc_url_free(&t);
        return rst;
    }
    struct sc_buf url = {.data = t.full, .len = strlen(t.full)};
    t.full = NULL;
    sc_url_free(&t);

    /* Headers: ours first; a step's own header replaces ours of the same name. */
    struct headers h = {0};
    char *user = NULL, *secret = NULL;
    json_t *auth = json_object_get(conn, "auth");
    const char *kind = json_string_value(json_object_get(auth, "kind"));
    enum sc_status st = SC_OK;
    if (kind && strcmp(kind, "none")) {
        secret = sc_org_secret(json_string_value(json_object_get(auth, "secret")), err, errlen);
        if (!secret)
            st = SC_ERR_CONFIG;
        else if (!strcmp(kind, "bearer"))
            header(&h, sc_asprintf("Authorization: Bearer %s", secret));
        else if (!strcmp(kind, "api-key")) {
            const char *hn = json_string_value(json_object_get(auth, "header"));
            header(&h, sc_asprintf("%s: %s", hn ? hn : "X-API-Key", secret));
        } else if (!strcmp(kind, "basic"))
            user = sc_strdup(json_string_value(json_object_get(auth, "username")));
    }
    header(&h, sc_strdup("Accept: application/json"));
    const char *k;
    json_t *v;
    json_object_foreach(c->headers, k, v) {
        const char *hv = json_is_string(v) ? json_string_value(v) : NULL;
        long ctl = hv ? header_ctl(hv, json_string_length(v)) : -1;
        if (hv && st == SC_OK && (strpbrk(hv, "\r\n") || strpbrk(k, "\r\n: "))) {
            snprintf(err, errlen, "header '%s' holds a line break or is not a header name", k);
            st = SC_ERR_DATA;
        } else if (ctl >= 0 && st == SC_OK) {
            snprintf(err, errlen, "header '%s' holds the control character 0x%02X (byte %ld of "
                     "its value)", k, (unsigned)(unsigned char)hv[ctl], ctl + 1);
            st = SC_ERR_DATA;
        } else if (hv && header_step(&h, sc_asprintf("%s: %s", k, hv)) != 0 && st == SC_OK) {
            snprintf(err, errlen, "header '%s' is given twice (header names ignore case)", k);
            st = SC_ERR_DATA;
        }
    }
    if (write)
        header_default(&h, sc_asprintf("Idempotency-Key: %s",
                               c->idempotency_key ? c->idempotency_key
                                                  : sc_step_idempotency_key(ctx)));

    /* Body: a JSON object written carries where it came from and where it went. */
    char *body = NULL;
    size_t body_len = 0;
    if (st == SC_OK && c->json) {
        json_t *doc = c->json;
        json_t *copy = NULL;
        if (write && json_is_object(doc)) {
            copy = json_copy(doc);
            if (copy) {
                json_object_set_new(copy, "sent_from", json_string(sc_step_sent_from(ctx)));
                json_object_set_new(copy, "sent_to", json_stringn(url.data, url.len));
                doc = copy;
            }
        }
        body = sc_text_json(doc, 0, false); /* numbers in their shortest exact form */
        json_decref(copy);
        body_len = body ? strlen(body) : 0;
        header_default(&h, sc_strdup("Content-Type: application/json"));
        if (!body)
            h.oom = true;
    } else if (st == SC_OK && c->form) {
        struct sc_buf fb = {0};
        json_object_foreach(c->form, k, v) add_pair(&fb, k, v, '&');
        body_len = fb.len;
        body = sc_buf_take(&fb);
        header_default(&h, sc_strdup("Content-Type: application/x-www-form-urlencoded"));
        if (!body)
            h.oom = true;
    } else if (st == SC_OK && c->body) {
        body = sc_strdup(c->body);
        body_len = strlen(c->body);
        header_default(&h, sc_asprintf("Content-Type: %s",
                               c->content_type ? c->content_type : "text/plain; charset=utf-8"));
        if (!body)
            h.oom = true;
    }
    if (st == SC_OK && write && !(c->json && json_is_object(c->json)))
        sent_headers(&h, sc_step_sent_from(ctx), url.data ? url.data : "");
    if (st == SC_OK && (h.oom || url.oom || (kind && !strcmp(kind, "basic") && !user))) {
        snprintf(err, errlen, "out of memory");
        st = SC_ERR_RUNTIME;
    }

    int64_t timeout = c->timeout_ms > 0
                          ? c->timeout_ms
                          : sc_duration_or(json_string_value(json_object_get(conn, "timeout")), 30000);
    int64_t left = sc_step_abandon_left_ms(ctx); /* the daemon's grace past the deadline */
    if (left > 0 && left < timeout)
        timeout = left;
    struct sc_http_resp resp = {0};
    if (st == SC_OK) {
        struct sc_http_req req = {.method = c->method, .url = url.data,
                                  .headers = (const char *const *)h.v,
                                  .username = user, .password = secret, .body = body,
                                  .body_len = body_len, .timeout_ms = timeout,
                                  .max_redirects = c->no_redirects ? 0 : SC_CALL_MAX_REDIRECTS};
        /* write-ahead: the row is on disk before the request leaves (written once the
         * connection is made), so a send cut off by a crash still has its pending row */
        struct sc_step_audit_row aw = {c->method, url.data, 0, 0, body, body_len, "pending", 0};
        struct audit_ahead ahead = {.ctx = ctx, .row = &aw};
        if (write) {
            req.before_send = audit_ahead;
            req.before_ud = &ahead;
        }
        int64_t t0 = sc_clock_mono_ms();
        st = sc_http_send(sc_step_http(ctx), &req, &resp, err, errlen);
        if (ahead.id < 0) {
            snprintf(err, errlen, "%s %s was not sent: its audit row could not be written: %s",
                     c->method, url.data, ahead.err);
            st = strncmp(ahead.err, "audit key", 9) ? SC_ERR_RUNTIME : SC_ERR_CONFIG;
        }
        aw.status = resp.status;
        aw.duration_ms = sc_clock_mono_ms() - t0;
        aw.outcome = st == SC_OK ? "ok" : "failed";
        aw.ref = ahead.id; /* 0: never sent (no connection), one row says so */
        if (write && ahead.id >= 0 && sc_step_audit_ref(ctx, &aw, ahead.err, sizeof ahead.err) < 0 &&
            st == SC_OK) {
            snprintf(err, errlen, "%s %s was made but could not be written to the audit log",
                     c->method, url.data);
            st = SC_ERR_STORE;
        }
        if (resp.status) {
            char perr[256];
            json_t *parsed = parse_body(&resp, c->parse ? c->parse : "auto", perr, sizeof perr);
            *output = parsed ? json_pack("{s:i, s:O, s:o}", "status", (int)resp.status,
                                         "headers", resp.headers, "body", parsed)
                             : NULL;
            if (!parsed && st == SC_OK) {
                snprintf(err, errlen, "%s %s: %s", c->method, url.data, perr);
                st = SC_ERR_DATA;
            }
            if (st != SC_OK && resp.status >= 400 && sc_step_confidential(ctx))
                snprintf(err, errlen, "%s %s: HTTP %ld (body withheld: confidential scenario)",
                         c->method, url.data, resp.status);
            if (st != SC_OK) {
                sc_step_error_detail(ctx, "status", json_integer(resp.status));
                if (resp.location)
                    sc_step_error_detail(ctx, "location", json_string(resp.location));
                if (parsed && !sc_step_confidential(ctx))
                    sc_step_error_detail(ctx, "body", json_incref(parsed));
            }
            if (resp.retry_after_ms >= 0)
                sc_step_error_detail(ctx, "retry_after_ms", json_integer(resp.retry_after_ms));
        }
        sc_http_resp_free(&resp);
    }
    for (size_t i = 0; i < h.n; i++)
        free(h.v[i]);
    if (secret) { /* do not leave the secret in freed memory */
        memset(secret, 0, strlen(secret));
        free(secret);
    }
    free(user);
    free(body);
    sc_buf_free(&url);
    return st;
}
