/* PostgreSQL store: the metrics read from the tables (the whole store, every daemon's). */
#include "store/pg.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void metrics_row(json_t *m, size_t k, const PGresult *s, int i)
{
    const char *name = pg_text(s, i, 0);
    int64_t n = pg_int(s, i, 1);
    if (k == 0) {
        int64_t failed = pg_int(s, i, 2) + pg_int(s, i, 3), holds = pg_int(s, i, 4);
        json_object_set_new(json_object_get(m, "scenarios"), name,
                            json_pack("{s:I, s:I, s:I, s:f, s:I, s:f}", "executions",
                                      (json_int_t)n, "failures", (json_int_t)failed,
                                      "incomplete", (json_int_t)pg_int(s, i, 3), "failure_rate",
                                      n ? (double)failed / (double)n : 0.0, "holds",
                                      (json_int_t)holds, "hold_rate",
                                      n ? (double)holds / (double)n : 0.0));
    } else if (k == 1) {
        json_t *inc = json_object_get(m, "incomplete");
        json_object_set_new(inc, name, json_integer(n));
        json_object_set_new(inc, "total",
                            json_integer(json_integer_value(json_object_get(inc, "total")) + n));
    } else if (k == 2) {
        json_object_set_new(json_object_get(m, "queues"), name, json_integer(n));
    } else {
        json_object_set_new(json_object_get(m, "holds"), "pending",
                            json_integer(pg_int(s, i, 0)));
    }
}

json_t *pg_metrics(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    static const char *const text[] = {
        ("SELECT e.scenario, count(*), count(*) FILTER (WHERE e.status = 'error'),"
         " count(*) FILTER (WHERE e.status = 'warning'),"
         " (SELECT count(*) FROM holds h WHERE h.scenario = e.scenario)"
         " FROM executions e GROUP BY e.scenario ORDER BY e.scenario COLLATE \"C\""),
        ("SELECT state, count(*) FROM incomplete WHERE state IN ('pending', 'exhausted')"
         " GROUP BY state"),
        "SELECT queue, count(*) FROM queue_items WHERE state = 'open' GROUP BY queue"
        " ORDER BY queue COLLATE \"C\"",
        "SELECT count(*) FROM holds WHERE state = 'pending'",
    };
    json_t *m = json_pack("{s:o, s:{s:i, s:i, s:i}, s:o, s:{s:i}}", "scenarios", json_object(),
                          "incomplete", "pending", 0, "exhausted", 0, "total", 0, "queues",
                          json_object(), "holds", "pending", 0);
    for (size_t k = 0; m && k < sizeof text / sizeof text[0]; k++) {
        PGresult *s = PQexec(st->db, text[k]);
        if (PQresultStatus(s) != PGRES_TUPLES_OK) {
            pg_err(st, "store %s: metrics: %s", st->addr, PQresultErrorMessage(s));
            PQclear(s);
            json_decref(m);
            return NULL;
        }
        for (int i = 0; i < PQntuples(s); i++)
            metrics_row(m, k, s, i);
        PQclear(s);
    }
    json_t *queued = json_pack("{s:i, s:i}", "routine", 0, "realtime", 0);
    PGresult *s = m && queued ? pg_q(st, P_QUEUED_COUNTS, "") : NULL;
    for (int i = 0; s && i < PQntuples(s); i++)
        json_object_set_new(queued, pg_int(s, i, 0) > 0 ? "realtime" : "routine",
                            json_integer(pg_int(s, i, 1)));
    PQclear(s);
    json_object_set_new(m, "queued", queued);
    json_t *scen = json_object_get(m, "scenarios");
    s = m ? pg_q(st, P_STATUS_COUNTS, "") : NULL;
    for (int i = 0; s && i < PQntuples(s); i++) {
        json_t *e = json_object_get(scen, pg_text(s, i, 0)), *by = json_object_get(e, "by_status");
        if (e && !by)
            json_object_set_new(e, "by_status", by = json_object());
        json_object_set_new(by, pg_text(s, i, 1), json_integer(pg_int(s, i, 2)));
    }
    PQclear(s);
    return m;
}
