/* The SQLite backend of the store: WAL, prepared statements kept for the connection's
 * life, migrations by PRAGMA user_version. The only file of scenarist with SQL. */
#include "store/store.h"

#include "clock.h"
#include "util.h"
#include "model/yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* Each migration takes the schema from version i to i + 1; never edit a shipped one. */
static const char *const migrations[] = {
    "CREATE TABLE executions("
    " id TEXT PRIMARY KEY, scenario TEXT NOT NULL, org TEXT NOT NULL, version TEXT NOT NULL,"
    " source TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,"
    " confidential INTEGER NOT NULL DEFAULT 0, owner INTEGER, trigger BLOB,"
    " started_at INTEGER NOT NULL, finished_at INTEGER, duration_ms INTEGER, summary TEXT);"
    "CREATE INDEX executions_started ON executions(started_at);"
    "CREATE INDEX executions_scenario ON executions(scenario, started_at);"
    "CREATE INDEX executions_status ON executions(status);"
    "CREATE TABLE step_runs("
    " id INTEGER PRIMARY KEY, execution TEXT NOT NULL REFERENCES executions(id),"
    " attempt INTEGER NOT NULL, step TEXT NOT NULL, module TEXT NOT NULL, bundle TEXT NOT NULL,"
    " status TEXT NOT NULL, started_at INTEGER NOT NULL, duration_ms INTEGER,"
    " bundles INTEGER, output TEXT, error TEXT, state BLOB);"
    "CREATE INDEX step_runs_execution ON step_runs(execution, id);"
    "CREATE TABLE incomplete("
    " execution TEXT PRIMARY KEY REFERENCES executions(id), scenario TEXT NOT NULL,"
    " step TEXT NOT NULL, bundle TEXT NOT NULL, error TEXT NOT NULL,"
    " attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, next_at INTEGER,"
    " state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " decided_by TEXT);"
    "CREATE INDEX incomplete_due ON incomplete(state, next_at);"
    "CREATE TABLE holds("
    " id INTEGER PRIMARY KEY, execution TEXT NOT NULL REFERENCES executions(id),"
    " scenario TEXT NOT NULL, step TEXT NOT NULL, bundle TEXT NOT NULL, reason TEXT,"
    " diff TEXT, state TEXT NOT NULL, created_at INTEGER NOT NULL, decided_at INTEGER,"
    " decided_by TEXT);"
    "CREATE TABLE queue_items("
    " id INTEGER PRIMARY KEY, queue TEXT NOT NULL, item TEXT NOT NULL, execution TEXT,"
    " state TEXT NOT NULL DEFAULT 'open', created_at INTEGER NOT NULL, done_at INTEGER);"
    "CREATE INDEX queue_items_open ON queue_items(queue, state);"
    "CREATE TABLE datastore("
    " store TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL, expires_at INTEGER, PRIMARY KEY(store, key));"
    "CREATE TABLE audit("
    " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, org TEXT, scenario TEXT, version TEXT,"
    " execution TEXT, step TEXT, method TEXT NOT NULL, sent_from TEXT, sent_to TEXT NOT NULL,"
    " status INTEGER, duration_ms INTEGER, body_sha256 TEXT NOT NULL, outcome TEXT NOT NULL,"
    " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_scenario ON audit(scenario, id);"
    "CREATE TABLE audit_head(one INTEGER PRIMARY KEY CHECK(one = 1),"
    " last_id INTEGER NOT NULL, last_hash TEXT NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    /* v2: the daemon's queue (events wait as executions with status queued), trigger
     * state (schedules' last run, polls' watermarks) and the keys polls have seen. */
    "ALTER TABLE executions ADD COLUMN seq INTEGER;"
    "ALTER TABLE executions ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE executions ADD COLUMN lane TEXT;"
    "ALTER TABLE executions ADD COLUMN dedupe TEXT;"
    "ALTER TABLE executions ADD COLUMN queued_at INTEGER;"
    "CREATE INDEX executions_seq ON executions(seq);"
    "CREATE UNIQUE INDEX executions_dedupe ON executions(scenario, dedupe) WHERE dedupe IS NOT NULL;"
    "CREATE INDEX executions_queue ON executions(priority DESC, seq) WHERE status = 'queued';"
    "CREATE INDEX executions_lane ON executions(lane, status) WHERE lane IS NOT NULL;"
    "CREATE TABLE trigger_state("
    " scenario TEXT NOT NULL, trigger TEXT NOT NULL, last_at INTEGER, watermark INTEGER,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY(scenario, trigger));"
    "CREATE TABLE poll_seen("
    " scenario TEXT NOT NULL, trigger TEXT NOT NULL, key TEXT NOT NULL, seen_at INTEGER NOT NULL,"
    " PRIMARY KEY(scenario, trigger, key));",
    /* v3: scenario versions, immutable; the current one is the highest number. */
    "CREATE TABLE versions("
    " scenario TEXT NOT NULL, number INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    " message TEXT, checksum TEXT NOT NULL, origin TEXT NOT NULL, document TEXT NOT NULL,"
    " PRIMARY KEY(scenario, number));"
    "CREATE TRIGGER versions_no_update BEFORE UPDATE ON versions"
    " BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;",
    /* v4: who closed a queue item; holds found by their step. */
    "ALTER TABLE queue_items ADD COLUMN done_by TEXT;"
    "CREATE INDEX queue_items_created ON queue_items(queue, created_at);"
    "CREATE UNIQUE INDEX holds_step ON holds(execution, step, bundle);",
    /* v5: a lane's earlier queued event is found by range, not by reading the lane. */
    "DROP INDEX executions_lane;"
    "CREATE INDEX executions_lane ON executions(lane, status, seq) WHERE lane IS NOT NULL;",
    /* v6: only running executions are looked up by status; a full status index cost every
     * claim and end two more b-tree writes. */
    "DROP INDEX executions_status;"
    "CREATE INDEX executions_running ON executions(started_at) WHERE status = 'running';",
    /* v7: a running execution is owned by a lease (owner token + expiry renewed by a
     * heartbeat), not by its process's pid; one from before leases has none: expired. */
    "ALTER TABLE executions ADD COLUMN lease_until INTEGER;",
    /* v8: a keyed audit chain (HMAC-SHA256 under the org's audit key, named by key_id; ''
     * for rows of an unkeyed chain, as every earlier row is) and write-ahead rows: a write
     * is a 'pending' row before it is sent and a row completing it (ref) after. */
    "ALTER TABLE audit ADD COLUMN ref INTEGER;"
    "ALTER TABLE audit ADD COLUMN key_id TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE audit_head ADD COLUMN mac TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX audit_ref ON audit(ref) WHERE ref IS NOT NULL;",
};

enum q {
    Q_EXEC_BEGIN, Q_EXEC_OWNER, Q_EXEC_CLAIM, Q_EXEC_END, Q_EXEC_ERASE_TRIGGER,
    Q_EXEC_ERASE_STATES, Q_EXEC_GET, Q_EXEC_STEPS, Q_EXEC_RUNNING, Q_EXEC_LIST,
    Q_STEP_BEGIN, Q_STEP_END, Q_STEP_STATE, Q_JOURNAL,
    Q_INC_PUT, Q_INC_GET, Q_INC_LIST_OPEN, Q_INC_LIST_STATE, Q_INC_DUE, Q_INC_CLOSE,
    Q_AUDIT_HEAD, Q_AUDIT_INSERT, Q_AUDIT_SET_HEAD, Q_AUDIT_ALL, Q_AUDIT_LIST,
    Q_ENQUEUE, Q_DEDUPE_FIRST, Q_CLAIM_NEXT, Q_LAST_SEQ, Q_RUNNABLE, Q_NEXT_RETRY, Q_TRIG_GET, Q_TRIG_SET, Q_SEEN_GET, Q_SEEN_PUT,
    Q_SEEN_PRUNE, Q_STATUS_COUNTS, Q_QUEUED_COUNTS,
    Q_VER_CURRENT, Q_VER_ADD, Q_VER_GET, Q_VER_LIST, Q_VER_ALL_CURRENT, Q_VER_STAMP,
    Q_DS_GET, Q_DS_ENTRY, Q_DS_SET, Q_DS_DEL, Q_DS_SEARCH, Q_DS_CLAIM,
    Q_QI_PUSH, Q_QI_LIST, Q_QI_GET, Q_QI_RESOLVE, Q_QI_DEPTHS,
    Q_HOLD_GET, Q_HOLD_PUT, Q_HOLD_LIST, Q_HOLD_BY_ID, Q_HOLD_DECIDE,
    Q_LEASE_RENEW, Q_LEASE_DROP,
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
    Q_COUNT
};

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

static const char *const sql[Q_COUNT] = {
    [Q_EXEC_BEGIN] = "INSERT INTO executions(id, scenario, org, version, source, status,"
                     " confidential, owner, trigger, started_at, lease_until)"
                     " VALUES(?,?,?,?,?,'running',?,?,?,?,?)",
    [Q_EXEC_OWNER] = "SELECT status, owner, lease_until FROM executions WHERE id = ?",
    [Q_EXEC_CLAIM] = "UPDATE executions SET status = 'running', owner = ?, attempts = ?,"
                     " finished_at = NULL, lease_until = ? WHERE id = ?",
    [Q_EXEC_END] = "UPDATE executions SET status = ?1, owner = NULL, lease_until = NULL, finished_at = ?2,"
                   " duration_ms = ?3, summary = ?4, trigger = CASE WHEN ?6 AND confidential"
                   " THEN NULL ELSE trigger END WHERE id = ?5",
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
    /* A NULL filter matches everything: one statement serves every combination. */
    [Q_EXEC_LIST] = "SELECT id, scenario, version, status, attempts, started_at, duration_ms"
                    " FROM executions WHERE (?1 IS NULL OR scenario = ?1)"
                    " AND (?2 IS NULL OR status = ?2) AND started_at >= ?3"
                    " ORDER BY started_at DESC, id DESC LIMIT ?4",
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
                       " hash, ref, key_id) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [Q_AUDIT_SET_HEAD] = "INSERT INTO audit_head(one, last_id, last_hash, mac) VALUES(1, ?1, ?2, ?3)"
                         " ON CONFLICT(one) DO UPDATE SET last_id = ?1, last_hash = ?2, mac = ?3",
    [Q_AUDIT_ALL] = "SELECT id, at, org, scenario, version, execution, step, method, sent_from,"
                    " sent_to, status, duration_ms, body_sha256, outcome, prev_hash, hash, ref,"
                    " key_id FROM audit ORDER BY id",
    /* one line per write: its pending row with the row that completed it, if any */
    [Q_AUDIT_LIST] = "SELECT a.id, a.at, a.org, a.scenario, a.version, a.execution, a.step, a.method,"
                     " a.sent_from, a.sent_to, coalesce(c.status, a.status),"
                     " coalesce(c.duration_ms, a.duration_ms), a.body_sha256,"
                     " coalesce(c.outcome, a.outcome), a.prev_hash, coalesce(c.hash, a.hash)"
                     " FROM audit a LEFT JOIN audit c ON c.ref = a.id"
                     " WHERE a.ref IS NULL AND (?1 IS NULL OR a.scenario = ?1)"
                     " AND (?2 IS NULL OR substr(a.sent_to, 1, length(?2)) = ?2)"
                     " AND (?3 IS NULL OR a.execution = ?3) ORDER BY a.id LIMIT ?4",
    [Q_ENQUEUE] = "INSERT INTO executions(id, scenario, org, version, source, status, attempts,"
                  " confidential, trigger, started_at, queued_at, seq, priority, lane, dedupe)"
                  " VALUES(?1,?2,?3,?4,?5,'queued',0,?6,?7,?8,?8,"
                  " (SELECT coalesce(max(seq), 0) + 1 FROM executions),?9,?10,?11)",
    [Q_DEDUPE_FIRST] = "SELECT id FROM executions WHERE scenario = ? AND dedupe = ?",
    /* The next event: realtime first, then arrival order; a sequential lane waits while
     * one of its executions runs, waits for a retry, or arrived earlier. */
    [Q_CLAIM_NEXT] = "UPDATE executions SET status = 'running', owner = ?1, attempts = 1,"
                     " started_at = ?2, lease_until = ?2 + ?4 WHERE id = (SELECT e.id FROM executions e INDEXED BY executions_queue"
                     " WHERE e.seq <= ?3 AND " RUNNABLE
                     " ORDER BY e.priority DESC, e.seq LIMIT 1)"
                     " RETURNING id, scenario, version, source, status, attempts, confidential, trigger",
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
    [Q_STATUS_COUNTS] = "SELECT scenario, status, count(*) FROM executions GROUP BY scenario, status"
                        " ORDER BY scenario, status",
    [Q_QUEUED_COUNTS] = "SELECT priority, count(*) FROM executions WHERE status = 'queued'"
                        " GROUP BY priority",
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
    [Q_QI_LIST] = "SELECT id, queue, item, execution, state, created_at, done_at, done_by FROM queue_items"
                  " WHERE (?1 IS NULL OR queue = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id LIMIT ?3",
    [Q_QI_GET] = "SELECT id, queue, item, execution, state, created_at, done_at, done_by FROM queue_items"
                 " WHERE id = ?",
    [Q_QI_RESOLVE] = "UPDATE queue_items SET state = 'resolved', done_at = ?, done_by = ?"
                     " WHERE id = ? AND state = 'open'",
    [Q_QI_DEPTHS] = "SELECT queue, count(*), sum(created_at >= ?1) FROM queue_items WHERE state = 'open'"
                    " GROUP BY queue ORDER BY queue",
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
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT inner",
    [Q_RELEASE] = "RELEASE inner",
    [Q_ROLLBACK_TO] = "ROLLBACK TO inner",
};

