/* The SQLite backend of the store: its statements (prepared once per connection, bound by
 * the letters of a format), sealing of confidential values, opening and migrating,
 * transactions and the daemon's hooks (WAL sync, checkpoint, write turns), and the table
 * of its calls (sq_backend). */
#include "store/sqlite.h"

#include "clock.h"
#include "crypto.h"
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

/* A queued event a worker may take now: a sequential lane waits while one of its
 * executions runs, waits for a retry, or arrived earlier. */
#define RUNNABLE                                                                              \
    "e.status = 'queued' AND (e.lane IS NULL OR (NOT EXISTS("                                \
    " SELECT 1 FROM executions b WHERE b.lane = e.lane AND b.status = 'running')"             \
    " AND NOT EXISTS(SELECT 1 FROM executions b WHERE b.lane = e.lane AND b.status = 'queued'" \
    " AND b.seq < e.seq) AND NOT EXISTS(SELECT 1 FROM executions b WHERE b.lane = e.lane"     \
    " AND b.status IN ('warning', 'sleeping') AND EXISTS(SELECT 1 FROM incomplete i"          \
    " WHERE i.execution = b.id" \
    " AND i.state = 'pending'))))"

#define INC_EXEC_ATTEMPTS \
    "coalesce((SELECT e.attempts FROM executions e WHERE e.id = incomplete.execution), 0)"

/* one line per write: its pending row with the row that completed it, if any */
#define AUDIT_LIST                                                                              \
    "SELECT a.id, a.at, a.org, a.scenario, a.version, a.execution, a.step, a.method,"           \
    " a.sent_from, a.sent_to, coalesce(c.status, a.status),"                                    \
    " coalesce(c.duration_ms, a.duration_ms), a.body_sha256,"                                   \
    " coalesce(c.outcome, a.outcome), a.prev_hash, coalesce(c.hash, a.hash), a.actor"           \
    " FROM audit a LEFT JOIN audit c ON c.ref = a.id"                                           \
    " WHERE a.ref IS NULL AND (?1 IS NULL OR a.scenario = ?1)"                                  \
    " AND (?2 IS NULL OR substr(a.sent_to, 1, length(?2)) = ?2)"                                \
    " AND (?3 IS NULL OR a.execution = ?3)"
#define QI_LIST                                                                                 \
    "SELECT id, queue, item, execution, state, created_at, done_at, done_by, key,"              \
    " last_seen, times_seen, resolution, note FROM queue_items"                                 \
    " WHERE (?1 IS NULL OR queue = ?1) AND (?2 IS NULL OR state = ?2)"

/* Executions listed newest first: those that ran through the time index named (partial:
 * attempts > 0, schema v16), merged with the events still waiting (executions_queue). An
 * event leaves 'queued' only by a claim, which sets attempts (so since schema v2): a write
 * ending or changing a queued row without one would drop it from the listings. One that
 * ran is never queued again: a listing of the queued reads no time index. */
#define EXEC_LISTED                                                                              \
    "SELECT id, scenario, version, status, attempts, started_at, duration_ms FROM executions"
#define EXEC_LIST_WHERE                                                                          \
    " AND (?2 IS NULL OR status = ?2) AND started_at >= ?3"                                     \
    " AND (?5 IS NULL OR started_at < ?6 OR (started_at = ?6 AND id < ?5))"
#define EXEC_LIST(index, scenario)                                                               \
    EXEC_LISTED " INDEXED BY " index " WHERE attempts > 0 AND (?2 IS NULL OR ?2 <> 'queued')"   \
    scenario EXEC_LIST_WHERE                                                                     \
    " UNION ALL " EXEC_LISTED " INDEXED BY executions_queue WHERE status = 'queued'"            \
    " AND attempts = 0" scenario EXEC_LIST_WHERE " ORDER BY started_at DESC, id DESC LIMIT ?4"

