/* PostgreSQL store: the work queues' depth over past days, from their items' created and
 * done times (what the console's queue chart draws). */
#include "store/pg.h"

#include <stdio.h>

/* $1 the first day's start, $2 the last point (now), $3 days: per queue and day, the items
 * open at the day's last millisecond (at now for the last day): created by then, not
 * closed by then. */
static const char depth_sql[] =
    "WITH cut(i, t) AS (SELECT i, least($1::bigint + (i + 1)::bigint * 86400000 - 1, $2::bigint)"
    "  FROM generate_series(0, $3::int - 1) AS i),"
    " q(queue) AS (SELECT DISTINCT queue FROM queue_items WHERE created_at <= $2::bigint)"
    " SELECT q.queue, cut.i, count(qi.id) FROM q CROSS JOIN cut"
    " LEFT JOIN queue_items qi ON qi.queue = q.queue AND qi.created_at <= cut.t"
    "  AND ((qi.done_at IS NULL AND qi.state = 'open') OR qi.done_at > cut.t)"
    " GROUP BY q.queue, cut.i ORDER BY q.queue COLLATE \"C\", cut.i";

json_t *pg_queue_history(struct sc_store *base, int64_t start_ms, int64_t end_ms, int days)
{
    struct pg_store *st = (struct pg_store *)base;
    char a[24], b[24], c[16];
    snprintf(a, sizeof a, "%lld", (long long)start_ms);
    snprintf(b, sizeof b, "%lld", (long long)end_ms);
    snprintf(c, sizeof c, "%d", days);
    const char *vals[3] = {a, b, c};
    PGresult *s = PQexecParams(st->db, depth_sql, 3, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(s) != PGRES_TUPLES_OK) {
        pg_err(st, "store %s: reading the queues' depth: %s", st->addr, PQresultErrorMessage(s));
        PQclear(s);
        return NULL;
    }
    json_t *o = json_object();
    for (int i = 0; o && i < PQntuples(s); i++) {
        const char *queue = pg_text(s, i, 0);
        json_t *arr = json_object_get(o, queue);
        if (!arr)
            json_object_set_new(o, queue, arr = json_array());
        json_array_append_new(arr, json_integer(pg_int(s, i, 2)));
    }
    PQclear(s);
    return o;
}