struct sc_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q_COUNT];
    char *path, *key_ref;
    unsigned char key[32];
    bool have_key;
    char *audit_ref;       /* the org's audit key (a secret reference), or NULL: unkeyed */
    int64_t unkeyed_rows;  /* rows of an unkeyed chain the org accepts before its keyed rows */
    char *audit_key;       /* resolved when first needed */
    size_t audit_key_len;
    char audit_id[20];     /* "k" + 16 hex digits naming the key, never the key */
    int depth;             /* open transactions: the outermost, then savepoints */
    void (*take)(void *), (*give)(void *); /* sc_store_turns */
    void *turns;
    struct heartbeat *hb;  /* sc_store_heartbeat's, stopped by sc_store_close */
    char err[512];
    struct defer *defer;   /* sc_store_defer: writes recorded, not run */
};

/* Hooks of the deferred writes (the end of this file). */
static bool defer_refuse(struct sc_store *st, const char *what);
static int64_t defer_step(struct sc_store *st, int64_t run, const struct sc_step_row *r);
static int defer_step_state(struct sc_store *st, int64_t run, json_t *state, bool confidential);
static int defer_exec_end(struct sc_store *st, const char *id, const char *status,
                          int64_t duration_ms, json_t *summary, bool states);
static int defer_incomplete(struct sc_store *st, const struct sc_incomplete_row *r);
static json_t *defer_ds_get(struct sc_store *st, const char *store, const char *key);
static int defer_ds_write(struct sc_store *st, int kind, const char *store, const char *key,
                          json_t *value, int64_t ttl_ms);
static json_t *defer_ds_search(struct sc_store *st, const char *store, const char *prefix,
                               int limit);
static int64_t defer_row(struct sc_store *st, int table, const char *const s[5], json_t *j);
static json_t *defer_ds_entry(struct sc_store *st, const char *store, const char *key,
                              int64_t *expires_ms);
static int read_add(struct sc_store *st, const char *store, const char *key, int limit,
                    json_t *value);

static void heartbeat_stop(struct heartbeat *hb);
static void set_err(struct sc_store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct sc_store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
}

static int db_err(struct sc_store *st, const char *what)
{
    set_err(st, "store %s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
    return -1;
}

const char *sc_store_error(const struct sc_store *st) { return st->err; }
int sc_store_schema_version(void) { return (int)(sizeof migrations / sizeof migrations[0]); }

void sc_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        memset(md, 0, sizeof md);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- statements: prepared once, bound by the letters of a format ---- */

/* Binds by fmt: s text (NULL binds null), i int64, I int64 or null when negative,
 * j JSON (NULL binds null), b blob
 * (pointer, size_t; taken and freed), n null. NULL on failure, error set. */
static sqlite3_stmt *q(struct sc_store *st, enum q id, const char *fmt, ...)
{
    sqlite3_stmt *s = st->stmt[id];
    int rc = SQLITE_OK, k = 1;
    if (!s && (rc = sqlite3_prepare_v3(st->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
                                       NULL)) != SQLITE_OK)
        db_err(st, "prepare");
    st->stmt[id] = s;
    if (s && (int)strlen(fmt) != sqlite3_bind_parameter_count(s)) { /* a bug in this file */
        set_err(st, "internal error: statement %d takes %d values, given %zu", (int)id,
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
            if (v && !t)
                rc = SQLITE_NOMEM;
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
            db_err(st, "bind");
        }
        return NULL;
    }
    return s;
}

static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* sqlite3_step; a write outside a transaction takes its turn (sc_store_turns). */
static int run_step(struct sc_store *st, sqlite3_stmt *s)
{
    bool turn = st->take && st->depth == 0 && !sqlite3_stmt_readonly(s);
    if (turn)
        st->take(st->turns);
    int rc = sqlite3_step(s);
    if (turn)
        st->give(st->turns);
    return rc;
}

/* Runs a statement that returns no rows. */
static int exec_stmt(struct sc_store *st, sqlite3_stmt *s, const char *what)
{
    if (!s)
        return -1;
    int rc = run_step(st, s);
    done(s);
    return rc == SQLITE_DONE ? 0 : db_err(st, what);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

static json_t *col_json(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
}

/* Every row of a query as JSON, by row(); NULL (error set) when memory ran out. */
static json_t *rows(struct sc_store *st, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *))
{
    json_t *a = s ? json_array() : NULL;
    while (a && run_step(st, s) == SQLITE_ROW)
        json_array_append_new(a, row(s));
    if (s)
        done(s);
    if (!a && s)
        set_err(st, "out of memory");
    return a;
}

/* The one row of a query by id, or NULL with "no WHAT ID" as the error. */
static json_t *one_row(struct sc_store *st, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *),
                       const char *what, int64_t id)
{
    json_t *v = NULL;
    if (s && run_step(st, s) == SQLITE_ROW)
        v = row(s);
    else if (s)
        set_err(st, "no %s %lld", what, (long long)id);
    if (s)
        done(s);
    return v;
}

static json_t *iso(int64_t ms)
{
    char buf[40];
    sc_clock_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

/* ---- sealing: AES-256-GCM, so confidential data at rest is unreadable without the key ---- */

static const char seal_magic[4] = "SC1";

static int load_key(struct sc_store *st)
{
    if (st->have_key)
        return 0;
    char err[256], *hex = NULL;
    if (st->key_ref) {
        if (!(hex = sc_org_secret(st->key_ref, err, sizeof err))) {
            set_err(st, "store key: %s", err);
            return -1;
        }
    } else {
        char *kp = sc_asprintf("%s.key", st->path);
        if (!kp)
            return set_err(st, "out of memory"), -1;
        int fd = open(kp, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) { /* first use: a new random key, readable by this user only */
            unsigned char k[32];
            char line[66];
            if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
                close(fd);
                unlink(kp);
                free(kp);
                return set_err(st, "store key: no randomness"), -1;
            }
            for (int i = 0; i < 32; i++)
                snprintf(line + 2 * i, 3, "%02x", k[i]);
            line[64] = '\n';
            bool ok = write(fd, line, 65) == 65;
            close(fd);
            if (!ok) {
                unlink(kp);
                set_err(st, "store key %s cannot be written: %s", kp, strerror(errno));
                free(kp);
                return -1;
            }
        } else if (errno != EEXIST) {
            set_err(st, "store key %s cannot be made: %s", kp, strerror(errno));
            free(kp);
            return -1;
        }
        char *ref = sc_asprintf("file:%s", kp);
        free(kp);
        hex = ref ? sc_org_secret(ref, err, sizeof err) : NULL;
        free(ref);
        if (!hex)
            return set_err(st, "store key: %s", ref ? err : "out of memory"), -1;
    }
    bool ok = strlen(hex) == 64;
    for (int i = 0; ok && i < 32; i++) {
        unsigned v;
        ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
        st->key[i] = (unsigned char)v;
    }
    free(hex);
    if (!ok)
        return set_err(st, "store key must be 64 hexadecimal digits"), -1;
    st->have_key = true;
    return 0;
}

/* Blob: magic, 12-byte nonce, ciphertext, 16-byte tag. New buffer, length in *n. */
static void *seal(struct sc_store *st, json_t *v, size_t *n)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text || load_key(st) != 0) {
        if (!text)
            set_err(st, "out of memory");
        free(text);
        return NULL;
    }
    size_t len = strlen(text);
    unsigned char *out = sc_malloc(4 + 12 + len + 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    bool ok = out && c && getrandom(out + 4, 12, 0) == 12 &&
              EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, st->key, out + 4) == 1 &&
              EVP_EncryptUpdate(c, out + 16, &l1, (unsigned char *)text, (int)len) == 1 &&
              EVP_EncryptFinal_ex(c, out + 16 + l1, &l2) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 16 + l1 + l2) == 1;
    EVP_CIPHER_CTX_free(c);
    free(text);
    if (!ok) {
        free(out);
        set_err(st, "sealing confidential data failed");
        return NULL;
    }
    memcpy(out, seal_magic, 4);
    *n = 16 + (size_t)(l1 + l2) + 16;
    return out;
}

static json_t *unseal(struct sc_store *st, const unsigned char *b, size_t n)
{
    if (n < 32 || memcmp(b, seal_magic, 4) != 0 || load_key(st) != 0)
        return NULL;
    size_t len = n - 32;
    char *text = sc_malloc(len + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    bool ok = text && c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, st->key, b + 4) == 1 &&
              EVP_DecryptUpdate(c, (unsigned char *)text, &l1, b + 16, (int)len) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(b + n - 16)) == 1 &&
              EVP_DecryptFinal_ex(c, (unsigned char *)text + l1, &l2) == 1;
    EVP_CIPHER_CTX_free(c);
    json_t *v = NULL;
    if (ok) {
        text[l1 + l2] = '\0';
        v = json_loads(text, JSON_DECODE_ANY, NULL);
    } else {
        set_err(st, "sealed data does not open with this store's key");
    }
    free(text);
    return v;
}

/* A stored value: JSON text, or a sealed blob. */
static json_t *col_value(struct sc_store *st, sqlite3_stmt *s, int i)
{
    const unsigned char *b = sqlite3_column_blob(s, i);
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    if (!b)
        return NULL;
    if (n >= 4 && !memcmp(b, seal_magic, 4))
        return unseal(st, b, n);
    return json_loadb((const char *)b, n, JSON_DECODE_ANY, NULL);
}

/* Bind arguments for a value kept sealed when confidential, else as JSON text. */
static void *value_blob(struct sc_store *st, json_t *v, bool sealed, size_t *n, bool *failed)
{
    *n = 0;
    *failed = false;
    if (!v)
        return NULL;
    void *b;
    if (sealed)
        b = seal(st, v, n);
    else {
        b = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        *n = b ? strlen(b) : 0;
        if (!b)
            set_err(st, "out of memory");
    }
    *failed = !b;
    return b;
}

/* ---- opening ---- */

char *sc_store_path(const struct sc_org *org)
{
    const char *p = json_string_value(json_object_get(org->doc->root, "store"));
    return p ? sc_strdup(p) : sc_asprintf("var/%s/scenarist.db", org->name);
}

static int mkdirs(const char *path)
{
    char *p = sc_strdup(path);
    if (!p)
        return -1;
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

static int migrate(struct sc_store *st)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return db_err(st, "schema version");
    int have = run_step(st, s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    int want = sc_store_schema_version();
    if (have < 0)
        return db_err(st, "schema version");
    if (have > want) {
        set_err(st, "store %s has schema version %d; this scenarist knows up to %d: "
                "use a newer scenarist", st->path, have, want);
        return -1;
    }
    for (int v = have; v < want; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return db_err(st, "migration");
        /* another process creating the same store may have migrated while this one waited */
        int now = v;
        if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
            now = run_step(st, s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : v;
            sqlite3_finalize(s);
        }
        if (now > v) {
            if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                return db_err(st, "migration");
            v = now - 1;
            continue;
        }
        if (sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, bump, NULL, NULL, NULL) != SQLITE_OK) {
            db_err(st, "migration");
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            return db_err(st, "migration");
    }
    return 0;
}

/* Another connection holds the write lock: wait in steps of 50 us growing to 1 ms, not
 * SQLite's default of 1 ms growing to 100 ms, which under the daemon's many short
 * transactions turned sub-millisecond waits into 100 ms stalls. Gives up after ~10 s. */
static int busy_wait(void *ud, int count)
{
    (void)ud;
    if (count > 12000)
        return 0;
    long us = count < 20 ? 50 : count < 200 ? 200 : 1000;
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
    return 1;
}

/* No allocation statistics: they put a global mutex around every SQLite allocation,
 * which the daemon's threads fought over. Must run before SQLite initialises. */
static void configure(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

struct sc_store *sc_store_open(const char *path, const char *key_ref, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure);
    struct sc_store *st = sc_calloc(1, sizeof *st);
    if (!st || !(st->path = sc_strdup(path)) || (key_ref && !(st->key_ref = sc_strdup(key_ref)))) {
        snprintf(err, errlen, "out of memory");
        sc_store_close(st);
        return NULL;
    }
    if (mkdirs(path) != 0) {
        snprintf(err, errlen, "store %s: cannot make its directory: %s", path, strerror(errno));
        sc_store_close(st);
        return NULL;
    }
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX, NULL);
    /* secure_delete: erased confidential data must not linger in free pages. */
    if (rc != SQLITE_OK || sqlite3_busy_handler(st->db, busy_wait, NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     " PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "store %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sc_store_close(st);
        return NULL;
    }
    if (migrate(st) != 0) {
        snprintf(err, errlen, "%s", st->err);
        sc_store_close(st);
        return NULL;
    }
    return st;
}

void sc_store_close(struct sc_store *st)
{
    if (!st)
        return;
    sc_store_defer(st, false);
    heartbeat_stop(st->hb);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st->path);
    free(st->key_ref);
    memset(st->key, 0, sizeof st->key);
    free(st->audit_ref);
    if (st->audit_key)
        memset(st->audit_key, 0, st->audit_key_len);
    free(st->audit_key);
    free(st);
}

/* Transactions nest: the outermost is BEGIN IMMEDIATE .. COMMIT and inner ones are
 * savepoints, so a worker can commit many executions' own transactions at once. */
static int begin(struct sc_store *st)
{
    if (st->depth > 0 && sqlite3_get_autocommit(st->db))
        return set_err(st, "the enclosing transaction was rolled back by an earlier error"), -1;
    bool turn = st->take && st->depth == 0;
    if (turn)
        st->take(st->turns);
    st->depth++; /* BEGIN IMMEDIATE counts as a write: it must not take a second turn */
    int rc = exec_stmt(st, q(st, st->depth > 1 ? Q_SAVEPOINT : Q_BEGIN, ""), "begin");
    if (rc != 0 && --st->depth == 0 && turn)
        st->give(st->turns);
    return rc;
}

static int commit(struct sc_store *st)
{
    if (st->depth == 0 || sqlite3_get_autocommit(st->db))
        return set_err(st, "the transaction was rolled back by an earlier error"), -1;
    int rc = exec_stmt(st, q(st, st->depth > 1 ? Q_RELEASE : Q_COMMIT, ""), "commit");
    if (rc == 0 && --st->depth == 0 && st->take)
        st->give(st->turns);
    return rc;
}

