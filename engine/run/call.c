#include "run/call.h"

#include "clock.h"
#include "run/execution.h"
#include "store/store.h"
#include "util.h"
#include "run/oauth.h"
#include "run/throttle.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
        int64_t wait = 0;
        enum sc_throttle_verdict v = sc_throttle_take(st, org, conn, key, realtime,
                                                      SC_THROTTLE_CLOCK, &wait);
        int64_t now = sc_clock_now_ms();
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

/* err with every secret value of rq replaced by [redacted], in place. */
static char *redact_text(const char *s, size_t len, const char *const *sec, size_t nsec);
static void redact_err(char *err, size_t errlen, const struct sc_request *rq)
{
    char *r = redact_text(err, strlen(err), rq->secrets, rq->nsecrets);
    if (r)
        snprintf(err, errlen, "%s", r);
    else
        snprintf(err, errlen, "%s %s failed", rq->method, rq->url);
    free(r);
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
    const struct sc_org_conn *oc = rq->conn;
    /* the test clock's time to an oauth2 connection, whose tokens a test server expires on
     * it (tools/sandbox), unless the throttle put it there already */
    const char *hs[SC_REQUEST_MAX_HEADERS + 2];
    char clock[64];
    size_t nh = 0;
    bool clocked = false;
    for (; nh < rq->nheaders; nh++) {
        hs[nh] = rq->headers[nh];
        clocked |= !strncmp(hs[nh], "X-Test-Clock:", 13);
    }
    if (!clocked && oc && oc->auth == SC_ORG_AUTH_OAUTH2 && sc_clock_is_test()) {
        snprintf(clock, sizeof clock, "X-Test-Clock: %lld", (long long)sc_clock_now_ms());
        hs[nh++] = clock;
    }
    hs[nh] = NULL;
    struct sc_http_req req = {.method = rq->method, .url = rq->send_url ? rq->send_url : rq->url,
                              .tls_cert = oc ? oc->tls.cert : NULL,
                              .tls_key = oc ? oc->tls.key : NULL,
                              .tls_key_pem = oc ? oc->tls.key_secret.value : NULL,
                              .tls_ca = oc ? oc->tls.ca : NULL,
                              .headers = hs,
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
    if (st != SC_OK && rq->nsecrets) /* the client's message may quote the URL sent */
        redact_err(err, errlen, rq);
    return st;
}

/* ---- shadowed writes: recorded, audited, answered by a stand-in, never sent ---- */

#define REDACTED "[redacted]"

/* Adds secret and its spellings in a URL (percent-encoded, as the query builder writes it)
 * and in a JSON body (escaped, in UTF-8 and in ASCII) to v[*n..]: -1 out of memory. */
static int add_spellings(char **v, size_t *n, const char *secret)
{
    char *url = curl_easy_escape(NULL, secret, (int)strlen(secret));
    json_t *j = json_string(secret);
    char *forms[4] = {sc_strdup(secret), url ? sc_strdup(url) : NULL,
                      j ? json_dumps(j, JSON_ENCODE_ANY) : NULL,
                      j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL};
    curl_free(url);
    json_decref(j);
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        if (!forms[i]) {
            rc = -1;
            continue;
        }
        if (i >= 2) { /* the JSON text without its quotes */
            size_t l = strlen(forms[i]);
            memmove(forms[i], forms[i] + 1, l - 2);
            forms[i][l - 2] = '\0';
        }
        bool seen = false;
        for (size_t k = 0; k < *n && !seen; k++)
            seen = !strcmp(v[k], forms[i]);
        if (seen)
            free(forms[i]);
        else
            v[(*n)++] = forms[i];
    }
    return rc;
}

