/* PostgreSQL store: the metrics (the whole store, every daemon's): figures over a window
 * read from the tables (metrics), and the counters the schema's triggers keep (counters,
 * for /metrics). The SQLite backend, store/sqlite_metrics.c, is the reference. */
#include "store/pg.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- metrics over a window ---- */

/* $1 is the window's start (ms): every figure counts the rows that began at or after it. */
static const char *const window_sql[] = {
    ("SELECT scenario, count(*), count(*) FILTER (WHERE status = 'error'),"
     " count(*) FILTER (WHERE status = 'warning') FROM executions WHERE started_at >= $1"
     " GROUP BY scenario ORDER BY scenario COLLATE \"C\""),
    ("SELECT scenario, count(*), count(*) FILTER (WHERE state = 'pending') FROM holds"
     " WHERE created_at >= $1 GROUP BY scenario"),
    ("SELECT state, count(*) FROM incomplete WHERE state IN ('pending', 'exhausted')"
     " AND created_at >= $1 GROUP BY state"),
    ("SELECT queue, count(*) FROM queue_items WHERE state = 'open' AND created_at >= $1"
     " GROUP BY queue ORDER BY queue COLLATE \"C\""),
    ("SELECT scenario, status, count(*) FROM executions WHERE started_at >= $1"
     " GROUP BY scenario, status ORDER BY scenario COLLATE \"C\", status COLLATE \"C\""),
    ("SELECT CASE WHEN priority > 0 THEN 'realtime' ELSE 'routine' END, count(*)"
     " FROM executions WHERE status = 'queued' AND queued_at >= $1 GROUP BY 1"),
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

static void window_row(json_t *m, size_t k, const PGresult *s, int i)
{
    const char *name = pg_text(s, i, 0);
    json_int_t n = pg_int(s, i, 1), a = pg_int(s, i, 2);
    json_t *e = k == 0 || k == 1 || k == 4 ? scenario(m, name) : NULL;
    if (k == 0) {
        json_object_set_new(e, "executions", json_integer(n));
        json_object_set_new(e, "failures", json_integer(a + pg_int(s, i, 3)));
        json_object_set_new(e, "incomplete", json_integer(pg_int(s, i, 3)));
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
        json_object_set_new(json_object_get(e, "by_status"), pg_text(s, i, 1),
                            json_integer(pg_int(s, i, 2)));
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

/* Runs text with $1 = arg (or none): the result, or NULL with the error set. */
static PGresult *read_text(struct pg_store *st, const char *text, const int64_t *arg,
                           const char *what)
{
    char num[24];
    const char *vals[1] = {num};
    if (arg)
        snprintf(num, sizeof num, "%lld", (long long)*arg);
    PGresult *s = PQexecParams(st->db, text, arg ? 1 : 0, NULL, arg ? vals : NULL, NULL, NULL, 0);
    if (PQresultStatus(s) != PGRES_TUPLES_OK) {
        pg_err(st, "store %s: %s: %s", st->addr, what, PQresultErrorMessage(s));
        PQclear(s);
        return NULL;
    }
    return s;
}

json_t *pg_metrics(struct sc_store *base, int64_t since_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    json_t *m = json_pack("{s:o, s:{s:i, s:i, s:i}, s:o, s:{s:i}, s:{s:i, s:i}}", "scenarios",
                          json_object(), "incomplete", "pending", 0, "exhausted", 0, "total", 0,
                          "queues", json_object(), "holds", "pending", 0, "queued", "routine",
                          0, "realtime", 0);
    if (m && since_ms > 0)
        json_object_set_new(m, "since", pg_iso(since_ms));
    for (size_t k = 0; m && k < sizeof window_sql / sizeof window_sql[0]; k++) {
        PGresult *s = read_text(st, window_sql[k], &since_ms, "metrics");
        if (!s) {
            json_decref(m);
            return NULL;
        }
        for (int i = 0; i < PQntuples(s); i++)
            window_row(m, k, s, i);
        PQclear(s);
    }
    if (m)
        rates(m);
    return m;
}

/* ---- counters ---- */

/* What a scrape reads: the counters (one row per name and labels, whatever the history)
 * and two gauges over what is waiting now (the queue, open incomplete). */
static const char *const counter_sql[] = {
    "SELECT name, l1, l2, value FROM counters"
    " ORDER BY name COLLATE \"C\", l1 COLLATE \"C\", l2 COLLATE \"C\"",
    ("SELECT CASE WHEN priority > 0 THEN 'realtime' ELSE 'routine' END, count(*)"
     " FROM executions WHERE status = 'queued' GROUP BY 1"),
    ("SELECT state, count(*) FROM incomplete WHERE state IN ('pending', 'exhausted')"
     " GROUP BY state"),
};

/* obj[l1] = value, or obj[l1][l2] = value when l2 is not empty. */
static void counter_row(json_t *c, const PGresult *s, int i)
{
    const char *name = pg_text(s, i, 0), *l1 = pg_text(s, i, 1), *l2 = pg_text(s, i, 2);
    json_t *by = json_object_get(c, name);
    if (!by)
        json_object_set_new(c, name, by = json_object());
    json_t *v = json_integer(pg_int(s, i, 3));
    if (!*l2) {
        json_object_set_new(by, l1, v);
        return;
    }
    json_t *in = json_object_get(by, l1);
    if (!in)
        json_object_set_new(by, l1, in = json_object());
    json_object_set_new(in, l2, v);
}

int pg_fold_counters(struct pg_store *st)
{
    if (pg_begin(st) != 0)
        return -1;
    if (pg_lock(st, PG_LOCK_COUNTERS) != 0 ||
        pg_run(st, "counting", P_COUNTERS_FOLD, "") != 0 || pg_commit(st) != 0) {
        pg_rollback(st);
        return -1;
    }
    return 0;
}

json_t *pg_counters(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_fold_counters(st) != 0)
        return NULL;
    json_t *c = json_pack("{s:{}, s:{}, s:{}, s:{}, s:{}, s:{s:i, s:i}, s:{s:i, s:i}}",
                          "executions", "holds_created", "holds_decided", "queue_items_opened",
                          "queue_items_closed", "queued", "routine", 0, "realtime", 0,
                          "incomplete", "pending", 0, "exhausted", 0);
    for (size_t k = 0; c && k < sizeof counter_sql / sizeof counter_sql[0]; k++) {
        PGresult *s = read_text(st, counter_sql[k], NULL, "counters");
        if (!s) {
            json_decref(c);
            return NULL;
        }
        json_t *gauge = json_object_get(c, k == 1 ? "queued" : "incomplete");
        for (int i = 0; i < PQntuples(s); i++) {
            if (k == 0)
                counter_row(c, s, i);
            else
                json_object_set_new(gauge, pg_text(s, i, 0), json_integer(pg_int(s, i, 1)));
        }
        PQclear(s);
    }
    return c;
}