static void rollback(struct sc_store *st)
{
    if (st->depth == 0)
        return;
    bool inner = st->depth-- > 1 && !sqlite3_get_autocommit(st->db);
    sqlite3_stmt *s = q(st, inner ? Q_ROLLBACK_TO : Q_ROLLBACK, "");
    if (s) {
        run_step(st, s);
        done(s);
    }
    if (inner && (s = q(st, Q_RELEASE, ""))) {
        run_step(st, s);
        done(s);
    }
    if (st->depth == 0 && st->take)
        st->give(st->turns);
}

/* ---- executions ---- */

/* An owner is a random token of this process, never its pid: a pid says nothing in
 * another PID namespace, and a dead daemon's pid may be reused. What proves an owner
 * at work is its lease: lease_until, renewed by its heartbeat through the one clock. */
static int64_t my_owner;
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;

static void make_owner(void)
{
    uint64_t token = 0;
    if (getrandom(&token, sizeof token, 0) != (ssize_t)sizeof token)
        token = (uint64_t)sc_clock_mono_ms() ^ ((uint64_t)getpid() << 32);
    my_owner = (int64_t)((token & 0x3fffffffffffffffULL) | 1);
}

static int64_t owner(void)
{
    pthread_once(&owner_once, make_owner);
    return my_owner;
}

int64_t sc_store_owner(void) { return owner(); }
static _Atomic int64_t lease_len = SC_STORE_LEASE_MS;

int64_t sc_store_lease_ms(void) { return lease_len; }
void sc_store_set_lease_ms(int64_t ms) { lease_len = ms >= 1000 ? ms : SC_STORE_LEASE_MS; }

/* The executions this process runs now: the heartbeat renews their leases. An execution
 * leaves the set when its attempt ends, recorded or not, so one whose end could not be
 * written (a full disk) lets its lease lapse and is taken up again. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static char **live;
static size_t nlive, caplive;

static int live_add(const char *id)
{
    pthread_mutex_lock(&live_mu);
    int rc = 0;
    for (size_t i = 0; i < nlive; i++)
        if (!strcmp(live[i], id))
            goto out;
    if (nlive == caplive) {
        size_t cap = caplive ? caplive * 2 : 16;
        char **v = realloc(live, cap * sizeof *v);
        if (!v) {
            rc = -1;
            goto out;
        }
        live = v;
        caplive = cap;
    }
    if (!(live[nlive] = sc_strdup(id)))
        rc = -1;
    else
        nlive++;
out:
    pthread_mutex_unlock(&live_mu);
    return rc;
}

static bool live_has(const char *id)
{
    pthread_mutex_lock(&live_mu);
    bool found = false;
    for (size_t i = 0; i < nlive && !found; i++)
        found = !strcmp(live[i], id);
    pthread_mutex_unlock(&live_mu);
    return found;
}

void sc_store_exec_release(const char *id)
{
    pthread_mutex_lock(&live_mu);
    for (size_t i = 0; i < nlive; i++)
        if (!strcmp(live[i], id)) {
            free(live[i]);
            live[i] = live[--nlive];
            break;
        }
    if (!nlive) { /* nothing left: give the memory back (no leak at exit) */
        free(live);
        live = NULL;
        caplive = 0;
    }
    pthread_mutex_unlock(&live_mu);
}

int sc_store_lease_renew(struct sc_store *st)
{
    pthread_mutex_lock(&live_mu);
    size_t n = nlive;
    char **ids = n ? sc_calloc(n, sizeof *ids) : NULL;
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = sc_strdup(live[i]);
    pthread_mutex_unlock(&live_mu);
    if (n && !ids)
        return set_err(st, "out of memory"), -1;
    int rc = n ? begin(st) : 0;
    int64_t until = sc_clock_now_ms() + lease_len;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && ids[i])
            rc = exec_stmt(st, q(st, Q_LEASE_RENEW, "isi", until, ids[i], owner()),
                           "renewing a lease");
        free(ids[i]);
    }
    free(ids);
    if (n && (rc != 0 || commit(st) != 0)) {
        rollback(st);
        return -1;
    }
    return 0;
}

int sc_store_lease_drop(struct sc_store *st, int64_t who)
{
    if (who == owner())
        return set_err(st, "the leases of this process cannot be dropped by it"), -1;
    return exec_stmt(st, q(st, Q_LEASE_DROP, "i", who), "dropping a stopped owner's leases");
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
        if (last == INT64_MIN || now - last >= lease_len / 3 || now < last) {
            if (sc_store_lease_renew(hb->conn) != 0)
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

int sc_store_heartbeat(struct sc_store *st)
{
    if (st->hb)
        return 0;
    char err[600];
    struct heartbeat *hb = sc_calloc(1, sizeof *hb);
    if (!hb)
        return set_err(st, "out of memory"), -1;
    if (!(hb->conn = sc_store_open(st->path, st->key_ref, err, sizeof err))) {
        set_err(st, "%s", err);
        free(hb);
        return -1;
    }
    pthread_mutex_init(&hb->mu, NULL);
    pthread_cond_init(&hb->cv, NULL);
    if (pthread_create(&hb->th, NULL, heartbeat_main, hb) != 0) {
        set_err(st, "cannot start the lease heartbeat: %s", strerror(errno));
        sc_store_close(hb->conn);
        pthread_mutex_destroy(&hb->mu);
        pthread_cond_destroy(&hb->cv);
        free(hb);
        return -1;
    }
    st->hb = hb;
    return 0;
}

static void heartbeat_stop(struct heartbeat *hb)
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
static bool leased(sqlite3_stmt *s, int status_col)
{
    return !strcmp(col_text(s, status_col), "running") &&
           sqlite3_column_type(s, status_col + 2) != SQLITE_NULL &&
           sqlite3_column_int64(s, status_col + 2) > sc_clock_now_ms();
}

int sc_store_exec_begin(struct sc_store *st, const struct sc_exec_row *r)
{
    if (defer_refuse(st, "recording a new execution"))
        return -1;
    size_t n;
    bool failed;
    void *trig = value_blob(st, r->trigger, r->confidential, &n, &failed);
    if (failed)
        return -1;
    sqlite3_stmt *s = q(st, Q_EXEC_BEGIN, "sssssiibii", r->id, r->scenario, r->org, r->version,
                        r->source, (int64_t)r->confidential, owner(), trig, n, r->started_ms,
                        sc_clock_now_ms() + lease_len);
    if (!s)
        return -1;
    if (live_add(r->id) != 0) {
        done(s);
        return set_err(st, "out of memory"), -1;
    }
    int rc = run_step(st, s);
    done(s);
    if (rc == SQLITE_DONE)
        return 0;
    sc_store_exec_release(r->id);
    if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
        return set_err(st, "execution id %s is taken", r->id), 1;
    return db_err(st, "recording the execution");
}

int sc_store_exec_claim(struct sc_store *st, const char *id, int attempt, int64_t due_ms)
{
    if (begin(st) != 0)
        return -1;
    if (due_ms >= 0) { /* a scheduled retry: only while it is still due (not run meanwhile) */
        sqlite3_stmt *d = q(st, Q_INC_GET, "s", id);
        bool due = d && run_step(st, d) == SQLITE_ROW && !strcmp(col_text(d, 8), "pending") &&
                   sqlite3_column_int64(d, 7) <= due_ms;
        if (d)
            done(d);
        if (!due) {
            rollback(st);
            return 1;
        }
    }
    sqlite3_stmt *s = q(st, Q_EXEC_OWNER, "s", id);
    if (!s) {
        rollback(st);
        return -1;
    }
    int rc = run_step(st, s);
    bool found = rc == SQLITE_ROW;
    bool taken = found && leased(s, 0);
    done(s);
    if (!found || taken) {
        rollback(st);
        if (!found)
            set_err(st, "no execution %s", id);
        return found ? 1 : -1;
    }
    if (live_add(id) != 0 ||
        exec_stmt(st, q(st, Q_EXEC_CLAIM, "iiis", owner(), (int64_t)attempt,
                        sc_clock_now_ms() + lease_len, id), "claiming the execution") != 0 ||
        commit(st) != 0) {
        rollback(st);
        sc_store_exec_release(id);
        return -1;
    }
    return 0;
}

/* Drops what only a further attempt would need: the resume states, and a
 * confidential execution's sealed trigger. */
static int erase_resume_data(struct sc_store *st, const char *id)
{
    if (exec_stmt(st, q(st, Q_EXEC_ERASE_STATES, "s", id), "erasing resume states") != 0)
        return -1;
    return exec_stmt(st, q(st, Q_EXEC_ERASE_TRIGGER, "s", id), "erasing the trigger");
}

int sc_store_exec_end(struct sc_store *st, const char *id, const char *status,
                      int64_t duration_ms, json_t *summary, bool states)
{
    if (st->defer)
        return defer_exec_end(st, id, status, duration_ms, summary, states);
    sc_store_exec_release(id); /* recorded or not, this attempt is over: no more renewals */
    /* a held one may go on, a warning may be retried, a sleeping one wakes: they keep what
     * resumes them */
    bool erase = strcmp(status, "warning") != 0 && strcmp(status, "held") != 0 &&
                 strcmp(status, "sleeping") != 0;
    states = states && erase;
    if (states && begin(st) != 0)
        return -1;
    int rc = exec_stmt(st, q(st, Q_EXEC_END, "siijsi", status, sc_clock_now_ms(), duration_ms,
                             summary, id, (int64_t)erase), "ending the execution");
    if (!states) /* one statement: the trigger goes with the end */
        return rc;
    if (rc == 0)
        rc = exec_stmt(st, q(st, Q_EXEC_ERASE_STATES, "s", id), "erasing resume states");
    if (rc != 0 || commit(st) != 0) {
        rollback(st);
        return -1;
    }
    return 0;
}

static json_t *incomplete_row(sqlite3_stmt *s);

json_t *sc_store_exec_get(struct sc_store *st, const char *id)
{
    sqlite3_stmt *s = q(st, Q_EXEC_GET, "s", id);
    if (!s)
        return NULL;
    if (run_step(st, s) != SQLITE_ROW) {
        done(s);
        st->err[0] = '\0';
        return NULL;
    }
    bool confidential = sqlite3_column_int(s, 7);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o}", "id", col_text(s, 0),
                          "scenario", col_text(s, 1), "org", col_text(s, 2), "version",
                          col_text(s, 3), "source", col_text(s, 4), "status", col_text(s, 5),
                          "attempts", sqlite3_column_int(s, 6), "started_at",
                          iso(sqlite3_column_int64(s, 8)));
    if (v && sqlite3_column_type(s, 9) != SQLITE_NULL)
        json_object_set_new(v, "finished_at", iso(sqlite3_column_int64(s, 9)));
    if (v && sqlite3_column_type(s, 10) != SQLITE_NULL)
        json_object_set_new(v, "duration_ms", json_integer(sqlite3_column_int64(s, 10)));
    if (v && sqlite3_column_type(s, 13) != SQLITE_NULL)
        json_object_set_new(v, "queued_at", iso(sqlite3_column_int64(s, 13)));
    if (v && sqlite3_column_int(s, 14) > 0)
        json_object_set_new(v, "priority", json_string("realtime"));
    if (v && confidential)
        json_object_set_new(v, "trigger", json_string("[redacted: confidential scenario]"));
    else if (v && sqlite3_column_type(s, 12) != SQLITE_NULL)
        json_object_set_new(v, "trigger", col_json(s, 12));
    json_t *summary = col_json(s, 11);
    done(s);
    json_t *broken = json_incref(json_object_get(summary, "incomplete"));
    json_object_del(summary, "incomplete");
    if (v && json_is_object(summary))
        json_object_update(v, summary);
    json_decref(summary);
    json_t *steps = json_array();
    if (!v || !steps || !(s = q(st, Q_EXEC_STEPS, "s", id))) {
        json_decref(v);
        json_decref(steps);
        json_decref(broken);
        return NULL;
    }
    while (run_step(st, s) == SQLITE_ROW) {
        json_t *e = json_pack("{s:s, s:s}", "step", col_text(s, 1), "module", col_text(s, 2));
        if (!e)
            break;
        if (*col_text(s, 3))
            json_object_set_new(e, "bundle", json_string(col_text(s, 3)));
        if (sqlite3_column_int(s, 0) > 1)
            json_object_set_new(e, "attempt", json_integer(sqlite3_column_int(s, 0)));
        json_object_set_new(e, "status", json_string(col_text(s, 4)));
        if (sqlite3_column_type(s, 5) != SQLITE_NULL)
            json_object_set_new(e, "duration_ms", json_integer(sqlite3_column_int64(s, 5)));
        if (!strcmp(col_text(s, 4), "ok") && sqlite3_column_type(s, 6) == SQLITE_NULL) /* fan-out */
            json_object_set_new(e, "bundles", json_integer(sqlite3_column_int64(s, 8)));
        json_t *out = col_json(s, 6), *err = col_json(s, 7);
        if (out)
            json_object_set_new(e, "output", out);
        if (err)
            json_object_set_new(e, "error", err);
        json_array_append_new(steps, e);
    }
    done(s);
    json_object_set_new(v, "steps", steps);
    if ((s = q(st, Q_INC_GET, "s", id))) {
        if (run_step(st, s) == SQLITE_ROW) {
            json_t *inc = incomplete_row(s);
            json_object_del(inc, "execution");
            json_object_del(inc, "scenario");
            if (broken) /* the bundles the last attempt stopped at */
                json_object_set(inc, "bundles", broken);
            json_object_set_new(v, "incomplete", inc);
        }
        done(s);
    }
    json_decref(broken);
    return v;
}

/* What an attempt needs, from columns scenario, version, source, status, attempts,
 * confidential, trigger at col[0..6]; NULL with the error set. */
