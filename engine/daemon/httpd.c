/* The daemon's HTTP side (libmicrohttpd): webhooks, committed to the store before they
 * are answered, and the operations endpoints /healthz, /readyz, /metrics and
 * /executions/ID. */
#include "daemon/httpd.h"

#include "daemon/catalog.h"

#include "clock.h"
#include "lang/text.h"
#include "log.h"
#include "util.h"
#include "model/url.h"
#include "model/webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

/* A connection's memory (its request line, headers and read buffer), libmicrohttpd's
 * default: each header field and query parameter takes 64 bytes of it beside its text, so
 * 16 KiB refused an ordinary head of many headers (200 headers of 4,000 bytes in all);
 * 32 KiB takes a 16 KiB head of up to 200 fields (tests/serve, docs/operations.md). */
#define CONN_MEMORY 32768

struct req {
    struct sc_buf body;
    bool over;          /* the body went over max_body: the rest is discarded */
    bool webhook;
    const char *bad_path; /* sc_httpd_path_verdict's: answered bad_status */
    unsigned bad_status;
};

/* How long the oldest instant event (httpd.h) waits before a second worker takes batches
 * too: the one taker is behind (local scenarios heavy in Lua, on more cores). Sooner, a
 * second writer costs more than it brings (measured on 2 cores). */
#define INSTANT_BEHIND_MS 10

/* A webhook event from its arrival to its answer: its connection is suspended while the
 * intake thread commits it (with others: one fsync for all) and, for a scenario with a
 * respond step, until the execution answers or the wait runs out. */
struct pending {
    struct req req;     /* first: the connection's context is the pending */
    struct MHD_Connection *con;
    struct sc_event_row ev;
    char *scenario, *source, version[16];
    json_t *trigger;
    char *trigger_json; /* its dump, made here: not by the one thread that writes it */
    char *dedupe;
    char first[64];     /* a repeat: the first execution's id */
    int rc;             /* as sc_store_enqueue; -1 with err */
    char err[256];
    bool respond, queued;
    bool instant;       /* its hook's scenario may run before it is stored (catalog.h) */
    int64_t since_ms;   /* monotonic: when it was handed on */
    struct sc_daemon_waiter w;    /* w.id is the execution's id */
    struct pending *next;
};

static enum MHD_Result send_text(struct MHD_Connection *con, unsigned status, const char *type,
                                 const char *text, size_t len, const char *hname,
                                 const char *hval)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    if (hname)
        MHD_add_response_header(resp, hname, hval);
    enum MHD_Result rc = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Answers with a JSON body (stolen). */
static enum MHD_Result send_json(struct MHD_Connection *con, unsigned status, json_t *body,
                                 const char *hname, const char *hval)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return send_text(con, 500, "text/plain", "out of memory\n", 14, NULL, NULL);
    size_t n = strlen(text);
    text[n] = '\0';
    enum MHD_Result rc = send_text(con, status, "application/json", text, n, hname, hval);
    free(text);
    return rc;
}

/* A request turned away: counted by reason, never stored. */
static enum MHD_Result reject(struct sc_daemon *d, struct MHD_Connection *con, unsigned status,
                              enum sc_rejection why, const char *msg, const char *hname,
                              const char *hval)
{
    atomic_fetch_add(&d->metrics.rejected[why], 1);
    return send_json(con, status, json_pack("{s:s, s:s}", "error", msg, "reason",
                                            sc_metrics_rejections[why]), hname, hval);
}

static const char *header(void *con, const char *name)
{
    return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

/* obj[key] = value (a repeated key: an array); text that is not UTF-8 read as ISO-8859-1,
 * kept and never made equal to another value (a dedupe_key may read it). */
static void add_value(json_t *obj, const char *key, const char *value)
{
    value = value ? value : "";
    sc_json_add_text(obj, key, strlen(key), value, strlen(value), SC_UTF8_LATIN1);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    char buf[128], *low = strlen(key) < sizeof buf ? strcpy(buf, key) : sc_strdup(key);
    if (!low)
        return MHD_YES;
    for (char *c = low; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    /* credentials are not kept with the event */
    if (strcmp(low, "authorization") && strcmp(low, "cookie") &&
        strcmp(low, "proxy-authorization"))
        add_value(cls, low, value);
    if (low != buf)
        free(low);
    return MHD_YES;
}

/* Query keys keep their case (EmployeeId is not employeeid). */
static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    add_value(cls, key, value);
    return MHD_YES;
}

/* Every value of a request header, joined with ", " as RFC 9110 5.3 combines them. */
struct joined {
    const char *name;
    struct sc_buf b;
    size_t first;   /* length of the first value */
    int count;
    bool differ;    /* values that are not all the same, or one that is a list */
};

static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct joined *j = cls;
    if (strcasecmp(key, j->name))
        return MHD_YES;
    value = value ? value : "";
    size_t n = strlen(value);
    if (strchr(value, ',') ||
        (j->count && (j->first != n || memcmp(j->b.data ? j->b.data : "", value, n))))
        j->differ = true;
    if (j->count++)
        sc_buf_puts(&j->b, ", ");
    else
        j->first = n;
    sc_buf_add(&j->b, value, n);
    return MHD_YES;
}

static void joined_free(struct joined *j) { sc_buf_free(&j->b); }

static struct joined header_all(struct MHD_Connection *con, const char *name)
{
    struct joined j = {.name = name};
    MHD_get_connection_values(con, MHD_HEADER_KIND, join_header, &j);
    return j;
}

/* Counts header names that are not an RFC 9110 token: "Transfer-Encoding :" (a space
 * before the colon, which RFC 9112 5.1 answers with 400) is a name libmicrohttpd keeps
 * as written, one a proxy may read as Transfer-Encoding. */
