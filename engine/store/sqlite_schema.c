/* The SQLite store's schema: its migrations, applied in order by sq_migrate. */
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

/* A trigger adding 1 to counter (name, l1, l2) AFTER event [WHEN ...]: the row is made on
 * first use. */
#define COUNT_TRIGGER(name, event, when, key)                                                 \
    "CREATE TRIGGER count_" name " AFTER " event when " BEGIN"                                \
    " INSERT INTO counters(name, l1, l2, value) VALUES(" key ", 1)"                           \
    " ON CONFLICT(name, l1, l2) DO UPDATE SET value = value + 1; END;"

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
    /* v9: work queues that converge: a keyed item is one open item per (queue, key),
     * updated when pushed again (last_seen, times_seen, seen_by: the execution that last
     * saw it); a sweep closes the keyed items a run did not see, with a resolution. */
    "ALTER TABLE queue_items ADD COLUMN key TEXT;"
    "ALTER TABLE queue_items ADD COLUMN last_seen INTEGER;"
    "ALTER TABLE queue_items ADD COLUMN times_seen INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE queue_items ADD COLUMN seen_by TEXT;"
    "ALTER TABLE queue_items ADD COLUMN resolution TEXT;"
    "CREATE UNIQUE INDEX queue_items_key ON queue_items(queue, key)"
    " WHERE state = 'open' AND key IS NOT NULL;",
    /* v10: shadowed writes: what a shadowing (read-only) connection kept from being sent,
     * with its headers and body (sealed when the scenario is confidential) in request. */
    "CREATE TABLE shadow_writes(id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    " org TEXT NOT NULL, scenario TEXT NOT NULL, version TEXT NOT NULL,"
    " execution TEXT NOT NULL, step TEXT NOT NULL, bundle TEXT NOT NULL,"
    " connection TEXT NOT NULL, method TEXT NOT NULL, url TEXT NOT NULL,"
    " status INTEGER NOT NULL, audit_id INTEGER, confidential INTEGER NOT NULL,"
    " request BLOB NOT NULL);"
    "CREATE INDEX shadow_writes_scenario ON shadow_writes(scenario, id);"
    "CREATE INDEX shadow_writes_execution ON shadow_writes(execution, id);",
    /* v11: people's decisions (approve or reject a hold, retry an incomplete execution):
     * who, when, why; a continuation (approve, retry) waits as 'pending' until the daemon
     * takes it ('running', owner) and ends 'done' with its outcome ('here': run by the
     * deciding process itself); one open continuation per execution. */
    "CREATE TABLE decisions("
    " id INTEGER PRIMARY KEY, execution TEXT NOT NULL REFERENCES executions(id),"
    " action TEXT NOT NULL, hold INTEGER, decided_by TEXT NOT NULL, decided_at INTEGER NOT NULL,"
    " reason TEXT, state TEXT NOT NULL, owner INTEGER, outcome TEXT, ended_at INTEGER);"
    "CREATE UNIQUE INDEX decisions_open ON decisions(execution)"
    " WHERE state IN ('pending', 'running', 'here');"
    "CREATE INDEX decisions_waiting ON decisions(state, id) WHERE state IN ('pending', 'running');"
    "CREATE INDEX decisions_execution ON decisions(execution, id);",
    /* v12: holds found by time (metrics over a window); counters for /metrics, kept by
     * triggers in the statement that changes the row (so every path counts, and a scrape
     * reads this small table, never the history), seeded from the rows already there:
     * name, two labels, value. */
    "CREATE INDEX holds_created ON holds(created_at);"
    "CREATE TABLE counters(name TEXT NOT NULL, l1 TEXT NOT NULL, l2 TEXT NOT NULL,"
    " value INTEGER NOT NULL, PRIMARY KEY(name, l1, l2)) WITHOUT ROWID;"
    "INSERT INTO counters SELECT 'executions', scenario, status, count(*) FROM executions"
    " GROUP BY scenario, status;"
    "INSERT INTO counters SELECT 'holds_created', scenario, '', count(*) FROM holds"
    " GROUP BY scenario;"
    "INSERT INTO counters SELECT 'holds_decided', state, '', count(*) FROM holds"
    " WHERE state <> 'pending' GROUP BY state;"
    "INSERT INTO counters SELECT 'queue_items_opened', queue, '', count(*) FROM queue_items"
    " GROUP BY queue;"
    "INSERT INTO counters SELECT 'queue_items_closed', queue, state, count(*) FROM queue_items"
    " WHERE state <> 'open' GROUP BY queue, state;"
    COUNT_TRIGGER("exec_new", "INSERT ON executions", "", "'executions', new.scenario, new.status")
    COUNT_TRIGGER("exec_status", "UPDATE OF status ON executions",
                  " WHEN new.status IS NOT old.status", "'executions', new.scenario, new.status")
    COUNT_TRIGGER("hold_new", "INSERT ON holds", "", "'holds_created', new.scenario, ''")
    COUNT_TRIGGER("hold_decided", "UPDATE OF state ON holds",
                  " WHEN old.state = 'pending' AND new.state <> 'pending'",
                  "'holds_decided', new.state, ''")
    COUNT_TRIGGER("hold_gone", "DELETE ON holds", " WHEN old.state = 'pending'",
                  "'holds_decided', 'deleted', ''")
    COUNT_TRIGGER("item_new", "INSERT ON queue_items", " WHEN new.state = 'open'",
                  "'queue_items_opened', new.queue, ''")
    COUNT_TRIGGER("item_reopened", "UPDATE OF state ON queue_items",
                  " WHEN old.state <> 'open' AND new.state = 'open'",
                  "'queue_items_opened', new.queue, ''")
    COUNT_TRIGGER("item_closed", "UPDATE OF state ON queue_items",
                  " WHEN old.state = 'open' AND new.state <> 'open'",
                  "'queue_items_closed', new.queue, new.state")
    COUNT_TRIGGER("item_gone", "DELETE ON queue_items", " WHEN old.state = 'open'",
                  "'queue_items_closed', old.queue, 'deleted'"),
    /* v13: retention. The audit log's archive checkpoints (rows through `through` went
     * to file, the chain goes on from last_hash; HMAC under the audit key), and an audit
     * row may be deleted only once a checkpoint covers it; closed queue items by age. */
    "CREATE TABLE audit_archive(through INTEGER PRIMARY KEY, org TEXT NOT NULL,"
    " last_hash TEXT NOT NULL, unkeyed INTEGER NOT NULL, at TEXT NOT NULL,"
    " key_id TEXT NOT NULL, hmac TEXT NOT NULL, file TEXT NOT NULL);"
    "DROP TRIGGER audit_no_delete;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " WHEN old.id > coalesce((SELECT max(through) FROM audit_archive), 0)"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE INDEX queue_items_done ON queue_items(done_at) WHERE state <> 'open';",
    /* v14: the note a person resolves a queue item with; the person an audit row is owed
     * to (actor: who acted, or whose decision caused the write; NULL: the engine on its own). */
    "ALTER TABLE queue_items ADD COLUMN note TEXT;"
    "ALTER TABLE audit ADD COLUMN actor TEXT;",
    /* v15: the queue's own writes (enqueue, claim, end) count their executions in the
     * store's code, in the transaction that writes them, one counters row per batch and
     * not a trigger per row (a quarter of a claim's instructions): such a write sets
     * counted (1 when inserted, counted + 1 when updated) and the triggers, which go on
     * counting every other write, leave it alone. */
    "ALTER TABLE executions ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;"
    "DROP TRIGGER count_exec_new;"
    "DROP TRIGGER count_exec_status;"
    COUNT_TRIGGER("exec_new", "INSERT ON executions", " WHEN new.counted = 0",
                  "'executions', new.scenario, new.status")
    COUNT_TRIGGER("exec_status", "UPDATE OF status ON executions",
                  " WHEN new.status IS NOT old.status AND new.counted IS old.counted",
                  "'executions', new.scenario, new.status"),
    /* v16: the time indexes hold only executions that ran (attempts > 0, set by the claim
     * and never by the end): an event waits in executions_queue alone, and a claim, which
     * sets started_at, adds its entries instead of moving them (4 b-tree writes fewer per
     * execution); readers take the waiting ones (attempts = 0, status queued) from
     * executions_queue. executions_scenario serves the listing of one scenario. */
    "DROP INDEX executions_started;"
    "DROP INDEX executions_scenario;"
    "CREATE INDEX executions_started ON executions(started_at) WHERE attempts > 0;"
    "CREATE INDEX executions_scenario ON executions(scenario, started_at) WHERE attempts > 0;",
    /* v17: every write of the store's code that inserts an execution or changes its status
     * counts it in C (sq_tally: enqueue, claim, end, exec_begin, exec_claim), so the two
     * triggers only cost: present, they took 22,000-34,000 instructions an execution even
     * when their WHEN was false. A write behind the store's back is no longer counted.
     * counted is neither written nor read from here on (it told the triggers what the code
     * counted); the column stays, as dropping it would rewrite the table. */
    "DROP TRIGGER count_exec_new;"
    "DROP TRIGGER count_exec_status;",
};


int sc_store_schema_version(void) { return (int)(sizeof migrations / sizeof migrations[0]); }

int sq_migrate(struct sq_store *st)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return sq_db_err(st, "schema version");
    int have = sq_step(st, s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    int want = sc_store_schema_version();
    if (have < 0)
        return sq_db_err(st, "schema version");
    if (have > want) {
        sq_err(st, "store %s has schema version %d; this scenarist knows up to %d: "
               "use a newer scenarist", st->path, have, want);
        return -1;
    }
    for (int v = have; v < want; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return sq_db_err(st, "migration");
        /* another process creating the same store may have migrated while this one waited */
        int now = v;
        if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
            now = sq_step(st, s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : v;
            sqlite3_finalize(s);
        }
        if (now > v) {
            if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                return sq_db_err(st, "migration");
            v = now - 1;
            continue;
        }
        if (sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, bump, NULL, NULL, NULL) != SQLITE_OK) {
            sq_db_err(st, "migration");
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            return sq_db_err(st, "migration");
    }
    return 0;
}
