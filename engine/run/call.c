#include "run/call.h"

#include "clock.h"
#include "util.h"
#include "run/throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The answer as the step's output; a failed answer's details go to the step's error. */
static enum sc_status answer(struct sc_step_ctx *ctx, const struct sc_request *req,
                             struct sc_http_resp *resp, const char *parse, enum sc_status st,
                             json_t **output, char *err, size_t errlen)
{
    char perr[256];
    json_t *parsed = parse_body(resp, parse ? parse : "auto", perr, sizeof perr);
    *output = parsed ? json_pack("{s:i, s:O, s:o}", "status", (int)resp->status, "headers",
                                 resp->headers, "body", parsed)
                     : NULL;
    if (!parsed && st == SC_OK) {
        snprintf(err, errlen, "%s %s: %s", req->method, req->url, perr);
        st = SC_ERR_DATA;
    }
    if (st != SC_OK && resp->status >= 400 && sc_step_confidential(ctx))
        snprintf(err, errlen, "%s %s: HTTP %ld (body withheld: confidential scenario)",
                 req->method, req->url, resp->status);
    if (st != SC_OK) {
        sc_step_error_detail(ctx, "status", json_integer(resp->status));
        if (resp->location)
            sc_step_error_detail(ctx, "location", json_string(resp->location));
        if (parsed && !sc_step_confidential(ctx))
            sc_step_error_detail(ctx, "body", json_incref(parsed));
    }
    if (resp->retry_after_ms >= 0)
        sc_step_error_detail(ctx, "retry_after_ms", json_integer(resp->retry_after_ms));
    return st;
}

/* Waits here at most this long for a throttled connection's slot; a longer wait parks the
 * execution till its slot (its worker serves other connections meanwhile). */
#define THROTTLE_IN_PLACE_MS 100

/* The test clock's time, sent to a throttled connection so that a test server counts its
 * rate windows on the same clock (tools/sandbox); never sent on the real clock. */
static int add_clock_header(struct sc_request *req)
{
    if (!sc_clock_is_test() || req->nheaders >= SC_REQUEST_MAX_HEADERS)
        return 0;
    char h[64];
    snprintf(h, sizeof h, "X-Test-Clock: %lld", (long long)sc_clock_now_ms());
    if (!(req->headers[req->nheaders] = sc_strdup(h)))
        return -1;
    req->headers[++req->nheaders] = NULL;
    return 0;
}

/* A slot for one request through conn: SC_OK to send (sc_throttle_done after); when the
 * execution parks till its slot (sc_step_defer, nothing sent), or on a failure: the step's time
 * ran out before a slot came. Waiting in place goes through the clock. */
static enum sc_status throttle(struct sc_step_ctx *ctx, const struct sc_org_conn *conn,
                               char *err, size_t errlen)
{
    const char *org = sc_step_org(ctx)->name;
    const char *key = sc_step_idempotency_key(ctx);
    bool realtime = sc_step_realtime(ctx);
    char none[200];
    struct sc_store *st = sc_step_store(ctx, none, sizeof none);
    for (;;) {
        int64_t now = sc_clock_now_ms(), wait = 0;
        enum sc_throttle_verdict v = sc_throttle_take(st, org, conn, key, realtime, now, &wait);
        if (v == SC_THROTTLE_GO)
            return SC_OK;
        int64_t left = sc_step_time_left_ms(ctx);
        if (v == SC_THROTTLE_WAIT && wait >= THROTTLE_IN_PLACE_MS) {
            char why[160];
            snprintf(why, sizeof why, "waiting for a slot of connection %s (rate %ld per %lld ms)",
                     conn->name, conn->rate_requests, (long long)conn->rate_per_ms);
            if (sc_step_defer(ctx, now + wait, why))
                return SC_ERR_RATE_LIMIT; /* disregarded: the engine parks the bundle */
        }
        if (left <= 0 || wait > left) {
            snprintf(err, errlen, "connection %s is throttled (%s): no slot within this step's "
                     "time left (%lld ms)", conn->name, v == SC_THROTTLE_BUSY
                     ? "its concurrency cap is reached" : "rate", (long long)(left > 0 ? left : 0));
            return SC_ERR_RATE_LIMIT;
        }
        if (v == SC_THROTTLE_WAIT)
            sc_clock_sleep_ms(wait);
        else
            sc_throttle_wait_free(org, conn, left < 1000 ? left : 1000);
    }
}

