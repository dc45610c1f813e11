/* The PostgreSQL backend of the store (libpq): its statements (run with text parameters
 * by the letters of a format), sealing of confidential values, opening (the password by a
 * secret reference) and migrating, transactions, and the table of its calls. */
#include "store/pg.h"

#include "clock.h"
#include "conninfo.h"
#include "crypto.h"
#include "util.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Text sorts as in SQLite (bytes, COLLATE "C"), whatever the database's locale. */

/* A queued event a worker may take now: a sequential lane waits while one of its
 * executions runs, waits for a retry, or arrived earlier (as the SQLite backend). */
#define RUNNABLE                                                                              \
    "e.status = 'queued' AND (e.lane IS NULL OR (NOT EXISTS("                                \
    " SELECT 1 FROM executions b WHERE b.lane = e.lane AND b.status = 'running')"             \
    " AND NOT EXISTS(SELECT 1 FROM executions b WHERE b.lane = e.lane AND b.status = 'queued'" \
    " AND b.seq < e.seq) AND NOT EXISTS(SELECT 1 FROM executions b WHERE b.lane = e.lane"     \
    " AND b.status IN ('warning', 'sleeping') AND EXISTS(SELECT 1 FROM incomplete i"          \
    " WHERE i.execution = b.id AND i.state = 'pending'))))"

#define INC_EXEC_ATTEMPTS \
    "coalesce((SELECT e.attempts FROM executions e WHERE e.id = incomplete.execution), 0)"

#define INC_COLS \
    "execution, scenario, step, bundle, error, attempts, max_attempts, next_at, state," \
    " created_at, updated_at, decided_by"
#define HOLD_COLS \
    "id, execution, scenario, step, bundle, reason, diff, state, created_at, decided_at, decided_by"
#define DEC_COLS "id, execution, action, hold, decided_by, decided_at, reason, state," \
                 " outcome, ended_at"
#define QI_COLS "id, queue, item, execution, state, created_at, done_at, done_by, key," \
                " last_seen, times_seen, resolution, note"
#define QI_LIST                                                                                 \
    "SELECT " QI_COLS " FROM queue_items WHERE ($1::text IS NULL OR queue = $1)"                \
    " AND ($2::text IS NULL OR state = $2)"
/* one line per write: its pending row with the row that completed it, if any */
#define AUDIT_LIST                                                                              \
    "SELECT a.id, a.at, a.org, a.scenario, a.version, a.execution, a.step,"                     \
    " a.method, a.sent_from, a.sent_to, coalesce(c.status, a.status),"                          \
    " coalesce(c.duration_ms, a.duration_ms), a.body_sha256,"                                   \
    " coalesce(c.outcome, a.outcome), a.prev_hash, coalesce(c.hash, a.hash), a.actor"           \
    " FROM audit a LEFT JOIN audit c ON c.ref = a.id"                                           \
    " WHERE a.ref IS NULL AND ($1::text IS NULL OR a.scenario = $1)"                            \
    " AND ($2::text IS NULL OR left(a.sent_to, length($2)) = $2)"                               \
    " AND ($3::text IS NULL OR a.execution = $3)"

