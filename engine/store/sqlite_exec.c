/* SQLite store: executions, their leases, the heartbeat that renews them, and step runs. */
#include "store/exec_rows.h"
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

/* One renewal of the heartbeat's: failures go to the log, and it tries again. */
static int renew(struct sc_store *conn)
{
    if (sc_store_lease_renew(conn) == 0)
        return 0;
    sc_log(SC_LOG_ERROR, NULL, NULL, "%s", sc_store_error(conn));
    return -1;
}

/* The heartbeat's renewals take their turn with the daemon's other writes: polling for the
 * lock beside them, it could miss every gap between their turns. */
static void share_turns(struct sc_store *conn, void *arg)
{
    const struct sq_store *st = arg;
    sq_turns(conn, st->take, st->give, st->turns);
}

int sq_heartbeat(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->hb)
        return 0;
    st->hb = sc_heartbeat_start(st->path, st->key_ref, renew, share_turns, st, st->err,
                                sizeof st->err);
    return st->hb ? 0 : -1;
}

/* Taken: running under a lease not yet expired (whoever holds it), from the columns
 * status, owner, lease_until at status_col and after. */
bool sq_leased(sqlite3_stmt *s, int status_col)
{
    return !strcmp(sq_text(s, status_col), "running") &&
           sqlite3_column_type(s, status_col + 2) != SQLITE_NULL &&
           sqlite3_column_int64(s, status_col + 2) > sc_clock_now_ms();
}

/* The insert of sq_exec_begin, counted, in the transaction open now. */
static enum sc_store_rc exec_begin(struct sq_store *st, const struct sc_exec_row *r)
{
    size_t n;
    bool failed;
    void *trig = sq_dumped_blob(st, r->trigger, r->trigger_json, r->confidential, &n, &failed);
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
    if (rc == SQLITE_DONE && sq_tally(st, r->scenario, "running") == 0)
        return 0;
    sc_store_exec_release(r->id);
    if (rc == SQLITE_DONE)
        return -1;
    if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
        return sq_err(st, "execution id %s is taken", r->id), SC_STORE_EXISTS;
    return sq_db_err(st, "recording the execution");
}

enum sc_store_rc sq_exec_begin(struct sc_store *base, const struct sc_exec_row *r)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sc_defer_refuse(st->defer, "recording a new execution"))
        return -1;
    if (st->depth > 0)
        return exec_begin(st, r);
    /* its own transaction: the row and its count together */
    if (sq_begin(st) != 0)
        return -1;
    enum sc_store_rc rc = exec_begin(st, r);
    if (rc < 0 || sq_commit(st) != 0) {
        sq_rollback(st);
        if (rc == 0)
            sc_store_exec_release(r->id);
        return rc < 0 ? rc : -1;
    }
    return rc;
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
    /* counted when it becomes running, not when a lapsed lease of a running one is taken */
    bool count = found && !taken && strcmp(sq_text(s, 0), "running") != 0;
    char *scenario = count ? strdup(sq_text(s, 3)) : NULL;
    sq_done(s);
    if (!found || taken) {
        sq_rollback(st);
        if (!found)
            sq_err(st, "no execution %s", id);
        return found ? SC_STORE_BUSY : SC_STORE_ERR;
    }
    if (count && !scenario) {
        sq_rollback(st);
        return sq_err(st, "out of memory"), -1;
    }
    if (sc_store_live_add(id) != 0 ||
        sq_exec(st, sq_q(st, Q_EXEC_CLAIM, "iiis", sc_store_owner(), (int64_t)attempt,
                         sc_clock_now_ms() + sc_store_lease_ms(), id), "claiming the execution") != 0 ||
        (count && sq_tally(st, scenario, "running") != 0) ||
        sq_exec(st, sq_q(st, Q_STEP_INTERRUPTED, "s", id), "marking interrupted steps") != 0 ||
        sq_commit(st) != 0) {
        free(scenario);
        sq_rollback(st);
        sc_store_exec_release(id);
        return -1;
    }
    free(scenario);
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

/* Ends execution id (as sq_exec_end) in the transaction open now, and counts it when its
 * status changes (sq_tally). */
static int exec_end(struct sq_store *st, const char *id, const char *status,
                    int64_t duration_ms, json_t *summary, bool erase)
{
    sqlite3_stmt *s = sq_q(st, Q_EXEC_STATUS, "s", id);
    int rc = s ? sq_step(st, s) : SQLITE_ERROR;
    int64_t rowid = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    bool changed = rc == SQLITE_ROW && strcmp(sq_text(s, 2), status) != 0;
    char *scenario = changed ? strdup(sq_text(s, 1)) : NULL;
    if (s)
        sq_done(s);
    if (rc == SQLITE_DONE) /* no such execution: nothing to end */
        return 0;
    if (rc != SQLITE_ROW || (changed && !scenario)) {
        free(scenario);
        return rc != SQLITE_ROW ? (s ? sq_db_err(st, "ending the execution") : -1)
                                : (sq_err(st, "out of memory"), -1);
    }
    rc = sq_exec(st, sq_q(st, Q_EXEC_END, "siijii", status, sc_clock_now_ms(), duration_ms,
                          summary, rowid, (int64_t)erase), "ending the execution");
    if (rc == 0 && changed)
        rc = sq_tally(st, scenario, status);
    free(scenario);
    return rc;
}

