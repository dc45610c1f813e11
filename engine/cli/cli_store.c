/* The commands that read and act on an org's store: executions, execution, incomplete,
 * resume, audit, metrics. */
#include "cli/cli.h"

#include "daemon/targets.h"
#include "run/audit.h"
#include "model/yaml.h"

#include "clock.h"
#include "lang/duration.h"
#include "run/exec.h"
#include "run/http.h"
#include "lang/lua.h"
#include "run/runner.h"
#include "store/hooks.h"
#include "store/store.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* The width of an id column: 24, or wider so that the longest id (a real clock's
 * "20261130-202126-9da830dd33c9") still leaves a space. */
static int id_width(const json_t *rows, const char *key)
{
    size_t i, w = 23;
    json_t *e;
    json_array_foreach(rows, i, e) {
        size_t n = strlen(str(e, key));
        w = n > w ? n : w;
    }
    return (int)w + 1;
}

/* --since: an ISO time, or a duration meaning that long ago ("24h"). */
static int since_ms(const char *s, int64_t *ms)
{
    int64_t d;
    char err[128];
    if (!s) {
        *ms = 0;
        return 0;
    }
    if (sc_clock_parse_iso(s, ms) == 0)
        return 0;
    if (sc_duration_parse(s, &d, err, sizeof err) == 0) {
        *ms = sc_clock_now_ms() - d;
        return 0;
    }
    fprintf(stderr, "scenarist: --since takes a time (2026-03-08T08:00:00Z) or a duration "
                    "ago (24h)\n");
    return -1;
}