static const char *const sql[P_COUNT] = {
    [P_EXEC_BEGIN] = "INSERT INTO executions(id, scenario, org, version, source, status,"
                     " confidential, owner, trigger, started_at, lease_until)"
                     " VALUES($1,$2,$3,$4,$5,'running',$6,$7,$8,$9,$10) ON CONFLICT(id) DO NOTHING",
    [P_EXEC_OWNER] = "SELECT status, owner, lease_until, attempts FROM executions WHERE id = $1"
                     " FOR UPDATE",
    [P_EXEC_CLAIM] = "UPDATE executions SET status = 'running', owner = $1, attempts = $2,"
                     " finished_at = NULL, lease_until = $3 WHERE id = $4",
    [P_STEP_INTERRUPTED] = "UPDATE step_runs SET status = 'interrupted' WHERE execution = $1"
                           " AND status = 'running'",
    [P_EXEC_END] = "UPDATE executions SET status = $1, owner = NULL, lease_until = NULL,"
                   " finished_at = $2, duration_ms = $3, summary = $4, trigger = CASE WHEN"
                   " $6::int = 1 AND confidential = 1 THEN NULL ELSE trigger END WHERE id = $5",
    [P_EXEC_ERASE_TRIGGER] = "UPDATE executions SET trigger = NULL WHERE id = $1 AND confidential = 1",
    [P_EXEC_ERASE_STATES] = "UPDATE step_runs SET state = NULL WHERE execution = $1"
                            " AND state IS NOT NULL",
    [P_EXEC_GET] = "SELECT id, scenario, org, version, source, status, attempts, confidential,"
                   " started_at, finished_at, duration_ms, summary, trigger, queued_at, priority"
                   " FROM executions WHERE id = $1",
    [P_EXEC_STEPS] = "SELECT attempt, step, module, bundle, status, duration_ms, output, error,"
                     " bundles FROM step_runs WHERE execution = $1 ORDER BY id",
    [P_EXEC_RUNNING] = "SELECT id FROM executions WHERE status = 'running'"
                       " AND (lease_until IS NULL OR lease_until <= $1) ORDER BY started_at",
    [P_EXEC_LIST] = "SELECT id, scenario, version, status, attempts, started_at, duration_ms"
                    " FROM executions WHERE ($1::text IS NULL OR scenario = $1)"
                    " AND ($2::text IS NULL OR status = $2) AND started_at >= $3"
                    " AND ($5::text IS NULL OR started_at < $6"
                    " OR (started_at = $6 AND id COLLATE \"C\" < $5))"
                    " ORDER BY started_at DESC, id COLLATE \"C\" DESC LIMIT $4",
    [P_STEP_BEGIN] = "INSERT INTO step_runs(execution, attempt, step, module, bundle, status,"
                     " started_at, duration_ms, bundles, output, error, state)"
                     " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id",
    [P_STEP_END] = "UPDATE step_runs SET status = $1, duration_ms = $2, bundles = $3, output = $4,"
                   " error = $5, state = $6 WHERE id = $7",
    [P_STEP_STATE] = "UPDATE step_runs SET state = $1 WHERE id = $2",
    [P_JOURNAL] = "SELECT step, bundle, state FROM step_runs WHERE execution = $1"
                  " AND state IS NOT NULL ORDER BY id",
    [P_INC_PUT] = "INSERT INTO incomplete(execution, scenario, step, bundle, error, attempts,"
                  " max_attempts, next_at, state, created_at, updated_at)"
                  " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10) ON CONFLICT(execution) DO UPDATE"
                  " SET step = $3, bundle = $4, error = $5, attempts = $6, max_attempts = $7,"
                  " next_at = $8, state = $9, updated_at = $10, decided_by = NULL",
    [P_INC_GET] = "SELECT " INC_COLS " FROM incomplete WHERE execution = $1",
    [P_INC_LIST_OPEN] = "SELECT " INC_COLS " FROM incomplete WHERE state IN ('pending',"
                        " 'exhausted', 'held') ORDER BY created_at, execution COLLATE \"C\"",
    [P_INC_LIST_STATE] = "SELECT " INC_COLS " FROM incomplete WHERE state = $1"
                         " ORDER BY created_at, execution COLLATE \"C\"",
    [P_INC_DUE] = "SELECT execution FROM incomplete WHERE state = 'pending' AND next_at <= $1"
                  " ORDER BY next_at, execution COLLATE \"C\"",
    [P_INC_CLOSE] = "UPDATE incomplete SET state = $1, decided_by = $2, updated_at = $3,"
                    " next_at = NULL, attempts = greatest(attempts, " INC_EXEC_ATTEMPTS "),"
                    " max_attempts = CASE WHEN max_attempts > 0 THEN greatest(max_attempts, "
                    INC_EXEC_ATTEMPTS ") ELSE 0 END WHERE execution = $4"
                    " AND state IN ('pending', 'exhausted', 'held')",
    [P_AUDIT_HEAD] = "SELECT last_id, last_hash, mac FROM audit_head WHERE one = 1",
    [P_AUDIT_INSERT] = "INSERT INTO audit(id, at, org, scenario, version, execution, step, method,"
                       " sent_from, sent_to, status, duration_ms, body_sha256, outcome, prev_hash,"
                       " hash, ref, key_id, actor) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,"
                       "$14,$15,$16,$17,$18,$19)",
    [P_AUDIT_SET_HEAD] = "INSERT INTO audit_head(one, last_id, last_hash, mac) VALUES(1, $1, $2, $3)"
                         " ON CONFLICT(one) DO UPDATE SET last_id = $1, last_hash = $2, mac = $3",
    [P_AUDIT_ALL] = "SELECT id, at, org, scenario, version, execution, step, method, sent_from,"
                    " sent_to, status, duration_ms, body_sha256, outcome, prev_hash, hash, ref,"
                    " key_id, actor FROM audit ORDER BY id",
    [P_AUDIT_LIST] = AUDIT_LIST " ORDER BY a.id LIMIT $4",
    [P_AUDIT_LIST_NEW] = AUDIT_LIST " ORDER BY a.id DESC LIMIT $4",
    [P_AUDIT_TAIL] = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
    /* seq from a sequence: two daemons enqueueing at once get distinct positions */
    [P_ENQUEUE] = "INSERT INTO executions(id, scenario, org, version, source, status, attempts,"
                  " confidential, trigger, started_at, queued_at, seq, priority, lane, dedupe)"
                  " VALUES($1,$2,$3,$4,$5,'queued',0,$6,$7,$8,$8,nextval('executions_seq'),"
                  "$9,$10,$11) ON CONFLICT DO NOTHING",
    [P_DEDUPE_FIRST] = "SELECT id FROM executions WHERE scenario = $1 AND dedupe = $2",
    /* The next event: realtime first, then arrival order; rows another daemon is claiming
     * are skipped, not waited for. */
    [P_CLAIM_NEXT] = "UPDATE executions SET status = 'running', owner = $1, attempts = 1,"
                     " started_at = $2::bigint, lease_until = $2::bigint + $3::bigint WHERE status = 'queued' AND id ="
                     " (SELECT e.id FROM executions e WHERE " RUNNABLE
                     " ORDER BY e.priority DESC, e.seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
                     " RETURNING id, scenario, version, source, status, attempts, confidential,"
                     " trigger",
    [P_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM executions",
    [P_RUNNABLE] = "SELECT count(*) FROM executions e WHERE " RUNNABLE,
    [P_NEXT_RETRY] = "SELECT min(next_at) FROM incomplete WHERE state = 'pending'",
    [P_TRIG_GET] = "SELECT last_at, watermark FROM trigger_state WHERE scenario = $1"
                   " AND trigger = $2",
    [P_TRIG_SET] = "INSERT INTO trigger_state(scenario, trigger, last_at, watermark, updated_at)"
                   " VALUES($1,$2,$3,$4,$5) ON CONFLICT(scenario, trigger) DO UPDATE SET"
                   " last_at = coalesce($3, trigger_state.last_at),"
                   " watermark = coalesce($4, trigger_state.watermark), updated_at = $5",
    [P_SEEN_GET] = "SELECT 1 FROM poll_seen WHERE scenario = $1 AND trigger = $2 AND key = $3",
    [P_SEEN_PUT] = "INSERT INTO poll_seen(scenario, trigger, key, seen_at) VALUES($1,$2,$3,$4)"
                   " ON CONFLICT(scenario, trigger, key) DO UPDATE SET seen_at = $4",
    [P_SEEN_PRUNE] = "DELETE FROM poll_seen WHERE scenario = $1 AND trigger = $2 AND seen_at < $3",
    [P_VER_CURRENT] = "SELECT number, checksum FROM versions WHERE scenario = $1"
                      " ORDER BY number DESC LIMIT 1",
    [P_VER_ADD] = "INSERT INTO versions(scenario, number, created_at, message, checksum, origin,"
                  " document) VALUES($1,$2,$3,$4,$5,$6,$7)",
    [P_VER_GET] = "SELECT scenario, number, created_at, message, checksum, origin, document"
                  " FROM versions WHERE scenario = $1 AND (number = $2 OR ($2 = 0 AND number ="
                  " (SELECT max(number) FROM versions WHERE scenario = $1)))",
    [P_VER_LIST] = "SELECT scenario, number, created_at, message, checksum, origin FROM versions"
                   " WHERE scenario = $1 ORDER BY number",
    [P_VER_ALL_CURRENT] = "SELECT v.scenario, v.number, v.created_at, v.message, v.checksum,"
                          " v.origin FROM versions v WHERE v.number = (SELECT max(number)"
                          " FROM versions w WHERE w.scenario = v.scenario) ORDER BY v.scenario COLLATE \"C\"",
    [P_VER_STAMP] = "SELECT count(*), coalesce(max(created_at), 0) FROM versions",
    [P_DS_GET] = "SELECT value FROM datastore WHERE store = $1 AND key = $2"
                 " AND (expires_at IS NULL OR expires_at > $3)",
    [P_DS_ENTRY] = "SELECT value, expires_at FROM datastore WHERE store = $1 AND key = $2"
                   " AND (expires_at IS NULL OR expires_at > $3)",
    [P_DS_SET] = "INSERT INTO datastore(store, key, value, updated_at, expires_at)"
                 " VALUES($1,$2,$3,$4,$5) ON CONFLICT(store, key) DO UPDATE SET value = $3,"
                 " updated_at = $4, expires_at = $5",
    [P_DS_DEL] = "DELETE FROM datastore WHERE store = $1 AND key = $2",
    [P_DS_SEARCH] = "SELECT key, value FROM datastore WHERE store = $1"
                    " AND left(key, length($2::text)) = $2::text AND (expires_at IS NULL OR expires_at > $3)"
                    " ORDER BY key COLLATE \"C\" LIMIT $4",
    /* a key is taken when absent or expired: one statement, so two workers cannot both */
    [P_DS_CLAIM] = "INSERT INTO datastore(store, key, value, updated_at, expires_at)"
                   " VALUES($1,$2,$3,$4,$5) ON CONFLICT(store, key) DO UPDATE SET value = $3,"
                   " updated_at = $4, expires_at = $5 WHERE datastore.expires_at IS NOT NULL"
                   " AND datastore.expires_at <= $4",
    [P_QI_PUSH] = "INSERT INTO queue_items(id, queue, item, execution, created_at)"
                  " VALUES($1,$2,$3,$4,$5)",
    [P_QI_LIST] = QI_LIST " ORDER BY id LIMIT $3",
    [P_QI_LIST_NEW] = QI_LIST " ORDER BY id DESC LIMIT $3",
    [P_QI_GET] = "SELECT " QI_COLS " FROM queue_items WHERE id = $1",
    [P_QI_RESOLVE] = "UPDATE queue_items SET state = 'resolved', done_at = $1, done_by = $2,"
                     " note = $3 WHERE id = $4 AND state = 'open'",
    [P_QI_DEPTHS] = "SELECT queue, count(*), count(*) FILTER (WHERE created_at >= $1)"
                    " FROM queue_items WHERE state = 'open' GROUP BY queue ORDER BY queue COLLATE \"C\"",
    [P_QI_LAST] = "SELECT coalesce(max(id), 0) FROM queue_items",
    /* a keyed item seen again: counted once per execution that sees it */
    [P_QI_TOUCH] = "UPDATE queue_items SET item = $1, last_seen = $2, times_seen = times_seen"
                   " + CASE WHEN seen_by IS DISTINCT FROM $3::text THEN 1 ELSE 0 END,"
                   " seen_by = $3 WHERE queue = $4 AND key = $5 AND state = 'open'"
                   " RETURNING id, times_seen",
    [P_QI_PUSH_KEY] = "INSERT INTO queue_items(id, queue, item, execution, created_at, key,"
                      " last_seen, times_seen, seen_by) VALUES($1,$2,$3,$4,$5,$6,$5,1,$4)",
    [P_QI_SWEEP] = "UPDATE queue_items SET state = 'resolved', done_at = $1, done_by = $2,"
                   " resolution = $3 WHERE queue = $4 AND state = 'open' AND key IS NOT NULL"
                   " AND seen_by IS DISTINCT FROM $5::text",
    [P_QI_OPEN] = "SELECT count(*) FROM queue_items WHERE queue = $1 AND state = 'open'",
    [P_DEC_HOLD] = "UPDATE holds SET state = $1, decided_at = $2, decided_by = $3"
                   " WHERE id = $4 AND execution = $5 AND state = 'pending'",
    /* a second open continuation of the execution is no row (decisions_open) */
    [P_DEC_ADD] = "INSERT INTO decisions(execution, action, hold, decided_by, decided_at, reason,"
                  " state, outcome, ended_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)"
                  " ON CONFLICT DO NOTHING RETURNING id",
    /* the oldest waiting, or taken by a daemon that stopped: not renewed into a running
     * execution within a lease; a row another daemon is taking is skipped, not waited for */
    [P_DEC_TAKE] = "UPDATE decisions SET state = 'running', owner = $1::bigint, taken_at = $2::bigint"
                   " WHERE id = (SELECT d.id FROM decisions d WHERE d.state = 'pending'"
                   " OR (d.state = 'running' AND (d.owner IS NULL OR (d.owner <> $1"
                   " AND coalesce(d.taken_at, 0) <= $2::bigint - $3::bigint AND NOT EXISTS(SELECT 1"
                   " FROM executions e WHERE e.id = d.execution AND e.status = 'running'"
                   " AND e.lease_until > $2))))"
                   " ORDER BY d.id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
    /* only its holder ends a taken continuation: one another daemon took over is its own */
    [P_DEC_END] = "UPDATE decisions SET state = 'done', outcome = $1, ended_at = $2"
                  " WHERE id = $3 AND (state = 'here' OR (state = 'running' AND owner = $4))",
    /* the heartbeat: a continuation's take is renewed while its execution runs here */
    [P_DEC_RENEW] = "UPDATE decisions SET taken_at = $1 WHERE execution = $2 AND owner = $3"
                    " AND state = 'running'",
    [P_DEC_GET] = "SELECT " DEC_COLS " FROM decisions WHERE id = $1",
    [P_DEC_LIST] = "SELECT " DEC_COLS " FROM decisions WHERE execution = $1 ORDER BY id",
    [P_SHADOW_ADD] = "INSERT INTO shadow_writes(at, org, scenario, version, execution, step,"
                     " bundle, connection, method, url, status, audit_id, confidential, request)"
                     " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING id",
    [P_SHADOW_LIST] = "SELECT id, at, org, scenario, version, execution, step, bundle,"
                      " connection, method, url, status, audit_id, confidential, request"
                      " FROM shadow_writes WHERE ($1::text IS NULL OR scenario = $1)"
                      " AND ($2::text IS NULL OR execution = $2) ORDER BY id LIMIT $3",
    /* a throttled connection's row, made on first use, then held till the commit */
    [P_SLOT_ROW] = "INSERT INTO throttle(org, conn) VALUES($1, $2) ON CONFLICT DO NOTHING",
    [P_SLOT_LOCK] = "SELECT last, tail FROM throttle WHERE org = $1 AND conn = $2 FOR UPDATE",
    [P_SLOT_SET] = "UPDATE throttle SET last = $3, tail = $4 WHERE org = $1 AND conn = $2",
    [P_SLOT_PROMISES] = "SELECT key, slot FROM throttle_promises WHERE org = $1 AND conn = $2"
                        " AND ($3::text IS NULL OR key = $3)",
    [P_SLOT_PROMISE] = "INSERT INTO throttle_promises(org, conn, key, slot) VALUES($1,$2,$3,$4)"
                       " ON CONFLICT(org, conn, key) DO UPDATE SET slot = excluded.slot",
    [P_SLOT_FORGET] = "DELETE FROM throttle_promises WHERE org = $1 AND conn = $2 AND"
                      " (key = $3::text OR slot < $4)",
    /* requests in flight: only those of daemons whose running executions hold live leases
     * (a killed daemon's count lapses with its leases) */
    [P_SLOT_FLIGHT] = "SELECT coalesce(sum(f.n), 0) FROM throttle_flight f WHERE f.org = $1"
                      " AND f.conn = $2 AND f.n > 0 AND (f.owner = $3 OR EXISTS(SELECT 1"
                      " FROM executions e WHERE e.status = 'running' AND e.owner = f.owner"
                      " AND e.lease_until > $4))",
    [P_SLOT_GO] = "INSERT INTO throttle_flight(org, conn, owner, n) VALUES($1, $2, $3, 1)"
                  " ON CONFLICT(org, conn, owner) DO UPDATE SET n = throttle_flight.n + 1",
    [P_SLOT_DONE] = "UPDATE throttle_flight SET n = n - 1 WHERE org = $1 AND conn = $2"
                    " AND owner = $3 AND n > 0",
    /* the counted changes folded into the counters, one statement */
    [P_COUNTERS_FOLD] = "WITH d AS (DELETE FROM counter_changes RETURNING name, l1, l2, n)"
                        " INSERT INTO counters(name, l1, l2, value) SELECT name, l1, l2, sum(n)"
                        " FROM d GROUP BY name, l1, l2 ON CONFLICT(name, l1, l2)"
                        " DO UPDATE SET value = counters.value + excluded.value",
    [P_HOLD_GET] = "SELECT " HOLD_COLS " FROM holds WHERE execution = $1 AND step = $2"
                   " AND bundle = $3",
    [P_HOLD_PUT] = "INSERT INTO holds(id, execution, scenario, step, bundle, reason, diff, state,"
                   " created_at) VALUES($1,$2,$3,$4,$5,$6,$7,'pending',$8)",
    [P_HOLD_LIST] = "SELECT " HOLD_COLS " FROM holds WHERE ($1::text IS NULL OR state = $1)"
                    " ORDER BY id",
    [P_HOLD_BY_ID] = "SELECT " HOLD_COLS " FROM holds WHERE id = $1",
    [P_HOLD_DECIDE] = "UPDATE holds SET state = $1, decided_at = $2, decided_by = $3"
                      " WHERE id = $4 AND state = 'pending'",
    [P_HOLD_LAST] = "SELECT coalesce(max(id), 0) FROM holds",
    [P_LEASE_RENEW] = "UPDATE executions SET lease_until = $1 WHERE id = $2 AND owner = $3"
                      " AND status = 'running'",
    [P_LEASE_DROP] = "UPDATE executions SET lease_until = NULL WHERE owner = $1"
                     " AND status = 'running'",
    [P_LOCK] = "SELECT pg_advisory_xact_lock($1)",
    [P_BEGIN] = "BEGIN",
    [P_COMMIT] = "COMMIT",
    [P_ROLLBACK] = "ROLLBACK",
    [P_SAVEPOINT] = "SAVEPOINT inner_tx",
    [P_RELEASE] = "RELEASE inner_tx",
    [P_ROLLBACK_TO] = "ROLLBACK TO inner_tx",
};

void pg_err(struct pg_store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    sc_conninfo_mask_buf(st->err, sizeof st->err); /* libpq may quote the address */
}

const char *pg_error(const struct sc_store *base)
{
    return ((const struct pg_store *)base)->err;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs (a table that exists) are not the user's business */
}

/* The server's message without its trailing newline. */
static void db_err(struct pg_store *st, const char *what, const PGresult *r)
{
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(st->db);
    int n = (int)strlen(m ? m : "");
    while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    pg_err(st, "store %s: %s: %.*s", st->addr, what, n, m ? m : "");
}

/* ---- statements ---- */

/* A new session for a lost one; what the old one held (prepared statements, the timers'
 * session lock) went with it. */
static void reset(struct pg_store *st)
{
    PQreset(st->db);
    memset(st->prepared, 0, sizeof st->prepared);
    st->leading = false; /* session locks went with the old session */
    if (PQstatus(st->db) == CONNECTION_OK)
        PQsetNoticeProcessor(st->db, quiet, NULL);
}

/* After a failure: a lost connection is replaced, so the next call runs on a new session. */
static void reconnect(struct pg_store *st)
{
    if (PQstatus(st->db) == CONNECTION_BAD)
        reset(st);
}

/* Before a statement outside a transaction: a session the server ended while it was idle
 * (a restart sends its goodbye, then closes the socket) is replaced now, so the statement
 * is not sent on it. What waits on the socket is read without waiting: the goodbye, then
 * the end of the stream (libpq reads one at a time: a few reads at most). */
static void ensure(struct pg_store *st)
{
    PGTransactionStatusType t = PQtransactionStatus(st->db);
    if (st->depth > 0 || t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE)
        return;
    for (int i = 0; i < 4 && PQstatus(st->db) == CONNECTION_OK; i++) {
        struct pollfd p = {.fd = PQsocket(st->db), .events = POLLIN};
        if (p.fd < 0 || poll(&p, 1, 0) <= 0 || !PQconsumeInput(st->db))
            break;
    }
    if (PQstatus(st->db) == CONNECTION_BAD)
        reset(st);
}

/* Whether a statement that failed goes again, once, on a new session: it found the
 * connection lost (CONNECTION_BAD, SQLSTATE class 08, or 57P0x: the server shutting down
 * or ending the session), it was sent outside any transaction (nothing of the caller's
 * went with the old session), and it changes nothing (BEGIN, or a SELECT): a write may
 * have committed before the connection broke, so the caller decides about it. */
static bool again(struct pg_store *st, const PGresult *r, bool idle, const char *text)
{
    const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    bool lost = PQstatus(st->db) == CONNECTION_BAD ||
                (code && (!strncmp(code, "08", 2) || !strncmp(code, "57P0", 4)));
    if (!lost || !idle || (strcmp(text, "BEGIN") && strncmp(text, "SELECT ", 7)))
        return false;
    reset(st);
    return PQstatus(st->db) == CONNECTION_OK;
}

/* Outside any transaction, with nothing of one pending: a lost session loses nothing. */
static bool idle(const struct pg_store *st)
{
    return st->depth == 0 && PQtransactionStatus(st->db) == PQTRANS_IDLE;
}

/* Statement id prepared on this session (once; a new session prepares again): 0, or -1. */
static int prepare(struct pg_store *st, enum pq id, int nparams)
{
    if (st->prepared[id])
        return 0;
    char name[16];
    snprintf(name, sizeof name, "q%d", (int)id);
    PGresult *r = PQprepare(st->db, name, sql[id], nparams, NULL);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        db_err(st, "prepare", r);
    else
        st->prepared[id] = true;
    PQclear(r);
    return rc;
}

static PGresult *vq(struct pg_store *st, enum pq id, const char *fmt, va_list ap)
{
    enum { MAXP = 24 };
    int n = (int)strlen(fmt);
    const char *vals[MAXP] = {0};
    int lens[MAXP] = {0}, fmts[MAXP] = {0};
    char nums[MAXP][24];
    void *owned[MAXP];
    int nowned = 0;
    bool oom = false;
    if (n > MAXP)
        return pg_err(st, "internal error: a statement of more than %d values", MAXP), NULL;
    for (int k = 0; k < n; k++) {
        lens[k] = 0;
        fmts[k] = 0;
        vals[k] = NULL;
        switch (fmt[k]) {
        case 's':
            vals[k] = va_arg(ap, const char *);
            break;
        case 'i':
            snprintf(nums[k], sizeof nums[k], "%lld", (long long)va_arg(ap, int64_t));
            vals[k] = nums[k];
            break;
        case 'I': {
            int64_t v = va_arg(ap, int64_t);
            snprintf(nums[k], sizeof nums[k], "%lld", (long long)v);
            vals[k] = v >= 0 ? nums[k] : NULL;
            break;
        }
        case 'j': {
            json_t *v = va_arg(ap, json_t *);
            char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            oom |= v && !t;
            vals[k] = t;
            if (t)
                owned[nowned++] = t;
            break;
        }
        case 'b': {
            void *p = va_arg(ap, void *);
            size_t len = va_arg(ap, size_t);
            vals[k] = p;
            lens[k] = (int)len;
            fmts[k] = 1;
            if (p)
                owned[nowned++] = p;
            break;
        }
        default:
            break;
        }
    }
    PGresult *r = NULL;
    if (oom)
        pg_err(st, "out of memory");
    for (int go = 0; !oom && go < 2; go++) {
        ensure(st);
        bool was_idle = idle(st);
        if (PQstatus(st->db) != CONNECTION_OK) { /* the server is not there: say why */
            db_err(st, "cannot connect", NULL);
            break;
        }
        if (prepare(st, id, n) == 0) {
            char name[16];
            snprintf(name, sizeof name, "q%d", (int)id);
            r = PQexecPrepared(st->db, name, n, vals, lens, fmts, 0);
            ExecStatusType s = PQresultStatus(r);
            if (r && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK))
                break;
            db_err(st, "statement", r);
        }
        bool retry = go == 0 && again(st, r, was_idle, sql[id]);
        PQclear(r);
        r = NULL;
        if (!retry)
            break;
    }
    for (int k = 0; k < nowned; k++)
        free(owned[k]);
    if (!r) {
        reconnect(st);
        return NULL;
    }
    const char *c = PQcmdTuples(r);
    st->changes = c && *c ? strtoll(c, NULL, 10) : 0;
    return r;
}

