/* The management API (/api/v1) on its own listener (--admin-listen): a second
 * libmicrohttpd daemon in the same process, so the webhook listener never serves it.
 * Requests carry `Authorization: Bearer TOKEN` (RFC 6750) for one of the org's users:;
 * every route names the roles it admits. Actions go through the same store calls as the
 * CLI (decisions recorded here, run by the daemon's workers), recorded under the user's
 * name. The OpenAPI document is generated from the same route table. */
#include "daemon/admin.h"

#include "daemon/catalog.h"
#include "daemon/console.h"
#include "daemon/httpd.h"

#include "clock.h"
#include "lang/diag.h"
#include "lang/lua.h"
#include "lang/text.h"
#include "log.h"
#include "model/validate.h"
#include "store/version.h"
#include "model/org.h"
#include "model/org_load.h"
#include "model/yaml.h"
#include "run/audit.h"
#include "run/deploy.h"
#include "store/hooks.h"
#include "store/store.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

enum { R_VIEWER = 1, R_OPERATOR = 2, R_APPROVER = 4, R_ADMIN = 8 };
#define R_ANY (R_VIEWER | R_OPERATOR | R_APPROVER | R_ADMIN)

static const char *const role_names[] = {"viewer", "operator", "approver", "admin", NULL};

struct user {
    char *name;
    int role;
    char *token; /* owned, wiped when freed */
};

struct sc_admin {
    struct sc_daemon *d;
    struct MHD_Daemon *mhd;
    pthread_mutex_t mu;   /* st */
    struct sc_store *st;  /* its own writing connection */
    struct user *users;
    size_t nusers;
};

struct areq {
    struct sc_buf body;
    bool over;
    bool started;  /* on_request has seen the request once */
    bool nul_path; /* the path, before decoding, holds %00 */
    char *raw;     /* then the path as sent (owned), to name the segment */
    const char *bad_path; /* else why the path as sent is refused (sc_httpd_path_verdict) */
    unsigned bad_status;
};

struct call {
    struct sc_admin *a;
    const struct user *u;
    const char *arg;      /* the path's first {..} segment, or NULL */
    const char *args[3];  /* its {..} segments in order */
    json_t *body;         /* the request's JSON body, or NULL */
    struct MHD_Connection *con;
};

/* A handler: the answer's status and body (new). */
typedef unsigned (*handler_fn)(struct call *c, json_t **out);

struct route {
    const char *method, *path; /* path: segments, {id} standing for one */
    int roles;
    handler_fn fn;
    const char *summary;
    const char *schema;        /* the 200 answer's JSON Schema (JSON text) */
};

static json_t *err_body(const char *msg)
{
    return json_pack("{s:s}", "error", msg);
}

static const char *qarg(struct call *c, const char *k)
{
    return MHD_lookup_connection_value(c->con, MHD_GET_ARGUMENT_KIND, k);
}

static long version_num(const char *s);

/* ---- handlers ---- */

/* ms since the epoch of the store's times, 2026-03-09T10:00:00.000Z (UTC); -1 otherwise. */
static int64_t iso_ms(const char *s)
{
    struct tm tm = {0};
    int ms = 0, n = 0;
    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &n) != 7 || s[n])
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static unsigned h_executions(struct call *c, json_t **out)
{
    struct sc_exec_filter f = {.scenario = qarg(c, "scenario"), .status = qarg(c, "status")};
    const char *since = qarg(c, "since"), *limit = qarg(c, "limit");
    char *end;
    if (since) {
        errno = 0;
        long long v = strtoll(since, &end, 10);
        if (!*since || *end || v < 0 || errno == ERANGE) {
            *out = err_body("since takes milliseconds since the epoch");
            return 400;
        }
        f.since_ms = v;
    }
    if (limit) {
        long v = strtol(limit, &end, 10);
        if (!*limit || *end || v < 1 || v > 1000) {
            *out = err_body("limit takes a number from 1 to 1000");
            return 400;
        }
        f.limit = (int)v;
    }
    const char *cursor = qarg(c, "cursor");
    char id[128];
    if (cursor) { /* MS.ID of the last row of the previous page */
        long long ms = strtoll(cursor, &end, 10);
        if (end == cursor || *end != '.' || ms < 0 || !end[1] || strlen(end + 1) >= sizeof id) {
            *out = err_body("cursor: give the next_cursor of the previous page");
            return 400;
        }
        snprintf(id, sizeof id, "%s", end + 1);
        f.before_ms = ms;
        f.before_id = id;
    }
    int page = f.limit > 0 ? f.limit : 100;
    pthread_mutex_lock(&c->a->mu);
    json_t *rows = sc_store_exec_list(c->a->st, &f);
    pthread_mutex_unlock(&c->a->mu);
    json_t *last = json_array_size(rows) == (size_t)page ? json_array_get(rows, page - 1) : NULL;
    if (!rows) {
        *out = err_body("store unavailable");
        return 503;
    }
    *out = json_pack("{s:o}", "executions", rows);
    if (last) { /* a full page: the next one starts after its last row */
        char next[200];
        snprintf(next, sizeof next, "%lld.%s", (long long)iso_ms(json_string_value(
                     json_object_get(last, "started_at"))), json_string_value(json_object_get(last, "id")));
        json_object_set_new(*out, "next_cursor", json_string(next));
    }
    return 200;
}

/* After a read found nothing: whether the store failed (else there is none). Under mu. */
static bool store_failed(struct call *c)
{
    return sc_store_error(c->a->st)[0] != '\0';
}

static unsigned h_execution(struct call *c, json_t **out)
{
    pthread_mutex_lock(&c->a->mu);
    json_t *v = sc_store_exec_get(c->a->st, c->arg);
    bool down = !v && store_failed(c);
    pthread_mutex_unlock(&c->a->mu);
    *out = v ? v : err_body(down ? "store unavailable" : "no such execution");
    return v ? 200 : down ? 503 : 404;
}

static unsigned h_holds(struct call *c, json_t **out)
{
    const char *state = qarg(c, "state");
    if (state && !strcmp(state, "all"))
        state = NULL;
    else if (!state)
        state = "pending";
    pthread_mutex_lock(&c->a->mu);
    json_t *rows = sc_store_holds(c->a->st, state);
    pthread_mutex_unlock(&c->a->mu);
    if (!rows) {
        *out = err_body("store unavailable");
        return 503;
    }
    *out = json_pack("{s:o}", "holds", rows);
    return 200;
}

static int64_t id_of(const char *s)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return s && *s && !*end && errno != ERANGE && v > 0 ? v : -1;
}

/* The hold with its decisions; NULL when there is none. Under mu. */
static json_t *hold_full(struct sc_store *st, int64_t id)
{
    json_t *h = sc_store_hold(st, id);
    if (!h)
        return NULL;
    json_t *ds = sc_store_decisions(st, json_string_value(json_object_get(h, "execution")));
    json_t *mine = json_array(), *dv;
    size_t k;
    json_array_foreach(ds, k, dv) if (json_integer_value(json_object_get(dv, "hold")) == id)
        json_array_append(mine, dv);
    json_decref(ds);
    json_object_set_new(h, "decisions", mine);
    return h;
}

