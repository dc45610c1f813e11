/* The daemon's shared state, read and written by its units (serve.c, catalog.c, timers.c,
 * workers.c, httpd.c), and the few calls they share. Ownership: the daemon owns
 * everything here. The catalog is replaced whole on reload, under cat_lock; a reader
 * holds the read lock for as long as it uses a hook. json_t as module.h. */
#ifndef SC_DAEMON_H
#define SC_DAEMON_H

#include "daemon/metrics.h"
#include "daemon/serve_opts.h"
#include "daemon/turns.h"
#include "lang/cron.h"
#include "run/exec.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* A webhook request waiting for its execution's respond step; the intake thread answers
 * it with the response a worker left, or with 202 at its deadline. */
struct sc_daemon_waiter {
    char id[64];
    json_t *response;            /* set by the worker (taken by the intake thread) */
    bool done;
    int64_t deadline_ms;         /* monotonic; 0 until its event is committed */
    struct sc_daemon_waiter *next;
};

/* A worker as readiness and the watchdog see it. */
struct sc_daemon_slot {
    int no;
    struct sc_watch watch;       /* the step it runs now (the main thread's watchdog) */
    atomic_bool retired;         /* stuck and replaced: it stops once its step comes back */
};

struct sc_catalog; /* catalog.h */
struct sc_target_watch; /* targets.c */
struct sc_worker;  /* workers.c */
struct pending;    /* httpd.c: a webhook event from its arrival to its answer */
struct sc_conns;   /* httpd.c: header deadlines of the open connections */

struct sc_daemon {
    struct sc_serve_opts o;
    const struct sc_org *org;
    char *store_path;
    const char *store_key;
    const char *org_url;         /* base_url for execution URLs */
    char listen_url[200];        /* http://HOST:PORT of the listener once it is up; the links'
                                    base when the org has no base_url */

    pthread_rwlock_t cat_lock;
    struct sc_catalog *cat;
    atomic_uint gen;             /* bumped when a new catalog is installed */
    bool versions;               /* serving deployed versions: a deploy reloads */
    int64_t stamp;               /* the versions' stamp the catalog was made from */
    struct {                     /* the org's own schedules (timers.c) */
        const char *backup_dir;  /* the org's scheduled backup, or NULL */
        struct sc_cron backup_cron;
        int64_t backup_next;
        bool audit_cp;           /* the org's scheduled audit checkpoint (audit.checkpoint) */
        struct sc_cron audit_cron; /* when it has cron; else every audit_every_ms */
        int64_t audit_every_ms, audit_next;
        struct sc_target_watch *targets; /* one per org target (targets.c) */
        int64_t prune_next;      /* the org's retention pass, or -1 without retention: */
    } sched;

    struct {                     /* the intake thread (httpd.c) */
        pthread_mutex_t mu;      /* its Lua state (dedupe keys) */
        struct sc_lua *lua;
        struct sc_store *st;     /* its own connection */
        pthread_mutex_t batch_mu; /* events waiting for its next commit */
        pthread_cond_t batch_cv;
        struct pending *head, **tail;
        bool stop, answers;      /* under batch_mu: stop once all is answered; a waiter is done */
        pthread_t th;
        bool started;
    } intake;
    struct {                     /* the checkpoint thread and its own store connection */
        pthread_mutex_t mu;
        pthread_cond_t cv;
        bool stop, started;
        pthread_t th;
        struct sc_store *st;
    } ckpt;
    struct sc_turns writes;      /* the intake and the workers' batches, in arrival order */
    pthread_mutex_t ops_mu;      /* the operations endpoints' store connection */
    struct sc_store *ops;
    struct sc_worker *ws;        /* workers.c's workers: nworkers slots started */
    struct sc_daemon_slot *slots; /* theirs, as many */
    atomic_int nworkers;
    pthread_mutex_t ready_mu;    /* store_err, reach_at, reach_err */
    atomic_bool store_down;      /* the last write a worker tried failed: store_err says why */
    char store_err[300];
    bool shared;                 /* the store is a database server's (sc_store_shared) */
    atomic_bool unreached;       /* the store could not be reached (reach_err says why) by */
    int64_t reach_at;            /* the last intake commit or /readyz ping, at (monotonic ms) */
    char reach_err[600];

