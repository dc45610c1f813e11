/* tools/sandbox: simulated HR systems on loopback, with a request journal, fault
 * injection, Idempotency-Key replay and signed webhooks. `sandbox --help` lists it all. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np: writers are not starved by readers */
#include "sandbox.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#define MAX_BODY (4u * 1024 * 1024)

/* Locks: `data` (a read-write lock) guards the data, GETs sharing it; `mu` guards the
 * journal, faults, idempotency keys and counters, held briefly. Order: data, then mu. */
static struct {
    pthread_rwlock_t data;
    pthread_mutex_t mu;
    size_t journal_max;          /* past twice this many entries, the oldest go */
    const char *fixture_path;
    size_t employees;            /* > 0: a generated organisation instead of the fixture */
    unsigned long long gen_seed; /* its seed */
    json_t *db, *journal, *faults, *idem;
    json_t *windows, *in_flight; /* system -> times admitted by `limit`; -> [now, max] */
    unsigned long long rng;
    long seq;
} sb = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *const systems[] = {"hris", "lms", "ats", "payroll", "calendar", "comms",
                                      "screening-a", "screening-b", "ops", "pager", NULL};

/* ms since 1970 as ISO 8601 UTC with milliseconds, as now_iso writes it. */
static void iso_of_ms(long long ms, char *buf, size_t n)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char t[32];
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%.20s.%03dZ", t, (int)(ms % 1000));
}