PGresult *pg_q(struct pg_store *st, enum pq id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = vq(st, id, fmt, ap);
    va_end(ap);
    return r;
}

int pg_run(struct pg_store *st, const char *what, enum pq id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = vq(st, id, fmt, ap);
    va_end(ap);
    if (!r) { /* "store ADDR: WHAT: the server's words", the address once */
        char m[sizeof st->err], pre[sizeof st->err];
        snprintf(pre, sizeof pre, "store %s: ", st->addr);
        sc_conninfo_mask_buf(pre, sizeof pre);
        const char *rest = strncmp(st->err, pre, strlen(pre)) ? st->err : st->err + strlen(pre);
        if (!strncmp(rest, "statement: ", 11))
            rest += 11;
        snprintf(m, sizeof m, "%s", rest);
        pg_err(st, "store %s: %s: %s", st->addr, what, m);
        return -1;
    }
    PQclear(r);
    return 0;
}

int pg_exec_text(struct pg_store *st, const char *text, const char *what)
{
    int rc = -1;
    for (int go = 0; rc != 0 && go < 2; go++) {
        ensure(st);
        bool was_idle = idle(st);
        PGresult *r = PQexec(st->db, text);
        ExecStatusType s = PQresultStatus(r);
        rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : -1;
        if (rc)
            db_err(st, what, r);
        bool retry = rc && go == 0 && again(st, r, was_idle, text);
        PQclear(r);
        if (!retry)
            break;
    }
    if (rc)
        reconnect(st);
    return rc;
}