static json_t *run_info(struct sc_store *st, sqlite3_stmt *s, const char *id, const int col[7])
{
    st->err[0] = '\0';
    bool erased = sqlite3_column_type(s, col[6]) == SQLITE_NULL;
    json_t *trig = erased ? NULL : col_value(st, s, col[6]);
    json_t *v = trig ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:o}", "id", id,
                                 "scenario", col_text(s, col[0]), "version", col_text(s, col[1]),
                                 "source", col_text(s, col[2]), "status", col_text(s, col[3]),
                                 "attempts", sqlite3_column_int(s, col[4]), "confidential",
                                 sqlite3_column_int(s, col[5]), "trigger", trig)
                     : NULL;
    if (erased)
        set_err(st, "execution %s has finished (%s): nothing is left to run", id,
                col_text(s, col[3]));
    else if (!trig && !st->err[0])
        set_err(st, "execution %s: its stored trigger does not read back", id);
    return v;
}

json_t *sc_store_exec_resume_info(struct sc_store *st, const char *id)
{
    sqlite3_stmt *s = q(st, Q_EXEC_GET, "s", id);
    if (!s)
        return NULL;
    if (run_step(st, s) != SQLITE_ROW) {
        done(s);
        set_err(st, "no execution %s", id);
        return NULL;
    }
    static const int col[7] = {1, 3, 4, 5, 6, 7, 12};
    json_t *v = run_info(st, s, id, col);
    done(s);
    return v;
}

json_t *sc_store_exec_list(struct sc_store *st, const struct sc_exec_filter *f)
{
    sqlite3_stmt *s = q(st, Q_EXEC_LIST, "ssii", f->scenario, f->status, f->since_ms,
                        (int64_t)(f->limit > 0 ? f->limit : 100));
    if (!s)
        return NULL;
    json_t *a = json_array();
    while (a && run_step(st, s) == SQLITE_ROW) {
        json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o}", "id", col_text(s, 0), "scenario",
                              col_text(s, 1), "version", col_text(s, 2), "status",
                              col_text(s, 3), "attempts", sqlite3_column_int(s, 4),
                              "started_at", iso(sqlite3_column_int64(s, 5)));
        if (e && sqlite3_column_type(s, 6) != SQLITE_NULL)
            json_object_set_new(e, "duration_ms", json_integer(sqlite3_column_int64(s, 6)));
        json_array_append_new(a, e);
    }
    done(s);
    return a;
}

json_t *sc_store_exec_abandoned(struct sc_store *st)
{
    sqlite3_stmt *s = q(st, Q_EXEC_RUNNING, "i", sc_clock_now_ms());
    json_t *a = s ? json_array() : NULL;
    /* one this process runs now is alive whatever its lease says: a clock that jumps (the
     * test clock) between a renewal and this read must not hand it to a second runner */
    while (a && run_step(st, s) == SQLITE_ROW)
        if (!live_has(col_text(s, 0)))
            json_array_append_new(a, json_string(col_text(s, 0)));
    if (s)
        done(s);
    return a;
}

/* ---- the queue ---- */

int sc_store_enqueue(struct sc_store *st, const struct sc_event_row *r, char *first, size_t n)
{
    const struct sc_exec_row *e = &r->exec;
    size_t len;
    bool failed;
    void *trig = value_blob(st, e->trigger, e->confidential, &len, &failed);
    if (failed)
        return -1;
    sqlite3_stmt *s = q(st, Q_ENQUEUE, "sssssibiiss", e->id, e->scenario, e->org, e->version,
                        e->source, (int64_t)e->confidential, trig, len, e->started_ms,
                        (int64_t)r->realtime, r->lane, r->dedupe);
    if (!s)
        return -1;
    int rc = run_step(st, s);
    done(s);
    if (rc == SQLITE_DONE)
        return 0;
    int ext = sqlite3_extended_errcode(st->db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return set_err(st, "execution id %s is taken", e->id), 2;
    if (ext != SQLITE_CONSTRAINT_UNIQUE || !r->dedupe)
        return db_err(st, "queueing the event");
    if (!(s = q(st, Q_DEDUPE_FIRST, "ss", e->scenario, r->dedupe)))
        return -1;
    rc = run_step(st, s);
    if (rc == SQLITE_ROW)
        snprintf(first, n, "%s", col_text(s, 0));
    done(s);
    return rc == SQLITE_ROW ? 1 : db_err(st, "finding the first of a repeated event");
}

int64_t sc_store_last_seq(struct sc_store *st)
{
    sqlite3_stmt *s = q(st, Q_LAST_SEQ, "");
    if (!s)
        return -1;
    int64_t seq = run_step(st, s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    done(s);
    return seq >= 0 ? seq : db_err(st, "reading the queue's last event");
}

int sc_store_claim_next(struct sc_store *st, int64_t max_seq, json_t **info)
{
    *info = NULL;
    sqlite3_stmt *s = q(st, Q_CLAIM_NEXT, "iiii", owner(), sc_clock_now_ms(), max_seq,
                        (int64_t)lease_len);
    if (!s)
        return -1;
    int rc = run_step(st, s);
    if (rc == SQLITE_ROW) {
        static const int col[7] = {1, 2, 3, 4, 5, 6, 7};
        char id[64];
        snprintf(id, sizeof id, "%s", col_text(s, 0));
        if (live_add(id) != 0) /* unrenewed, it is taken up again once its lease lapses */
            set_err(st, "out of memory");
        if (!(*info = run_info(st, s, id, col)))
            *info = json_pack("{s:s, s:s}", "id", id, "unreadable", st->err);
    }
    done(s);
    if (rc == SQLITE_ROW)
        return *info ? 1 : -1;
    return rc == SQLITE_DONE ? 0 : db_err(st, "claiming the next event");
}

int sc_store_queue_state(struct sc_store *st, int64_t *runnable, int64_t *next_retry_ms)
{
    sqlite3_stmt *s = q(st, Q_RUNNABLE, "");
    if (!s)
        return -1;
    int rc = run_step(st, s);
    *runnable = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    done(s);
    if (rc != SQLITE_ROW || !(s = q(st, Q_NEXT_RETRY, "")))
        return rc == SQLITE_ROW ? -1 : db_err(st, "counting the queue");
    rc = run_step(st, s);
    *next_retry_ms = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL
                         ? sqlite3_column_int64(s, 0) : -1;
    done(s);
    return rc == SQLITE_ROW ? 0 : db_err(st, "reading the next retry");
}

int sc_store_checkpoint_apart(struct sc_store *st)
{
    return sqlite3_exec(st->db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) == SQLITE_OK
               ? 0 : db_err(st, "wal_autocheckpoint");
}

int sc_store_checkpoint(struct sc_store *st)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_BUSY)
        return 0;
    return rc != SQLITE_OK ? db_err(st, "checkpoint") : log > 0 ? log : 0;
}

int sc_store_sync(struct sc_store *st)
{
    sqlite3_file *wal = NULL;
    if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
        !wal || !wal->pMethods)
        return set_err(st, "syncing the store: its write-ahead log is not open"), -1;
    if (wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK)
        return set_err(st, "syncing the store's write-ahead log failed"), -1;
    return 0;
}

/* ---- data stores ---- */

json_t *sc_store_ds_get(struct sc_store *st, const char *store, const char *key)
{
    if (st->defer)
        return defer_ds_get(st, store, key);
    sqlite3_stmt *s = q(st, Q_DS_GET, "ssi", store, key, sc_clock_now_ms());
    if (!s)
        return NULL;
    json_t *v = NULL;
    int rc = run_step(st, s);
    if (rc == SQLITE_ROW)
        v = col_json(s, 0);
    done(s);
    st->err[0] = '\0';
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        db_err(st, "reading the data store");
    return v;
}

json_t *sc_store_ds_entry(struct sc_store *st, const char *store, const char *key,
                          int64_t *expires_ms)
{
    if (st->defer)
        return defer_ds_entry(st, store, key, expires_ms);
    st->err[0] = '\0';
    *expires_ms = -1;
    sqlite3_stmt *s = q(st, Q_DS_ENTRY, "ssi", store, key, sc_clock_now_ms());
    if (!s)
        return NULL;
    json_t *v = NULL;
    int rc = run_step(st, s);
    if (rc == SQLITE_ROW) {
        v = col_json(s, 0);
        if (sqlite3_column_type(s, 1) != SQLITE_NULL)
            *expires_ms = sqlite3_column_int64(s, 1);
    }
    done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        db_err(st, "reading a data store");
    return v;
}

int sc_store_ds_set(struct sc_store *st, const char *store, const char *key, json_t *value,
                    int64_t ttl_ms)
{
    if (st->defer)
        return defer_ds_write(st, Q_DS_SET, store, key, value, ttl_ms);
    int64_t now = sc_clock_now_ms();
    return exec_stmt(st, q(st, Q_DS_SET, "ssjiI", store, key, value, now, ttl_ms > 0 ? now + ttl_ms : -1),
                     "writing the data store");
}

int sc_store_ds_delete(struct sc_store *st, const char *store, const char *key)
{
    if (st->defer)
        return defer_ds_write(st, Q_DS_DEL, store, key, NULL, 0);
    if (exec_stmt(st, q(st, Q_DS_DEL, "ss", store, key), "deleting from the data store") != 0)
        return -1;
    return sqlite3_changes(st->db) ? 0 : 1;
}

json_t *sc_store_ds_search(struct sc_store *st, const char *store, const char *prefix, int limit)
{
    if (st->defer)
        return defer_ds_search(st, store, prefix, limit);
    sqlite3_stmt *s = q(st, Q_DS_SEARCH, "ssii", store, prefix ? prefix : "", sc_clock_now_ms(),
                        (int64_t)(limit > 0 ? limit : 100));
    json_t *a = s ? json_array() : NULL;
    while (a && run_step(st, s) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:s, s:o*}", "key", col_text(s, 0), "value", col_json(s, 1)));
    if (s)
        done(s);
    return a;
}

int sc_store_ds_claim(struct sc_store *st, const char *store, const char *key, json_t *value,
                      int64_t ttl_ms)
{
    if (st->defer)
        return defer_ds_write(st, Q_DS_CLAIM, store, key, value, ttl_ms);
    int64_t now = sc_clock_now_ms();
    if (exec_stmt(st, q(st, Q_DS_CLAIM, "ssjiI", store, key, value, now, ttl_ms > 0 ? now + ttl_ms : -1),
                  "claiming a key") != 0)
        return -1;
    return sqlite3_changes(st->db) ? 1 : 0;
}

/* ---- queues for people ---- */

static json_t *queue_row(sqlite3_stmt *s)
{
    json_t *v = json_pack("{s:I, s:s, s:o*, s:s, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0),
                          "queue", col_text(s, 1), "item", col_json(s, 2), "state", col_text(s, 4),
                          "created_at", iso(sqlite3_column_int64(s, 5)));
    if (v && sqlite3_column_type(s, 3) != SQLITE_NULL)
        json_object_set_new(v, "execution", json_string(col_text(s, 3)));
    if (v && sqlite3_column_type(s, 6) != SQLITE_NULL)
        json_object_set_new(v, "done_at", iso(sqlite3_column_int64(s, 6)));
    if (v && sqlite3_column_type(s, 7) != SQLITE_NULL)
        json_object_set_new(v, "done_by", json_string(col_text(s, 7)));
    return v;
}

int64_t sc_store_queue_push(struct sc_store *st, const char *queue, json_t *item,
                            const char *execution)
{
    if (st->defer)
        return defer_row(st, 0, (const char *const[5]){queue, execution}, item);
    if (exec_stmt(st, q(st, Q_QI_PUSH, "sjsi", queue, item, execution, sc_clock_now_ms()),
                  "adding to the queue") != 0)
        return -1;
    return sqlite3_last_insert_rowid(st->db);
}

json_t *sc_store_queue_items(struct sc_store *st, const char *queue, const char *state, int limit)
{
    return rows(st, q(st, Q_QI_LIST, "ssi", queue, state, (int64_t)(limit > 0 ? limit : 1000)),
                queue_row);
}

json_t *sc_store_queue_item(struct sc_store *st, int64_t id)
{
    return one_row(st, q(st, Q_QI_GET, "i", id), queue_row, "queue item", id);
}

int sc_store_queue_resolve(struct sc_store *st, int64_t id, const char *by)
{
    if (exec_stmt(st, q(st, Q_QI_RESOLVE, "isi", sc_clock_now_ms(), by, id), "resolving the item") != 0)
        return -1;
    return sqlite3_changes(st->db) ? 0 : 1;
}

json_t *sc_store_queue_depths(struct sc_store *st, int64_t since_ms)
{
    sqlite3_stmt *s = q(st, Q_QI_DEPTHS, "i", since_ms);
    json_t *o = s ? json_object() : NULL;
    while (o && run_step(st, s) == SQLITE_ROW)
        json_object_set_new(o, col_text(s, 0), json_pack("{s:I, s:I}", "open",
                            (json_int_t)sqlite3_column_int64(s, 1), "recent",
                            (json_int_t)sqlite3_column_int64(s, 2)));
    if (s)
        done(s);
    return o;
}

/* ---- holds ---- */

static json_t *hold_row(sqlite3_stmt *s)
{
    json_t *v = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "id",
                          (json_int_t)sqlite3_column_int64(s, 0), "execution", col_text(s, 1),
                          "scenario", col_text(s, 2), "step", col_text(s, 3), "bundle",
                          col_text(s, 4), "state", col_text(s, 7), "created_at",
                          iso(sqlite3_column_int64(s, 8)));
    if (v && sqlite3_column_type(s, 5) != SQLITE_NULL)
        json_object_set_new(v, "reason", json_string(col_text(s, 5)));
    json_t *diff = col_json(s, 6);
    if (v && diff)
        json_object_set_new(v, "diff", diff);
    if (v && sqlite3_column_type(s, 9) != SQLITE_NULL)
        json_object_set_new(v, "decided_at", iso(sqlite3_column_int64(s, 9)));
    if (v && sqlite3_column_type(s, 10) != SQLITE_NULL)
        json_object_set_new(v, "decided_by", json_string(col_text(s, 10)));
    return v;
}

