/* The PostgreSQL store's schema: its own migrations (the tables of the SQLite schema at
 * its v14, in PostgreSQL's types), applied in order by pg_migrate under an advisory lock. */
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
    /* v3: the SQLite schema's v9 to v13: keyed queue items that converge (one open item
     * per queue and key), shadowed writes, people's decisions, holds found by time, the
     * counters for /metrics; and throttled connections' state shared by the daemons. A
     * counted change appends a row to counter_changes in the changing statement (a trigger);
     * sc_store_counters folds them into counters: an append never waits on another
     * transaction's counter row, so two daemons' batches cannot deadlock on them. */
    "ALTER TABLE queue_items ADD COLUMN key TEXT, ADD COLUMN last_seen BIGINT,"
    " ADD COLUMN times_seen BIGINT NOT NULL DEFAULT 1, ADD COLUMN seen_by TEXT,"
    " ADD COLUMN resolution TEXT;"
    "CREATE UNIQUE INDEX queue_items_key ON queue_items(queue, key)"
    " WHERE state = 'open' AND key IS NOT NULL;"
    "CREATE TABLE shadow_writes(id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL,"
    " org TEXT NOT NULL, scenario TEXT NOT NULL, version TEXT NOT NULL,"
    " execution TEXT NOT NULL, step TEXT NOT NULL, bundle TEXT NOT NULL,"
    " connection TEXT NOT NULL, method TEXT NOT NULL, url TEXT NOT NULL,"
    " status INTEGER NOT NULL, audit_id BIGINT, confidential INTEGER NOT NULL,"
    " request BYTEA NOT NULL);"
    "CREATE INDEX shadow_writes_scenario ON shadow_writes(scenario, id);"
    "CREATE INDEX shadow_writes_execution ON shadow_writes(execution, id);"
    "CREATE TABLE decisions("
    " id BIGSERIAL PRIMARY KEY, execution TEXT NOT NULL REFERENCES executions(id),"
    " action TEXT NOT NULL, hold BIGINT, decided_by TEXT NOT NULL, decided_at BIGINT NOT NULL,"
    " reason TEXT, state TEXT NOT NULL, owner BIGINT, outcome TEXT, ended_at BIGINT,"
    " taken_at BIGINT);"
    "CREATE UNIQUE INDEX decisions_open ON decisions(execution)"
    " WHERE state IN ('pending', 'running', 'here');"
    "CREATE INDEX decisions_waiting ON decisions(state, id) WHERE state IN ('pending', 'running');"
    "CREATE INDEX decisions_execution ON decisions(execution, id);"
    "CREATE INDEX holds_created ON holds(created_at);"
    "CREATE TABLE counters(name TEXT NOT NULL, l1 TEXT NOT NULL, l2 TEXT NOT NULL,"
    " value BIGINT NOT NULL, PRIMARY KEY(name, l1, l2));"
    "CREATE TABLE counter_changes(name TEXT NOT NULL, l1 TEXT NOT NULL, l2 TEXT NOT NULL,"
    " n BIGINT NOT NULL);"
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
    "CREATE FUNCTION scenarist_count_exec() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN"
    " INSERT INTO counter_changes VALUES('executions', NEW.scenario, NEW.status, 1); END IF;"
    " RETURN NULL; END$$;"
    "CREATE TRIGGER executions_count AFTER INSERT OR UPDATE OF status ON executions"
    " FOR EACH ROW EXECUTE FUNCTION scenarist_count_exec();"
    "CREATE FUNCTION scenarist_count_hold() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " IF TG_OP = 'INSERT' THEN"
    " INSERT INTO counter_changes VALUES('holds_created', NEW.scenario, '', 1);"
    " ELSIF TG_OP = 'DELETE' THEN IF OLD.state = 'pending' THEN"
    " INSERT INTO counter_changes VALUES('holds_decided', 'deleted', '', 1); END IF;"
    " ELSIF OLD.state = 'pending' AND NEW.state <> 'pending' THEN"
    " INSERT INTO counter_changes VALUES('holds_decided', NEW.state, '', 1); END IF;"
    " RETURN NULL; END$$;"
    "CREATE TRIGGER holds_count AFTER INSERT OR UPDATE OF state OR DELETE ON holds"
    " FOR EACH ROW EXECUTE FUNCTION scenarist_count_hold();"
    "CREATE FUNCTION scenarist_count_item() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " IF TG_OP = 'INSERT' THEN IF NEW.state = 'open' THEN"
    " INSERT INTO counter_changes VALUES('queue_items_opened', NEW.queue, '', 1); END IF;"
    " ELSIF TG_OP = 'DELETE' THEN IF OLD.state = 'open' THEN"
    " INSERT INTO counter_changes VALUES('queue_items_closed', OLD.queue, 'deleted', 1); END IF;"
    " ELSIF OLD.state <> 'open' AND NEW.state = 'open' THEN"
    " INSERT INTO counter_changes VALUES('queue_items_opened', NEW.queue, '', 1);"
    " ELSIF OLD.state = 'open' AND NEW.state <> 'open' THEN"
    " INSERT INTO counter_changes VALUES('queue_items_closed', NEW.queue, NEW.state, 1); END IF;"
    " RETURN NULL; END$$;"
    "CREATE TRIGGER queue_items_count AFTER INSERT OR UPDATE OF state OR DELETE ON queue_items"
    " FOR EACH ROW EXECUTE FUNCTION scenarist_count_item();"
    "CREATE TABLE throttle(org TEXT NOT NULL, conn TEXT NOT NULL, last BIGINT, tail BIGINT,"
    " PRIMARY KEY(org, conn));"
    "CREATE TABLE throttle_promises(org TEXT NOT NULL, conn TEXT NOT NULL, key TEXT NOT NULL,"
    " slot BIGINT NOT NULL, PRIMARY KEY(org, conn, key));"
    "CREATE TABLE throttle_flight(org TEXT NOT NULL, conn TEXT NOT NULL, owner BIGINT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY(org, conn, owner));",
    /* v4: the audit log's archive (as SQLite's): its checkpoints; archived rows, and only
     * they, may be deleted; closed queue items found by age for pruning */
    "CREATE TABLE audit_archive(through BIGINT PRIMARY KEY, org TEXT NOT NULL,"
    " last_hash TEXT NOT NULL, unkeyed BIGINT NOT NULL, at TEXT NOT NULL,"
    " key_id TEXT NOT NULL, hmac TEXT NOT NULL, file TEXT NOT NULL);"
    "DROP TRIGGER audit_no_update ON audit;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW"
    " EXECUTE FUNCTION scenarist_refuse('the audit log is append-only');"
    "CREATE FUNCTION scenarist_audit_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
    " IF OLD.id > coalesce((SELECT max(through) FROM audit_archive), 0) THEN"
    " RAISE EXCEPTION 'the audit log is append-only'; END IF; RETURN OLD; END$$;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW"
    " EXECUTE FUNCTION scenarist_audit_no_delete();"
    "CREATE INDEX queue_items_done ON queue_items(done_at) WHERE state <> 'open';",
    /* v5: the SQLite schema's v14: a queue item's resolving note, an audit row's actor */
    "ALTER TABLE queue_items ADD COLUMN note TEXT;"
    "ALTER TABLE audit ADD COLUMN actor TEXT;",
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
