/* PostgreSQL store: retention, as store/sqlite_prune.c does it for SQLite. Pruning old
 * executions, closed queue items and shadowed writes in small transactions; the audit
 * log's archive (rows to a JSON-lines file with an HMAC'd checkpoint, so the chain is still
 * proved across it); space as the server counts it (pg_database_size,
 * pg_total_relation_size). Space comes back by autovacuum, so vacuum between batches does
 * nothing; a copy is pg_dump's work, so backup refuses and says so. */
#include "store/archive.h"
#include "store/prune.h"
#include "store/pg.h"

#include "clock.h"
#include "crypto.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- statements of this file: text per call (retention is rare next to intake) ---- */

/* Runs sql with parameters by fmt (s text, NULL a null; i int64): the result, or NULL with
 * the error "WHAT: ..." set. */
static PGresult *vxq(struct pg_store *st, const char *what, const char *sql, const char *fmt,
                     va_list ap)
{
    enum { MAXP = 8 };
    const char *vals[MAXP] = {0};
    char nums[MAXP][24];
    int n = 0;
    for (; *fmt && n < MAXP; fmt++, n++) {
        if (*fmt == 's') {
            vals[n] = va_arg(ap, const char *);
        } else {
            snprintf(nums[n], sizeof nums[n], "%lld", (long long)va_arg(ap, int64_t));
            vals[n] = nums[n];
        }
    }
    PGresult *r = PQexecParams(st->db, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        pg_err(st, "store %s: %s: %s", st->addr, what, m ? m : PQerrorMessage(st->db));
        PQclear(r);
        return NULL;
    }
    return r;
}

static PGresult *xq(struct pg_store *st, const char *what, const char *sql, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = vxq(st, what, sql, fmt, ap);
    va_end(ap);
    return r;
}

/* The rows a statement changed (its result cleared), or -1. */
static int64_t run(PGresult *r)
{
    if (!r)
        return -1;
    const char *c = PQcmdTuples(r);
    int64_t n = c && *c ? strtoll(c, NULL, 10) : 0;
    PQclear(r);
    return n;
}

/* The single integer a query answers (0 when it has no row; its result cleared), or -1. */
static int64_t one_int(PGresult *r)
{
    if (!r)
        return -1;
    int64_t v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? pg_int(r, 0, 0) : 0;
    PQclear(r);
    return v;
}

/* ---- pruning (store/prune.c): its statements ---- */

/* A finished execution of $1 that ended before $2, with nothing open on it. Here foreign
 * keys hold, so an execution whose decision is still open stays too (its closed decisions
 * go with it). */
#define PRUNABLE                                                                              \
    " FROM executions e WHERE e.status = $1 AND e.status IN ('success', 'warning', 'error')"  \
    " AND e.started_at < $2 AND e.finished_at IS NOT NULL AND e.finished_at < $2"             \
    " AND NOT EXISTS(SELECT 1 FROM incomplete i WHERE i.execution = e.id"                     \
    " AND i.state IN ('pending', 'exhausted', 'held'))"                                       \
    " AND NOT EXISTS(SELECT 1 FROM holds h WHERE h.execution = e.id AND h.state = 'pending')" \
    " AND NOT EXISTS(SELECT 1 FROM decisions d WHERE d.execution = e.id"                      \
    " AND d.state IN ('pending', 'running', 'here'))"

static const struct sc_prune_sql prune_sql = {
    .count_execs = "SELECT count(*)" PRUNABLE,
    .count_steps = "SELECT count(*) FROM step_runs WHERE execution IN (SELECT e.id" PRUNABLE ")",
    .ids = {"CREATE TEMP TABLE IF NOT EXISTS prune_ids(id TEXT PRIMARY KEY)",
            "DELETE FROM prune_ids",
            "INSERT INTO prune_ids SELECT e.id" PRUNABLE " ORDER BY e.started_at LIMIT $3"},
    .deletes = {"DELETE FROM step_runs WHERE execution IN (SELECT id FROM prune_ids)",
                "DELETE FROM incomplete WHERE execution IN (SELECT id FROM prune_ids)",
                "DELETE FROM holds WHERE execution IN (SELECT id FROM prune_ids)",
                "DELETE FROM decisions WHERE execution IN (SELECT id FROM prune_ids)",
                "DELETE FROM executions WHERE id IN (SELECT id FROM prune_ids)"},
    .items = {"SELECT state, count(*) FROM queue_items WHERE state <> 'open'"
              " AND done_at < $1 GROUP BY state ORDER BY state",
              "DELETE FROM queue_items WHERE id IN (SELECT id FROM queue_items"
              " WHERE state <> 'open' AND done_at < $1 ORDER BY done_at LIMIT $2)"
              " RETURNING state"},
    .shadow = {"SELECT 'all', count(*) FROM shadow_writes WHERE at < $1",
               "DELETE FROM shadow_writes WHERE id IN (SELECT id FROM shadow_writes"
               " WHERE at < $1 ORDER BY id LIMIT $2) RETURNING 'all'"}};

