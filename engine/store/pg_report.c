/* PostgreSQL store: the audit log summed up over a window (the weekly audit report): its
 * query (the sums: store/audit_sum.c). */
#include "store/audit_sum.h"
#include "store/pg.h"

#include <stdio.h>

/* Each write's first row in [$1, $2], with the outcome of the row that completed it
 * ("pending" when none did), counted per scenario, URL and outcome; people's actions
 * (sent_to scenarist:..., sc_audit_person) are no writes. */
static const char summary_sql[] =
    "SELECT coalesce(a.scenario, ''), a.sent_to, coalesce(c.outcome, a.outcome), count(*)"
    " FROM audit a LEFT JOIN audit c ON c.ref = a.id"
    " WHERE a.ref IS NULL AND a.at >= $1 AND a.at <= $2"
    " AND left(a.sent_to, 10) <> 'scenarist:' GROUP BY 1, 2, 3";

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
    struct sc_audit_sum sum;
    sc_audit_sum_begin(&sum, systems);
    for (int i = 0; i < PQntuples(s); i++)
        sc_audit_sum_add(&sum, pg_text(s, i, 0), pg_text(s, i, 1), pg_text(s, i, 2),
                         pg_int(s, i, 3));
    PQclear(s);
    json_t *out = sc_audit_sum_end(&sum, true, since_ms, until_ms);
    if (!out)
        pg_err(st, "out of memory");
    return out;
}
