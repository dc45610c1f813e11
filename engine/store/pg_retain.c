/* PostgreSQL store: retention, as store/sqlite_prune.c does it for SQLite. Pruning old
 * executions, closed queue items and shadowed writes in small transactions; the audit
 * log's archive (rows to a JSON-lines file with an HMAC'd checkpoint, so the chain is still
 * proved across it); space as the server counts it (pg_database_size,
 * pg_total_relation_size). Space comes back by autovacuum, so vacuum between batches does
 * nothing; a copy is pg_dump's work, so backup refuses and says so. */
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
static PGresult *xq(struct pg_store *st, const char *what, const char *sql, const char *fmt,
                    ...)
{
    enum { MAXP = 8 };
    const char *vals[MAXP] = {0};
    char nums[MAXP][24];
    int n = 0;
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt && n < MAXP; fmt++, n++) {
        if (*fmt == 's') {
            vals[n] = va_arg(ap, const char *);
        } else {
            snprintf(nums[n], sizeof nums[n], "%lld", (long long)va_arg(ap, int64_t));
            vals[n] = nums[n];
        }
    }
    va_end(ap);
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

static void count_add(json_t *counts, const char *table, const char *key, int64_t n)
{
    if (n <= 0)
        return;
    json_t *t = json_object_get(counts, table);
    if (!t)
        json_object_set_new(counts, table, t = json_object());
    json_t *v = json_object_get(t, key);
    json_object_set_new(t, key, json_integer(json_integer_value(v) + n));
}

/* ---- pruning ---- */

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

static int64_t prune_execs(struct pg_store *st, const struct sc_prune_rule *r, int limit,
                           bool dry_run, json_t *counts)
{
    if (dry_run) {
        int64_t n = one_int(xq(st, "counting executions", "SELECT count(*)" PRUNABLE, "si",
                               r->status, r->before_ms));
        int64_t steps = n > 0 ? one_int(xq(st, "counting step runs", "SELECT count(*) FROM"
                                           " step_runs WHERE execution IN (SELECT e.id"
                                           PRUNABLE ")", "si", r->status, r->before_ms)) : 0;
        if (n < 0 || steps < 0)
            return -1;
        count_add(counts, "executions", r->status, n);
        count_add(counts, "step_runs", r->status, steps);
        return n;
    }
    if (pg_begin(st) != 0)
        return -1;
    int64_t steps = -1, n = -1;
    if (run(xq(st, "pruning", "CREATE TEMP TABLE IF NOT EXISTS prune_ids(id TEXT PRIMARY KEY)",
               "")) >= 0 &&
        run(xq(st, "pruning", "DELETE FROM prune_ids", "")) >= 0 &&
        run(xq(st, "pruning executions", "INSERT INTO prune_ids SELECT e.id" PRUNABLE
               " ORDER BY e.started_at LIMIT $3", "sii", r->status, r->before_ms,
               (int64_t)limit)) >= 0 &&
        (steps = run(xq(st, "pruning step runs", "DELETE FROM step_runs WHERE execution IN"
                        " (SELECT id FROM prune_ids)", ""))) >= 0 &&
        run(xq(st, "pruning incomplete rows", "DELETE FROM incomplete WHERE execution IN"
               " (SELECT id FROM prune_ids)", "")) >= 0 &&
        run(xq(st, "pruning holds", "DELETE FROM holds WHERE execution IN"
               " (SELECT id FROM prune_ids)", "")) >= 0 &&
        run(xq(st, "pruning decisions", "DELETE FROM decisions WHERE execution IN"
               " (SELECT id FROM prune_ids)", "")) >= 0)
        n = run(xq(st, "pruning executions", "DELETE FROM executions WHERE id IN"
                   " (SELECT id FROM prune_ids)", ""));
    if (n < 0 || pg_commit(st) != 0) {
        pg_rollback(st);
        return -1;
    }
    count_add(counts, "executions", r->status, n);
    count_add(counts, "step_runs", r->status, steps);
    return n;
}