static unsigned h_hold(struct call *c, json_t **out)
{
    int64_t id = id_of(c->arg);
    pthread_mutex_lock(&c->a->mu);
    json_t *h = id > 0 ? hold_full(c->a->st, id) : NULL;
    bool down = !h && id > 0 && store_failed(c);
    pthread_mutex_unlock(&c->a->mu);
    *out = h ? h : err_body(down ? "store unavailable" : "no such hold");
    return h ? 200 : down ? 503 : 404;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* A reason from the body: {"reason": "..."}; NULL when none. */
static const char *reason_of(struct call *c)
{
    const char *r = json_string_value(json_object_get(c->body, "reason"));
    return r && *r ? r : NULL;
}

/* The user's action on the audit log, inside the transaction that records it (as the
 * CLI's): 0, or -1 (sc_store_error says why). Under mu. */
static int person_act(struct call *c, const char *action, const char *object,
                      const json_t *about, const char *note)
{
    struct sc_audit_act a = {.org = c->a->d->org->name, .action = action, .object = object,
                             .by = c->u->name, .note = note,
                             .scenario = json_string_value(json_object_get(about, "scenario")),
                             .execution = json_string_value(json_object_get(about, "execution")),
                             .step = json_string_value(json_object_get(about, "step"))};
    return sc_audit_person(c->a->st, &a) < 0 ? -1 : 0;
}

/* Ends the transaction of a person's action: with rc (what the action's store call
 * answered) SC_STORE_OK, its audit row (person_act) and the commit; else, or when either
 * fails, the rollback. The final rc. Under mu. */
static int act_commit(struct call *c, int rc, const char *action, const char *object,
                      const json_t *about, const char *note)
{
    if (rc == SC_STORE_OK && person_act(c, action, object, about, note) != 0)
        rc = SC_STORE_ERR;
    if (rc == SC_STORE_OK && sc_store_tx_commit(c->a->st) != 0)
        rc = SC_STORE_ERR;
    if (rc != SC_STORE_OK)
        sc_store_tx_rollback(c->a->st);
    return rc;
}

/* As `scenarist holds approve|reject`: the decision and, for a rejection, the end of the
 * execution in one transaction; an approval is run by the daemon's workers. */
static unsigned decide(struct call *c, json_t **out, bool approve)
{
    int64_t id = id_of(c->arg);
    struct sc_store *st = c->a->st;
    const char *by = c->u->name, *why = reason_of(c);
    pthread_mutex_lock(&c->a->mu);
    json_t *h = id > 0 ? sc_store_hold(st, id) : NULL;
    if (!h) {
        bool down = id > 0 && store_failed(c);
        pthread_mutex_unlock(&c->a->mu);
        *out = err_body(down ? "store unavailable" : "no such hold");
        return down ? 503 : 404;
    }
    const char *exec = str(h, "execution");
    struct sc_decision_row r = {.execution = exec, .action = approve ? "approve" : "reject",
                                .hold = id, .by = by, .reason = why};
    char msg[600];
    snprintf(msg, sizeof msg, "rejected by %s%s%s (hold %lld: %s)", by, why ? ": " : "",
             why ? why : "", (long long)id, str(h, "reason"));
    json_t *summary = approve ? NULL
                              : json_pack("{s:{s:s, s:s, s:s}}", "error", "kind", "data",
                                          "message", msg, "step", str(h, "step"));
    int64_t did = -1;
    int rc = !strcmp(str(h, "state"), "pending") ? SC_STORE_OK : SC_STORE_EXISTS;
    bool tx = rc == SC_STORE_OK;
    if (rc == SC_STORE_OK)
        rc = sc_store_tx_begin(st) != 0 ? SC_STORE_ERR : sc_store_decision_add(st, &r, &did);
    if (rc == SC_STORE_OK && !approve &&
        (sc_store_incomplete_close(st, exec, "rejected", by) < 0 ||
         sc_store_exec_end(st, exec, "error", 0, summary, true) != 0))
        rc = SC_STORE_ERR;
    char object[64];
    snprintf(object, sizeof object, "holds/%lld", (long long)id);
    if (tx)
        rc = act_commit(c, rc, r.action, object, h, why);
    json_decref(summary);
    json_decref(h);
    json_t *now = hold_full(st, id);
    pthread_mutex_unlock(&c->a->mu);
    if (rc == SC_STORE_OK) {
        if (approve)
            sc_daemon_kick(c->a->d);
        *out = now ? now : err_body("store unavailable");
        return now ? 200 : 503;
    }
    if (rc == SC_STORE_EXISTS && now) {
        char m[400];
        snprintf(m, sizeof m, "hold %lld was already %s by %s at %s: a decision is recorded once",
                 (long long)id, str(now, "state"), str(now, "decided_by"), str(now, "decided_at"));
        json_decref(now);
        *out = err_body(m);
        return 409;
    }
    json_decref(now);
    *out = err_body("store unavailable");
    return 503;
}

static unsigned h_approve(struct call *c, json_t **out) { return decide(c, out, true); }
static unsigned h_reject(struct call *c, json_t **out) { return decide(c, out, false); }

static unsigned h_incomplete(struct call *c, json_t **out)
{
    const char *state = qarg(c, "state");
    pthread_mutex_lock(&c->a->mu);
    json_t *rows = sc_store_incomplete_list(c->a->st, state && strcmp(state, "all") ? state : NULL);
    pthread_mutex_unlock(&c->a->mu);
    if (!rows) {
        *out = err_body("store unavailable");
        return 503;
    }
    *out = json_pack("{s:o}", "incomplete", rows);
    return 200;
}

/* A retry decision and its audit row in one transaction; as sc_store_decision_add. Under mu. */
static int audited_decision(struct call *c, const struct sc_decision_row *r, const json_t *inc,
                            int64_t *did)
{
    char object[200];
    snprintf(object, sizeof object, "incomplete/%s", r->execution);
    int rc = sc_store_tx_begin(c->a->st) != 0 ? SC_STORE_ERR : sc_store_decision_add(c->a->st, r, did);
    return act_commit(c, rc, r->action, object, inc, r->reason);
}

/* As `scenarist incomplete retry ID`: a retry recorded for the daemon to run. */
static unsigned h_retry(struct call *c, json_t **out)
{
    pthread_mutex_lock(&c->a->mu);
    json_t *inc = sc_store_incomplete_get(c->a->st, c->arg);
    const char *state = str(inc, "state");
    if (!inc && store_failed(c)) {
        pthread_mutex_unlock(&c->a->mu);
        *out = err_body("store unavailable");
        return 503;
    }
    if (!inc || (strcmp(state, "pending") && strcmp(state, "exhausted"))) {
        pthread_mutex_unlock(&c->a->mu);
        char m[300];
        snprintf(m, sizeof m, !inc ? "no incomplete execution %s"
                              : !strcmp(state, "held") ? "execution %s is held for a person's "
                                                         "decision: approve or reject its hold"
                                                       : "execution %s is not waiting for a retry",
                 c->arg);
        json_decref(inc);
        *out = err_body(m);
        return inc ? 409 : 404;
    }
    struct sc_decision_row r = {.execution = c->arg, .action = "retry", .by = c->u->name,
                                .reason = reason_of(c)};
    int64_t did;
    int rc = audited_decision(c, &r, inc, &did);
    json_decref(inc);
    json_t *dv = rc == SC_STORE_OK ? sc_store_decision(c->a->st, did) : NULL;
    pthread_mutex_unlock(&c->a->mu);
    if (rc == SC_STORE_EXISTS) {
        *out = err_body("a retry of this execution is already recorded and has not run yet");
        return 409;
    }
    if (!dv) {
        *out = err_body("store unavailable");
        return 503;
    }
    sc_daemon_kick(c->a->d);
    *out = dv;
    return 200;
}

/* As `scenarist incomplete resolve|discard ID`: a person closes it; nothing runs. */
static unsigned close_incomplete(struct call *c, json_t **out, const char *state)
{
    pthread_mutex_lock(&c->a->mu);
    json_t *inc = sc_store_incomplete_get(c->a->st, c->arg);
    char object[200];
    snprintf(object, sizeof object, "incomplete/%s", c->arg);
    int r = sc_store_tx_begin(c->a->st) != 0 ? SC_STORE_ERR
            : sc_store_incomplete_close(c->a->st, c->arg, state, c->u->name);
    r = act_commit(c, r, !strcmp(state, "resolved") ? "resolve" : "discard", object, inc,
                   reason_of(c));
    json_decref(inc);
    json_t *now = r == SC_STORE_OK ? sc_store_incomplete_get(c->a->st, c->arg) : NULL;
    pthread_mutex_unlock(&c->a->mu);
    if (r == SC_STORE_NONE) {
        char m[300];
        snprintf(m, sizeof m, "%s is not an open incomplete execution", c->arg);
        *out = err_body(m);
        return 409;
    }
    *out = now ? now : err_body("store unavailable");
    return now ? 200 : 503;
}

static unsigned h_resolve(struct call *c, json_t **out) { return close_incomplete(c, out, "resolved"); }
static unsigned h_discard(struct call *c, json_t **out) { return close_incomplete(c, out, "discarded"); }

/* As `scenarist incomplete retry --all [--scenario S]`: a retry recorded for each open
 * incomplete execution (of scenario, when the body names one) that has none waiting. */
static unsigned h_retry_all(struct call *c, json_t **out)
{
    const char *scenario = json_string_value(json_object_get(c->body, "scenario"));
    pthread_mutex_lock(&c->a->mu);
    json_t *rows = sc_store_incomplete_list(c->a->st, NULL), *e;
    json_t *done = json_array();
    size_t i;
    int waiting = 0, failed = 0;
    json_array_foreach(rows, i, e) {
        const char *state = str(e, "state");
        if ((strcmp(state, "pending") && strcmp(state, "exhausted")) ||
            (scenario && strcmp(scenario, str(e, "scenario"))))
            continue;
        struct sc_decision_row r = {.execution = str(e, "execution"), .action = "retry",
                                    .by = c->u->name, .reason = reason_of(c)};
        int64_t did;
        int rc = audited_decision(c, &r, e, &did);
        if (rc == SC_STORE_OK)
            json_array_append_new(done, json_string(r.execution));
        else if (rc == SC_STORE_EXISTS)
            waiting++;
        else
            failed++;
    }
    pthread_mutex_unlock(&c->a->mu);
    bool ok = rows && !failed;
    json_decref(rows);
    if (!ok) {
        json_decref(done);
        *out = err_body("store unavailable");
        return 503;
    }
    if (json_array_size(done))
        sc_daemon_kick(c->a->d);
    *out = json_pack("{s:o, s:i}", "recorded", done, "already_waiting", waiting);
    return 200;
}

/* The queues with their open items and the last 7 days' arrivals. */
static unsigned h_queues(struct call *c, json_t **out)
{
    pthread_mutex_lock(&c->a->mu);
    json_t *q = sc_store_queue_depths(c->a->st, sc_clock_now_ms() - 7LL * 86400000);
    pthread_mutex_unlock(&c->a->mu);
    *out = q ? json_pack("{s:o}", "queues", q) : err_body("store unavailable");
    return q ? 200 : 503;
}

static int limit_arg(struct call *c);

/* A list's limit as the store takes it: ?limit (1-1000; default 1000) and ?order=newest
 * (the last ones, newest first: negative). */
static int list_arg(struct call *c)
{
    const char *order = qarg(c, "order");
    int n = limit_arg(c);
    return order && !strcmp(order, "newest") ? -(n ? n : 1000) : n;
}

static unsigned h_queue_items(struct call *c, json_t **out)
{
    const char *state = qarg(c, "state");
    pthread_mutex_lock(&c->a->mu);
    json_t *a = sc_store_queue_items(c->a->st, c->arg, state ? state : "open", list_arg(c));
    pthread_mutex_unlock(&c->a->mu);
    *out = a ? json_pack("{s:s, s:o}", "queue", c->arg, "items", a) : err_body("store unavailable");
    return a ? 200 : 503;
}

/* As `scenarist queue resolve ID --note TEXT`, the item resolved under the user's name
 * with their note, and its audit row, in one transaction. */
static unsigned h_queue_resolve(struct call *c, json_t **out)
{
    int64_t id = id_of(c->arg);
    const char *note = str(c->body, "note"); /* required, checked (b_note) */
    pthread_mutex_lock(&c->a->mu);
    json_t *item = id > 0 ? sc_store_queue_item(c->a->st, id) : NULL;
    if (!item && id > 0 && store_failed(c)) { /* the store, not the item, is missing */
        pthread_mutex_unlock(&c->a->mu);
        *out = err_body("store unavailable");
        return 503;
    }
    if (!item || strcmp(str(item, "state"), "open")) { /* none: 404; closed: 409 */
        pthread_mutex_unlock(&c->a->mu);
        char m[400];
        if (item)
            snprintf(m, sizeof m, "queue item %lld was already %s by %s at %s", (long long)id,
                     str(item, "state"), str(item, "done_by"), str(item, "done_at"));
        else
            snprintf(m, sizeof m, "no queue item %s", c->arg);
        *out = err_body(m);
        json_decref(item);
        return item ? 409 : 404;
    }
    char object[300];
    snprintf(object, sizeof object, "queues/%s/items/%lld", str(item, "queue"), (long long)id);
    int r = sc_store_tx_begin(c->a->st) != 0 ? SC_STORE_ERR
            : sc_store_queue_resolve(c->a->st, id, c->u->name, note);
    r = act_commit(c, r, "resolve", object, item, note);
    json_decref(item);
    json_t *e = r == SC_STORE_OK ? sc_store_queue_item(c->a->st, id) : NULL;
    pthread_mutex_unlock(&c->a->mu);
    if (r == SC_STORE_NONE) { /* resolved by another between the read and the update */
        *out = err_body("no open queue item with this id");
        return 409;
    }
    *out = e ? e : err_body("store unavailable");
    return e ? 200 : 503;
}

/* The scenarios the daemon serves from files (drafts), by name: a new array. */
static json_t *drafts(struct sc_daemon *d)
{
    json_t *a = json_array();
    pthread_rwlock_rdlock(&d->cat_lock);
    for (size_t i = 0; a && d->cat && i < d->cat->nfiles; i++)
        if (d->cat->scs[i] && strncmp(d->cat->files[i], "version:", 8))
            json_array_append_new(a, json_string(sc_scenario_name(d->cat->scs[i])));
    pthread_rwlock_unlock(&d->cat_lock);
    return a;
}

static unsigned h_versions(struct call *c, json_t **out)
{
    pthread_mutex_lock(&c->a->mu);
    json_t *v = sc_store_versions_current(c->a->st);
    pthread_mutex_unlock(&c->a->mu);
    *out = v ? json_pack("{s:o, s:o}", "scenarios", v, "drafts", drafts(c->a->d))
             : err_body("store unavailable");
    return v ? 200 : 503;
}

static unsigned h_scenario_versions(struct call *c, json_t **out)
{
    pthread_mutex_lock(&c->a->mu);
    json_t *v = sc_store_versions(c->a->st, c->arg);
    pthread_mutex_unlock(&c->a->mu);
    if (v && !json_array_size(v)) {
        json_decref(v);
        *out = err_body("no such scenario in the store");
        return 404;
    }
    *out = v ? json_pack("{s:s, s:o}", "scenario", c->arg, "versions", v)
             : err_body("store unavailable");
    return v ? 200 : 503;
}

/* A version's document: NULL with *status and *out set when there is none. */
static json_t *version_doc(struct call *c, const char *name, const char *num, unsigned *status,
                           json_t **out)
{
    long n = version_num(num);
    if (n < 1) {
        *out = err_body(c->args[2] ? "a version is a number from 1 (or vN), or draft"
                                   : "a version is a number from 1 (or vN)");
        *status = 404;
        return NULL;
    }
    pthread_mutex_lock(&c->a->mu);
    json_t *v = sc_store_version_get(c->a->st, name, (int)n);
    bool down = !v && sc_store_ping(c->a->st) != 0; /* its error names none: ask the store */
    pthread_mutex_unlock(&c->a->mu);
    if (!v) {
        *out = err_body(down ? "store unavailable" : "no such version");
        *status = down ? 503 : 404;
    }
    return v;
}

static unsigned h_version(struct call *c, json_t **out)
{
    unsigned status;
    json_t *v = version_doc(c, c->args[0], c->args[1], &status, out);
    if (!v)
        return status;
    *out = v;
    return 200;
}

/* As `scenarist diff NAME A B`: the changes from version from to version to (query). */
static unsigned h_diff(struct call *c, json_t **out)
{
    const char *from = qarg(c, "from"), *to = qarg(c, "to");
    unsigned status;
    if (!from || !to) {
        *out = err_body("give ?from=A&to=B, two version numbers");
        return 400;
    }
    json_t *va = version_doc(c, c->args[0], from, &status, out);
    if (!va)
        return status;
    json_t *vb = version_doc(c, c->args[0], to, &status, out);
    if (!vb) {
        json_decref(va);
        return status;
    }
    json_t *lines = sc_version_diff(json_object_get(va, "document"), json_object_get(vb, "document"));
    json_decref(va);
    json_decref(vb);
    *out = lines ? json_pack("{s:s, s:i, s:i, s:o}", "scenario", c->args[0], "from", (int)version_num(from),
                             "to", (int)version_num(to), "changes", lines)
                 : err_body("out of memory");
    return lines ? 200 : 503;
}

/* A 422 answer: what was refused and the diagnostics the CLI prints, as JSON (each
 * {file, line, column, severity, message}) and as the text with its carets. Frees d. */
static json_t *invalid_body(const char *msg, struct sc_diags *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        sc_diags_print(d, f);
        fclose(f);
    }
    json_t *o = json_pack("{s:s, s:o, s:s}", "error", msg, "diagnostics", sc_diags_json(d),
                          "text", text ? text : "");
    free(text);
    sc_diags_free(d);
    return o;
}