static void now_iso(char *buf, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char s[32];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%.20s.%03dZ", s, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* xorshift64*: faults are reproducible from --seed. */
static double rnd(void)
{
    sb.rng ^= sb.rng >> 12;
    sb.rng ^= sb.rng << 25;
    sb.rng ^= sb.rng >> 27;
    return (double)((sb.rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* The fixture file, or the generated organisation when --employees is given. */
static json_t *build_data(void)
{
    if (sb.employees) {
        char err[256];
        json_t *db = sb_generate(sb.employees, sb.gen_seed, err, sizeof err);
        if (!db)
            fprintf(stderr, "sandbox: %s\n", err);
        return db;
    }
    json_error_t e;
    json_t *db = json_load_file(sb.fixture_path, 0, &e);
    if (!db)
        fprintf(stderr, "sandbox: %s:%d:%d: %s\n", sb.fixture_path, e.line, e.column, e.text);
    else
        sb_talent_fill(db); /* skills, certifications, rules, ratings (tools/sandbox/talent.c) */
    return db;
}

static int load_fixture(void)
{
    json_t *db = build_data();
    if (!db)
        return -1;
    sb_oauth_reset();
    json_decref(sb.db);
    sb.db = db;
    json_decref(sb.journal);
    sb.journal = json_array();
    json_decref(sb.faults);
    sb.faults = json_object();
    json_decref(sb.windows);
    sb.windows = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(sb.in_flight, k, v) /* the most at once counts from here */
        json_object_set(v, "max", json_object_get(v, "now"));
    json_decref(sb.idem);
    sb.idem = json_object();
    sb.seq = 0;
    return 0;
}

/* ---- faults ---- */

struct fault_plan {
    long latency_ms;
    bool reset, drop;
    int status;           /* 0: none; else answer this (with retry_after for 429) */
    long retry_after;
};

static const char *fault_keys[] = {"error_rate", "status", "latency_ms", "reset_rate",
                                   "rate_limit", "retry_after", "drop_webhooks", "times",
                                   "limit", "window_ms", "headers", "header_charset", NULL};

/* The `limit` fault: a real API's limit, at most `limit` requests in any window_ms
 * (default 1000), on the request's X-Test-Clock time when it has one (an engine on the
 * test clock sends it), else the real time. 0 admitted (counted), or the 429's Retry-After
 * in seconds (rounded up) till the oldest leaves the window. */
static long window_admit(const char *system, json_t *f, long long now)
{
    long long limit = json_integer_value(json_object_get(f, "limit"));
    long long win = json_object_get(f, "window_ms") ? json_integer_value(json_object_get(f, "window_ms")) : 1000;
    if (!sb.windows)
        sb.windows = json_object();
    json_t *w = json_object_get(sb.windows, system);
    if (!w)
        json_object_set_new(sb.windows, system, w = json_array());
    while (json_array_size(w) && json_integer_value(json_array_get(w, 0)) <= now - win)
        json_array_remove(w, 0);
    if ((long long)json_array_size(w) >= limit)
        return (long)((json_integer_value(json_array_get(w, 0)) + win - now + 999) / 1000);
    json_array_append_new(w, json_integer(now));
    return 0;
}

/* Decides this request's faults for its system, under the lock. */
static struct fault_plan plan(const char *system, long long now_ms)
{
    struct fault_plan p = {0};
    json_t *f = json_object_get(sb.faults, system);
    if (!f)
        return p;
    json_t *times = json_object_get(f, "times");
    if (times && json_integer_value(times) <= 0)
        return p;
    p.latency_ms = (long)json_integer_value(json_object_get(f, "latency_ms"));
    p.drop = json_is_true(json_object_get(f, "drop_webhooks"));
    long limited = json_object_get(f, "limit") ? window_admit(system, f, now_ms) : 0;
    if (limited > 0)
        p.status = 429, p.retry_after = limited;
    else if (rnd() < json_number_value(json_object_get(f, "reset_rate")))
        p.reset = true;
    else if (rnd() < json_number_value(json_object_get(f, "rate_limit"))) {
        p.status = 429;
        p.retry_after = json_object_get(f, "retry_after")
                            ? (long)json_integer_value(json_object_get(f, "retry_after")) : 30;
    } else if (rnd() < json_number_value(json_object_get(f, "error_rate")))
        p.status = json_object_get(f, "status") ? (int)json_integer_value(json_object_get(f, "status"))
                                               : 503;
    if (times && (p.reset || p.status || p.latency_ms))
        json_object_set_new(f, "times", json_integer(json_integer_value(times) - 1));
    return p;
}

/* What is wrong with a `headers` fault (a format for its name), or NULL: an object of
 * text values, each of characters up to U+00FF when written in ISO-8859-1. */
static const char *headers_fault_bad(json_t *h, bool latin1)
{
    const char *k;
    json_t *v;
    if (!json_is_object(h))
        return "%s must be an object of header names and values";
    json_object_foreach(h, k, v) {
        const unsigned char *t = (const unsigned char *)json_string_value(v);
        if (!t || strpbrk((const char *)t, "\r\n") || strpbrk(k, "\r\n: "))
            return "%s must be an object of header names and values (one line each)";
        for (; latin1 && *t; t++)
            if (*t >= 0xC4) /* a character past U+00FF starts with C4 or higher */
                return "%s: latin1 writes characters up to U+00FF only";
    }
    return NULL;
}

static bool known_system(const char *s)
{
    for (size_t i = 0; systems[i]; i++)
        if (!strcmp(systems[i], s))
            return true;
    return false;
}

/* POST /_sandbox/faults {system, error_rate, status, latency_ms, reset_rate, rate_limit,
 * retry_after, drop_webhooks, times, limit, window_ms, headers, header_charset}: replaces
 * that system's faults. */
static void set_faults(struct call *c)
{
    if (!json_is_object(c->body)) {
        sb_error(c, 400, "the body must be a JSON object: {\"system\": NAME, faults...}");
        return;
    }
    const char *system = json_string_value(json_object_get(c->body, "system"));
    if (!system || !known_system(system)) {
        sb_error(c, 422, "system must be one of hris, lms, ats, payroll, calendar, comms, "
                         "screening-a, screening-b, ops, pager");
        return;
    }
    json_t *f = json_deep_copy(c->body);
    json_object_del(f, "system");
    const char *k;
    json_t *v;
    const char *cs = json_string_value(json_object_get(f, "header_charset"));
    bool latin1 = cs && !strcmp(cs, "latin1");
    json_object_foreach(f, k, v) {
        bool known = false, text = !strcmp(k, "headers") || !strcmp(k, "header_charset");
        for (size_t i = 0; fault_keys[i]; i++)
            known |= !strcmp(k, fault_keys[i]);
        const char *bad = !known ? "unknown fault %s"
                        : !strcmp(k, "headers") ? headers_fault_bad(v, latin1)
                        : !strcmp(k, "header_charset")
                              ? (cs && (latin1 || !strcmp(cs, "utf-8")) ? NULL
                                 : "%s must be \"utf-8\" or \"latin1\"")
                        : !text && strcmp(k, "drop_webhooks") && !json_is_number(v)
                              ? "%s must be a number" : NULL;
        if (bad) {
            sb_error(c, 422, bad, k);
            json_decref(f);
            return;
        }
    }
    json_object_set_new(sb.faults, system, f);
    json_object_del(sb.windows, system); /* a new limit counts from now */
    c->status = 200;
    c->out = json_incref(sb.faults);
}

/* ---- the journal ---- */

/* Appends an entry (stolen), under mu. A journal past twice its maximum keeps its
 * newest `journal_max` entries: a benchmark's millions of requests do not exhaust memory. */
static void journal_add(json_t *entry)
{
    json_array_append_new(sb.journal, entry);
    size_t n = json_array_size(sb.journal);
    if (sb.journal_max && n > 2 * sb.journal_max) {
        json_t *keep = json_array();
        for (size_t i = n - sb.journal_max; i < n; i++)
            json_array_append(keep, json_array_get(sb.journal, i));
        json_decref(sb.journal);
        sb.journal = keep;
    }
}

/* The webhooks a change sends (c->events), built under the data lock: [{kind, body, id}]. */
static json_t *build_events(struct call *c)
{
    if (!c->events || !sb_sender_on())
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *ev;
    json_array_foreach(c->events, i, ev) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        char *body = sb_emit_body(kind, json_object_get(ev, "fields"), c->now), id[64];
        sb_emit_new_id(id, sizeof id);
        if (body)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "kind", kind, "body", body, "id", id));
        free(body);
    }
    return out;
}

/* Journals and queues them, under mu; with drop_webhooks on, a webhook is journalled as
 * dropped and not sent (the data changed all the same: what polls and reconciliations
 * repair); a full queue drops it too, saying so. */
static void send_events(json_t *events, const char *now)
{
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        const char *body = json_string_value(json_object_get(ev, "body"));
        const char *id = json_string_value(json_object_get(ev, "id"));
        const char *system = sb_emit_system(kind);
        json_t *f = json_object_get(sb.faults, system);
        bool drop = f && json_is_true(json_object_get(f, "drop_webhooks"));
        char *url = sb_sender_url(kind);
        json_t *entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "seq", (json_int_t)++sb.seq,
                                  "at", now, "system", system, "method", "EMIT", "path", url ? url : "",
                                  "kind", kind, "webhook_id", id, "dropped", drop, "body",
                                  json_loads(body, 0, NULL));
        journal_add(json_incref(entry));
        if (drop) {
            free(url);
        } else if (!sb_sender_queue(kind, url, strdup(body), id, entry)) {
            json_object_set_new(entry, "dropped", json_true());
            json_object_set_new(entry, "error", json_string("the send queue is full"));
        }
        json_decref(entry);
    }
}

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    char low[128];
    size_t n = strlen(key) < sizeof low - 1 ? strlen(key) : sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
    low[n] = '\0';
    json_object_set_new(cls, low, json_string(value ? value : ""));
    return MHD_YES;
}

