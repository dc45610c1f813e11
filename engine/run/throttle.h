/* Throttling per connection: a connection's declared rate (rate: { requests: N, per: D })
 * becomes a spacing of ceil(D / N) ms between two requests to it, and its concurrency cap
 * a count of requests in flight, shared by every worker of the process. Spacing (rather
 * than N at once, then a pause) is what makes "no window of length D holds more than N"
 * hold for any window, wherever the API starts counting.
 *
 * The state of a connection is three things a shared store can hold as one row and a
 * keyed table (a PostgreSQL backend: UPDATE ... RETURNING under the row's lock): the time
 * of the last request sent, the tail of the slots promised, and the slots promised to
 * waiting requests, keyed by the request's idempotency key (stable across the park and
 * wake of its execution). A store whose backend keeps that state for the processes
 * sharing it (sc_store_slot_take) decides; one daemon owns a SQLite store, which keeps
 * none, so this unit keeps it in the process then.
 *
 * A request asks for a slot (sc_throttle_take): it goes now, or gets a slot time and
 * waits for it (the caller parks the execution till then, or waits in place), or finds
 * the concurrency cap reached. A realtime request takes the next slot ahead of every
 * routine one promised (those it displaces move to the tail of the line).
 * Thread-safe. Ownership: strings are copied; nothing is handed out. */
#ifndef SC_THROTTLE_H
#define SC_THROTTLE_H

#include "model/org.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

enum sc_throttle_verdict {
    SC_THROTTLE_GO,   /* send now: counted in flight until sc_throttle_done */
    SC_THROTTLE_WAIT, /* a slot is promised to key at now + *wait_ms: ask again then */
    SC_THROTTLE_BUSY, /* the concurrency cap is reached: sc_throttle_wait_free, ask again */
};

/* The spacing of conn's requests, ms (ceil(per / requests)); 0 when it declares no rate. */
int64_t sc_throttle_spacing_ms(const struct sc_org_conn *conn);
/* True when conn declares a rate or a concurrency cap. */
bool sc_throttle_applies(const struct sc_org_conn *conn);

/* now_ms for sc_throttle_take: the clock read when the slot is decided, under the
 * connection's lock. A time read before asking is old by the wait for that lock (another
 * worker's or daemon's decision) and by any preemption, and a request that goes on an
 * old time lets the next one go closer than the spacing. */
#define SC_THROTTLE_CLOCK INT64_C(-1)

/* Asks for a slot for one request through connection conn of org at now_ms (the engine's
 * wall clock, or SC_THROTTLE_CLOCK: read at the decision), from the store st when its
 * backend keeps the state (else, or st NULL, or when it fails, from this process's). key: the request's idempotency key (execution:step:bundle), which keeps
 * the slot promised across a park; NULL: none is kept. realtime: the execution is
 * realtime (ahead of every routine request not yet sent). Returns the verdict; *wait_ms
 * is set for SC_THROTTLE_WAIT, from the time the slot was decided at. */
enum sc_throttle_verdict sc_throttle_take(struct sc_store *st, const char *org,
                                          const struct sc_org_conn *conn, const char *key,
                                          bool realtime, int64_t now_ms, int64_t *wait_ms);
/* The request taken with SC_THROTTLE_GO is over (answered or failed); st as it was taken. */
void sc_throttle_done(struct sc_store *st, const char *org, const struct sc_org_conn *conn);
/* Waits up to real_ms of real time (requests finish in real time, whatever the engine's
 * clock) for a request of conn to end; returns at once when one is free. */
void sc_throttle_wait_free(const char *org, const struct sc_org_conn *conn, int64_t real_ms);
/* Forgets every connection's state (tests). Not while requests are in flight. */
void sc_throttle_reset(void);

#endif