static int64_t prune_run(struct sc_store *base, bool count, const char *what, const char *sql,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = vxq((struct pg_store *)base, what, sql, fmt, ap);
    va_end(ap);
    return count ? one_int(r) : run(r);
}

static int prune_tally(struct sc_store *base, const char *sql, bool dry_run, int64_t before_ms,
                       int limit, json_t *by, int64_t *total)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = dry_run ? xq(st, "pruning", sql, "i", before_ms)
                          : xq(st, "pruning", sql, "ii", before_ms, (int64_t)limit);
    for (int i = 0; s && by && i < PQntuples(s); i++)
        sc_prune_tally(by, total, pg_text(s, i, 0), dry_run ? pg_int(s, i, 1) : 1);
    bool ok = s != NULL;
    PQclear(s);
    return ok ? 0 : -1;
}

static int prune_begin(struct sc_store *base) { return pg_begin((struct pg_store *)base); }
static int prune_commit(struct sc_store *base) { return pg_commit((struct pg_store *)base); }
static void prune_rollback(struct sc_store *base) { pg_rollback((struct pg_store *)base); }

static const struct sc_prune_ops prune_ops = {
    .sql = &prune_sql, .run = prune_run, .tally = prune_tally,
    .begin = prune_begin, .commit = prune_commit, .rollback = prune_rollback};

int64_t pg_prune(struct sc_store *base, const struct sc_prune_rule *r, int limit, bool dry_run,
                 json_t *counts)
{
    struct pg_store *st = (struct pg_store *)base;
    return sc_prune_run(base, &prune_ops, st->err, sizeof st->err, r, limit, dry_run, counts);
}

/* ---- space ---- */

/* bytes: the database's size on the server; free_bytes: 0 (the server reuses dead rows'
 * space itself and does not say how much is free); incremental: true, for autovacuum gives
 * pruned space back to reuse as it goes; tables: each of the store's tables' bytes with its
 * indexes and TOAST. */
json_t *pg_space(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    st->err[0] = '\0';
    PGresult *r = xq(st, "measuring the store", "SELECT pg_database_size(current_database())",
                     "");
    int64_t bytes = one_int(r);
    PGresult *t = bytes < 0 ? NULL
                            : xq(st, "measuring the store", "SELECT c.relname,"
                                 " pg_total_relation_size(c.oid) FROM pg_class c"
                                 " WHERE c.relkind = 'r' AND c.relnamespace ="
                                 " (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) ORDER BY 1", "");
    if (!t)
        return NULL;
    json_t *tables = json_object();
    for (int i = 0; tables && i < PQntuples(t); i++)
        json_object_set_new(tables, pg_text(t, i, 0), json_integer(pg_int(t, i, 1)));
    PQclear(t);
    json_t *j = tables ? json_pack("{s:I, s:I, s:b, s:o}", "bytes", (json_int_t)bytes,
                                   "free_bytes", (json_int_t)0, "incremental", 1, "tables",
                                   tables) : NULL;
    if (!j)
        pg_err(st, "out of memory");
    return j;
}

/* pages > 0 (after a batch): nothing, autovacuum reclaims; *freed 0. pages 0 (`prune
 * --vacuum`): VACUUM of the tables pruning empties (it runs outside a transaction and lets
 * writers go on; only the empty pages at a table's end go back to the disk), *freed what the
 * database shrank by. */
int pg_vacuum(struct sc_store *base, int64_t pages, int64_t *freed)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->depth > 0)
        return pg_err(st, "vacuum: not inside a transaction"), -1;
    if (freed)
        *freed = 0;
    if (pages > 0)
        return 0;
    static const char size_sql[] = "SELECT pg_database_size(current_database())";
    int64_t before = one_int(xq(st, "measuring the store", size_sql, ""));
    if (before < 0 ||
        run(xq(st, "vacuum", "VACUUM executions, step_runs, incomplete, holds, decisions,"
               " queue_items, shadow_writes, audit", "")) < 0)
        return -1;
    int64_t after = one_int(xq(st, "measuring the store", size_sql, ""));
    if (after < 0)
        return -1;
    if (freed)
        *freed = before - after;
    return 0;
}

