/* SQLite store: retention. Pruning old executions, closed queue items and shadowed writes
 * in small transactions; the audit log's archive (rows to a JSON-lines file with a
 * checkpoint, so the chain is still proved across it); reclaiming space (incremental
 * vacuum); a consistent online copy (VACUUM INTO). */
#include "store/archive.h"
#include "store/prune.h"
#include "store/sqlite.h"

#include "clock.h"
#include "crypto.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- statements of this file: prepared per call (pruning is rare next to intake) ---- */

/* Prepares sql and binds by fmt as sq_q does (s text, i int64); NULL with the error set. */
static sqlite3_stmt *vprep(struct sq_store *st, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        sq_db_err(st, "prepare");
        return NULL;
    }
    int rc = SQLITE_OK;
    for (int k = 1; *fmt && rc == SQLITE_OK; fmt++, k++) {
        if (*fmt == 's') {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(s, k, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, k);
        } else {
            rc = sqlite3_bind_int64(s, k, va_arg(ap, int64_t));
        }
    }
    if (rc != SQLITE_OK) {
        sq_db_err(st, "bind");
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

static sqlite3_stmt *prep(struct sq_store *st, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *s = vprep(st, sql, fmt, ap);
    va_end(ap);
    return s;
}

/* Runs a prepared statement that returns no rows (finalized); the rows it changed, or -1. */
static int64_t run(struct sq_store *st, sqlite3_stmt *s, const char *what)
{
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_db_err(st, what);
    return sqlite3_changes64(st->db);
}

/* The single integer a query answers (0 when it has no row), or -1. */
static int64_t one_int(struct sq_store *st, sqlite3_stmt *s, const char *what)
{
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? v : sq_db_err(st, what);
}

/* ---- pruning (store/prune.c): its statements ---- */

/* A finished execution of ?1 that ended before ?2, with nothing open on it (a decision
 * still to run included: its closed decisions go with it, as foreign keys require).
 * attempts > 0 (every finished one ran) lets executions_started (partial) find them. */
#define PRUNABLE                                                                              \
    " FROM executions e WHERE e.status = ?1 AND e.status IN ('success', 'warning', 'error')"  \
    " AND e.attempts > 0"                                                                     \
    " AND e.started_at < ?2 AND e.finished_at IS NOT NULL AND e.finished_at < ?2"             \
    " AND NOT EXISTS(SELECT 1 FROM incomplete i WHERE i.execution = e.id"                     \
    " AND i.state IN ('pending', 'exhausted', 'held'))"                                       \
    " AND NOT EXISTS(SELECT 1 FROM holds h WHERE h.execution = e.id AND h.state = 'pending')" \
    " AND NOT EXISTS(SELECT 1 FROM decisions d WHERE d.execution = e.id"                      \
    " AND d.state IN ('pending', 'running', 'here'))"

static const struct sc_prune_sql prune_sql = {
    .count_execs = "SELECT count(*)" PRUNABLE,
    .count_steps = "SELECT count(*) FROM step_runs WHERE execution IN (SELECT e.id" PRUNABLE ")",
    .ids = {"CREATE TEMP TABLE IF NOT EXISTS prune_ids(id TEXT PRIMARY KEY)",
            "DELETE FROM temp.prune_ids",
            "INSERT INTO temp.prune_ids SELECT e.id" PRUNABLE " ORDER BY e.started_at LIMIT ?3"},
    .deletes = {"DELETE FROM step_runs WHERE execution IN temp.prune_ids",
                "DELETE FROM incomplete WHERE execution IN temp.prune_ids",
                "DELETE FROM holds WHERE execution IN temp.prune_ids",
                "DELETE FROM decisions WHERE execution IN temp.prune_ids",
                "DELETE FROM executions WHERE id IN temp.prune_ids"},
    .items = {"SELECT state, count(*) FROM queue_items WHERE state <> 'open'"
              " AND done_at < ?1 GROUP BY state ORDER BY state",
              "DELETE FROM queue_items WHERE id IN (SELECT id FROM queue_items"
              " WHERE state <> 'open' AND done_at < ?1 ORDER BY done_at LIMIT ?2)"
              " RETURNING state"},
    .shadow = {"SELECT 'all', count(*) FROM shadow_writes WHERE at < ?1",
               "DELETE FROM shadow_writes WHERE id IN (SELECT id FROM shadow_writes"
               " WHERE at < ?1 ORDER BY id LIMIT ?2) RETURNING 'all'"}};

static int64_t prune_run(struct sc_store *base, bool count, const char *what, const char *sql,
                         const char *fmt, ...)
{
    struct sq_store *st = (struct sq_store *)base;
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *s = vprep(st, sql, fmt, ap);
    va_end(ap);
    return count ? one_int(st, s, what) : run(st, s, what);
}

static int prune_tally(struct sc_store *base, const char *sql, bool dry_run, int64_t before_ms,
                       int limit, json_t *by, int64_t *total)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = dry_run ? prep(st, sql, "i", before_ms)
                              : prep(st, sql, "ii", before_ms, (int64_t)limit);
    int rc = s ? SQLITE_ROW : SQLITE_ERROR;
    while (s && by && (rc = sq_step(st, s)) == SQLITE_ROW)
        sc_prune_tally(by, total, sq_text(s, 0), dry_run ? sqlite3_column_int64(s, 1) : 1);
    if (s && rc != SQLITE_DONE)
        sq_db_err(st, "pruning");
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int prune_begin(struct sc_store *base) { return sq_begin((struct sq_store *)base); }
static int prune_commit(struct sc_store *base) { return sq_commit((struct sq_store *)base); }
static void prune_rollback(struct sc_store *base) { sq_rollback((struct sq_store *)base); }

static const struct sc_prune_ops prune_ops = {
    .sql = &prune_sql, .run = prune_run, .tally = prune_tally,
    .begin = prune_begin, .commit = prune_commit, .rollback = prune_rollback};

int64_t sq_prune(struct sc_store *base, const struct sc_prune_rule *r, int limit, bool dry_run,
                 json_t *counts)
{
    struct sq_store *st = (struct sq_store *)base;
    return sc_prune_run(base, &prune_ops, st->err, sizeof st->err, r, limit, dry_run, counts);
}

/* ---- space ---- */

static int64_t pragma_int(struct sq_store *st, const char *sql)
{
    return one_int(st, prep(st, sql, ""), sql);
}

static int64_t file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

json_t *sq_space(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    int64_t size = pragma_int(st, "PRAGMA page_size");
    int64_t free_pages = pragma_int(st, "PRAGMA freelist_count");
    int64_t mode = pragma_int(st, "PRAGMA auto_vacuum");
    if (size < 0 || free_pages < 0 || mode < 0)
        return NULL;
    json_t *j = json_pack("{s:I, s:I, s:b}", "bytes", (json_int_t)file_bytes(st->path),
                          "free_bytes", (json_int_t)(size * free_pages), "incremental", mode == 2);
    if (!j)
        sq_err(st, "out of memory");
    return j;
}

int sq_vacuum(struct sc_store *base, int64_t pages, int64_t *freed)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->depth > 0)
        return sq_err(st, "vacuum: not inside a transaction"), -1;
    int64_t before = file_bytes(st->path);
    int rc;
    if (pages > 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%lld)", (long long)pages);
        sqlite3_stmt *s = prep(st, sql, "");
        if (!s)
            return -1;
        if (st->take) /* a write: it takes its turn as every write does */
            st->take(st->turns);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            ;
        if (st->take)
            st->give(st->turns);
        sqlite3_finalize(s);
    } else {
        if (st->take)
            st->take(st->turns);
        rc = sqlite3_exec(st->db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", NULL, NULL, NULL)
                     == SQLITE_OK ? SQLITE_DONE : SQLITE_ERROR;
        if (st->take)
            st->give(st->turns);
    }
    if (rc != SQLITE_DONE)
        return sq_db_err(st, pages > 0 ? "incremental vacuum" : "vacuum");
    /* the pages leave the file when the log is checkpointed into it: here after a full
     * vacuum; the daemon's checkpointer does it after a batch's */
    if (pages == 0)
        sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (freed)
        *freed = before - file_bytes(st->path);
    return 0;
}

