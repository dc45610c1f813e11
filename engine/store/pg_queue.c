/* PostgreSQL store: the daemons' shared queue of events (claimed FOR UPDATE SKIP LOCKED,
 * realtime first, lanes in order) and trigger state (schedules' last slots, polls'
 * watermarks and the keys they have seen). */
#include "store/pg.h"

#include "clock.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the queue ---- */

enum sc_store_rc pg_enqueue(struct sc_store *base, const struct sc_event_row *r, char *first,
                            size_t n)
{
    struct pg_store *st = (struct pg_store *)base;
    const struct sc_exec_row *e = &r->exec;
    if (r->claim) { /* the daemon's instant path is SQLite's: its callers check sc_store_shared */
        pg_err(st, "taking an event as it is queued is not done on PostgreSQL");
        return -1;
    }
    size_t len;
    bool failed;
    void *trig = pg_dumped_blob(st, e->trigger, e->trigger_json, e->confidential, &len, &failed);
    if (failed)
        return -1;
    /* a repeat changes no row (ON CONFLICT): the batch's transaction goes on */
    if (pg_run(st, "queueing the event", P_ENQUEUE, "sssssibiiss", e->id, e->scenario, e->org,
               e->version, e->source, (int64_t)e->confidential, trig, len, e->started_ms,
               (int64_t)r->realtime, r->lane, r->dedupe) != 0)
        return -1;
    if (st->changes == 1)
        return SC_STORE_OK;
    if (r->dedupe) { /* the dedupe key, or the id, was taken */
        PGresult *s = pg_q(st, P_DEDUPE_FIRST, "ss", e->scenario, r->dedupe);
        if (!s)
            return -1;
        bool found = PQntuples(s) == 1;
        if (found)
            snprintf(first, n, "%s", pg_text(s, 0, 0));
        PQclear(s);
        if (found)
            return SC_STORE_SAME;
    }
    return pg_err(st, "execution id %s is taken", e->id), SC_STORE_EXISTS;
}

int64_t pg_last_seq(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_LAST_SEQ, "");
    if (!s)
        return -1;
    int64_t seq = pg_int(s, 0, 0);
    PQclear(s);
    return seq;
}

/* max_seq is the SQLite backend's (events up to the last fsync): a commit PostgreSQL
 * answered is durable, and events other daemons queued are claimable here too. */
enum sc_store_rc pg_claim_next(struct sc_store *base, int64_t max_seq, json_t **info)
{
    struct pg_store *st = (struct pg_store *)base;
    (void)max_seq;
    *info = NULL;
    PGresult *s = pg_q(st, P_CLAIM_NEXT, "iii", sc_store_owner(), sc_clock_now_ms(),
                       (int64_t)sc_store_lease_ms());
    if (!s)
        return -1;
    if (PQntuples(s) == 0) {
        PQclear(s);
        return SC_STORE_NONE;
    }
    static const int col[7] = {1, 2, 3, 4, 5, 6, 7};
    char id[64];
    snprintf(id, sizeof id, "%s", pg_text(s, 0, 0));
    if (sc_store_live_add(id) != 0)
        pg_err(st, "out of memory");
    if (!(*info = pg_run_info(st, s, id, col)))
        *info = json_pack("{s:s, s:s}", "id", id, "unreadable", st->err);
    PQclear(s);
    return *info ? SC_STORE_OK : SC_STORE_ERR;
}

int pg_queue_state(struct sc_store *base, int64_t *runnable, int64_t *next_retry_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    *runnable = 0;
    *next_retry_ms = -1;
    PGresult *s = pg_q(st, P_RUNNABLE, "");
    if (!s)
        return -1;
    *runnable = pg_int(s, 0, 0);
    PQclear(s);
    if (!(s = pg_q(st, P_NEXT_RETRY, "")))
        return -1;
    *next_retry_ms = pg_null(s, 0, 0) ? -1 : pg_int(s, 0, 0);
    PQclear(s);
    return 0;
}

/* ---- trigger state ---- */

enum sc_store_rc pg_trigger_get(struct sc_store *base, const char *scenario, const char *trigger,
                                int64_t *last_ms, int64_t *watermark_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    *last_ms = *watermark_ms = -1;
    PGresult *s = pg_q(st, P_TRIG_GET, "ss", scenario, trigger);
    if (!s)
        return -1;
    bool found = PQntuples(s) == 1;
    if (found && !pg_null(s, 0, 0))
        *last_ms = pg_int(s, 0, 0);
    if (found && !pg_null(s, 0, 1))
        *watermark_ms = pg_int(s, 0, 1);
    PQclear(s);
    return found ? SC_STORE_OK : SC_STORE_NONE;
}