json_t *sc_store_hold_get(struct sc_store *st, const char *execution, const char *step,
                          const char *bundle)
{
    sqlite3_stmt *s = q(st, Q_HOLD_GET, "sss", execution, step, bundle);
    json_t *v = NULL;
    if (s && run_step(st, s) == SQLITE_ROW)
        v = hold_row(s);
    if (s)
        done(s);
    st->err[0] = '\0';
    return v;
}

int64_t sc_store_hold_put(struct sc_store *st, const char *execution, const char *scenario,
                          const char *step, const char *bundle, const char *reason, json_t *diff)
{
    if (st->defer)
        return defer_row(st, 1, (const char *const[5]){execution, scenario, step, bundle, reason},
                         diff);
    if (exec_stmt(st, q(st, Q_HOLD_PUT, "sssssji", execution, scenario, step, bundle, reason, diff,
                        sc_clock_now_ms()), "recording the hold") != 0)
        return -1;
    return sqlite3_last_insert_rowid(st->db);
}

json_t *sc_store_holds(struct sc_store *st, const char *state)
{
    return rows(st, q(st, Q_HOLD_LIST, "s", state), hold_row);
}

json_t *sc_store_hold(struct sc_store *st, int64_t id)
{
    return one_row(st, q(st, Q_HOLD_BY_ID, "i", id), hold_row, "hold", id);
}

int sc_store_hold_decide(struct sc_store *st, int64_t id, const char *state, const char *by)
{
    if (exec_stmt(st, q(st, Q_HOLD_DECIDE, "sisi", state, sc_clock_now_ms(), by, id),
                  "deciding the hold") != 0)
        return -1;
    return sqlite3_changes(st->db) ? 0 : 1;
}

/* ---- versions ---- */

static json_t *version_row(sqlite3_stmt *s, bool with_doc)
{
    json_t *v = json_pack("{s:s, s:i, s:o, s:s, s:s}", "scenario", col_text(s, 0), "number",
                          sqlite3_column_int(s, 1), "created_at", iso(sqlite3_column_int64(s, 2)),
                          "checksum", col_text(s, 4), "origin", col_text(s, 5));
    if (v && sqlite3_column_type(s, 3) != SQLITE_NULL)
        json_object_set_new(v, "message", json_string(col_text(s, 3)));
    if (v && with_doc)
        json_object_set_new(v, "document", col_json(s, 6));
    return v;
}

int sc_store_version_add(struct sc_store *st, const char *scenario, json_t *document,
                         const char *checksum, const char *message, const char *origin,
                         int *number)
{
    if (begin(st) != 0)
        return -1;
    sqlite3_stmt *s = q(st, Q_VER_CURRENT, "s", scenario);
    int rc = s ? run_step(st, s) : SQLITE_ERROR, cur = 0;
    bool same = false;
    if (rc == SQLITE_ROW) {
        cur = sqlite3_column_int(s, 0);
        same = !strcmp(col_text(s, 1), checksum);
    }
    if (s)
        done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rollback(st);
        return db_err(st, "reading versions");
    }
    *number = same ? cur : cur + 1;
    if (same) {
        rollback(st);
        return 1;
    }
    if (exec_stmt(st, q(st, Q_VER_ADD, "siisssj", scenario, (int64_t)(cur + 1), sc_clock_now_ms(),
                        message, checksum, origin, document), "storing the version") != 0 ||
        commit(st) != 0) {
        rollback(st);
        return -1;
    }
    return 0;
}

json_t *sc_store_version_get(struct sc_store *st, const char *scenario, int number)
{
    sqlite3_stmt *s = q(st, Q_VER_GET, "si", scenario, (int64_t)number);
    if (!s)
        return NULL;
    json_t *v = NULL;
    int rc = run_step(st, s);
    if (rc == SQLITE_ROW)
        v = version_row(s, true);
    else if (number)
        set_err(st, "scenario %s has no version %d", scenario, number);
    else
        set_err(st, "scenario %s has no version: deploy it first", scenario);
    done(s);
    return v;
}

static json_t *version_meta(sqlite3_stmt *s) { return version_row(s, false); }

json_t *sc_store_versions(struct sc_store *st, const char *scenario)
{
    return rows(st, q(st, Q_VER_LIST, "s", scenario), version_meta);
}

json_t *sc_store_versions_current(struct sc_store *st)
{
    return rows(st, q(st, Q_VER_ALL_CURRENT, ""), version_meta);
}

int64_t sc_store_versions_stamp(struct sc_store *st)
{
    sqlite3_stmt *s = q(st, Q_VER_STAMP, "");
    if (!s)
        return -1;
    int64_t v = run_step(st, s) == SQLITE_ROW
                    ? sqlite3_column_int64(s, 0) * 1000003 + sqlite3_column_int64(s, 1) : -1;
    done(s);
    return v;
}

int sc_store_trigger_get(struct sc_store *st, const char *scenario, const char *trigger,
                         int64_t *last_ms, int64_t *watermark_ms)
{
    sqlite3_stmt *s = q(st, Q_TRIG_GET, "ss", scenario, trigger);
    if (!s)
        return -1;
    int rc = run_step(st, s);
    *last_ms = *watermark_ms = -1;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(s, 0) != SQLITE_NULL)
            *last_ms = sqlite3_column_int64(s, 0);
        if (sqlite3_column_type(s, 1) != SQLITE_NULL)
            *watermark_ms = sqlite3_column_int64(s, 1);
    }
    done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? 1 : db_err(st, "reading trigger state");
}

int sc_store_trigger_set(struct sc_store *st, const char *scenario, const char *trigger,
                         int64_t last_ms, int64_t watermark_ms)
{
    return exec_stmt(st, q(st, Q_TRIG_SET, "ssIIi", scenario, trigger, last_ms, watermark_ms,
                           sc_clock_now_ms()), "recording trigger state");
}

int sc_store_poll_seen(struct sc_store *st, const char *scenario, const char *trigger,
                       const char *key)
{
    sqlite3_stmt *s = q(st, Q_SEEN_GET, "sss", scenario, trigger, key);
    if (!s)
        return -1;
    int rc = run_step(st, s);
    done(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : db_err(st, "reading seen poll items");
}

int sc_store_poll_mark(struct sc_store *st, const char *scenario, const char *trigger,
                       const char *key, int64_t at_ms)
{
    return exec_stmt(st, q(st, Q_SEEN_PUT, "sssi", scenario, trigger, key, at_ms),
                     "recording a seen poll item");
}

int sc_store_poll_prune(struct sc_store *st, const char *scenario, const char *trigger,
                        int64_t before_ms)
{
    return exec_stmt(st, q(st, Q_SEEN_PRUNE, "ssi", scenario, trigger, before_ms),
                     "pruning seen poll items");
}

int sc_store_tx_begin(struct sc_store *st) { return begin(st); }
int sc_store_tx_commit(struct sc_store *st)
{
    if (commit(st) == 0)
        return 0;
    rollback(st);
    return -1;
}
void sc_store_tx_rollback(struct sc_store *st) { rollback(st); }

void sc_store_turns(struct sc_store *st, void (*take)(void *), void (*give)(void *), void *turns)
{
    st->take = take;
    st->give = give;
    st->turns = turns;
}
bool sc_store_tx_open(struct sc_store *st) { return st->depth > 0 && !sqlite3_get_autocommit(st->db); }

/* ---- step runs ---- */

static int64_t step_write(struct sc_store *st, int64_t run, const struct sc_step_row *r)
{
    size_t n;
    bool failed;
    void *state = value_blob(st, r->state, r->confidential, &n, &failed);
    if (failed)
        return -1;
    if (run > 0)
        return exec_stmt(st, q(st, Q_STEP_END, "sIijjbi", r->status, r->duration_ms,
                               (int64_t)r->bundles, r->output, r->error, state, n, run),
                         "recording a step");
    sqlite3_stmt *s = q(st, Q_STEP_BEGIN, "sissssiIijjb", r->execution, (int64_t)r->attempt,
                        r->step, r->module, r->bundle, r->status, r->started_ms,
                        r->duration_ms, (int64_t)r->bundles, r->output, r->error, state, n);
    if (exec_stmt(st, s, "recording a step") != 0)
        return -1;
    return sqlite3_last_insert_rowid(st->db);
}

int64_t sc_store_step_begin(struct sc_store *st, const struct sc_step_row *r)
{
    return st->defer ? defer_step(st, 0, r) : step_write(st, 0, r);
}

int sc_store_step_end(struct sc_store *st, int64_t run, const struct sc_step_row *r)
{
    return (st->defer ? defer_step(st, run, r) : step_write(st, run, r)) < 0 ? -1 : 0;
}

int sc_store_step_state(struct sc_store *st, int64_t run, json_t *state, bool confidential)
{
    if (st->defer)
        return defer_step_state(st, run, state, confidential);
    size_t n;
    bool failed;
    void *b = value_blob(st, state, confidential, &n, &failed);
    return failed ? -1 : exec_stmt(st, q(st, Q_STEP_STATE, "bi", b, n, run), "recording a step");
}

json_t *sc_store_journal(struct sc_store *st, const char *execution)
{
    sqlite3_stmt *s = q(st, Q_JOURNAL, "s", execution);
    json_t *j = s ? json_object() : NULL;
    while (j && run_step(st, s) == SQLITE_ROW) {
        json_t *v = col_value(st, s, 2);
        char key[600];
        snprintf(key, sizeof key, "%s %s", col_text(s, 0), col_text(s, 1));
        if (!v || json_object_set_new(j, key, v) != 0) {
            json_decref(j);
            j = NULL;
        }
    }
    if (s)
        done(s);
    return j;
}

/* ---- incomplete executions ---- */

static json_t *incomplete_row(sqlite3_stmt *s)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:o}", "execution",
                          col_text(s, 0), "scenario", col_text(s, 1), "step", col_text(s, 2),
                          "bundle", col_text(s, 3), "state", col_text(s, 8), "attempts",
                          sqlite3_column_int(s, 5), "max_attempts", sqlite3_column_int(s, 6),
                          "created_at", iso(sqlite3_column_int64(s, 9)));
    if (!e)
        return NULL;
    if (sqlite3_column_type(s, 7) != SQLITE_NULL)
        json_object_set_new(e, "next_attempt_at", iso(sqlite3_column_int64(s, 7)));
    json_object_set_new(e, "updated_at", iso(sqlite3_column_int64(s, 10)));
    if (sqlite3_column_type(s, 11) != SQLITE_NULL)
        json_object_set_new(e, "decided_by", json_string(col_text(s, 11)));
    json_t *err = col_json(s, 4);
    if (err)
        json_object_set_new(e, "error", err);
    return e;
}

int sc_store_incomplete_put(struct sc_store *st, const struct sc_incomplete_row *r)
{
    if (st->defer)
        return defer_incomplete(st, r);
    sqlite3_stmt *s = q(st, Q_INC_PUT, "ssssjiiisi", r->execution, r->scenario, r->step,
                        r->bundle, r->error, (int64_t)r->attempts, (int64_t)r->max_attempts,
                        r->next_ms, r->state, sc_clock_now_ms());
    if (s && !r->next_ms)
        sqlite3_bind_null(s, 8);
    return exec_stmt(st, s, "recording the incomplete execution");
}

json_t *sc_store_incomplete_list(struct sc_store *st, const char *state)
{
    return rows(st, state ? q(st, Q_INC_LIST_STATE, "s", state) : q(st, Q_INC_LIST_OPEN, ""),
                incomplete_row);
}

json_t *sc_store_incomplete_get(struct sc_store *st, const char *execution)
{
    json_t *a = rows(st, q(st, Q_INC_GET, "s", execution), incomplete_row);
    json_t *e = json_incref(json_array_get(a, 0));
    json_decref(a);
    return e;
}

json_t *sc_store_incomplete_due(struct sc_store *st, int64_t now_ms)
{
    sqlite3_stmt *s = q(st, Q_INC_DUE, "i", now_ms);
    json_t *a = s ? json_array() : NULL;
    while (a && run_step(st, s) == SQLITE_ROW)
        json_array_append_new(a, json_string(col_text(s, 0)));
    if (s)
        done(s);
    return a;
}

int sc_store_incomplete_close(struct sc_store *st, const char *execution, const char *state,
                              const char *by)
{
    if (defer_refuse(st, "closing an incomplete entry"))
        return -1;
    if (begin(st) != 0)
        return -1;
    int rc = exec_stmt(st, q(st, Q_INC_CLOSE, "ssis", state, by, sc_clock_now_ms(), execution),
                       "closing the incomplete execution");
    bool none = rc == 0 && sqlite3_changes(st->db) == 0;
    if (rc == 0 && !none)
        rc = erase_resume_data(st, execution);
    if (rc != 0 || none || commit(st) != 0) {
        rollback(st);
        return rc != 0 ? -1 : none ? 1 : -1;
    }
    return 0;
}

/* ---- the audit log ---- */

static const char genesis[65] = "0000000000000000000000000000000000000000000000000000000000000000";

void sc_store_audit_key(struct sc_store *st, const char *key_ref, int64_t unkeyed_rows)
{
    free(st->audit_ref);
    st->audit_ref = key_ref ? sc_strdup(key_ref) : NULL;
    st->unkeyed_rows = unkeyed_rows > 0 ? unkeyed_rows : 0;
    if (st->audit_key)
        memset(st->audit_key, 0, st->audit_key_len);
    free(st->audit_key);
    st->audit_key = NULL;
}