/* Stores doc as the scenario's new version (deploy.h, as the CLI does) and answers
 * {scenario, number, message, changed}. */
static unsigned store_doc(struct call *c, json_t *doc, const char *msg, const char *origin,
                          json_t **out)
{
    struct sc_deploy_result r;
    pthread_mutex_lock(&c->a->mu);
    int rc = sc_deploy_store(c->a->st, doc, msg, origin, c->a->d->org->name, c->u->name, &r);
    pthread_mutex_unlock(&c->a->mu);
    if (rc != 0) {
        *out = err_body("store unavailable");
        return 503;
    }
    *out = json_pack("{s:s, s:i, s:s, s:b}", "scenario", str(doc, "name"), "number", r.number,
                     "message", msg, "changed", r.changed);
    return 200;
}

/* As `scenarist rollback NAME --to N`: version N's document stored again as a new version
 * (origin rollback, the message naming the user); a daemon serving the deployed versions
 * reloads. Body {to: N, reason?}. */
static unsigned h_rollback(struct call *c, json_t **out)
{
    json_t *to = json_object_get(c->body, "to");
    if (!json_is_integer(to) || json_integer_value(to) < 1) {
        *out = err_body("give {\"to\": N}, the version to roll back to");
        return 400;
    }
    char num[24], label[200], msg[400];
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(to));
    unsigned status;
    json_t *v = version_doc(c, c->args[0], num, &status, out);
    if (!v)
        return status;
    snprintf(label, sizeof label, "%s v%s", c->args[0], num);
    json_t *doc = json_object_get(v, "document");
    struct sc_diags d;
    sc_diags_init(&d);
    if (!sc_deploy_valid(doc, label, c->a->d->org, &d)) {
        json_decref(v);
        snprintf(msg, sizeof msg, "version %s no longer validates against org %s: not rolled back",
                 num, c->a->d->org->name);
        *out = invalid_body(msg, &d);
        return 422;
    }
    sc_diags_free(&d);
    const char *why = reason_of(c);
    snprintf(msg, sizeof msg, "rollback to v%s by %s%s%s", num, c->u->name, why ? ": " : "",
             why ? why : "");
    status = store_doc(c, doc, msg, "rollback", out);
    json_decref(v);
    return status;
}

/* The file the daemon serves as the draft of scenario name (its catalog's, not a stored
 * version), new; NULL when it serves none. With doc non-NULL: a copy of the loaded
 * scenario's document too. */
static char *draft_file(struct sc_daemon *d, const char *name, json_t **doc)
{
    char *path = NULL;
    pthread_rwlock_rdlock(&d->cat_lock);
    const struct sc_catalog *cat = d->cat;
    for (size_t i = 0; cat && !path && i < cat->nfiles; i++)
        if (cat->scs[i] && strncmp(cat->files[i], "version:", 8) &&
            !strcmp(sc_scenario_name(cat->scs[i]), name)) {
            path = sc_strdup(cat->files[i]);
            if (doc)
                *doc = json_deep_copy(sc_scenario_json(cat->scs[i]));
        }
    pthread_rwlock_unlock(&d->cat_lock);
    return path;
}

/* sent_from of a draft (version "draft"): the step as the scenario file the daemon loaded
 * defines it. */
static unsigned draft_step(struct call *c, json_t **out)
{
    json_t *doc = NULL, *st;
    char *path = draft_file(c->a->d, c->args[0], &doc);
    if (!path) {
        *out = err_body(c->a->d->versions ? "this daemon serves the deployed versions: it has "
                                            "no draft of this scenario"
                                          : "no such scenario among the files this daemon serves");
        return 404;
    }
    size_t i;
    json_array_foreach(json_object_get(doc, "steps"), i, st) if (!strcmp(str(st, "id"), c->args[2])) {
        *out = json_pack("{s:s, s:s, s:s, s:O}", "scenario", c->args[0], "version", "draft",
                         "file", path, "step", st);
        json_decref(doc);
        free(path);
        return 200;
    }
    json_decref(doc);
    free(path);
    *out = err_body("no such step in this version");
    return 404;
}

/* sent_from: the step of a version that sent a write, as its definition. */
static unsigned h_step(struct call *c, json_t **out)
{
    unsigned status;
    if (!strcmp(c->args[1], "draft"))
        return draft_step(c, out);
    json_t *v = version_doc(c, c->args[0], c->args[1], &status, out);
    if (!v)
        return status;
    json_t *steps = json_object_get(json_object_get(v, "document"), "steps"), *st;
    size_t i;
    json_array_foreach(steps, i, st) if (!strcmp(str(st, "id"), c->args[2])) {
        *out = json_pack("{s:s, s:I, s:O}", "scenario", c->args[0], "version",
                         (json_int_t)json_integer_value(json_object_get(v, "number")), "step", st);
        json_decref(v);
        return 200;
    }
    json_decref(v);
    *out = err_body("no such step in this version");
    return 404;
}

static int64_t since_arg(struct call *c, int64_t def)
{
    const char *s = qarg(c, "since");
    char *end;
    long long v = s ? strtoll(s, &end, 10) : -1;
    return s && *s && !*end && v >= 0 ? v : def;
}

/* The seed's figures over a window (since, ms; default the last 7 days) and the org's
 * targets as declared. */
static unsigned h_metrics(struct call *c, json_t **out)
{
    int64_t since = since_arg(c, sc_clock_now_ms() - 7LL * 86400000);
    pthread_mutex_lock(&c->a->mu);
    json_t *m = sc_store_metrics(c->a->st, since);
    pthread_mutex_unlock(&c->a->mu);
    if (!m) {
        *out = err_body("store unavailable");
        return 503;
    }
    json_t *targets = json_object_get(c->a->d->org->doc->root, "targets");
    json_object_set_new(m, "targets", targets ? json_deep_copy(targets) : json_object());
    *out = m;
    return 200;
}

static int limit_arg(struct call *c)
{
    const char *s = qarg(c, "limit");
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    return s && *s && !*end && v > 0 && v <= 1000 ? (int)v : 0;
}

static unsigned h_audit(struct call *c, json_t **out)
{
    struct sc_audit_filter f = {.scenario = qarg(c, "scenario"), .execution = qarg(c, "execution"),
                                .sent_to_prefix = qarg(c, "sent_to"), .limit = list_arg(c)};
    pthread_mutex_lock(&c->a->mu);
    json_t *a = sc_store_audit_list(c->a->st, &f);
    pthread_mutex_unlock(&c->a->mu);
    *out = a ? json_pack("{s:o}", "entries", a) : err_body("store unavailable");
    return a ? 200 : 503;
}

/* As `scenarist audit verify`: the chain checked under the org's audit key. */
static unsigned h_audit_verify(struct call *c, json_t **out)
{
    json_t *problem = NULL;
    char err[700];
    if (!sc_audit_org_keyed(c->a->d->org, "verify", err, sizeof err)) { /* the org's setup */
        *out = err_body(err);
        return 409;
    }
    pthread_mutex_lock(&c->a->mu);
    int rc = sc_store_audit_verify(c->a->st, c->a->d->org->name, NULL, &problem);
    snprintf(err, sizeof err, "%s", sc_store_error(c->a->st));
    pthread_mutex_unlock(&c->a->mu);
    if (rc == SC_STORE_OK || rc == SC_STORE_BROKEN) {
        *out = json_pack("{s:b}", "intact", rc == SC_STORE_OK);
        if (problem)
            json_object_set_new(*out, "problem", problem);
        return 200;
    }
    json_decref(problem);
    /* the store's address and driver message go to the daemon's log, not to the caller */
    sc_log(SC_LOG_ERROR, NULL, NULL, "admin: audit verify: %s", err);
    *out = err_body("store unavailable");
    return 503;
}

static unsigned h_shadow(struct call *c, json_t **out)
{
    struct sc_shadow_filter f = {.scenario = qarg(c, "scenario"), .execution = qarg(c, "execution"),
                                 .limit = limit_arg(c)};
    pthread_mutex_lock(&c->a->mu);
    json_t *a = sc_store_shadow_list(c->a->st, &f);
    pthread_mutex_unlock(&c->a->mu);
    *out = a ? json_pack("{s:o}", "writes", a) : err_body("store unavailable");
    return a ? 200 : 503;
}

static unsigned h_me(struct call *c, json_t **out)
{
    int i = 0;
    while (!(c->u->role & (1 << i)))
        i++;
    *out = json_pack("{s:s, s:s}", "name", c->u->name, "role", role_names[i]);
    return 200;
}

/* As `scenarist deploy FILE -m MESSAGE`: the scenario {yaml} (text; named NAME.yaml in
 * diagnostics) or, without it, the file the daemon serves as NAME's draft, loaded and
 * validated against the org as deploy loads it, stored as a new version (origin deploy, the
 * message naming the user); a daemon serving the deployed versions reloads. */
static unsigned h_deploy(struct call *c, json_t **out)
{
    const char *name = c->args[0], *yaml = json_string_value(json_object_get(c->body, "yaml"));
    const char *why = json_string_value(json_object_get(c->body, "message"));
    char label[200], msg[600];
    if (json_object_get(c->body, "yaml") && !yaml) {
        *out = err_body("yaml is the scenario file's text, a string");
        return 400;
    }
    if (!sc_version_name_ok(name)) {
        *out = err_body("a scenario name holds only a-z, 0-9, - and _ (1 to 64)");
        return 400;
    }
    char *path = yaml ? NULL : draft_file(c->a->d, name, NULL);
    if (!yaml && !path) {
        *out = err_body(c->a->d->versions
                            ? "this daemon serves the deployed versions, not files: send the "
                              "scenario's text as {\"yaml\": TEXT}"
                            : "no such scenario among the files this daemon serves: send its "
                              "text as {\"yaml\": TEXT}");
        return 404;
    }
    if (yaml && sc_text_blank(yaml + strspn(yaml, " \t\r\n"))) {
        free(path);
        *out = err_body("the scenario text is empty: not deployed");
        return 422;
    }
    snprintf(label, sizeof label, "%s", yaml ? name : path);
    if (yaml)
        snprintf(label + strlen(label), sizeof label - strlen(label), ".yaml");
    struct sc_diags d;
    sc_diags_init(&d);
    char err[300];
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    struct sc_validator *v = lua ? sc_validator_new(c->a->d->org, &d) : NULL;
    json_t *doc = v ? sc_deploy_load(label, yaml, yaml ? strlen(yaml) : 0, c->a->d->org, lua, v, &d)
                    : NULL;
    sc_validator_free(v);
    sc_lua_free(lua);
    free(path);
    if (!lua) {
        sc_diags_free(&d);
        *out = err_body("out of memory");
        return 503;
    }
    if (!doc || d.errors) {
        json_decref(doc);
        snprintf(msg, sizeof msg, "%s does not validate against org %s: not deployed", label,
                 c->a->d->org->name);
        *out = invalid_body(msg, &d);
        return 422;
    }
    sc_diags_free(&d);
    if (strcmp(str(doc, "name"), name)) {
        snprintf(msg, sizeof msg, "%s names scenario %s, not %s: not deployed", label,
                 str(doc, "name"), name);
        json_decref(doc);
        *out = err_body(msg);
        return 422;
    }
    snprintf(msg, sizeof msg, "deployed by %s%s%s", c->u->name, why && *why ? ": " : "",
             why && *why ? why : "");
    unsigned status = store_doc(c, doc, msg, "deploy", out);
    json_decref(doc);
    return status;
}