static enum MHD_Result bad_name(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    (void)value;
    size_t n = key ? strlen(key) : 0;
    if (!n || strspn(key, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
        ++*(int *)cls;
    return MHD_YES;
}

/* A message length the sender and we could read differently (RFC 9112 6.3: request
 * smuggling) is refused: a header name with whitespace before its colon, Content-Length
 * with Transfer-Encoding, or Content-Lengths that disagree (repeated, or a list). */
static const char *framing_error(struct MHD_Connection *con)
{
    int bad = 0;
    MHD_get_connection_values(con, MHD_HEADER_KIND, bad_name, &bad);
    if (bad)
        return "a header with whitespace before its colon, or a name that is not a token "
               "(RFC 9112 5.1): write Name: value";
    struct joined cl = header_all(con, "content-length"), te = header_all(con, "transfer-encoding");
    const char *why = NULL;
    if (cl.count && te.count)
        why = "a request with both Content-Length and Transfer-Encoding: send one of them";
    else if (te.count && strcasecmp(te.b.data ? te.b.data : "", "chunked"))
        why = "Transfer-Encoding other than chunked: send chunked or a Content-Length";
    else if (cl.differ) /* the same value twice is one length (RFC 9110 8.6) */
        why = "Content-Length given more than once with different values";
    joined_free(&cl);
    joined_free(&te);
    return why;
}

/* The event's identity: the hook's dedupe_key, else the sender's delivery id. */
static char *dedupe_key(struct sc_daemon *d, const struct sc_catalog_hook *hk, json_t *trigger,
                        struct MHD_Connection *con)
{
    if (hk->dedupe) {
        char err[300];
        enum sc_status st = SC_OK;
        sc_lua_budget(d->intake.lua, SC_LUA_INTAKE_INSTRUCTIONS,
                      sc_clock_mono_ms() + SC_LUA_INTAKE_MS);
        json_t *v = sc_lua_set(d->intake.lua, "trigger", trigger) == 0
                        ? sc_tmpl_render(hk->dedupe, d->intake.lua, &st, err, sizeof err)
                        : NULL;
        if (!v) /* any failure (a null/empty part, catalog.c's encoder): kept without a key */
            sc_log(SC_LOG_WARN, NULL, NULL, "webhook %s: dedupe_key: %s; stored without a key",
                   hk->path, err);
        sc_lua_set(d->intake.lua, "trigger", NULL);
        sc_lua_forget(d->intake.lua);
        char *k = json_is_string(v) && json_string_length(v) /* NFC: one key per text */
                      ? sc_text_map(json_string_value(v), json_string_length(v), SC_TEXT_NFC, NULL)
                  : json_is_integer(v) ? sc_asprintf("%lld", (long long)json_integer_value(v))
                                       : NULL;
        json_decref(v);
        return k; /* no key from this event: it is not deduplicated */
    }
    const char *id = header(con, "webhook-id");
    if (!id)
        id = header(con, "x-github-delivery");
    return id && *id ? sc_strdup(id) : NULL;
}

static void unwait(struct sc_daemon *d, struct sc_daemon_waiter *w)
{
    for (struct sc_daemon_waiter **p = &d->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
}

/* A respond step's answer: its status, headers, and body (JSON unless content_type says
 * otherwise and the body is text). */
static enum MHD_Result send_response(struct MHD_Connection *con, json_t *r)
{
    const char *type = json_string_value(json_object_get(r, "content_type"));
    json_t *body = json_object_get(r, "body");
    bool raw = type && json_is_string(body) && !sc_webhook_json_type(type);
    char *text = raw ? sc_strdup(json_string_value(body))
                     : json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type ? type : "application/json");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "headers"), k, v)
        if (json_is_string(v) && MHD_add_response_header(resp, k, json_string_value(v)) != MHD_YES)
            sc_log(SC_LOG_WARN, NULL, NULL, "respond: header %s not sent (libmicrohttpd refused "
                   "it)", k); /* the respond step refuses what it knows of: not expected */
    enum MHD_Result rc = MHD_queue_response(con, (unsigned)json_integer_value(
                                                     json_object_get(r, "status")), resp);
    MHD_destroy_response(resp);
    return rc;
}

/* The body of a webhook for hook hk as JSON: decoded (Content-Encoding), its signature
 * checked, a UTF-8 byte order mark dropped. NULL when it is refused: *rc is the answer. */
static json_t *payload_of(struct sc_daemon *d, struct MHD_Connection *con, struct req *r,
                          const struct sc_catalog_hook *hk, enum MHD_Result *rc)
{
    struct joined ce = header_all(con, "content-encoding");
    struct sc_buf decoded = {0};
    const char *body = r->body.data ? r->body.data : "";
    size_t len = r->body.len;
    if (ce.count) {
        char why[200];
        int drc = sc_webhook_decode(ce.b.data, body, len, d->o.max_body, &decoded, why, sizeof why);
        if (drc != 0) {
            joined_free(&ce);
            *rc = drc == 1 ? reject(d, con, 413, SC_REJ_TOO_LARGE, why, NULL, NULL)
                : drc == 2 ? reject(d, con, 415, SC_REJ_MEDIA_TYPE, why, NULL, NULL)
                           : reject(d, con, 400, SC_REJ_BAD_REQUEST, why, NULL, NULL);
            return NULL;
        }
        body = decoded.data ? decoded.data : "";
        len = decoded.len;
    }
    if (hk->scheme) {
        char why[256];
        enum sc_hook_verdict v = sc_webhook_verify(hk->scheme, hk->secret, header, con, body, len,
                                                   sc_clock_now_ms(), why, sizeof why);
        if (v == SC_HOOK_MISMATCH && ce.count) /* signed as sent rather than as decoded */
            v = sc_webhook_verify(hk->scheme, hk->secret, header, con, r->body.data ? r->body.data
                                  : "", r->body.len, sc_clock_now_ms(), why, sizeof why);
        if (v != SC_HOOK_OK) {
            enum sc_rejection k = v == SC_HOOK_MISSING ? SC_REJ_MISSING_SIGNATURE
                                : v == SC_HOOK_STALE ? SC_REJ_STALE
                                : v == SC_HOOK_CONFIG ? SC_REJ_SECRET : SC_REJ_BAD_SIGNATURE;
            joined_free(&ce);
            sc_buf_free(&decoded);
            *rc = reject(d, con, v == SC_HOOK_CONFIG ? 500 : 401, k, why, NULL, NULL);
            return NULL;
        }
    }
    joined_free(&ce);
    if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3)) { /* a UTF-8 byte order mark */
        body += 3;
        len -= 3;
    }
    json_error_t jerr;
    json_t *payload = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    sc_buf_free(&decoded);
    if (!payload) {
        char msg[400];
        sc_webhook_json_error(&jerr, msg, sizeof msg);
        *rc = reject(d, con, 400, SC_REJ_MALFORMED, msg, NULL, NULL);
    }
    return payload;
}

/* Makes p's event from the request and its payload (taken) for hook hk: the trigger, its
 * dedupe key, the row the intake thread stores. */