int pg_ping(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    ensure(st); /* a lost session is replaced, or the server cannot be reached now */
    if (PQstatus(st->db) != CONNECTION_OK)
        return db_err(st, "cannot connect", NULL), -1;
    return pg_exec_text(st, "SELECT 1", "ping");
}

int pg_lock(struct pg_store *st, int64_t key)
{
    return pg_run(st, "taking a lock", P_LOCK, "i", key);
}

bool pg_null(const PGresult *r, int row, int col) { return PQgetisnull(r, row, col); }

const char *pg_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

int64_t pg_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

json_t *pg_json(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL
                                    : json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
}

json_t *pg_iso(int64_t ms)
{
    char buf[40];
    sc_clock_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

json_t *pg_rows(struct pg_store *st, PGresult *r, json_t *(*row)(const PGresult *, int))
{
    if (!r)
        return NULL;
    json_t *a = json_array();
    for (int i = 0; a && i < PQntuples(r); i++)
        json_array_append_new(a, row(r, i));
    PQclear(r);
    if (!a)
        pg_err(st, "out of memory");
    return a;
}

/* ---- sealing: AES-256-GCM, so confidential data at rest is unreadable without the key ---- */

static int load_key(struct pg_store *st)
{
    if (st->have_key)
        return 0;
    char err[256], *hex;
    if (!st->key_ref) /* no file beside a database on another machine */
        return pg_err(st, "store %s: confidential data is sealed with the org's store_key (a "
                      "secret reference to 64 hexadecimal digits): set one", st->addr), -1;
    if (!(hex = sc_org_secret(st->key_ref, err, sizeof err)))
        return pg_err(st, "store key: %s", err), -1;
    bool ok = strlen(hex) == 64;
    for (int i = 0; ok && i < 32; i++) {
        unsigned v;
        ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
        st->key[i] = (unsigned char)v;
    }
    memset(hex, 0, strlen(hex));
    free(hex);
    if (!ok)
        return pg_err(st, "store key must be 64 hexadecimal digits"), -1;
    st->have_key = true;
    return 0;
}

json_t *pg_value(struct pg_store *st, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    size_t n;
    unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (!b)
        return pg_err(st, "out of memory"), NULL;
    json_t *v = NULL;
    if (sc_crypto_is_sealed(b, n)) {
        if (n >= SC_CRYPTO_SEAL_OVERHEAD && load_key(st) == 0) {
            size_t len;
            char *text = sc_crypto_open(st->key, b, n, &len);
            v = text ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
            if (!text)
                pg_err(st, "sealed data does not open with this store's key");
            free(text);
        }
    } else {
        v = json_loadb((const char *)b, n, JSON_DECODE_ANY, NULL);
    }
    PQfreemem(b);
    return v;
}

void *pg_value_blob(struct pg_store *st, json_t *v, bool sealed, size_t *n, bool *failed)
{
    return pg_dumped_blob(st, v, NULL, sealed, n, failed);
}

void *pg_dumped_blob(struct pg_store *st, json_t *v, const char *text, bool sealed, size_t *n,
                     bool *failed)
{
    *n = 0;
    *failed = false;
    if (!v)
        return NULL;
    size_t len;
    char *t = sc_store_json_text(v, text, &len);
    void *b = t;
    if (!t)
        pg_err(st, "out of memory");
    else if (!sealed)
        *n = len;
    else {
        b = load_key(st) == 0 ? sc_crypto_seal(st->key, t, len, n) : NULL;
        if (!b && st->have_key)
            pg_err(st, "sealing confidential data failed");
        free(t);
    }
    *failed = !b;
    return b;
}

/* ---- opening ---- */

static struct sc_store *open_conn(const char *addr, const char *key_ref, char *err, size_t errlen)
{
    struct pg_store *st = sc_calloc(1, sizeof *st);
    char *uri = NULL, *ref = NULL, *password = NULL;
    if (st)
        st->base.be = &sc_store_pg;
    if (!st || !(st->addr = sc_strdup(addr)) || (key_ref && !(st->key_ref = sc_strdup(key_ref))) ||
        sc_conninfo_take(addr, "password", &ref, &uri) != 0) {
        snprintf(err, errlen, "out of memory");
        pg_close((struct sc_store *)st);
        return NULL;
    }
    if (ref && !(password = sc_org_secret(ref, err, errlen))) {
        char m[256], *shown = sc_conninfo_mask_source(addr, strlen(addr), NULL, NULL);
        snprintf(m, sizeof m, "%s", err); /* the address masked alone: its text ends there */
        snprintf(err, errlen, "store %s: its password: %s", shown ? shown : "", m);
        free(shown);
        free(uri);
        free(ref);
        pg_close((struct sc_store *)st);
        return NULL;
    }
    /* pg_stat_activity names the process: which daemon holds what */
    char app[40];
    snprintf(app, sizeof app, "scenarist pid %ld", (long)getpid());
    /* a connection attempt gives up after 10 s unless the URI says otherwise (it comes
     * after, so it wins): a server that does not answer holds no thread for minutes */
    const char *keys[] = {"connect_timeout", "dbname", "application_name", "password", NULL};
    const char *vals[] = {"10", uri, app, password, NULL};
    if (!password)
        keys[3] = vals[3] = NULL;
    st->db = PQconnectdbParams(keys, vals, 1);
    if (password)
        memset(password, 0, strlen(password));
    free(password);
    free(uri);
    free(ref);
    if (!st->db || PQstatus(st->db) != CONNECTION_OK) {
        const char *m = st->db ? PQerrorMessage(st->db) : "out of memory";
        int n = (int)strlen(m);
        while (n > 0 && m[n - 1] == '\n')
            n--;
        char said[512], *shown = sc_conninfo_mask_source(addr, strlen(addr), NULL, NULL);
        snprintf(said, sizeof said, "%.*s", n, m);
        sc_conninfo_mask_buf(said, sizeof said); /* libpq's words may quote the address */
        snprintf(err, errlen, "store %s: cannot connect: %s", shown ? shown : "", said);
        free(shown);
        pg_close((struct sc_store *)st);
        return NULL;
    }
    PQsetNoticeProcessor(st->db, quiet, NULL);
    if (pg_migrate(st) != 0) {
        snprintf(err, errlen, "%s", st->err);
        pg_close((struct sc_store *)st);
        return NULL;
    }
    return &st->base;
}

struct sc_store *pg_open(const char *addr, const char *key_ref, char *err, size_t errlen)
{
    /* its errors show the address and libpq's words masked, each on its own: masking the
     * whole message would take what follows a password= for the password */
    return open_conn(addr, key_ref, err, errlen);
}

void pg_close(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    if (!st)
        return;
    pg_defer(&st->base, false);
    sc_heartbeat_stop(st->hb);
    pg_watch_stop(st->watch);
    if (st->db)
        PQfinish(st->db);
    free(st->addr);
    free(st->key_ref);
    memset(st->key, 0, sizeof st->key);
    sc_audit_key_clear(&st->audit);
    free(st);
}

/* ---- transactions: the outermost is BEGIN .. COMMIT, inner ones savepoints ---- */

static bool aborted(struct pg_store *st)
{
    return PQtransactionStatus(st->db) == PQTRANS_INERROR;
}

int pg_begin(struct pg_store *st)
{
    if (st->depth > 0 && aborted(st))
        return pg_err(st, "the enclosing transaction was rolled back by an earlier error"), -1;
    if (pg_run(st, "begin", st->depth > 0 ? P_SAVEPOINT : P_BEGIN, "") != 0)
        return -1;
    st->depth++;
    return 0;
}

int pg_commit(struct pg_store *st)
{
    if (st->depth == 0 || aborted(st))
        return pg_err(st, "the transaction was rolled back by an earlier error"), -1;
    if (pg_run(st, "commit", st->depth > 1 ? P_RELEASE : P_COMMIT, "") != 0)
        return -1;
    st->depth--;
    return 0;
}

void pg_rollback(struct pg_store *st)
{
    if (st->depth == 0)
        return;
    char keep[sizeof st->err];
    memcpy(keep, st->err, sizeof keep); /* the error that made the caller roll back */
    if (st->depth-- > 1) {
        if (pg_run(st, "rollback", P_ROLLBACK_TO, "") == 0)
            pg_run(st, "rollback", P_RELEASE, "");
    } else {
        pg_run(st, "rollback", P_ROLLBACK, "");
    }
    memcpy(st->err, keep, sizeof keep);
}

int pg_tx_begin(struct sc_store *base) { return pg_begin((struct pg_store *)base); }

int pg_tx_commit(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_commit(st) == 0)
        return 0;
    pg_rollback(st);
    return -1;
}