/* The org a promote copies from: orgs/NAME.yaml (config folder) and its store, opened.
 * 0, or the status with *out set. */
static unsigned promote_source(const char *from, struct sc_org **org, struct sc_store **st,
                               json_t **out)
{
    char msg[700], err[500];
    struct sc_diags d;
    sc_diags_init(&d);
    *org = sc_org_load(from, &d);
    if (!*org) {
        snprintf(msg, sizeof msg, "org %s does not load here: %s: %s", from,
                 d.n ? d.v[0].file : from, d.n ? d.v[0].msg : "out of memory");
        sc_diags_free(&d);
        *out = err_body(msg);
        return 404;
    }
    sc_diags_free(&d);
    char *path = sc_store_path(*org);
    snprintf(err, sizeof err, "out of memory");
    *st = path ? sc_store_open(path, (*org)->store_key, err, sizeof err) : NULL;
    free(path);
    if (!*st) {
        snprintf(msg, sizeof msg, "org %s: its store: %s", from, err);
        sc_org_free(*org);
        *out = err_body(msg);
        return 503;
    }
    return 0;
}

/* As `scenarist promote NAME --from ORG --to THIS-ORG`, run by the daemon of the org
 * promoted to (its admins decide what it runs): body {from, version?, to?, reason?}; the
 * version (default the current one) of org from's store, validated against this org,
 * stored here (origin promote). A `to` naming another org is refused, nothing changed:
 * that org's daemon or the CLI promotes into it. */
static unsigned h_promote(struct call *c, json_t **out)
{
    const struct sc_org *org = c->a->d->org;
    const char *name = c->args[0], *from = json_string_value(json_object_get(c->body, "from"));
    const char *to = json_string_value(json_object_get(c->body, "to")), *why = reason_of(c);
    json_t *ver = json_object_get(c->body, "version");
    char msg[900];
    if (to && strcmp(to, org->name)) {
        snprintf(msg, sizeof msg, "this daemon serves org %s, not %s: nothing promoted. Promote "
                 "into %s on its own daemon's API (POST /api/v1/scenarios/%s/promote with "
                 "{\"from\": \"%s\"}) or with scenarist promote %s --from %s --to %s",
                 org->name, to, to, name, from ? from : "ORG", name, from ? from : "ORG", to);
        *out = err_body(msg);
        return 400;
    }
    if (!from || !sc_version_name_ok(from) || (ver && (!json_is_integer(ver) ||
                                                      json_integer_value(ver) < 1 ||
                                                      json_integer_value(ver) > 1000000))) {
        *out = err_body("give {\"from\": ORG, \"version\": N (optional, default the current "
                        "one)}: ORG an org's name (orgs/ORG.yaml)");
        return 400;
    }
    if (!strcmp(from, org->name)) {
        snprintf(msg, sizeof msg, "org %s is the one this daemon serves: a promote copies from "
                 "another org", from);
        *out = err_body(msg);
        return 400;
    }
    struct sc_org *src;
    struct sc_store *sst;
    unsigned status = promote_source(from, &src, &sst, out);
    if (status)
        return status;
    char suffix[300], err[700];
    snprintf(suffix, sizeof suffix, " by %s%s%s", c->u->name, why ? ": " : "", why ? why : "");
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_deploy_result r;
    pthread_mutex_lock(&c->a->mu);
    enum sc_deploy_rc rc = sc_deploy_promote(sst, src, c->a->st, org, name,
                                             ver ? (int)json_integer_value(ver) : 0, suffix,
                                             c->u->name, &d, &r, err, sizeof err);
    json_t *now = rc == SC_DEPLOY_OK ? sc_store_version_get(c->a->st, name, r.number) : NULL;
    pthread_mutex_unlock(&c->a->mu);
    sc_store_close(sst);
    sc_org_free(src);
    if (rc == SC_DEPLOY_INVALID) {
        *out = invalid_body(err, &d);
        return 422;
    }
    sc_diags_free(&d);
    if (rc != SC_DEPLOY_OK || !now) {
        json_decref(now);
        *out = err_body(rc == SC_DEPLOY_OK ? "store unavailable" : err);
        return rc == SC_DEPLOY_NONE ? 404 : 503;
    }
    *out = json_pack("{s:s, s:i, s:s, s:b}", "scenario", name, "number", r.number, "message",
                     str(now, "message"), "changed", r.changed);
    json_decref(now);
    return 200;
}

/* As `scenarist audit checkpoint [--to CONNECTION]`: the log's head, answered (keep it:
 * `audit verify --checkpoint FILE` proves nothing was cut or rewritten since) and, with
 * {to}, POSTed to that connection of the org. */
static unsigned h_audit_checkpoint(struct call *c, json_t **out)
{
    const struct sc_org *org = c->a->d->org;
    const char *to = json_string_value(json_object_get(c->body, "to"));
    char err[700];
    if (to && !sc_org_connection(org, to)) { /* the caller's error, before anything is taken */
        char m[400];
        snprintf(m, sizeof m, "connection '%.100s' is not defined in org '%s'", to, org->name);
        *out = err_body(m);
        return 400;
    }
    if (!sc_audit_org_keyed(org, "checkpoint", err, sizeof err)) {
        *out = err_body(err);
        return 409;
    }
    bool broken;
    pthread_mutex_lock(&c->a->mu);
    json_t *cp = sc_audit_checkpoint_take(c->a->st, org, &broken, err, sizeof err);
    pthread_mutex_unlock(&c->a->mu);
    if (!cp) {
        if (!broken)
            sc_log(SC_LOG_ERROR, NULL, NULL, "admin: audit checkpoint: %s", err);
        *out = err_body(broken ? err : "store unavailable");
        return broken ? 409 : 503;
    }
    if (to) {
        const char *cpc = org->audit.cp_connection;
        struct sc_http *http = sc_http_new();
        int rc = http ? sc_audit_post(http, org, to, cpc && !strcmp(cpc, to) ? org->audit.cp_path
                                                                             : "",
                                      cp, err, sizeof err)
                      : -1;
        sc_http_free(http);
        if (rc != 0) {
            char m[800];
            snprintf(m, sizeof m, "checkpoint not delivered: %s", http ? err : "out of memory");
            json_decref(cp);
            *out = err_body(m);
            return 502;
        }
    }
    *out = cp;
    return 200;
}

/* Each queue's depth at the end of each of the last days (query: days, 1 to 90, default
 * 7; UTC days, the last one up to now): {days: [DATE...], queues: {NAME: [n...]}}. */
static unsigned h_queue_depth(struct call *c, json_t **out)
{
    const char *q = qarg(c, "days");
    char *end;
    long days = q ? strtol(q, &end, 10) : 7;
    if (q && (!*q || *end || days < 1 || days > 90)) {
        *out = err_body("days takes a number from 1 to 90");
        return 400;
    }
    int64_t now = sc_clock_now_ms(), day = 86400000;
    int64_t start = (now / day - (days - 1)) * day;
    pthread_mutex_lock(&c->a->mu);
    json_t *qs = sc_store_queue_history(c->a->st, start, now, (int)days);
    pthread_mutex_unlock(&c->a->mu);
    if (!qs) {
        *out = err_body("store unavailable");
        return 503;
    }
    json_t *dates = json_array();
    for (long i = 0; i < days; i++) {
        time_t t = (time_t)((start + i * day) / 1000);
        struct tm tm;
        char buf[16];
        gmtime_r(&t, &tm);
        strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
        json_array_append_new(dates, json_string(buf));
    }
    *out = json_pack("{s:o, s:o}", "days", dates, "queues", qs);
    return 200;
}

static unsigned h_openapi(struct call *c, json_t **out);

#define S_OBJ "{\"type\":\"object\"}"
#define S_ERR "{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{\"type\":\"string\"}}}"