int sq_backup(struct sc_store *base, const char *path)
{
    struct sq_store *st = (struct sq_store *)base;
    struct stat sb;
    if (stat(path, &sb) == 0)
        return sq_err(st, "backup %s: the file exists; not overwritten", path), -1;
    if (sc_store_mkdirs(path) != 0)
        return sq_err(st, "backup %s: cannot make its directory: %s", path, strerror(errno)), -1;
    char *tmp = sc_asprintf("%s.part", path);
    if (!tmp)
        return sq_err(st, "out of memory"), -1;
    unlink(tmp);
    /* one read transaction: a snapshot of the store as of its start, writers go on */
    sqlite3_stmt *s = prep(st, "VACUUM INTO ?1", "s", tmp);
    int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
    if (s && rc != SQLITE_DONE)
        sq_db_err(st, "backup");
    sqlite3_finalize(s);
    int out = -1;
    if (rc == SQLITE_DONE && link(tmp, path) != 0) /* link: never over a file made meanwhile */
        sq_err(st, "backup %s: %s", path, strerror(errno));
    else if (rc == SQLITE_DONE)
        out = 0;
    unlink(tmp);
    free(tmp);
    return out;
}

/* ---- the audit archive (store/archive.c): its statements ---- */

static const char *const archive_cols =
    "SELECT through, org, last_hash, unkeyed, at, key_id, hmac, file FROM audit_archive";