/* Queue items and shadowed writes: one statement; queue items counted by state. */
static int64_t prune_rows(struct pg_store *st, const struct sc_prune_rule *r, int limit,
                          bool dry_run, json_t *counts)
{
    bool items = r->table == SC_PRUNE_QUEUE_ITEMS;
    const char *sql;
    if (items)
        sql = dry_run ? "SELECT state, count(*) FROM queue_items WHERE state <> 'open'"
                        " AND done_at < $1 GROUP BY state ORDER BY state"
                      : "DELETE FROM queue_items WHERE id IN (SELECT id FROM queue_items"
                        " WHERE state <> 'open' AND done_at < $1 ORDER BY done_at LIMIT $2)"
                        " RETURNING state";
    else
        sql = dry_run ? "SELECT 'all', count(*) FROM shadow_writes WHERE at < $1"
                      : "DELETE FROM shadow_writes WHERE id IN (SELECT id FROM shadow_writes"
                        " WHERE at < $1 ORDER BY id LIMIT $2) RETURNING 'all'";
    if (!dry_run && pg_begin(st) != 0)
        return -1;
    PGresult *s = dry_run ? xq(st, "pruning", sql, "i", r->before_ms)
                          : xq(st, "pruning", sql, "ii", r->before_ms, (int64_t)limit);
    int64_t total = 0;
    json_t *by = json_object();
    for (int i = 0; s && by && i < PQntuples(s); i++) {
        int64_t n = dry_run ? pg_int(s, i, 1) : 1;
        const char *k = pg_text(s, i, 0);
        json_object_set_new(by, k, json_integer(json_integer_value(json_object_get(by, k)) + n));
        total += n;
    }
    bool ok = s != NULL;
    PQclear(s);
    if (!by || !ok || (!dry_run && pg_commit(st) != 0)) {
        if (!dry_run)
            pg_rollback(st);
        if (!by)
            pg_err(st, "out of memory");
        json_decref(by);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(by, k, v)
        count_add(counts, items ? "queue_items" : "shadow_writes", k, json_integer_value(v));
    json_decref(by);
    return total;
}

int64_t pg_prune(struct sc_store *base, const struct sc_prune_rule *r, int limit, bool dry_run,
                 json_t *counts)
{
    struct pg_store *st = (struct pg_store *)base;
    if (limit < 1)
        return pg_err(st, "prune: a batch takes at least one row"), -1;
    if (r->table == SC_PRUNE_EXECUTIONS)
        return r->status ? prune_execs(st, r, limit, dry_run, counts)
                         : (pg_err(st, "prune: executions need a status"), -1);
    return prune_rows(st, r, limit, dry_run, counts);
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

/* ---- the audit archive ---- */

#define ARCHIVE_FORMAT "scenarist.audit-archive/1"

static int problem_at(json_t **problem, int64_t row, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int problem_at(json_t **problem, int64_t row, int64_t line, const char *fmt, ...)
{
    char reason[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    json_decref(*problem);
    *problem = json_pack("{s:s}", "reason", reason);
    if (*problem && row > 0)
        json_object_set_new(*problem, "row", json_integer(row));
    if (*problem && line > 0)
        json_object_set_new(*problem, "line", json_integer(line));
    return SC_STORE_BROKEN;
}

/* The archive checkpoint's HMAC: format, org, through, last_hash, unkeyed, at. */
static void archive_mac(const struct pg_store *st, const char *org, int64_t through,
                        const char *hash, int64_t unkeyed, const char *at, char out[65])
{
    char *text = sc_asprintf(ARCHIVE_FORMAT "\x1f%s\x1f%lld\x1f%s\x1f%lld\x1f%s", org,
                             (long long)through, hash, (long long)unkeyed, at);
    if (text)
        sc_audit_mac(&st->audit, text, strlen(text), out);
    else
        memset(out, 'x', 64), out[64] = '\0';
    free(text);
}

/* A checkpoint object's fields; 0 when its HMAC holds under this store's audit key. */
static int archive_cp_check(const struct pg_store *st, const json_t *cp, const char *org,
                            int64_t *through, const char **hash, int64_t *unkeyed)
{
    const char *fmt = json_string_value(json_object_get(cp, "format"));
    const char *corg = json_string_value(json_object_get(cp, "org"));
    const char *at = json_string_value(json_object_get(cp, "at"));
    const char *mac = json_string_value(json_object_get(cp, "hmac"));
    *hash = json_string_value(json_object_get(cp, "last_hash"));
    *through = json_integer_value(json_object_get(cp, "through"));
    *unkeyed = json_integer_value(json_object_get(cp, "unkeyed"));
    if (!fmt || strcmp(fmt, ARCHIVE_FORMAT) || !corg || (org && strcmp(corg, org)) || !at ||
        !mac || !*hash || strlen(*hash) != 64 || *through < 1 || strlen(mac) != 64)
        return -1;
    char want[65];
    archive_mac(st, corg, *through, *hash, *unkeyed, at, want);
    return sc_crypto_equal(want, mac, 64) ? 0 : -1;
}

static const char *const archive_cols =
    "SELECT through, org, last_hash, unkeyed, at, key_id, hmac, file FROM audit_archive";

static json_t *archived_row(const PGresult *s)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "format", ARCHIVE_FORMAT,
                     "org", pg_text(s, 0, 1), "through", (json_int_t)pg_int(s, 0, 0),
                     "last_hash", pg_text(s, 0, 2), "unkeyed", (json_int_t)pg_int(s, 0, 3),
                     "at", pg_text(s, 0, 4), "key_id", pg_text(s, 0, 5), "hmac",
                     pg_text(s, 0, 6), "file", pg_text(s, 0, 7));
}

json_t *pg_audit_archived(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    st->err[0] = '\0';
    char sql[256];
    snprintf(sql, sizeof sql, "%s ORDER BY through DESC LIMIT 1", archive_cols);
    PGresult *s = xq(st, "reading the audit archive", sql, "");
    json_t *j = NULL;
    if (s && PQntuples(s) > 0 && !(j = archived_row(s)))
        pg_err(st, "out of memory");
    PQclear(s);
    return j;
}

int pg_audit_walk_archived(struct pg_store *st, struct sc_audit_walk *w, json_t **problem)
{
    json_t *cp = pg_audit_archived(&st->base);
    if (!cp)
        return st->err[0] ? -1 : 0;
    int64_t through, unkeyed;
    const char *hash;
    int rc = 0;
    if (archive_cp_check(st, cp, NULL, &through, &hash, &unkeyed) != 0) {
        rc = problem_at(problem, json_integer_value(json_object_get(cp, "through")), 0,
                        "is where the store's archive checkpoint says the archive ends, but the "
                        "checkpoint does not carry the audit key's HMAC: it was edited");
    } else {
        w->expect = through + 1;
        w->unkeyed = unkeyed;
        snprintf(w->prev, sizeof w->prev, "%s", hash);
    }
    json_decref(cp);
    return rc;
}

/* Checks row i of s (columns as P_AUDIT_ALL) and moves w on: 0, or SC_STORE_BROKEN. */
static int row_check(struct pg_store *st, const PGresult *s, int i, struct sc_audit_walk *w,
                     json_t **problem)
{
    struct sc_audit_cells c;
    pg_audit_cells(s, i, 18, &c);
    return sc_audit_row_check(&st->audit, &c, w, problem);
}

/* One audit row (columns as Q_AUDIT_ALL) as an archive line's object. */
static json_t *row_json(const PGresult *s, int row)
{
    static const char *const names[18] = {
        "id", "at", "org", "scenario", "version", "execution", "step", "method", "sent_from",
        "sent_to", "status", "duration_ms", "body_sha256", "outcome", "prev_hash", "hash", "ref",
        "key_id"};
    json_t *o = json_object();
    for (int i = 0; o && i < 18; i++) {
        bool number = i <= 1 || i == 10 || i == 11 || i == 16; /* BIGINT/INTEGER columns */
        json_t *v = pg_null(s, row, i) ? json_null()
                    : number         ? json_integer(pg_int(s, row, i))
                                     : json_string(pg_text(s, row, i));
        if (json_object_set_new(o, names[i], v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* Checks one archived row against the walk, as audit_row_check does a stored one. */
static int file_row_check(struct pg_store *st, const json_t *r, struct sc_audit_walk *w,
                          int64_t line, const char *path, json_t **problem)
{
    static const char *const txt_names[8] = {"org", "scenario", "version", "execution",
                                             "step", "method", "sent_from", "sent_to"};
    int64_t id = json_integer_value(json_object_get(r, "id"));
    const char *kid = jstr(r, "key_id"), *txt[8];
    for (int i = 0; i < 8; i++)
        txt[i] = jstr(r, txt_names[i]);
    bool keyed = kid[0] != '\0';
    char hash[65];
    sc_audit_hash(&st->audit, keyed, id, json_integer_value(json_object_get(r, "at")), txt,
                  json_integer_value(json_object_get(r, "status")),
                  json_integer_value(json_object_get(r, "duration_ms")), jstr(r, "body_sha256"),
                  jstr(r, "outcome"), jstr(r, "prev_hash"),
                  json_integer_value(json_object_get(r, "ref")), hash);
    int rc = 0;
    if (id != w->expect)
        rc = problem_at(problem, w->expect, line, "is missing from archive %s (line %lld holds "
                        "row %lld): it was deleted", path, (long long)line, (long long)id);
    else if (strcmp(jstr(r, "prev_hash"), w->prev) != 0)
        rc = problem_at(problem, id, line, "in archive %s (line %lld) does not chain to the "
                        "row before it: it was replaced", path, (long long)line);
    else if (keyed && strcmp(kid, st->audit.id) != 0)
        rc = problem_at(problem, id, line, "in archive %s (line %lld) was keyed with another "
                        "audit key (%s; this org's is %s)", path, (long long)line, kid,
                        st->audit.id);
    else if (!keyed && (w->unkeyed != id - 1 || id > st->audit.unkeyed_rows))
        rc = problem_at(problem, id, line, "in archive %s (line %lld) has no HMAC: it was "
                        "rewritten without the audit key", path, (long long)line);
    else if (strcmp(hash, jstr(r, "hash")) != 0)
        rc = problem_at(problem, id, line, "in archive %s (line %lld) was changed or forged: "
                        "its contents do not match its %s", path, (long long)line,
                        keyed ? "HMAC" : "hash");
    w->unkeyed += !keyed && rc == 0;
    snprintf(w->prev, sizeof w->prev, "%s", jstr(r, "hash"));
    w->expect = id + 1;
    return rc;
}

/* Walks an archive file from the genesis: every row and checkpoint line. *w: where it
 * ends. seen_through/seen_hash (may be 0/NULL): a checkpoint the file must hold (the
 * store's). 0 sound, SC_STORE_BROKEN with *problem, -1 (error set). A missing file is an
 * empty archive when missing_ok. */
static int file_walk(struct pg_store *st, const char *org, const char *path, bool missing_ok,
                     struct sc_audit_walk *w, int64_t seen_through, const char *seen_hash,
                     json_t **problem)
{
    w->expect = 1;
    w->unkeyed = 0;
    memset(w->prev, '0', 64);
    w->prev[64] = '\0';
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT && missing_ok)
        return 0;
    if (!f)
        return pg_err(st, "archive %s: %s", path, strerror(errno)), -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t no = 0;
    bool seen = seen_through == 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        no++;
        if (n <= 1)
            continue;
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)n, 0, &je);
        json_t *cp = json_object_get(j, "checkpoint");
        int64_t through, unkeyed;
        const char *hash;
        if (!json_is_object(j)) {
            rc = problem_at(problem, w->expect, no, "cannot be read from archive %s: line %lld "
                            "is not a JSON object (%s): it was damaged", path, (long long)no,
                            je.text);
        } else if (cp) {
            if (archive_cp_check(st, cp, org, &through, &hash, &unkeyed) != 0)
                rc = problem_at(problem, 0, no, "archive %s line %lld: its checkpoint does not "
                                "carry org %s's audit key's HMAC: it was edited", path,
                                (long long)no, org);
            else if (through != w->expect - 1 || strcmp(hash, w->prev))
                rc = problem_at(problem, through, no, "archive %s line %lld: its checkpoint "
                                "does not match the rows before it: rows were cut or added",
                                path, (long long)no);
            seen |= rc == 0 && through == seen_through && seen_hash && !strcmp(hash, seen_hash);
        } else {
            rc = file_row_check(st, j, w, no, path, problem);
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
    if (rc == 0 && !seen)
        rc = problem_at(problem, seen_through, 0, "is where the store's archive checkpoint "
                        "ends, but archive %s holds no such checkpoint (rows through %lld): "
                        "another file, or it was cut", path, (long long)(w->expect - 1));
    return rc;
}

enum sc_store_rc pg_audit_verify_archive(struct sc_store *base, const char *org,
                                         const json_t *cp, const char *path, json_t **problem)
{
    struct pg_store *st = (struct pg_store *)base;
    *problem = NULL;
    int keyed = pg_audit_keyed(st);
    if (keyed <= 0)
        return keyed < 0 ? -1 : (pg_err(st, "no audit key"), -1);
    json_t *have = pg_audit_archived(base);
    if (!have && st->err[0])
        return -1;
    struct sc_audit_walk w = {0};
    int rc = file_walk(st, org, path, false, &w,
                       have ? json_integer_value(json_object_get(have, "through")) : 0,
                       have ? jstr(have, "last_hash") : NULL, problem);
    json_decref(have);
    if (rc != 0)
        return rc;
    return pg_audit_verify_from(st, org, cp, &w, problem);
}

/* True when the file's last line is the checkpoint the walk w stands at (its HMAC checked):
 * appending goes on from there without reading the file (`audit verify --archive` does). */
static bool file_ends_at(struct pg_store *st, const char *org, const char *path,
                         const struct sc_audit_walk *w)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
    size_t n = size > 0 && fseek(f, from, SEEK_SET) == 0 ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    if (n < 2 || buf[n - 1] != '\n')
        return false;
    buf[n - 1] = '\0';
    char *last = strrchr(buf, '\n');
    json_t *j = json_loads(last ? last + 1 : buf, 0, NULL);
    int64_t through, unkeyed;
    const char *hash;
    bool ok = json_object_get(j, "checkpoint") &&
              archive_cp_check(st, json_object_get(j, "checkpoint"), org, &through, &hash,
                               &unkeyed) == 0 &&
              through == w->expect - 1 && !strcmp(hash, w->prev) && unkeyed == w->unkeyed;
    json_decref(j);
    return ok;
}

/* Appends rows (from, through] to the file, then a checkpoint line, and syncs it. */
static int archive_write(struct pg_store *st, const char *org, const char *path, int64_t from,
                         int64_t through, struct sc_audit_walk *w, json_t **problem,
                         json_t **cpo)
{
    static const char *const rows_sql =
        "SELECT id, at, org, scenario, version, execution, step, method, sent_from, sent_to,"
        " status, duration_ms, body_sha256, outcome, prev_hash, hash, ref, key_id FROM audit"
        " WHERE id > $1 AND id <= $2 ORDER BY id";
    /* first the rows are checked, so that nothing of a broken chain reaches the file */
    struct sc_audit_walk probe = *w;
    PGresult *s = xq(st, "reading the audit log", rows_sql, "ii", from, through);
    int rc = s ? 0 : -1;
    for (int i = 0; rc == 0 && i < PQntuples(s); i++)
        rc = row_check(st, s, i, &probe, problem);
    if (rc == 0 && probe.expect - 1 != through)
        rc = problem_at(problem, probe.expect, 0, "is missing: it was deleted");
    if (rc != 0) {
        PQclear(s);
        return rc;
    }
    FILE *f = fopen(path, "a");
    if (!f) {
        PQclear(s);
        return pg_err(st, "archive %s cannot be written: %s", path, strerror(errno)), -1;
    }
    for (int i = 0; rc == 0 && i < PQntuples(s); i++) {
        rc = row_check(st, s, i, w, problem);
        json_t *row = rc ? NULL : row_json(s, i);
        if (!rc && (!row || json_dumpf(row, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF))
            rc = (pg_err(st, "archive %s cannot be written: %s", path,
                         row ? strerror(errno) : "out of memory"), -1);
        json_decref(row);
    }
    PQclear(s);
    if (rc == 0 && w->expect - 1 != through)
        rc = problem_at(problem, w->expect, 0, "is missing: it was deleted");
    char at[40], mac[65];
    sc_clock_iso(sc_clock_now_ms(), at, sizeof at);
    archive_mac(st, org, through, w->prev, w->unkeyed, at, mac);
    *cpo = rc ? NULL : json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s}", "format",
                                 ARCHIVE_FORMAT, "org", org, "through", (json_int_t)through,
                                 "last_hash", w->prev, "unkeyed", (json_int_t)w->unkeyed, "at",
                                 at, "key_id", st->audit.id, "hmac", mac);
    json_t *line = *cpo ? json_pack("{s:O}", "checkpoint", *cpo) : NULL;
    if (rc == 0 && (!line || json_dumpf(line, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF))
        rc = (pg_err(st, "archive %s cannot be written: %s", path, strerror(errno)), -1);
    json_decref(line);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = rc ? rc : (pg_err(st, "archive %s cannot be synced: %s", path, strerror(errno)), -1);
    fclose(f);
    return rc;
}

int64_t pg_audit_archive(struct sc_store *base, const char *org, int64_t before_ms,
                         int64_t max_rows, int limit, const char *path, json_t **problem)
{
    struct pg_store *st = (struct pg_store *)base;
    *problem = NULL;
    int keyed = pg_audit_keyed(st);
    if (keyed <= 0)
        return keyed < 0 ? -1 : (pg_err(st, "archiving the audit log needs the org's audit key"),
                                 -1);
    if (limit < 1 || max_rows < 0)
        return pg_err(st, "archive: a batch takes at least one row"), -1;
    struct sc_audit_walk at_store = {.expect = 1};
    memset(at_store.prev, '0', 64);
    int rc = pg_audit_walk_archived(st, &at_store, problem);
    if (rc != 0)
        return -1;
    int64_t head = one_int(xq(st, "reading the audit head",
                              "SELECT last_id FROM audit_head WHERE one = 1", ""));
    int64_t old = one_int(xq(st, "reading the audit log",
                             "SELECT coalesce(max(id), 0) FROM audit WHERE at < $1", "i",
                             before_ms));
    if (head < 0 || old < 0)
        return -1;
    int64_t through = old < head ? old : head - 1; /* the last row stays: it is the head */
    if (max_rows == 0) /* a dry run: what would go */
        return through >= at_store.expect ? through - at_store.expect + 1 : 0;
    if (through - at_store.expect + 1 > max_rows)
        through = at_store.expect - 1 + max_rows;
    /* the file ends where the store's checkpoint says (its last line that checkpoint), or
     * is read whole: rows from an interrupted archive may be in it already */
    struct sc_audit_walk w = at_store;
    if (at_store.expect == 1 || !file_ends_at(st, org, path, &at_store)) {
        rc = file_walk(st, org, path, true, &w, at_store.expect > 1 ? at_store.expect - 1 : 0,
                       at_store.expect > 1 ? at_store.prev : NULL, problem);
        if (rc != 0)
            return -1;
    }
    if (w.expect < at_store.expect)
        return problem_at(problem, w.expect, 0, "is not in archive %s, which ends before the "
                          "store's archive checkpoint (rows through %lld): another file?", path,
                          (long long)(at_store.expect - 1)), -1;
    w.last = head;
    /* the new end: the rows old enough, or what an interrupted archive left in the file */
    int64_t end = through >= w.expect ? through : w.expect - 1;
    if (end < at_store.expect)
        return 0;
    json_t *cp = NULL;
    if ((rc = archive_write(st, org, path, w.expect - 1, end, &w, problem, &cp)) != 0)
        return -1;
    through = end;
    if (pg_begin(st) != 0 ||
        run(xq(st, "recording the archive checkpoint", "INSERT INTO audit_archive(through,"
               " org, last_hash, unkeyed, at, key_id, hmac, file) VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
               "ississss", through, org, jstr(cp, "last_hash"),
               (int64_t)json_integer_value(json_object_get(cp, "unkeyed")), jstr(cp, "at"),
               jstr(cp, "key_id"), jstr(cp, "hmac"), path)) < 0 ||
        pg_commit(st) != 0) {
        pg_rollback(st);
        json_decref(cp);
        return -1;
    }
    json_decref(cp);
    int64_t n;
    do { /* small transactions: the intake takes its turns between them */
        if (pg_begin(st) != 0)
            return -1;
        n = run(xq(st, "deleting archived audit rows", "DELETE FROM audit WHERE id IN"
                   " (SELECT id FROM audit WHERE id <= $1 ORDER BY id LIMIT $2)", "ii", through,
                   (int64_t)limit));
        if (n < 0 || pg_commit(st) != 0) {
            pg_rollback(st);
            return -1;
        }
    } while (n > 0);
    return through - at_store.expect + 1;
}
