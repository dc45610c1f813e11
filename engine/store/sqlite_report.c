/* SQLite store: the audit log summed up over a window (the weekly audit report): its
 * query (the sums: store/audit_sum.c). */
#include "store/audit_sum.h"
#include "store/sqlite.h"

/* Each write's first row in [?1, ?2], with the outcome of the row that completed it
 * ("pending" when none did), counted per scenario, URL and outcome; people's actions
 * (sent_to scenarist:..., sc_audit_person) are no writes. */
static const char summary_sql[] =
    "SELECT coalesce(a.scenario, ''), a.sent_to, coalesce(c.outcome, a.outcome), count(*)"
    " FROM audit a LEFT JOIN audit c ON c.ref = a.id"
    " WHERE a.ref IS NULL AND a.at >= ?1 AND a.at <= ?2"
    " AND substr(a.sent_to, 1, 10) <> 'scenarist:' GROUP BY 1, 2, 3";

json_t *sq_audit_summary(struct sc_store *base, int64_t since_ms, int64_t until_ms,
                         const json_t *systems)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, summary_sql, -1, &s, NULL) != SQLITE_OK)
        return sq_db_err(st, "summing up the audit log"), NULL;
    sqlite3_bind_int64(s, 1, since_ms);
    sqlite3_bind_int64(s, 2, until_ms);
    struct sc_audit_sum sum;
    sc_audit_sum_begin(&sum, systems);
    int rc;
    while ((rc = sq_step(st, s)) == SQLITE_ROW)
        sc_audit_sum_add(&sum, sq_text(s, 0), sq_text(s, 1), sq_text(s, 2),
                         sqlite3_column_int64(s, 3));
    sqlite3_finalize(s);
    return sc_audit_sum_end(&sum, rc == SQLITE_DONE, since_ms, until_ms);
}
