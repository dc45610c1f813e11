/* SQLite store: people's decisions on held and incomplete executions, and the
 * continuations they hand to the daemon (store.h, "decisions"). Few and far between:
 * its statements are prepared per call, not kept, but for the one every idle worker asks
 * (Q_DECISION_NEXT). */
#include "store/sqlite.h"

#include "clock.h"

#include <stdarg.h>
#include <string.h>

#define DECISION_COLS "id, execution, action, hold, decided_by, decided_at, reason, state," \
                      " outcome, ended_at"

/* Prepares sql and binds fmt's values (s text or NULL, i int64); NULL with the error set.
 * The caller finalizes. */
static sqlite3_stmt *prep(struct sq_store *st, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        sq_db_err(st, "prepare");
        sqlite3_finalize(s);
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = SQLITE_OK;
    for (int k = 1; rc == SQLITE_OK && fmt[k - 1]; k++) {
        if (fmt[k - 1] == 's') {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(s, k, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, k);
        } else {
            rc = sqlite3_bind_int64(s, k, va_arg(ap, int64_t));
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        sq_db_err(st, "bind");
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

/* Runs a statement without rows and finalizes it: its changes, or -1 (error set). */
static int run(struct sq_store *st, sqlite3_stmt *s, const char *what)
{
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    if (rc != SQLITE_DONE) {
        sq_db_err(st, what);
        sqlite3_finalize(s);
        return rc == SQLITE_CONSTRAINT ? -2 : -1;
    }
    sqlite3_finalize(s);
    return sqlite3_changes(st->db);
}

static json_t *decision_row(sqlite3_stmt *s)
{
    json_t *v = json_pack("{s:I, s:s, s:s, s:s, s:o, s:s}", "id",
                          (json_int_t)sqlite3_column_int64(s, 0), "execution", sq_text(s, 1),
                          "action", sq_text(s, 2), "decided_by", sq_text(s, 4), "decided_at",
                          sq_iso(sqlite3_column_int64(s, 5)), "state", sq_text(s, 7));
    if (v && sqlite3_column_type(s, 3) != SQLITE_NULL)
        json_object_set_new(v, "hold", json_integer(sqlite3_column_int64(s, 3)));
    if (v && sqlite3_column_type(s, 6) != SQLITE_NULL)
        json_object_set_new(v, "reason", json_string(sq_text(s, 6)));
    if (v && sqlite3_column_type(s, 8) != SQLITE_NULL)
        json_object_set_new(v, "outcome", json_string(sq_text(s, 8)));
    if (v && sqlite3_column_type(s, 9) != SQLITE_NULL)
        json_object_set_new(v, "ended_at", sq_iso(sqlite3_column_int64(s, 9)));
    return v;
}

enum sc_store_rc sq_decision_add(struct sc_store *base, const struct sc_decision_row *r,
                                 int64_t *id)
{
    struct sq_store *st = (struct sq_store *)base;
    *id = -1;
    if (sc_defer_refuse(st->defer, "recording a decision"))
        return SC_STORE_ERR;
    bool hold = !strcmp(r->action, "approve") || !strcmp(r->action, "reject");
    if (!hold && strcmp(r->action, "retry")) {
        sq_err(st, "internal error: no decision '%s'", r->action);
        return SC_STORE_ERR;
    }
    int64_t now = sc_clock_now_ms();
    if (sq_begin(st) != 0)
        return SC_STORE_ERR;
    int n = 1;
    if (hold)
        n = run(st, prep(st, "UPDATE holds SET state = ?, decided_at = ?, decided_by = ?"
                             " WHERE id = ? AND execution = ? AND state = 'pending'", "sisis",
                         !strcmp(r->action, "approve") ? "approved" : "rejected", now, r->by,
                         r->hold, r->execution), "deciding the hold");
    const char *state = !strcmp(r->action, "reject") ? "done" : r->here ? "here" : "pending";
    if (n > 0)
        n = run(st, prep(st, "INSERT INTO decisions(execution, action, hold, decided_by,"
                             " decided_at, reason, state, owner, outcome, ended_at)"
                             " VALUES(?, ?, nullif(?, 0), ?, ?, ?, ?, ?, ?, ?)", "ssisisssss",
                         r->execution, r->action, hold ? r->hold : (int64_t)0, r->by, now,
                         r->reason, state, NULL, strcmp(state, "done") ? NULL : "rejected",
                         NULL),
                "recording the decision");
    if (n > 0 && !strcmp(state, "done"))
        n = run(st, prep(st, "UPDATE decisions SET ended_at = decided_at WHERE id = ?", "i",
                         (int64_t)sqlite3_last_insert_rowid(st->db)), "recording the decision");
    int64_t got = n > 0 ? (int64_t)sqlite3_last_insert_rowid(st->db) : -1;
    if (n <= 0 || sq_commit(st) != 0) {
        sq_rollback(st);
        if (n == 0 || n == -2) { /* decided already, or a continuation already waits */
            st->err[0] = '\0';
            return SC_STORE_EXISTS;
        }
        return SC_STORE_ERR;
    }
    *id = got;
    return SC_STORE_OK;
}

enum sc_store_rc sq_decision_take(struct sc_store *base, json_t **info)
{
    struct sq_store *st = (struct sq_store *)base;
    *info = NULL;
    int64_t me = sc_store_owner(), id = -1;
    /* asked by every idle worker: a read first, and the write lock only when one waits */
    sqlite3_stmt *s = sq_q(st, Q_DECISION_NEXT, "i", me);
    int rc = s ? sq_step(st, s) : SQLITE_ERROR;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && s)
        sq_db_err(st, "taking a decision");
    if (s)
        sq_done(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? SC_STORE_NONE : SC_STORE_ERR;
    if (sq_begin(st) != 0)
        return SC_STORE_ERR;
    s = sq_q(st, Q_DECISION_NEXT, "i", me); /* again, under the write lock */
    rc = s ? sq_step(st, s) : SQLITE_ERROR;
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_DONE && s)
        sq_db_err(st, "taking a decision");
    if (s)
        sq_done(s);
    int n = id > 0 ? run(st, prep(st, "UPDATE decisions SET state = 'running', owner = ?"
                                      " WHERE id = ?", "ii", me, id), "taking a decision")
                   : 0;
    if ((rc != SQLITE_ROW && rc != SQLITE_DONE) || n < 0 || sq_commit(st) != 0) {
        sq_rollback(st);
        return SC_STORE_ERR;
    }
    if (id < 0)
        return SC_STORE_NONE;
    *info = sq_decision(base, id);
    return *info ? SC_STORE_OK : SC_STORE_ERR;
}

enum sc_store_rc sq_decision_end(struct sc_store *base, int64_t id, const char *outcome)
{
    struct sq_store *st = (struct sq_store *)base;
    /* only its holder ends a taken continuation: one another process took over is its own */
    int n = run(st, prep(st, "UPDATE decisions SET state = 'done', outcome = ?, ended_at = ?"
                             " WHERE id = ? AND (state = 'here' OR (state = 'running'"
                             " AND owner = ?))", "siii",
                         outcome, sc_clock_now_ms(), id, sc_store_owner()), "ending the decision");
    return n < 0 ? SC_STORE_ERR : n == 0 ? SC_STORE_NONE : SC_STORE_OK;
}

json_t *sq_decision(struct sc_store *base, int64_t id)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = prep(st, "SELECT " DECISION_COLS " FROM decisions WHERE id = ?", "i", id);
    json_t *v = NULL;
    int rc = s ? sq_step(st, s) : SQLITE_ERROR;
    if (rc == SQLITE_ROW)
        v = decision_row(s);
    else if (s && rc != SQLITE_DONE)
        sq_db_err(st, "reading a decision");
    else if (s)
        st->err[0] = '\0';
    sqlite3_finalize(s);
    return v;
}

json_t *sq_decisions(struct sc_store *base, const char *execution)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = prep(st, "SELECT " DECISION_COLS " FROM decisions WHERE execution = ?"
                               " ORDER BY id", "s", execution);
    json_t *a = s ? json_array() : NULL;
    int rc = SQLITE_DONE;
    while (a && (rc = sq_step(st, s)) == SQLITE_ROW)
        json_array_append_new(a, decision_row(s));
    if (a && rc != SQLITE_DONE) {
        sq_db_err(st, "reading decisions");
        json_decref(a);
        a = NULL;
    }
    sqlite3_finalize(s);
    return a;
}