static void make_event(struct sc_daemon *d, struct MHD_Connection *con, const char *url,
                       struct pending *p, const struct sc_catalog_hook *hk, json_t *payload)
{
    char now[40];
    int64_t now_ms = sc_clock_now_ms();
    sc_clock_iso(now_ms, now, sizeof now);
    json_t *headers = json_object(), *query = json_object();
    MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, headers);
    MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, collect_query, query);
    /* as json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}") would, without its copy of each key */
    json_t *t = json_object();
    int bad = !t;
    bad |= t ? json_object_set_new_nocheck(t, "kind", json_string("webhook")) : -1;
    bad |= t ? json_object_set_new_nocheck(t, "path", json_string(url)) : -1;
    bad |= t ? json_object_set_new_nocheck(t, "headers", headers) : (json_decref(headers), -1);
    bad |= t ? json_object_set_new_nocheck(t, "query", query) : (json_decref(query), -1);
    bad |= t ? json_object_set_new_nocheck(t, "body", payload) : (json_decref(payload), -1);
    bad |= t ? json_object_set_new_nocheck(t, "received_at", json_string(now)) : -1;
    if (bad) {
        json_decref(t);
        t = NULL;
    }
    p->trigger = t;
    char *dedupe = NULL;
    if (p->trigger) {
        pthread_mutex_lock(&d->intake.mu);
        dedupe = dedupe_key(d, hk, p->trigger, con);
        pthread_mutex_unlock(&d->intake.mu);
    }
    /* NULL: the store dumps it */
    p->trigger_json = t ? json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    p->scenario = sc_strdup(hk->scenario);
    p->source = hk->source ? sc_strdup(hk->source) : NULL;
    snprintf(p->version, sizeof p->version, "%s", hk->version);
    p->respond = hk->respond;
    p->instant = hk->instant;
    p->ev = (struct sc_event_row){
        .exec = {.id = p->w.id, .scenario = p->scenario, .org = d->org->name,
                 .version = p->version, .source = p->source, .trigger = p->trigger,
                 .trigger_json = p->trigger_json, .confidential = hk->confidential,
                 .started_ms = now_ms},
        .realtime = hk->realtime, .lane = hk->sequential ? p->scenario : NULL, .dedupe = dedupe,
        .frozen = true}; /* read from here on, never changed */
    p->dedupe = dedupe;
}

/* Hands p to a worker (the instant path: a local scenario's event without a dedupe key,
 * on SQLite, run before it is stored and written with its execution in one commit) or to
 * the intake thread's next commit; its connection suspended till answered. */
static enum MHD_Result to_intake(struct sc_daemon *d, struct MHD_Connection *con,
                                 struct pending *p)
{
    p->con = con;
    p->since_ms = sc_clock_mono_ms();
    pthread_mutex_lock(&d->mu);
    sc_exec_new_id(p->w.id, sizeof p->w.id);
    if (p->instant && !p->dedupe && !d->shared && d->o.workers > 0 && !d->instant_closed &&
        !atomic_load(&d->stopping)) {
        MHD_suspend_connection(con); /* before a worker can answer it */
        p->queued = true;
        p->ev.claim = true;
        *d->instant_tail = p;
        d->instant_tail = &p->next;
        if (!d->instant_takers) { /* else the worker with the turn takes it next */
            d->kicks++;
            pthread_cond_signal(d->instant_waiting ? &d->instant_cv : &d->work);
        } else if (p->since_ms - d->instant->since_ms >= INSTANT_BEHIND_MS &&
                   d->instant_takers < d->o.workers) {
            d->kicks++; /* the takers do not keep up: one more helps */
            pthread_cond_signal(&d->work);
        }
        bool unseen = !d->instant_takers && !d->idle; /* every worker busy: may wait long */
        pthread_mutex_unlock(&d->mu);
        if (unseen) { /* the intake looks again in INSTANT_WAIT_MS and takes it if still there */
            pthread_mutex_lock(&d->intake.batch_mu);
            d->intake.answers = true; /* another pass even if it is not waiting right now */
            pthread_cond_signal(&d->intake.batch_cv);
            pthread_mutex_unlock(&d->intake.batch_mu);
        }
        return MHD_YES;
    }
    pthread_mutex_unlock(&d->mu);
    pthread_mutex_lock(&d->intake.batch_mu);
    bool open = !d->intake.stop;
    if (open) { /* suspended before the intake thread can see it, so its resume follows */
        MHD_suspend_connection(con);
        p->queued = true;
        *d->intake.tail = p;
        d->intake.tail = &p->next;
        pthread_cond_signal(&d->intake.batch_cv);
    }
    pthread_mutex_unlock(&d->intake.batch_mu);
    if (!open)
        return reject(d, con, 503, SC_REJ_STOPPING, "stopping; send it again", "Retry-After", "5");
    return MHD_YES;
}

/* A webhook's body is in: the event is made and handed to the intake thread, which
 * answers; or it is refused. */
static enum MHD_Result take_webhook(struct sc_daemon *d, struct MHD_Connection *con,
                                    const char *url, struct pending *p)
{
    struct req *r = &p->req;
    if (r->over) {
        char msg[128];
        snprintf(msg, sizeof msg, "body over the %zu-byte limit", d->o.max_body);
        return reject(d, con, 413, SC_REJ_TOO_LARGE, msg, NULL, NULL);
    }
    pthread_rwlock_rdlock(&d->cat_lock);
    const struct sc_catalog_hook *hk = sc_catalog_hook_find(d->cat, url);
    enum MHD_Result rc = MHD_NO;
    json_t *payload = NULL;
    if (!hk) /* removed by a reload while the body came in */
        rc = reject(d, con, 404, SC_REJ_NOT_FOUND, "no scenario takes this path", NULL, NULL);
    else if ((payload = payload_of(d, con, r, hk, &rc)))
        make_event(d, con, url, p, hk, payload);
    bool oom = hk && payload && (!p->trigger || !p->scenario || (hk->source && !p->source));
    pthread_rwlock_unlock(&d->cat_lock);
    if (!payload)
        return rc;
    sc_buf_free(&r->body);
    if (oom)
        return send_json(con, 503, json_pack("{s:s}", "error", "out of memory; send it again"),
                         "Retry-After", "5");
    return to_intake(d, con, p);
}

/* The answer to a committed event (or one that could not be stored); resumes it. */
static void answer(struct sc_daemon *d, struct pending *p, json_t *response)
{
    struct MHD_Connection *con = p->con;
    bool own = p->rc >= 0 && p->rc != SC_STORE_SAME && response && json_is_object(response);
    char *url_of = d->org_url && !own ? sc_asprintf("%s/executions/%s", d->org_url,
                                                    p->rc == SC_STORE_SAME ? p->first : p->w.id)
                                      : NULL; /* a respond step's own answer has none */
    if (p->rc < 0) /* not stored: the sender must try again */
        send_json(con, 503, json_pack("{s:s}", "error", "the event could not be stored; "
                                      "send it again"), "Retry-After", "5");
    else if (p->rc == SC_STORE_SAME)
        send_json(con, 200, json_pack("{s:s, s:b, s:s?}", "execution", p->first, "duplicate", 1,
                                      "url", d->org_url ? url_of : NULL), NULL, NULL);
    else if (own)
        send_response(con, response);
    else { /* {execution, status, url?}, built without json_pack's copy of each key */
        json_t *ack = json_object();
        if (ack && (json_object_set_new_nocheck(ack, "execution", json_string(p->w.id)) ||
                    json_object_set_new_nocheck(ack, "status", json_string("queued")) ||
                    (url_of && json_object_set_new_nocheck(ack, "url", json_string(url_of))))) {
            json_decref(ack);
            ack = NULL;
        }
        send_json(con, 202, ack, NULL, NULL);
    }
    free(url_of);
    MHD_resume_connection(con);
}