static json_t *journal_query(json_t *query)
{
    const char *sys = json_string_value(json_object_get(query, "system"));
    const char *method = json_string_value(json_object_get(query, "method"));
    const char *prefix = json_string_value(json_object_get(query, "path"));
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(sb.journal, i, e) {
        if ((sys && strcmp(sys, json_string_value(json_object_get(e, "system")))) ||
            (method && strcasecmp(method, json_string_value(json_object_get(e, "method")))) ||
            (prefix && strncmp(prefix, json_string_value(json_object_get(e, "path")), strlen(prefix))))
            continue;
        json_array_append(out, e);
    }
    return json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(out), "requests", out);
}

/* ---- the control API: /_sandbox/... ---- */

static void control(struct call *c)
{
    const char *p = c->path + strlen("/_sandbox");
    bool get = !strcmp(c->method, "GET"), post = !strcmp(c->method, "POST"),
         del = !strcmp(c->method, "DELETE");
    c->status = 200;
    if (!strcmp(p, "/health") && get) {
        c->out = json_pack("{s:s, s:I, s:I, s:O?}", "status", "ok", "requests", (json_int_t)sb.seq,
                           "emit_pending", (json_int_t)sb_sender_pending(), "in_flight", sb.in_flight);
    } else if (!strncmp(p, "/oauth", 6)) {
        sb_oauth_control(c);
    } else if (!strcmp(p, "/change") && post) {
        sb_change(c);
    } else if (!strcmp(p, "/journal") && get) {
        c->out = journal_query(c->query);
    } else if (!strcmp(p, "/journal") && del) {
        json_array_clear(sb.journal);
        c->out = json_pack("{s:i}", "count", 0);
    } else if (!strcmp(p, "/faults") && get) {
        c->out = json_incref(sb.faults);
    } else if (!strcmp(p, "/faults") && post) {
        set_faults(c);
    } else if (!strcmp(p, "/faults") && del) {
        json_object_clear(sb.faults);
        c->out = json_object();
    } else if (!strcmp(p, "/reset") && post) {
        if (load_fixture() != 0)
            sb_error(c, 500, "the data does not load (%s)", sb.employees ? "generation failed" : sb.fixture_path);
        else
            c->out = json_pack("{s:s}", "status", "reset");
    } else if (!strcmp(p, "/data") && get) {
        const char *t = json_string_value(json_object_get(c->query, "table"));
        json_t *v = t ? json_object_get(sb.db, t) : NULL;
        if (v)
            c->out = json_incref(v);
        else
            sb_error(c, 404, "give ?table= one of the data's tables");
    } else {
        sb_error(c, 404, "no control endpoint %s %s", c->method, c->path);
    }
}

/* POST /_sandbox/emit {kind, to, secret?, scheme?, fields?}: the system sends a webhook,
 * unless its drop_webhooks fault is on. Runs outside the lock. */
static void emit_call(struct call *c)
{
    const char *kind = json_string_value(json_object_get(c->body, "kind"));
    const char *to = json_string_value(json_object_get(c->body, "to"));
    const char *system = kind ? sb_emit_system(kind) : NULL;
    if (!system || !to) {
        sb_error(c, 422, "give kind (a known webhook kind) and to (a URL)");
        return;
    }
    pthread_rwlock_wrlock(&sb.data);
    sb_data_changed();
    pthread_mutex_lock(&sb.mu);
    json_t *fields = json_object_get(c->body, "fields");
    if (!strcmp(kind, "completion")) { /* the LMS records it, whether its webhook arrives or not */
        const char *id = json_string_value(json_object_get(fields, "completion_id"));
        json_t *rec = json_pack("{s:s, s:O?, s:O?, s:O?, s:s}", "id", id ? id : "CP-EMIT",
                                "learner_external_id", json_object_get(fields, "learner_external_id"),
                                "course_id", json_object_get(fields, "course_id"), "score",
                                json_object_get(fields, "score"), "completed_at", c->now);
        json_t *t = json_object_get(sb.db, "completions");
        if (rec && json_is_array(t))
            json_array_append_new(t, rec);
        else
            json_decref(rec);
    }
    json_t *f = json_object_get(sb.faults, system);
    bool drop = f && json_is_true(json_object_get(f, "drop_webhooks"));
    json_t *entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:b}", "seq", (json_int_t)++sb.seq,
                              "at", c->now, "system", system, "method", "EMIT", "path", to,
                              "kind", kind, "dropped", drop);
    journal_add(entry);
    pthread_mutex_unlock(&sb.mu);
    pthread_rwlock_unlock(&sb.data);
    if (drop) {
        c->status = 200;
        c->out = json_pack("{s:b, s:s}", "dropped", 1, "system", system);
        return;
    }
    struct emit e = {.kind = kind, .to = to,
                     .secret = json_string_value(json_object_get(c->body, "secret")),
                     .scheme = json_string_value(json_object_get(c->body, "scheme")),
                     .id = json_string_value(json_object_get(c->body, "id")),
                     .fields = json_object_get(c->body, "fields")};
    char err[512] = "", *answer = NULL;
    long status = sb_emit_send(&e, &answer, err, sizeof err);
    c->status = 200;
    c->out = json_pack("{s:b, s:i, s:s}", "sent", status > 0, "status", (int)status, "answer",
                       answer ? answer : err);
    free(answer);
}