    pthread_mutex_t mu;          /* work signalling and respond waiters */
    pthread_cond_t work, finished;
    unsigned long kicks;
    unsigned long queue_kicks;   /* the kicks that may mean queued events (not instant ones) */
    int idle, workers_done;
    struct sc_daemon_waiter *waiters;
    struct pending *instant, **instant_tail; /* events a worker runs before they are stored
                                    (httpd.c's instant path), oldest first */
    int instant_held;            /* taken by workers, not answered yet */
    int instant_takers;          /* workers taking batch after batch of them (httpd.h): one,
                                    more while the oldest waits 10 ms or more */
    int instant_last;            /* the worker that took them last (-1: none): when idle it
                                    waits on instant_cv, woken first for the next, so one
                                    connection's page cache stays warm */
    bool instant_waiting;        /* it waits there now */
    pthread_cond_t instant_cv;
    bool instant_closed;         /* the intake took the last: none is handed on any more */
    atomic_bool stopping, draining;
    atomic_llong synced_seq;     /* workers take queued events up to here: they are on disk */
    atomic_int busy;

    struct sc_metrics metrics;

    struct MHD_Daemon *mhd;
    int port;
    struct sc_conns *conns;
    struct sc_admin *admin;      /* admin.c: the management API's listener, or NULL */
};

/* A log line at level info, or error (log.h: timestamp, level, "scenarist: " and the
 * printf-formatted text, or one JSON object with --log-format json). */
void sc_daemon_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sc_daemon_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Scenario diagnostics: printed with their carets (text), or one log line each (json). */
struct sc_diags;
void sc_daemon_diags(struct sc_diags *diag);
/* Stops a thread that waits on cv under mu: sets *stop, signals, joins. */
void sc_daemon_join(pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop, pthread_t th);
/* A store connection that writes: in turns with the daemon's others, its audit rows kept,
 * leaving checkpoints to their thread. NULL with err set. Closed by sc_store_close. */
struct sc_store *sc_daemon_writer(struct sc_daemon *d, char *err, size_t errlen);
/* Fills rt with its own Lua state, curl handle and writing store connection (rt->watch,
 * when set, is a worker's). 0, or -1 with err; sc_daemon_runtime_close frees what was made. */
int sc_daemon_runtime_open(struct sc_daemon *d, struct sc_runtime *rt, char *err, size_t errlen);
void sc_daemon_runtime_close(struct sc_runtime *rt);
/* /readyz: false with why when a worker is past its step's deadline, the store cannot
 * be written, or it cannot be reached (the intake's last commit failed, or a ping made at
 * most once a second by /readyz itself, never by the webhook path). */
bool sc_daemon_ready(struct sc_daemon *d, char *why, size_t n);
/* A write of the daemon's failed (err) or went through (NULL): the store's readiness. */
void sc_daemon_store_ok(struct sc_daemon *d, const char *err);
/* The intake's commit reached the store (NULL) or not (err): what /readyz says of it until
 * its next look (at most one a second: sc_store_ping on the operations connection). */
void sc_daemon_reached(struct sc_daemon *d, const char *err);
/* Tells idle workers there is work. */
void sc_daemon_kick(struct sc_daemon *d);
/* After a commit of queued events on st: puts them on disk and lets the workers take
 * them (synced_seq), then kicks. 0, or -1 when they could not be synced (err in st). */
int sc_daemon_queued(struct sc_daemon *d, struct sc_store *st);
/* A worker finished execution id: its respond waiter, if any, gets response (borrowed)
 * and the intake thread is told. */
void sc_daemon_answer(struct sc_daemon *d, const char *id, json_t *response);

#endif
