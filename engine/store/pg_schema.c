/* The PostgreSQL store's schema: its own migrations (the tables of the SQLite schema at
 * its v8, in PostgreSQL's types), applied in order by pg_migrate under an advisory lock. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>

/* Each migration takes the schema from version i to i + 1; never edit a shipped one. JSON
 * is kept as text (its bytes are what checksums and hashes covered), sealed values bytea. */
static const char *const migrations[] = {
    /* v1: the SQLite schema of v8 at once */
    "CREATE TABLE executions("
    " id TEXT PRIMARY KEY, scenario TEXT NOT NULL, org TEXT NOT NULL, version TEXT NOT NULL,"
    " source TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,"
    " confidential INTEGER NOT NULL DEFAULT 0, owner BIGINT, trigger BYTEA,"
    " started_at BIGINT NOT NULL, finished_at BIGINT, duration_ms BIGINT, summary TEXT,"
    " seq BIGINT, priority INTEGER NOT NULL DEFAULT 0, lane TEXT, dedupe TEXT,"
    " queued_at BIGINT, lease_until BIGINT);"
    "CREATE SEQUENCE executions_seq;"
    "CREATE INDEX executions_started ON executions(started_at);"
    "CREATE INDEX executions_scenario ON executions(scenario, started_at);"
    "CREATE INDEX executions_seq_i ON executions(seq);"
    "CREATE UNIQUE INDEX executions_dedupe ON executions(scenario, dedupe) WHERE dedupe IS NOT NULL;"
    "CREATE INDEX executions_queue ON executions(priority DESC, seq) WHERE status = 'queued';"
    "CREATE INDEX executions_lane ON executions(lane, status, seq) WHERE lane IS NOT NULL;"
    "CREATE INDEX executions_running ON executions(started_at) WHERE status = 'running';"
    "CREATE TABLE step_runs("
    " id BIGSERIAL PRIMARY KEY, execution TEXT NOT NULL REFERENCES executions(id),"
    " attempt INTEGER NOT NULL, step TEXT NOT NULL, module TEXT NOT NULL, bundle TEXT NOT NULL,"
    " status TEXT NOT NULL, started_at BIGINT NOT NULL, duration_ms BIGINT,"
    " bundles BIGINT, output TEXT, error TEXT, state BYTEA);"
    "CREATE INDEX step_runs_execution ON step_runs(execution, id);"
    "CREATE TABLE incomplete("
    " execution TEXT PRIMARY KEY REFERENCES executions(id), scenario TEXT NOT NULL,"
    " step TEXT NOT NULL, bundle TEXT NOT NULL, error TEXT NOT NULL,"
    " attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, next_at BIGINT,"
    " state TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " decided_by TEXT);"
    "CREATE INDEX incomplete_due ON incomplete(state, next_at);"
    "CREATE TABLE holds("
    " id BIGINT PRIMARY KEY, execution TEXT NOT NULL REFERENCES executions(id),"
    " scenario TEXT NOT NULL, step TEXT NOT NULL, bundle TEXT NOT NULL, reason TEXT,"
    " diff TEXT, state TEXT NOT NULL, created_at BIGINT NOT NULL, decided_at BIGINT,"
    " decided_by TEXT);"
    "CREATE UNIQUE INDEX holds_step ON holds(execution, step, bundle);"
    "CREATE TABLE queue_items("
    " id BIGINT PRIMARY KEY, queue TEXT NOT NULL, item TEXT NOT NULL, execution TEXT,"
    " state TEXT NOT NULL DEFAULT 'open', created_at BIGINT NOT NULL, done_at BIGINT,"
    " done_by TEXT);"
    "CREATE INDEX queue_items_open ON queue_items(queue, state);"
    "CREATE INDEX queue_items_created ON queue_items(queue, created_at);"
    "CREATE TABLE datastore("
    " store TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " updated_at BIGINT NOT NULL, expires_at BIGINT, PRIMARY KEY(store, key));"
    "CREATE TABLE audit("
    " id BIGINT PRIMARY KEY, at BIGINT NOT NULL, org TEXT, scenario TEXT, version TEXT,"
    " execution TEXT, step TEXT, method TEXT NOT NULL, sent_from TEXT, sent_to TEXT NOT NULL,"
    " status INTEGER, duration_ms BIGINT, body_sha256 TEXT NOT NULL, outcome TEXT NOT NULL,"
    " prev_hash TEXT NOT NULL, hash TEXT NOT NULL, ref BIGINT, key_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_scenario ON audit(scenario, id);"
    "CREATE INDEX audit_ref ON audit(ref) WHERE ref IS NOT NULL;"
    "CREATE TABLE audit_head(one INTEGER PRIMARY KEY CHECK(one = 1),"
    " last_id BIGINT NOT NULL, last_hash TEXT NOT NULL, mac TEXT NOT NULL DEFAULT '');"
    "CREATE FUNCTION scenarist_refuse() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END$$;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW"
    " EXECUTE FUNCTION scenarist_refuse('the audit log is append-only');"
    "CREATE TABLE trigger_state("
    " scenario TEXT NOT NULL, trigger TEXT NOT NULL, last_at BIGINT, watermark BIGINT,"
    " updated_at BIGINT NOT NULL, PRIMARY KEY(scenario, trigger));"
    "CREATE TABLE poll_seen("
    " scenario TEXT NOT NULL, trigger TEXT NOT NULL, key TEXT NOT NULL, seen_at BIGINT NOT NULL,"
    " PRIMARY KEY(scenario, trigger, key));"
    "CREATE TABLE versions("
    " scenario TEXT NOT NULL, number INTEGER NOT NULL, created_at BIGINT NOT NULL,"
    " message TEXT, checksum TEXT NOT NULL, origin TEXT NOT NULL, document TEXT NOT NULL,"
    " PRIMARY KEY(scenario, number));"
    "CREATE TRIGGER versions_no_update BEFORE UPDATE ON versions FOR EACH ROW"
    " EXECUTE FUNCTION scenarist_refuse('versions are immutable');",
    /* v2: a commit that queued events tells the other daemons at once (LISTEN
     * scenarist_queue; one notice per transaction), not at their next look for work */
    "CREATE FUNCTION scenarist_queued() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN PERFORM pg_notify('scenarist_queue', ''); RETURN NULL; END$$;"
    "CREATE TRIGGER executions_queued AFTER INSERT ON executions FOR EACH STATEMENT"
    " EXECUTE FUNCTION scenarist_queued();",
};