bool sq_end_erases(const char *status)
{
    /* a held one may go on, a warning may be retried, a sleeping one wakes: they keep what
     * resumes them */
    return strcmp(status, "warning") != 0 && strcmp(status, "held") != 0 &&
           strcmp(status, "sleeping") != 0;
}

int sq_exec_end(struct sc_store *base, const char *id, const char *status,
                int64_t duration_ms, json_t *summary, bool states)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_exec_end(st->defer, id, status, duration_ms, summary, states);
    sc_store_exec_release(id); /* recorded or not, this attempt is over: no more renewals */
    bool erase = sq_end_erases(status);
    states = states && erase;
    /* the row and its count together, in the transaction open now or its own; the
     * trigger goes with the end, the resume states beside it */
    bool own = st->depth == 0 || states;
    if (own && sq_begin(st) != 0)
        return -1;
    int rc = exec_end(st, id, status, duration_ms, summary, erase);
    if (rc == 0 && states)
        rc = sq_exec(st, sq_q(st, Q_EXEC_ERASE_STATES, "s", id), "erasing resume states");
    if (!own)
        return rc;
    if (rc != 0 || sq_commit(st) != 0) {
        sq_rollback(st);
        return -1;
    }
    return 0;
}

/* A row of s as store/exec_rows.h reads it. */
static bool row_null(const struct sc_row *r, int col)
{
    return sqlite3_column_type((sqlite3_stmt *)r->res, col) == SQLITE_NULL;
}

static int64_t row_num(const struct sc_row *r, int col)
{
    return sqlite3_column_int64((sqlite3_stmt *)r->res, col);
}

static const char *row_text(const struct sc_row *r, int col)
{
    return sq_text((sqlite3_stmt *)r->res, col);
}

static json_t *row_json(const struct sc_row *r, int col)
{
    return sq_json((sqlite3_stmt *)r->res, col);
}

static json_t *row_value(const struct sc_row *r, int col)
{
    return sq_value((struct sq_store *)r->st, (sqlite3_stmt *)r->res, col);
}

static const struct sc_row_ops row_ops = {.null = row_null, .num = row_num, .text = row_text,
                                          .json = row_json, .value = row_value,
                                          .trigger = row_json};

static struct sc_row row_of(struct sq_store *st, sqlite3_stmt *s)
{
    return (struct sc_row){.ops = &row_ops, .st = &st->base, .res = s, .err = st->err,
                           .errlen = sizeof st->err};
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
    json_t *broken;
    struct sc_row row = row_of(st, s);
    json_t *v = sc_exec_record(&row, &broken);
    sq_done(s);
    json_t *steps = json_array();
    if (!v || !steps || !(s = sq_q(st, Q_EXEC_STEPS, "s", id))) {
        json_decref(v);
        json_decref(steps);
        json_decref(broken);
        return NULL;
    }
    row = row_of(st, s);
    while (sq_step(st, s) == SQLITE_ROW) {
        json_t *e = sc_exec_step(&row);
        if (!e)
            break;
        json_array_append_new(steps, e);
    }
    sq_done(s);
    json_object_set_new(v, "steps", steps);
    if ((s = sq_q(st, Q_INC_GET, "s", id))) {
        if (sq_step(st, s) == SQLITE_ROW)
            sc_exec_incomplete(v, sq_incomplete_row(s), broken);
        sq_done(s);
    }
    json_decref(broken);
    return v;
}

/* As sc_exec_run_info (store/exec_rows.h), of the row at s. */
json_t *sq_run_info(struct sq_store *st, sqlite3_stmt *s, const char *id, const int col[7])
{
    struct sc_row row = row_of(st, s);
    return sc_exec_run_info(&row, id, col);
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
    sqlite3_stmt *s = sq_q(st, f->scenario ? Q_EXEC_LIST_SC : Q_EXEC_LIST, "ssiisi", f->scenario,
                           f->status, f->since_ms, (int64_t)(f->limit > 0 ? f->limit : 100),
                           f->before_id, f->before_ms);
    if (!s)
        return NULL;
    json_t *a = json_array();
    struct sc_row row = row_of(st, s);
    while (a && sq_step(st, s) == SQLITE_ROW)
        json_array_append_new(a, sc_exec_listed(&row));
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
    return st->defer ? sc_defer_step(st->defer, 0, r) : sq_step_write(st, 0, r);
}

int sq_step_end(struct sc_store *base, int64_t run, const struct sc_step_row *r)
{
    struct sq_store *st = (struct sq_store *)base;
    return (st->defer ? sc_defer_step(st->defer, run, r) : sq_step_write(st, run, r)) < 0 ? -1 : 0;
}

int sq_step_state(struct sc_store *base, int64_t run, json_t *state, bool confidential)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_step_state(st->defer, run, state, confidential);
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
    struct sc_row row = row_of(st, s);
    while (j && sq_step(st, s) == SQLITE_ROW) {
        if (sc_exec_journal_row(j, &row) != 0) {
            json_decref(j);
            j = NULL;
        }
    }
    if (s)
        sq_done(s);
    return j;
}