size_t sc_httpd_instant_take(struct sc_daemon *d, struct pending **out, size_t max, bool held,
                             int worker)
{
    size_t n = 0;
    pthread_mutex_lock(&d->mu);
    /* one taker, batch after batch (what comes meanwhile shares the next commit); another
     * only while the oldest has waited INSTANT_BEHIND_MS */
    bool first = !d->instant_takers;
    if (!held && !first && (!d->instant || d->instant_takers >= d->o.workers ||
                            sc_clock_mono_ms() - d->instant->since_ms < INSTANT_BEHIND_MS)) {
        pthread_mutex_unlock(&d->mu);
        return 0;
    }
    while (n < max && d->instant && !atomic_load(&d->stopping)) {
        out[n++] = d->instant;
        if (!(d->instant = d->instant->next))
            d->instant_tail = &d->instant;
    }
    d->instant_held += (int)n;
    d->instant_takers += held ? -(n == 0) : n > 0; /* kept by a taker till it finds none */
    if (n && first)
        d->instant_last = worker;
    pthread_mutex_unlock(&d->mu);
    int64_t now = sc_clock_now_ms(); /* its started_at: taken now, run, then written */
    for (size_t i = 0; i < n; i++) {
        out[i]->next = NULL;
        out[i]->ev.taken_ms = now;
    }
    return n;
}

void sc_httpd_instant_to_intake(struct sc_daemon *d, struct pending *p)
{
    p->ev.claim = false;
    p->ev.taken_ms = 0;
    p->next = NULL;
    pthread_mutex_lock(&d->intake.batch_mu); /* before it is let go: sc_httpd_stop waits */
    *d->intake.tail = p;
    d->intake.tail = &p->next;
    pthread_cond_signal(&d->intake.batch_cv);
    pthread_mutex_unlock(&d->intake.batch_mu);
    pthread_mutex_lock(&d->mu);
    if (--d->instant_held == 0)
        pthread_cond_broadcast(&d->finished);
    pthread_mutex_unlock(&d->mu);
}

void sc_httpd_instant_give_up(struct sc_daemon *d)
{
    pthread_mutex_lock(&d->mu);
    d->instant_takers--;
    if (d->instant && !d->instant_takers) { /* waiting: another worker takes them */
        d->kicks++;
        pthread_cond_signal(&d->work);
        d->instant_last = -1;
    }
    pthread_mutex_unlock(&d->mu);
}

const struct sc_event_row *sc_httpd_instant_event(const struct pending *p)
{
    return &p->ev;
}

void sc_httpd_instant_answer(struct sc_daemon *d, struct pending *p, const char *err,
                             json_t *response, bool waits)
{
    p->rc = err ? -1 : 0;
    if (err) {
        snprintf(p->err, sizeof p->err, "%s", err);
        sc_log(SC_LOG_ERROR, NULL, NULL, "webhook %s not stored: %s",
               json_string_value(json_object_get(p->trigger, "path")), p->err);
    } else
        atomic_fetch_add(&d->metrics.accepted, 1);
    pthread_mutex_lock(&d->mu);
    if (!err && p->respond && waits) { /* answered by the intake once its execution ends */
        p->w.deadline_ms = sc_clock_mono_ms() + d->o.respond_ms;
        p->w.next = d->waiters;
        d->waiters = &p->w;
    }
    bool last = --d->instant_held == 0;
    if (last) /* sc_httpd_stop waits for them */
        pthread_cond_broadcast(&d->finished);
    pthread_mutex_unlock(&d->mu);
    if (err || !p->respond || !waits)
        answer(d, p, err ? NULL : response);
}

/* The instant events no worker took within INSTANT_WAIT_MS (every worker busy with a slow
 * batch), or all of them when stopping: the intake stores them as any other. */
#define INSTANT_WAIT_MS 20
static struct pending *instant_stale(struct sc_daemon *d, bool all, bool *left)
{
    struct pending *list = NULL, **tail = &list;
    int64_t now = sc_clock_mono_ms();
    pthread_mutex_lock(&d->mu);
    while (d->instant && (all || d->instant->since_ms + INSTANT_WAIT_MS <= now)) {
        struct pending *p = d->instant;
        if (!(d->instant = p->next))
            d->instant_tail = &d->instant;
        p->next = NULL;
        p->ev.claim = false;
        *tail = p;
        tail = &p->next;
    }
    if (all)
        d->instant_closed = true;
    *left = d->instant != NULL;
    pthread_mutex_unlock(&d->mu);
    return list;
}

/* One transaction for every event that arrived since the last, one fsync for them all. */
static void commit_batch(struct sc_daemon *d, struct pending *list)
{
    pthread_mutex_lock(&d->mu); /* a respond waiter is there before a worker can finish */
    for (struct pending *x = list; x; x = x->next)
        if (x->respond) {
            x->w.next = d->waiters;
            d->waiters = &x->w;
        }
    pthread_mutex_unlock(&d->mu);
    int brc = sc_store_tx_begin(d->intake.st); /* its write turn, till the commit */
    for (struct pending *x = list; x; x = x->next) {
        x->rc = -1;
        while (brc == 0 && (x->rc = sc_store_enqueue(d->intake.st, &x->ev, x->first,
                                                     sizeof x->first)) == SC_STORE_EXISTS) {
            pthread_mutex_lock(&d->mu); /* a taken id: another, where waiters read it */
            sc_exec_new_id(x->w.id, sizeof x->w.id);
            pthread_mutex_unlock(&d->mu);
        }
        if (x->rc < 0 || brc != 0)
            snprintf(x->err, sizeof x->err, "%s", sc_store_error(d->intake.st));
    }
    if (brc == 0 && sc_store_tx_commit(d->intake.st) != 0) {
        for (struct pending *x = list; x; x = x->next)
            if (x->rc == 0) { /* nothing of the batch is stored: each sender retries */
                x->rc = -1;
                snprintf(x->err, sizeof x->err, "%s", sc_store_error(d->intake.st));
            }
    }
    /* on disk before it is answered or run, synced outside the write lock */
    bool stored = false;
    for (struct pending *x = list; x && !stored; x = x->next)
        stored = x->rc == 0;
    if (d->shared) /* /readyz: a database server that this commit reached, or did not */
        sc_daemon_reached(d, brc != 0 || (!stored && list && list->rc < 0)
                                 ? sc_store_error(d->intake.st) : NULL);
    if (stored && sc_daemon_queued(d, d->intake.st) != 0)
        for (struct pending *x = list; x; x = x->next)
            if (x->rc == 0) { /* committed, maybe not on disk: the sender sends it again */
                x->rc = -1;
                snprintf(x->err, sizeof x->err, "%s", sc_store_error(d->intake.st));
            }
    int64_t deadline = sc_clock_mono_ms() + d->o.respond_ms;
    pthread_mutex_lock(&d->mu);
    for (struct pending *x = list; x; x = x->next) {
        if (x->respond && x->rc == 0)
            x->w.deadline_ms = deadline;
        else if (x->respond)
            unwait(d, &x->w);
    }
    pthread_mutex_unlock(&d->mu);
    for (struct pending *x = list, *next; x; x = next) {
        next = x->next;
        if (x->rc < 0)
            sc_log(SC_LOG_ERROR, NULL, NULL, "webhook %s not stored: %s",
                   json_string_value(json_object_get(x->trigger, "path")), x->err);
        if (x->rc == 0)
            atomic_fetch_add(&d->metrics.accepted, 1);
        else if (x->rc == SC_STORE_SAME)
            atomic_fetch_add(&d->metrics.duplicates, 1);
        if (!x->respond || x->rc != 0)
            answer(d, x, NULL);
    }
}