int pg_trigger_set(struct sc_store *base, const char *scenario, const char *trigger,
                   int64_t last_ms, int64_t watermark_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_run(st, "recording trigger state", P_TRIG_SET, "ssIIi", scenario, trigger, last_ms,
                  watermark_ms, sc_clock_now_ms());
}

enum sc_store_rc pg_poll_seen(struct sc_store *base, const char *scenario, const char *trigger,
                              const char *key)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_SEEN_GET, "sss", scenario, trigger, key);
    if (!s)
        return -1;
    bool seen = PQntuples(s) > 0;
    PQclear(s);
    return seen ? SC_STORE_EXISTS : SC_STORE_NONE;
}

int pg_poll_mark(struct sc_store *base, const char *scenario, const char *trigger,
                 const char *key, int64_t at_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_run(st, "recording a seen poll item", P_SEEN_PUT, "sssi", scenario, trigger, key,
                  at_ms);
}

int pg_poll_prune(struct sc_store *base, const char *scenario, const char *trigger,
                  int64_t before_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_run(st, "pruning seen poll items", P_SEEN_PRUNE, "ssi", scenario, trigger,
                  before_ms);
}

/* ---- the watch: other daemons' commits of new events, by LISTEN ---- */

struct pg_watch {
    pthread_t th;
    atomic_bool stop;
    struct pg_store *conn; /* its own session, listening */
    void (*wake)(void *);
    void *arg;
};

static bool listen_on(struct pg_store *c)
{
    return pg_exec_text(c, "LISTEN scenarist_queue", "listening for new events") == 0;
}

/* Waits ms, in steps that see stop within 200 ms: true when stopping. */
static bool watch_pause(struct pg_watch *w, int64_t ms)
{
    for (int64_t left = ms; left > 0 && !atomic_load(&w->stop); left -= 200) {
        struct timespec ts = {0, (left < 200 ? left : 200) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&w->stop);
}

/* A lost session (the server restarted or is down): a new one, listening again, tried at
 * growing pauses (0.2 s doubled up to 2 s: no busy loop while the server is down); the
 * loss and the return said once each. Back, the workers are woken once: what other
 * daemons committed while nobody listened was told to no one. True when listening. */
static bool watch_again(struct pg_watch *w, int64_t *pause_ms, bool *said)
{
    if (!*said)
        sc_log(SC_LOG_WARN, NULL, NULL,
               "the store's notices of new events were lost (the connection listening for "
               "them closed): the workers look once a second until it is back");
    *said = true;
    if (watch_pause(w, *pause_ms))
        return false;
    *pause_ms = *pause_ms * 2 < 2000 ? *pause_ms * 2 : 2000;
    PQreset(w->conn->db);
    if (PQstatus(w->conn->db) != CONNECTION_OK || !listen_on(w->conn))
        return false;
    sc_log(SC_LOG_INFO, NULL, NULL, "listening for the store's notices of new events again");
    *said = false;
    *pause_ms = 200;
    w->wake(w->arg);
    return true;
}

static void *watch_main(void *arg)
{
    struct pg_watch *w = arg;
    bool listening = listen_on(w->conn), said = false;
    int64_t pause_ms = 200;
    while (!atomic_load(&w->stop)) {
        PGconn *db = w->conn->db;
        if (!listening || PQstatus(db) != CONNECTION_OK) { /* the server restarted: again */
            listening = watch_again(w, &pause_ms, &said);
            continue;
        }
        bool got = false;
        PGnotify *n;
        while ((n = PQnotifies(db))) { /* a statement on the session may have read some */
            got = true;
            PQfreemem(n);
        }
        if (got)
            w->wake(w->arg);
        struct pollfd p = {.fd = PQsocket(db), .events = POLLIN};
        int r = poll(&p, 1, 200); /* a bounded wait: stop is seen within 200 ms */
        if (r < 0 && errno != EINTR)
            listening = false;
        if (r > 0 && !PQconsumeInput(db))
            listening = false;
    }
    return NULL;
}

int pg_watch(struct sc_store *base, void (*wake)(void *), void *arg)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->watch)
        return 0;
    char err[600];
    struct pg_watch *w = sc_calloc(1, sizeof *w);
    if (!w)
        return pg_err(st, "out of memory"), -1;
    w->wake = wake;
    w->arg = arg;
    atomic_init(&w->stop, false);
    if (!(w->conn = (struct pg_store *)sc_store_open(st->addr, st->key_ref, err, sizeof err))) {
        pg_err(st, "%s", err);
        free(w);
        return -1;
    }
    if (pthread_create(&w->th, NULL, watch_main, w) != 0) {
        pg_err(st, "cannot start the queue's watch: %s", strerror(errno));
        sc_store_close(&w->conn->base);
        free(w);
        return -1;
    }
    st->watch = w;
    return 0;
}

void pg_watch_stop(struct pg_watch *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->th, NULL);
    sc_store_close(&w->conn->base);
    free(w);
}
