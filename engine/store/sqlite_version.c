/* SQLite store: the rows of scenario versions (immutable; the current one is the highest). */
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

/* ---- versions ---- */

static json_t *version_row(sqlite3_stmt *s, bool with_doc)
{
    json_t *v = json_pack("{s:s, s:i, s:o, s:s, s:s}", "scenario", sq_text(s, 0), "number",
                          sqlite3_column_int(s, 1), "created_at", sq_iso(sqlite3_column_int64(s, 2)),
                          "checksum", sq_text(s, 4), "origin", sq_text(s, 5));
    if (v && sqlite3_column_type(s, 3) != SQLITE_NULL)
        json_object_set_new(v, "message", json_string(sq_text(s, 3)));
    if (v && with_doc)
        json_object_set_new(v, "document", sq_json(s, 6));
    return v;
}

enum sc_store_rc sq_version_add(struct sc_store *base, const char *scenario, json_t *document,
                                const char *checksum, const char *message, const char *origin,
                                int *number)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sq_begin(st) != 0)
        return -1;
    sqlite3_stmt *s = sq_q(st, Q_VER_CURRENT, "s", scenario);
    int rc = s ? sq_step(st, s) : SQLITE_ERROR, cur = 0;
    bool same = false;
    if (rc == SQLITE_ROW) {
        cur = sqlite3_column_int(s, 0);
        same = !strcmp(sq_text(s, 1), checksum);
    }
    if (s)
        sq_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sq_rollback(st);
        return sq_db_err(st, "reading versions");
    }
    *number = same ? cur : cur + 1;
    if (same) {
        sq_rollback(st);
        return SC_STORE_SAME;
    }
    if (sq_exec(st, sq_q(st, Q_VER_ADD, "siisssj", scenario, (int64_t)(cur + 1), sc_clock_now_ms(),
                         message, checksum, origin, document), "storing the version") != 0 ||
        sq_commit(st) != 0) {
        sq_rollback(st);
        return -1;
    }
    return 0;
}

json_t *sq_version_get(struct sc_store *base, const char *scenario, int number)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_VER_GET, "si", scenario, (int64_t)number);
    if (!s)
        return NULL;
    json_t *v = NULL;
    int rc = sq_step(st, s);
    if (rc == SQLITE_ROW)
        v = version_row(s, true);
    else if (number)
        sq_err(st, "scenario %s has no version %d", scenario, number);
    else
        sq_err(st, "scenario %s has no version: deploy it first", scenario);
    sq_done(s);
    return v;
}

static json_t *version_meta(sqlite3_stmt *s) { return version_row(s, false); }

json_t *sq_versions(struct sc_store *base, const char *scenario)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_rows(st, sq_q(st, Q_VER_LIST, "s", scenario), version_meta);
}

json_t *sq_versions_current(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_rows(st, sq_q(st, Q_VER_ALL_CURRENT, ""), version_meta);
}

int64_t sq_versions_stamp(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_VER_STAMP, "");
    if (!s)
        return -1;
    int64_t v = sq_step(st, s) == SQLITE_ROW
                    ? sqlite3_column_int64(s, 0) * 1000003 + sqlite3_column_int64(s, 1) : -1;
    sq_done(s);
    return v;
}
