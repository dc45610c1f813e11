/* The daemon's shared state, between serve.c (lifecycle, catalog, workers, schedules,
 * polls) and httpd.c (webhooks and operations endpoints). Ownership: the daemon owns
 * everything here. The catalog is replaced whole on reload, under cat_lock; a reader
 * holds the read lock for as long as it uses a route. */
#ifndef SC_DAEMON_H
#define SC_DAEMON_H

#include "lang/cron.h"
#include "run/exec.h"
#include "daemon/serve.h"
#include "store/store.h"
#include "lang/tmpl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* A webhook trigger, ready to take requests. */
struct route {
    char *path, *scenario, *source;
    char version[16];            /* "draft" for a file, else the stored version's number */
    bool realtime, sequential, confidential, respond;
    char *scheme, *secret;       /* signature check; NULL: none */
    json_t *dedupe_src;          /* the dedupe_key template, or NULL */
    struct sc_tmpl *dedupe;      /* compiled in the intake's Lua */
};

/* A schedule or poll trigger. */
struct timer {
    struct sc_scenario *sc;      /* the catalog's copy (the main thread runs polls with it) */
    const char *scenario, *source;
    char version[16];
    size_t trigger;              /* index in the scenario's triggers */
    char key[32];                /* "schedule:0", "poll:1": its state in the store */
    bool poll, has_cron, catch_up, sequential, confidential;
    struct sc_cron cron;
    char tz[80];
    int64_t every_ms, window_ms, skew_ms;
    int64_t next_ms;             /* next fire; -1 when none */
};

struct catalog {
    char **files;
    size_t nfiles;
    struct sc_scenario **scs;    /* compiled in the main thread's Lua */
    struct route *routes;
    size_t nroutes;
    struct timer *timers;
    size_t ntimers;
};

enum rejection {
    REJ_NOT_FOUND, REJ_METHOD, REJ_MEDIA_TYPE, REJ_TOO_LARGE, REJ_MALFORMED,
    REJ_MISSING_SIGNATURE, REJ_BAD_SIGNATURE, REJ_STALE, REJ_SECRET, REJ_STOPPING,
    REJ_BAD_REQUEST, REJ_COUNT
};
extern const char *const sc_rejection_names[REJ_COUNT];

#define LAT_BUCKETS 12
extern const double sc_lat_bounds[LAT_BUCKETS]; /* seconds */

/* A webhook request waiting for its execution's respond step; the intake thread answers
 * it with the response a worker left, or with 202 at its deadline. */
struct waiter {
    char id[64];
    json_t *response;            /* set by the worker (taken by the intake thread) */
    bool done;
    int64_t deadline_ms;         /* monotonic; 0 until its event is committed */
    struct waiter *next;
};

struct pending; /* httpd.c: a webhook event from its arrival to its answer */
struct worker;  /* serve.c: a worker thread */

/* A first-come first-served lock handed straight to the next in line: SQLite's write
 * lock is not fair (the intake's back-to-back commits starved the workers), and waking
 * every waiter at each turn cost more context switches than the work. */
struct turn;
struct turns {
    pthread_mutex_t mu;
    bool busy;
    struct turn *head, **tail;
};
void turns_init(struct turns *t);
void turns_destroy(struct turns *t);
void turns_take(struct turns *t);
void turns_give(struct turns *t);
struct daemon {
    struct sc_serve_opts o;
    const struct sc_org *org;
    char *store_path;
    const char *store_key;
    const char *org_url;         /* base_url for execution URLs */

    pthread_rwlock_t cat_lock;
    struct catalog *cat;
    atomic_uint gen;             /* bumped when a new catalog is installed */
    bool versions;               /* serving deployed versions: a deploy reloads */
    int64_t stamp;               /* the versions' stamp the catalog was made from */
    const char *backup_dir;      /* the org's scheduled backup, or NULL */
    struct sc_cron backup_cron;
    int64_t backup_next;
    bool audit_cp;               /* the org's scheduled audit checkpoint (audit.checkpoint) */
    struct sc_cron audit_cron;   /* when it has cron; else every audit_every_ms */
    int64_t audit_every_ms, audit_next;

    pthread_mutex_t intake_mu;   /* the intake's Lua state (dedupe keys) */
    struct sc_lua *intake_lua;
    struct sc_store *intake;     /* the intake thread's own */
    pthread_mutex_t batch_mu;    /* events waiting for the intake thread's next commit */
    pthread_cond_t batch_cv;
    struct pending *batch_head, **batch_tail;
    bool intake_stop, answers;   /* under batch_mu: stop once all is answered; a waiter is done */
    pthread_t intake_th;
    bool intake_started;
    pthread_mutex_t ckpt_mu;     /* the checkpoint thread and its own store connection */
    pthread_cond_t ckpt_cv;
    bool ckpt_stop, ckpt_started;
    pthread_t ckpt_th;
    struct sc_store *ckpt;
    struct turns writes;         /* the intake and the workers' batches, in arrival order */
    pthread_mutex_t ops_mu;      /* the operations endpoints' store connection */
    struct sc_store *ops;
    struct worker *ws;           /* serve.c's workers: nworkers slots started */
    atomic_int nworkers;
    pthread_mutex_t ready_mu;    /* store_err */
    atomic_bool store_down;      /* the last write a worker tried failed: store_err says why */
    char store_err[300];

    pthread_mutex_t mu;          /* work signalling and respond waiters */
    pthread_cond_t work, finished;
    unsigned long kicks;
    int idle, workers_done;
    struct waiter *waiters;
    atomic_bool stopping, draining;
    atomic_llong synced_seq;     /* workers take queued events up to here: they are on disk */
    atomic_int busy;

    atomic_ulong rejected[REJ_COUNT], accepted, duplicates;
    atomic_ulong lat[LAT_BUCKETS + 1], lat_count;
    atomic_ullong lat_sum_ms;

    struct MHD_Daemon *mhd;
    int port;
    struct sc_conns *conns;      /* httpd.c: header deadlines of the open connections */
};

/* Stops a thread that waits on cv under mu: sets *stop, signals, joins. */
void daemon_join(pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop, pthread_t th);
/* st's writes take turns with the daemon's other connections (sc_store_turns). */
void daemon_turns(struct daemon *d, struct sc_store *st);
/* /readyz: false with why when a worker is past its step's deadline or the store cannot
 * be written. */
bool daemon_ready(struct daemon *d, char *why, size_t n);
/* A write of the daemon's failed (err) or went through (NULL): the store's readiness. */
void daemon_store_ok(struct daemon *d, const char *err);
/* Tells idle workers there is work. */
void daemon_kick(struct daemon *d);
/* After a commit of queued events on st: puts them on disk and lets the workers take
 * them (synced_seq), then kicks. 0, or -1 when they could not be synced (err in st). */
int daemon_queued(struct daemon *d, struct sc_store *st);

int sc_httpd_start(struct daemon *d, char *err, size_t errlen);
/* Stops accepting connections; requests under way finish; respond waiters get 202. */
void sc_httpd_quiesce(struct daemon *d);
/* Commits and answers what is left, then stops. */
void sc_httpd_stop(struct daemon *d);
/* A worker finished execution id: its respond waiter, if any, gets response (borrowed). */
void sc_httpd_answer(struct daemon *d, const char *id, json_t *response);

#endif
