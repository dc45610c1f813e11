/* PostgreSQL store: the audit log summed up over a window (the weekly audit report): the
 * writes per scenario and system and how they ended. */
#include "store/pg.h"

#include <stdio.h>

#include <string.h>

/* Each write's first row in [$1, $2], with the outcome of the row that completed it
 * ("pending" when none did), counted per scenario, URL and outcome; people's actions
 * (sent_to scenarist:..., sc_audit_person) are no writes. */
static const char summary_sql[] =
    "SELECT coalesce(a.scenario, ''), a.sent_to, coalesce(c.outcome, a.outcome), count(*)"
    " FROM audit a LEFT JOIN audit c ON c.ref = a.id"
    " WHERE a.ref IS NULL AND a.at >= $1 AND a.at <= $2"
    " AND left(a.sent_to, 10) <> 'scenarist:' GROUP BY 1, 2, 3";

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

json_t *pg_audit_summary(struct sc_store *base, int64_t since_ms, int64_t until_ms,
                         const json_t *systems)
{
    struct pg_store *st = (struct pg_store *)base;
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)since_ms);
    snprintf(b, sizeof b, "%lld", (long long)until_ms);
    const char *vals[2] = {a, b};
    PGresult *s = PQexecParams(st->db, summary_sql, 2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(s) != PGRES_TUPLES_OK) {
        pg_err(st, "store %s: summing up the audit log: %s", st->addr, PQresultErrorMessage(s));
        PQclear(s);
        return NULL;
    }
    json_t *writes = json_object(), *totals = json_object(), *by_system = json_object();
    for (int i = 0; i < PQntuples(s); i++) {
        const char *scenario = pg_text(s, i, 0), *url = pg_text(s, i, 1);
        const char *outcome = pg_text(s, i, 2);
        json_int_t n = pg_int(s, i, 3);
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
    PQclear(s);
    json_t *out = json_pack("{s:o, s:o, s:o, s:o, s:o}", "since", pg_iso(since_ms), "until",
                            pg_iso(until_ms), "writes", writes, "systems", by_system, "totals",
                            totals);
    if (!out) {
        pg_err(st, "out of memory");
        json_decref(writes);
        json_decref(totals);
        json_decref(by_system);
    }
    return out;
}