static const struct route routes[] = {
    {"GET", "/api/v1/me", R_ANY, h_me, "The user the token names and its role",
     "{\"type\":\"object\",\"required\":[\"name\",\"role\"],\"additionalProperties\":false,"
     "\"properties\":{\"name\":{\"type\":\"string\"},\"role\":{\"enum\":[\"viewer\",\"operator\","
     "\"approver\",\"admin\"]}}}"},
    {"GET", "/api/v1/executions", R_ANY, h_executions,
     "Executions, newest first (query: scenario, status, since in ms, limit, cursor: the "
     "previous page's next_cursor, given when a page is full)",
     "{\"type\":\"object\",\"required\":[\"executions\"],\"properties\":{\"executions\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\",\"scenario\",\"status\"],"
     "\"properties\":{\"id\":{\"type\":\"string\"},\"scenario\":{\"type\":\"string\"},"
     "\"status\":{\"type\":\"string\"}}}},\"next_cursor\":{\"type\":\"string\"}}}"},
    {"GET", "/api/v1/executions/{id}", R_ANY, h_execution,
     "One execution with every step of every attempt",
     "{\"type\":\"object\",\"required\":[\"id\",\"scenario\",\"status\",\"steps\"],"
     "\"properties\":{\"id\":{\"type\":\"string\"},\"steps\":{\"type\":\"array\"}}}"},
    {"GET", "/api/v1/holds", R_ANY, h_holds, "Holds in a state (query: state; default pending)",
     "{\"type\":\"object\",\"required\":[\"holds\"],\"properties\":{\"holds\":{\"type\":\"array\","
     "\"items\":{\"type\":\"object\",\"required\":[\"id\",\"execution\",\"state\"]}}}}"},
    {"GET", "/api/v1/holds/{id}", R_ANY, h_hold, "One hold with its full diff and decisions",
     "{\"type\":\"object\",\"required\":[\"id\",\"execution\",\"state\",\"decisions\"],"
     "\"properties\":{\"id\":{\"type\":\"integer\"},\"diff\":{\"type\":[\"object\",\"array\"]},"
     "\"decisions\":{\"type\":\"array\"}}}"},
    {"POST", "/api/v1/holds/{id}/approve", R_APPROVER | R_ADMIN, h_approve,
     "Approve a pending hold (body: {reason}); the daemon runs the execution on",
     "{\"type\":\"object\",\"required\":[\"id\",\"state\",\"decided_by\"],\"properties\":"
     "{\"state\":{\"const\":\"approved\"},\"decided_by\":{\"type\":\"string\"}}}"},
    {"POST", "/api/v1/holds/{id}/reject", R_APPROVER | R_ADMIN, h_reject,
     "Reject a pending hold (body: {reason}); the execution ends",
     "{\"type\":\"object\",\"required\":[\"id\",\"state\",\"decided_by\"],\"properties\":"
     "{\"state\":{\"const\":\"rejected\"},\"decided_by\":{\"type\":\"string\"}}}"},
    {"GET", "/api/v1/incomplete", R_ANY, h_incomplete,
     "Incomplete executions (query: state; default all)",
     "{\"type\":\"object\",\"required\":[\"incomplete\"],\"properties\":{\"incomplete\":"
     "{\"type\":\"array\"}}}"},
    {"POST", "/api/v1/incomplete/{id}/retry", R_OPERATOR | R_ADMIN, h_retry,
     "Retry an incomplete execution (body: {reason}); the daemon runs it",
     "{\"type\":\"object\",\"required\":[\"id\",\"execution\",\"action\",\"decided_by\"],"
     "\"properties\":{\"action\":{\"const\":\"retry\"},\"decided_by\":{\"type\":\"string\"}}}"},
    {"POST", "/api/v1/incomplete/{id}/resolve", R_OPERATOR | R_ADMIN, h_resolve,
     "Close an incomplete execution as resolved by hand",
     "{\"type\":\"object\",\"required\":[\"execution\",\"state\"],\"properties\":"
     "{\"state\":{\"const\":\"resolved\"}}}"},
    {"POST", "/api/v1/incomplete/{id}/discard", R_OPERATOR | R_ADMIN, h_discard,
     "Close an incomplete execution as discarded",
     "{\"type\":\"object\",\"required\":[\"execution\",\"state\"],\"properties\":"
     "{\"state\":{\"const\":\"discarded\"}}}"},
    {"POST", "/api/v1/incomplete/retry", R_OPERATOR | R_ADMIN, h_retry_all,
     "Retry every open incomplete execution (body: {scenario?, reason?})",
     "{\"type\":\"object\",\"required\":[\"recorded\",\"already_waiting\"],\"properties\":"
     "{\"recorded\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "\"already_waiting\":{\"type\":\"integer\"}}}"},
    {"GET", "/api/v1/queues", R_ANY, h_queues, "Queues: open items and the last 7 days' arrivals",
     "{\"type\":\"object\",\"required\":[\"queues\"],\"properties\":{\"queues\":"
     "{\"type\":\"object\"}}}"},
    {"GET", "/api/v1/queues/{name}/items", R_ANY, h_queue_items,
     "A queue's items, oldest first (query: state, default open; limit, default 1000; "
     "order=newest: the last ones, newest first)",
     "{\"type\":\"object\",\"required\":[\"queue\",\"items\"],\"properties\":{\"items\":"
     "{\"type\":\"array\"}}}"},
    {"POST", "/api/v1/queue-items/{id}/resolve", R_OPERATOR | R_ADMIN, h_queue_resolve,
     "Resolve an open queue item with a note (body: {note}, required: what was done); the "
     "item keeps the user's name, the time and the note, and the audit log records it",
     "{\"type\":\"object\",\"required\":[\"id\",\"queue\",\"state\",\"done_by\",\"done_at\","
     "\"note\"],\"properties\":{\"id\":{\"type\":\"integer\"},\"state\":{\"const\":\"resolved\"},"
     "\"done_by\":{\"type\":\"string\"},\"done_at\":{\"type\":\"string\"},\"note\":"
     "{\"type\":\"string\",\"minLength\":1}}}"},
    {"GET", "/api/v1/versions", R_ANY, h_versions,
     "Every scenario's current version, and the scenarios the daemon serves from files "
     "(drafts, which POST .../deploy without a text stores)",
     "{\"type\":\"object\",\"required\":[\"scenarios\",\"drafts\"],\"properties\":"
     "{\"drafts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}"},
    {"GET", "/api/v1/scenarios/{name}/versions", R_ANY, h_scenario_versions,
     "A scenario's versions, oldest first",
     "{\"type\":\"object\",\"required\":[\"scenario\",\"versions\"],\"properties\":"
     "{\"versions\":{\"type\":\"array\"}}}"},
    {"GET", "/api/v1/scenarios/{name}/versions/{version}", R_ANY, h_version,
     "One version with its document",
     "{\"type\":\"object\",\"required\":[\"scenario\",\"number\",\"document\"]}"},
    {"GET", "/api/v1/scenarios/{name}/diff", R_ANY, h_diff,
     "The changes between two versions (query: from, to)",
     "{\"type\":\"object\",\"required\":[\"scenario\",\"from\",\"to\",\"changes\"],"
     "\"properties\":{\"changes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}"},
    {"POST", "/api/v1/scenarios/{name}/rollback", R_ADMIN, h_rollback,
     "Roll a scenario back: version `to` stored again as the current one (body: {to, reason?})",
     "{\"type\":\"object\",\"required\":[\"scenario\",\"number\",\"message\",\"changed\"],"
     "\"properties\":{\"number\":{\"type\":\"integer\"},\"changed\":{\"type\":\"boolean\"}}}"},
    {"GET", "/api/v1/metrics", R_ANY, h_metrics,
     "The figures since a time (query: since in ms; default 7 days) and the org's targets",
     "{\"type\":\"object\",\"required\":[\"scenarios\",\"targets\"]}"},
    {"GET", "/api/v1/audit", R_ANY, h_audit,
     "The audit log: writes to other systems and people's actions (method approve, reject, "
     "retry, resolve, discard, rollback, ...; sent_to scenarist:OBJECT), each with by, the "
     "person it is owed to, when one is (query: scenario, execution, sent_to, limit; "
     "order=newest: the last ones, newest first)",
     "{\"type\":\"object\",\"required\":[\"entries\"],\"properties\":{\"entries\":"
     "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\",\"at\","
     "\"method\",\"sent_to\",\"outcome\",\"hash\"],\"properties\":{\"by\":{\"type\":"
     "\"string\"}}}}}}"},
    {"GET", "/api/v1/audit/verify", R_ANY, h_audit_verify,
     "The audit chain checked under the org's audit key: {intact, problem?}",
     "{\"type\":\"object\",\"required\":[\"intact\"],\"properties\":{\"intact\":"
     "{\"type\":\"boolean\"},\"problem\":{\"type\":\"object\"}}}"},
    {"GET", "/api/v1/shadow", R_ANY, h_shadow,
     "Shadowed writes (query: scenario, execution, limit)",
     "{\"type\":\"object\",\"required\":[\"writes\"],\"properties\":{\"writes\":"
     "{\"type\":\"array\"}}}"},
    {"GET", "/scenarios/{name}/versions/{version}/steps/{step}", R_ANY, h_step,
     "The step a write's sent_from names, as its version defines it",
     "{\"type\":\"object\",\"required\":[\"scenario\",\"version\",\"step\"]}"},
    {"GET", "/api/v1/openapi.json", 0, h_openapi, "This document (no token needed)", S_OBJ},
    {"POST", "/api/v1/scenarios/{name}/deploy", R_ADMIN, h_deploy,
     "Deploy a scenario: {yaml} (the file's text) or, without it, the file the daemon serves "
     "as its draft, validated against the org and stored as a new version (body: {yaml?, "
     "message?}); 422 with the diagnostics when it does not validate",
     "{\"type\":\"object\",\"required\":[\"scenario\",\"number\",\"message\",\"changed\"],"
     "\"properties\":{\"number\":{\"type\":\"integer\"},\"changed\":{\"type\":\"boolean\"}}}"},
    {"POST", "/api/v1/scenarios/{name}/promote", R_ADMIN, h_promote,
     "Promote a version of another org (orgs/FROM.yaml) into the org this daemon serves "
     "(body: {from, version?, to?, reason?}); a `to` naming another org is refused (400)",
     "{\"type\":\"object\",\"required\":[\"scenario\",\"number\",\"message\",\"changed\"],"
     "\"properties\":{\"number\":{\"type\":\"integer\"},\"changed\":{\"type\":\"boolean\"}}}"},
    {"POST", "/api/v1/audit/checkpoint", R_ADMIN, h_audit_checkpoint,
     "A checkpoint of the audit log's head, as `scenarist audit checkpoint` prints it (body: "
     "{to?: CONNECTION} also POSTs it there)",
     "{\"type\":\"object\",\"required\":[\"org\",\"count\",\"last_hash\",\"at\",\"hmac\"],"
     "\"properties\":{\"count\":{\"type\":\"integer\"}}}"},
    {"GET", "/api/v1/queues/depth", R_ANY, h_queue_depth,
     "Each queue's open items at the end of each of the last days (query: days, default 7)",
     "{\"type\":\"object\",\"required\":[\"days\",\"queues\"],\"properties\":{\"days\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"string\"}},\"queues\":{\"type\":\"object\","
     "\"additionalProperties\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}}}"},
    {"GET", "/api/v1/scenarios/{name}/versions/{version}/steps/{step}", R_ANY, h_step,
     "A version's step as it defines it (version: a number, or draft: the file the daemon "
     "serves), what a write's sent_from names",
     "{\"type\":\"object\",\"required\":[\"scenario\",\"version\",\"step\"]}"},
    {0},
};

/* ---- what each route takes: its query parameters and body fields, checked before the
 * handler runs and listed in the OpenAPI document from the same tables ---- */

enum ftype {
    F_STR,     /* a string (query: any text) */
    F_TEXT,    /* a string with a visible character, at most max bytes (UTF-8) */
    F_NAME,    /* a scenario or org name: a-z, 0-9, - and _ (1 to 64) */
    F_INT,     /* an integer from min to max */
    F_VERSION, /* a version: an integer from 1 (query: N or vN) */
    F_MS,      /* milliseconds since the epoch, from 0 */
    F_ENUM,    /* one of values */
};

struct field {
    const char *name;
    enum ftype type;
    bool required;
    long long min, max;           /* F_INT; F_TEXT: max bytes */
    const char *const *values;    /* F_ENUM, NULL-terminated */
    const char *need;             /* the message when missing or blank, or NULL */
    const char *over;             /* F_TEXT: the hint after "is over N bytes", or NULL */
};

#define TEXT_MAX 4000
#define NOTE_HINT "keep it to what was done, and link the rest"

static const char *const v_order[] = {"oldest", "newest", NULL};
static const char *const v_exec_status[] = {"queued", "running", "sleeping", "held", "success",
                                            "warning", "error", NULL};
static const char *const v_hold_state[] = {"pending", "approved", "rejected", "all", NULL};
static const char *const v_inc_state[] = {"all", "pending", "exhausted", "held", "resolved",
                                          "discarded", "rejected", "done", "failed", NULL};
static const char *const v_item_state[] = {"open", "resolved", NULL};

#define Q_LIMIT {"limit", F_INT, false, 1, 1000, NULL, NULL, NULL}
#define Q_ORDER {"order", F_ENUM, false, 0, 0, v_order, NULL, NULL}
#define Q_SCENARIO {"scenario", F_STR, false, 0, 0, NULL, NULL, NULL}
#define Q_EXECUTION {"execution", F_STR, false, 0, 0, NULL, NULL, NULL}
#define Q_SINCE {"since", F_MS, false, 0, 0, NULL, NULL, NULL}
#define B_REASON {"reason", F_TEXT, false, 0, TEXT_MAX, NULL, NULL, NULL}

static const struct field q_executions[] = {Q_SCENARIO,
    {"status", F_ENUM, false, 0, 0, v_exec_status, NULL, NULL}, Q_SINCE, Q_LIMIT,
    {"cursor", F_STR, false, 0, 0, NULL, NULL, NULL}, {0}};
static const struct field q_holds[] = {{"state", F_ENUM, false, 0, 0, v_hold_state, NULL, NULL}, {0}};
static const struct field q_incomplete[] = {{"state", F_ENUM, false, 0, 0, v_inc_state, NULL, NULL}, {0}};
static const struct field q_items[] = {{"state", F_ENUM, false, 0, 0, v_item_state, NULL, NULL},
                                       Q_LIMIT, Q_ORDER, {0}};
static const struct field q_diff[] = {{"from", F_VERSION, true, 1, 1000000, NULL, NULL, NULL},
                                      {"to", F_VERSION, true, 1, 1000000, NULL, NULL, NULL}, {0}};
static const struct field q_metrics[] = {Q_SINCE, {0}};
static const struct field q_audit[] = {Q_SCENARIO, Q_EXECUTION,
    {"sent_to", F_STR, false, 0, 0, NULL, NULL, NULL}, Q_LIMIT, Q_ORDER, {0}};