/* Answers the respond waiters that are done, or out of time (all of them when stopping);
 * returns the nearest deadline left, or -1. */
static int64_t answer_waiters(struct sc_daemon *d, bool all)
{
    int64_t now = sc_clock_mono_ms(), next = -1;
    struct sc_daemon_waiter *ready = NULL;
    pthread_mutex_lock(&d->mu);
    for (struct sc_daemon_waiter **wp = &d->waiters; *wp;) {
        struct sc_daemon_waiter *w = *wp;
        if (w->deadline_ms && (w->done || all || w->deadline_ms <= now)) {
            *wp = w->next;
            w->next = ready;
            ready = w;
        } else {
            if (w->deadline_ms && (next < 0 || w->deadline_ms < next))
                next = w->deadline_ms;
            wp = &w->next;
        }
    }
    pthread_mutex_unlock(&d->mu);
    for (struct sc_daemon_waiter *w = ready, *nx; w; w = nx) {
        nx = w->next;
        struct pending *p = (struct pending *)((char *)w - offsetof(struct pending, w));
        json_t *response = w->response;
        answer(d, p, response); /* p may be gone once it is answered */
        json_decref(response);
    }
    return next;
}

/* The intake thread: commits what arrived, answers it, answers respond waiters. */
static void *intake_main(void *arg)
{
    struct sc_daemon *d = arg;
    prctl(PR_SET_NAME, "sc-intake");
    int64_t next = -1;
    bool left = false, stopped = false;
    pthread_mutex_lock(&d->intake.batch_mu);
    for (;;) {
        if (!d->intake.head && !d->intake.answers && !stopped) {
            if (d->intake.stop)
                stopped = true; /* one more pass: the instant events no worker took */
            else {
                int64_t wait = next < 0 ? 1000 : next - sc_clock_mono_ms();
                wait = wait < 0 ? 0 : wait > 1000 ? 1000 : wait;
                if (left && wait > INSTANT_WAIT_MS)
                    wait = INSTANT_WAIT_MS;
                struct timespec ts = sc_clock_deadline(wait);
                pthread_cond_timedwait(&d->intake.batch_cv, &d->intake.batch_mu, &ts);
            }
        } else if (stopped && !d->intake.head && !d->intake.answers)
            break;
        struct pending *list = d->intake.head;
        d->intake.head = NULL;
        d->intake.tail = &d->intake.head;
        d->intake.answers = false;
        pthread_mutex_unlock(&d->intake.batch_mu);
        struct pending *stale = instant_stale(d, stopped || atomic_load(&d->stopping), &left);
        if (stale) { /* after the others: they came later */
            struct pending **t = &list;
            while (*t)
                t = &(*t)->next;
            *t = stale;
        }
        if (list)
            commit_batch(d, list);
        next = answer_waiters(d, atomic_load(&d->stopping));
        pthread_mutex_lock(&d->intake.batch_mu);
    }
    pthread_mutex_unlock(&d->intake.batch_mu);
    answer_waiters(d, true);
    return NULL;
}

/* ---- operations endpoints ---- */