static void hex32(const unsigned char md[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* HMAC-SHA256 (RFC 2104) of n bytes under the audit key, as 64 hex digits. */
static void audit_mac(const struct sc_store *st, const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    size_t len = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    bool ok = c && EVP_MAC_init(c, (const unsigned char *)st->audit_key, st->audit_key_len,
                                params) == 1 &&
              EVP_MAC_update(c, data, n) == 1 && EVP_MAC_final(c, md, &len, sizeof md) == 1 &&
              len == 32;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(mac);
    if (!ok)
        memset(md, 0, sizeof md); /* cannot pass verify: no row is ever written with it */
    hex32(md, out);
}

/* The org's audit key, resolved once: 1 keyed, 0 no key configured, -1 error (set). */
static int audit_keyed(struct sc_store *st)
{
    if (!st->audit_ref)
        return 0;
    if (st->audit_key)
        return 1;
    char err[256];
    char *k = sc_org_secret(st->audit_ref, err, sizeof err);
    if (!k)
        return set_err(st, "audit key: %s", err), -1;
    if (strlen(k) < 32) {
        memset(k, 0, strlen(k));
        free(k);
        return set_err(st, "audit key %s is shorter than 32 characters (make one with "
                       "`openssl rand -hex 32`)", st->audit_ref), -1;
    }
    st->audit_key_len = strlen(k);
    st->audit_key = k;
    char id[65];
    audit_mac(st, "scenarist audit key id", 22, id);
    snprintf(st->audit_id, sizeof st->audit_id, "k%.16s", id);
    return 1;
}

/* The hash of a row covers every column but itself, the previous hash included: HMAC
 * under the audit key for a keyed row, plain SHA-256 for a row of an unkeyed chain. */
static void audit_hash(const struct sc_store *st, bool keyed, int64_t id, int64_t at,
                       const char *const txt[8], int64_t status, int64_t duration,
                       const char *body_sha, const char *outcome, const char *prev, int64_t ref,
                       char out[65])
{
    struct sc_buf b = {0};
    sc_buf_printf(&b, "%lld", (long long)id);
    sc_buf_printf(&b, "\x1f%lld", (long long)at);
    for (int i = 0; i < 8; i++)
        sc_buf_printf(&b, "\x1f%s", txt[i] ? txt[i] : "");
    sc_buf_printf(&b, "\x1f%lld\x1f%lld\x1f%s\x1f%s\x1f%s", (long long)status,
                  (long long)duration, body_sha, outcome, prev);
    if (ref > 0) /* rows before schema 7 have none: their hashes stay what they were */
        sc_buf_printf(&b, "\x1fref=%lld", (long long)ref);
    if (keyed)
        audit_mac(st, b.data ? b.data : "", b.len, out);
    else
        sc_sha256_hex(b.data ? b.data : "", b.len, out);
    if (b.oom)
        memset(out, 'x', 64); /* cannot happen quietly: the row would fail verify */
    sc_buf_free(&b);
}

/* The head's MAC: the last row's id and hash under the key (unkeyed: empty). */
static void head_mac(const struct sc_store *st, int64_t last, const char *hash, char out[65])
{
    char text[96];
    int n = snprintf(text, sizeof text, "head\x1f%lld\x1f%s", (long long)last, hash);
    audit_mac(st, text, (size_t)n, out);
}

int64_t sc_store_audit_add(struct sc_store *st, const struct sc_audit_row *r)
{
    char body_sha[65], hash[65], prev[65], mac[65] = "";
    if (defer_refuse(st, "appending to the audit log"))
        return -1;
    sc_sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, body_sha);
    int keyed = audit_keyed(st);
    if (keyed < 0 || begin(st) != 0)
        return -1;
    sqlite3_stmt *s = q(st, Q_AUDIT_HEAD, "");
    if (!s) {
        rollback(st);
        return -1;
    }
    int64_t last = 0;
    snprintf(prev, sizeof prev, "%s", genesis);
    if (run_step(st, s) == SQLITE_ROW) {
        last = sqlite3_column_int64(s, 0);
        snprintf(prev, sizeof prev, "%s", col_text(s, 1));
    }
    done(s);
    const char *to = r->sent_to ? r->sent_to : "";
    const char *txt[8] = {r->org, r->scenario, r->version, r->execution, r->step, r->method,
                          r->sent_from, to};
    audit_hash(st, keyed, last + 1, r->at_ms, txt, r->status, r->duration_ms, body_sha,
               r->outcome, prev, r->ref, hash);
    if (keyed)
        head_mac(st, last + 1, hash, mac);
    sqlite3_stmt *ins = q(st, Q_AUDIT_INSERT, "iissssssssiissssIs", last + 1, r->at_ms, r->org,
                          r->scenario, r->version, r->execution, r->step, r->method,
                          r->sent_from, to, (int64_t)r->status, r->duration_ms, body_sha,
                          r->outcome, prev, hash, r->ref > 0 ? r->ref : (int64_t)-1,
                          keyed ? st->audit_id : "");
    if (ins && !r->status)
        sqlite3_bind_null(ins, 11);
    if (exec_stmt(st, ins, "appending to the audit log") != 0 ||
        exec_stmt(st, q(st, Q_AUDIT_SET_HEAD, "iss", last + 1, hash, mac),
                  "appending to the audit log") != 0 ||
        commit(st) != 0) {
        rollback(st);
        return -1;
    }
    return last + 1;
}

static json_t *audit_json(sqlite3_stmt *s)
{
    json_t *e = json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                          (json_int_t)sqlite3_column_int64(s, 0), "at",
                          iso(sqlite3_column_int64(s, 1)), "org", col_text(s, 2), "scenario",
                          col_text(s, 3), "version", col_text(s, 4), "execution", col_text(s, 5),
                          "step", col_text(s, 6), "method", col_text(s, 7), "sent_from",
                          col_text(s, 8), "sent_to", col_text(s, 9));
    if (!e)
        return NULL;
    json_object_set_new(e, "status", sqlite3_column_type(s, 10) == SQLITE_NULL
                                         ? json_null() : json_integer(sqlite3_column_int(s, 10)));
    json_object_set_new(e, "duration_ms", json_integer(sqlite3_column_int64(s, 11)));
    json_object_set_new(e, "body_sha256", json_string(col_text(s, 12)));
    json_object_set_new(e, "outcome", json_string(col_text(s, 13)));
    json_object_set_new(e, "hash", json_string(col_text(s, 15)));
    return e;
}

json_t *sc_store_audit_list(struct sc_store *st, const struct sc_audit_filter *f)
{
    sqlite3_stmt *s = q(st, Q_AUDIT_LIST, "sssi", f->scenario, f->sent_to_prefix, f->execution,
                        (int64_t)(f->limit > 0 ? f->limit : 1000));
    json_t *a = s ? json_array() : NULL;
    while (a && run_step(st, s) == SQLITE_ROW)
        json_array_append_new(a, audit_json(s));
    if (s)
        done(s);
    return a;
}

static int audit_problem(json_t **problem, int64_t row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int audit_problem(json_t **problem, int64_t row, const char *fmt, ...)
{
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    *problem = row > 0 ? json_pack("{s:I, s:s}", "row", (json_int_t)row, "reason", reason)
                       : json_pack("{s:s}", "reason", reason);
    return 1;
}

#define CHECKPOINT_FORMAT "scenarist.audit-checkpoint/1"

/* The checkpoint's HMAC covers its format, org, count, last hash and time. */
static void checkpoint_mac(const struct sc_store *st, const char *org, int64_t count,
                           const char *last_hash, const char *at, char out[65])
{
    char *text = sc_asprintf(CHECKPOINT_FORMAT "\x1f%s\x1f%lld\x1f%s\x1f%s", org,
                             (long long)count, last_hash, at);
    if (text)
        audit_mac(st, text, strlen(text), out);
    else
        memset(out, 'x', 64), out[64] = '\0';
    free(text);
}

/* The head as the rows say: the count and the last row's hash. */
static int audit_tail(struct sc_store *st, int64_t *count, char hash[65])
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", -1,
                           &s, NULL) != SQLITE_OK)
        return db_err(st, "reading the audit log");
    *count = 0;
    snprintf(hash, 65, "%s", genesis);
    if (run_step(st, s) == SQLITE_ROW) {
        *count = sqlite3_column_int64(s, 0);
        snprintf(hash, 65, "%s", col_text(s, 1));
    }
    sqlite3_finalize(s);
    return 0;
}

json_t *sc_store_audit_checkpoint(struct sc_store *st, const char *org, json_t **problem)
{
    *problem = NULL;
    int keyed = audit_keyed(st);
    if (keyed <= 0) {
        if (!keyed)
            set_err(st, "org %s has no audit key", org);
        return NULL;
    }
    int r = sc_store_audit_verify(st, org, NULL, problem); /* vouch only for an intact log */
    if (r != 0)
        return NULL;
    int64_t count;
    char hash[65], mac[65], at[40];
    if (audit_tail(st, &count, hash) != 0)
        return NULL;
    sc_clock_iso(sc_clock_now_ms(), at, sizeof at);
    checkpoint_mac(st, org, count, hash, at, mac);
    json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "format", CHECKPOINT_FORMAT,
                          "org", org, "count", (json_int_t)count, "last_hash", hash, "at", at,
                          "key_id", st->audit_id, "hmac", mac);
    if (!c)
        set_err(st, "out of memory");
    return c;
}

/* The checkpoint's own check: 0 sound (its count, hash), 2 refused (problem set). */
static int checkpoint_read(struct sc_store *st, const json_t *cp, const char *org,
                           int64_t *count, const char **hash, json_t **problem)
{
    const char *fmt = json_string_value(json_object_get(cp, "format"));
    const char *corg = json_string_value(json_object_get(cp, "org"));
    const char *at = json_string_value(json_object_get(cp, "at"));
    const char *mac = json_string_value(json_object_get(cp, "hmac"));
    json_t *n = json_object_get(cp, "count");
    *hash = json_string_value(json_object_get(cp, "last_hash"));
    if (!fmt || strcmp(fmt, CHECKPOINT_FORMAT) || !corg || !at || !mac || !*hash ||
        !json_is_integer(n) || json_integer_value(n) < 0)
        return audit_problem(problem, 0, "is not an audit checkpoint (format %s with org, "
                             "count, last_hash, at and hmac)", CHECKPOINT_FORMAT), 2;
    if (strcmp(corg, org))
        return audit_problem(problem, 0, "is a checkpoint of org %s, not %s: refused", corg,
                             org), 2;
    *count = json_integer_value(n);
    char want[65];
    checkpoint_mac(st, corg, *count, *hash, at, want);
    if (strlen(mac) != 64 || CRYPTO_memcmp(want, mac, 64) != 0)
        return audit_problem(problem, 0, "does not carry the HMAC of org %s's audit key: "
                             "refused (it was edited, or made with another key)", org), 2;
    return 0;
}

int sc_store_audit_verify(struct sc_store *st, const char *org, const json_t *cp,
                          json_t **problem)
{
    *problem = NULL;
    int keyed = audit_keyed(st);
    if (keyed < 0)
        return -1;
    if (!keyed)
        return set_err(st, "no audit key"), -1;
    int64_t cp_count = -1, have;
    const char *cp_hash = NULL;
    char tail[65];
    if (audit_tail(st, &have, tail) != 0)
        return -1;
    if (cp) {
        char at[64];
        snprintf(at, sizeof at, "%s", json_string_value(json_object_get(cp, "at")) ?
                 json_string_value(json_object_get(cp, "at")) : "");
        int r = checkpoint_read(st, cp, org, &cp_count, &cp_hash, problem);
        if (r)
            return r;
        if (have == 0 && cp_count > 0)
            return audit_problem(problem, 0, "it is empty, but the checkpoint of %s "
                                 "recorded %lld rows: it was wiped", at, (long long)cp_count);
        if (have < cp_count)
            return audit_problem(problem, have + 1, "is missing: the log ends at row %lld, but "
                                 "the checkpoint of %s recorded %lld rows: it was cut",
                                 (long long)have, at, (long long)cp_count);
    }
    sqlite3_stmt *s = q(st, Q_AUDIT_HEAD, "");
    if (!s)
        return -1;
    int64_t last = 0; /* the head is written with each row: rows past it came another way */
    char head[65], hmac[65] = "";
    bool has_head = false;
    snprintf(head, sizeof head, "%s", genesis);
    if (run_step(st, s) == SQLITE_ROW) {
        has_head = true;
        last = sqlite3_column_int64(s, 0);
        snprintf(head, sizeof head, "%s", col_text(s, 1));
        snprintf(hmac, sizeof hmac, "%s", col_text(s, 2));
    }
    done(s);
    if (!has_head && have > 0)
        return audit_problem(problem, 0, "its head (the last row's id and HMAC) is missing: it "
                             "was deleted, and rows after the last one may have been cut");
    if (!(s = q(st, Q_AUDIT_ALL, "")))
        return -1;
    int64_t expect = 1, unkeyed = 0;
    char prev[65], at_cp[65] = "";
    snprintf(prev, sizeof prev, "%s", genesis);
    int rc = 0;
    while (rc == 0 && run_step(st, s) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        const char *kid = col_text(s, 17);
        bool row_keyed = kid[0] != '\0';
        char hash[65];
        const char *txt[8];
        for (int i = 0; i < 8; i++)
            txt[i] = col_text(s, 2 + i);
        audit_hash(st, row_keyed, id, sqlite3_column_int64(s, 1), txt,
                   sqlite3_column_int64(s, 10), sqlite3_column_int64(s, 11), col_text(s, 12),
                   col_text(s, 13), col_text(s, 14), sqlite3_column_int64(s, 16), hash);
        if (id != expect)
            rc = audit_problem(problem, expect, "is missing: it was deleted");
        else if (id > last)
            rc = audit_problem(problem, id, "was added outside the audit log");
        else if (strcmp(col_text(s, 14), prev) != 0)
            rc = audit_problem(problem, id, "does not chain to the row before it: it was replaced");
        else if (row_keyed && strcmp(kid, st->audit_id) != 0)
            rc = audit_problem(problem, id, "was keyed with another audit key (%s; this org's "
                               "is %s)", kid, st->audit_id);
        else if (!row_keyed && (unkeyed != id - 1 || id > st->unkeyed_rows))
            rc = audit_problem(problem, id, "has no HMAC: it was rewritten without the audit "
                               "key%s", unkeyed == id - 1 ? " (or written before the org had "
                               "one: then accept it with audit.unkeyed_rows)" : "");
        else if (strcmp(hash, col_text(s, 15)) != 0)
            rc = audit_problem(problem, id, row_keyed ? "was changed or forged: its contents do "
                               "not match its HMAC" : "was changed: its contents do not match "
                               "its hash");
        unkeyed += !row_keyed && rc == 0;
        snprintf(prev, sizeof prev, "%s", col_text(s, 15));
        if (id == cp_count)
            snprintf(at_cp, sizeof at_cp, "%s", prev);
        expect = id + 1;
    }
    done(s);
    if (rc != 0)
        return rc;
    if (last > expect - 1)
        return audit_problem(problem, expect, "is missing: it was deleted (the log ended at a "
                             "later row)");
    if (strcmp(head, prev) != 0)
        return audit_problem(problem, last, "was replaced: its hash is not the one recorded");
    if (last > unkeyed) { /* the head of a keyed log carries its own MAC */
        char want[65];
        head_mac(st, last, head, want);
        if (strcmp(want, hmac) != 0)
            return audit_problem(problem, last, "is not the last row scenarist wrote: the "
                                 "log's head was rewritten (rows after it were cut?)");
    }
    if (cp && cp_count > 0 && strcmp(at_cp, cp_hash) != 0)
        return audit_problem(problem, cp_count, "is not the row the checkpoint of %s recorded: "
                             "the log was rewritten", json_string_value(json_object_get(cp, "at")));
    return 0;
}

