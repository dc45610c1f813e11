/* PostgreSQL store: what waits for a retry or a person: incomplete executions, holds, and
 * the work queues for people. Holds and queue items are numbered max + 1 under an advisory
 * lock (not a sequence), so a deferred write can promise the id it will get. */
#include "store/pg.h"

#include "clock.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- incomplete executions ---- */

json_t *pg_incomplete_row(const PGresult *s, int i)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:o}", "execution",
                          pg_text(s, i, 0), "scenario", pg_text(s, i, 1), "step",
                          pg_text(s, i, 2), "bundle", pg_text(s, i, 3), "state",
                          pg_text(s, i, 8), "attempts", (int)pg_int(s, i, 5), "max_attempts",
                          (int)pg_int(s, i, 6), "created_at", pg_iso(pg_int(s, i, 9)));
    if (!e)
        return NULL;
    if (!pg_null(s, i, 7))
        json_object_set_new(e, "next_attempt_at", pg_iso(pg_int(s, i, 7)));
    json_object_set_new(e, "updated_at", pg_iso(pg_int(s, i, 10)));
    if (!pg_null(s, i, 11))
        json_object_set_new(e, "decided_by", json_string(pg_text(s, i, 11)));
    json_t *err = pg_json(s, i, 4);
    if (err)
        json_object_set_new(e, "error", err);
    return e;
}

int pg_incomplete_put(struct sc_store *base, const struct sc_incomplete_row *r)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_incomplete(st->defer, r);
    return pg_run(st, "recording the incomplete execution", P_INC_PUT, "ssssjiiIsi",
                  r->execution, r->scenario, r->step, r->bundle, r->error, (int64_t)r->attempts,
                  (int64_t)r->max_attempts, r->next_ms ? r->next_ms : (int64_t)-1, r->state,
                  sc_clock_now_ms());
}

json_t *pg_incomplete_list(struct sc_store *base, const char *state)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, state ? pg_q(st, P_INC_LIST_STATE, "s", state)
                             : pg_q(st, P_INC_LIST_OPEN, ""), pg_incomplete_row);
}

json_t *pg_incomplete_get(struct sc_store *base, const char *execution)
{
    struct pg_store *st = (struct pg_store *)base;
    json_t *a = pg_rows(st, pg_q(st, P_INC_GET, "s", execution), pg_incomplete_row);
    if (a) /* none: NULL with no error */
        st->err[0] = '\0';
    json_t *e = json_incref(json_array_get(a, 0));
    json_decref(a);
    return e;
}

static json_t *first_col(const PGresult *s, int i) { return json_string(pg_text(s, i, 0)); }

json_t *pg_incomplete_due(struct sc_store *base, int64_t now_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, P_INC_DUE, "i", now_ms), first_col);
}

enum sc_store_rc pg_incomplete_close(struct sc_store *base, const char *execution,
                                     const char *state, const char *by)
{
    struct pg_store *st = (struct pg_store *)base;
    if (sc_defer_refuse(st->defer, "closing an incomplete entry"))
        return SC_STORE_ERR;
    if (pg_begin(st) != 0)
        return SC_STORE_ERR;
    int rc = pg_run(st, "closing the incomplete execution", P_INC_CLOSE, "ssis", state, by,
                    sc_clock_now_ms(), execution);
    bool none = rc == 0 && st->changes == 0;
    if (rc == 0 && !none)
        rc = pg_erase_resume_data(st, execution);
    if (rc != 0 || none || pg_commit(st) != 0) {
        pg_rollback(st);
        return rc == 0 && none ? SC_STORE_NONE : SC_STORE_ERR;
    }
    return SC_STORE_OK;
}

/* ---- numbered rows: the next id under the table's lock ---- */

int64_t pg_next_row_id(struct pg_store *st, int table)
{
    if (pg_lock(st, table ? PG_LOCK_HOLDS : PG_LOCK_QUEUE_ITEMS) != 0)
        return -1;
    PGresult *s = pg_q(st, table ? P_HOLD_LAST : P_QI_LAST, "");
    if (!s)
        return -1;
    int64_t id = pg_int(s, 0, 0) + 1;
    PQclear(s);
    return id;
}

/* Inserts a numbered row in a transaction of its own (or the caller's): its id, or -1. */
static int64_t insert_numbered(struct pg_store *st, int table, const char *execution,
                               const char *a, const char *b, const char *c, const char *d,
                               json_t *j)
{
    if (pg_begin(st) != 0)
        return -1;
    int64_t id = pg_next_row_id(st, table);
    int rc = id < 0 ? -1
             : table ? pg_run(st, "recording the hold", P_HOLD_PUT, "isssssji", id, execution,
                              a, b, c, d, j, sc_clock_now_ms())
                     : pg_run(st, "adding to the queue", P_QI_PUSH, "isjsi", id, a, j,
                              execution, sc_clock_now_ms());
    if (rc != 0 || pg_commit(st) != 0) {
        pg_rollback(st);
        return -1;
    }
    return id;
}