static void help(struct sc_buf *b, const char *name, const char *type, const char *text)
{
    sc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void conns_metrics(struct sc_daemon *d, struct sc_buf *b);

static enum MHD_Result metrics(struct sc_daemon *d, struct MHD_Connection *con)
{
    pthread_mutex_lock(&d->ops_mu);
    json_t *m = sc_store_counters(d->ops);
    pthread_mutex_unlock(&d->ops_mu);
    if (!m)
        return send_text(con, 503, "text/plain", "store unavailable\n", 18, NULL, NULL);
    struct sc_buf b = {0};
    sc_metrics_write_store(&b, m);
    json_decref(m);
    sc_metrics_write(&d->metrics, &b);
    conns_metrics(d, &b);
    char *text = sc_buf_take(&b);
    if (!text)
        return MHD_NO;
    enum MHD_Result rc = send_text(con, 200, "text/plain; version=0.0.4", text, strlen(text),
                                   NULL, NULL);
    free(text);
    return rc;
}

static enum MHD_Result operations(struct sc_daemon *d, struct MHD_Connection *con, const char *url)
{
    if (!strcmp(url, "/healthz")) {
        bool up = !atomic_load(&d->draining);
        return send_json(con, up ? 200 : 503, json_pack("{s:s, s:s, s:i}", "status",
                                                        up ? "ok" : "stopping", "org",
                                                        d->org->name, "workers", d->o.workers),
                         NULL, NULL);
    }
    if (!strcmp(url, "/readyz")) { /* ready for work: no worker stuck, the store writable */
        char why[800];
        bool ready = !atomic_load(&d->draining) && sc_daemon_ready(d, why, sizeof why);
        if (atomic_load(&d->draining))
            snprintf(why, sizeof why, "the daemon is stopping");
        return send_json(con, ready ? 200 : 503,
                         ready ? json_pack("{s:s}", "status", "ready")
                               : json_pack("{s:s, s:s}", "status", "not ready", "reason", why),
                         NULL, NULL);
    }
    if (!strcmp(url, "/metrics"))
        return metrics(d, con);
    const char *id = url + strlen("/executions/");
    pthread_mutex_lock(&d->ops_mu);
    json_t *v = sc_store_exec_get(d->ops, id);
    const char *err = v ? NULL : sc_store_error(d->ops);
    bool failed = !v && err && *err;
    pthread_mutex_unlock(&d->ops_mu);
    if (v)
        return send_json(con, 200, v, NULL, NULL);
    return send_json(con, failed ? 503 : 404, json_pack("{s:s}", "error", failed
                                                        ? "store unavailable" : "no such execution"),
                     NULL, NULL);
}

static bool is_operation(const char *url)
{
    return sc_webhook_path_reserved(url);
}

/* First call: decide what can be decided from the request line and headers. */
static enum MHD_Result first_call(struct sc_daemon *d, struct MHD_Connection *con, const char *url,
                                  const char *method, struct req *r)
{
    const char *framing = framing_error(con);
    if (framing)
        return reject(d, con, 400, SC_REJ_BAD_REQUEST, framing, "Connection", "close");
    if (r->bad_path && r->bad_status == 404 && strcmp(method, "POST")) /* a probe */
        return send_text(con, 404, "text/plain", "not found\n", 10, NULL, NULL);
    if (r->bad_path && r->bad_status == 414) /* its query was not read: close */
        return reject(d, con, 414, SC_REJ_TOO_LARGE, r->bad_path, "Connection", "close");
    if (r->bad_path)
        return reject(d, con, r->bad_status,
                      r->bad_status == 404 ? SC_REJ_NOT_FOUND : SC_REJ_BAD_REQUEST, r->bad_path,
                      NULL, NULL);
    if (is_operation(url)) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return send_json(con, 405, json_pack("{s:s}", "error", "use GET"), "Allow", "GET");
        return operations(d, con, url);
    }
    pthread_rwlock_rdlock(&d->cat_lock);
    bool known = sc_catalog_hook_find(d->cat, url) != NULL;
    pthread_rwlock_unlock(&d->cat_lock);
    if (!known && strcmp(method, "POST")) /* a probe (GET /), not a webhook: not counted */
        return send_text(con, 404, "text/plain", "not found\n", 10, NULL, NULL);
    if (!known)
        return reject(d, con, 404, SC_REJ_NOT_FOUND, "no scenario takes this path", NULL, NULL);
    if (strcmp(method, "POST"))
        return reject(d, con, 405, SC_REJ_METHOD, "webhooks take POST", "Allow", "POST");
    if (atomic_load(&d->draining))
        return reject(d, con, 503, SC_REJ_STOPPING, "stopping; send it again", "Retry-After", "5");
    const char *ct = header(con, "content-type");
    if (!sc_webhook_json_type(ct)) {
        char msg[200];
        snprintf(msg, sizeof msg, "content type %.100s: send application/json",
                 ct ? ct : "(none)");
        return reject(d, con, 415, SC_REJ_MEDIA_TYPE, msg, NULL, NULL);
    }
    struct joined ce = header_all(con, "content-encoding");
    char bad[64];
    bool decodable = sc_webhook_encoding_ok(ce.b.data, bad, sizeof bad);
    joined_free(&ce);
    if (!decodable) {
        char msg[200];
        snprintf(msg, sizeof msg, "content encoding %s is not supported: send gzip, deflate or "
                 "no Content-Encoding", bad);
        return reject(d, con, 415, SC_REJ_MEDIA_TYPE, msg, NULL, NULL);
    }
    const char *cl = header(con, "content-length");
    if (cl && strtoull(cl, NULL, 10) > d->o.max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "body over the %zu-byte limit", d->o.max_body);
        return reject(d, con, 413, SC_REJ_TOO_LARGE, msg, NULL, NULL);
    }
    r->webhook = true;
    return MHD_YES;
}

/* ---- connection deadlines: idle and slowloris connections are cut ---- */

/* An open connection while it waits for a request. From its opening (or its previous
 * answer) to its request line it may idle IDLE_MS; from the request line to its last
 * header, --header-timeout; from there to the end of a webhook's body, --body-timeout. Each
 * counts from its start: a header line or a few body bytes trickled every few seconds
 * do not move it (MHD's own timeout is reset by every byte). */
#define IDLE_MS 30000
enum { C_IDLE, C_HEADERS, C_BODY, C_NONE };

struct conn {
    int fd;
    int list;                    /* C_IDLE, C_HEADERS, C_BODY, or C_NONE (being answered) */
    int64_t since;               /* monotonic ms, when it joined its list */
    struct conn *prev, *next;
    struct pending *fresh;       /* made by on_request_line, not yet seen by on_request */
};

struct sc_conns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct conn *head[C_NONE], *tail[C_NONE]; /* each in order of since: the oldest first */
    int64_t limit[C_NONE];
    int open, listed;            /* connections, and those in a list: the rest are answered */
    bool settling;               /* sc_httpd_stop waits for the answers to go out (settled) */
    pthread_cond_t settled;
    bool stop;
    pthread_t th;
    atomic_ulong cut[C_NONE];    /* connections cut at each deadline */
};

/* The network's clock, real even when the scenarios run on the test clock. */
static int64_t net_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under mu: the stop waiting for every answer to be sent is told when none is left. */
static void conn_settle(struct sc_conns *cs)
{
    if (cs->settling && cs->listed >= cs->open)
        pthread_cond_broadcast(&cs->settled);
}

static void conn_unlink(struct sc_conns *cs, struct conn *c)
{
    if (c->list == C_NONE)
        return;
    cs->listed--;
    *(c->prev ? &c->prev->next : &cs->head[c->list]) = c->next;
    *(c->next ? &c->next->prev : &cs->tail[c->list]) = c->prev;
    c->prev = c->next = NULL;
    c->list = C_NONE;
}

/* Moves c to the end of list (C_NONE: off both), from now. */
static void conn_move(struct sc_conns *cs, struct conn *c, int list)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    conn_unlink(cs, c);
    if (list != C_NONE) {
        c->since = net_ms(); /* under mu: each list stays in order */
        c->list = list;
        c->prev = cs->tail[list];
        *(c->prev ? &c->prev->next : &cs->head[list]) = c;
        cs->tail[list] = c;
        cs->listed++;
        conn_settle(cs);
    }
    pthread_mutex_unlock(&cs->mu);
}

