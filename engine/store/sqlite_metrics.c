/* SQLite store: the metrics: figures over a window read from the tables (metrics), and
 * the counters the schema's triggers (holds, queue items) and the store's code (executions,
 * sq_tally) keep (counters, for /metrics). */
#include "store/sqlite.h"

#include "clock.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- metrics over a window ---- */

/* The executions that began at or after ?1: those that ran through executions_started
 * (attempts > 0 only, schema v16) and the events still waiting through executions_queue. */
#define SINCE(cols)                                                                           \
    "(SELECT " cols " FROM executions INDEXED BY executions_started WHERE attempts > 0"       \
    " AND started_at >= ?1 UNION ALL SELECT " cols " FROM executions INDEXED BY"               \
    " executions_queue WHERE status = 'queued' AND attempts = 0 AND started_at >= ?1)"

/* ?1 is the window's start (ms): every figure counts the rows that began at or after it,
 * found through an index on that time (a short window reads only its own rows). */
static const char *const window_sql[] = {
    ("SELECT scenario, count(*), sum(status = 'error'), sum(status = 'warning')"
     " FROM " SINCE("scenario, status") " GROUP BY scenario ORDER BY scenario"),
    ("SELECT scenario, count(*), sum(state = 'pending') FROM holds INDEXED BY holds_created"
     " WHERE created_at >= ?1 GROUP BY scenario"),
    ("SELECT state, count(*) FROM incomplete WHERE state IN ('pending', 'exhausted')"
     " AND created_at >= ?1 GROUP BY state"),
    ("SELECT queue, count(*) FROM queue_items WHERE state = 'open' AND created_at >= ?1"
     " GROUP BY queue ORDER BY queue"),
    ("SELECT scenario, status, count(*) FROM " SINCE("scenario, status")
     " GROUP BY scenario, status ORDER BY scenario, status"),
    ("SELECT CASE WHEN priority > 0 THEN 'realtime' ELSE 'routine' END, count(*)"
     " FROM executions WHERE status = 'queued' AND queued_at >= ?1 GROUP BY 1"),
};

/* The scenario's entry, made (with zeros) when it has none yet. Borrowed. */
static json_t *scenario(json_t *m, const char *name)
{
    json_t *all = json_object_get(m, "scenarios"), *e = json_object_get(all, name);
    if (!e)
        json_object_set_new(all, name, e = json_pack("{s:i, s:i, s:i, s:i, s:{}}", "executions",
                                                      0, "failures", 0, "incomplete", 0,
                                                      "holds", 0, "by_status"));
    return e;
}

static void window_row(json_t *m, size_t k, sqlite3_stmt *s)
{
    const char *name = sq_text(s, 0);
    json_int_t n = sqlite3_column_int64(s, 1), a = sqlite3_column_int64(s, 2);
    json_t *e = k == 0 || k == 1 || k == 4 ? scenario(m, name) : NULL;
    if (k == 0) {
        json_object_set_new(e, "executions", json_integer(n));
        json_object_set_new(e, "failures", json_integer(a + sqlite3_column_int64(s, 3)));
        json_object_set_new(e, "incomplete", json_integer(sqlite3_column_int64(s, 3)));
    } else if (k == 1) {
        json_t *held = json_object_get(m, "holds");
        json_object_set_new(e, "holds", json_integer(n));
        json_object_set_new(held, "pending", json_integer(
            json_integer_value(json_object_get(held, "pending")) + a));
    } else if (k == 2) {
        json_t *inc = json_object_get(m, "incomplete");
        json_object_set_new(inc, name, json_integer(n));
        json_object_set_new(inc, "total", json_integer(
            json_integer_value(json_object_get(inc, "total")) + n));
    } else if (k == 3) {
        json_object_set_new(json_object_get(m, "queues"), name, json_integer(n));
    } else if (k == 4) {
        json_object_set_new(json_object_get(e, "by_status"), sq_text(s, 1),
                            json_integer(sqlite3_column_int64(s, 2)));
    } else {
        json_object_set_new(json_object_get(m, "queued"), name, json_integer(n));
    }
}