int cmd_executions(struct opts *o)
{
    struct sc_exec_filter f = {.scenario = o->scenario, .status = o->status, .limit = o->limit};
    if (o->nargs || since_ms(o->since, &f.since_ms) != 0) {
        if (o->nargs)
            fprintf(stderr, "usage: scenarist executions [--scenario S] [--status S] [--since T] "
                            "[--limit N] [--json]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int opened = cli_session_open(o, &s); /* a config error is a usage error (2), as everywhere */
    if (opened != EXIT_OK)
        return opened;
    json_t *list = sc_store_exec_list(s.st, &f);
    if (!list)
        return cli_session_failed(&s);
    if (o->json) {
        cli_print_json(list);
    } else {
        size_t i;
        json_t *e;
        if (json_array_size(list))
            printf("%-*s %-24s %-8s %-8s %-8s %-24s %s\n", id_width(list, "id"), "ID", "SCENARIO", "VERSION", "STATUS",
                   "RETRIES", "STARTED", "DURATION");
        json_array_foreach(list, i, e) {
            char dur[32] = "";
            if (json_object_get(e, "duration_ms"))
                snprintf(dur, sizeof dur, "%lld ms",
                         (long long)json_integer_value(json_object_get(e, "duration_ms")));
            printf("%-*s %-24s %-8s %-8s %-8lld %-24s %s\n", id_width(list, "id"), str(e, "id"), str(e, "scenario"),
                   str(e, "version"), str(e, "status"),
                   (long long)json_integer_value(json_object_get(e, "attempts")) - 1,
                   str(e, "started_at"), dur);
        }
        if (!json_array_size(list))
            printf("no executions\n");
    }
    json_decref(list);
    cli_session_close(&s);
    return EXIT_OK;
}

/* An incomplete entry's retries, as Make counts them: runs after the first (the store
 * keeps runs made and runs allowed), "of N" only when retries are automatic. */
static void attempts_text(char *buf, size_t n, const json_t *inc, const char *of)
{
    long long a = json_integer_value(json_object_get(inc, "attempts")) - 1,
              m = json_integer_value(json_object_get(inc, "max_attempts")) - 1;
    if (m >= 0)
        snprintf(buf, n, "%lld%s%lld", a < 0 ? 0 : a, of, m);
    else
        snprintf(buf, n, "%lld", a < 0 ? 0 : a);
}

/* One decision line, as holds show and execution ID print it. */
static void print_decision(const json_t *dv, const char *indent)
{
    printf("%sdecision %lld: %s by %s at %s%s%s%s; %s%s%s\n", indent,
           (long long)json_integer_value(json_object_get(dv, "id")), str(dv, "action"),
           str(dv, "decided_by"), str(dv, "decided_at"), json_object_get(dv, "reason") ? " (" : "",
           str(dv, "reason"), json_object_get(dv, "reason") ? ")" : "", str(dv, "state"),
           json_object_get(dv, "outcome") ? ": " : "", str(dv, "outcome"));
}

/* Which run an attempt record was, as Make counts: "first run" or "retry N". */
static const char *run_text(const json_t *rec)
{
    static _Thread_local char buf[48];
    long long a = json_integer_value(json_object_get(rec, "attempt"));
    /* a resume after a crash goes on with the attempt the dead process ran */
    const char *resumed = json_is_true(json_object_get(rec, "resumed")) ? " resumed" : "";
    if (a <= 1)
        snprintf(buf, sizeof buf, "first run%s", resumed);
    else
        snprintf(buf, sizeof buf, "retry %lld%s", a - 1, resumed);
    return buf;
}

static void print_incomplete_line(const json_t *e, int idw)
{
    const json_t *err = json_object_get(e, "error");
    char att[48];
    attempts_text(att, sizeof att, e, "/");
    if (!str(err, "kind")[0]) /* a hold: its reason stands where an error would */
        printf("%-*s %-24s %-16s %-10s %-4s %-24s held: %s\n", idw, str(e, "execution"),
               str(e, "scenario"), str(e, "step"), str(e, "state"), att,
               json_object_get(e, "next_attempt_at") ? str(e, "next_attempt_at") : "-",
               str(err, "reason"));
    else
        printf("%-*s %-24s %-16s %-10s %-4s %-24s %s: %s\n", idw, str(e, "execution"),
               str(e, "scenario"), str(e, "step"), str(e, "state"), att,
               json_object_get(e, "next_attempt_at") ? str(e, "next_attempt_at") : "-",
               str(err, "kind"), str(err, "message"));
}

int cmd_execution(struct opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "usage: scenarist execution ID [--org NAME] [--json]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int opened = cli_session_open(o, &s); /* a config error is a usage error (2), as everywhere */
    if (opened != EXIT_OK)
        return opened;
    json_t *v = sc_store_exec_get(s.st, o->args[0]);
    if (!v) {
        if (sc_store_error(s.st)[0])
            return cli_session_failed(&s);
        fprintf(stderr, "scenarist: no execution %s in org %s\n", o->args[0], s.org->name);
        cli_session_close(&s);
        return EXIT_FAILED;
    }
    if (o->json) {
        cli_print_json(v);
    } else {
        printf("%s  execution %s  (org %s, version %s)\n", str(v, "scenario"), str(v, "id"),
               str(v, "org"), str(v, "version"));
        long long retries = json_integer_value(json_object_get(v, "attempts")) - 1;
        printf("status %s after %lld retr%s; started %s%s%s\n", str(v, "status"), retries,
               retries == 1 ? "y" : "ies",
               str(v, "started_at"), json_object_get(v, "finished_at") ? ", finished " : "",
               str(v, "finished_at"));
        if (json_object_get(v, "url"))
            printf("url %s\n", str(v, "url"));
        printf("steps (run shown when above 1: step@2 is retry 1):\n");
        size_t i;
        json_t *e;
        json_t *steps = json_object_get(v, "steps");
        json_array_foreach(steps, i, e) {
            json_t *a = json_object_get(e, "attempt");
            if (a) { /* the step table's own column would shift every line: prefix instead */
                char step[200];
                snprintf(step, sizeof step, "%s@%lld", str(e, "step"),
                         (long long)json_integer_value(a));
                json_object_set_new(e, "step", json_string(step));
            }
        }
        cli_print_steps(steps);
        json_t *err = json_object_get(v, "error");
        if (err)
            printf("error at step %s: %s: %s\n", str(err, "step"), str(err, "kind"),
                   str(err, "message"));
        json_t *inc = json_object_get(v, "incomplete");
        if (json_is_object(inc)) {
            char att[48];
            attempts_text(att, sizeof att, inc, " of ");
            printf("incomplete: %s at step %s, bundle %s; retries %s%s%s\n",
                   str(inc, "state"), str(inc, "step"), str(inc, "bundle"), att,
                   json_object_get(inc, "next_attempt_at") ? "; next " : "",
                   str(inc, "next_attempt_at"));
        }
        json_t *ds = sc_store_decisions(s.st, o->args[0]), *dv; /* people's word on it */
        size_t k;
        json_array_foreach(ds, k, dv) print_decision(dv, "");
        json_decref(ds);
    }
    json_decref(v);
    cli_session_close(&s);
    return EXIT_OK;
}

/* A retry needs what run has: a Lua state, an HTTP client, the org; the store is open. */
struct engine {
    struct sc_lua *lua;
    struct sc_http *http;
    struct sc_runtime rt;
    struct sc_runner *rn;
};

static int engine_start(struct engine *e, struct cli_session *s)
{
    char err[512];
    memset(e, 0, sizeof *e);
    e->lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    e->http = e->lua ? sc_http_new() : NULL;
    e->rt = (struct sc_runtime){.lua = e->lua, .http = e->http, .org = s->org, .store = s->st};
    e->rn = e->http ? sc_runner_new(&e->rt) : NULL;
    if (!e->rn)
        fprintf(stderr, "scenarist: %s\n", e->lua ? "out of memory" : err);
    return e->rn ? 0 : -1;
}

static void engine_stop(struct engine *e)
{
    sc_runner_free(e->rn);
    sc_http_free(e->http);
    sc_lua_free(e->lua);
}

static const char *who(void) { return cli_person(); }

/* A person's action on the audit log, inside the transaction that records it: 0, or -1
 * (sc_store_error says why). object: what it acted on (sc_audit_act). */
static int person_act(struct cli_session *s, const char *action, const char *object,
                      const json_t *about, const char *note)
{
    struct sc_audit_act a = {.org = s->org->name, .action = action, .object = object,
                             .by = who(), .note = note,
                             .scenario = json_string_value(json_object_get(about, "scenario")),
                             .execution = json_string_value(json_object_get(about, "execution")),
                             .step = json_string_value(json_object_get(about, "step"))};
    return sc_audit_person(s->st, &a) < 0 ? -1 : 0;
}

/* ---- decisions: a person's word, run by the daemon (which has the org's secrets) ---- */

/* Whether `scenarist serve` runs on this org's store now: it holds the store lock (a
 * shared store: the store says whether a daemon serves it). */
static bool daemon_running(const struct opts *o, const struct sc_org *org, struct sc_store *st)
{
    char *path = o->store ? sc_strdup(o->store) : sc_store_path(org);
    int held = !path ? -1 : sc_store_shared(path) ? sc_store_served(st) : sc_store_lock_held(path);
    free(path);
    return held == 1;
}

/* How long --wait waits for the daemon's outcome, in ms of real time (a test clock stands
 * still while the daemon works). */
#define WAIT_MS 60000
#define WAIT_STEP_MS 50

/* Waits for decision id to end: the decision (new) once done; NULL after WAIT_MS or on a
 * store error. */
static json_t *wait_outcome(struct sc_store *st, int64_t id)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    json_t *d = NULL;
    for (int i = 0; i < WAIT_MS / WAIT_STEP_MS; i++) {
        d = sc_store_decision(st, id);
        if (!d || !strcmp(str(d, "state"), "done"))
            break;
        json_decref(d);
        d = NULL;
        pthread_mutex_lock(&mu); /* nothing signals it: a bounded pause between reads */
        struct timespec ts = sc_clock_deadline(WAIT_STEP_MS);
        pthread_cond_timedwait(&cv, &mu, &ts);
        pthread_mutex_unlock(&mu);
    }
    return d;
}

/* After a continuation is recorded: who runs it, and with --wait its outcome. */
static int handed(const struct opts *o, struct cli_session *s, const char *exec, int64_t did)
{
    if (!daemon_running(o, s->org, s->st)) {
        printf("recorded: execution %s will run when `scenarist serve` runs for org %s\n", exec,
               s->org->name);
        return EXIT_OK;
    }
    if (!o->wait) {
        printf("handed to the daemon: execution %s runs there now (scenarist execution %s, or "
               "--wait, shows the outcome)\n", exec, exec);
        return EXIT_OK;
    }
    json_t *d = wait_outcome(s->st, did);
    if (!d) {
        fprintf(stderr, "scenarist: %s\n", sc_store_error(s->st)[0] ? sc_store_error(s->st)
                : "the daemon has not finished it within 60 s: see scenarist execution ID");
        return EXIT_FAILED;
    }
    printf("the daemon ran execution %s: %s\n", exec, str(d, "outcome"));
    int rc = strcmp(str(d, "outcome"), "success") ? EXIT_FAILED : EXIT_OK;
    json_decref(d);
    return rc;
}

/* --here: runs the recorded continuation did in this process, as before the daemon did. */
static int run_here(struct cli_session *s, const char *exec, int64_t did, const char *lead)
{
    struct engine e;
    struct sc_diags dg;
    sc_diags_init(&dg);
    char err[512] = "";
    json_t *dec = sc_store_decision(s->st, did);
    json_t *rec = dec && engine_start(&e, s) == 0 ? sc_runner_continue(e.rn, dec, &dg, err, sizeof err)
                                                   : NULL;
    if (dg.errors) /* warnings were shown when the scenario was run or validated */
        sc_diags_print(&dg, stderr);
    int rc = EXIT_FAILED;
    if (!rec && dec && !e.rn) /* no engine: the decision waits for no one */
        sc_store_decision_end(s->st, did, "not run: out of memory");
    if (!rec) {
        fprintf(stderr, "scenarist: %s; execution %s did not run: %s\n", lead, exec,
                dec ? err : sc_store_error(s->st));
    } else {
        printf("%s; execution %s ran here: %s %s\n", lead, exec, run_text(rec), str(rec, "status"));
        rc = strcmp(str(rec, "status"), "success") ? EXIT_FAILED : EXIT_OK;
    }
    if (dec)
        engine_stop(&e);
    json_decref(rec);
    json_decref(dec);
    sc_diags_free(&dg);
    return rc;
}

/* The last decision of an execution, as one phrase: "approve by B at T" (static). */
static const char *last_decision(struct sc_store *st, const char *exec)
{
    static char buf[300];
    json_t *a = sc_store_decisions(st, exec);
    json_t *d = json_array_get(a, json_array_size(a) ? json_array_size(a) - 1 : 0);
    if (d)
        snprintf(buf, sizeof buf, "%s by %s at %s", str(d, "action"), str(d, "decided_by"),
                 str(d, "decided_at"));
    else
        snprintf(buf, sizeof buf, "an earlier decision");
    json_decref(a);
    return buf;
}

/* incomplete retry --all [--scenario S] [--since T]: every matching open entry (not the
 * held ones: a hold waits for its own decision) handed to the daemon in one transaction. */
static int retry_all(struct opts *o, struct cli_session *s)
{
    int64_t since;
    if (since_ms(o->since, &since) != 0)
        return EXIT_USAGE;
    json_t *a = sc_store_incomplete_list(s->st, NULL);
    if (!a || sc_store_tx_begin(s->st) != 0) {
        json_decref(a);
        return EXIT_FAILED;
    }
    size_t i;
    json_t *e;
    int n = 0, waiting = 0, rc = 0;
    json_array_foreach(a, i, e) {
        int64_t at = 0;
        if (!strcmp(str(e, "state"), "held") || (o->scenario && strcmp(o->scenario, str(e, "scenario"))) ||
            sc_clock_parse_iso(str(e, "created_at"), &at) != 0 || at < since)
            continue;
        struct sc_decision_row r = {.execution = str(e, "execution"), .action = "retry",
                                    .by = who(), .reason = o->message};
        int64_t id;
        char object[200];
        snprintf(object, sizeof object, "incomplete/%s", r.execution);
        rc = sc_store_decision_add(s->st, &r, &id);
        if (rc == SC_STORE_OK && person_act(s, "retry", object, e, o->message) != 0)
            rc = SC_STORE_ERR;
        if (rc == SC_STORE_ERR)
            break;
        n += rc == SC_STORE_OK;
        waiting += rc == SC_STORE_EXISTS;
        rc = 0;
    }
    json_decref(a);
    if (rc != 0 || sc_store_tx_commit(s->st) != 0) {
        sc_store_tx_rollback(s->st);
        return EXIT_FAILED;
    }
    char more[80] = "";
    if (waiting)
        snprintf(more, sizeof more, " (%d more already waiting for the daemon)", waiting);
    if (!n && !waiting)
        printf("no incomplete execution matches: nothing to retry\n");
    else if (daemon_running(o, s->org, s->st))
        printf("%d incomplete execution%s handed to the daemon%s\n", n, n == 1 ? "" : "s", more);
    else
        printf("%d incomplete execution%s recorded for a retry%s: %s when `scenarist serve` runs "
               "for org %s\n", n, n == 1 ? "" : "s", more, n == 1 ? "it runs" : "they run",
               s->org->name);
    return EXIT_OK;
}

/* incomplete retry ID: the decision recorded, then run by the daemon (or --here). */
static int retry_one(struct opts *o, struct cli_session *s, const char *exec)
{
    json_t *inc = sc_store_incomplete_get(s->st, exec);
    const char *state = str(inc, "state");
    if (!inc && sc_store_error(s->st)[0]) { /* the store failed: not "no execution" */
        fprintf(stderr, "scenarist: %s\n", sc_store_error(s->st));
        return EXIT_FAILED;
    }
    if (!inc || (strcmp(state, "pending") && strcmp(state, "exhausted"))) {
        json_t *info = sc_store_exec_resume_info(s->st, exec);
        const char *status = str(info, "status");
        if (!info)
            fprintf(stderr, "scenarist: no execution %s in org %s\n", exec, s->org->name);
        else if (!strcmp(state, "held"))
            fprintf(stderr, "scenarist: execution %s is held for a person's decision: scenarist "
                    "holds approve or reject it\n", exec);
        else if (!inc || !strcmp(state, "done"))
            fprintf(stderr, "scenarist: execution %s has finished (%s): nothing is left to run\n",
                    exec, status);
        else
            fprintf(stderr, "scenarist: execution %s is not waiting for a retry: it was %s\n",
                    exec, state);
        json_decref(info);
        json_decref(inc);
        return EXIT_FAILED;
    }
    struct sc_decision_row r = {.execution = exec, .action = "retry", .by = who(),
                                .reason = o->message, .here = o->here};
    int64_t did;
    char object[200];
    snprintf(object, sizeof object, "incomplete/%s", exec);
    /* the decision and its audit row at once */
    int rc = sc_store_tx_begin(s->st) != 0 ? SC_STORE_ERR : sc_store_decision_add(s->st, &r, &did);
    if (rc == SC_STORE_OK && person_act(s, "retry", object, inc, o->message) != 0)
        rc = SC_STORE_ERR;
    if (rc == SC_STORE_OK && sc_store_tx_commit(s->st) != 0)
        rc = SC_STORE_ERR;
    if (rc != SC_STORE_OK)
        sc_store_tx_rollback(s->st);
    json_decref(inc);
    if (rc == SC_STORE_EXISTS) {
        fprintf(stderr, "scenarist: a retry of execution %s is already recorded (%s) and has not "
                "run yet: a decision is recorded once\n", exec, last_decision(s->st, exec));
        return EXIT_FAILED;
    }
    if (rc != SC_STORE_OK) {
        fprintf(stderr, "scenarist: %s\n", sc_store_error(s->st));
        return EXIT_FAILED;
    }
    char lead[300];
    snprintf(lead, sizeof lead, "retry of execution %s recorded by %s%s%s", exec, who(),
             o->message ? ": " : "", o->message ? o->message : "");
    if (o->here)
        return run_here(s, exec, did, lead);
    printf("%s\n", lead);
    return handed(o, s, exec, did);
}

int cmd_incomplete(struct opts *o)
{
    const char *sub = o->nargs ? o->args[0] : "list";
    bool list = !strcmp(sub, "list");
    bool all = !strcmp(sub, "retry") && o->all;
    if ((list && o->nargs > 1) || (!list && !all && o->nargs != 2) || (all && o->nargs != 1) ||
        (all && (o->here || o->wait)) || (o->all && !all) || (o->here && o->wait) ||
        ((o->here || o->wait) && strcmp(sub, "retry")) ||
        (!list && strcmp(sub, "retry") && strcmp(sub, "resolve") && strcmp(sub, "discard"))) {
        fprintf(stderr, "usage: scenarist incomplete list|retry ID [--wait|--here] [-m REASON]|"
                        "retry --all [--scenario NAME] [--since DURATION|DATE]|resolve ID|"
                        "discard ID [--org NAME] [--json]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int opened = cli_session_open(o, &s); /* a config error is a usage error (2), as everywhere */
    if (opened != EXIT_OK)
        return opened;
    int rc = EXIT_OK;
    if (list) {
        json_t *a = sc_store_incomplete_list(s.st, o->status);
        if (!a)
            return cli_session_failed(&s);
        if (o->json)
            cli_print_json(a);
        else if (!json_array_size(a))
            printf("no incomplete executions\n");
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) if (!o->json) print_incomplete_line(e, id_width(a, "execution"));
        json_decref(a);
    } else if (all) {
        rc = retry_all(o, &s);
        if (rc == EXIT_FAILED && sc_store_error(s.st)[0])
            return cli_session_failed(&s);
    } else if (!strcmp(sub, "retry")) {
        rc = retry_one(o, &s, o->args[1]);
    } else {
        const char *state = !strcmp(sub, "resolve") ? "resolved" : "discarded";
        json_t *inc = sc_store_incomplete_get(s.st, o->args[1]);
        char object[200];
        snprintf(object, sizeof object, "incomplete/%s", o->args[1]);
        int r = sc_store_tx_begin(s.st) != 0 ? SC_STORE_ERR
                : sc_store_incomplete_close(s.st, o->args[1], state, who());
        if (r == SC_STORE_OK && person_act(&s, sub, object, inc, o->message) != 0)
            r = SC_STORE_ERR;
        if (r == SC_STORE_OK && sc_store_tx_commit(s.st) != 0)
            r = SC_STORE_ERR;
        if (r != SC_STORE_OK)
            sc_store_tx_rollback(s.st);
        json_decref(inc);
        if (r < 0)
            return cli_session_failed(&s);
        if (r > 0) {
            fprintf(stderr, "scenarist: %s is not an open incomplete execution in org %s\n",
                    o->args[1], s.org->name);
            rc = EXIT_FAILED;
        } else {
            printf("%s: %s by %s\n", o->args[1], state, who());
        }
    }
    cli_session_close(&s);
    return rc;
}

static void resumed(void *data, const char *id, json_t *rec, const char *err)
{
    int *failed = data;
    if (!rec) {
        fprintf(stderr, "scenarist: %s: %s\n", id, err);
        ++*failed;
        return;
    }
    printf("%s %s: %s %s\n", id, str(rec, "scenario"), run_text(rec), str(rec, "status"));
    if (!strcmp(str(rec, "status"), "error"))
        ++*failed;
}

/* Nothing was due: the retries still to come, and when, or "nothing to resume". */
static void print_waiting(struct sc_store *st)
{
    json_t *a = sc_store_incomplete_list(st, "pending");
    size_t i, n = json_array_size(a);
    json_t *e;
    if (!n)
        printf("nothing to resume\n");
    else
        printf("nothing is due yet; %zu execution%s wait%s for a retry:\n", n, n == 1 ? "" : "s",
               n == 1 ? "s" : "");
    json_array_foreach(a, i, e) {
        char att[48];
        json_t *next = json_object_get(e, "attempts");
        json_object_set_new(e, "attempts", json_integer(json_integer_value(next) + 1));
        attempts_text(att, sizeof att, e, " of ");
        printf("  %s %s: step %s, retry %s due at %s\n", str(e, "execution"), str(e, "scenario"),
               str(e, "step"), att, str(e, "next_attempt_at"));
    }
    json_decref(a);
}

int cmd_resume(struct opts *o)
{
    if (o->nargs) {
        fprintf(stderr, "usage: scenarist resume [--org NAME]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int opened = cli_session_open(o, &s); /* a config error is a usage error (2), as everywhere */
    if (opened != EXIT_OK)
        return opened;
    struct engine e;
    int failed = 0, n = -1;
    struct sc_diags d;
    sc_diags_init(&d);
    if (engine_start(&e, &s) == 0)
        n = sc_runner_due(e.rn, &d, resumed, &failed);
    if (d.errors)
        sc_diags_print(&d, stderr);
    if (n < 0 && e.rn)
        fprintf(stderr, "scenarist: %s\n", sc_store_error(s.st));
    else if (n == 0)
        print_waiting(s.st);
    sc_diags_free(&d);
    engine_stop(&e);
    cli_session_close(&s);
    return n < 0 || failed ? EXIT_FAILED : EXIT_OK;
}

/* verify and checkpoint need the key: without one the chain proves nothing. */
static bool audit_key_present(const struct cli_session *s, const char *what)
{
    char err[600];
    if (sc_audit_org_keyed(s->org, what, err, sizeof err))
        return true;
    fprintf(stderr, "scenarist: %s\n", err);
    return false;
}

/* Reads a checkpoint file: new JSON, or NULL after saying why. */
static json_t *read_checkpoint(const char *path)
{
    json_error_t je;
    json_t *cp = json_load_file(path, 0, &je);
    if (!cp)
        fprintf(stderr, "scenarist: checkpoint %s:%d:%d: %s\n", path, je.line, je.column, je.text);
    return cp;
}

static int audit_checkpoint(struct opts *o, struct cli_session *s)
{
    char err[700];
    bool broken;
    json_t *cp = sc_audit_checkpoint_take(s->st, s->org, &broken, err, sizeof err);
    if (!cp) {
        fprintf(stderr, "scenarist: %s\n", err);
        return EXIT_FAILED;
    }
    int rc = EXIT_OK;
    if (o->output && sc_audit_write(cp, o->output, err, sizeof err) != 0) {
        fprintf(stderr, "scenarist: %s\n", err);
        rc = EXIT_FAILED;
    }
    if (rc == EXIT_OK && o->to) {
        const char *cpc = s->org->audit.cp_connection;
        const char *path = cpc && !strcmp(cpc, o->to) ? s->org->audit.cp_path : "";
        struct sc_http *http = sc_http_new();
        if (!http || sc_audit_post(http, s->org, o->to, path, cp, err, sizeof err) != 0) {
            fprintf(stderr, "scenarist: checkpoint not delivered: %s\n", http ? err : "out of memory");
            rc = EXIT_FAILED;
        }
        sc_http_free(http);
    }
    if (rc == EXIT_OK && !o->output && !o->to)
        cli_print_json(cp);
    else if (rc == EXIT_OK)
        fprintf(stderr, "checkpoint of org %s: %lld rows, at %s\n", s->org->name,
                (long long)json_integer_value(json_object_get(cp, "count")), str(cp, "at"));
    json_decref(cp);
    return rc;
}

/* What verify proved of a log whose first rows were archived (sc_store_audit_archived). */
static void audit_archived_say(const char *org, const json_t *cp, const char *file)
{
    long long through = (long long)json_integer_value(json_object_get(cp, "through"));
    if (file)
        printf("audit log of org %s: every row intact, rows 1 to %lld from archive %s and the "
               "rest in the store, one chain\n", org, through, file);
    else
        printf("audit log of org %s: every row intact from row %lld; rows before id %lld were "
               "archived to %s (checkpoint of %s, last hash %.16s...): verify them with "
               "--archive %s\n", org, through + 1, through + 1, str(cp, "file"), str(cp, "at"),
               str(cp, "last_hash"), str(cp, "file"));
}

static int audit_verify(struct opts *o, struct cli_session *s)
{
    json_t *cp = NULL, *problem = NULL;
    if (o->checkpoint && !(cp = read_checkpoint(o->checkpoint)))
        return EXIT_USAGE;
    int r = o->archive ? sc_store_audit_verify_archive(s->st, s->org->name, cp, o->archive,
                                                       &problem)
                       : sc_store_audit_verify(s->st, s->org->name, cp, &problem);
    json_decref(cp);
    json_t *archived = r == 0 ? sc_store_audit_archived(s->st) : NULL;
    if (r < 0) {
        fprintf(stderr, "scenarist: %s\n", sc_store_error(s->st));
        return EXIT_FAILED;
    }
    if (o->json) {
        json_t *out = json_pack("{s:b, s:O?}", "ok", !r, "problem", problem);
        cli_print_json(out);
        json_decref(out);
    }
    if (r == SC_STORE_REFUSED)
        fprintf(stderr, "scenarist: checkpoint %s %s\n", o->checkpoint, str(problem, "reason"));
    else if (r && json_object_get(problem, "row"))
        fprintf(stderr, "audit log of org %s: row %lld %s\n", s->org->name,
                (long long)json_integer_value(json_object_get(problem, "row")),
                str(problem, "reason"));
    else if (r)
        fprintf(stderr, "audit log of org %s: %s\n", s->org->name, str(problem, "reason"));
    else if (!o->json && archived)
        audit_archived_say(s->org->name, archived, o->archive);
    else if (!o->json && o->checkpoint)
        printf("audit log of org %s: every row intact, and every row of checkpoint %s still "
               "there\n", s->org->name, o->checkpoint);
    else if (!o->json)
        printf("audit log of org %s: every row intact\n", s->org->name);
    json_decref(problem);
    json_decref(archived);
    return r ? EXIT_FAILED : EXIT_OK;
}

int cmd_audit(struct opts *o)
{
    const char *sub = o->nargs == 1 ? o->args[0] : NULL;
    bool verify = sub && !strcmp(sub, "verify"), checkpoint = sub && !strcmp(sub, "checkpoint");
    if (o->nargs > 1 || (sub && !verify && !checkpoint) || (o->checkpoint && !verify) ||
        (o->archive && !verify) ||
        ((o->output || o->to) && !checkpoint)) {
        fprintf(stderr, "usage: scenarist audit [--scenario S] [--sent-to URL-PREFIX] "
                        "[--execution ID] [--json]\n"
                        "       scenarist audit verify [--checkpoint FILE] [--archive FILE] [--json]\n"
                        "       scenarist audit checkpoint [-o FILE] [--to CONNECTION]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int rc = cli_session_open(o, &s);
    if (rc != EXIT_OK)
        return rc;
    if ((verify || checkpoint) && !audit_key_present(&s, sub)) {
        cli_session_close(&s);
        return EXIT_USAGE;
    }
    rc = EXIT_OK;
    if (verify) {
        rc = audit_verify(o, &s);
    } else if (checkpoint) {
        rc = audit_checkpoint(o, &s);
    } else {
        struct sc_audit_filter f = {.scenario = o->scenario, .sent_to_prefix = o->sent_to,
                                    .execution = o->execution, .limit = o->limit};
        json_t *a = sc_store_audit_list(s.st, &f);
        if (!a)
            return cli_session_failed(&s);
        if (o->json)
            cli_print_json(a);
        else if (!json_array_size(a))
            printf("no audit rows\n");
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) {
            if (o->json)
                break;
            json_t *status = json_object_get(e, "status");
            char st[16] = "-";
            if (json_is_integer(status))
                snprintf(st, sizeof st, "%lld", (long long)json_integer_value(status));
            /* a person's action has no sent_from; by: the person a row is owed to */
            printf("%5lld %s %-20s %-16s %-7s %-4s %-8s %s  body %.12s%s%s%s%s\n",
                   (long long)json_integer_value(json_object_get(e, "id")), str(e, "at"),
                   str(e, "scenario"), str(e, "step"), str(e, "method"), st, str(e, "outcome"),
                   str(e, "sent_to"), str(e, "body_sha256"), *str(e, "sent_from") ? "  from " : "",
                   str(e, "sent_from"), json_object_get(e, "by") ? "  by " : "", str(e, "by"));
        }
        json_decref(a);
    }
    cli_session_close(&s);
    return rc;
}

static void print_metrics(const json_t *m, struct cli_session *s, const struct opts *o)
{
    const char *name;
    json_t *v;
    if (o->since)
        printf("since %s (--since %s)\n", str(m, "since"), o->since);
    printf("%-28s %10s %9s %8s %10s %6s %9s\n", "SCENARIO", "EXECUTIONS", "FAILURES",
           "RATE", "INCOMPLETE", "HOLDS", "HOLD RATE");
    json_object_foreach(json_object_get(m, "scenarios"), name, v) {
        printf("%-28s %10lld %9lld %7.1f%% %10lld %6lld %8.1f%%\n", name,
               (long long)json_integer_value(json_object_get(v, "executions")),
               (long long)json_integer_value(json_object_get(v, "failures")),
               100 * json_real_value(json_object_get(v, "failure_rate")),
               (long long)json_integer_value(json_object_get(v, "incomplete")),
               (long long)json_integer_value(json_object_get(v, "holds")),
               100 * json_real_value(json_object_get(v, "hold_rate")));
    }
    json_t *inc = json_object_get(m, "incomplete");
    printf("incomplete: %lld (%lld waiting for a retry, %lld for a person)\n",
           (long long)json_integer_value(json_object_get(inc, "total")),
           (long long)json_integer_value(json_object_get(inc, "pending")),
           (long long)json_integer_value(json_object_get(inc, "exhausted")));
    printf("holds pending: %lld\n",
           (long long)json_integer_value(json_object_get(json_object_get(m, "holds"), "pending")));
    if (o->since) { /* the window's open items only */
        json_object_foreach(json_object_get(m, "queues"), name, v)
            printf("queue %s: %lld open\n", name, (long long)json_integer_value(v));
    } else {
        json_t *depths = sc_store_queue_depths(s->st, sc_clock_now_ms() - 7LL * 86400000);
        json_object_foreach(depths, name, v)
            printf("queue %s: %lld open, %lld of them from the last 7 days\n", name,
                   (long long)json_integer_value(json_object_get(v, "open")),
                   (long long)json_integer_value(json_object_get(v, "recent")));
        json_decref(depths);
    }
    if (s->org->ntargets)
        printf("targets: %zu declared in org %s (scenarist metrics --check)\n",
               s->org->ntargets, s->org->name);
}

/* metrics --check: each target over its window (or --since), its value, ok or BREACHED.
 * EXIT_FAILED when one is breached, after naming them; -1 when the store failed. */
static int check_targets(struct cli_session *s, const struct opts *o, int64_t since)
{
    const struct sc_org *org = s->org;
    if (!org->ntargets) {
        printf("org %s declares no targets\n", org->name);
        return EXIT_OK;
    }
    json_t *out = json_array(), *breached = json_array();
    char start[40];
    sc_clock_iso(since, start, sizeof start);
    if (!o->json && o->since)
        printf("since %s (--since %s)\n", start, o->since);
    if (!o->json)
        printf("%-24s %-13s %-32s %-7s %8s  %-14s %s\n", "TARGET", "METRIC", "SCOPE", "WINDOW",
               "VALUE", "WANT", "RESULT");
    for (size_t i = 0; i < org->ntargets; i++) {
        const struct sc_org_target *t = &org->targets[i];
        int64_t from = o->since ? since : sc_clock_now_ms() - t->window_ms;
        json_t *m = sc_targets_figures(s->st, t, from);
        if (!m) {
            json_decref(out);
            json_decref(breached);
            return -1;
        }
        double value = sc_org_target_value(t, m);
        bool ok = sc_org_target_ok(t, value);
        json_decref(m);
        char val[32], want[64], scope[300], window[64];
        sc_org_target_format(t, value, val, sizeof val);
        sc_org_target_want(t, want, sizeof want);
        sc_org_target_scope(t, scope, sizeof scope);
        snprintf(window, sizeof window, "%s",
                 o->since && t->metric != SC_TM_QUEUE_DEPTH ? "--since" : t->window);
        if (!ok)
            json_array_append_new(breached, json_string(t->name));
        if (o->json)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:f, s:s, s:s, s:b}",
                                                 "target", t->name, "metric", t->metric_name,
                                                 "scope", scope, "window", window, "value",
                                                 value, "shown", val, "want", want, "ok", ok));
        else
            printf("%-24s %-13s %-32s %-7s %8s  %-14s %s\n", t->name, t->metric_name, scope,
                   window, val, want, ok ? "ok" : "BREACHED");
    }
    if (o->json) {
        cli_print_json(out);
    } else if (json_array_size(breached)) {
        printf("%zu of %zu targets breached:", json_array_size(breached), org->ntargets);
        size_t i;
        json_t *n;
        json_array_foreach(breached, i, n) printf("%s %s", i ? "," : "", json_string_value(n));
        printf("\n");
    } else {
        printf("all %zu targets met\n", org->ntargets);
    }
    int rc = json_array_size(breached) ? EXIT_FAILED : EXIT_OK;
    json_decref(out);
    json_decref(breached);
    return rc;
}

int cmd_metrics(struct opts *o)
{
    int64_t since;
    if (o->nargs || since_ms(o->since, &since) != 0) {
        if (o->nargs)
            fprintf(stderr, "usage: scenarist metrics [--since T] [--check] [--org NAME] "
                            "[--json]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int opened = cli_session_open(o, &s); /* a config error is a usage error (2), as everywhere */
    if (opened != EXIT_OK)
        return opened;
    int rc = EXIT_OK;
    if (o->check) {
        if ((rc = check_targets(&s, o, since)) < 0)
            return cli_session_failed(&s);
    } else {
        json_t *m = sc_store_metrics(s.st, since);
        if (!m)
            return cli_session_failed(&s);
        if (o->json)
            cli_print_json(m);
        else
            print_metrics(m, &s, o);
        json_decref(m);
    }
    cli_session_close(&s);
    return rc;
}

/* ---- holds ---- */

static void print_hold(const json_t *h, bool full)
{
    printf("%-4lld %-10s %-22s %-24s %s\n", (long long)json_integer_value(json_object_get(h, "id")),
           str(h, "state"), str(h, "scenario"), str(h, "execution"), str(h, "reason"));
    if (!full)
        return;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(h, "diff"), i, d) {
        char *l = json_dumps(json_object_get(d, "left"), JSON_ENCODE_ANY | JSON_COMPACT);
        char *r = json_dumps(json_object_get(d, "right"), JSON_ENCODE_ANY | JSON_COMPACT);
        printf("       %-16s %s -> %s  (%s)\n", str(d, "field"), l ? l : "null", r ? r : "null",
               str(d, "rule"));
        free(l);
        free(r);
    }
    if (json_object_get(h, "decided_by"))
        printf("       %s by %s at %s\n", str(h, "state"), str(h, "decided_by"), str(h, "decided_at"));
}

static int64_t id_arg(const char *s)
{
    char *end;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return s && !*end && v > 0 ? v : -1;
}

/* holds approve|reject: the decision recorded once (who, when, why); an approval handed
 * to the daemon (or run --here), a rejection ending the execution in the same transaction. */
static int decide_hold(struct opts *o, struct cli_session *s, const json_t *h, int64_t id,
                       bool approve)
{
    const char *exec = str(h, "execution");
    if (strcmp(str(h, "state"), "pending")) { /* a decision is recorded once */
        fprintf(stderr, "scenarist: hold %lld was already %s by %s at %s: a decision is recorded "
                "once\n", (long long)id, str(h, "state"), str(h, "decided_by"), str(h, "decided_at"));
        return EXIT_FAILED;
    }
    struct sc_decision_row r = {.execution = exec, .action = approve ? "approve" : "reject",
                                .hold = id, .by = who(), .reason = o->message, .here = o->here};
    char msg[600];
    snprintf(msg, sizeof msg, "rejected by %s%s%s (hold %lld: %s)", who(), o->message ? ": " : "",
             o->message ? o->message : "", (long long)id, str(h, "reason"));
    json_t *summary = approve ? NULL
                              : json_pack("{s:{s:s, s:s, s:s}}", "error", "kind", "data", "message",
                                          msg, "step", str(h, "step"));
    int64_t did = -1;
    /* the decision, and for a rejection the execution's end (nothing of it runs), at once */
    int d = sc_store_tx_begin(s->st) != 0 ? SC_STORE_ERR : sc_store_decision_add(s->st, &r, &did);
    if (d == SC_STORE_OK && !approve &&
        (sc_store_incomplete_close(s->st, exec, "rejected", who()) < 0 ||
         sc_store_exec_end(s->st, exec, "error", 0, summary, true) != 0))
        d = SC_STORE_ERR;
    char object[64];
    snprintf(object, sizeof object, "holds/%lld", (long long)id);
    if (d == SC_STORE_OK && person_act(s, r.action, object, h, o->message) != 0)
        d = SC_STORE_ERR;
    if (d == SC_STORE_OK && sc_store_tx_commit(s->st) != 0)
        d = SC_STORE_ERR; /* it rolled back */
    if (d != SC_STORE_OK) {
        sc_store_tx_rollback(s->st);
        json_decref(summary);
        if (d == SC_STORE_ERR) {
            fprintf(stderr, "scenarist: %s\n", sc_store_error(s->st));
            return EXIT_FAILED;
        }
        json_t *now = sc_store_hold(s->st, id); /* decided meanwhile by someone else */
        fprintf(stderr, "scenarist: hold %lld was already %s by %s at %s: a decision is recorded "
                "once\n", (long long)id, str(now, "state"), str(now, "decided_by"),
                str(now, "decided_at"));
        json_decref(now);
        return EXIT_FAILED;
    }
    json_decref(summary);
    if (approve) { /* the execution goes on from the hold, where the secrets are */
        char lead[300];
        snprintf(lead, sizeof lead, "hold %lld approved by %s%s%s", (long long)id, who(),
                 o->message ? ": " : "", o->message ? o->message : "");
        if (o->here)
            return run_here(s, exec, did, lead);
        printf("%s\n", lead);
        return handed(o, s, exec, did);
    }
    printf("hold %lld rejected by %s; execution %s ends: %s\n", (long long)id, who(), exec, msg);
    return EXIT_OK;
}

int cmd_holds(struct opts *o)
{
    const char *sub = o->nargs ? o->args[0] : "list";
    bool list = !strcmp(sub, "list");
    int64_t id = o->nargs == 2 ? id_arg(o->args[1]) : -1;
    bool how = o->here || o->wait; /* one of them, and only where something runs */
    if ((list && o->nargs > 1) || (!list && (id < 0 || (strcmp(sub, "show") && strcmp(sub, "approve") &&
                                                        strcmp(sub, "reject")))) ||
        (o->here && o->wait) || (how && strcmp(sub, "approve"))) {
        fprintf(stderr, "usage: scenarist holds list|show ID|approve ID [--wait|--here]|reject ID "
                        "[-m REASON] [--org NAME] [--json]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int opened = cli_session_open(o, &s); /* a config error is a usage error (2), as everywhere */
    if (opened != EXIT_OK)
        return opened;
    int rc = EXIT_OK;
    if (list) {
        json_t *a = sc_store_holds(s.st, o->status ? o->status : "pending");
        if (!a)
            return cli_session_failed(&s);
        if (o->json)
            cli_print_json(a);
        else if (!json_array_size(a))
            printf("no %s holds\n", o->status ? o->status : "pending");
        size_t i;
        json_t *h;
        json_array_foreach(a, i, h) if (!o->json) print_hold(h, true);
        json_decref(a);
        cli_session_close(&s);
        return rc;
    }
    json_t *h = sc_store_hold(s.st, id);
    if (!h && !sc_store_error(s.st)[0]) { /* none; an error is the store's (exit 1 both) */
        fprintf(stderr, "scenarist: no hold %lld\n", (long long)id);
        cli_session_close(&s);
        return EXIT_FAILED;
    }
    if (!h)
        return cli_session_failed(&s);
    if (!strcmp(sub, "show")) {
        json_t *ds = sc_store_decisions(s.st, str(h, "execution")), *dv;
        size_t k;
        if (o->json) {
            json_t *mine = json_array();
            json_array_foreach(ds, k, dv) if (json_integer_value(json_object_get(dv, "hold")) == id)
                json_array_append(mine, dv);
            json_object_set_new(h, "decisions", mine);
            cli_print_json(h);
        } else {
            print_hold(h, true);
        }
        json_array_foreach(ds, k, dv) if (!o->json && json_integer_value(json_object_get(dv, "hold")) == id)
            print_decision(dv, "       ");
        json_decref(ds);
        json_decref(h);
        cli_session_close(&s);
        return rc;
    }
    rc = decide_hold(o, &s, h, id, !strcmp(sub, "approve"));
    json_decref(h);
    cli_session_close(&s);
    return rc;
}

/* ---- queues ---- */

/* queue resolve ID [--note TEXT] (-m too): the item closed under the person's name with
 * their note, and its audit row, at once. EXIT_OK, EXIT_FAILED (not open), -1 (the store). */
static int resolve_item(const struct opts *o, struct cli_session *s, int64_t id)
{
    const char *note = o->note ? o->note : o->message;
    if (note && !*note)
        note = NULL;
    json_t *e = sc_store_queue_item(s->st, id);
    char object[300];
    snprintf(object, sizeof object, "queues/%s/items/%lld", str(e, "queue"), (long long)id);
    int r = !e ? (sc_store_error(s->st)[0] ? SC_STORE_ERR : SC_STORE_NONE) /* down: not "none" */
            : sc_store_tx_begin(s->st) != 0 ? SC_STORE_ERR
            : sc_store_queue_resolve(s->st, id, who(), note);
    if (e && r == SC_STORE_OK && person_act(s, "resolve", object, e, note) != 0)
        r = SC_STORE_ERR;
    if (e && r == SC_STORE_OK && sc_store_tx_commit(s->st) != 0)
        r = SC_STORE_ERR;
    if (e && r != SC_STORE_OK)
        sc_store_tx_rollback(s->st);
    json_decref(e);
    if (r == SC_STORE_ERR)
        return -1;
    if (r != SC_STORE_OK) {
        fprintf(stderr, "scenarist: queue item %lld is not open\n", (long long)id);
        return EXIT_FAILED;
    }
    printf("queue item %lld resolved by %s%s%s\n", (long long)id, who(), note ? ": " : "",
           note ? note : "");
    return EXIT_OK;
}

int cmd_queue(struct opts *o)
{
    const char *sub = o->nargs ? o->args[0] : "list";
    bool list = !strcmp(sub, "list");
    int64_t id = !list && o->nargs == 2 ? id_arg(o->args[1]) : -1;
    if ((list && o->nargs > 2) || (!list && (id < 0 || (strcmp(sub, "show") && strcmp(sub, "resolve"))))) {
        fprintf(stderr, "usage: scenarist queue list [NAME]|show ID|resolve ID [--note TEXT] "
                        "[--org NAME] [--json]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int opened = cli_session_open(o, &s); /* a config error is a usage error (2), as everywhere */
    if (opened != EXIT_OK)
        return opened;
    int rc = EXIT_OK;
    if (list && o->nargs < 2) { /* the queues and their depths */
        json_t *q = sc_store_queue_depths(s.st, sc_clock_now_ms() - 7LL * 86400000);
        if (!q)
            return cli_session_failed(&s);
        if (o->json)
            cli_print_json(q);
        else if (!json_object_size(q))
            printf("every queue is empty\n");
        const char *k;
        json_t *v;
        json_object_foreach(q, k, v) if (!o->json)
            printf("%-24s %4lld open (%lld in the last 7 days)\n", k,
                   (long long)json_integer_value(json_object_get(v, "open")),
                   (long long)json_integer_value(json_object_get(v, "recent")));
        json_decref(q);
    } else if (list) {
        json_t *a = sc_store_queue_items(s.st, o->args[1], o->status ? o->status : "open", o->limit);
        if (!a)
            return cli_session_failed(&s);
        if (o->json)
            cli_print_json(a);
        else if (!json_array_size(a))
            printf("queue %s has no %s items\n", o->args[1], o->status ? o->status : "open");
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) if (!o->json) {
            char *item = json_dumps(json_object_get(e, "item"), JSON_COMPACT | JSON_ENCODE_ANY);
            printf("%-5lld %s  ", (long long)json_integer_value(json_object_get(e, "id")),
                   str(e, "created_at"));
            if (json_object_get(e, "key")) /* a converging item: how often runs saw it */
                printf("%s  seen %lld time%s, last %s  ", str(e, "key"),
                       (long long)json_integer_value(json_object_get(e, "times_seen")),
                       json_integer_value(json_object_get(e, "times_seen")) == 1 ? "" : "s",
                       str(e, "last_seen"));
            if (json_object_get(e, "resolution"))
                printf("%s  ", str(e, "resolution"));
            if (json_object_get(e, "done_by")) /* closed: by whom, when, with what note */
                printf("%s by %s at %s%s%s  ", str(e, "state"), str(e, "done_by"),
                       str(e, "done_at"), json_object_get(e, "note") ? ": " : "",
                       str(e, "note"));
            printf("%s\n", item ? item : "");
            free(item);
        }
        json_decref(a);
    } else if (!strcmp(sub, "show")) {
        json_t *e = sc_store_queue_item(s.st, id);
        if (!e && !sc_store_error(s.st)[0]) {
            fprintf(stderr, "scenarist: no queue item %lld\n", (long long)id);
            cli_session_close(&s);
            return EXIT_FAILED;
        }
        if (!e)
            return cli_session_failed(&s);
        cli_print_json(e);
        json_decref(e);
    } else {
        rc = resolve_item(o, &s, id);
        if (rc < 0)
            return cli_session_failed(&s);
    }
    cli_session_close(&s);
    return rc;
}