static const struct field q_shadow[] = {Q_SCENARIO, Q_EXECUTION, Q_LIMIT, {0}};
static const struct field q_depth[] = {{"days", F_INT, false, 1, 90, NULL, NULL, NULL}, {0}};
static const struct field q_none[] = {{0}};

static const struct field b_approve[] = {B_REASON, {0}};
static const struct field b_reject[] = {{"reason", F_TEXT, true, 0, TEXT_MAX,
    NULL, "give {\"reason\": \"...\"}: why the hold is rejected (it is recorded with the "
    "decision and ends the execution)", NULL}, {0}};
static const struct field b_retry_all[] = {{"scenario", F_NAME, false, 0, 0, NULL, NULL, NULL},
                                           B_REASON, {0}};
static const struct field b_note[] = {{"note", F_TEXT, true, 0, TEXT_MAX, NULL,
    "give {\"note\": \"...\"}: what was done about the item (it is kept with the resolution "
    "and shown to the next person)", NOTE_HINT}, {0}};
static const struct field b_rollback[] = {{"to", F_VERSION, true, 1, 1000000, NULL,
    "give {\"to\": N}, the version to roll back to", NULL}, B_REASON, {0}};
static const struct field b_deploy[] = {{"yaml", F_STR, false, 0, 0, NULL, NULL, NULL},
    {"message", F_TEXT, false, 0, TEXT_MAX, NULL, NULL, NULL}, {0}};
static const struct field b_promote[] = {{"from", F_NAME, true, 0, 0, NULL,
    "give {\"from\": ORG, \"version\": N (optional, default the current one)}: ORG an org's "
    "name (orgs/ORG.yaml)", NULL},
    {"version", F_VERSION, false, 1, 1000000, NULL, NULL, NULL},
    {"to", F_NAME, false, 0, 0, NULL, NULL, NULL}, B_REASON, {0}};
static const struct field b_checkpoint[] = {{"to", F_STR, false, 0, 0, NULL, NULL, NULL}, {0}};

/* Per route: its query and body fields (body NULL: it takes none) and the statuses it
 * answers besides 200, 401 and 403 (which the roles give). */
static const struct spec {
    const char *method, *path;
    const struct field *query, *body;
    const char *statuses; /* space-separated */
} specs[] = {
    {"GET", "/api/v1/me", q_none, NULL, "400"},
    {"GET", "/api/v1/executions", q_executions, NULL, "400 503"},
    {"GET", "/api/v1/executions/{id}", q_none, NULL, "400 404 503"},
    {"GET", "/api/v1/holds", q_holds, NULL, "400 503"},
    {"GET", "/api/v1/holds/{id}", q_none, NULL, "400 404 503"},
    {"POST", "/api/v1/holds/{id}/approve", q_none, b_approve, "400 404 409 413 503"},
    {"POST", "/api/v1/holds/{id}/reject", q_none, b_reject, "400 404 409 413 503"},
    {"GET", "/api/v1/incomplete", q_incomplete, NULL, "400 503"},
    {"POST", "/api/v1/incomplete/{id}/retry", q_none, b_approve, "400 404 409 413 503"},
    {"POST", "/api/v1/incomplete/{id}/resolve", q_none, b_approve, "400 409 413 503"},
    {"POST", "/api/v1/incomplete/{id}/discard", q_none, b_approve, "400 409 413 503"},
    {"POST", "/api/v1/incomplete/retry", q_none, b_retry_all, "400 413 503"},
    {"GET", "/api/v1/queues", q_none, NULL, "400 503"},
    {"GET", "/api/v1/queues/{name}/items", q_items, NULL, "400 503"},
    {"POST", "/api/v1/queue-items/{id}/resolve", q_none, b_note, "400 404 409 413 503"},
    {"GET", "/api/v1/versions", q_none, NULL, "400 503"},
    {"GET", "/api/v1/scenarios/{name}/versions", q_none, NULL, "400 404 503"},
    {"GET", "/api/v1/scenarios/{name}/versions/{version}", q_none, NULL, "400 404 503"},
    {"GET", "/api/v1/scenarios/{name}/diff", q_diff, NULL, "400 404 503"},
    {"POST", "/api/v1/scenarios/{name}/rollback", q_none, b_rollback, "400 404 413 422 503"},
    {"GET", "/api/v1/metrics", q_metrics, NULL, "400 503"},
    {"GET", "/api/v1/audit", q_audit, NULL, "400 503"},
    {"GET", "/api/v1/audit/verify", q_none, NULL, "400 409 503"},
    {"GET", "/api/v1/shadow", q_shadow, NULL, "400 503"},
    {"GET", "/scenarios/{name}/versions/{version}/steps/{step}", q_none, NULL, "400 404 503"},
    {"GET", "/api/v1/openapi.json", q_none, NULL, "400"},
    {"POST", "/api/v1/scenarios/{name}/deploy", q_none, b_deploy, "400 404 413 422 503"},
    {"POST", "/api/v1/scenarios/{name}/promote", q_none, b_promote, "400 404 413 422 503"},
    {"POST", "/api/v1/audit/checkpoint", q_none, b_checkpoint, "400 409 413 502 503"},
    {"GET", "/api/v1/queues/depth", q_depth, NULL, "400 503"},
    {"GET", "/api/v1/scenarios/{name}/versions/{version}/steps/{step}", q_none, NULL,
     "400 404 503"},
};

static const struct spec *spec_of(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (!strcmp(specs[i].method, method) && !strcmp(specs[i].path, path))
            return &specs[i];
    return NULL;
}

/* The names of fields, ", "-separated, into buf. */
static void field_names(const struct field *f, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (; f && f->name && at < n; f++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? ", " : "", f->name);
    if (!at)
        snprintf(buf, n, "none");
}

/* "FIELD takes ..." for a query value or "FIELD must be ..." for a body one. */
static void want(const struct field *f, bool query, char *m, size_t n)
{
    const char *verb = query ? "takes" : "must be";
    switch (f->type) {
    case F_STR:
        snprintf(m, n, "%s %s a string", f->name, verb);
        break;
    case F_TEXT:
        snprintf(m, n, "%s %s a string with a visible character, at most %lld bytes", f->name,
                 verb, f->max);
        break;
    case F_NAME:
        snprintf(m, n, "%s %s a name of a-z, 0-9, - and _ (1 to 64)", f->name, verb);
        break;
    case F_INT:
        snprintf(m, n, "%s %s a number from %lld to %lld", f->name, verb, f->min, f->max);
        break;
    case F_VERSION:
        snprintf(m, n, query ? "%s takes a version: a number from 1 (or vN)"
                             : "%s must be a version: an integer from 1", f->name);
        break;
    case F_MS:
        snprintf(m, n, "%s takes milliseconds since the epoch", f->name);
        break;
    case F_ENUM: {
        size_t at = (size_t)snprintf(m, n, "%s %s one of", f->name, verb);
        for (int i = 0; f->values[i] && at < n; i++)
            at += (size_t)snprintf(m + at, n - at, "%s %s", i ? "," : "", f->values[i]);
        break;
    }
    }
}

/* An unknown name among fields: "unknown query parameter 'x'; did you mean 'y'? (this
 * route takes: ...)". */
static void unknown(const char *what, const char *name, const struct field *fs, char *m, size_t n)
{
    const char *cands[16];
    size_t k = 0;
    for (const struct field *f = fs; f && f->name && k < 16; f++)
        cands[k++] = f->name;
    const char *near = k ? sc_suggest(name, cands, k) : NULL;
    char names[300];
    field_names(fs, names, sizeof names);
    snprintf(m, n, "unknown %s '%.80s'%s%s%s (this route takes: %s)", what, name,
             near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "", names);
}

/* A version as a query or path gives it: N or vN, 1 to 1000000; -1 otherwise. */
static long version_num(const char *s)
{
    char *end;
    if (s && (*s == 'v' || *s == 'V'))
        s++;
    if (!s || *s < '0' || *s > '9')
        return -1;
    long v = strtol(s, &end, 10);
    return *end || v < 1 || v > 1000000 ? -1 : v;
}

/* Whether query value s suits f. */
static bool query_ok(const struct field *f, const char *s)
{
    char *end;
    switch (f->type) {
    case F_INT: {
        if (*s < '0' || *s > '9')
            return false;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        return !*end && errno != ERANGE && v >= f->min && v <= f->max;
    }
    case F_MS: {
        if (*s < '0' || *s > '9')
            return false;
        errno = 0;
        strtoll(s, &end, 10);
        return !*end && errno != ERANGE;
    }
    case F_VERSION:
        return version_num(s) > 0;
    case F_ENUM:
        for (int i = 0; f->values[i]; i++)
            if (!strcmp(s, f->values[i]))
                return true;
        return false;
    case F_NAME:
        return sc_version_name_ok(s);
    default:
        return true;
    }
}

struct qcheck {
    const struct field *fs;
    char *m;
    size_t n;
    bool bad;
};

static enum MHD_Result query_each(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct qcheck *q = cls;
    const struct field *f = q->fs;
    while (f->name && strcmp(f->name, key))
        f++;
    /* %00 decodes to a NUL that would cut the text short: "limit=1%00abc" is not 1 */
    if (strlen(key) != key_size)
        snprintf(q->m, q->n, "query parameter '%s...' holds a NUL (%%00) in its name", key);
    else if (value && strlen(value) != value_size)
        snprintf(q->m, q->n, "%s holds a NUL (%%00): give it without", key);
    else if (!f->name)
        unknown("query parameter", key, q->fs, q->m, q->n);
    else if (!query_ok(f, value ? value : ""))
        want(f, true, q->m, q->n);
    else
        return MHD_YES;
    q->bad = true;
    return MHD_NO;
}

/* The request's query checked against spec: true, or false with m set (a 400). */
static bool check_query(struct MHD_Connection *con, const struct spec *sp, char *m, size_t n)
{
    struct qcheck q = {.fs = sp->query, .m = m, .n = n};
    MHD_get_connection_values_n(con, MHD_GET_ARGUMENT_KIND, query_each, &q);
    for (const struct field *f = sp->query; !q.bad && f->name; f++)
        if (f->required && !MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, f->name)) {
            char names[300] = "";
            size_t at = 0;
            for (const struct field *g = sp->query; g->name; g++)
                if (g->required)
                    at += (size_t)snprintf(names + at, sizeof names - at, "%s%s=...",
                                           at ? "&" : "?", g->name);
            snprintf(m, n, "give %s: %s is missing", names, f->name);
            q.bad = true;
        }
    return !q.bad;
}

/* The body (an object, or NULL when none was sent) checked against spec: true, or false
 * with m set (a 400). */
static bool check_body(const json_t *body, const struct spec *sp, char *m, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v) {
        const struct field *f = sp->body;
        while (f && f->name && strcmp(f->name, k))
            f++;
        if (!f || !f->name) {
            unknown("body field", k, sp->body, m, n);
            return false;
        }
    }
    for (const struct field *f = sp->body; f && f->name; f++) {
        v = json_object_get(body, f->name);
        if (!v && !f->required)
            continue;
        if (!v && f->need) {
            snprintf(m, n, "%s", f->need);
            return false;
        }
        if (!v) {
            snprintf(m, n, "give {\"%s\": ...}: %s is required", f->name, f->name);
            return false;
        }
        bool ok;
        switch (f->type) {
        case F_INT:
        case F_VERSION:
            ok = json_is_integer(v) && json_integer_value(v) >= f->min &&
                 json_integer_value(v) <= f->max;
            break;
        case F_NAME:
            ok = json_is_string(v) && sc_version_name_ok(json_string_value(v));
            break;
        default:
            ok = json_is_string(v);
        }
        if (!ok && f->type == F_TEXT && !json_is_string(v)) {
            snprintf(m, n, "%s must be a string", f->name);
            return false;
        }
        if (!ok) {
            want(f, false, m, n);
            return false;
        }
        if (f->type != F_TEXT)
            continue;
        const char *s = json_string_value(v);
        if (sc_text_blank(s)) {
            if (f->need)
                snprintf(m, n, "%s", f->need);
            else
                snprintf(m, n, "%s is blank (no visible character): write one, or leave %s out",
                         f->name, f->name);
            return false;
        }
        if (strlen(s) > (size_t)f->max) {
            snprintf(m, n, "%s is over %lld bytes (%zu given)%s%s", f->name, f->max, strlen(s),
                     f->over ? ": " : "", f->over ? f->over : "");
            return false;
        }
    }
    return true;
}