/* failure_rate and hold_rate of every scenario, once its counts are in (0 without runs). */
static void rates(json_t *m)
{
    const char *name;
    json_t *e;
    json_object_foreach(json_object_get(m, "scenarios"), name, e) {
        double n = (double)json_integer_value(json_object_get(e, "executions"));
        double f = (double)json_integer_value(json_object_get(e, "failures"));
        double h = (double)json_integer_value(json_object_get(e, "holds"));
        json_object_set_new(e, "failure_rate", json_real(n > 0 ? f / n : 0.0));
        json_object_set_new(e, "hold_rate", json_real(n > 0 ? h / n : 0.0));
    }
}

json_t *sq_metrics(struct sc_store *base, int64_t since_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    json_t *m = json_pack("{s:o, s:{s:i, s:i, s:i}, s:o, s:{s:i}, s:{s:i, s:i}}", "scenarios",
                          json_object(), "incomplete", "pending", 0, "exhausted", 0, "total", 0,
                          "queues", json_object(), "holds", "pending", 0, "queued", "routine",
                          0, "realtime", 0);
    if (m && since_ms > 0)
        json_object_set_new(m, "since", sq_iso(since_ms));
    for (size_t k = 0; m && k < sizeof window_sql / sizeof window_sql[0]; k++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, window_sql[k], -1, &s, NULL) != SQLITE_OK) {
            json_decref(m);
            return sq_db_err(st, "metrics"), NULL;
        }
        sqlite3_bind_int64(s, 1, since_ms);
        int rc;
        while ((rc = sq_step(st, s)) == SQLITE_ROW)
            window_row(m, k, s);
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) {
            json_decref(m);
            return NULL;
        }
    }
    if (m)
        rates(m);
    return m;
}

/* ---- counters ---- */

/* What a scrape reads: the counters (one row per name and labels, whatever the history)
 * and two gauges through indexes over what is waiting now (the queue, open incomplete). */
static const char *const counter_sql[] = {
    "SELECT name, l1, l2, value FROM counters ORDER BY name, l1, l2",
    ("SELECT CASE WHEN priority > 0 THEN 'realtime' ELSE 'routine' END, count(*)"
     " FROM executions INDEXED BY executions_queue WHERE status = 'queued' GROUP BY 1"),
    ("SELECT state, count(*) FROM incomplete INDEXED BY incomplete_due"
     " WHERE state IN ('pending', 'exhausted') GROUP BY state"),
};

/* obj[l1] = value, or obj[l1][l2] = value when l2 is not empty. */
static void counter_row(json_t *c, sqlite3_stmt *s)
{
    const char *name = sq_text(s, 0), *l1 = sq_text(s, 1), *l2 = sq_text(s, 2);
    json_t *by = json_object_get(c, name);
    if (!by)
        json_object_set_new(c, name, by = json_object());
    json_t *v = json_integer(sqlite3_column_int64(s, 3));
    if (!*l2) {
        json_object_set_new(by, l1, v);
        return;
    }
    json_t *in = json_object_get(by, l1);
    if (!in)
        json_object_set_new(by, l1, in = json_object());
    json_object_set_new(in, l2, v);
}

json_t *sq_counters(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    json_t *c = json_pack("{s:{}, s:{}, s:{}, s:{}, s:{}, s:{s:i, s:i}, s:{s:i, s:i}}",
                          "executions", "holds_created", "holds_decided", "queue_items_opened",
                          "queue_items_closed", "queued", "routine", 0, "realtime", 0,
                          "incomplete", "pending", 0, "exhausted", 0);
    for (size_t k = 0; c && k < sizeof counter_sql / sizeof counter_sql[0]; k++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, counter_sql[k], -1, &s, NULL) != SQLITE_OK) {
            json_decref(c);
            return sq_db_err(st, "counters"), NULL;
        }
        int rc;
        json_t *gauge = json_object_get(c, k == 1 ? "queued" : "incomplete");
        while ((rc = sq_step(st, s)) == SQLITE_ROW) {
            if (k == 0)
                counter_row(c, s);
            else
                json_object_set_new(gauge, sq_text(s, 0),
                                    json_integer(sqlite3_column_int64(s, 1)));
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) {
            json_decref(c);
            return NULL;
        }
    }
    return c;
}