/* ---- holds ---- */

static json_t *hold_row(const PGresult *s, int i)
{
    json_t *v = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "id",
                          (json_int_t)pg_int(s, i, 0), "execution", pg_text(s, i, 1),
                          "scenario", pg_text(s, i, 2), "step", pg_text(s, i, 3), "bundle",
                          pg_text(s, i, 4), "state", pg_text(s, i, 7), "created_at",
                          pg_iso(pg_int(s, i, 8)));
    if (v && !pg_null(s, i, 5))
        json_object_set_new(v, "reason", json_string(pg_text(s, i, 5)));
    json_t *diff = pg_json(s, i, 6);
    if (v && diff)
        json_object_set_new(v, "diff", diff);
    else
        json_decref(diff);
    if (v && !pg_null(s, i, 9))
        json_object_set_new(v, "decided_at", pg_iso(pg_int(s, i, 9)));
    if (v && !pg_null(s, i, 10))
        json_object_set_new(v, "decided_by", json_string(pg_text(s, i, 10)));
    return v;
}

json_t *pg_hold_get(struct sc_store *base, const char *execution, const char *step,
                    const char *bundle)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_HOLD_GET, "sss", execution, step, bundle);
    json_t *v = s && PQntuples(s) == 1 ? hold_row(s, 0) : NULL;
    PQclear(s);
    st->err[0] = '\0';
    return v;
}

int64_t pg_hold_put(struct sc_store *base, const char *execution, const char *scenario,
                    const char *step, const char *bundle, const char *reason, json_t *diff)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_row(st->defer, 1, (const char *const[5]){execution, scenario, step, bundle,
                                                          reason}, diff);
    return insert_numbered(st, 1, execution, scenario, step, bundle, reason, diff);
}

json_t *pg_holds(struct sc_store *base, const char *state)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, P_HOLD_LIST, "s", state), hold_row);
}

/* The one row of a query by id, or NULL with "no WHAT ID" as the error. */
static json_t *one_row(struct pg_store *st, PGresult *s, json_t *(*row)(const PGresult *, int),
                       const char *what, int64_t id)
{
    json_t *v = NULL;
    if (s && PQntuples(s) == 1)
        v = row(s, 0);
    else if (s) /* none: NULL with no error, told from a failure */
        st->err[0] = '\0';
    (void)what;
    (void)id;
    PQclear(s);
    return v;
}

json_t *pg_hold(struct sc_store *base, int64_t id)
{
    struct pg_store *st = (struct pg_store *)base;
    return one_row(st, pg_q(st, P_HOLD_BY_ID, "i", id), hold_row, "hold", id);
}

enum sc_store_rc pg_hold_decide(struct sc_store *base, int64_t id, const char *state,
                                const char *by)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_run(st, "deciding the hold", P_HOLD_DECIDE, "sisi", state, sc_clock_now_ms(), by,
               id) != 0)
        return SC_STORE_ERR;
    return st->changes ? SC_STORE_OK : SC_STORE_NONE;
}

/* ---- queues for people ---- */

static json_t *queue_row(const PGresult *s, int i)
{
    json_t *v = json_pack("{s:I, s:s, s:o*, s:s, s:o}", "id", (json_int_t)pg_int(s, i, 0),
                          "queue", pg_text(s, i, 1), "item", pg_json(s, i, 2), "state",
                          pg_text(s, i, 4), "created_at", pg_iso(pg_int(s, i, 5)));
    if (v && !pg_null(s, i, 3))
        json_object_set_new(v, "execution", json_string(pg_text(s, i, 3)));
    if (v && !pg_null(s, i, 6))
        json_object_set_new(v, "done_at", pg_iso(pg_int(s, i, 6)));
    if (v && !pg_null(s, i, 7))
        json_object_set_new(v, "done_by", json_string(pg_text(s, i, 7)));
    if (v && !pg_null(s, i, 8))
        json_object_set_new(v, "key", json_string(pg_text(s, i, 8)));
    if (v && !pg_null(s, i, 9))
        json_object_set_new(v, "last_seen", pg_iso(pg_int(s, i, 9)));
    if (v)
        json_object_set_new(v, "times_seen", json_integer(pg_int(s, i, 10)));
    if (v && !pg_null(s, i, 11))
        json_object_set_new(v, "resolution", json_string(pg_text(s, i, 11)));
    if (v && !pg_null(s, i, 12))
        json_object_set_new(v, "note", json_string(pg_text(s, i, 12)));
    return v;
}