void pg_tx_rollback(struct sc_store *base) { pg_rollback((struct pg_store *)base); }

bool pg_tx_open(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    return st->depth > 0 && !aborted(st);
}

int pg_lead(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    char q[96];
    snprintf(q, sizeof q, "SELECT pg_try_advisory_lock(%lld)", (long long)PG_LOCK_TIMERS);
    ensure(st);
    PGresult *r = PQexec(st->db, q);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? !strcmp(PQgetvalue(r, 0, 0), "t") : -1;
    if (rc < 0)
        db_err(st, "taking the timers' lead", r);
    PQclear(r);
    if (rc == 1 && st->leading) /* its holder took it again: a count kept at one */
        pg_exec_text(st, "SELECT pg_advisory_unlock(" PG_LOCK_TIMERS_TEXT ")", "the timers' lead");
    st->leading = rc == 1;
    return rc;
}

int pg_served(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    char q[256]; /* a bigint advisory key is (classid, objid) = its high and low 32 bits */
    snprintf(q, sizeof q, "SELECT EXISTS(SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
             " AND granted AND classid = %lld AND objid = %lld AND objsubid = 1 AND database ="
             " (SELECT oid FROM pg_database WHERE datname = current_database()))",
             (long long)(PG_LOCK_TIMERS >> 32), (long long)(PG_LOCK_TIMERS & 0xffffffffLL));
    ensure(st);
    PGresult *r = PQexec(st->db, q);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? !strcmp(PQgetvalue(r, 0, 0), "t") : -1;
    if (rc < 0)
        db_err(st, "looking for a daemon", r);
    PQclear(r);
    return rc;
}

