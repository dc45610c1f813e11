/* PostgreSQL store: importing an org's SQLite store (store/migrate.h), table by table,
 * every row as stored, in one transaction of the target. */
#include "store/migrate.h"
#include "store/pg.h"

#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The tables of both schemas, their columns in one order; bytes: the columns kept as
 * bytea in PostgreSQL (sealed or JSON bytes), by index. */
static const struct {
    const char *name, *cols;
    int bytes;             /* -1: none */
} tables[] = {
    {"executions", "id, scenario, org, version, source, status, attempts, confidential, owner,"
                   " trigger, started_at, finished_at, duration_ms, summary, seq, priority,"
                   " lane, dedupe, queued_at, lease_until", 9},
    {"step_runs", "id, execution, attempt, step, module, bundle, status, started_at,"
                  " duration_ms, bundles, output, error, state", 12},
    {"incomplete", "execution, scenario, step, bundle, error, attempts, max_attempts, next_at,"
                   " state, created_at, updated_at, decided_by", -1},
    {"holds", "id, execution, scenario, step, bundle, reason, diff, state, created_at,"
              " decided_at, decided_by", -1},
    {"queue_items", "id, queue, item, execution, state, created_at, done_at, done_by, key,"
                    " last_seen, times_seen, seen_by, resolution, note", -1},
    {"datastore", "store, key, value, updated_at, expires_at", -1},
    {"audit", "id, at, org, scenario, version, execution, step, method, sent_from, sent_to,"
              " status, duration_ms, body_sha256, outcome, prev_hash, hash, ref, key_id, actor", -1},
    {"audit_head", "one, last_id, last_hash, mac", -1},
    {"audit_archive", "through, org, last_hash, unkeyed, at, key_id, hmac, file", -1},
    {"trigger_state", "scenario, trigger, last_at, watermark, updated_at", -1},
    {"poll_seen", "scenario, trigger, key, seen_at", -1},
    {"versions", "scenario, number, created_at, message, checksum, origin, document", -1},
    {"shadow_writes", "id, at, org, scenario, version, execution, step, bundle, connection,"
                      " method, url, status, audit_id, confidential, request", 14},
    {"decisions", "id, execution, action, hold, decided_by, decided_at, reason, state, owner,"
                  " outcome, ended_at", -1},
    /* last: the counters as the source counted them (the rows copied above counted nothing) */
    {"counters", "name, l1, l2, value", -1},
};

static int ncols(const char *cols)
{
    int n = 1;
    for (; *cols; cols++)
        n += *cols == ',';
    return n;
}

/* Copies one table; its row count, or -1 with err set. */
static long copy_table(sqlite3 *src, struct pg_store *dst, size_t t, char *err, size_t errlen)
{
    enum { MAXC = 24 };
    char *sel = sc_asprintf("SELECT %s FROM %s ORDER BY 1", tables[t].cols, tables[t].name);
    struct sc_buf ins = {0};
    int n = ncols(tables[t].cols);
    sc_buf_printf(&ins, "INSERT INTO %s(%s) VALUES(", tables[t].name, tables[t].cols);
    for (int k = 1; k <= n; k++)
        sc_buf_printf(&ins, "%s$%d", k > 1 ? "," : "", k);
    sc_buf_printf(&ins, ")");
    sqlite3_stmt *s = NULL;
    long rows = -1;
    if (!sel || ins.oom || n > MAXC) {
        snprintf(err, errlen, "out of memory");
    } else if (sqlite3_prepare_v2(src, sel, -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "reading %s: %s", tables[t].name, sqlite3_errmsg(src));
    } else {
        rows = 0;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *vals[MAXC] = {0};
            int lens[MAXC] = {0}, fmts[MAXC] = {0};
            for (int k = 0; k < n; k++) {
                if (sqlite3_column_type(s, k) == SQLITE_NULL)
                    continue;
                if (k == tables[t].bytes) { /* sealed or JSON bytes, as they are */
                    vals[k] = sqlite3_column_blob(s, k);
                    lens[k] = sqlite3_column_bytes(s, k);
                    fmts[k] = 1;
                    if (!vals[k])
                        vals[k] = "";
                } else {
                    vals[k] = (const char *)sqlite3_column_text(s, k);
                }
            }
            PGresult *r = PQexecParams(dst->db, ins.data, n, NULL, vals, lens, fmts, 0);
            bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok)
                snprintf(err, errlen, "writing %s: %s", tables[t].name, PQresultErrorMessage(r));
            PQclear(r);
            if (!ok) {
                rows = -1;
                break;
            }
            rows++;
        }
        if (rows >= 0 && rc != SQLITE_DONE) {
            snprintf(err, errlen, "reading %s: %s", tables[t].name, sqlite3_errmsg(src));
            rows = -1;
        }
    }
    size_t m = strlen(err);
    while (rows < 0 && m > 0 && err[m - 1] == '\n')
        err[--m] = '\0';
    sqlite3_finalize(s);
    free(sel);
    sc_buf_free(&ins);
    return rows;
}