static const char *const sql[Q_COUNT] = {
    [Q_EXEC_BEGIN] = "INSERT INTO executions(id, scenario, org, version, source, status,"
                     " confidential, owner, trigger, started_at, lease_until)"
                     " VALUES(?,?,?,?,?,'running',?,?,?,?,?)",
    [Q_EXEC_OWNER] = "SELECT status, owner, lease_until, scenario FROM executions WHERE id = ?",
    [Q_EXEC_CLAIM] = "UPDATE executions SET status = 'running', owner = ?, attempts = ?,"
                     " finished_at = NULL, lease_until = ? WHERE id = ?",
    [Q_STEP_INTERRUPTED] = "UPDATE step_runs SET status = 'interrupted' WHERE execution = ?"
                           " AND status = 'running'",
    [Q_EXEC_END] = "UPDATE executions SET status = ?1, owner = NULL, lease_until = NULL, finished_at = ?2,"
                   " duration_ms = ?3, summary = ?4, trigger = CASE WHEN ?6 AND confidential"
                   " THEN NULL ELSE trigger END WHERE rowid = ?5",
    [Q_EXEC_STATUS] = "SELECT rowid, scenario, status FROM executions WHERE id = ?",
    [Q_EXEC_ERASE_TRIGGER] = "UPDATE executions SET trigger = NULL WHERE id = ? AND confidential",
    [Q_EXEC_ERASE_STATES] = "UPDATE step_runs SET state = NULL WHERE execution = ? AND state NOT NULL",
    [Q_EXEC_GET] = "SELECT id, scenario, org, version, source, status, attempts, confidential,"
                   " started_at, finished_at, duration_ms, summary, trigger, queued_at, priority"
                   " FROM executions WHERE id = ?",
    [Q_EXEC_STEPS] = "SELECT attempt, step, module, bundle, status, duration_ms, output, error, bundles"
                     " FROM step_runs WHERE execution = ? ORDER BY id",
    /* running, and its lease expired (or it has none) */
    [Q_EXEC_RUNNING] = "SELECT id FROM executions WHERE status = 'running'"
                       " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY started_at",
    /* A NULL filter matches everything; of all scenarios (?1 unused) or of one. */
    [Q_EXEC_LIST] = EXEC_LIST("executions_started", ""),
    [Q_EXEC_LIST_SC] = EXEC_LIST("executions_scenario", " AND scenario = ?1"),
    [Q_STEP_BEGIN] = "INSERT INTO step_runs(execution, attempt, step, module, bundle, status,"
                     " started_at, duration_ms, bundles, output, error, state) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
    [Q_STEP_END] = "UPDATE step_runs SET status = ?, duration_ms = ?, bundles = ?, output = ?,"
                   " error = ?, state = ? WHERE id = ?",
    [Q_STEP_STATE] = "UPDATE step_runs SET state = ? WHERE id = ?",
    [Q_JOURNAL] = "SELECT step, bundle, state FROM step_runs WHERE execution = ? AND state NOT NULL"
                  " ORDER BY id",
    [Q_INC_PUT] = "INSERT INTO incomplete(execution, scenario, step, bundle, error, attempts,"
                  " max_attempts, next_at, state, created_at, updated_at)"
                  " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10) ON CONFLICT(execution) DO UPDATE SET"
                  " step = ?3, bundle = ?4, error = ?5, attempts = ?6, max_attempts = ?7,"
                  " next_at = ?8, state = ?9, updated_at = ?10, decided_by = NULL",
    [Q_INC_GET] = "SELECT execution, scenario, step, bundle, error, attempts, max_attempts, next_at,"
                  " state, created_at, updated_at, decided_by FROM incomplete WHERE execution = ?",
    [Q_INC_LIST_OPEN] = "SELECT execution, scenario, step, bundle, error, attempts, max_attempts,"
                        " next_at, state, created_at, updated_at, decided_by FROM incomplete"
                        " WHERE state IN ('pending', 'exhausted', 'held') ORDER BY created_at, execution",
    [Q_INC_LIST_STATE] = "SELECT execution, scenario, step, bundle, error, attempts, max_attempts,"
                         " next_at, state, created_at, updated_at, decided_by FROM incomplete"
                         " WHERE state = ? ORDER BY created_at, execution",
    [Q_INC_DUE] = "SELECT execution FROM incomplete WHERE state = 'pending' AND next_at <= ?"
                  " ORDER BY next_at, execution",
    /* attempts: the execution's own count, one definition everywhere (a later attempt closes it) */
    [Q_INC_CLOSE] = "UPDATE incomplete SET state = ?1, decided_by = ?2, updated_at = ?3, next_at = NULL,"
                    " attempts = max(attempts, " INC_EXEC_ATTEMPTS "), max_attempts = CASE WHEN"
                    " max_attempts > 0 THEN max(max_attempts, " INC_EXEC_ATTEMPTS ") ELSE 0 END"
                    " WHERE execution = ?4 AND state IN ('pending', 'exhausted', 'held')",
    [Q_AUDIT_HEAD] = "SELECT last_id, last_hash, mac FROM audit_head WHERE one = 1",
    [Q_AUDIT_INSERT] = "INSERT INTO audit(id, at, org, scenario, version, execution, step, method,"
                       " sent_from, sent_to, status, duration_ms, body_sha256, outcome, prev_hash,"
                       " hash, ref, key_id, actor) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [Q_AUDIT_SET_HEAD] = "INSERT INTO audit_head(one, last_id, last_hash, mac) VALUES(1, ?1, ?2, ?3)"
                         " ON CONFLICT(one) DO UPDATE SET last_id = ?1, last_hash = ?2, mac = ?3",
    [Q_AUDIT_ALL] = "SELECT id, at, org, scenario, version, execution, step, method, sent_from,"
                    " sent_to, status, duration_ms, body_sha256, outcome, prev_hash, hash, ref,"
                    " key_id, actor FROM audit ORDER BY id",
    [Q_AUDIT_LIST] = AUDIT_LIST " ORDER BY a.id LIMIT ?4",
    [Q_AUDIT_LIST_NEW] = AUDIT_LIST " ORDER BY a.id DESC LIMIT ?4",
    [Q_ENQUEUE] = "INSERT INTO executions(id, scenario, org, version, source, status, attempts,"
                  " confidential, trigger, started_at, queued_at, seq, priority, lane, dedupe)"
                  " VALUES(?1,?2,?3,?4,?5,'queued',0,?6,?7,?8,?8,"
                  " (SELECT coalesce(max(seq), 0) + 1 FROM executions),?9,?10,?11)",
    /* Q_ENQUEUE then Q_CLAIM_TAKE in one row: the same values, one write of it */
    [Q_ENQUEUE_TAKEN] = "INSERT INTO executions(id, scenario, org, version, source, status, attempts,"
                        " confidential, trigger, started_at, queued_at, seq, priority, lane, dedupe,"
                        " owner, lease_until) VALUES(?1,?2,?3,?4,?5,'running',1,?6,?7,?15,?8,"
                        " (SELECT coalesce(max(seq), 0) + 1 FROM executions),?9,?10,?11,?12,?13 + ?14)",
    /* Q_ENQUEUE_TAKEN then Q_EXEC_END in one row: taken and ended in the same batch */
    [Q_ENQUEUE_ENDED] = "INSERT INTO executions(id, scenario, org, version, source, status, attempts,"
                        " confidential, trigger, started_at, queued_at, seq, priority, lane, dedupe,"
                        " finished_at, duration_ms, summary) VALUES(?1,?2,?3,?4,?5,?12,1,?6,"
                        " CASE WHEN ?16 AND ?6 THEN NULL ELSE ?7 END,?15,?8,"
                        " (SELECT coalesce(max(seq), 0) + 1 FROM executions),?9,?10,?11,?13,?14,?17)",
    [Q_DEDUPE_FIRST] = "SELECT id FROM executions WHERE scenario = ? AND dedupe = ?",
    /* The next event: realtime first, then arrival order; a sequential lane waits while
     * one of its executions runs, waits for a retry, or arrived earlier. Read, then taken
     * by its rowid (Q_CLAIM_TAKE) in the same transaction: an UPDATE .. WHERE id = (SELECT
     * ..) RETURNING cost a third more instructions. */
    [Q_CLAIM_NEXT] = "SELECT e.id, e.scenario, e.version, e.source, 'running', 1, e.confidential,"
                     " e.trigger, e.rowid FROM executions e INDEXED BY executions_queue"
                     " WHERE e.seq <= ?1 AND " RUNNABLE " ORDER BY e.priority DESC, e.seq LIMIT 1",
    [Q_CLAIM_TAKE] = "UPDATE executions SET status = 'running', owner = ?1, attempts = 1,"
                     " started_at = ?2, lease_until = ?2 + ?3 WHERE rowid = ?4",
    [Q_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM executions",
    [Q_RUNNABLE] = "SELECT count(*) FROM executions e WHERE " RUNNABLE,
    [Q_NEXT_RETRY] = "SELECT min(next_at) FROM incomplete WHERE state = 'pending'",
    [Q_TRIG_GET] = "SELECT last_at, watermark FROM trigger_state WHERE scenario = ? AND trigger = ?",
    [Q_TRIG_SET] = "INSERT INTO trigger_state(scenario, trigger, last_at, watermark, updated_at)"
                   " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(scenario, trigger) DO UPDATE SET"
                   " last_at = coalesce(?3, last_at), watermark = coalesce(?4, watermark),"
                   " updated_at = ?5",
    [Q_SEEN_GET] = "SELECT 1 FROM poll_seen WHERE scenario = ? AND trigger = ? AND key = ?",
    [Q_SEEN_PUT] = "INSERT OR REPLACE INTO poll_seen(scenario, trigger, key, seen_at) VALUES(?,?,?,?)",
    [Q_SEEN_PRUNE] = "DELETE FROM poll_seen WHERE scenario = ? AND trigger = ? AND seen_at < ?",
    [Q_VER_CURRENT] = "SELECT number, checksum FROM versions WHERE scenario = ?"
                      " ORDER BY number DESC LIMIT 1",
    [Q_VER_ADD] = "INSERT INTO versions(scenario, number, created_at, message, checksum, origin,"
                  " document) VALUES(?,?,?,?,?,?,?)",
    [Q_VER_GET] = "SELECT scenario, number, created_at, message, checksum, origin, document"
                  " FROM versions WHERE scenario = ?1 AND (number = ?2 OR (?2 = 0 AND number ="
                  " (SELECT max(number) FROM versions WHERE scenario = ?1)))",
    [Q_VER_LIST] = "SELECT scenario, number, created_at, message, checksum, origin FROM versions"
                   " WHERE scenario = ? ORDER BY number",
    [Q_VER_ALL_CURRENT] = "SELECT v.scenario, v.number, v.created_at, v.message, v.checksum, v.origin"
                          " FROM versions v WHERE v.number = (SELECT max(number) FROM versions w"
                          " WHERE w.scenario = v.scenario) ORDER BY v.scenario",
    [Q_VER_STAMP] = "SELECT count(*), coalesce(max(created_at), 0) FROM versions",
    [Q_DS_GET] = "SELECT value FROM datastore WHERE store = ?1 AND key = ?2"
                 " AND (expires_at IS NULL OR expires_at > ?3)",
    [Q_DS_ENTRY] = "SELECT value, expires_at FROM datastore WHERE store = ?1 AND key = ?2"
                   " AND (expires_at IS NULL OR expires_at > ?3)",
    [Q_DS_SET] = "INSERT INTO datastore(store, key, value, updated_at, expires_at) VALUES(?1,?2,?3,?4,?5)"
                 " ON CONFLICT(store, key) DO UPDATE SET value = ?3, updated_at = ?4, expires_at = ?5",
    [Q_DS_DEL] = "DELETE FROM datastore WHERE store = ? AND key = ?",
    [Q_DS_SEARCH] = "SELECT key, value FROM datastore WHERE store = ?1"
                    " AND substr(key, 1, length(?2)) = ?2 AND (expires_at IS NULL OR expires_at > ?3)"
                    " ORDER BY key LIMIT ?4",
    /* a key is taken when absent or expired: one statement, so two workers cannot both */
    [Q_DS_CLAIM] = "INSERT INTO datastore(store, key, value, updated_at, expires_at) VALUES(?1,?2,?3,?4,?5)"
                   " ON CONFLICT(store, key) DO UPDATE SET value = ?3, updated_at = ?4, expires_at = ?5"
                   " WHERE expires_at IS NOT NULL AND expires_at <= ?4",
    [Q_QI_PUSH] = "INSERT INTO queue_items(queue, item, execution, created_at) VALUES(?,?,?,?)",
    [Q_QI_LIST] = QI_LIST " ORDER BY id LIMIT ?3",
    [Q_QI_LIST_NEW] = QI_LIST " ORDER BY id DESC LIMIT ?3",
    [Q_QI_GET] = "SELECT id, queue, item, execution, state, created_at, done_at, done_by, key,"
                 " last_seen, times_seen, resolution, note FROM queue_items WHERE id = ?",
    [Q_QI_RESOLVE] = "UPDATE queue_items SET state = 'resolved', done_at = ?, done_by = ?,"
                     " note = ? WHERE id = ? AND state = 'open'",
    [Q_QI_DEPTHS] = "SELECT queue, count(*), sum(created_at >= ?1) FROM queue_items WHERE state = 'open'"
                    " GROUP BY queue ORDER BY queue",
    /* a keyed item seen again: counted once per execution that sees it */
    [Q_QI_TOUCH] = "UPDATE queue_items SET item = ?1, last_seen = ?2,"
                   " times_seen = times_seen + (seen_by IS NOT ?3), seen_by = ?3"
                   " WHERE queue = ?4 AND key = ?5 AND state = 'open' RETURNING id, times_seen",
    [Q_QI_PUSH_KEY] = "INSERT INTO queue_items(queue, item, execution, created_at, key, last_seen,"
                      " times_seen, seen_by) VALUES(?1,?2,?3,?4,?5,?4,1,?3)",
    [Q_QI_SWEEP] = "UPDATE queue_items SET state = 'resolved', done_at = ?1, done_by = ?2,"
                   " resolution = ?3 WHERE queue = ?4 AND state = 'open' AND key IS NOT NULL"
                   " AND seen_by IS NOT ?5",
    [Q_QI_OPEN] = "SELECT count(*) FROM queue_items WHERE queue = ? AND state = 'open'",
    [Q_HOLD_GET] = "SELECT id, execution, scenario, step, bundle, reason, diff, state, created_at,"
                   " decided_at, decided_by FROM holds WHERE execution = ? AND step = ? AND bundle = ?",
    [Q_HOLD_PUT] = "INSERT INTO holds(execution, scenario, step, bundle, reason, diff, state, created_at)"
                   " VALUES(?,?,?,?,?,?,'pending',?)",
    [Q_HOLD_LIST] = "SELECT id, execution, scenario, step, bundle, reason, diff, state, created_at,"
                    " decided_at, decided_by FROM holds WHERE (?1 IS NULL OR state = ?1) ORDER BY id",
    [Q_HOLD_BY_ID] = "SELECT id, execution, scenario, step, bundle, reason, diff, state, created_at,"
                     " decided_at, decided_by FROM holds WHERE id = ?",
    [Q_HOLD_DECIDE] = "UPDATE holds SET state = ?, decided_at = ?, decided_by = ? WHERE id = ?"
                      " AND state = 'pending'",
    [Q_LEASE_RENEW] = "UPDATE executions SET lease_until = ?1 WHERE id = ?2 AND owner = ?3"
                      " AND status = 'running'",
    [Q_LEASE_DROP] = "UPDATE executions SET lease_until = NULL WHERE owner = ? AND status = 'running'",
    /* a counter the tally adds to: updated, made when absent (an upsert took twice the
     * instructions of the update alone: it tries the insert first) */
    [Q_TALLY] = "UPDATE counters SET value = value + ?3 WHERE name = 'executions' AND l1 = ?1"
                " AND l2 = ?2",
    [Q_TALLY_NEW] = "INSERT INTO counters(name, l1, l2, value) VALUES('executions', ?1, ?2, ?3)",
    /* the next continuation to take (sqlite_decide.c), asked by every idle worker */
    [Q_DECISION_NEXT] = "SELECT id FROM decisions WHERE state = 'pending'"
                        " OR (state = 'running' AND (owner IS NULL OR owner != ?))"
                        " ORDER BY id LIMIT 1",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT inner",
    [Q_RELEASE] = "RELEASE inner",
    [Q_ROLLBACK_TO] = "ROLLBACK TO inner",
};

void sq_err(struct sq_store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
}

int sq_db_err(struct sq_store *st, const char *what)
{
    if ((sqlite3_extended_errcode(st->db) & 0xff) == SQLITE_BUSY)
        sq_err(st, "store %s: %s: its write lock stayed taken for %d s (another process writes "
               "to it: a long `scenarist prune`, `store migrate` or backup?)", st->path, what,
               SQ_BUSY_MS / 1000);
    else
        sq_err(st, "store %s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
    return -1;
}

const char *sq_error(const struct sc_store *base)
{
    const struct sq_store *st = (const struct sq_store *)base;
    return st->err;
}


/* ---- statements: prepared once, bound by the letters of a format ---- */

/* Binds by fmt: s text (NULL binds null), i int64, I int64 or null when negative,
 * j JSON (NULL binds null), b blob
 * (pointer, size_t; taken and freed), n null. NULL on failure, error set. */
sqlite3_stmt *sq_q(struct sq_store *st, enum q id, const char *fmt, ...)
{
    sqlite3_stmt *s = st->stmt[id];
    int rc = SQLITE_OK, k = 1;
    bool dumped = true;
    if (!s && (rc = sqlite3_prepare_v3(st->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
                                       NULL)) != SQLITE_OK)
        sq_db_err(st, "prepare");
    st->stmt[id] = s;
    if (s && (int)strlen(fmt) != sqlite3_bind_parameter_count(s)) { /* a bug in this file */
        sq_err(st, "internal error: statement %d takes %d values, given %zu", (int)id,
               sqlite3_bind_parameter_count(s), strlen(fmt));
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    const char *f = fmt;
    for (; rc == SQLITE_OK && *f; f++, k++) {
        switch (*f) {
        case 's': {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(s, k, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, k);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(s, k, va_arg(ap, int64_t));
            break;
        case 'I': { /* an optional count or duration: negative binds null */
            int64_t v = va_arg(ap, int64_t);
            rc = v >= 0 ? sqlite3_bind_int64(s, k, v) : sqlite3_bind_null(s, k);
            break;
        }
        case 'j': {
            json_t *v = va_arg(ap, json_t *);
            char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            if (v && !t) /* not an SQLite error: sqlite3_errmsg would say "not an error" */
                rc = SQLITE_NOMEM, dumped = false;
            else
                rc = t ? sqlite3_bind_text(s, k, t, -1, free) : sqlite3_bind_null(s, k);
            break;
        }
        case 'b': {
            void *p = va_arg(ap, void *);
            size_t n = va_arg(ap, size_t);
            rc = p ? sqlite3_bind_blob64(s, k, p, n, free) : sqlite3_bind_null(s, k);
            break;
        }
        default:
            rc = sqlite3_bind_null(s, k);
        }
    }
    for (; *f; f++) { /* not bound after a failure: blobs handed over are still ours */
        if (*f == 'b') {
            free(va_arg(ap, void *));
            (void)va_arg(ap, size_t);
        } else if (*f == 'i' || *f == 'I') {
            (void)va_arg(ap, int64_t);
        } else {
            (void)va_arg(ap, void *);
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        if (s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            if (dumped)
                sq_db_err(st, "bind");
            else
                sq_err(st, "store %s: out of memory writing a value as JSON", st->path);
        }
        return NULL;
    }
    return s;
}

/* The write outside a transaction that holds this thread's turn, and its connection. */
static _Thread_local struct {
    struct sq_store *st;
    sqlite3_stmt *s;
} held;

static void turn_release(sqlite3_stmt *s)
{
    if (!s || held.s != s)
        return;
    struct sq_store *st = held.st;
    held.st = NULL;
    held.s = NULL;
    st->give(st->turns);
}

void sq_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    turn_release(s);
}

/* sqlite3_step; a write outside a transaction takes its turn (sc_store_turns) and keeps
 * it until the statement is done or reset: a RETURNING write answers its rows before its
 * write ends, and a turn given back between let the next writer wait for this one's lock
 * while this one waited for the turn (a stall ending in "database is locked"). */
int sq_step(struct sq_store *st, sqlite3_stmt *s)
{
    bool write = st->take && st->depth == 0 && !sqlite3_stmt_readonly(s);
    if (write && !held.s) {
        st->take(st->turns);
        held.st = st;
        held.s = s;
    }
    int rc = sqlite3_step(s);
    if (write && rc != SQLITE_ROW)
        turn_release(s);
    return rc;
}

/* Runs a statement that returns no rows. */
int sq_exec(struct sq_store *st, sqlite3_stmt *s, const char *what)
{
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    sq_done(s);
    return rc == SQLITE_DONE ? 0 : sq_db_err(st, what);
}

const char *sq_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

json_t *sq_json(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
}

/* Every row of a query as JSON, by row(); NULL (error set) when memory ran out. */
json_t *sq_rows(struct sq_store *st, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *))
{
    json_t *a = s ? json_array() : NULL;
    while (a && sq_step(st, s) == SQLITE_ROW)
        json_array_append_new(a, row(s));
    if (s)
        sq_done(s);
    if (!a && s)
        sq_err(st, "out of memory");
    return a;
}

/* The one row of a query by id, or NULL with "no WHAT ID" as the error. */
json_t *sq_one_row(struct sq_store *st, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *),
                   const char *what, int64_t id)
{
    json_t *v = NULL;
    int rc = s ? sq_step(st, s) : SQLITE_ERROR;
    if (rc == SQLITE_ROW)
        v = row(s);
    else if (rc == SQLITE_DONE) /* none: NULL with no error, told from a failure */
        st->err[0] = '\0';
    else if (s)
        sq_db_err(st, what);
    (void)id;
    if (s)
        sq_done(s);
    return v;
}

json_t *sq_iso(int64_t ms)
{
    char buf[40];
    sc_clock_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

/* ---- sealing: AES-256-GCM, so confidential data at rest is unreadable without the key ---- */

static int load_key(struct sq_store *st)
{
    if (st->have_key)
        return 0;
    char err[256], *hex = NULL;
    if (st->key_ref) {
        if (!(hex = sc_org_secret(st->key_ref, err, sizeof err))) {
            sq_err(st, "store key: %s", err);
            return -1;
        }
    } else {
        char *kp = sc_asprintf("%s.key", st->path);
        if (!kp)
            return sq_err(st, "out of memory"), -1;
        int fd = open(kp, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) { /* first use: a new random key, readable by this user only */
            unsigned char k[32];
            char line[66];
            if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
                close(fd);
                unlink(kp);
                free(kp);
                return sq_err(st, "store key: no randomness"), -1;
            }
            for (int i = 0; i < 32; i++)
                snprintf(line + 2 * i, 3, "%02x", k[i]);
            line[64] = '\n';
            bool ok = write(fd, line, 65) == 65;
            close(fd);
            if (!ok) {
                unlink(kp);
                sq_err(st, "store key %s cannot be written: %s", kp, strerror(errno));
                free(kp);
                return -1;
            }
        } else if (errno != EEXIST) {
            sq_err(st, "store key %s cannot be made: %s", kp, strerror(errno));
            free(kp);
            return -1;
        }
        char *ref = sc_asprintf("file:%s", kp);
        free(kp);
        hex = ref ? sc_org_secret(ref, err, sizeof err) : NULL;
        free(ref);
        if (!hex)
            return sq_err(st, "store key: %s", ref ? err : "out of memory"), -1;
    }
    bool ok = strlen(hex) == 64;
    for (int i = 0; ok && i < 32; i++) {
        unsigned v;
        ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
        st->key[i] = (unsigned char)v;
    }
    free(hex);
    if (!ok)
        return sq_err(st, "store key must be 64 hexadecimal digits"), -1;
    st->have_key = true;
    return 0;
}

/* The JSON text sealed (crypto.h's blob). New buffer, length in *n; NULL with the error set. */
static void *seal(struct sq_store *st, const char *text, size_t len, size_t *n)
{
    if (load_key(st) != 0)
        return NULL;
    void *out = sc_crypto_seal(st->key, text, len, n);
    if (!out)
        sq_err(st, "sealing confidential data failed");
    return out;
}

static json_t *unseal(struct sq_store *st, const unsigned char *b, size_t n)
{
    if (n < SC_CRYPTO_SEAL_OVERHEAD || load_key(st) != 0)
        return NULL;
    size_t len;
    char *text = sc_crypto_open(st->key, b, n, &len);
    json_t *v = text ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
    if (!text)
        sq_err(st, "sealed data does not open with this store's key");
    free(text);
    return v;
}

/* A stored value: JSON text, or a sealed blob. */
json_t *sq_value(struct sq_store *st, sqlite3_stmt *s, int i)
{
    const unsigned char *b = sqlite3_column_blob(s, i);
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    if (!b)
        return NULL;
    if (sc_crypto_is_sealed(b, n))
        return unseal(st, b, n);
    return json_loadb((const char *)b, n, JSON_DECODE_ANY, NULL);
}

/* Bind arguments for a value kept sealed when confidential, else as JSON text. */
void *sq_value_blob(struct sq_store *st, json_t *v, bool sealed, size_t *n, bool *failed)
{
    return sq_dumped_blob(st, v, NULL, sealed, n, failed);
}

void *sq_dumped_blob(struct sq_store *st, json_t *v, const char *text, bool sealed, size_t *n,
                     bool *failed)
{
    *n = 0;
    *failed = false;
    if (!v)
        return NULL;
    size_t len;
    char *t = sc_store_json_text(v, text, &len);
    void *b = t && sealed ? seal(st, t, len, n) : t;
    if (!t)
        sq_err(st, "out of memory");
    else if (sealed)
        free(t);
    else
        *n = len;
    *failed = !b;
    return b;
}

/* ---- opening ---- */

/* Another process holds the write lock (the daemon's own connections take turns): wait
 * in steps of 50 us growing to 1 ms, not SQLite's default of 1 ms growing to 100 ms,
 * which under many short transactions turned sub-millisecond waits into 100 ms stalls.
 * Bounded by SQ_BUSY_MS of real time (a test clock does not move another process), after
 * which the call fails and says so (sq_db_err). */
static int busy_wait(void *ud, int count)
{
    struct sq_store *st = ud;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (st && count == 0)
        st->busy_since = ms;
    else if (st && ms - st->busy_since >= SQ_BUSY_MS)
        return 0;
    long us = count < 20 ? 50 : count < 200 ? 200 : 1000;
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
    return 1;
}

/* No allocation statistics: they put a global mutex around every SQLite allocation,
 * which the daemon's threads fought over. Must run before SQLite initialises. */
static void configure(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

struct sc_store *sq_open(const char *path, const char *key_ref, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure);
    struct sq_store *st = sc_calloc(1, sizeof *st);
    if (st)
        st->base.be = &sc_store_sqlite;
    if (!st || !(st->path = sc_strdup(path)) || (key_ref && !(st->key_ref = sc_strdup(key_ref)))) {
        snprintf(err, errlen, "out of memory");
        sq_close((struct sc_store *)st);
        return NULL;
    }
    if (sc_store_mkdirs(path) != 0) {
        snprintf(err, errlen, "store %s: cannot make its directory: %s", path, strerror(errno));
        sq_close((struct sc_store *)st);
        return NULL;
    }
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX, NULL);
    /* secure_delete: erased confidential data must not linger in free pages.
     * auto_vacuum takes only before the first table: a new store gives pruned pages back
     * (sc_store_vacuum); an older one keeps its mode until `prune --vacuum`. Switching a
     * new file to WAL while another process makes it can be refused without the busy
     * handler: tried again, as the handler would. */
    int prc = SQLITE_BUSY;
    if (rc == SQLITE_OK && sqlite3_busy_handler(st->db, busy_wait, st) != SQLITE_OK)
        rc = SQLITE_ERROR;
    for (int i = 0; rc == SQLITE_OK && prc == SQLITE_BUSY && i < 12000; i++)
        if ((prc = sqlite3_exec(st->db, "PRAGMA auto_vacuum = INCREMENTAL;"
                                " PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                                " PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON",
                                NULL, NULL, NULL)) == SQLITE_BUSY)
            busy_wait(NULL, i);
    if (rc != SQLITE_OK || prc != SQLITE_OK) {
        snprintf(err, errlen, "store %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sq_close((struct sc_store *)st);
        return NULL;
    }
    if (sq_migrate(st) != 0) {
        snprintf(err, errlen, "%s", st->err);
        sq_close((struct sc_store *)st);
        return NULL;
    }
    return &st->base;
}

void sq_close(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    if (!st)
        return;
    sc_store_defer(&st->base, false);
    sc_heartbeat_stop(st->hb);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    while (st->ntally > 0)
        free(st->tally[--st->ntally]);
    free(st->tally);
    free(st->tally_at);
    sqlite3_close(st->db);
    free(st->path);
    free(st->key_ref);
    memset(st->key, 0, sizeof st->key);
    sc_audit_key_clear(&st->audit);
    free(st);
}

/* ---- executions counted by this code (sq_tally) ---- */

/* Drops the tally's pairs from the at-th on. */
static void tally_cut(struct sq_store *st, size_t at)
{
    while (st->ntally > at)
        free(st->tally[--st->ntally]);
}

int sq_tally(struct sq_store *st, const char *scenario, const char *status)
{
    if (st->ntally == st->captally) {
        size_t cap = st->captally ? st->captally * 2 : 32;
        char **v = realloc(st->tally, cap * sizeof *v);
        if (!v)
            return sq_err(st, "out of memory"), -1;
        st->tally = v;
        st->captally = cap;
    }
    /* scenario NUL status: the pair as one string */
    size_t ls = strlen(scenario), lt = strlen(status);
    char *p = malloc(ls + lt + 2);
    if (!p)
        return sq_err(st, "out of memory"), -1;
    memcpy(p, scenario, ls + 1);
    memcpy(p + ls + 1, status, lt + 1);
    st->tally[st->ntally++] = p;
    return 0;
}

static bool same_pair(const char *a, const char *b)
{
    size_t la = strlen(a);
    return !strcmp(a, b) && !strcmp(a + la + 1, b + la + 1);
}

/* Writes the tally to counters, one row per pair, and empties it: 0, or -1 (error set). */
static int tally_flush(struct sq_store *st)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < st->ntally; i++) {
        const char *p = st->tally[i];
        bool seen = false;
        for (size_t j = 0; !seen && j < i; j++)
            seen = same_pair(st->tally[j], p);
        if (seen)
            continue;
        int64_t n = 1;
        for (size_t j = i + 1; j < st->ntally; j++)
            n += same_pair(st->tally[j], p);
        const char *status = p + strlen(p) + 1;
        rc = sq_exec(st, sq_q(st, Q_TALLY, "ssi", p, status, n), "counting executions");
        if (rc == 0 && sqlite3_changes(st->db) == 0)
            rc = sq_exec(st, sq_q(st, Q_TALLY_NEW, "ssi", p, status, n), "counting executions");
    }
    tally_cut(st, 0);
    return rc;
}

