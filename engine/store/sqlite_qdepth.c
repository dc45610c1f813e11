/* SQLite store: the work queues' depth over past days, from their items' created and done
 * times (what the console's queue chart draws). */
#include "store/sqlite.h"

/* ?1 the first day's start, ?2 the last point (now), ?3 days: per queue and day, the items
 * open at the day's last millisecond (at now for the last day): created by then, not
 * closed by then. */
static const char depth_sql[] =
    "WITH RECURSIVE d(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM d WHERE i + 1 < ?3),"
    " cut(i, t) AS (SELECT i, min(?1 + (i + 1) * 86400000 - 1, ?2) FROM d),"
    " q(queue) AS (SELECT DISTINCT queue FROM queue_items WHERE created_at <= ?2)"
    " SELECT q.queue, cut.i, count(qi.id) FROM q CROSS JOIN cut"
    " LEFT JOIN queue_items qi ON qi.queue = q.queue AND qi.created_at <= cut.t"
    "  AND ((qi.done_at IS NULL AND qi.state = 'open') OR qi.done_at > cut.t)"
    " GROUP BY q.queue, cut.i ORDER BY q.queue, cut.i";

json_t *sq_queue_history(struct sc_store *base, int64_t start_ms, int64_t end_ms, int days)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, depth_sql, -1, &s, NULL) != SQLITE_OK)
        return sq_db_err(st, "reading the queues' depth"), NULL;
    sqlite3_bind_int64(s, 1, start_ms);
    sqlite3_bind_int64(s, 2, end_ms);
    sqlite3_bind_int(s, 3, days);
    json_t *o = json_object();
    int rc;
    while (o && (rc = sq_step(st, s)) == SQLITE_ROW) {
        const char *queue = sq_text(s, 0);
        json_t *a = json_object_get(o, queue);
        if (!a)
            json_object_set_new(o, queue, a = json_array());
        json_array_append_new(a, json_integer(sqlite3_column_int64(s, 2)));
    }
    if (o && rc != SQLITE_DONE) {
        sq_db_err(st, "reading the queues' depth");
        json_decref(o);
        o = NULL;
    }
    sqlite3_finalize(s);
    return o;
}