static struct conn *conn_of(struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(con,
                                                                MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *con, void **sock,
                          enum MHD_ConnectionNotificationCode what)
{
    struct sc_daemon *d = cls;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(
            con, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn *c = i ? sc_calloc(1, sizeof *c) : NULL;
        if (c) { /* without one the connection has MHD's idle timeout only */
            c->fd = i->connect_fd;
            c->list = C_NONE;
            pthread_mutex_lock(&d->conns->mu);
            d->conns->open++;
            pthread_mutex_unlock(&d->conns->mu);
            conn_move(d->conns, c, C_IDLE);
        }
        *sock = c;
    } else if (*sock) { /* closed: before MHD closes the socket, so fd is still this one's */
        pthread_mutex_lock(&d->conns->mu);
        conn_unlink(d->conns, *sock);
        d->conns->open--;
        conn_settle(d->conns);
        pthread_mutex_unlock(&d->conns->mu);
        free(((struct conn *)*sock)->fresh); /* a head MHD gave up on without on_done */
        free(*sock);
        *sock = NULL;
    }
}

const char *sc_httpd_path_verdict(const char *uri, unsigned *status)
{
    struct sc_url_flaw f;
    *status = 400;
    switch (sc_url_path_flaw(uri, strcspn(uri, "?"), &f)) {
    case SC_URL_FLAW_ESCAPE:
        return "the path holds a % that is not a percent-encoding (% and two hexadecimal "
               "digits)";
    case SC_URL_FLAW_NUL:
        return "the path holds a NUL (%00): a path is text";
    case SC_URL_FLAW_DOT:
        return "the path holds a . or .. segment: send the path it stands for";
    case SC_URL_FLAW_SLASH:
        *status = 404;
        return "no scenario takes this path";
    default: /* none, or escapes decoded before matching */
        return NULL;
    }
}

const char *sc_httpd_target_verdict(const char *uri, unsigned *status)
{
    *status = 414;
    const char *q = strchr(uri, '?');
    size_t params = q && q[1] ? 1 : 0;
    for (const char *s = q; s && (s = strchr(s + 1, '&'));)
        params++;
    const char *why = strlen(uri) > SC_HTTPD_MAX_TARGET
                          ? "the request target is over 8192 bytes: send the data in the body"
                      : params > SC_HTTPD_MAX_PARAMS
                          ? "the query has over 100 parameters: send the data in the body"
                          : NULL;
    if (why && q)
        ((char *)q)[1] = '\0'; /* MHD's own buffer, written by MHD itself next */
    return why;
}

/* A request line came in: its headers have --header-timeout from now. Its target is judged
 * as sent (size, then path); one refused gets its context now, the answer on the first call. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct sc_daemon *d = cls;
    conn_move(d->conns, conn_of(con), C_HEADERS);
    unsigned status;
    const char *why = sc_httpd_target_verdict(uri, &status);
    if (!why)
        why = sc_httpd_path_verdict(uri, &status);
    struct pending *p = why ? sc_calloc(1, sizeof *p) : NULL;
    struct conn *c = conn_of(con);
    if (p) {
        p->req.bad_path = why;
        p->req.bad_status = status;
    }
    if (c) /* freed at the close if neither on_request nor on_done takes it (a head refused) */
        c->fresh = p;
    return p;
}

/* Cuts (shutdown) the connections past their deadline; MHD then closes them. */
static void *deadlines_main(void *arg)
{
    struct sc_conns *cs = arg;
    prctl(PR_SET_NAME, "sc-deadlines");
    pthread_mutex_lock(&cs->mu);
    while (!cs->stop) {
        int64_t now = net_ms(), next = now + 1000;
        for (int l = C_IDLE; l < C_NONE; l++) {
            struct conn *c;
            while ((c = cs->head[l]) && c->since + cs->limit[l] <= now) {
                shutdown(c->fd, SHUT_RDWR);
                conn_unlink(cs, c);
                atomic_fetch_add(&cs->cut[l], 1);
            }
            if (c && c->since + cs->limit[l] < next)
                next = c->since + cs->limit[l];
        }
        struct timespec ts = sc_clock_deadline(next - now);
        pthread_cond_timedwait(&cs->cv, &cs->mu, &ts);
    }
    pthread_mutex_unlock(&cs->mu);
    return NULL;
}

static void conns_metrics(struct sc_daemon *d, struct sc_buf *b)
{
    static const char *const names[C_NONE] = {"idle", "headers", "body"};
    help(b, "scenarist_connections_cut_total", "counter", "Connections closed at a deadline: idle "
         "(no request line within 30 s), headers (not all in within --header-timeout), body "
         "(a webhook's body not in within --body-timeout).");
    for (int l = C_IDLE; l < C_NONE; l++)
        sc_buf_printf(b, "scenarist_connections_cut_total{deadline=\"%s\"} %lu\n", names[l],
                      atomic_load(&d->conns->cut[l]));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **ctx)
{
    (void)version;
    struct sc_daemon *d = cls;
    struct pending *p = *ctx;
    struct req *r = p ? &p->req : NULL;
    if (!p || p->req.bad_path) { /* the first call (a refused path's context came first) */
        struct conn *c = conn_of(con);
        if (c)
            c->fresh = NULL; /* *ctx owns it: on_done frees it */
        if (!p && !(p = sc_calloc(1, sizeof *p)))
            return MHD_NO;
        *ctx = p;
        conn_move(d->conns, conn_of(con), C_NONE); /* its headers are in */
        enum MHD_Result rc = first_call(d, con, url, method, &p->req);
        p->req.bad_path = NULL;
        if (p->req.webhook) /* its body is to come */
            conn_move(d->conns, conn_of(con), C_BODY);
        return rc;
    }
    if (!r->webhook)
        return MHD_YES;
    if (*upload_size) {
        if (!r->over && r->body.len + *upload_size > d->o.max_body)
            r->over = true; /* chunked, or a Content-Length that lied */
        if (!r->over)
            sc_buf_add(&r->body, upload, *upload_size);
        *upload_size = 0;
        return r->body.oom ? MHD_NO : MHD_YES;
    }
    r->webhook = false; /* answered once */
    conn_move(d->conns, conn_of(con), C_NONE);
    return take_webhook(d, con, url, p);
}