/* Transactions nest: the outermost is BEGIN IMMEDIATE .. COMMIT and inner ones are
 * savepoints, so a worker can commit many executions' own transactions at once. */
int sq_begin(struct sq_store *st)
{
    if (st->depth > 0 && sqlite3_get_autocommit(st->db))
        return sq_err(st, "the enclosing transaction was rolled back by an earlier error"), -1;
    if (st->depth >= st->captally_at) {
        int cap = st->captally_at ? st->captally_at * 2 : 8;
        size_t *v = realloc(st->tally_at, (size_t)cap * sizeof *v);
        if (!v)
            return sq_err(st, "out of memory"), -1;
        st->tally_at = v;
        st->captally_at = cap;
    }
    bool turn = st->take && st->depth == 0;
    if (turn)
        st->take(st->turns);
    if (st->depth == 0)
        tally_cut(st, 0);
    st->tally_at[st->depth] = st->ntally;
    st->depth++; /* BEGIN IMMEDIATE counts as a write: it must not take a second turn */
    int rc = sq_exec(st, sq_q(st, st->depth > 1 ? Q_SAVEPOINT : Q_BEGIN, ""), "begin");
    if (rc != 0 && --st->depth == 0 && turn)
        st->give(st->turns);
    return rc;
}

int sq_commit(struct sq_store *st)
{
    if (st->depth == 0 || sqlite3_get_autocommit(st->db))
        return sq_err(st, "the transaction was rolled back by an earlier error"), -1;
    if (st->depth == 1 && st->ntally > 0 && tally_flush(st) != 0)
        return -1;
    int rc = sq_exec(st, sq_q(st, st->depth > 1 ? Q_RELEASE : Q_COMMIT, ""), "commit");
    if (rc == 0 && --st->depth == 0 && st->take)
        st->give(st->turns);
    return rc;
}