/* ---- metrics ---- */

json_t *sc_store_metrics(struct sc_store *st)
{
    static const char *const text[] = {
        ("SELECT e.scenario, count(*), sum(e.status = 'error'), sum(e.status = 'warning'),"
         " (SELECT count(*) FROM holds h WHERE h.scenario = e.scenario)"
         " FROM executions e GROUP BY e.scenario ORDER BY e.scenario"),
        ("SELECT state, count(*) FROM incomplete WHERE state IN ('pending', 'exhausted')"
         " GROUP BY state"),
        "SELECT queue, count(*) FROM queue_items WHERE state = 'open' GROUP BY queue ORDER BY queue",
        "SELECT count(*) FROM holds WHERE state = 'pending'",
    };
    json_t *m = json_pack("{s:o, s:{s:i, s:i, s:i}, s:o, s:{s:i}}", "scenarios", json_object(),
                          "incomplete", "pending", 0, "exhausted", 0, "total", 0, "queues",
                          json_object(), "holds", "pending", 0);
    for (size_t k = 0; m && k < sizeof text / sizeof text[0]; k++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, text[k], -1, &s, NULL) != SQLITE_OK) {
            json_decref(m);
            return db_err(st, "metrics"), NULL;
        }
        while (run_step(st, s) == SQLITE_ROW) {
            const char *name = col_text(s, 0);
            int64_t n = sqlite3_column_int64(s, 1);
            if (k == 0) {
                int64_t failed = sqlite3_column_int64(s, 2) + sqlite3_column_int64(s, 3);
                int64_t holds = sqlite3_column_int64(s, 4);
                json_object_set_new(json_object_get(m, "scenarios"), name,
                                    json_pack("{s:I, s:I, s:I, s:f, s:I, s:f}", "executions",
                                              (json_int_t)n, "failures", (json_int_t)failed,
                                              "incomplete", (json_int_t)sqlite3_column_int64(s, 3),
                                              "failure_rate", n ? (double)failed / (double)n : 0.0,
                                              "holds", (json_int_t)holds, "hold_rate",
                                              n ? (double)holds / (double)n : 0.0));
            } else if (k == 1) {
                json_t *inc = json_object_get(m, "incomplete");
                json_object_set_new(inc, name, json_integer(n));
                json_object_set_new(inc, "total", json_integer(
                    json_integer_value(json_object_get(inc, "total")) + n));
            } else if (k == 2) {
                json_object_set_new(json_object_get(m, "queues"), name, json_integer(n));
            } else {
                json_object_set_new(json_object_get(m, "holds"), "pending",
                                    json_integer(sqlite3_column_int64(s, 0)));
            }
        }
        sqlite3_finalize(s);
    }
    json_t *queued = json_pack("{s:i, s:i}", "routine", 0, "realtime", 0);
    sqlite3_stmt *s = m && queued ? q(st, Q_QUEUED_COUNTS, "") : NULL;
    while (s && run_step(st, s) == SQLITE_ROW)
        json_object_set_new(queued, sqlite3_column_int(s, 0) > 0 ? "realtime" : "routine",
                            json_integer(sqlite3_column_int64(s, 1)));
    if (s)
        done(s);
    json_object_set_new(m, "queued", queued);
    json_t *scen = json_object_get(m, "scenarios");
    s = m ? q(st, Q_STATUS_COUNTS, "") : NULL;
    while (s && run_step(st, s) == SQLITE_ROW) {
        json_t *e = json_object_get(scen, col_text(s, 0)), *by = json_object_get(e, "by_status");
        if (e && !by)
            json_object_set_new(e, "by_status", by = json_object());
        json_object_set_new(by, col_text(s, 1), json_integer(sqlite3_column_int64(s, 2)));
    }
    if (s)
        done(s);
    return m;
}

/* ---- deferred writes ---- */

/* A recorded write: its kind (the query it runs) and its arguments, owned. */
struct dop {
    enum q kind;           /* Q_STEP_BEGIN, Q_STEP_END, Q_STEP_STATE, Q_EXEC_END, Q_INC_PUT,
                              Q_DS_SET, Q_DS_DEL, Q_DS_CLAIM */
    char *s[6];
    json_t *j[3];
    int64_t i[4];
    bool b;
};

/* A data store read from the store itself: checked again before the writes. */
struct dread {
    char *store, *key;     /* key: the prefix of a search; store NULL: a table's last id */
    int limit;             /* a search's; 0 for a get; the table (row_tables) for an id */
    json_t *seen;          /* NULL: absent */
};

/* Tables whose new rows' ids a recorded write answers: read their last id once, hand
 * out the next ones, and check at apply that nobody else added a row meanwhile. */
static const char *const row_sql[2] = {"SELECT coalesce(max(id), 0) FROM queue_items",
                                       "SELECT coalesce(max(id), 0) FROM holds"};
static const enum q row_kind[2] = {Q_QI_PUSH, Q_HOLD_PUT};

struct defer {
    struct dop *ops;
    size_t nops, capops;
    struct dread *reads;
    size_t nreads, capreads;
    int64_t *runs;         /* stand-in run id - RUN_BASE -> the op index of its step_begin */
    int64_t last_id[2];    /* row_sql's answers; -1 until read */
    bool refused;
};

/* Stand-in run ids: above any real rowid this store will reach. */
#define RUN_BASE ((int64_t)1 << 60)

static void dop_free(struct dop *o)
{
    for (int i = 0; i < 6; i++)
        free(o->s[i]);
    for (int i = 0; i < 3; i++)
        json_decref(o->j[i]);
}

static void defer_clear(struct defer *df)
{
    for (size_t i = 0; i < df->nops; i++)
        dop_free(&df->ops[i]);
    for (size_t i = 0; i < df->nreads; i++) {
        free(df->reads[i].store);
        free(df->reads[i].key);
        json_decref(df->reads[i].seen);
    }
    df->nops = df->nreads = 0;
    df->refused = false;
    df->last_id[0] = df->last_id[1] = -1;
}

void sc_store_defer(struct sc_store *st, bool on)
{
    if (st->defer) {
        defer_clear(st->defer);
        free(st->defer->ops);
        free(st->defer->reads);
        free(st->defer->runs);
        free(st->defer);
        st->defer = NULL;
    }
    if (on && !(st->defer = sc_calloc(1, sizeof *st->defer)))
        set_err(st, "out of memory");
    if (st->defer)
        st->defer->last_id[0] = st->defer->last_id[1] = -1;
}

size_t sc_store_defer_mark(struct sc_store *st)
{
    if (!st->defer)
        return 0;
    st->defer->refused = false;
    return st->defer->nops;
}

bool sc_store_defer_refused(const struct sc_store *st) { return st->defer && st->defer->refused; }

void sc_store_defer_cut(struct sc_store *st, size_t mark)
{
    struct defer *df = st->defer;
    while (df && df->nops > mark)
        dop_free(&df->ops[--df->nops]);
}

static bool defer_refuse(struct sc_store *st, const char *what)
{
    if (!st->defer)
        return false;
    st->defer->refused = true;
    set_err(st, "%s cannot be deferred", what);
    return true;
}

/* A new op of kind, or NULL (out of memory, said). */
static struct dop *dop_add(struct sc_store *st, enum q kind)
{
    struct defer *df = st->defer;
    if (df->nops == df->capops) {
        size_t cap = df->capops ? df->capops * 2 : 64;
        struct dop *v = sc_realloc(df->ops, cap * sizeof *v);
        int64_t *r = sc_realloc(df->runs, cap * sizeof *r);
        if (r)
            df->runs = r;
        if (!v || !r) {
            if (v)
                df->ops = v;
            set_err(st, "out of memory");
            return NULL;
        }
        df->ops = v;
        df->capops = cap;
    }
    struct dop *o = &df->ops[df->nops++];
    *o = (struct dop){.kind = kind};
    return o;
}

/* Copies the strings (NULL stays NULL); false when memory ran out. */
static bool dop_strs(struct dop *o, int n, const char *const *v)
{
    for (int i = 0; i < n; i++)
        if (v[i] && !(o->s[i] = sc_strdup(v[i])))
            return false;
    return true;
}

static int64_t dop_fail(struct sc_store *st)
{
    dop_free(&st->defer->ops[--st->defer->nops]);
    set_err(st, "out of memory");
    return -1;
}

static int64_t defer_step(struct sc_store *st, int64_t run, const struct sc_step_row *r)
{
    struct dop *o = dop_add(st, run > 0 ? Q_STEP_END : Q_STEP_BEGIN);
    if (!o)
        return -1;
    const char *s[6] = {r->execution, r->step, r->module, r->bundle, r->status};
    if (!dop_strs(o, 5, s))
        return dop_fail(st);
    o->j[0] = json_incref(r->output);
    o->j[1] = json_incref(r->error);
    o->j[2] = json_incref(r->state);
    o->i[0] = run;
    o->i[1] = r->attempt;
    o->i[2] = r->started_ms;
    o->i[3] = r->duration_ms;
    o->b = r->confidential;
    o->s[5] = sc_asprintf("%" JSON_INTEGER_FORMAT, r->bundles);
    if (!o->s[5])
        return dop_fail(st);
    size_t at = st->defer->nops - 1;
    st->defer->runs[at] = (int64_t)at;
    return run > 0 ? run : RUN_BASE + (int64_t)at;
}

static int defer_step_state(struct sc_store *st, int64_t run, json_t *state, bool confidential)
{
    struct dop *o = dop_add(st, Q_STEP_STATE);
    if (!o)
        return -1;
    o->i[0] = run;
    o->j[0] = json_incref(state);
    o->b = confidential;
    return 0;
}

static int defer_exec_end(struct sc_store *st, const char *id, const char *status,
                          int64_t duration_ms, json_t *summary, bool states)
{
    struct dop *o = dop_add(st, Q_EXEC_END);
    const char *s[2] = {id, status};
    if (!o)
        return -1;
    if (!dop_strs(o, 2, s))
        return (int)dop_fail(st);
    o->i[0] = duration_ms;
    o->j[0] = json_incref(summary);
    o->b = states;
    return 0;
}

static int defer_incomplete(struct sc_store *st, const struct sc_incomplete_row *r)
{
    struct dop *o = dop_add(st, Q_INC_PUT);
    const char *s[5] = {r->execution, r->scenario, r->step, r->bundle, r->state};
    if (!o)
        return -1;
    if (!dop_strs(o, 5, s))
        return (int)dop_fail(st);
    o->j[0] = json_incref(r->error);
    o->i[0] = r->attempts;
    o->i[1] = r->max_attempts;
    o->i[2] = r->next_ms;
    return 0;
}

/* The recording's last write of store/key, or NULL. */
static const struct dop *overlay_op(const struct defer *df, const char *store, const char *key)
{
    for (size_t i = df->nops; i-- > 0;) {
        const struct dop *o = &df->ops[i];
        if ((o->kind == Q_DS_SET || o->kind == Q_DS_DEL || o->kind == Q_DS_CLAIM) &&
            !strcmp(o->s[0], store) && !strcmp(o->s[1], key))
            return o;
    }
    return NULL;
}

/* The recording's own value for store/key: true when it wrote one (*v borrowed, NULL when
 * it deleted the key). */
static bool overlay(const struct defer *df, const char *store, const char *key, json_t **v)
{
    const struct dop *o = overlay_op(df, store, key);
    *v = o ? o->j[0] : NULL;
    return o != NULL;
}

/* As sc_store_ds_entry, through the recording: a value it wrote expires its ttl from now. */
static json_t *defer_ds_entry(struct sc_store *st, const char *store, const char *key,
                              int64_t *expires_ms)
{
    struct defer *df = st->defer;
    const struct dop *o = overlay_op(df, store, key);
    st->err[0] = '\0';
    *expires_ms = -1;
    if (o) {
        if (o->j[0] && o->i[0] > 0)
            *expires_ms = sc_clock_now_ms() + o->i[0];
        return json_deep_copy(o->j[0]);
    }
    st->defer = NULL;
    json_t *v = sc_store_ds_entry(st, store, key, expires_ms);
    st->defer = df;
    if (!v && st->err[0])
        return NULL;
    if (read_add(st, store, key, 0, json_incref(v)) != 0) {
        json_decref(v);
        set_err(st, "out of memory");
        return NULL;
    }
    return v;
}

