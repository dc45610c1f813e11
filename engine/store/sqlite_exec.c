/* SQLite store: executions, their leases, the heartbeat that renews them, and step runs. */
#include "store/sqlite.h"

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- executions ---- */

int sq_lease_renew(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    size_t n;
    char **ids;
    if (sc_store_live_ids(&ids, &n) != 0)
        return sq_err(st, "out of memory"), -1;
    int rc = n ? sq_begin(st) : 0;
    int64_t until = sc_clock_now_ms() + sc_store_lease_ms();
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && ids[i])
            rc = sq_exec(st, sq_q(st, Q_LEASE_RENEW, "isi", until, ids[i], sc_store_owner()),
                         "renewing a lease");
        free(ids[i]);
    }
    free(ids);
    if (n && (rc != 0 || sq_commit(st) != 0)) {
        sq_rollback(st);
        return -1;
    }
    return 0;
}

int sq_lease_drop(struct sc_store *base, int64_t who)
{
    struct sq_store *st = (struct sq_store *)base;
    if (who == sc_store_owner())
        return sq_err(st, "the leases of this process cannot be dropped by it"), -1;
    return sq_exec(st, sq_q(st, Q_LEASE_DROP, "i", who), "dropping a stopped owner's leases");
}

/* ---- the heartbeat: a thread with a connection of its own renews the leases ---- */

struct heartbeat {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct sc_store *conn;
};

static void *heartbeat_main(void *arg)
{
    struct heartbeat *hb = arg;
    int64_t last = INT64_MIN;
    pthread_mutex_lock(&hb->mu);
    while (!hb->stop) {
        pthread_mutex_unlock(&hb->mu);
        int64_t now = sc_clock_now_ms(); /* renewed by the one clock: a test drives it */
        if (last == INT64_MIN || now - last >= sc_store_lease_ms() / 3 || now < last) {
            if (sc_store_lease_renew(hb->conn) != 0)
                sc_log(SC_LOG_ERROR, NULL, NULL, "%s", sc_store_error(hb->conn));
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

int sq_heartbeat(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->hb)
        return 0;
    char err[600];
    struct heartbeat *hb = sc_calloc(1, sizeof *hb);
    if (!hb)
        return sq_err(st, "out of memory"), -1;
    if (!(hb->conn = sc_store_open(st->path, st->key_ref, err, sizeof err))) {
        sq_err(st, "%s", err);
        free(hb);
        return -1;
    }
    /* its renewals take their turn with the daemon's other writes: polling for the lock
     * beside them, it could miss every gap between their turns */
    sq_turns(hb->conn, st->take, st->give, st->turns);
    pthread_mutex_init(&hb->mu, NULL);
    pthread_cond_init(&hb->cv, NULL);
    if (pthread_create(&hb->th, NULL, heartbeat_main, hb) != 0) {
        sq_err(st, "cannot start the lease heartbeat: %s", strerror(errno));
        sc_store_close(hb->conn);
        pthread_mutex_destroy(&hb->mu);
        pthread_cond_destroy(&hb->cv);
        free(hb);
        return -1;
    }
    st->hb = hb;
    return 0;
}

void sq_heartbeat_stop(struct heartbeat *hb)
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

/* Taken: running under a lease not yet expired (whoever holds it), from the columns
 * status, owner, lease_until at status_col and after. */
bool sq_leased(sqlite3_stmt *s, int status_col)
{
    return !strcmp(sq_text(s, status_col), "running") &&
           sqlite3_column_type(s, status_col + 2) != SQLITE_NULL &&
           sqlite3_column_int64(s, status_col + 2) > sc_clock_now_ms();
}

enum sc_store_rc sq_exec_begin(struct sc_store *base, const struct sc_exec_row *r)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sq_defer_refuse(st, "recording a new execution"))
        return -1;
    size_t n;
    bool failed;
    void *trig = sq_value_blob(st, r->trigger, r->confidential, &n, &failed);
    if (failed)
        return -1;
    sqlite3_stmt *s = sq_q(st, Q_EXEC_BEGIN, "sssssiibii", r->id, r->scenario, r->org, r->version,
                           r->source, (int64_t)r->confidential, sc_store_owner(), trig, n, r->started_ms,
                           sc_clock_now_ms() + sc_store_lease_ms());
    if (!s)
        return -1;
    if (sc_store_live_add(r->id) != 0) {
        sq_done(s);
        return sq_err(st, "out of memory"), -1;
    }
    int rc = sq_step(st, s);
    sq_done(s);
    if (rc == SQLITE_DONE)
        return 0;
    sc_store_exec_release(r->id);
    if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
        return sq_err(st, "execution id %s is taken", r->id), SC_STORE_EXISTS;
    return sq_db_err(st, "recording the execution");
}