static void free_secrets(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Every secret value the org holds (its secrets:, connections' credentials, OAuth2
 * refresh tokens and TLS keys, webhooks' secrets), each as written raw, in
 * a URL and in a JSON body, so a secret is redacted whichever way it was encoded: a new
 * array of new strings (free_secrets; NULL out of memory), *n of them. */
static char **org_secrets(const struct sc_org *org, size_t *n)
{
    *n = 0;
    /* org secrets, OAuth2 refresh tokens and TLS keys, connections' and webhooks' secrets */
    size_t nsrc = org ? org->nsecrets + 3 * org->nconns + org->nhooks : 0;
    char **v = sc_calloc(nsrc * 4 + 1, sizeof *v);
    for (size_t i = 0; v && org && i < nsrc; i++) {
        const char *s;
        if (i < org->nsecrets)
            s = org->secrets[i].cred.value;
        else if (i < org->nsecrets + 3 * org->nconns) {
            const struct sc_org_conn *c = &org->conns[(i - org->nsecrets) / 3];
            size_t k = (i - org->nsecrets) % 3;
            s = k == 0 ? c->secret.value : k == 1 ? c->oauth.refresh.value : c->tls.key_secret.value;
        } else
            s = org->hooks[i - org->nsecrets - 3 * org->nconns].secret.value;
        if (s && *s && add_spellings(v, n, s) != 0) {
            free_secrets(v, *n);
            return NULL;
        }
    }
    return v;
}

/* s[0..len) with every occurrence of a secret replaced by [redacted]; new string (NULL
 * out of memory). */
static char *redact_text(const char *s, size_t len, const char *const *sec, size_t nsec)
{
    struct sc_buf b = {0};
    size_t i = 0, run = 0; /* s[run..i) is plain text not yet copied */
    while (i < len) {
        size_t k = 0, sl = 0;
        for (; k < nsec; k++) {
            sl = strlen(sec[k]);
            if (sl <= len - i && !memcmp(s + i, sec[k], sl))
                break;
        }
        if (k == nsec) {
            i++;
            continue;
        }
        sc_buf_add(&b, s + run, i - run);
        sc_buf_puts(&b, REDACTED);
        i += sl;
        run = i;
    }
    sc_buf_add(&b, s + run, len - run);
    return sc_buf_take(&b);
}

/* True for a header that carries credentials by its name: Authorization and its proxy
 * twin, cookies, and the api-key header of the connection used or shadowed. */
static bool secret_header(const char *name, size_t nl, const struct sc_org_conn *a,
                          const struct sc_org_conn *b)
{
    static const char *const names[] = {"Authorization", "Proxy-Authorization", "Cookie", NULL};
    for (const char *const *p = names; *p; p++)
        if (strlen(*p) == nl && !strncasecmp(name, *p, nl))
            return true;
    const struct sc_org_conn *cs[2] = {a, b};
    for (int i = 0; i < 2; i++)
        if (cs[i] && cs[i]->auth == SC_ORG_AUTH_API_KEY && cs[i]->header &&
            strlen(cs[i]->header) == nl && !strncasecmp(name, cs[i]->header, nl))
            return true;
    return false;
}

/* The request's headers as {name: value}, without secrets: a credential header's value
 * and any value holding a secret of the org read [redacted]; basic auth, which libcurl
 * would add, is shown as an Authorization header, redacted. NULL out of memory. */
static json_t *shadow_headers(const struct sc_org_conn *used,
                              const struct sc_request *rq, const char *const *sec, size_t nsec)
{
    json_t *h = json_object();
    if (h && rq->username)
        json_object_set_new(h, "Authorization", json_string("Basic " REDACTED));
    for (size_t i = 0; h && i < rq->nheaders; i++) {
        const char *line = rq->headers[i], *colon = strchr(line, ':');
        size_t nl = colon ? (size_t)(colon - line) : strlen(line);
        const char *v = colon ? colon + 1 + strspn(colon + 1, " ") : "";
        char *name = sc_strndup(line, nl);
        char *val = redact_text(v, strlen(v), sec, nsec);
        if (!name || !val || json_object_set_new(h, name, json_string(
                                 secret_header(line, nl, used, rq->shadow) ? REDACTED : val))) {
            json_decref(h);
            h = NULL;
        }
        free(name);
        free(val);
    }
    return h;
}

/* Records the shadowed write rq (its audit row audit_id; url: its target, redacted) in
 * the store, secrets redacted. */
static int shadow_record(struct sc_step_ctx *ctx, const struct sc_call *c,
                         const struct sc_request *rq, const char *url, int64_t audit_id,
                         const char *const *sec, size_t nsec, char *err, size_t errlen)
{
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st) /* a run that records nothing: nothing is sent either */
        return 0;
    const struct sc_org *org = sc_step_org(ctx);
    char *body = rq->body ? redact_text(rq->body, rq->body_len, sec, nsec) : NULL;
    json_t *headers = shadow_headers(sc_org_connection(org, c->connection), rq, sec, nsec);
    struct sc_shadow_row row = {
        .at_ms = sc_clock_now_ms(), .org = org ? org->name : "none",
        .scenario = sc_step_scenario(ctx), .version = ctx->r ? ctx->r->version : "",
        .execution = sc_step_execution_id(ctx), .step = sc_step_id(ctx),
        .bundle = sc_step_bundle(ctx), .connection = rq->shadow->name, .method = rq->method,
        .url = url, .headers = headers, .body = body, .body_len = body ? strlen(body) : 0,
        .status = (int)json_integer_value(json_object_get(rq->stand_in, "status")),
        .audit_id = audit_id, .confidential = sc_step_confidential(ctx)};
    int rc = 0;
    if (!headers || (rq->body && !body)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    } else if (sc_store_shadow_add(st, &row) < 0) {
        snprintf(err, errlen, "%s", sc_store_error(st));
        rc = -1;
    }
    free(body);
    json_decref(headers);
    return rc;
}

/* A write reaching a shadowing connection: its audit row (outcome shadowed, the
 * stand-in's status), its record, and the stand-in as the step's output; nothing sent. */
static enum sc_status shadow_send(struct sc_step_ctx *ctx, const struct sc_call *c,
                                  const struct sc_request *rq, json_t **output, char *err,
                                  size_t errlen)
{
    char why[512] = "";
    size_t nsec;
    char **sec = org_secrets(sc_step_org(ctx), &nsec);
    char *url = sec ? redact_text(rq->url, strlen(rq->url), (const char *const *)sec, nsec)
                    : NULL;
    if (!url) {
        free_secrets(sec, nsec);
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    long status = (long)json_integer_value(json_object_get(rq->stand_in, "status"));
    struct sc_step_audit_row aw = {rq->method, url, status, 0, rq->body, rq->body_len,
                                   "shadowed", 0};
    int64_t id = sc_step_audit_ref(ctx, &aw, why, sizeof why);
    enum sc_status st = SC_OK;
    if (id < 0) {
        snprintf(err, errlen, "%s %s was not shadowed: its audit row could not be written: %s",
                 rq->method, url, why);
        st = strncmp(why, "audit key", 9) ? SC_ERR_RUNTIME : SC_ERR_CONFIG;
    } else if (shadow_record(ctx, c, rq, url, id, (const char *const *)sec, nsec, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s %s was shadowed but could not be recorded: %s", rq->method,
                 url, why);
        st = SC_ERR_STORE;
    }
    free(url);
    free_secrets(sec, nsec);
    if (st != SC_OK)
        return st;
    *output = json_deep_copy(rq->stand_in);
    if (!*output) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    return SC_OK;
}

/* One build and send of c. */
static enum sc_status call_once(struct sc_step_ctx *ctx, const struct sc_call *c,
                                json_t **output, char *err, size_t errlen)
{
    *output = NULL;
    bool write = sc_request_is_write(c->method);
    struct sc_request req;
    enum sc_status st = sc_request_build(
        sc_step_org(ctx), c, write ? sc_step_sent_from(ctx) : NULL,
        write && !c->idempotency_key ? sc_step_idempotency_key(ctx) : NULL, &req, err, errlen);
    const struct sc_org_conn *oc = /* a slot before anything is sent */
        st == SC_OK ? sc_org_connection(sc_step_org(ctx), c->connection) : NULL;
    bool throttled = oc && !req.shadow && sc_throttle_applies(oc); /* a shadowed write is never sent */
    if (throttled && (st = throttle(ctx, oc, err, errlen)) != SC_OK)
        throttled = false; /* no slot was taken */
    if (throttled && add_clock_header(&req) != 0) {
        snprintf(err, errlen, "out of memory");
        st = SC_ERR_RUNTIME;
    }
    if (req.refused && req.audit_refusal &&
        sc_step_audit(ctx, c->method, req.url, 0, 0, NULL, 0, "refused") != 0)
        snprintf(err + strlen(err), errlen - strlen(err), "; the refusal could not be audited");
    if (st == SC_OK && req.shadow)
        st = shadow_send(ctx, c, &req, output, err, errlen);
    else if (st == SC_OK)
        st = sc_call_send(ctx, &req, c->no_redirects ? 0 : SC_CALL_MAX_REDIRECTS, c->parse,
                          output, err, errlen);
    sc_request_free(&req);
    char none[200];
    if (throttled)
        sc_throttle_done(sc_step_store(ctx, none, sizeof none), sc_step_org(ctx)->name, oc);
    return st;
}

static long answer_status(const json_t *output)
{
    return (long)json_integer_value(json_object_get(output, "status"));
}

enum sc_status sc_call_connection(struct sc_step_ctx *ctx, const struct sc_call *c,
                                  json_t **output, char *err, size_t errlen)
{
    *output = NULL;
    const struct sc_org *org = sc_step_org(ctx);
    const struct sc_org_conn *oc = sc_org_connection(org, c->connection);
    if (!oc || oc->auth != SC_ORG_AUTH_OAUTH2)
        return call_once(ctx, c, output, err, errlen);
    struct sc_call cc = *c;
    if (oc->shadow && sc_request_is_write(c->method)) { /* never sent: no token needed */
        cc.bearer = "(shadowed)";
        return call_once(ctx, &cc, output, err, errlen);
    }
    char *token = NULL;
    enum sc_status st = sc_oauth_token(sc_step_http(ctx), org->name, oc, NULL, &token, err, errlen);
    if (st != SC_OK)
        return st;
    cc.bearer = token;
    st = call_once(ctx, &cc, output, err, errlen);
    if (answer_status(*output) == 401) { /* revoked or expired early: renewed once, sent again */
        char *fresh = NULL;
        json_decref(*output);
        *output = NULL;
        st = sc_oauth_token(sc_step_http(ctx), org->name, oc, token, &fresh, err, errlen);
        cc.bearer = fresh;
        if (st == SC_OK)
            st = call_once(ctx, &cc, output, err, errlen);
        if (st != SC_OK && answer_status(*output) == 401) {
            snprintf(err, errlen, "connection '%s' refused a fresh OAuth2 access token: %s %s "
                     "answered HTTP 401 twice (check the client's scopes, audience and grants)",
                     oc->name, c->method, c->path);
            st = SC_ERR_CONFIG;
        }
        sc_oauth_free(fresh);
    }
    sc_oauth_free(token);
    return st;
}

enum sc_status sc_call_token(struct sc_step_ctx *ctx, const char *connection, char **token,
                             char *err, size_t errlen)
{
    *token = NULL;
    const struct sc_org *org = sc_step_org(ctx);
    const struct sc_org_conn *oc = sc_org_connection(org, connection);
    if (!oc || oc->auth != SC_ORG_AUTH_OAUTH2)
        return SC_OK;
    return sc_oauth_token(sc_step_http(ctx), org->name, oc, NULL, token, err, errlen);
}

int sc_call_renew(struct sc_step_ctx *ctx, struct sc_request *rq, const json_t *answer,
                  enum sc_status *st, char *err, size_t errlen)
{
    static const char bearer[] = "Authorization: Bearer ";
    size_t i = 0, bl = sizeof bearer - 1;
    if (!rq->conn || rq->conn->auth != SC_ORG_AUTH_OAUTH2 || answer_status(answer) != 401)
        return 0;
    while (i < rq->nheaders && strncmp(rq->headers[i], bearer, bl))
        i++;
    if (i == rq->nheaders)
        return 0;
    char *fresh = NULL;
    *st = sc_oauth_token(sc_step_http(ctx), sc_step_org(ctx)->name, rq->conn,
                         rq->headers[i] + bl, &fresh, err, errlen);
    if (*st != SC_OK)
        return -1;
    char *line = sc_asprintf("%s%s", bearer, fresh);
    sc_oauth_free(fresh);
    if (!line) {
        *st = SC_ERR_RUNTIME;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sc_oauth_free(rq->headers[i]); /* wiped, then freed */
    rq->headers[i] = line;
    return 1;
}