int64_t pg_queue_push(struct sc_store *base, const char *queue, json_t *item,
                      const char *execution)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_row(st->defer, 0, (const char *const[5]){queue, execution}, item);
    return insert_numbered(st, 0, execution, queue, NULL, NULL, NULL, item);
}

json_t *pg_queue_items(struct sc_store *base, const char *queue, const char *state, int limit)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, limit < 0 ? P_QI_LIST_NEW : P_QI_LIST, "ssi", queue, state,
                            (int64_t)(limit > 0 ? limit : limit < 0 ? -limit : 1000)), queue_row);
}

json_t *pg_queue_item(struct sc_store *base, int64_t id)
{
    struct pg_store *st = (struct pg_store *)base;
    return one_row(st, pg_q(st, P_QI_GET, "i", id), queue_row, "queue item", id);
}

enum sc_store_rc pg_queue_resolve(struct sc_store *base, int64_t id, const char *by,
                                  const char *note)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_run(st, "resolving the item", P_QI_RESOLVE, "issi", sc_clock_now_ms(), by, note,
               id) != 0)
        return SC_STORE_ERR;
    return st->changes ? SC_STORE_OK : SC_STORE_NONE;
}

json_t *pg_queue_depths(struct sc_store *base, int64_t since_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_QI_DEPTHS, "i", since_ms);
    json_t *o = s ? json_object() : NULL;
    for (int i = 0; o && i < PQntuples(s); i++)
        json_object_set_new(o, pg_text(s, i, 0), json_pack("{s:I, s:I}", "open",
                            (json_int_t)pg_int(s, i, 1), "recent", (json_int_t)pg_int(s, i, 2)));
    PQclear(s);
    return o;
}

/* The open item of r's key updated, else r added under the queue items' lock (so no other
 * daemon adds the same key between): one transaction, of its own or the caller's. */
enum sc_store_rc pg_queue_push_key(struct sc_store *base, const struct sc_queue_key_row *r,
                                   int64_t *id, int64_t *times_seen)
{
    struct pg_store *st = (struct pg_store *)base;
    *id = *times_seen = 0;
    if (sc_defer_refuse(st->defer, "a keyed queue push"))
        return SC_STORE_ERR;
    if (!r->key || !*r->key)
        return pg_err(st, "a keyed queue push needs a key"), SC_STORE_ERR;
    if (pg_begin(st) != 0)
        return SC_STORE_ERR;
    int64_t now = sc_clock_now_ms(), next = -1;
    enum sc_store_rc rc = SC_STORE_ERR;
    PGresult *s = NULL;
    if (pg_lock(st, PG_LOCK_QUEUE_ITEMS) == 0 &&
        (s = pg_q(st, P_QI_TOUCH, "jisss", r->item, now, r->execution, r->queue, r->key))) {
        if (PQntuples(s) == 1) {
            *id = pg_int(s, 0, 0);
            *times_seen = pg_int(s, 0, 1);
            rc = SC_STORE_EXISTS;
        } else if ((next = pg_next_row_id(st, 0)) > 0 &&
                   pg_run(st, "adding to the queue", P_QI_PUSH_KEY, "isjsis", next, r->queue,
                          r->item, r->execution, now, r->key) == 0) {
            *id = next;
            *times_seen = 1;
            rc = SC_STORE_OK;
        }
    }
    PQclear(s);
    if (rc == SC_STORE_ERR || pg_commit(st) != 0) {
        pg_rollback(st);
        *id = *times_seen = 0;
        return SC_STORE_ERR;
    }
    return rc;
}

int64_t pg_queue_sweep(struct sc_store *base, const char *queue, const char *execution,
                       const char *by, const char *resolution)
{
    struct pg_store *st = (struct pg_store *)base;
    if (sc_defer_refuse(st->defer, "a queue sweep"))
        return -1;
    if (pg_run(st, "closing the items a run did not see", P_QI_SWEEP, "issss",
               sc_clock_now_ms(), by, resolution, queue, execution) != 0)
        return -1;
    return st->changes;
}

int64_t pg_queue_open(struct sc_store *base, const char *queue)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_QI_OPEN, "s", queue);
    if (!s)
        return -1;
    int64_t n = pg_int(s, 0, 0);
    PQclear(s);
    return n + (st->defer ? sc_defer_pushes(st->defer, queue) : 0);
}