/* ---- HTTP ---- */

struct req {
    char *body;
    size_t len;
    bool over;
    bool delayed;          /* journalled and its faults planned; waited its latency */
    struct fault_plan fp;  /* the plan, kept across the wait */
    json_t *entry;         /* its journal entry, kept across the wait */
};

/* ---- latency without holding a thread: suspended connections a timer resumes ---- */

struct delayed {
    struct timespec due; /* CLOCK_MONOTONIC */
    struct MHD_Connection *con;
    struct delayed *next;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct delayed *head; /* by due time */
    bool stopping;
    pthread_t thread;
} dl = {.mu = PTHREAD_MUTEX_INITIALIZER};

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Suspends the connection for ms: the pool thread serves others meanwhile. */
static void delay(struct MHD_Connection *con, long ms)
{
    struct delayed *d = calloc(1, sizeof *d);
    if (!d) /* no memory for the timer: MHD calls again at once, without a wait */
        return;
    clock_gettime(CLOCK_MONOTONIC, &d->due);
    d->due.tv_sec += ms / 1000;
    d->due.tv_nsec += (ms % 1000) * 1000000L;
    if (d->due.tv_nsec >= 1000000000L) {
        d->due.tv_sec++;
        d->due.tv_nsec -= 1000000000L;
    }
    d->con = con;
    pthread_mutex_lock(&dl.mu);
    if (dl.stopping) { /* stopping: no wait (MHD calls again at once) */
        pthread_mutex_unlock(&dl.mu);
        free(d);
        return;
    }
    MHD_suspend_connection(con);
    struct delayed **at = &dl.head;
    while (*at && !before(&d->due, &(*at)->due))
        at = &(*at)->next;
    d->next = *at;
    *at = d;
    pthread_cond_signal(&dl.cv);
    pthread_mutex_unlock(&dl.mu);
}

static void *delay_run(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&dl.mu);
    while (!dl.stopping || dl.head) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (dl.head && (dl.stopping || !before(&now, &dl.head->due))) {
            struct delayed *d = dl.head;
            dl.head = d->next;
            pthread_mutex_unlock(&dl.mu);
            MHD_resume_connection(d->con);
            free(d);
            pthread_mutex_lock(&dl.mu);
        } else if (dl.head) {
            pthread_cond_timedwait(&dl.cv, &dl.mu, &dl.head->due);
        } else {
            pthread_cond_wait(&dl.cv, &dl.mu);
        }
    }
    pthread_mutex_unlock(&dl.mu);
    return NULL;
}

static int delay_start(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&dl.cv, &a);
    pthread_condattr_destroy(&a);
    return pthread_create(&dl.thread, NULL, delay_run, NULL);
}

/* Resumes every waiting connection (they are answered), then ends the timer. */
static void delay_stop(void)
{
    pthread_mutex_lock(&dl.mu);
    dl.stopping = true;
    pthread_cond_signal(&dl.cv);
    pthread_mutex_unlock(&dl.mu);
    pthread_join(dl.thread, NULL);
}