void sq_rollback(struct sq_store *st)
{
    if (st->depth == 0)
        return;
    bool inner = st->depth-- > 1 && !sqlite3_get_autocommit(st->db);
    /* what the rolled back part counted goes with it (all of it when SQLite rolled back
     * the whole transaction) */
    tally_cut(st, inner ? st->tally_at[st->depth] : 0);
    sqlite3_stmt *s = sq_q(st, inner ? Q_ROLLBACK_TO : Q_ROLLBACK, "");
    if (s) {
        sq_step(st, s);
        sq_done(s);
    }
    if (inner && (s = sq_q(st, Q_RELEASE, ""))) {
        sq_step(st, s);
        sq_done(s);
    }
    if (st->depth == 0 && st->take)
        st->give(st->turns);
}

int sq_tx_begin(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_begin(st);
}
int sq_tx_commit(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sq_commit(st) == 0)
        return 0;
    sq_rollback(st);
    return -1;
}
void sq_tx_rollback(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    sq_rollback(st);
}

void sq_turns(struct sc_store *base, void (*take)(void *), void (*give)(void *), void *turns)
{
    struct sq_store *st = (struct sq_store *)base;
    st->take = take;
    st->give = give;
    st->turns = turns;
}
bool sq_tx_open(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    return st->depth > 0 && !sqlite3_get_autocommit(st->db);
}

