/* PostgreSQL store: executions, their leases, the heartbeat that renews them, and step
 * runs. A lease is what owns a running execution across daemons: another daemon takes it
 * over only once it has expired (exec_claim locks the row, so two cannot both). */
#include "store/pg.h"

#include "clock.h"
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

struct pg_heartbeat {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct sc_store *conn;
};

static void *heartbeat_main(void *arg)
{
    struct pg_heartbeat *hb = arg;
    int64_t last = INT64_MIN;
    pthread_mutex_lock(&hb->mu);
    while (!hb->stop) {
        pthread_mutex_unlock(&hb->mu);
        int64_t now = sc_clock_now_ms(); /* renewed by the one clock: a test drives it */
        if (last == INT64_MIN || now - last >= sc_store_lease_ms() / 3 || now < last) {
            if (sc_store_lease_renew(hb->conn) != 0 ||
                pg_fold_counters((struct pg_store *)hb->conn) != 0)
                fprintf(stderr, "scenarist: %s\n", sc_store_error(hb->conn));
            else
                last = now;
        }
        pthread_mutex_lock(&hb->mu);
        struct timespec ts = sc_clock_deadline(200);
        if (!hb->stop)
            pthread_cond_timedwait(&hb->cv, &hb->mu, &ts);
    }
    pthread_mutex_unlock(&hb->mu);
    return NULL;
}

int pg_heartbeat(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->hb)
        return 0;
    char err[600];
    struct pg_heartbeat *hb = sc_calloc(1, sizeof *hb);
    if (!hb)
        return pg_err(st, "out of memory"), -1;
    if (!(hb->conn = sc_store_open(st->addr, st->key_ref, err, sizeof err))) {
        pg_err(st, "%s", err);
        free(hb);
        return -1;
    }
    pthread_mutex_init(&hb->mu, NULL);
    pthread_cond_init(&hb->cv, NULL);
    if (pthread_create(&hb->th, NULL, heartbeat_main, hb) != 0) {
        pg_err(st, "cannot start the lease heartbeat: %s", strerror(errno));
        sc_store_close(hb->conn);
        pthread_mutex_destroy(&hb->mu);
        pthread_cond_destroy(&hb->cv);
        free(hb);
        return -1;
    }
    st->hb = hb;
    return 0;
}

void pg_heartbeat_stop(struct pg_heartbeat *hb)
{
    if (!hb)
        return;
    pthread_mutex_lock(&hb->mu);
    hb->stop = true;
    pthread_cond_signal(&hb->cv);
    pthread_mutex_unlock(&hb->mu);
    pthread_join(hb->th, NULL);
    sc_store_close(hb->conn);
    pthread_mutex_destroy(&hb->mu);
    pthread_cond_destroy(&hb->cv);
    free(hb);
}

/* ---- executions ---- */