static enum MHD_Result answer(struct MHD_Connection *con, struct call *c, const char *idem_key)
{
    char *text = c->out ? sb_dump(c->out) : strdup(c->text ? c->text : "");
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", c->out ? "application/json" : "text/plain");
    if (idem_key)
        MHD_add_response_header(r, "Idempotency-Key", idem_key);
    if (c->link)
        MHD_add_response_header(r, "Link", c->link);
    const char *hk;
    json_t *hv;
    json_object_foreach(c->headers, hk, hv) {
        char *t = strdup(json_string_value(hv));
        if (t)
            MHD_add_response_header(r, hk, c->latin1 ? sc_latin1_bytes(t) : t);
        free(t);
    }
    if (c->status == 429) {
        json_t *ra = json_object_get(c->out, "retry_after");
        char s[24];
        snprintf(s, sizeof s, "%lld", (long long)json_integer_value(ra));
        MHD_add_response_header(r, "Retry-After", s);
    }
    enum MHD_Result rc = MHD_queue_response(con, (unsigned)c->status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Requests of a system being answered, and the most at once (GET /_sandbox/health). */
static void flight(const char *system, int d)
{
    if (!sb.in_flight)
        sb.in_flight = json_object();
    json_t *v = json_object_get(sb.in_flight, system);
    if (!v)
        json_object_set_new(sb.in_flight, system, v = json_pack("{s:i, s:i}", "now", 0, "max", 0));
    json_int_t now = json_integer_value(json_object_get(v, "now")) + d;
    json_object_set_new(v, "now", json_integer(now));
    if (now > json_integer_value(json_object_get(v, "max")))
        json_object_set_new(v, "max", json_integer(now));
}

static bool is_write(const char *m)
{
    return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH") || !strcmp(m, "DELETE");
}

/* The request's X-Test-Clock (an engine on the test clock sends it), else the real time. */
static long long clock_ms(json_t *headers)
{
    const char *tc = json_string_value(json_object_get(headers, "x-test-clock"));
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    return tc ? atoll(tc) : (long long)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
}

static enum MHD_Result handle(struct MHD_Connection *con, const char *url, const char *method,
                              struct req *rq)
{
    char now[40];
    now_iso(now, sizeof now);
    json_t *query = json_object(), *headers = json_object();
    MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, collect, query);
    MHD_get_connection_values(con, MHD_HEADER_KIND, collect, headers);
    /* a request on a test clock (the engine's, a simulator's change) happens at its time */
    const char *tc_now = json_string_value(json_object_get(headers, "x-test-clock"));
    if (tc_now && atoll(tc_now) > 0)
        iso_of_ms(atoll(tc_now), now, sizeof now);
    json_t *body = rq->len ? json_loadb(rq->body, rq->len, JSON_DECODE_ANY, NULL) : NULL;
    char system[32];
    snprintf(system, sizeof system, "%.*s", (int)strcspn(url + 1, "/"), url + 1);
    struct call c = {.method = method, .path = url, .system = system, .query = query, .db = sb.db,
                     .body = body, .now = now,
                     .host = json_string_value(json_object_get(headers, "host")),
                     .authorised = json_object_get(headers, "authorization") ||
                                   json_object_get(headers, "x-api-key"),
                     .authz = json_string_value(json_object_get(headers, "authorization")),
                     .raw = rq->body, .raw_len = rq->len, .clock_ms = clock_ms(headers)};
    enum MHD_Result rc;
    if (rq->over) {
        sb_error(&c, 413, "body over %u bytes", MAX_BODY);
    } else if (!strncmp(url, "/_sandbox/", 10)) {
        if (!strcmp(url, "/_sandbox/emit") && !strcmp(method, "POST")) {
            emit_call(&c);
        } else { /* answered under the locks: the journal and data change beside it */
            if (!strcmp(method, "GET"))
                pthread_rwlock_rdlock(&sb.data);
            else {
                pthread_rwlock_wrlock(&sb.data);
                sb_data_changed();
            }
            c.db = sb.db;
            pthread_mutex_lock(&sb.mu);
            control(&c);
            json_t *events = build_events(&c);
            send_events(events, now);
            json_decref(events);
            rc = answer(con, &c, NULL);
            json_decref(c.out);
            c.out = NULL;
            pthread_mutex_unlock(&sb.mu);
            pthread_rwlock_unlock(&sb.data);
            goto out;
        }
    } else {
        /* journal first: every request received is counted, faults and replays too */
        json_t *entry = rq->entry;
        struct fault_plan fp = rq->fp;
        rq->entry = NULL;
        if (!rq->delayed) {
            pthread_mutex_lock(&sb.mu);
            entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:O, s:O}", "seq",
                              (json_int_t)++sb.seq, "at", now, "system", system, "method",
                              method, "path", url, "query", query, "headers", headers);
            if (body)
                json_object_set(entry, "body", body);
            else if (rq->len)
                json_object_set_new(entry, "text", json_stringn(rq->body, rq->len));
            journal_add(json_incref(entry)); /* ours until the answer is noted on it */
            /* a limit counts on the daemon's test clock when the request says it */
            const char *tc = json_string_value(json_object_get(headers, "x-test-clock"));
            struct timespec rt;
            clock_gettime(CLOCK_REALTIME, &rt);
            fp = plan(system, tc ? atoll(tc) : (long long)rt.tv_sec * 1000 + rt.tv_nsec / 1000000);
            flight(system, 1);
            if (fp.reset || fp.status)
                json_object_set_new(entry, "fault", fp.reset ? json_string("reset")
                                                             : json_integer(fp.status));
            pthread_mutex_unlock(&sb.mu);
            if (fp.latency_ms > 0) { /* wait without a thread; MHD calls again after */
                rq->delayed = true;
                rq->fp = fp;
                rq->entry = entry;
                delay(con, fp.latency_ms);
                json_decref(query);
                json_decref(headers);
                json_decref(body);
                return MHD_YES;
            }
        }
        if (fp.reset) { /* close the connection without an answer */
            pthread_mutex_lock(&sb.mu);
            flight(system, -1);
            pthread_mutex_unlock(&sb.mu);
            json_decref(entry);
            json_decref(query);
            json_decref(headers);
            json_decref(body);
            return MHD_NO;
        }
        const char *key = json_string_value(json_object_get(headers, "idempotency-key"));
        char ikey[300];
        snprintf(ikey, sizeof ikey, "%s %s", system, key ? key : "");
        /* GETs share the data; a write has it alone (and so does a replay's key) */
        if (is_write(method)) {
            pthread_rwlock_wrlock(&sb.data);
            sb_data_changed();
        } else
            pthread_rwlock_rdlock(&sb.data);
        c.db = sb.db; /* a reset may have replaced it since the request began */
        pthread_mutex_lock(&sb.mu);
        json_t *seen = key && is_write(method) ? json_object_get(sb.idem, ikey) : NULL;
        pthread_mutex_unlock(&sb.mu);
        if (fp.status == 429) {
            sb_error(&c, 429, "rate limited: retry after %ld s", fp.retry_after);
            json_object_set_new(c.out, "retry_after", json_integer(fp.retry_after));
        } else if (fp.status) {
            sb_error(&c, fp.status, "injected fault: %s answers %d", system, fp.status);
        } else if (seen) { /* a repeat: the first answer, nothing written again */
            c.status = (int)json_integer_value(json_object_get(seen, "status"));
            c.out = json_incref(json_object_get(seen, "body"));
            c.text = json_string_value(json_object_get(seen, "text"));
        } else if (!sb_route(&c)) {
            sb_error(&c, 404, "no such endpoint: %s %s", method, url);
        }
        json_t *events = build_events(&c);
        pthread_mutex_lock(&sb.mu);
        if (!seen && key && is_write(method) && c.status < 500)
            json_object_set_new(sb.idem, ikey, json_pack("{s:i, s:O?, s:s?}", "status", c.status,
                                                         "body", c.out, "text", c.text));
        json_object_set_new(entry, "status", json_integer(c.status));
        if (seen)
            json_object_set_new(entry, "replayed", json_true());
        send_events(events, now);
        flight(system, -1);
        json_t *f = json_object_get(sb.faults, system);
        c.headers = json_deep_copy(json_object_get(f, "headers"));
        const char *cs = json_string_value(json_object_get(f, "header_charset"));
        c.latin1 = cs && !strcmp(cs, "latin1");
        pthread_mutex_unlock(&sb.mu);
        json_decref(events);
        json_decref(entry);
        rc = answer(con, &c, seen ? key : NULL);
        json_decref(c.out); /* it may share the data's objects: release under the lock */
        c.out = NULL;
        pthread_rwlock_unlock(&sb.data);
        goto out;
    }
    rc = answer(con, &c, NULL);