enum sc_store_rc sq_exec_claim(struct sc_store *base, const char *id, int attempt, int64_t due_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sq_begin(st) != 0)
        return -1;
    if (due_ms >= 0) { /* a scheduled retry: only while it is still due (not run meanwhile) */
        sqlite3_stmt *d = sq_q(st, Q_INC_GET, "s", id);
        bool due = d && sq_step(st, d) == SQLITE_ROW && !strcmp(sq_text(d, 8), "pending") &&
                   sqlite3_column_int64(d, 7) <= due_ms;
        if (d)
            sq_done(d);
        if (!due) {
            sq_rollback(st);
            return SC_STORE_BUSY;
        }
    }
    sqlite3_stmt *s = sq_q(st, Q_EXEC_OWNER, "s", id);
    if (!s) {
        sq_rollback(st);
        return -1;
    }
    int rc = sq_step(st, s);
    bool found = rc == SQLITE_ROW;
    bool taken = found && sq_leased(s, 0);
    sq_done(s);
    if (!found || taken) {
        sq_rollback(st);
        if (!found)
            sq_err(st, "no execution %s", id);
        return found ? SC_STORE_BUSY : SC_STORE_ERR;
    }
    if (sc_store_live_add(id) != 0 ||
        sq_exec(st, sq_q(st, Q_EXEC_CLAIM, "iiis", sc_store_owner(), (int64_t)attempt,
                         sc_clock_now_ms() + sc_store_lease_ms(), id), "claiming the execution") != 0 ||
        sq_commit(st) != 0) {
        sq_rollback(st);
        sc_store_exec_release(id);
        return -1;
    }
    return 0;
}

/* Drops what only a further attempt would need: the resume states, and a
 * confidential execution's sealed trigger. */
int sq_erase_resume_data(struct sq_store *st, const char *id)
{
    if (sq_exec(st, sq_q(st, Q_EXEC_ERASE_STATES, "s", id), "erasing resume states") != 0)
        return -1;
    return sq_exec(st, sq_q(st, Q_EXEC_ERASE_TRIGGER, "s", id), "erasing the trigger");
}

int sq_exec_end(struct sc_store *base, const char *id, const char *status,
                int64_t duration_ms, json_t *summary, bool states)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sq_defer_exec_end(st, id, status, duration_ms, summary, states);
    sc_store_exec_release(id); /* recorded or not, this attempt is over: no more renewals */
    /* a held one may go on, a warning may be retried, a sleeping one wakes: they keep what
     * resumes them */
    bool erase = strcmp(status, "warning") != 0 && strcmp(status, "held") != 0 &&
                 strcmp(status, "sleeping") != 0;
    states = states && erase;
    if (states && sq_begin(st) != 0)
        return -1;
    int rc = sq_exec(st, sq_q(st, Q_EXEC_END, "siijsi", status, sc_clock_now_ms(), duration_ms,
                              summary, id, (int64_t)erase), "ending the execution");
    if (!states) /* one statement: the trigger goes with the end */
        return rc;
    if (rc == 0)
        rc = sq_exec(st, sq_q(st, Q_EXEC_ERASE_STATES, "s", id), "erasing resume states");
    if (rc != 0 || sq_commit(st) != 0) {
        sq_rollback(st);
        return -1;
    }
    return 0;
}