static int schema_version(struct pg_store *st)
{
    PGresult *r = PQexec(st->db, "SELECT version FROM scenarist_schema WHERE one = 1");
    int v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        v = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    else
        pg_err(st, "store %s: schema version: %s", st->addr, PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

int pg_migrate(struct pg_store *st)
{
    char lock[96], unlock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%lld)", (long long)PG_LOCK_MIGRATE);
    snprintf(unlock, sizeof unlock, "SELECT pg_advisory_unlock(%lld)", (long long)PG_LOCK_MIGRATE);
    if (pg_exec_text(st, lock, "migration") != 0)
        return -1;
    int want = (int)(sizeof migrations / sizeof migrations[0]), rc = 0;
    if (pg_exec_text(st, "CREATE TABLE IF NOT EXISTS scenarist_schema(one INTEGER PRIMARY KEY"
                         " CHECK(one = 1), version INTEGER NOT NULL)", "migration") != 0) {
        rc = -1;
        goto out;
    }
    int have = schema_version(st);
    if (have < 0) {
        rc = -1;
    } else if (have > want) {
        pg_err(st, "store %s has schema version %d; this scenarist knows up to %d: "
               "use a newer scenarist", st->addr, have, want);
        rc = -1;
    }
    for (int v = have; rc == 0 && v < want; v++) {
        char bump[160];
        snprintf(bump, sizeof bump, "INSERT INTO scenarist_schema(one, version) VALUES(1, %d)"
                 " ON CONFLICT(one) DO UPDATE SET version = %d", v + 1, v + 1);
        /* DDL is transactional here: a migration and its bump commit together or not at all */
        if (pg_exec_text(st, "BEGIN", "migration") != 0) {
            rc = -1;
            break;
        }
        if (pg_exec_text(st, migrations[v], "migration") != 0 ||
            pg_exec_text(st, bump, "migration") != 0) {
            char keep[sizeof st->err];
            snprintf(keep, sizeof keep, "%s", st->err);
            pg_exec_text(st, "ROLLBACK", "migration");
            snprintf(st->err, sizeof st->err, "%s", keep);
            rc = -1;
            break;
        }
        if (pg_exec_text(st, "COMMIT", "migration") != 0)
            rc = -1;
    }
out:;
    char keep[sizeof st->err];
    snprintf(keep, sizeof keep, "%s", st->err);
    pg_exec_text(st, unlock, "migration");
    snprintf(st->err, sizeof st->err, "%s", keep);
    return rc;
}