json_t *sq_audit_archived(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    st->err[0] = '\0';
    char sql[256];
    snprintf(sql, sizeof sql, "%s ORDER BY through DESC LIMIT 1", archive_cols);
    sqlite3_stmt *s = prep(st, sql, "");
    json_t *j = NULL;
    int rc = s ? sq_step(st, s) : SQLITE_ERROR;
    if (rc == SQLITE_ROW &&
        !(j = sc_archive_row_json(sqlite3_column_int64(s, 0), sq_text(s, 1), sq_text(s, 2),
                                  sqlite3_column_int64(s, 3), sq_text(s, 4), sq_text(s, 5),
                                  sq_text(s, 6), sq_text(s, 7))))
        sq_err(st, "out of memory");
    else if (s && rc != SQLITE_DONE && rc != SQLITE_ROW)
        sq_db_err(st, "reading the audit archive");
    sqlite3_finalize(s);
    return j;
}

int sq_archive_rows(struct sc_store *base, int64_t from, int64_t through, int passes,
                    int (*each)(void *arg, int pass, const struct sc_audit_cells *c), void *arg)
{
    static const char *const rows_sql =
        "SELECT id, at, org, scenario, version, execution, step, method, sent_from, sent_to,"
        " status, duration_ms, body_sha256, outcome, prev_hash, hash, ref, key_id, actor FROM audit"
        " WHERE id > ?1 AND id <= ?2 ORDER BY id";
    struct sq_store *st = (struct sq_store *)base;
    int rc = 0;
    for (int pass = 0; rc == 0 && pass < passes; pass++) {
        sqlite3_stmt *s = prep(st, rows_sql, "ii", from, through);
        if (!s)
            return -1;
        struct sc_audit_cells c;
        while (rc == 0 && sq_step(st, s) == SQLITE_ROW) {
            sq_audit_cells(s, 19, &c);
            rc = each(arg, pass, &c);
        }
        sqlite3_finalize(s);
        if (rc == 0)
            rc = each(arg, pass, NULL);
    }
    return rc;
}

int sq_archive_bounds(struct sc_store *base, int64_t before_ms, int64_t *head, int64_t *old)
{
    struct sq_store *st = (struct sq_store *)base;
    *head = one_int(st, prep(st, "SELECT last_id FROM audit_head WHERE one = 1", ""),
                    "reading the audit head");
    *old = one_int(st, prep(st, "SELECT coalesce(max(id), 0) FROM audit WHERE at < ?1",
                            "i", before_ms), "reading the audit log");
    return *head < 0 || *old < 0 ? -1 : 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

int sq_archive_record(struct sc_store *base, const char *org, int64_t through, const json_t *cp,
                      const char *path)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sq_begin(st) != 0 ||
        run(st, prep(st, "INSERT INTO audit_archive(through, org, last_hash, unkeyed, at,"
                     " key_id, hmac, file) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)", "ississss",
                     through, org, jstr(cp, "last_hash"),
                     (int64_t)json_integer_value(json_object_get(cp, "unkeyed")), jstr(cp, "at"),
                     jstr(cp, "key_id"), jstr(cp, "hmac"), path),
            "recording the archive checkpoint") < 0 ||
        sq_commit(st) != 0) {
        sq_rollback(st);
        return -1;
    }
    return 0;
}

int64_t sq_archive_delete(struct sc_store *base, int64_t through, int limit)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sq_begin(st) != 0)
        return -1;
    int64_t n = run(st, prep(st, "DELETE FROM audit WHERE id IN (SELECT id FROM audit"
                             " WHERE id <= ?1 ORDER BY id LIMIT ?2)", "ii", through,
                             (int64_t)limit), "deleting archived audit rows");
    if (n < 0 || sq_commit(st) != 0) {
        sq_rollback(st);
        return -1;
    }
    return n;
}