/* A consistent copy of a database on a server is pg_dump's work (one snapshot, any size,
 * restored with pg_restore): refused with the command to use. */
int pg_backup(struct sc_store *base, const char *path)
{
    struct pg_store *st = (struct pg_store *)base;
    pg_err(st, "backup %s: store %s is a PostgreSQL database, which scenarist does not copy: "
           "use pg_dump (pg_dump --format=custom --file=%s '%s'; restore with pg_restore)",
           path, st->addr, path, st->addr);
    return -1;
}

/* ---- the audit archive (store/archive.c): its statements ---- */

static const char *const archive_cols =
    "SELECT through, org, last_hash, unkeyed, at, key_id, hmac, file FROM audit_archive";

json_t *pg_audit_archived(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    st->err[0] = '\0';
    char sql[256];
    snprintf(sql, sizeof sql, "%s ORDER BY through DESC LIMIT 1", archive_cols);
    PGresult *s = xq(st, "reading the audit archive", sql, "");
    json_t *j = NULL;
    if (s && PQntuples(s) > 0 &&
        !(j = sc_archive_row_json(pg_int(s, 0, 0), pg_text(s, 0, 1), pg_text(s, 0, 2),
                                  pg_int(s, 0, 3), pg_text(s, 0, 4), pg_text(s, 0, 5),
                                  pg_text(s, 0, 6), pg_text(s, 0, 7))))
        pg_err(st, "out of memory");
    PQclear(s);
    return j;
}

/* One query: every pass goes over the same rows. */
int pg_archive_rows(struct sc_store *base, int64_t from, int64_t through, int passes,
                    int (*each)(void *arg, int pass, const struct sc_audit_cells *c), void *arg)
{
    static const char *const rows_sql =
        "SELECT id, at, org, scenario, version, execution, step, method, sent_from, sent_to,"
        " status, duration_ms, body_sha256, outcome, prev_hash, hash, ref, key_id, actor FROM audit"
        " WHERE id > $1 AND id <= $2 ORDER BY id";
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = xq(st, "reading the audit log", rows_sql, "ii", from, through);
    if (!s)
        return -1;
    int rc = 0;
    struct sc_audit_cells c;
    for (int pass = 0; rc == 0 && pass < passes; pass++) {
        for (int i = 0; rc == 0 && i < PQntuples(s); i++) {
            pg_audit_cells(s, i, 19, &c);
            rc = each(arg, pass, &c);
        }
        if (rc == 0)
            rc = each(arg, pass, NULL);
    }
    PQclear(s);
    return rc;
}

int pg_archive_bounds(struct sc_store *base, int64_t before_ms, int64_t *head, int64_t *old)
{
    struct pg_store *st = (struct pg_store *)base;
    *head = one_int(xq(st, "reading the audit head",
                       "SELECT last_id FROM audit_head WHERE one = 1", ""));
    *old = one_int(xq(st, "reading the audit log",
                      "SELECT coalesce(max(id), 0) FROM audit WHERE at < $1", "i", before_ms));
    return *head < 0 || *old < 0 ? -1 : 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

int pg_archive_record(struct sc_store *base, const char *org, int64_t through, const json_t *cp,
                      const char *path)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_begin(st) != 0 ||
        run(xq(st, "recording the archive checkpoint", "INSERT INTO audit_archive(through,"
               " org, last_hash, unkeyed, at, key_id, hmac, file) VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
               "ississss", through, org, jstr(cp, "last_hash"),
               (int64_t)json_integer_value(json_object_get(cp, "unkeyed")), jstr(cp, "at"),
               jstr(cp, "key_id"), jstr(cp, "hmac"), path)) < 0 ||
        pg_commit(st) != 0) {
        pg_rollback(st);
        return -1;
    }
    return 0;
}

int64_t pg_archive_delete(struct sc_store *base, int64_t through, int limit)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_begin(st) != 0)
        return -1;
    int64_t n = run(xq(st, "deleting archived audit rows", "DELETE FROM audit WHERE id IN"
                       " (SELECT id FROM audit WHERE id <= $1 ORDER BY id LIMIT $2)", "ii",
                       through, (int64_t)limit));
    if (n < 0 || pg_commit(st) != 0) {
        pg_rollback(st);
        return -1;
    }
    return n;
}
