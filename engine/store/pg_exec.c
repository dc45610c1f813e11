/* PostgreSQL store: executions, their leases, the heartbeat that renews them, and step
 * runs. A lease is what owns a running execution across daemons: another daemon takes it
 * over only once it has expired (exec_claim locks the row, so two cannot both). */
#include "store/exec_rows.h"
#include "store/pg.h"

#include "clock.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- leases ---- */

int pg_lease_renew(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    size_t n;
    char **ids;
    if (sc_store_live_ids(&ids, &n) != 0)
        return pg_err(st, "out of memory"), -1;
    /* each row on its own (no transaction): a renewal holds no row while it waits for
     * another, so it never deadlocks with a worker's batch ending the same executions */
    int rc = 0;
    int64_t until = sc_clock_now_ms() + sc_store_lease_ms();
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && ids[i])
            rc = pg_run(st, "renewing a lease", P_LEASE_RENEW, "isi", until, ids[i],
                        sc_store_owner());
        if (rc == 0 && ids[i]) /* a person's continuation running it: its take renewed too */
            rc = pg_run(st, "renewing a continuation", P_DEC_RENEW, "isi", sc_clock_now_ms(),
                        ids[i], sc_store_owner());
        free(ids[i]);
    }
    free(ids);
    return rc;
}

int pg_lease_drop(struct sc_store *base, int64_t who)
{
    struct pg_store *st = (struct pg_store *)base;
    if (who == sc_store_owner())
        return pg_err(st, "the leases of this process cannot be dropped by it"), -1;
    return pg_run(st, "dropping a stopped owner's leases", P_LEASE_DROP, "i", who);
}

/* ---- the heartbeat: a thread with a connection of its own renews the leases ---- */

/* One renewal of the heartbeat's, and the fold of the counters. It tries again at once
 * when one fails (heartbeat.c: every 200 ms while PostgreSQL is down), so the failure is
 * logged once, and the return once: not a line per try. */
static int renew(struct sc_store *conn)
{
    struct pg_store *st = (struct pg_store *)conn;
    if (sc_store_lease_renew(conn) == 0 && pg_fold_counters(st) == 0) {
        if (st->hb_failing)
            sc_log(SC_LOG_INFO, NULL, NULL, "the heartbeat renews this process's leases again");
        st->hb_failing = false;
        return 0;
    }
    if (!st->hb_failing)
        sc_log(SC_LOG_WARN, NULL, NULL, "the heartbeat cannot renew this process's leases: %s;"
               " trying again until the store answers", sc_store_error(conn));
    st->hb_failing = true;
    return -1;
}

int pg_heartbeat(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->hb)
        return 0;
    st->hb = sc_heartbeat_start(st->addr, st->key_ref, renew, NULL, NULL, st->err,
                                sizeof st->err);
    return st->hb ? 0 : -1;
}

/* ---- executions ---- */

enum sc_store_rc pg_exec_begin(struct sc_store *base, const struct sc_exec_row *r)
{
    struct pg_store *st = (struct pg_store *)base;
    if (sc_defer_refuse(st->defer, "recording a new execution"))
        return -1;
    size_t n;
    bool failed;
    void *trig = pg_dumped_blob(st, r->trigger, r->trigger_json, r->confidential, &n, &failed);
    if (failed)
        return -1;
    if (sc_store_live_add(r->id) != 0) {
        free(trig);
        return pg_err(st, "out of memory"), -1;
    }
    /* a taken id changes no row (ON CONFLICT): an enclosing transaction goes on */
    if (pg_run(st, "recording the execution", P_EXEC_BEGIN, "sssssiibii", r->id, r->scenario,
               r->org, r->version, r->source, (int64_t)r->confidential, sc_store_owner(), trig,
               n, r->started_ms, sc_clock_now_ms() + sc_store_lease_ms()) != 0) {
        sc_store_exec_release(r->id);
        return -1;
    }
    if (st->changes == 1)
        return SC_STORE_OK;
    sc_store_exec_release(r->id);
    return pg_err(st, "execution id %s is taken", r->id), SC_STORE_EXISTS;
}

/* Taken: running under a lease not yet expired (whoever holds it). */
static bool leased(const PGresult *r)
{
    return !strcmp(pg_text(r, 0, 0), "running") && !pg_null(r, 0, 2) &&
           pg_int(r, 0, 2) > sc_clock_now_ms();
}

/* Moved on since the caller read it, which on a shared store another daemon may do
 * between that read and this claim: it finished, or another attempt than the one before
 * `attempt` was taken (a sleep's end keeps its attempt). Such a claim is left alone. */
static bool moved_on(const PGresult *r, int attempt)
{
    const char *status = pg_text(r, 0, 0);
    int64_t have = pg_int(r, 0, 3);
    if (strcmp(status, "running") && strcmp(status, "warning") && strcmp(status, "sleeping") &&
        strcmp(status, "held"))
        return true;
    /* a sleep's end and a resume after a crash (left running) keep their attempt */
    return !strcmp(status, "sleeping") || !strcmp(status, "running")
               ? have != attempt && have != attempt - 1
               : have != attempt - 1;
}

