/* SQLite store: the audit log summed up over a window (the weekly audit report): the
 * writes per scenario and system and how they ended. */
#include "store/sqlite.h"

#include <string.h>

/* Each write's first row in [?1, ?2], with the outcome of the row that completed it
 * ("pending" when none did), counted per scenario, URL and outcome; people's actions
 * (sent_to scenarist:..., sc_audit_person) are no writes. */
static const char summary_sql[] =
    "SELECT coalesce(a.scenario, ''), a.sent_to, coalesce(c.outcome, a.outcome), count(*)"
    " FROM audit a LEFT JOIN audit c ON c.ref = a.id"
    " WHERE a.ref IS NULL AND a.at >= ?1 AND a.at <= ?2"
    " AND substr(a.sent_to, 1, 10) <> 'scenarist:' GROUP BY 1, 2, 3";

/* The name of the longest prefix in systems that url starts with, at a path boundary. */
static const char *system_of(const json_t *systems, const char *url)
{
    const char *best = NULL, *name;
    size_t best_len = 0;
    json_t *v;
    json_object_foreach((json_t *)systems, name, v) {
        const char *p = json_string_value(v);
        size_t n = p ? strlen(p) : 0;
        while (n && p[n - 1] == '/')
            n--;
        if (n > best_len && !strncmp(url, p, n) && strchr("/?#", url[n]))
            best = name, best_len = n;
    }
    return best ? best : "other";
}

static void add(json_t *o, const char *key, json_int_t n)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + n));
}

json_t *sq_audit_summary(struct sc_store *base, int64_t since_ms, int64_t until_ms,
                         const json_t *systems)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, summary_sql, -1, &s, NULL) != SQLITE_OK)
        return sq_db_err(st, "summing up the audit log"), NULL;
    sqlite3_bind_int64(s, 1, since_ms);
    sqlite3_bind_int64(s, 2, until_ms);
    json_t *writes = json_object(), *totals = json_object(), *by_system = json_object();
    int rc;
    while ((rc = sq_step(st, s)) == SQLITE_ROW) {
        const char *scenario = sq_text(s, 0), *url = sq_text(s, 1), *outcome = sq_text(s, 2);
        json_int_t n = sqlite3_column_int64(s, 3);
        const char *sys = system_of(systems, url ? url : "");
        json_t *sc = json_object_get(writes, scenario);
        if (!sc)
            json_object_set_new(writes, scenario, sc = json_object());
        json_t *one = json_object_get(sc, sys);
        if (!one)
            json_object_set_new(sc, sys, one = json_object());
        json_t *bs = json_object_get(by_system, sys);
        if (!bs)
            json_object_set_new(by_system, sys, bs = json_object());
        add(one, outcome, n);
        add(bs, outcome, n);
        add(totals, outcome, n);
        add(totals, "writes", n);
    }
    sqlite3_finalize(s);
    json_t *out = rc == SQLITE_DONE
                      ? json_pack("{s:o, s:o, s:o, s:o, s:o}", "since", sq_iso(since_ms), "until",
                                  sq_iso(until_ms), "writes", writes, "systems", by_system, "totals", totals)
                      : NULL;
    if (!out) {
        json_decref(writes);
        json_decref(totals);
        json_decref(by_system);
    }
    return out;
}