/* A field as OpenAPI's schema. */
static json_t *field_schema(const struct field *f, bool query)
{
    json_t *s = json_object();
    switch (f->type) {
    case F_STR:
        json_object_set_new(s, "type", json_string("string"));
        break;
    case F_TEXT:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "minLength", json_integer(1));
        json_object_set_new(s, "x-maxBytes", json_integer(f->max));
        /* no pattern: a regex cannot name the Unicode properties the server checks */
        json_object_set_new(s, "description", json_string(
            "Not blank: at least one character that is not a separator (Zs, Zl, Zp), format "
            "(Cf) or control (Cc) character, nor Default_Ignorable_Code_Point, nor U+2800 "
            "BRAILLE PATTERN BLANK (Unicode Character Database); otherwise 400."));
        break;
    case F_NAME:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "pattern", json_string("^[a-z0-9_-]{1,64}$"));
        break;
    case F_INT:
        json_object_set_new(s, "type", json_string("integer"));
        json_object_set_new(s, "minimum", json_integer(f->min));
        json_object_set_new(s, "maximum", json_integer(f->max));
        break;
    case F_VERSION:
        if (query) {
            json_object_set_new(s, "type", json_string("string"));
            json_object_set_new(s, "pattern", json_string("^[vV]?[0-9]+$"));
        } else {
            json_object_set_new(s, "type", json_string("integer"));
            json_object_set_new(s, "minimum", json_integer(1));
            json_object_set_new(s, "maximum", json_integer(f->max));
        }
        break;
    case F_MS:
        json_object_set_new(s, "type", json_string("integer"));
        json_object_set_new(s, "minimum", json_integer(0));
        json_object_set_new(s, "maximum", json_integer(LLONG_MAX));
        break;
    case F_ENUM: {
        json_t *e = json_array();
        for (int i = 0; f->values[i]; i++)
            json_array_append_new(e, json_string(f->values[i]));
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "enum", e);
        break;
    }
    }
    return s;
}

/* The spec's query parameters and request body into OpenAPI operation op. */
static void spec_openapi(const struct spec *sp, json_t *op)
{
    json_t *params = json_object_get(op, "parameters");
    if (!params)
        json_object_set_new(op, "parameters", params = json_array());
    for (const struct field *f = sp->query; f->name; f++)
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:o}", "name", f->name, "in",
                                                "query", "required", f->required, "schema",
                                                field_schema(f, true)));
    if (!json_array_size(params))
        json_object_del(op, "parameters");
    if (sp->body) {
        json_t *props = json_object(), *req = json_array();
        for (const struct field *f = sp->body; f->name; f++) {
            json_object_set_new(props, f->name, field_schema(f, false));
            if (f->required)
                json_array_append_new(req, json_string(f->name));
        }
        json_t *schema = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
                                   "additionalProperties", 0);
        bool required = json_array_size(req) > 0;
        if (required)
            json_object_set_new(schema, "required", req);
        else
            json_decref(req);
        json_object_set_new(op, "requestBody", json_pack("{s:b, s:{s:{s:o}}}", "required",
                            required, "content", "application/json", "schema", schema));
    }
    json_t *resp = json_object_get(op, "responses");
    static const struct { const char *code, *what; } why[] = {
        {"400", "a query parameter or body field that is unknown or not what it takes, "
                "named in error"},
        {"404", "no such object"}, {"409", "the object's state does not allow it"},
        {"413", "a body over 65536 bytes"}, {"422", "the scenario does not validate: "
                                              "error, diagnostics and text"},
        {"502", "the delivery failed"}, {"503", "the store is unavailable"}};
    for (const char *p = sp->statuses; *p; p += strspn(p, " ")) {
        size_t len = strcspn(p, " ");
        for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
            if (strlen(why[i].code) == len && !strncmp(why[i].code, p, len))
                json_object_set_new(resp, why[i].code,
                                    json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", why[i].what,
                                              "content", "application/json", "schema", "$ref",
                                              "#/components/schemas/Error"));
        p += len;
    }
}

static bool match(const char *pattern, const char *path, char *buf, size_t n, const char **args);

/* The methods routes[] takes on path (a request's, or a route's own pattern), as a 405's
 * Allow names them (RFC 9110 10.2.1, 15.5.6): "GET, HEAD"; HEAD wherever GET. Into buf. */
static void allowed(const char *path, char *buf, size_t n)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    char arg[256];
    const char *args[3];
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        const char *m = strcmp(methods[i], "HEAD") ? methods[i] : "GET";
        bool takes = false;
        for (const struct route *r = routes; r->method && !takes; r++)
            takes = !strcmp(r->method, m) && match(r->path, path, arg, sizeof arg, args);
        if (takes && at < n)
            at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? ", " : "", methods[i]);
    }
}

/* The 405 rule, stated once in the document (info and a reusable response) rather than as
 * an operation per method a path does not take: generated clients would make methods of
 * them that can only fail. Dispatch answers it as said, from routes[] (allowed). */
#define OPENAPI_405 "A path takes only the operations listed under it. A request with another " \
    "method (of GET, HEAD, POST, PUT, PATCH, DELETE) is answered 405, before any token is " \
    "asked for, with an Allow header naming the methods the path takes: its operations " \
    "here, and HEAD wherever GET (RFC 9110 15.5.6); the body is an Error (" \
    "#/components/responses/MethodNotAllowed)."

static json_t *openapi_method_not_allowed(void)
{
    return json_pack("{s:s, s:{s:{s:s, s:b, s:{s:s}}}, s:{s:{s:{s:s}}}}", "description",
                     "method not allowed: Allow names the methods this path takes",
                     "headers", "Allow", "description", "the methods the path takes, as listed "
                     "here (HEAD wherever GET), e.g. \"GET, HEAD\"", "required", 1, "schema",
                     "type", "string", "content", "application/json", "schema", "$ref",
                     "#/components/schemas/Error");
}

/* The OpenAPI 3.1 document, made from routes[]. */
static unsigned h_openapi(struct call *c, json_t **out)
{
    (void)c;
    json_t *paths = json_object();
    for (const struct route *r = routes; r->method; r++) {
        const char *p = r->path;
        json_t *item = json_object_get(paths, p);
        if (!item)
            json_object_set_new(paths, p, item = json_object());
        json_t *schema = json_loads(r->schema, 0, NULL);
        json_t *op = json_pack("{s:s, s:{s:{s:s, s:{s:{s:o}}}}}", "summary", r->summary,
                               "responses", "200", "description", "OK", "content",
                               "application/json", "schema", schema);
        if (r->roles) /* a route without roles (this document) asks for no token */
            json_object_update_missing_new(json_object_get(op, "responses"), json_pack(
                "{s:{s:s, s:{s:{s:{s:s}}}}, s:{s:s, s:{s:{s:{s:s}}}}}", "401", "description",
                "no or unknown token", "content", "application/json", "schema", "$ref",
                "#/components/schemas/Error", "403", "description",
                "the user's role may not do this", "content", "application/json", "schema",
                "$ref", "#/components/schemas/Error"));
        char opid[128], *w = opid;
        snprintf(opid, sizeof opid, "%s%s", r->method, p);
        for (; *w; w++)
            if (*w == '/' || *w == '{' || *w == '}' || *w == '.')
                *w = '_';
        json_object_set_new(op, "operationId", json_string(opid));
        if (r->roles) {
            json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
            json_t *roles = json_array();
            for (int i = 0; role_names[i]; i++)
                if (r->roles & (1 << i))
                    json_array_append_new(roles, json_string(role_names[i]));
            json_object_set_new(op, "x-roles", roles);
        } else {
            json_object_set_new(op, "security", json_array());
        }
        json_t *params = json_array();
        for (const char *q = strchr(r->path, '{'); q; q = strchr(q + 1, '{')) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(q + 1, "}"), q + 1);
            json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name,
                                                    "in", "path", "required", 1, "schema",
                                                    "type", "string"));
        }
        json_object_set_new(op, "parameters", params);
        spec_openapi(spec_of(r->method, r->path), op);
        char m[8];
        size_t i = 0;
        for (; r->method[i] && i < sizeof m - 1; i++)
            m[i] = (char)(r->method[i] + 32);
        m[i] = '\0';
        json_object_set_new(item, m, op);
    }
    *out = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:{s:{s:s, s:s}}, s:{s:o}, "
                     "s:{s:o}}}", "openapi", "3.1.0", "info", "title", "scenarist management API",
                     "version", "1", "description", OPENAPI_405, "servers", "url", "/", "paths",
                     paths, "components", "securitySchemes", "bearer", "type", "http", "scheme",
                     "bearer", "schemas", "Error", json_loads(S_ERR, 0, NULL), "responses",
                     "MethodNotAllowed", openapi_method_not_allowed());
    return 200;
}

/* ---- dispatch ---- */

/* Whether path matches the route's pattern; args[i] point at its {..} segments, copied
 * into buf (n bytes). */