/* Records a read of the store (value stolen); -1 when memory ran out. */
static int read_add(struct sc_store *st, const char *store, const char *key, int limit,
                    json_t *value)
{
    struct defer *df = st->defer;
    if (df->nreads == df->capreads) {
        size_t cap = df->capreads ? df->capreads * 2 : 32;
        struct dread *v = sc_realloc(df->reads, cap * sizeof *v);
        if (!v) {
            json_decref(value);
            return -1;
        }
        df->reads = v;
        df->capreads = cap;
    }
    struct dread *r = &df->reads[df->nreads];
    *r = (struct dread){.store = store ? sc_strdup(store) : NULL, .key = sc_strdup(key),
                        .limit = limit, .seen = value};
    if ((store && !r->store) || !r->key) {
        free(r->store);
        free(r->key);
        json_decref(value);
        return -1;
    }
    df->nreads++;
    return 0;
}

/* What the store itself holds for store/key, recorded to be checked at apply: 0 with *v
 * (a new reference or NULL), -1 error. */
static int base_get(struct sc_store *st, const char *store, const char *key, json_t **v)
{
    struct defer *df = st->defer;
    st->defer = NULL;
    *v = sc_store_ds_get(st, store, key);
    st->defer = df;
    if (!*v && st->err[0])
        return -1;
    if (read_add(st, store, key, 0, json_incref(*v)) != 0) {
        json_decref(*v);
        set_err(st, "out of memory");
        return -1;
    }
    return 0;
}

static json_t *defer_ds_get(struct sc_store *st, const char *store, const char *key)
{
    json_t *v;
    st->err[0] = '\0';
    if (overlay(st->defer, store, key, &v))
        return json_deep_copy(v);
    return base_get(st, store, key, &v) == 0 ? v : NULL;
}

static int defer_ds_write(struct sc_store *st, int kind, const char *store, const char *key,
                          json_t *value, int64_t ttl_ms)
{
    json_t *was = NULL;
    int found = 1;
    if (kind != Q_DS_SET) { /* delete and claim answer from what is there */
        json_t *v;
        if (overlay(st->defer, store, key, &v))
            found = v != NULL;
        else if (base_get(st, store, key, &v) != 0)
            return -1;
        else
            found = v != NULL, json_decref(v);
        if (kind == Q_DS_DEL && !found)
            return 1;
        if (kind == Q_DS_CLAIM && found)
            return 0;
    }
    if (value && !(was = json_deep_copy(value))) /* read back later: a copy of now */
        return set_err(st, "out of memory"), -1;
    struct dop *o = dop_add(st, kind);
    const char *s[2] = {store, key};
    if (!o || !dop_strs(o, 2, s)) {
        json_decref(was);
        return o ? (int)dop_fail(st) : -1;
    }
    o->j[0] = was;
    o->i[0] = ttl_ms;
    return kind == Q_DS_CLAIM ? 1 : 0;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "key")),
                  json_string_value(json_object_get(*(json_t *const *)b, "key")));
}

static json_t *defer_ds_search(struct sc_store *st, const char *store, const char *prefix,
                               int limit)
{
    struct defer *df = st->defer;
    const char *pre = prefix ? prefix : "";
    size_t plen = strlen(pre);
    int lim = limit > 0 ? limit : 100, extra = 0;
    for (size_t i = 0; i < df->nops; i++) /* a deleted key must not shorten the page */
        extra += df->ops[i].kind == Q_DS_DEL && !strcmp(df->ops[i].s[0], store);
    st->defer = NULL;
    json_t *base = sc_store_ds_search(st, store, pre, lim + extra);
    st->defer = df;
    if (!base || read_add(st, store, pre, lim + extra, json_incref(base)) != 0) {
        json_decref(base);
        return set_err(st, "out of memory"), NULL;
    }
    json_t *byk = json_object(), *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(base, i, e)
        json_object_set(byk, json_string_value(json_object_get(e, "key")), e);
    for (i = 0; i < df->nops; i++) {
        const struct dop *o = &df->ops[i];
        if ((o->kind != Q_DS_SET && o->kind != Q_DS_DEL && o->kind != Q_DS_CLAIM) ||
            strcmp(o->s[0], store) || strncmp(o->s[1], pre, plen))
            continue;
        if (o->kind == Q_DS_DEL)
            json_object_del(byk, o->s[1]);
        else
            json_object_set_new(byk, o->s[1], json_pack("{s:s, s:O}", "key", o->s[1], "value",
                                                         o->j[0]));
    }
    const char *k;
    json_object_foreach(byk, k, e)
        json_array_append(out, e);
    size_t n = json_array_size(out);
    json_t **v = n ? sc_calloc(n, sizeof *v) : NULL;
    for (i = 0; v && i < n; i++)
        v[i] = json_incref(json_array_get(out, i));
    if (v)
        qsort(v, n, sizeof *v, by_key);
    json_array_clear(out);
    for (i = 0; v && i < n; i++) {
        if (i < (size_t)lim)
            json_array_append_new(out, json_deep_copy(v[i]));
        json_decref(v[i]);
    }
    free(v);
    json_decref(byk);
    json_decref(base);
    if (n && !v) {
        json_decref(out);
        return set_err(st, "out of memory"), NULL;
    }
    return out;
}

/* The last id of row_sql[table] in the store, -1 on error. */
static int64_t last_row_id(struct sc_store *st, int table)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, row_sql[table], -1, &s, NULL) != SQLITE_OK)
        return db_err(st, "reading the last id");
    int64_t id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return id < 0 ? db_err(st, "reading the last id") : id;
}

/* A queue item (table 0: s = queue, execution; j = item) or a hold (1: s = execution,
 * scenario, step, bundle, reason; j = diff) recorded with the id it will get. */
static int64_t defer_row(struct sc_store *st, int table, const char *const s[5], json_t *j)
{
    struct defer *df = st->defer;
    if (df->last_id[table] < 0) {
        int64_t last = last_row_id(st, table);
        if (last < 0 || read_add(st, NULL, "", table, json_integer(last)) != 0)
            return -1;
        df->last_id[table] = last;
    }
    int64_t id = df->last_id[table] + 1;
    for (size_t i = 0; i < df->nops; i++)
        id += df->ops[i].kind == row_kind[table];
    struct dop *o = dop_add(st, row_kind[table]);
    if (!o)
        return -1;
    if (!dop_strs(o, 5, s))
        return dop_fail(st);
    o->j[0] = json_deep_copy(j);
    o->i[0] = id;
    return id;
}

/* The real run id of a recorded one (stand-ins map to their step_begin's rowid). */
static int64_t real_run(const struct defer *df, int64_t run)
{
    return run >= RUN_BASE ? df->runs[run - RUN_BASE] : run;
}

static int dop_run(struct sc_store *st, struct defer *df, size_t at)
{
    struct dop *o = &df->ops[at];
    struct sc_step_row r = {.execution = o->s[0], .step = o->s[1], .module = o->s[2],
                            .bundle = o->s[3], .status = o->s[4], .attempt = (int)o->i[1],
                            .started_ms = o->i[2], .duration_ms = o->i[3],
                            .bundles = o->s[5] ? strtoll(o->s[5], NULL, 10) : 0,
                            .output = o->j[0], .error = o->j[1], .state = o->j[2],
                            .confidential = o->b};
    int64_t id;
    switch (o->kind) {
    case Q_STEP_BEGIN:
        if ((id = step_write(st, 0, &r)) < 0)
            return -1;
        df->runs[at] = id;
        return 0;
    case Q_STEP_END:
        return step_write(st, real_run(df, o->i[0]), &r) < 0 ? -1 : 0;
    case Q_STEP_STATE:
        return sc_store_step_state(st, real_run(df, o->i[0]), o->j[0], o->b);
    case Q_EXEC_END:
        return sc_store_exec_end(st, o->s[0], o->s[1], o->i[0], o->j[0], o->b);
    case Q_INC_PUT: {
        struct sc_incomplete_row ir = {.execution = o->s[0], .scenario = o->s[1], .step = o->s[2],
                                       .bundle = o->s[3], .state = o->s[4], .error = o->j[0],
                                       .attempts = (int)o->i[0], .max_attempts = (int)o->i[1],
                                       .next_ms = o->i[2]};
        return sc_store_incomplete_put(st, &ir);
    }
    case Q_DS_SET:
        return sc_store_ds_set(st, o->s[0], o->s[1], o->j[0], o->i[0]);
    case Q_DS_DEL:
        return sc_store_ds_delete(st, o->s[0], o->s[1]) < 0 ? -1 : 0;
    case Q_QI_PUSH:
    case Q_HOLD_PUT: { /* the id it was promised, as the last id was checked */
        int64_t got = o->kind == Q_QI_PUSH
                          ? sc_store_queue_push(st, o->s[0], o->j[0], o->s[1])
                          : sc_store_hold_put(st, o->s[0], o->s[1], o->s[2], o->s[3], o->s[4],
                                              o->j[0]);
        return got < 0 ? -1 : got != o->i[0];
    }
    case Q_DS_CLAIM: { /* the check above makes it free: taken, or another wrote it */
        int rc = sc_store_ds_claim(st, o->s[0], o->s[1], o->j[0], o->i[0]);
        return rc < 0 ? -1 : rc == 0 ? 1 : 0;
    }
    default:
        return set_err(st, "a deferred write of an unknown kind"), -1;
    }
}

int sc_store_defer_apply(struct sc_store *st)
{
    struct defer *df = st->defer;
    if (!df)
        return set_err(st, "nothing is deferred"), -1;
    st->defer = NULL; /* the real calls from here */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < df->nreads; i++) {
        struct dread *r = &df->reads[i];
        int64_t last = r->store ? 0 : last_row_id(st, r->limit);
        json_t *now = !r->store ? (last < 0 ? NULL : json_integer(last))
                      : r->limit ? sc_store_ds_search(st, r->store, r->key, r->limit)
                                 : sc_store_ds_get(st, r->store, r->key);
        if (!r->store || r->limit ? !now : !now && st->err[0])
            rc = -1;
        else if (!(now == r->seen || (now && r->seen && json_equal(now, r->seen))))
            rc = 1;
        json_decref(now);
    }
    for (size_t i = 0; rc == 0 && i < df->nops; i++)
        rc = dop_run(st, df, i);
    if (rc == 1)
        set_err(st, "another connection changed a data store value this batch read");
    defer_clear(df);
    st->defer = df;
    return rc;
}

/* ---- the store lock ---- */

/* The database's one name: symbolic links followed (also one to a file not made yet)
 * and the folder made absolute, so every name of one file locks one lock file. New
 * string; NULL when memory runs out (errno ENOMEM) or a link loops (ELOOP). */
static char *lock_name(const char *path)
{
    char *p = sc_strdup(path);
    for (int hops = 0; p && hops < 40; hops++) {
        char target[4096];
        ssize_t n = readlink(p, target, sizeof target - 1);
        if (n < 0)
            break; /* not a link (or not there yet): p names the file */
        target[n] = '\0';
        const char *slash = strrchr(p, '/');
        char *next = target[0] == '/' || !slash
                         ? sc_strdup(target)
                         : sc_asprintf("%.*s/%s", (int)(slash - p), p, target);
        free(p);
        p = next;
        if (hops == 39) {
            free(p);
            errno = ELOOP;
            return NULL;
        }
    }
    if (!p || mkdirs(p) != 0) {
        free(p);
        return NULL;
    }
    const char *slash = strrchr(p, '/');
    char *dir = slash ? sc_strndup(p, slash == p ? 1 : (size_t)(slash - p)) : sc_strdup(".");
    char *real = dir ? realpath(dir, NULL) : NULL;
    char *name = real ? sc_asprintf("%s%s%s", real, strcmp(real, "/") ? "/" : "",
                                    slash ? slash + 1 : p)
                      : NULL;
    free(real);
    free(dir);
    free(p);
    return name;
}

int sc_store_lock(const char *path, int *fd, int64_t *prev, char *err, size_t errlen)
{
    *fd = -1;
    *prev = -1;
    char *canon = lock_name(path);
    char *lp = canon ? sc_asprintf("%s.lock", canon) : NULL;
    free(canon);
    if (!lp || mkdirs(lp) != 0) {
        snprintf(err, errlen, "store %s: cannot make its directory: %s", path,
                 lp ? strerror(errno) : "out of memory");
        free(lp);
        return -1;
    }
    int f = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        snprintf(err, errlen, "store %s: cannot open its lock file %s: %s", path, lp, strerror(errno));
        free(lp);
        return -1;
    }
    char held[256] = "";
    ssize_t n = pread(f, held, sizeof held - 1, 0);
    held[n > 0 ? n : 0] = '\0';
    held[strcspn(held, "\n")] = '\0';
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK) { /* read again: the holder may have written it just now */
            n = pread(f, held, sizeof held - 1, 0);
            held[n > 0 ? n : 0] = '\0';
            held[strcspn(held, "\n")] = '\0';
            long pid = 0;
            char host[128] = "?";
            sscanf(held, "pid %ld host %127s", &pid, host);
            snprintf(err, errlen, "store %s is in use by another scenarist serve (pid %ld on host "
                     "%s, lock file %s): only one daemon may own an SQLite store", path, pid,
                     host, lp);
        } else {
            snprintf(err, errlen, "store %s: cannot lock %s: %s", path, lp, strerror(e));
        }
        close(f);
        free(lp);
        return e == EWOULDBLOCK ? 1 : -1;
    }
    long long who = -1;
    const char *o = strstr(held, " owner ");
    if (o && sscanf(o, " owner %lld", &who) == 1 && who > 0)
        *prev = who;
    char host[128] = "unknown", line[256];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    int len = snprintf(line, sizeof line, "pid %ld host %s owner %lld\n", (long)getpid(), host,
                       (long long)owner());
    if (ftruncate(f, 0) != 0 || pwrite(f, line, (size_t)len, 0) != len) {
        snprintf(err, errlen, "store %s: cannot write its lock file %s: %s", path, lp,
                 strerror(errno));
        close(f);
        free(lp);
        return -1;
    }
    free(lp);
    *fd = f;
    return 0;
}

void sc_store_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