/* Several daemons write at once: no write turns, no WAL of this process to sync or
 * checkpoint (a commit PostgreSQL answered is durable): those hooks stay NULL. */
const struct sc_store_backend sc_store_pg = {
    .name = "postgresql",
    .open = pg_open,
    .error = pg_error,
    .close = pg_close,
    .tx_begin = pg_tx_begin,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
    .tx_open = pg_tx_open,
    .lead = pg_lead,
    .watch = pg_watch,
    .served = pg_served,
    .ping = pg_ping,
    .lease_renew = pg_lease_renew,
    .lease_drop = pg_lease_drop,
    .heartbeat = pg_heartbeat,
    .exec_begin = pg_exec_begin,
    .exec_claim = pg_exec_claim,
    .exec_end = pg_exec_end,
    .exec_get = pg_exec_get,
    .exec_resume_info = pg_exec_resume_info,
    .exec_list = pg_exec_list,
    .exec_abandoned = pg_exec_abandoned,
    .step_begin = pg_step_begin,
    .step_end = pg_step_end,
    .step_state = pg_step_state,
    .journal = pg_journal,
    .enqueue = pg_enqueue,
    .last_seq = pg_last_seq,
    .claim_next = pg_claim_next,
    .queue_state = pg_queue_state,
    .trigger_get = pg_trigger_get,
    .trigger_set = pg_trigger_set,
    .poll_seen = pg_poll_seen,
    .poll_mark = pg_poll_mark,
    .poll_prune = pg_poll_prune,
    .ds_get = pg_ds_get,
    .ds_entry = pg_ds_entry,
    .ds_set = pg_ds_set,
    .ds_delete = pg_ds_delete,
    .ds_search = pg_ds_search,
    .ds_claim = pg_ds_claim,
    .incomplete_put = pg_incomplete_put,
    .incomplete_list = pg_incomplete_list,
    .incomplete_get = pg_incomplete_get,
    .incomplete_due = pg_incomplete_due,
    .incomplete_close = pg_incomplete_close,
    .hold_get = pg_hold_get,
    .hold_put = pg_hold_put,
    .holds = pg_holds,
    .hold = pg_hold,
    .hold_decide = pg_hold_decide,
    .queue_push = pg_queue_push,
    .queue_items = pg_queue_items,
    .queue_item = pg_queue_item,
    .queue_resolve = pg_queue_resolve,
    .queue_depths = pg_queue_depths,
    .queue_push_key = pg_queue_push_key,
    .queue_sweep = pg_queue_sweep,
    .queue_open = pg_queue_open,
    .decision_add = pg_decision_add,
    .decision_take = pg_decision_take,
    .decision_end = pg_decision_end,
    .decision = pg_decision,
    .decisions = pg_decisions,
    .slot_take = pg_slot_take,
    .slot_done = pg_slot_done,
    .shadow_add = pg_shadow_add,
    .shadow_list = pg_shadow_list,
    .counters = pg_counters,
    .version_add = pg_version_add,
    .version_get = pg_version_get,
    .versions = pg_versions,
    .versions_current = pg_versions_current,
    .versions_stamp = pg_versions_stamp,
    .audit_key = pg_audit_key,
    .audit_add = pg_audit_add,
    .audit_list = pg_audit_list,
    .audit_checkpoint = pg_audit_checkpoint,
    .audit_verify = pg_audit_verify,
    .audit_summary = pg_audit_summary,
    .prune = pg_prune,
    .vacuum = pg_vacuum,
    .space = pg_space,
    .backup = pg_backup,
    .audit_chain = pg_audit_chain_of,
    .audit_archived = pg_audit_archived,
    .queue_history = pg_queue_history,
    .metrics = pg_metrics,
    .defer = pg_defer,
    .defer_mark = pg_defer_mark,
    .defer_refused = pg_defer_refused,
    .defer_cut = pg_defer_cut,
    .defer_apply = pg_defer_apply,
};