static bool match(const char *pattern, const char *path, char *buf, size_t n, const char **args)
{
    size_t used = 0;
    int k = 0;
    args[0] = args[1] = args[2] = NULL;
    while (*pattern && *path) {
        if (*pattern == '{') {
            size_t len = strcspn(path, "/");
            const char *close = strchr(pattern, '}');
            if (!len || !close || used + len + 1 > n || k == 3)
                return false;
            memcpy(buf + used, path, len);
            buf[used + len] = '\0';
            args[k++] = buf + used;
            used += len + 1;
            pattern = close + 1;
            path += len;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return !*pattern && !*path;
}

/* Constant-time: every user's token is compared in full, whatever matches. */
static const struct user *find_user(struct sc_admin *a, const char *token)
{
    const struct user *found = NULL;
    size_t tn = strlen(token);
    for (size_t i = 0; i < a->nusers; i++) {
        const char *t = a->users[i].token;
        size_t n = strlen(t);
        unsigned char diff = (unsigned char)(n != tn);
        for (size_t k = 0; k < n; k++)
            diff |= (unsigned char)(t[k] ^ (k < tn ? token[k] : 0));
        if (!diff && !found)
            found = &a->users[i];
    }
    return found;
}

/* answer with one more header (hname: hval) when hname is not NULL. */
static enum MHD_Result answer_with(struct MHD_Connection *con, unsigned status, json_t *body,
                                   const char *hname, const char *hval);

static enum MHD_Result answer(struct MHD_Connection *con, unsigned status, json_t *body)
{
    return answer_with(con, status, body, NULL, NULL);
}

static enum MHD_Result answer_with(struct MHD_Connection *con, unsigned status, json_t *body,
                                   const char *hname, const char *hval)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text,
                                                                MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"scenarist\"");
    if (hname)
        MHD_add_response_header(resp, hname, hval);
    enum MHD_Result rc = MHD_queue_response(con, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

#define MAX_BODY (64 * 1024)

/* The console's static files; /console goes to /console/. */
static enum MHD_Result console(struct MHD_Connection *con, const char *url, const char *method)
{
    size_t len = 0;
    const char *type = NULL;
    const char *data = url[8] ? sc_console_file(url + 9, &len, &type) : NULL;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return answer(con, 405, err_body("the console takes GET"));
    if (!url[8] || !data) {
        bool redirect = !url[8];
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        if (redirect)
            MHD_add_response_header(resp, "Location", "/console/");
        enum MHD_Result rc = MHD_queue_response(con, redirect ? 301 : 404, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data,
                                                                MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    enum MHD_Result rc = MHD_queue_response(con, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* A browser opening a write's sent_from (/scenarios/...: no token, asking for HTML) is
 * sent to the console's page of that step, which signs in and asks the API. */
static bool browser_step(struct MHD_Connection *con, const char *url, enum MHD_Result *rc)
{
    const char *accept = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Accept");
    if (strncmp(url, "/scenarios/", 11) || MHD_lookup_connection_value(con, MHD_HEADER_KIND,
                                                                        "Authorization") ||
        !accept || !strstr(accept, "text/html") || strlen(url) > 1000)
        return false;
    char loc[1100];
    snprintf(loc, sizeof loc, "/console/#/step/%s", url + 11);
    char *w = strstr(loc, "/versions/"), *x = w ? strstr(w, "/steps/") : NULL;
    if (!w || !x)
        return false;
    memmove(w + 1, w + 10, strlen(w + 10) + 1);          /* NAME/versions/V -> NAME/V */
    x = strstr(w, "/steps/");
    memmove(x + 1, x + 7, strlen(x + 7) + 1);            /* V/steps/STEP -> V/STEP */
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return *rc = MHD_NO, true;
    MHD_add_response_header(resp, "Location", loc);
    *rc = MHD_queue_response(con, 303, resp);
    MHD_destroy_response(resp);
    return true;
}

/* What a JSON value is, in words: "an array", "a string", ... */
static const char *json_kind(const json_t *v)
{
    return json_is_array(v) ? "an array" : json_is_string(v) ? "a string"
           : json_is_number(v) ? "a number" : json_is_boolean(v) ? "true or false"
           : json_is_null(v) ? "null" : "an object";
}

/* The 400 body for a path with %00 (raw: as sent, or NULL): names the route's {segment}
 * that holds it when the path is a route's. */
static json_t *nul_segment(const char *raw)
{
    char buf[1024], m[200];
    const char *args[3];
    for (const struct route *r = routes; raw && r->method; r++) {
        if (!match(r->path, raw, buf, sizeof buf, args))
            continue;
        const char *name = r->path;
        for (int k = 0; k < 3 && args[k] && (name = strchr(name, '{')); k++, name++)
            if (strstr(args[k], "%00")) {
                snprintf(m, sizeof m, "%.*s holds a NUL (%%00): give it without",
                         (int)strcspn(name + 1, "}"), name + 1);
                return err_body(m);
            }
    }
    return err_body("the path holds a NUL (%00): a path segment is text");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **ctx)
{
    (void)version;
    struct sc_admin *a = cls;
    struct areq *q = *ctx;
    if (!q)
        return MHD_NO; /* its connection's state failed to allocate */
    if (!q->started) {
        q->started = true;
        return MHD_YES;
    }
    if (*upload_size) {
        if (q->body.len + *upload_size > MAX_BODY)
            q->over = true;
        else
            sc_buf_add(&q->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->over)
        return answer(con, 413, err_body("body over the 65536-byte limit"));
    if (q->nul_path)
        return answer(con, 400, nul_segment(q->raw));
    if (q->bad_path && q->bad_status == 414) /* its query was not read: close */
        return answer_with(con, 414, err_body(q->bad_path), "Connection", "close");
    if (q->bad_path) /* a %2F is no route's: as an unknown path */
        return answer(con, q->bad_status,
                      err_body(q->bad_status == 404 ? "no such endpoint" : q->bad_path));
    if (!strcmp(url, "/console") || !strncmp(url, "/console/", 9)) /* no token: the page asks */
        return console(con, url, method);
    enum MHD_Result brc;
    if (!strcmp(method, "GET") && browser_step(con, url, &brc))
        return brc;
    char arg[256];
    const struct route *hit = NULL;
    bool path_known = false;
    struct call c = {.a = a, .con = con};
    for (const struct route *r = routes; r->method; r++) {
        if (!match(r->path, url, arg, sizeof arg, c.args))
            continue;
        path_known = true;
        if (!strcmp(r->method, method) || (!strcmp(method, "HEAD") && !strcmp(r->method, "GET"))) {
            hit = r;
            break;
        }
    }
    if (!hit && path_known) {
        char allow[64];
        allowed(url, allow, sizeof allow);
        return answer_with(con, 405, err_body("method not allowed"), "Allow", allow);
    }
    if (!hit)
        return answer(con, 404, err_body("no such endpoint"));
    match(hit->path, url, arg, sizeof arg, c.args);
    c.arg = c.args[0];
    if (hit->roles) {
        const char *auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
        const struct user *u = auth && !strncasecmp(auth, "Bearer ", 7) && auth[7]
                                   ? find_user(a, auth + 7) : NULL;
        if (!u)
            return answer(con, 401, err_body(auth ? "unknown token" : "send Authorization: Bearer TOKEN"));
        if (!(u->role & hit->roles)) {
            char m[200];
            int i = 0;
            while (!(u->role & (1 << i)))
                i++;
            snprintf(m, sizeof m, "user %s (%s) may not %s %s", u->name, role_names[i], method,
                     url);
            return answer(con, 403, err_body(m));
        }
        c.u = u;
    }
    if (q->body.len) {
        json_error_t je;
        c.body = json_loadb(q->body.data, q->body.len, JSON_DECODE_ANY, &je);
        if (!json_is_object(c.body)) {
            char m[300];
            if (c.body)
                snprintf(m, sizeof m, "the body is not a JSON object: %s", json_kind(c.body));
            else
                snprintf(m, sizeof m, "the body is not JSON: %s", je.text);
            json_decref(c.body);
            return answer(con, 400, err_body(m));
        }
    }
    const struct spec *sp = spec_of(hit->method, hit->path);
    char bad[700];
    if (sp && (!check_query(con, sp, bad, sizeof bad) || !check_body(c.body, sp, bad, sizeof bad))) {
        json_decref(c.body);
        return answer(con, 400, err_body(bad));
    }
    json_t *out = NULL;
    unsigned status = hit->fn(&c, &out);
    json_decref(c.body);
    if (c.u && strcmp(hit->method, "GET"))
        sc_log(SC_LOG_INFO, NULL, NULL, "admin: %s %s by %s: %u", method, url, c.u->name, status);
    return answer(con, status, out);
}

/* A request's state, kept by its connection (made at its opening, freed at its close,
 * which MHD always tells): a head MHD gives up on before on_request leaves nothing behind. */
static void areq_clear(struct areq *q)
{
    sc_buf_free(&q->body);
    free(q->raw);
    memset(q, 0, sizeof *q);
}

static void on_connection(void *cls, struct MHD_Connection *con, void **sock,
                          enum MHD_ConnectionNotificationCode what)
{
    (void)cls;
    (void)con;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        *sock = sc_calloc(1, sizeof(struct areq)); /* NULL: each request is refused */
    } else if (*sock) {
        areq_clear(*sock);
        free(*sock);
        *sock = NULL;
    }
}

/* Each request's state, made from its URI before MHD decodes it: a %00 in the path would
 * decode to a NUL that cuts the path short (/holds/1%00x reaching /holds/1). */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)cls;
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(con,
                                                                MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct areq *q = i ? i->socket_context : NULL;
    if (q)
        areq_clear(q);
    if (q && (q->bad_path = sc_httpd_target_verdict(uri, &q->bad_status)))
        return q;
    if (q) {
        size_t plen = strcspn(uri, "?");
        for (size_t k = 0; k + 2 < plen; k++)
            if (uri[k] == '%' && uri[k + 1] == '0' && uri[k + 2] == '0')
                q->nul_path = true;
        if (q->nul_path)
            q->raw = sc_strndup(uri, plen);
        else
            q->bad_path = sc_httpd_path_verdict(uri, &q->bad_status);
    }
    return q;
}

/* The request is over (any termination code): its state is cleared, its connection keeps it. */
static void on_done(void *cls, struct MHD_Connection *con, void **ctx,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)con;
    (void)why;
    if (*ctx)
        areq_clear(*ctx);
    *ctx = NULL;
}

static int role_of(const char *s)
{
    for (int i = 0; role_names[i]; i++)
        if (s && !strcmp(s, role_names[i]))
            return 1 << i;
    return 0;
}

static void admin_free(struct sc_admin *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nusers; i++) {
        if (a->users[i].token)
            explicit_bzero(a->users[i].token, strlen(a->users[i].token));
        free(a->users[i].token);
    }
    free(a->users);
    sc_store_close(a->st);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* The org's users: with their tokens read. -1 with err when a token cannot be read. */
static int load_users(struct sc_admin *a, const struct sc_org *org, char *err, size_t errlen)
{
    json_t *users = json_object_get(org->doc->root, "users"), *u;
    a->users = sc_calloc(json_array_size(users) + 1, sizeof *a->users);
    if (!a->users)
        return -1;
    size_t i;
    json_array_foreach(users, i, u) {
        struct user *x = &a->users[a->nusers];
        x->name = (char *)json_string_value(json_object_get(u, "name"));
        x->role = role_of(json_string_value(json_object_get(u, "role")));
        const char *ref = json_string_value(json_object_get(u, "token"));
        char why[300];
        if (!(x->token = ref ? sc_org_secret(ref, why, sizeof why) : NULL)) {
            snprintf(err, errlen, "user %s: token %s: %s", x->name, ref ? ref : "(none)",
                     ref ? why : "missing");
            return -1;
        }
        if (strlen(x->token) < 16) {
            snprintf(err, errlen, "user %s: token %s is shorter than 16 characters", x->name, ref);
            return -1;
        }
        a->nusers++;
    }
    return 0;
}

int sc_admin_start(struct sc_daemon *d, const char *listen, char *err, size_t errlen)
{
    struct sc_admin *a = sc_calloc(1, sizeof *a);
    if (!a)
        return -1;
    pthread_mutex_init(&a->mu, NULL);
    a->d = d;
    if (load_users(a, d->org, err, errlen) != 0 ||
        !(a->st = sc_daemon_writer(d, err, errlen))) {
        admin_free(a);
        return -1;
    }
    if (!a->nusers)
        sc_log(SC_LOG_WARN, NULL, NULL, "--admin-listen: the org declares no users:, so every "
               "API call but /api/v1/openapi.json answers 401");
    /* PORT or :PORT alone: loopback, never every interface by omission */
    const char *colon = strrchr(listen, ':');
    char host[128], port[16];
    snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - listen) : 0, listen);
    snprintf(port, sizeof port, "%s", colon ? colon + 1 : listen);
    if (!host[0])
        snprintf(host, sizeof host, "127.0.0.1");
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE},
                    *ai = NULL;
    int gai = port[0] ? getaddrinfo(host, port, &hints, &ai) : EAI_NONAME;
    if (gai != 0) {
        snprintf(err, errlen, "--admin-listen %s: give a numeric HOST:PORT (%s)", listen,
                 gai_strerror(gai));
        admin_free(a);
        return -1;
    }
    a->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                                  (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                              0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                              MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                              MHD_OPTION_CONNECTION_LIMIT, 256u,
                              MHD_OPTION_NOTIFY_COMPLETED, on_done, a,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
                              MHD_OPTION_URI_LOG_CALLBACK, uri_seen, a, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!a->mhd) {
        snprintf(err, errlen, "cannot listen on %s for the admin API", listen);
        admin_free(a);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int p = 0;
    if (info && getsockname(info->listen_fd, (struct sockaddr *)&sa, &len) == 0)
        p = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                           : ((struct sockaddr_in *)&sa)->sin_port);
    d->admin = a;
    sc_daemon_say("admin API on http://%s:%d/api/v1 (%zu user%s)",
                  strchr(host, ':') ? "[::1]" : host, p, a->nusers,
                  a->nusers == 1 ? "" : "s");
    return 0;
}

void sc_admin_stop(struct sc_daemon *d)
{
    struct sc_admin *a = d->admin;
    if (!a)
        return;
    if (a->mhd)
        MHD_stop_daemon(a->mhd);
    admin_free(a);
    d->admin = NULL;
}
