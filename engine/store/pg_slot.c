/* PostgreSQL store: throttled connections' state shared by the daemons of one store
 * (store.h: sc_store_slot_take, sc_store_slot_done), so that together they keep a
 * connection's rate and concurrency cap. The decision is run/throttle.c's, on a row per
 * connection (the last request sent, the tail of the slots promised) read and written
 * under its row lock in one short transaction, with the promised slots by idempotency key
 * and the requests in flight per daemon beside it. A killed daemon's requests in flight
 * stop counting once its executions' leases lapse. */
#include "store/pg.h"

#include "clock.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NEVER INT64_MIN

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static atomic_uint takes;

/* A realtime request's slot s: routine promises closer than T to it move to the tail. */
static int displace(struct pg_store *st, const struct sc_store_slot *q, int64_t s, int64_t T,
                    int64_t *tail)
{
    PGresult *r = pg_q(st, P_SLOT_PROMISES, "sss", q->org, q->conn, NULL);
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        const char *k = pg_text(r, i, 0);
        int64_t p = pg_int(r, i, 1);
        if ((q->key && !strcmp(k, q->key)) || p <= s - T || p >= s + T)
            continue;
        *tail = max64(*tail, s) + T;
        rc = pg_run(st, "moving a promised slot", P_SLOT_PROMISE, "sssi", q->org, q->conn, k,
                    *tail);
    }
    PQclear(r);
    return rc;
}

/* The decision inside the connection row's transaction: 0 (verdict, wait set), or -1. */
static int decide(struct pg_store *st, const struct sc_store_slot *q, int *verdict,
                  int64_t *wait_ms)
{
    int64_t now = q->now_ms, T = q->spacing_ms > 0 ? q->spacing_ms : 0;
    if (pg_run(st, "a throttled connection", P_SLOT_ROW, "ss", q->org, q->conn) != 0)
        return -1;
    PGresult *r = pg_q(st, P_SLOT_LOCK, "ss", q->org, q->conn);
    if (!r || PQntuples(r) != 1) {
        if (r)
            pg_err(st, "store %s: the throttled connection %s has no row", st->addr, q->conn);
        PQclear(r);
        return -1;
    }
    int64_t last = pg_null(r, 0, 0) ? NEVER : pg_int(r, 0, 0);
    int64_t tail = pg_null(r, 0, 1) ? NEVER : pg_int(r, 0, 1);
    PQclear(r);
    if (now < 0) /* the row is ours now: a time read before waiting for it would be old */
        now = sc_clock_now_ms();
    bool have = false;
    int64_t slot = 0;
    if (q->key) {
        if (!(r = pg_q(st, P_SLOT_PROMISES, "sss", q->org, q->conn, q->key)))
            return -1;
        if ((have = PQntuples(r) == 1))
            slot = pg_int(r, 0, 1);
        PQclear(r);
    }
    if (!have) {
        slot = last == NEVER ? now : max64(now, last + T);
        if (q->realtime) {
            if (displace(st, q, slot, T, &tail) != 0)
                return -1;
        } else if (tail != NEVER) {
            slot = max64(slot, tail + T);
        }
    }
    /* the slot, or the spacing after a request that went late: ask again then */
    if (T && last != NEVER && slot < last + T)
        slot = last + T;
    int64_t promise = -1; /* a slot to promise the key */
    if (slot > now) {
        promise = q->key && !have ? slot : -1;
        tail = max64(tail, slot);
        *verdict = 1;
        *wait_ms = slot - now;
    } else {
        int64_t busy = 0;
        if (q->cap > 0) {
            if (!(r = pg_q(st, P_SLOT_FLIGHT, "ssii", q->org, q->conn, sc_store_owner(), now)))
                return -1;
            busy = pg_int(r, 0, 0) >= q->cap;
            PQclear(r);
        }
        if (busy) { /* it keeps its place while it waits */
            promise = q->key && !have ? now : -1;
            *verdict = 2;
        } else {
            *verdict = 0;
            if (T)
                last = now;
            if (q->cap > 0 && pg_run(st, "a request in flight", P_SLOT_GO, "ssi", q->org,
                                     q->conn, sc_store_owner()) != 0)
                return -1;
        }
    }
    /* a promise whose request never came back for it is dropped once long past */
    bool sweep = atomic_fetch_add(&takes, 1) % 256 == 0;
    int64_t horizon = max64(600000, 1000 * T);
    if ((sweep || (have && *verdict == 0)) &&
        pg_run(st, "forgetting promised slots", P_SLOT_FORGET, "sssi", q->org, q->conn,
               have && *verdict == 0 ? q->key : NULL, sweep ? now - horizon : NEVER) != 0)
        return -1;
    if (promise >= 0 && pg_run(st, "promising a slot", P_SLOT_PROMISE, "sssi", q->org, q->conn,
                               q->key, promise) != 0)
        return -1;
    return pg_run(st, "a throttled connection", P_SLOT_SET, "ssII", q->org, q->conn,
                  last == NEVER ? (int64_t)-1 : last, tail == NEVER ? (int64_t)-1 : tail);
}

enum sc_store_rc pg_slot_take(struct sc_store *base, const struct sc_store_slot *q,
                              int *verdict, int64_t *wait_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    *verdict = 0;
    *wait_ms = 0;
    if (pg_begin(st) != 0)
        return SC_STORE_ERR;
    if (decide(st, q, verdict, wait_ms) != 0 || pg_commit(st) != 0) {
        pg_rollback(st);
        *verdict = 0;
        *wait_ms = 0;
        return SC_STORE_ERR;
    }
    return SC_STORE_OK;
}

enum sc_store_rc pg_slot_done(struct sc_store *base, const char *org, const char *conn)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_run(st, "a request no longer in flight", P_SLOT_DONE, "ssi", org, conn,
               sc_store_owner()) != 0)
        return SC_STORE_ERR;
    return SC_STORE_OK;
}