/* The target holds nothing of an org yet: 0, or -1 with err set. */
static int target_empty(struct pg_store *dst, const char *to, char *err, size_t errlen)
{
    PGresult *r = PQexec(dst->db, "SELECT (SELECT count(*) FROM executions)"
                                  " + (SELECT count(*) FROM audit) + (SELECT count(*) FROM versions)"
                                  " + (SELECT count(*) FROM datastore) + (SELECT count(*) FROM queue_items)");
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc)
        snprintf(err, errlen, "store %s: %s", to, PQresultErrorMessage(r));
    else if (strcmp(PQgetvalue(r, 0, 0), "0") != 0)
        rc = -1, snprintf(err, errlen, "store %s is not empty: a migration copies into an "
                          "empty store only (nothing was copied)", to);
    PQclear(r);
    return rc;
}

json_t *sc_store_migrate(const char *from, const char *to, const char *key_ref, char *err,
                         size_t errlen)
{
    if (sc_store_backend_of(to) != &sc_store_pg)
        return snprintf(err, errlen, "--to must be a PostgreSQL store (postgresql://...), "
                        "not %s", to), NULL;
    if (sc_store_backend_of(from) != &sc_store_sqlite || access(from, R_OK) != 0)
        return snprintf(err, errlen, "--from must be an existing SQLite store file: %s is not "
                        "one", from), NULL;
    struct sc_store *up = sc_store_open(from, key_ref, err, errlen); /* its schema up to date */
    if (!up)
        return NULL;
    sc_store_close(up);
    sqlite3 *src = NULL;
    if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "store %s: %s", from, src ? sqlite3_errmsg(src) : "out of memory");
        sqlite3_close(src);
        return NULL;
    }
    struct pg_store *dst = (struct pg_store *)sc_store_open(to, key_ref, err, errlen);
    json_t *counts = dst ? json_object() : NULL;
    bool ok = counts && target_empty(dst, to, err, errlen) == 0 &&
              pg_exec_text(dst, "BEGIN", "migration") == 0;
    for (size_t t = 0; ok && t < sizeof tables / sizeof tables[0]; t++) {
        long n = copy_table(src, dst, t, err, errlen);
        ok = n >= 0 && json_object_set_new(counts, tables[t].name, json_integer(n)) == 0;
    }
    /* the sequences go on after the copied rows */
    if (ok && (pg_exec_text(dst, "SELECT setval('executions_seq', coalesce((SELECT max(seq)"
                                 " FROM executions), 0) + 1, false)", "migration") != 0 ||
               pg_exec_text(dst, "SELECT setval(pg_get_serial_sequence('step_runs', 'id'),"
                                 " coalesce((SELECT max(id) FROM step_runs), 0) + 1, false)",
                            "migration") != 0 ||
               pg_exec_text(dst, "SELECT setval(pg_get_serial_sequence('shadow_writes', 'id'),"
                                 " coalesce((SELECT max(id) FROM shadow_writes), 0) + 1, false)",
                            "migration") != 0 ||
               pg_exec_text(dst, "SELECT setval(pg_get_serial_sequence('decisions', 'id'),"
                                 " coalesce((SELECT max(id) FROM decisions), 0) + 1, false)",
                            "migration") != 0 ||
               pg_exec_text(dst, "DELETE FROM counter_changes", "migration") != 0 ||
               pg_exec_text(dst, "COMMIT", "migration") != 0)) {
        snprintf(err, errlen, "%s", dst->err);
        ok = false;
    }
    if (!ok && dst)
        pg_exec_text(dst, "ROLLBACK", "migration");
    if (!ok) {
        json_decref(counts);
        counts = NULL;
    }
    sc_store_close(dst ? &dst->base : NULL);
    sqlite3_close(src);
    return counts;
}