out:
    free(c.link);
    json_decref(c.headers);
    json_decref(c.events);
    json_decref(c.out);
    json_decref(query);
    json_decref(headers);
    json_decref(body);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **ctx)
{
    (void)cls;
    (void)version;
    struct req *rq = *ctx;
    if (!rq) {
        *ctx = calloc(1, sizeof *rq);
        return *ctx ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        if (rq->len + *upload_size > MAX_BODY) {
            rq->over = true;
        } else {
            char *b = realloc(rq->body, rq->len + *upload_size + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + rq->len, upload, *upload_size);
            rq->body = b;
            rq->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return handle(con, url, method, rq);
}

static void on_done(void *cls, struct MHD_Connection *con, void **ctx,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)con;
    (void)why;
    struct req *rq = *ctx;
    if (rq) {
        json_decref(rq->entry);
        free(rq->body);
        free(rq);
    }
    *ctx = NULL;
}

/* ---- command line ---- */

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sandbox [serve] [--port N] [--port-file FILE] [--fixture FILE] [--seed N]\n"
            "                       [--employees N] [--threads N] [--journal-max N]\n"
            "                       [--emit-to URL [--emit-secret SYSTEM=SECRET ...]\n"
            "                                      [--emit-path KIND=/PATH ...]]\n"
            "       sandbox generate --employees N [--seed N]   (the generated data as JSON)\n"
            "       sandbox emit KIND --to URL [--secret S] [--scheme standard|hub] [--id ID]\n"
            "                         [--FIELD VALUE ...]\n"
            "\n"
            "Simulated HR systems on 127.0.0.1 (default port 8900; 0 picks a free one),\n"
            "served from a JSON fixture (default tools/sandbox/fixture.json) or, with\n"
            "--employees N, from a generated organisation of N employees (deterministic per\n"
            "--seed, default 1; its planted drift in GET /_sandbox/data?table=planted).\n"
            "--threads N: the server's thread pool (default 8). --journal-max N: past 2N\n"
            "entries the journal keeps its newest N (default 50000; 0: all).\n"
            "--emit-to URL: the systems send their webhooks to URL + the kind's path when\n"
            "their data changes (through their API or POST /_sandbox/change), signed with\n"
            "--emit-secret SYSTEM=SECRET (hris, lms, ats, screening-a, screening-b; SECRET\n"
            "or env:NAME), from a queue a sender thread empties; each is journalled (EMIT).\n"
            "Systems and their endpoints (writes journal every request and honour\n"
            "Idempotency-Key):\n\n");
    sb_routes_print(out);
    fprintf(out, "\nPaging (every list gives at most 100 items a page):\n");
    sb_paging_print(out);
    fprintf(out,
            "\nControl (not journalled):\n"
            "  GET    /_sandbox/journal   requests received ?system= &method= &path=PREFIX\n"
            "  DELETE /_sandbox/journal   empty the journal\n"
            "  GET    /_sandbox/faults    the faults set\n"
            "  POST   /_sandbox/faults    {system, error_rate, status, latency_ms, reset_rate,\n"
            "                             rate_limit, retry_after, drop_webhooks, times,\n"
            "                             limit, window_ms, headers, header_charset}: limit =\n"
            "                             at most that many requests in any window_ms (on\n"
            "                             X-Test-Clock if sent); headers = {name: value} added\n"
            "                             to every answer, header_charset utf-8 or latin1\n"
            "  DELETE /_sandbox/faults    clear every fault\n"
            "  POST   /_sandbox/emit      {kind, to, secret?, scheme?, id?, fields?}: the system\n"
            "                             sends a webhook (dropped under drop_webhooks)\n"
            "  POST   /_sandbox/change    {kind, ...}: a business change, as the system makes\n"
            "                             it, sending its webhook under --emit-to (below)\n"
            "  POST   /_sandbox/oauth     {system, client_id, client_secret, expires_in?,\n"
            "                             client_auth?, accept?}: SYSTEM/oauth/token issues\n"
            "                             tokens; the system takes only live Bearer tokens\n"
            "  POST   /_sandbox/oauth/revoke {system, refresh_tokens?}: tokens revoked\n"
            "  POST   /_sandbox/reset     reload the fixture; clear journal, faults, keys\n"
            "  GET    /_sandbox/data      ?table=NAME: the data as it is now (table=planted:\n"
            "                             the drift planted, {kind, keys...} each)\n"
            "  GET    /_sandbox/health\n"
            "\nChanges (POST /_sandbox/change {kind, ...}; the webhook each sends):\n");
    sb_changes_print(out);
    fprintf(out, "\nWebhook kinds (emit; signed when --secret is given):\n");
    sb_emit_kinds(out);
    return out == stdout ? 0 : 2;
}

