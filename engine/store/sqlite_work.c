/* SQLite store: what waits for a retry or a person: incomplete executions, holds, and
 * the work queues for people. */
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

/* ---- incomplete executions ---- */

json_t *sq_incomplete_row(sqlite3_stmt *s)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:o}", "execution",
                          sq_text(s, 0), "scenario", sq_text(s, 1), "step", sq_text(s, 2),
                          "bundle", sq_text(s, 3), "state", sq_text(s, 8), "attempts",
                          sqlite3_column_int(s, 5), "max_attempts", sqlite3_column_int(s, 6),
                          "created_at", sq_iso(sqlite3_column_int64(s, 9)));
    if (!e)
        return NULL;
    if (sqlite3_column_type(s, 7) != SQLITE_NULL)
        json_object_set_new(e, "next_attempt_at", sq_iso(sqlite3_column_int64(s, 7)));
    json_object_set_new(e, "updated_at", sq_iso(sqlite3_column_int64(s, 10)));
    if (sqlite3_column_type(s, 11) != SQLITE_NULL)
        json_object_set_new(e, "decided_by", json_string(sq_text(s, 11)));
    json_t *err = sq_json(s, 4);
    if (err)
        json_object_set_new(e, "error", err);
    return e;
}

int sq_incomplete_put(struct sc_store *base, const struct sc_incomplete_row *r)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_incomplete(st->defer, r);
    sqlite3_stmt *s = sq_q(st, Q_INC_PUT, "ssssjiiisi", r->execution, r->scenario, r->step,
                           r->bundle, r->error, (int64_t)r->attempts, (int64_t)r->max_attempts,
                           r->next_ms, r->state, sc_clock_now_ms());
    if (s && !r->next_ms)
        sqlite3_bind_null(s, 8);
    return sq_exec(st, s, "recording the incomplete execution");
}

json_t *sq_incomplete_list(struct sc_store *base, const char *state)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_rows(st, state ? sq_q(st, Q_INC_LIST_STATE, "s", state) : sq_q(st, Q_INC_LIST_OPEN, ""),
                   sq_incomplete_row);
}

json_t *sq_incomplete_get(struct sc_store *base, const char *execution)
{
    struct sq_store *st = (struct sq_store *)base;
    json_t *a = sq_rows(st, sq_q(st, Q_INC_GET, "s", execution), sq_incomplete_row);
    if (a) /* none: NULL with no error */
        st->err[0] = '\0';
    json_t *e = json_incref(json_array_get(a, 0));
    json_decref(a);
    return e;
}

json_t *sq_incomplete_due(struct sc_store *base, int64_t now_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_INC_DUE, "i", now_ms);
    json_t *a = s ? json_array() : NULL;
    while (a && sq_step(st, s) == SQLITE_ROW)
        json_array_append_new(a, json_string(sq_text(s, 0)));
    if (s)
        sq_done(s);
    return a;
}

enum sc_store_rc sq_incomplete_close(struct sc_store *base, const char *execution, const char *state,
                        const char *by)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sc_defer_refuse(st->defer, "closing an incomplete entry"))
        return SC_STORE_ERR;
    if (sq_begin(st) != 0)
        return SC_STORE_ERR;
    int rc = sq_exec(st, sq_q(st, Q_INC_CLOSE, "ssis", state, by, sc_clock_now_ms(), execution),
                     "closing the incomplete execution");
    bool none = rc == 0 && sqlite3_changes(st->db) == 0;
    if (rc == 0 && !none)
        rc = sq_erase_resume_data(st, execution);
    if (rc != 0 || none || sq_commit(st) != 0) {
        sq_rollback(st);
        return rc == 0 && none ? SC_STORE_NONE : SC_STORE_ERR;
    }
    return SC_STORE_OK;
}

/* ---- holds ---- */

static json_t *hold_row(sqlite3_stmt *s)
{
    json_t *v = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "id",
                          (json_int_t)sqlite3_column_int64(s, 0), "execution", sq_text(s, 1),
                          "scenario", sq_text(s, 2), "step", sq_text(s, 3), "bundle",
                          sq_text(s, 4), "state", sq_text(s, 7), "created_at",
                          sq_iso(sqlite3_column_int64(s, 8)));
    if (v && sqlite3_column_type(s, 5) != SQLITE_NULL)
        json_object_set_new(v, "reason", json_string(sq_text(s, 5)));
    json_t *diff = sq_json(s, 6);
    if (v && diff)
        json_object_set_new(v, "diff", diff);
    if (v && sqlite3_column_type(s, 9) != SQLITE_NULL)
        json_object_set_new(v, "decided_at", sq_iso(sqlite3_column_int64(s, 9)));
    if (v && sqlite3_column_type(s, 10) != SQLITE_NULL)
        json_object_set_new(v, "decided_by", json_string(sq_text(s, 10)));
    return v;
}