int sq_checkpoint_apart(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    return sqlite3_exec(st->db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) == SQLITE_OK
               ? 0 : sq_db_err(st, "wal_autocheckpoint");
}

int sq_checkpoint(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_BUSY)
        return 0;
    return rc != SQLITE_OK ? sq_db_err(st, "checkpoint") : log > 0 ? log : 0;
}

int sq_sync(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_file *wal = NULL;
    if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
        !wal || !wal->pMethods)
        return sq_err(st, "syncing the store: its write-ahead log is not open"), -1;
    if (wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK)
        return sq_err(st, "syncing the store's write-ahead log failed"), -1;
    return 0;
}


const struct sc_store_backend sc_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .error = sq_error,
    .close = sq_close,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .turns = sq_turns,
    .tx_open = sq_tx_open,
    .checkpoint_apart = sq_checkpoint_apart,
    .checkpoint = sq_checkpoint,
    .sync = sq_sync,
    .lease_renew = sq_lease_renew,
    .lease_drop = sq_lease_drop,
    .heartbeat = sq_heartbeat,
    .exec_begin = sq_exec_begin,
    .exec_claim = sq_exec_claim,
    .exec_end = sq_exec_end,
    .exec_get = sq_exec_get,
    .exec_resume_info = sq_exec_resume_info,
    .exec_list = sq_exec_list,
    .exec_abandoned = sq_exec_abandoned,
    .step_begin = sq_step_begin,
    .step_end = sq_step_end,
    .step_state = sq_step_state,
    .journal = sq_journal,
    .enqueue = sq_enqueue,
    .last_seq = sq_last_seq,
    .claim_next = sq_claim_next,
    .queue_state = sq_queue_state,
    .trigger_get = sq_trigger_get,
    .trigger_set = sq_trigger_set,
    .poll_seen = sq_poll_seen,
    .poll_mark = sq_poll_mark,
    .poll_prune = sq_poll_prune,
    .ds_get = sq_ds_get,
    .ds_entry = sq_ds_entry,
    .ds_set = sq_ds_set,
    .ds_delete = sq_ds_delete,
    .ds_search = sq_ds_search,
    .ds_claim = sq_ds_claim,
    .incomplete_put = sq_incomplete_put,
    .incomplete_list = sq_incomplete_list,
    .incomplete_get = sq_incomplete_get,
    .incomplete_due = sq_incomplete_due,
    .incomplete_close = sq_incomplete_close,
    .hold_get = sq_hold_get,
    .hold_put = sq_hold_put,
    .holds = sq_holds,
    .decision_add = sq_decision_add,
    .decision_take = sq_decision_take,
    .decision_end = sq_decision_end,
    .decision = sq_decision,
    .decisions = sq_decisions,
    .hold = sq_hold,
    .hold_decide = sq_hold_decide,
    .queue_push = sq_queue_push,
    .queue_items = sq_queue_items,
    .queue_item = sq_queue_item,
    .queue_resolve = sq_queue_resolve,
    .queue_depths = sq_queue_depths,
    .queue_push_key = sq_queue_push_key,
    .queue_sweep = sq_queue_sweep,
    .queue_open = sq_queue_open,
    .version_add = sq_version_add,
    .version_get = sq_version_get,
    .versions = sq_versions,
    .versions_current = sq_versions_current,
    .versions_stamp = sq_versions_stamp,
    .audit_key = sq_audit_key,
    .audit_add = sq_audit_add,
    .audit_list = sq_audit_list,
    .audit_checkpoint = sq_audit_checkpoint,
    .audit_verify = sq_audit_verify,
    .shadow_add = sq_shadow_add,
    .shadow_list = sq_shadow_list,
    .metrics = sq_metrics,
    .audit_summary = sq_audit_summary,
    .counters = sq_counters,
    .defer = sq_defer,
    .defer_mark = sq_defer_mark,
    .defer_refused = sq_defer_refused,
    .defer_cut = sq_defer_cut,
    .defer_apply = sq_defer_apply,
    .prune = sq_prune,
    .vacuum = sq_vacuum,
    .space = sq_space,
    .backup = sq_backup,
    .audit_chain = sq_audit_chain_of,
    .audit_archived = sq_audit_archived,
    .queue_history = sq_queue_history,
};
