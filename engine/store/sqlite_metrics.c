/* SQLite store: the metrics read from the tables. */
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

/* ---- metrics ---- */

json_t *sq_metrics(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    static const char *const text[] = {
        ("SELECT e.scenario, count(*), sum(e.status = 'error'), sum(e.status = 'warning'),"
         " (SELECT count(*) FROM holds h WHERE h.scenario = e.scenario)"
         " FROM executions e GROUP BY e.scenario ORDER BY e.scenario"),
        ("SELECT state, count(*) FROM incomplete WHERE state IN ('pending', 'exhausted')"
         " GROUP BY state"),
        "SELECT queue, count(*) FROM queue_items WHERE state = 'open' GROUP BY queue ORDER BY queue",
        "SELECT count(*) FROM holds WHERE state = 'pending'",
    };
    json_t *m = json_pack("{s:o, s:{s:i, s:i, s:i}, s:o, s:{s:i}}", "scenarios", json_object(),
                          "incomplete", "pending", 0, "exhausted", 0, "total", 0, "queues",
                          json_object(), "holds", "pending", 0);
    for (size_t k = 0; m && k < sizeof text / sizeof text[0]; k++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, text[k], -1, &s, NULL) != SQLITE_OK) {
            json_decref(m);
            return sq_db_err(st, "metrics"), NULL;
        }
        while (sq_step(st, s) == SQLITE_ROW) {
            const char *name = sq_text(s, 0);
            int64_t n = sqlite3_column_int64(s, 1);
            if (k == 0) {
                int64_t failed = sqlite3_column_int64(s, 2) + sqlite3_column_int64(s, 3);
                int64_t holds = sqlite3_column_int64(s, 4);
                json_object_set_new(json_object_get(m, "scenarios"), name,
                                    json_pack("{s:I, s:I, s:I, s:f, s:I, s:f}", "executions",
                                              (json_int_t)n, "failures", (json_int_t)failed,
                                              "incomplete", (json_int_t)sqlite3_column_int64(s, 3),
                                              "failure_rate", n ? (double)failed / (double)n : 0.0,
                                              "holds", (json_int_t)holds, "hold_rate",
                                              n ? (double)holds / (double)n : 0.0));
            } else if (k == 1) {
                json_t *inc = json_object_get(m, "incomplete");
                json_object_set_new(inc, name, json_integer(n));
                json_object_set_new(inc, "total", json_integer(
                    json_integer_value(json_object_get(inc, "total")) + n));
            } else if (k == 2) {
                json_object_set_new(json_object_get(m, "queues"), name, json_integer(n));
            } else {
                json_object_set_new(json_object_get(m, "holds"), "pending",
                                    json_integer(sqlite3_column_int64(s, 0)));
            }
        }
        sqlite3_finalize(s);
    }
    json_t *queued = json_pack("{s:i, s:i}", "routine", 0, "realtime", 0);
    sqlite3_stmt *s = m && queued ? sq_q(st, Q_QUEUED_COUNTS, "") : NULL;
    while (s && sq_step(st, s) == SQLITE_ROW)
        json_object_set_new(queued, sqlite3_column_int(s, 0) > 0 ? "realtime" : "routine",
                            json_integer(sqlite3_column_int64(s, 1)));
    if (s)
        sq_done(s);
    json_object_set_new(m, "queued", queued);
    json_t *scen = json_object_get(m, "scenarios");
    s = m ? sq_q(st, Q_STATUS_COUNTS, "") : NULL;
    while (s && sq_step(st, s) == SQLITE_ROW) {
        json_t *e = json_object_get(scen, sq_text(s, 0)), *by = json_object_get(e, "by_status");
        if (e && !by)
            json_object_set_new(e, "by_status", by = json_object());
        json_object_set_new(by, sq_text(s, 1), json_integer(sqlite3_column_int64(s, 2)));
    }
    if (s)
        sq_done(s);
    return m;
}