static int cmd_emit(int argc, char **argv)
{
    if (argc < 3)
        return usage(stderr);
    struct emit e = {.kind = argv[2], .fields = json_object()};
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(a, "--", 2) || !v) {
            fprintf(stderr, "sandbox: emit: %s needs a value\n", a);
            json_decref(e.fields);
            return 2;
        }
        i++;
        if (!strcmp(a, "--to"))
            e.to = v;
        else if (!strcmp(a, "--secret"))
            e.secret = v;
        else if (!strcmp(a, "--scheme"))
            e.scheme = v;
        else if (!strcmp(a, "--id"))
            e.id = v;
        else { /* a field: JSON when it parses (numbers, true), else a string */
            json_t *val = json_loads(v, JSON_DECODE_ANY, NULL);
            json_object_set_new(e.fields, a + 2, val ? val : json_string(v));
        }
    }
    if (!e.to || !sb_emit_system(e.kind)) {
        fprintf(stderr, "sandbox: emit: %s\n", e.to ? "unknown kind (see --help)" : "give --to URL");
        json_decref(e.fields);
        return 2;
    }
    char err[512] = "", *ans = NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    long status = sb_emit_send(&e, &ans, err, sizeof err);
    if (status)
        printf("%ld %s\n", status, ans ? ans : "");
    else
        fprintf(stderr, "sandbox: emit: %s\n", err);
    free(ans);
    json_decref(e.fields);
    curl_global_cleanup();
    return status >= 200 && status < 300 ? 0 : 1;
}

/* Option opt's value v as a whole number from lo to hi in *out: 0, or -1 after saying so
 * on stderr (a sign, a fraction, text, or out of range: strtoull alone wraps "-5"). */
static int num_opt(const char *opt, const char *v, unsigned long long lo, unsigned long long hi,
                   unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
    if (!end || *end || errno == ERANGE || n < lo || n > hi) {
        fprintf(stderr, "sandbox: %s takes a number from %llu to %llu, not %s\n", opt, lo, hi, v);
        return -1;
    }
    *out = n;
    return 0;
}

/* sandbox generate --employees N [--seed S]: the data, compact JSON, on stdout. */
static int cmd_generate(int argc, char **argv)
{
    size_t n = 0;
    unsigned long long seed = 1;
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long x;
        if (!strcmp(argv[i], "--employees") && v) {
            if (num_opt("--employees", argv[++i], 40, 10000000, &x) != 0)
                return 2;
            n = (size_t)x;
        } else if (!strcmp(argv[i], "--seed") && v) {
            if (num_opt("--seed", argv[++i], 0, ULLONG_MAX, &seed) != 0)
                return 2;
        } else
            return usage(stderr);
    }
    char err[256];
    json_t *db = sb_generate(n, seed, err, sizeof err);
    if (!db) {
        fprintf(stderr, "sandbox: %s\n", err);
        return 2;
    }
    int rc = json_dumpf(db, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF ? 0 : 1;
    json_decref(db);
    return rc;
}

/* --emit-secret SYSTEM=SECRET (or SYSTEM=env:NAME, kept out of the process list) and
 * --emit-path KIND=/PATH. */
static int emit_option(const char *opt, const char *v, json_t *secrets, json_t *paths)
{
    const char *eq = strchr(v, '=');
    bool secret = !strcmp(opt, "--emit-secret");
    char name[64];
    snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - v) : 0, v);
    if (!eq || (secret ? !known_system(name) || !strcmp(name, "ops") || !strcmp(name, "payroll") ||
                             !strcmp(name, "calendar") || !strcmp(name, "comms")
                       : !sb_emit_system(name) || eq[1] != '/')) {
        fprintf(stderr, secret ? "sandbox: --emit-secret takes SYSTEM=SECRET, SYSTEM one of hris, lms, "
                                 "ats, screening-a, screening-b (got %s)\n"
                               : "sandbox: --emit-path takes KIND=/PATH, KIND a webhook kind (got %s)\n", v);
        return -1;
    }
    const char *val = eq + 1;
    if (secret && !strncmp(val, "env:", 4)) {
        val = getenv(val + 4);
        if (!val || !*val) {
            fprintf(stderr, "sandbox: --emit-secret %s: the environment variable %s is not set\n", name, eq + 5);
            return -1;
        }
    }
    if (secret && !*val) { /* an empty key would sign every webhook with "" */
        fprintf(stderr, "sandbox: --emit-secret %s: the secret is empty\n", name);
        return -1;
    }
    json_object_set_new(secret ? secrets : paths, name, json_string(val));
    return 0;
}

static void free_all(void)
{
    sb_sender_stop();
    sb_systems_free();
    sb_oauth_reset();
    curl_global_cleanup();
    json_decref(sb.db);
    json_decref(sb.journal);
    json_decref(sb.faults);
    json_decref(sb.idem);
    json_decref(sb.windows);
    json_decref(sb.in_flight);
}

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