enum sc_store_rc pg_exec_claim(struct sc_store *base, const char *id, int attempt, int64_t due_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_begin(st) != 0)
        return -1;
    PGresult *r;
    if (due_ms >= 0) { /* a scheduled retry: only while it is still due (not run meanwhile) */
        r = pg_q(st, P_INC_GET, "s", id);
        bool due = r && PQntuples(r) == 1 && !strcmp(pg_text(r, 0, 8), "pending") &&
                   pg_int(r, 0, 7) <= due_ms;
        PQclear(r);
        if (!due) {
            pg_rollback(st);
            return SC_STORE_BUSY;
        }
    }
    /* the row locked till the commit: two daemons taking over one expired lease queue here */
    if (!(r = pg_q(st, P_EXEC_OWNER, "s", id))) {
        pg_rollback(st);
        return -1;
    }
    bool found = PQntuples(r) == 1;
    bool taken = found && (leased(r) || moved_on(r, attempt));
    PQclear(r);
    if (!found || taken) {
        pg_rollback(st);
        if (!found)
            pg_err(st, "no execution %s", id);
        return found ? SC_STORE_BUSY : SC_STORE_ERR;
    }
    if (sc_store_live_add(id) != 0 ||
        pg_run(st, "claiming the execution", P_EXEC_CLAIM, "iiis", sc_store_owner(),
               (int64_t)attempt, sc_clock_now_ms() + sc_store_lease_ms(), id) != 0 ||
        pg_run(st, "marking interrupted steps", P_STEP_INTERRUPTED, "s", id) != 0 ||
        pg_commit(st) != 0) {
        pg_rollback(st);
        sc_store_exec_release(id);
        return -1;
    }
    return 0;
}

int pg_erase_resume_data(struct pg_store *st, const char *id)
{
    if (pg_run(st, "erasing resume states", P_EXEC_ERASE_STATES, "s", id) != 0)
        return -1;
    return pg_run(st, "erasing the trigger", P_EXEC_ERASE_TRIGGER, "s", id);
}

int pg_exec_end(struct sc_store *base, const char *id, const char *status,
                int64_t duration_ms, json_t *summary, bool states)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_exec_end(st->defer, id, status, duration_ms, summary, states);
    sc_store_exec_release(id);
    bool erase = strcmp(status, "warning") != 0 && strcmp(status, "held") != 0 &&
                 strcmp(status, "sleeping") != 0;
    states = states && erase;
    if (states && pg_begin(st) != 0)
        return -1;
    int rc = pg_run(st, "ending the execution", P_EXEC_END, "siijsi", status, sc_clock_now_ms(),
                    duration_ms, summary, id, (int64_t)erase);
    if (!states)
        return rc;
    if (rc == 0)
        rc = pg_run(st, "erasing resume states", P_EXEC_ERASE_STATES, "s", id);
    if (rc != 0 || pg_commit(st) != 0) {
        pg_rollback(st);
        return -1;
    }
    return 0;
}

/* Row r->row of a result as store/exec_rows.h reads it. */
static bool row_null(const struct sc_row *r, int col)
{
    return pg_null(r->res, r->row, col);
}

static int64_t row_num(const struct sc_row *r, int col)
{
    return pg_int(r->res, r->row, col);
}

static const char *row_text(const struct sc_row *r, int col)
{
    return pg_text(r->res, r->row, col);
}

static json_t *row_json(const struct sc_row *r, int col)
{
    return pg_json(r->res, r->row, col);
}

static json_t *row_value(const struct sc_row *r, int col)
{
    return pg_value((struct pg_store *)r->st, r->res, r->row, col);
}

static const struct sc_row_ops row_ops = {.null = row_null, .num = row_num, .text = row_text,
                                          .json = row_json, .value = row_value,
                                          .trigger = row_value};

static struct sc_row row_of(struct pg_store *st, const PGresult *s, int i)
{
    return (struct sc_row){.ops = &row_ops, .st = &st->base, .res = s, .row = i,
                           .err = st->err, .errlen = sizeof st->err};
}

/* Every row of r by shape (r cleared); NULL with the error set. */
static json_t *shaped_rows(struct pg_store *st, PGresult *r,
                           json_t *(*shape)(const struct sc_row *))
{
    if (!r)
        return NULL;
    json_t *a = json_array();
    for (int i = 0; a && i < PQntuples(r); i++) {
        struct sc_row row = row_of(st, r, i);
        json_array_append_new(a, shape(&row));
    }
    PQclear(r);
    if (!a)
        pg_err(st, "out of memory");
    return a;
}