json_t *sq_exec_get(struct sc_store *base, const char *id)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_EXEC_GET, "s", id);
    if (!s)
        return NULL;
    if (sq_step(st, s) != SQLITE_ROW) {
        sq_done(s);
        st->err[0] = '\0';
        return NULL;
    }
    bool confidential = sqlite3_column_int(s, 7);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o}", "id", sq_text(s, 0),
                          "scenario", sq_text(s, 1), "org", sq_text(s, 2), "version",
                          sq_text(s, 3), "source", sq_text(s, 4), "status", sq_text(s, 5),
                          "attempts", sqlite3_column_int(s, 6), "started_at",
                          sq_iso(sqlite3_column_int64(s, 8)));
    if (v && sqlite3_column_type(s, 9) != SQLITE_NULL)
        json_object_set_new(v, "finished_at", sq_iso(sqlite3_column_int64(s, 9)));
    if (v && sqlite3_column_type(s, 10) != SQLITE_NULL)
        json_object_set_new(v, "duration_ms", json_integer(sqlite3_column_int64(s, 10)));
    if (v && sqlite3_column_type(s, 13) != SQLITE_NULL)
        json_object_set_new(v, "queued_at", sq_iso(sqlite3_column_int64(s, 13)));
    if (v && sqlite3_column_int(s, 14) > 0)
        json_object_set_new(v, "priority", json_string("realtime"));
    if (v && confidential)
        json_object_set_new(v, "trigger", json_string("[redacted: confidential scenario]"));
    else if (v && sqlite3_column_type(s, 12) != SQLITE_NULL)
        json_object_set_new(v, "trigger", sq_json(s, 12));
    json_t *summary = sq_json(s, 11);
    sq_done(s);
    json_t *broken = json_incref(json_object_get(summary, "incomplete"));
    json_object_del(summary, "incomplete");
    if (v && json_is_object(summary))
        json_object_update(v, summary);
    json_decref(summary);
    json_t *steps = json_array();
    if (!v || !steps || !(s = sq_q(st, Q_EXEC_STEPS, "s", id))) {
        json_decref(v);
        json_decref(steps);
        json_decref(broken);
        return NULL;
    }
    while (sq_step(st, s) == SQLITE_ROW) {
        json_t *e = json_pack("{s:s, s:s}", "step", sq_text(s, 1), "module", sq_text(s, 2));
        if (!e)
            break;
        if (*sq_text(s, 3))
            json_object_set_new(e, "bundle", json_string(sq_text(s, 3)));
        if (sqlite3_column_int(s, 0) > 1)
            json_object_set_new(e, "attempt", json_integer(sqlite3_column_int(s, 0)));
        json_object_set_new(e, "status", json_string(sq_text(s, 4)));
        if (sqlite3_column_type(s, 5) != SQLITE_NULL)
            json_object_set_new(e, "duration_ms", json_integer(sqlite3_column_int64(s, 5)));
        if (!strcmp(sq_text(s, 4), "ok") && sqlite3_column_type(s, 6) == SQLITE_NULL) /* fan-out */
            json_object_set_new(e, "bundles", json_integer(sqlite3_column_int64(s, 8)));
        json_t *out = sq_json(s, 6), *err = sq_json(s, 7);
        if (out)
            json_object_set_new(e, "output", out);
        if (err)
            json_object_set_new(e, "error", err);
        json_array_append_new(steps, e);
    }
    sq_done(s);
    json_object_set_new(v, "steps", steps);
    if ((s = sq_q(st, Q_INC_GET, "s", id))) {
        if (sq_step(st, s) == SQLITE_ROW) {
            json_t *inc = sq_incomplete_row(s);
            json_object_del(inc, "execution");
            json_object_del(inc, "scenario");
            if (broken) /* the bundles the last attempt stopped at */
                json_object_set(inc, "bundles", broken);
            json_object_set_new(v, "incomplete", inc);
        }
        sq_done(s);
    }
    json_decref(broken);
    return v;
}

/* What an attempt needs, from columns scenario, version, source, status, attempts,
 * confidential, trigger at col[0..6]; NULL with the error set. */
json_t *sq_run_info(struct sq_store *st, sqlite3_stmt *s, const char *id, const int col[7])
{
    st->err[0] = '\0';
    bool erased = sqlite3_column_type(s, col[6]) == SQLITE_NULL;
    json_t *trig = erased ? NULL : sq_value(st, s, col[6]);
    json_t *v = trig ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:o}", "id", id,
                                 "scenario", sq_text(s, col[0]), "version", sq_text(s, col[1]),
                                 "source", sq_text(s, col[2]), "status", sq_text(s, col[3]),
                                 "attempts", sqlite3_column_int(s, col[4]), "confidential",
                                 sqlite3_column_int(s, col[5]), "trigger", trig)
                     : NULL;
    if (erased)
        sq_err(st, "execution %s has finished (%s): nothing is left to run", id,
               sq_text(s, col[3]));
    else if (!trig && !st->err[0])
        sq_err(st, "execution %s: its stored trigger does not read back", id);
    return v;
}