enum sc_status sc_call_send(struct sc_step_ctx *ctx, const struct sc_request *rq,
                            int max_redirects, const char *parse, json_t **output, char *err,
                            size_t errlen)
{
    *output = NULL;
    int64_t timeout = rq->timeout_ms;
    int64_t left = sc_step_abandon_left_ms(ctx); /* the daemon's grace past the deadline */
    if (left > 0 && left < timeout)
        timeout = left;
    struct sc_http_req req = {.method = rq->method, .url = rq->url,
                              .headers = (const char *const *)rq->headers,
                              .username = rq->username, .password = rq->password,
                              .body = rq->body, .body_len = rq->body_len, .timeout_ms = timeout,
                              .max_redirects = max_redirects};
    /* write-ahead: the row is on disk before the request leaves (written once the
     * connection is made), so a send cut off by a crash still has its pending row */
    struct sc_step_audit_row aw = {rq->method, rq->url, 0, 0, rq->body, rq->body_len,
                                   "pending", 0};
    struct audit_ahead ahead = {.ctx = ctx, .row = &aw};
    if (rq->write) {
        req.before_send = audit_ahead;
        req.before_ud = &ahead;
    }
    struct sc_http_resp resp = {0};
    int64_t t0 = sc_clock_mono_ms();
    enum sc_status st = sc_http_send(sc_step_http(ctx), &req, &resp, err, errlen);
    if (ahead.id < 0) {
        snprintf(err, errlen, "%s %s was not sent: its audit row could not be written: %s",
                 rq->method, rq->url, ahead.err);
        st = strncmp(ahead.err, "audit key", 9) ? SC_ERR_RUNTIME : SC_ERR_CONFIG;
    }
    aw.status = resp.status;
    aw.duration_ms = sc_clock_mono_ms() - t0;
    aw.outcome = st == SC_OK ? "ok" : "failed";
    aw.ref = ahead.id; /* 0: never sent (no connection), one row says so */
    if (rq->write && ahead.id >= 0 &&
        sc_step_audit_ref(ctx, &aw, ahead.err, sizeof ahead.err) < 0 && st == SC_OK) {
        snprintf(err, errlen, "%s %s was made but could not be written to the audit log",
                 rq->method, rq->url);
        st = SC_ERR_STORE;
    }
    if (resp.status)
        st = answer(ctx, rq, &resp, parse, st, output, err, errlen);
    sc_http_resp_free(&resp);
    return st;
}

enum sc_status sc_call_connection(struct sc_step_ctx *ctx, const struct sc_call *c,
                                  json_t **output, char *err, size_t errlen)
{
    *output = NULL;
    bool write = sc_http_is_write(c->method);
    struct sc_request req;
    enum sc_status st = sc_request_build(
        sc_step_org(ctx), c, write ? sc_step_sent_from(ctx) : NULL,
        write && !c->idempotency_key ? sc_step_idempotency_key(ctx) : NULL, &req, err, errlen);
    const struct sc_org_conn *oc = /* a slot before anything is sent */
        st == SC_OK ? sc_org_connection(sc_step_org(ctx), c->connection) : NULL;
    bool throttled = sc_throttle_applies(oc);
    if (throttled && (st = throttle(ctx, oc, err, errlen)) != SC_OK)
        throttled = false; /* no slot was taken */
    if (throttled && add_clock_header(&req) != 0) {
        snprintf(err, errlen, "out of memory");
        st = SC_ERR_RUNTIME;
    }
    if (req.refused && req.audit_refusal &&
        sc_step_audit(ctx, c->method, req.url, 0, 0, NULL, 0, "refused") != 0)
        snprintf(err + strlen(err), errlen - strlen(err), "; the refusal could not be audited");
    if (st == SC_OK)
        st = sc_call_send(ctx, &req, c->no_redirects ? 0 : SC_CALL_MAX_REDIRECTS, c->parse,
                          output, err, errlen);
    sc_request_free(&req);
    char none[200];
    if (throttled)
        sc_throttle_done(sc_step_store(ctx, none, sizeof none), sc_step_org(ctx)->name, oc);
    return st;
}