json_t *pg_exec_get(struct sc_store *base, const char *id)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_EXEC_GET, "s", id);
    if (!s)
        return NULL;
    if (PQntuples(s) != 1) {
        PQclear(s);
        st->err[0] = '\0';
        return NULL;
    }
    json_t *broken;
    struct sc_row row = row_of(st, s, 0);
    json_t *v = sc_exec_record(&row, &broken);
    PQclear(s);
    json_t *steps = v ? shaped_rows(st, pg_q(st, P_EXEC_STEPS, "s", id), sc_exec_step) : NULL;
    if (!v || !steps) {
        json_decref(v);
        json_decref(steps);
        json_decref(broken);
        return NULL;
    }
    json_object_set_new(v, "steps", steps);
    if ((s = pg_q(st, P_INC_GET, "s", id))) {
        if (PQntuples(s) == 1)
            sc_exec_incomplete(v, pg_incomplete_row(s, 0), broken);
        PQclear(s);
    }
    json_decref(broken);
    return v;
}

/* As sc_exec_run_info (store/exec_rows.h), of row 0 of s. */
json_t *pg_run_info(struct pg_store *st, const PGresult *s, const char *id, const int col[7])
{
    struct sc_row row = row_of(st, s, 0);
    return sc_exec_run_info(&row, id, col);
}

json_t *pg_exec_resume_info(struct sc_store *base, const char *id)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_EXEC_GET, "s", id);
    if (!s)
        return NULL;
    if (PQntuples(s) != 1) {
        PQclear(s);
        pg_err(st, "no execution %s", id);
        return NULL;
    }
    static const int col[7] = {1, 3, 4, 5, 6, 7, 12};
    json_t *v = pg_run_info(st, s, id, col);
    PQclear(s);
    return v;
}

json_t *pg_exec_list(struct sc_store *base, const struct sc_exec_filter *f)
{
    struct pg_store *st = (struct pg_store *)base;
    return shaped_rows(st, pg_q(st, P_EXEC_LIST, "ssiisi", f->scenario, f->status, f->since_ms,
                                (int64_t)(f->limit > 0 ? f->limit : 100), f->before_id,
                                f->before_ms), sc_exec_listed);
}

json_t *pg_exec_abandoned(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_EXEC_RUNNING, "i", sc_clock_now_ms());
    json_t *a = s ? json_array() : NULL;
    /* one this process runs now is alive whatever its lease says */
    for (int i = 0; a && i < PQntuples(s); i++)
        if (!sc_store_live_has(pg_text(s, i, 0)))
            json_array_append_new(a, json_string(pg_text(s, i, 0)));
    PQclear(s);
    return a;
}

/* ---- step runs ---- */

int64_t pg_step_write(struct pg_store *st, int64_t run, const struct sc_step_row *r)
{
    size_t n;
    bool failed;
    void *state = pg_value_blob(st, r->state, r->confidential, &n, &failed);
    if (failed)
        return -1;
    if (run > 0)
        return pg_run(st, "recording a step", P_STEP_END, "sIijjbi", r->status, r->duration_ms,
                      (int64_t)r->bundles, r->output, r->error, state, n, run);
    PGresult *s = pg_q(st, P_STEP_BEGIN, "sissssiIijjb", r->execution, (int64_t)r->attempt,
                       r->step, r->module, r->bundle, r->status, r->started_ms, r->duration_ms,
                       (int64_t)r->bundles, r->output, r->error, state, n);
    if (!s)
        return -1;
    int64_t id = pg_int(s, 0, 0);
    PQclear(s);
    return id;
}

int64_t pg_step_begin(struct sc_store *base, const struct sc_step_row *r)
{
    struct pg_store *st = (struct pg_store *)base;
    return st->defer ? sc_defer_step(st->defer, 0, r) : pg_step_write(st, 0, r);
}

int pg_step_end(struct sc_store *base, int64_t run, const struct sc_step_row *r)
{
    struct pg_store *st = (struct pg_store *)base;
    return (st->defer ? sc_defer_step(st->defer, run, r) : pg_step_write(st, run, r)) < 0 ? -1 : 0;
}

int pg_step_state(struct sc_store *base, int64_t run, json_t *state, bool confidential)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_step_state(st->defer, run, state, confidential);
    size_t n;
    bool failed;
    void *b = pg_value_blob(st, state, confidential, &n, &failed);
    return failed ? -1 : pg_run(st, "recording a step", P_STEP_STATE, "bi", b, n, run);
}

json_t *pg_journal(struct sc_store *base, const char *execution)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_JOURNAL, "s", execution);
    json_t *j = s ? json_object() : NULL;
    for (int i = 0; j && i < PQntuples(s); i++) {
        struct sc_row row = row_of(st, s, i);
        if (sc_exec_journal_row(j, &row) != 0) {
            json_decref(j);
            j = NULL;
        }
    }
    PQclear(s);
    return j;
}