enum sc_store_rc pg_exec_begin(struct sc_store *base, const struct sc_exec_row *r)
{
    struct pg_store *st = (struct pg_store *)base;
    if (sc_defer_refuse(st->defer, "recording a new execution"))
        return -1;
    size_t n;
    bool failed;
    void *trig = pg_value_blob(st, r->trigger, r->confidential, &n, &failed);
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
    return !strcmp(status, "sleeping") ? have != attempt && have != attempt - 1
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

static json_t *step_json(const PGresult *s, int i)
{
    json_t *e = json_pack("{s:s, s:s}", "step", pg_text(s, i, 1), "module", pg_text(s, i, 2));
    if (!e)
        return NULL;
    if (*pg_text(s, i, 3))
        json_object_set_new(e, "bundle", json_string(pg_text(s, i, 3)));
    if (pg_int(s, i, 0) > 1)
        json_object_set_new(e, "attempt", json_integer(pg_int(s, i, 0)));
    json_object_set_new(e, "status", json_string(pg_text(s, i, 4)));
    if (!pg_null(s, i, 5))
        json_object_set_new(e, "duration_ms", json_integer(pg_int(s, i, 5)));
    if (!strcmp(pg_text(s, i, 4), "ok") && pg_null(s, i, 6)) /* fan-out */
        json_object_set_new(e, "bundles", json_integer(pg_int(s, i, 8)));
    json_t *out = pg_json(s, i, 6), *err = pg_json(s, i, 7);
    if (out)
        json_object_set_new(e, "output", out);
    if (err)
        json_object_set_new(e, "error", err);
    return e;
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
    bool confidential = pg_int(s, 0, 7);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o}", "id", pg_text(s, 0, 0),
                          "scenario", pg_text(s, 0, 1), "org", pg_text(s, 0, 2), "version",
                          pg_text(s, 0, 3), "source", pg_text(s, 0, 4), "status",
                          pg_text(s, 0, 5), "attempts", (int)pg_int(s, 0, 6), "started_at",
                          pg_iso(pg_int(s, 0, 8)));
    if (v && !pg_null(s, 0, 9))
        json_object_set_new(v, "finished_at", pg_iso(pg_int(s, 0, 9)));
    if (v && !pg_null(s, 0, 10))
        json_object_set_new(v, "duration_ms", json_integer(pg_int(s, 0, 10)));
    if (v && !pg_null(s, 0, 13))
        json_object_set_new(v, "queued_at", pg_iso(pg_int(s, 0, 13)));
    if (v && pg_int(s, 0, 14) > 0)
        json_object_set_new(v, "priority", json_string("realtime"));
    if (v && confidential)
        json_object_set_new(v, "trigger", json_string("[redacted: confidential scenario]"));
    else if (v && !pg_null(s, 0, 12))
        json_object_set_new(v, "trigger", pg_value(st, s, 0, 12));
    json_t *summary = pg_json(s, 0, 11);
    PQclear(s);
    json_t *broken = json_incref(json_object_get(summary, "incomplete"));
    json_object_del(summary, "incomplete");
    if (v && json_is_object(summary))
        json_object_update(v, summary);
    json_decref(summary);
    json_t *steps = v ? pg_rows(st, pg_q(st, P_EXEC_STEPS, "s", id), step_json) : NULL;
    if (!v || !steps) {
        json_decref(v);
        json_decref(steps);
        json_decref(broken);
        return NULL;
    }
    json_object_set_new(v, "steps", steps);
    if ((s = pg_q(st, P_INC_GET, "s", id))) {
        if (PQntuples(s) == 1) {
            json_t *inc = pg_incomplete_row(s, 0);
            json_object_del(inc, "execution");
            json_object_del(inc, "scenario");
            if (broken)
                json_object_set(inc, "bundles", broken);
            json_object_set_new(v, "incomplete", inc);
        }
        PQclear(s);
    }
    json_decref(broken);
    return v;
}

/* What an attempt needs, from columns scenario, version, source, status, attempts,
 * confidential, trigger at col[0..6] of row 0; NULL with the error set. */
json_t *pg_run_info(struct pg_store *st, const PGresult *s, const char *id, const int col[7])
{
    st->err[0] = '\0';
    bool erased = pg_null(s, 0, col[6]);
    json_t *trig = erased ? NULL : pg_value(st, s, 0, col[6]);
    json_t *v = trig ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:o}", "id", id,
                                 "scenario", pg_text(s, 0, col[0]), "version",
                                 pg_text(s, 0, col[1]), "source", pg_text(s, 0, col[2]),
                                 "status", pg_text(s, 0, col[3]), "attempts",
                                 (int)pg_int(s, 0, col[4]), "confidential",
                                 (int)pg_int(s, 0, col[5]), "trigger", trig)
                     : NULL;
    if (erased)
        pg_err(st, "execution %s has finished (%s): nothing is left to run", id,
               pg_text(s, 0, col[3]));
    else if (!trig && !st->err[0])
        pg_err(st, "execution %s: its stored trigger does not read back", id);
    return v;
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

static json_t *list_row(const PGresult *s, int i)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o}", "id", pg_text(s, i, 0), "scenario",
                          pg_text(s, i, 1), "version", pg_text(s, i, 2), "status",
                          pg_text(s, i, 3), "attempts", (int)pg_int(s, i, 4), "started_at",
                          pg_iso(pg_int(s, i, 5)));
    if (e && !pg_null(s, i, 6))
        json_object_set_new(e, "duration_ms", json_integer(pg_int(s, i, 6)));
    return e;
}

json_t *pg_exec_list(struct sc_store *base, const struct sc_exec_filter *f)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, P_EXEC_LIST, "ssiisi", f->scenario, f->status, f->since_ms,
                            (int64_t)(f->limit > 0 ? f->limit : 100), f->before_id,
                            f->before_ms), list_row);
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
        json_t *v = pg_value(st, s, i, 2);
        char key[600];
        snprintf(key, sizeof key, "%s %s", pg_text(s, i, 0), pg_text(s, i, 1));
        if (!v || json_object_set_new(j, key, v) != 0) {
            json_decref(j);
            j = NULL;
        }
    }
    PQclear(s);
    return j;
}