int main(int argc, char **argv)
{
    int a = 1;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")))
        return usage(stdout);
    if (argc > 1 && !strcmp(argv[1], "emit"))
        return cmd_emit(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "generate"))
        return cmd_generate(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "serve"))
        a = 2;
    unsigned threads = 8;
    const char *emit_to = NULL;
    json_t *secrets = json_object(), *paths = json_object();
    sb.journal_max = 50000;
    unsigned port = 8900;
    const char *port_file = NULL;
    sb.fixture_path = "tools/sandbox/fixture.json";
    sb.rng = 0x9e3779b97f4a7c15ULL;
    bool seeded = false;
    for (int i = a; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long x = 0;
        if ((!strcmp(argv[i], "--port") && v && num_opt(argv[i], v, 0, 65535, &x) != 0) ||
            (!strcmp(argv[i], "--seed") && v && num_opt(argv[i], v, 0, ULLONG_MAX, &x) != 0) ||
            (!strcmp(argv[i], "--employees") && v && num_opt(argv[i], v, 40, 10000000, &x) != 0) ||
            (!strcmp(argv[i], "--journal-max") && v && num_opt(argv[i], v, 0, ULLONG_MAX, &x) != 0) ||
            (!strcmp(argv[i], "--threads") && v && num_opt(argv[i], v, 1, 256, &x) != 0)) {
            json_decref(secrets);
            json_decref(paths);
            return 2;
        }
        if (!strcmp(argv[i], "--port") && v)
            port = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && v)
            port_file = argv[++i];
        else if (!strcmp(argv[i], "--fixture") && v)
            sb.fixture_path = argv[++i];
        else if (!strcmp(argv[i], "--seed") && v) {
            sb.gen_seed = strtoull(argv[++i], NULL, 10);
            sb.rng = sb.gen_seed | 1;
            seeded = true;
        } else if (!strcmp(argv[i], "--employees") && v) {
            char *end;
            sb.employees = strtoull(argv[++i], &end, 10);
            if (*end || !sb.employees) {
                fprintf(stderr, "sandbox: --employees takes a number from 40 to 10000000, not %s\n", argv[i]);
                json_decref(secrets);
                json_decref(paths);
                return 2;
            }
        } else if (!strcmp(argv[i], "--emit-to") && v) {
            emit_to = argv[++i];
            size_t scheme = !strncmp(emit_to, "http://", 7) ? 7 : !strncmp(emit_to, "https://", 8) ? 8 : 0;
            if (!scheme || !emit_to[scheme] || emit_to[scheme] == '/') {
                fprintf(stderr, "sandbox: --emit-to takes an http:// or https:// URL (got %s)\n", emit_to);
                json_decref(secrets);
                json_decref(paths);
                return 2;
            }
        } else if ((!strcmp(argv[i], "--emit-secret") || !strcmp(argv[i], "--emit-path")) && v) {
            if (emit_option(argv[i], argv[i + 1], secrets, paths) != 0) {
                json_decref(secrets);
                json_decref(paths);
                return 2;
            }
            i++;
        } else if (!strcmp(argv[i], "--journal-max") && v) {
            sb.journal_max = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--threads") && v) {
            threads = (unsigned)atoi(argv[++i]);
            if (threads < 1 || threads > 256) {
                fprintf(stderr, "sandbox: --threads takes 1 to 256\n");
                json_decref(secrets);
                json_decref(paths);
                return 2;
            }
        } else {
            json_decref(secrets);
            json_decref(paths);
            return usage(stderr);
        }
    }
    if (!emit_to && (json_object_size(secrets) || json_object_size(paths))) {
        fprintf(stderr, "sandbox: --emit-secret and --emit-path need --emit-to URL\n");
        json_decref(secrets);
        json_decref(paths);
        return 2;
    }
    if (sb.employees && !seeded) /* --seed 0 is a seed of its own */
        sb.gen_seed = 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&sb.data, &ra);
    pthread_rwlockattr_destroy(&ra);
    if (load_fixture() != 0) {
        json_decref(secrets);
        json_decref(paths);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (sb.employees) {
        char line[1024];
        sb_summary(sb.db, line, sizeof line);
        fprintf(stderr, "sandbox: generated %zu employees (seed %llu) in %ld ms: %s\n", sb.employees,
                sb.gen_seed, (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
                line);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (emit_to && sb_sender_start(emit_to, secrets, paths, 65536, &sb.mu) != 0) {
        fprintf(stderr, "sandbox: cannot start the webhook sender\n");
        json_decref(secrets);
        json_decref(paths);
        free_all();
        return 1;
    }
    json_decref(secrets);
    json_decref(paths);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, NULL,
        MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 60000u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d || delay_start() != 0) {
        fprintf(stderr, "sandbox: cannot listen on 127.0.0.1:%u\n", port);
        if (d)
            MHD_stop_daemon(d);
        free_all();
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (info && getsockname(info->listen_fd, (struct sockaddr *)&bound, &len) == 0)
        port = ntohs(bound.sin_port);
    if (sb.employees)
        fprintf(stderr, "sandbox: serving %zu generated employees on http://127.0.0.1:%u\n", sb.employees, port);
    else
        fprintf(stderr, "sandbox: serving %s on http://127.0.0.1:%u\n", sb.fixture_path, port);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "%u\n", port);
            fclose(f);
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop)
        pause();
    delay_stop();
    MHD_stop_daemon(d);
    free_all();
    return 0;
}