json_t *sq_exec_resume_info(struct sc_store *base, const char *id)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_EXEC_GET, "s", id);
    if (!s)
        return NULL;
    if (sq_step(st, s) != SQLITE_ROW) {
        sq_done(s);
        sq_err(st, "no execution %s", id);
        return NULL;
    }
    static const int col[7] = {1, 3, 4, 5, 6, 7, 12};
    json_t *v = sq_run_info(st, s, id, col);
    sq_done(s);
    return v;
}

json_t *sq_exec_list(struct sc_store *base, const struct sc_exec_filter *f)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_EXEC_LIST, "ssiisi", f->scenario, f->status, f->since_ms,
                           (int64_t)(f->limit > 0 ? f->limit : 100), f->before_id, f->before_ms);
    if (!s)
        return NULL;
    json_t *a = json_array();
    while (a && sq_step(st, s) == SQLITE_ROW) {
        json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o}", "id", sq_text(s, 0), "scenario",
                              sq_text(s, 1), "version", sq_text(s, 2), "status",
                              sq_text(s, 3), "attempts", sqlite3_column_int(s, 4),
                              "started_at", sq_iso(sqlite3_column_int64(s, 5)));
        if (e && sqlite3_column_type(s, 6) != SQLITE_NULL)
            json_object_set_new(e, "duration_ms", json_integer(sqlite3_column_int64(s, 6)));
        json_array_append_new(a, e);
    }
    sq_done(s);
    return a;
}

json_t *sq_exec_abandoned(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_EXEC_RUNNING, "i", sc_clock_now_ms());
    json_t *a = s ? json_array() : NULL;
    /* one this process runs now is alive whatever its lease says: a clock that jumps (the
     * test clock) between a renewal and this read must not hand it to a second runner */
    while (a && sq_step(st, s) == SQLITE_ROW)
        if (!sc_store_live_has(sq_text(s, 0)))
            json_array_append_new(a, json_string(sq_text(s, 0)));
    if (s)
        sq_done(s);
    return a;
}

/* ---- step runs ---- */

int64_t sq_step_write(struct sq_store *st, int64_t run, const struct sc_step_row *r)
{
    size_t n;
    bool failed;
    void *state = sq_value_blob(st, r->state, r->confidential, &n, &failed);
    if (failed)
        return -1;
    if (run > 0)
        return sq_exec(st, sq_q(st, Q_STEP_END, "sIijjbi", r->status, r->duration_ms,
                                (int64_t)r->bundles, r->output, r->error, state, n, run),
                         "recording a step");
    sqlite3_stmt *s = sq_q(st, Q_STEP_BEGIN, "sissssiIijjb", r->execution, (int64_t)r->attempt,
                           r->step, r->module, r->bundle, r->status, r->started_ms,
                           r->duration_ms, (int64_t)r->bundles, r->output, r->error, state, n);
    if (sq_exec(st, s, "recording a step") != 0)
        return -1;
    return sqlite3_last_insert_rowid(st->db);
}

int64_t sq_step_begin(struct sc_store *base, const struct sc_step_row *r)
{
    struct sq_store *st = (struct sq_store *)base;
    return st->defer ? sq_defer_step(st, 0, r) : sq_step_write(st, 0, r);
}

int sq_step_end(struct sc_store *base, int64_t run, const struct sc_step_row *r)
{
    struct sq_store *st = (struct sq_store *)base;
    return (st->defer ? sq_defer_step(st, run, r) : sq_step_write(st, run, r)) < 0 ? -1 : 0;
}

int sq_step_state(struct sc_store *base, int64_t run, json_t *state, bool confidential)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sq_defer_step_state(st, run, state, confidential);
    size_t n;
    bool failed;
    void *b = sq_value_blob(st, state, confidential, &n, &failed);
    return failed ? -1 : sq_exec(st, sq_q(st, Q_STEP_STATE, "bi", b, n, run), "recording a step");
}

json_t *sq_journal(struct sc_store *base, const char *execution)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_JOURNAL, "s", execution);
    json_t *j = s ? json_object() : NULL;
    while (j && sq_step(st, s) == SQLITE_ROW) {
        json_t *v = sq_value(st, s, 2);
        char key[600];
        snprintf(key, sizeof key, "%s %s", sq_text(s, 0), sq_text(s, 1));
        if (!v || json_object_set_new(j, key, v) != 0) {
            json_decref(j);
            j = NULL;
        }
    }
    if (s)
        sq_done(s);
    return j;
}