json_t *sq_hold_get(struct sc_store *base, const char *execution, const char *step,
                    const char *bundle)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_HOLD_GET, "sss", execution, step, bundle);
    json_t *v = NULL;
    if (s && sq_step(st, s) == SQLITE_ROW)
        v = hold_row(s);
    if (s)
        sq_done(s);
    st->err[0] = '\0';
    return v;
}

int64_t sq_hold_put(struct sc_store *base, const char *execution, const char *scenario,
                    const char *step, const char *bundle, const char *reason, json_t *diff)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_row(st->defer, 1,
                            (const char *const[5]){execution, scenario, step, bundle, reason},
                            diff);
    if (sq_exec(st, sq_q(st, Q_HOLD_PUT, "sssssji", execution, scenario, step, bundle, reason, diff,
                         sc_clock_now_ms()), "recording the hold") != 0)
        return -1;
    return sqlite3_last_insert_rowid(st->db);
}

json_t *sq_holds(struct sc_store *base, const char *state)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_rows(st, sq_q(st, Q_HOLD_LIST, "s", state), hold_row);
}

json_t *sq_hold(struct sc_store *base, int64_t id)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_one_row(st, sq_q(st, Q_HOLD_BY_ID, "i", id), hold_row, "hold", id);
}

enum sc_store_rc sq_hold_decide(struct sc_store *base, int64_t id, const char *state, const char *by)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sq_exec(st, sq_q(st, Q_HOLD_DECIDE, "sisi", state, sc_clock_now_ms(), by, id),
                "deciding the hold") != 0)
        return SC_STORE_ERR;
    return sqlite3_changes(st->db) ? SC_STORE_OK : SC_STORE_NONE;
}

/* ---- queues for people ---- */

static json_t *queue_row(sqlite3_stmt *s)
{
    json_t *v = json_pack("{s:I, s:s, s:o*, s:s, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0),
                          "queue", sq_text(s, 1), "item", sq_json(s, 2), "state", sq_text(s, 4),
                          "created_at", sq_iso(sqlite3_column_int64(s, 5)));
    if (v && sqlite3_column_type(s, 3) != SQLITE_NULL)
        json_object_set_new(v, "execution", json_string(sq_text(s, 3)));
    if (v && sqlite3_column_type(s, 6) != SQLITE_NULL)
        json_object_set_new(v, "done_at", sq_iso(sqlite3_column_int64(s, 6)));
    if (v && sqlite3_column_type(s, 7) != SQLITE_NULL)
        json_object_set_new(v, "done_by", json_string(sq_text(s, 7)));
    if (v && sqlite3_column_type(s, 8) != SQLITE_NULL)
        json_object_set_new(v, "key", json_string(sq_text(s, 8)));
    if (v && sqlite3_column_type(s, 9) != SQLITE_NULL)
        json_object_set_new(v, "last_seen", sq_iso(sqlite3_column_int64(s, 9)));
    if (v)
        json_object_set_new(v, "times_seen", json_integer(sqlite3_column_int64(s, 10)));
    if (v && sqlite3_column_type(s, 11) != SQLITE_NULL)
        json_object_set_new(v, "resolution", json_string(sq_text(s, 11)));
    if (v && sqlite3_column_type(s, 12) != SQLITE_NULL)
        json_object_set_new(v, "note", json_string(sq_text(s, 12)));
    return v;
}

int64_t sq_queue_push(struct sc_store *base, const char *queue, json_t *item,
                      const char *execution)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_row(st->defer, 0, (const char *const[5]){queue, execution}, item);
    if (sq_exec(st, sq_q(st, Q_QI_PUSH, "sjsi", queue, item, execution, sc_clock_now_ms()),
                "adding to the queue") != 0)
        return -1;
    return sqlite3_last_insert_rowid(st->db);
}

json_t *sq_queue_items(struct sc_store *base, const char *queue, const char *state, int limit)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_rows(st, sq_q(st, limit < 0 ? Q_QI_LIST_NEW : Q_QI_LIST, "ssi", queue, state,
                            (int64_t)(limit > 0 ? limit : limit < 0 ? -limit : 1000)), queue_row);
}