static void on_done(void *cls, struct MHD_Connection *con, void **ctx,
                    enum MHD_RequestTerminationCode why)
{
    struct sc_daemon *d = cls;
    struct conn *c = conn_of(con);
    if (why == MHD_REQUEST_TERMINATED_COMPLETED_OK) /* kept alive: idle till the next */
        conn_move(d->conns, c, C_IDLE);
    if (c)
        c->fresh = NULL;
    struct pending *p = *ctx;
    if (p) {
        sc_buf_free(&p->req.body);
        json_decref(p->trigger);
        free(p->trigger_json);
        free(p->scenario);
        free(p->source);
        free(p->dedupe);
        free(p);
    }
    *ctx = NULL;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decoding of paths and query parts in place, except %00: a NUL would cut the text
 * short (/hooks/x%00junk reaching /hooks/x), so it stays as written. */
static size_t unescape(void *cls, struct MHD_Connection *con, char *s)
{
    (void)cls;
    (void)con;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi = r[0] == '%' ? hexval(r[1]) : -1, lo = hi >= 0 ? hexval(r[2]) : -1;
        if (lo >= 0 && (hi || lo)) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* How many connections to hold: --max-connections, else as many as the open-file limit
 * allows (up to 50,000). The soft limit is raised to what they need, up to the hard limit;
 * when that leaves room for fewer than asked (or than 10,000), it is said at start. */
static unsigned connection_limit(struct sc_daemon *d)
{
    long want = d->o.max_conns > 0 ? d->o.max_conns : 50000;
    long reserve = 256 + 8L * d->o.workers; /* the store, curl, the daemon's own */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1000;
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < want + reserve) {
        rlim_t need = (rlim_t)(want + reserve);
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    long room = rl.rlim_cur == RLIM_INFINITY ? want : (long)rl.rlim_cur - reserve;
    room = room < 16 ? 16 : room;
    if (room < want && (d->o.max_conns > 0 || room < 10000))
        sc_log(SC_LOG_WARN, NULL, NULL, "the open-file limit (ulimit -n %ld) leaves room for %ld "
               "connections, not %ld: raise its hard limit to hold more",
               (long)rl.rlim_cur, room, d->o.max_conns > 0 ? want : 10000);
    return (unsigned)(room < want ? room : want);
}

static int deadlines_start(struct sc_daemon *d)
{
    struct sc_conns *cs = sc_calloc(1, sizeof *cs);
    if (!cs)
        return -1;
    pthread_mutex_init(&cs->mu, NULL);
    pthread_cond_init(&cs->cv, NULL);
    pthread_cond_init(&cs->settled, NULL);
    cs->limit[C_IDLE] = IDLE_MS;
    cs->limit[C_HEADERS] = d->o.header_ms > 0 ? d->o.header_ms : 10000;
    cs->limit[C_BODY] = d->o.body_ms > 0 ? d->o.body_ms : 60000;
    if (pthread_create(&cs->th, NULL, deadlines_main, cs) != 0) {
        pthread_mutex_destroy(&cs->mu);
        pthread_cond_destroy(&cs->cv);
        pthread_cond_destroy(&cs->settled);
        free(cs);
        return -1;
    }
    d->conns = cs;
    return 0;
}

/* After MHD has stopped: every connection is closed. */
static void deadlines_stop(struct sc_daemon *d)
{
    struct sc_conns *cs = d->conns;
    if (!cs)
        return;
    sc_daemon_join(&cs->mu, &cs->cv, &cs->stop, cs->th);
    pthread_mutex_destroy(&cs->mu);
    pthread_cond_destroy(&cs->cv);
    pthread_cond_destroy(&cs->settled);
    free(cs);
    d->conns = NULL;
}

int sc_httpd_start(struct sc_daemon *d, char *err, size_t errlen)
{
    const char *colon = strrchr(d->o.listen, ':');
    if (!colon) {
        snprintf(err, errlen, "--listen %s: give HOST:PORT", d->o.listen);
        return -1;
    }
    char host[128], port[16];
    snprintf(host, sizeof host, "%.*s", (int)(colon - d->o.listen), d->o.listen);
    snprintf(port, sizeof port, "%s", colon + 1);
    if (host[0] == '[') { /* [::1]:8080 */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE},
                    *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "--listen %s: %s (give a numeric address and port)", d->o.listen,
                 gai_strerror(gai));
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    unsigned limit = connection_limit(d), per_ip = (unsigned)(d->o.max_per_ip > 0 ? d->o.max_per_ip
                                                                                  : 512);
    if (deadlines_start(d) != 0) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "cannot start the connection deadlines thread");
        return -1;
    }
    if (pthread_create(&d->intake.th, NULL, intake_main, d) != 0) {
        freeaddrinfo(ai);
        deadlines_stop(d);
        snprintf(err, errlen, "cannot start the intake thread");
        return -1;
    }
    d->intake.started = true;
    unsigned pool = d->o.workers > 4 ? (unsigned)d->o.workers : 4;
    d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d,
                              MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                              MHD_OPTION_THREAD_POOL_SIZE, pool,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(IDLE_MS / 1000),
                              MHD_OPTION_CONNECTION_LIMIT, limit,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                              MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, d,
                              MHD_OPTION_URI_LOG_CALLBACK, on_request_line, d,
                              MHD_OPTION_NOTIFY_COMPLETED, on_done, d,
                              MHD_OPTION_UNESCAPE_CALLBACK, unescape, d,
                              MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d->mhd) {
        int e = errno;
        sc_httpd_stop(d);
        errno = e;
        snprintf(err, errlen, "cannot listen on %s: %s", d->o.listen, strerror(errno));
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (info && getsockname(info->listen_fd, (struct sockaddr *)&sa, &len) == 0)
        d->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                 : ((struct sockaddr_in *)&sa)->sin_port);
    return 0;
}

void sc_httpd_quiesce(struct sc_daemon *d)
{
    pthread_mutex_lock(&d->intake.batch_mu); /* respond waiters get their 202 now */
    pthread_cond_signal(&d->intake.batch_cv);
    pthread_mutex_unlock(&d->intake.batch_mu);
    if (d->mhd) {
        MHD_socket s = MHD_quiesce_daemon(d->mhd);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

/* How long a stop waits for the answers given to go out (a sender that does not read its
 * answer holds its connection no longer than this). */
#define SETTLE_MS 2000

/* Waits until every connection is idle or receiving (none holds an answer not yet sent),
 * for up to ms: MHD_stop_daemon closes every connection at once, and an answer queued but
 * not yet written would be lost with it (the event stored, its sender left to resend). */
static void settle(struct sc_conns *cs, int64_t ms)
{
    pthread_mutex_lock(&cs->mu);
    cs->settling = true;
    struct timespec ts = sc_clock_deadline(ms);
    while (cs->listed < cs->open)
        if (pthread_cond_timedwait(&cs->settled, &cs->mu, &ts) == ETIMEDOUT) {
            sc_daemon_say("stopping with %d answers not sent after %lld ms", cs->open - cs->listed,
                          (long long)ms);
            break;
        }
    pthread_mutex_unlock(&cs->mu);
}

void sc_httpd_stop(struct sc_daemon *d)
{
    pthread_mutex_lock(&d->mu); /* the instant events workers hold are answered first */
    struct timespec ts = sc_clock_deadline(10000);
    while (d->instant_held > 0)
        if (pthread_cond_timedwait(&d->finished, &d->mu, &ts) == ETIMEDOUT) {
            sc_daemon_say("stopping with %d webhooks unanswered: a worker still runs them",
                          d->instant_held);
            break;
        }
    pthread_mutex_unlock(&d->mu);
    if (d->intake.started) { /* MHD must not stop with a connection suspended */
        sc_daemon_join(&d->intake.batch_mu, &d->intake.batch_cv, &d->intake.stop, d->intake.th);
        d->intake.started = false;
    }
    if (d->mhd && d->conns)
        settle(d->conns, SETTLE_MS);
    if (d->mhd)
        MHD_stop_daemon(d->mhd);
    d->mhd = NULL;
    deadlines_stop(d);
}