json_t *sq_queue_item(struct sc_store *base, int64_t id)
{
    struct sq_store *st = (struct sq_store *)base;
    return sq_one_row(st, sq_q(st, Q_QI_GET, "i", id), queue_row, "queue item", id);
}

enum sc_store_rc sq_queue_resolve(struct sc_store *base, int64_t id, const char *by,
                                  const char *note)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sq_exec(st, sq_q(st, Q_QI_RESOLVE, "issi", sc_clock_now_ms(), by, note, id),
                "resolving the item") != 0)
        return SC_STORE_ERR;
    return sqlite3_changes(st->db) ? SC_STORE_OK : SC_STORE_NONE;
}

/* The open item of r's key seen again: SC_STORE_EXISTS, SC_STORE_NONE none, -1. */
static int queue_touch(struct sq_store *st, const struct sc_queue_key_row *r, int64_t *id,
                       int64_t *times_seen)
{
    sqlite3_stmt *s = sq_q(st, Q_QI_TOUCH, "jisss", r->item, sc_clock_now_ms(), r->execution,
                           r->queue, r->key);
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        *times_seen = sqlite3_column_int64(s, 1);
        rc = sq_step(st, s); /* RETURNING: the update is done when the statement is */
    }
    bool found = *id > 0;
    sq_done(s);
    if (rc != SQLITE_DONE)
        return sq_db_err(st, "updating the queue item");
    return found ? SC_STORE_EXISTS : SC_STORE_NONE;
}

enum sc_store_rc sq_queue_push_key(struct sc_store *base, const struct sc_queue_key_row *r,
                                   int64_t *id, int64_t *times_seen)
{
    struct sq_store *st = (struct sq_store *)base;
    *id = *times_seen = 0;
    if (sc_defer_refuse(st->defer, "a keyed queue push"))
        return SC_STORE_ERR;
    if (!r->key || !*r->key)
        return sq_err(st, "a keyed queue push needs a key"), SC_STORE_ERR;
    for (int round = 0; round < 2; round++) { /* another connection may add it between */
        int rc = queue_touch(st, r, id, times_seen);
        if (rc != SC_STORE_NONE)
            return rc;
        sqlite3_stmt *s = sq_q(st, Q_QI_PUSH_KEY, "sjsis", r->queue, r->item, r->execution,
                               sc_clock_now_ms(), r->key);
        if (!s)
            return SC_STORE_ERR;
        rc = sq_step(st, s);
        sq_done(s);
        if (rc == SQLITE_DONE) {
            *id = sqlite3_last_insert_rowid(st->db);
            *times_seen = 1;
            return SC_STORE_OK;
        }
        if (sqlite3_extended_errcode(st->db) != SQLITE_CONSTRAINT_UNIQUE)
            return sq_db_err(st, "adding to the queue");
    }
    return sq_err(st, "queue %s: the item %s was added and closed meanwhile", r->queue, r->key),
           SC_STORE_ERR;
}

int64_t sq_queue_sweep(struct sc_store *base, const char *queue, const char *execution,
                       const char *by, const char *resolution)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sc_defer_refuse(st->defer, "a queue sweep"))
        return -1;
    if (sq_exec(st, sq_q(st, Q_QI_SWEEP, "issss", sc_clock_now_ms(), by, resolution, queue,
                         execution), "closing the items a run did not see") != 0)
        return -1;
    return sqlite3_changes(st->db);
}

int64_t sq_queue_open(struct sc_store *base, const char *queue)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_QI_OPEN, "s", queue);
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sq_done(s);
    if (n < 0)
        return sq_db_err(st, "counting the queue's open items");
    return n + (st->defer ? sc_defer_pushes(st->defer, queue) : 0);
}

json_t *sq_queue_depths(struct sc_store *base, int64_t since_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_QI_DEPTHS, "i", since_ms);
    json_t *o = s ? json_object() : NULL;
    while (o && sq_step(st, s) == SQLITE_ROW)
        json_object_set_new(o, sq_text(s, 0), json_pack("{s:I, s:I}", "open",
                            (json_int_t)sqlite3_column_int64(s, 1), "recent",
                            (json_int_t)sqlite3_column_int64(s, 2)));
    if (s)
        sq_done(s);
    return o;
}
