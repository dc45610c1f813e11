/* The daemon's lifecycle: opens the store, loads the catalog, starts the intake and the
 * workers, then runs the main thread (timers, reload on SIGHUP or a deploy, the watchdog,
 * the test clock) until a signal, and drains. */
#include "daemon/serve.h"

#include "clock.h"
#include "daemon/admin.h"
#include "daemon/catalog.h"
#include "daemon/httpd.h"
#include "daemon/targets.h"
#include "daemon/timers.h"
#include "daemon/workers.h"
#include "lang/duration.h"
#include "lang/lua.h"
#include "model/yaml.h"
#include "store/hooks.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

static struct sc_catalog *reload(struct sc_daemon *d, struct sc_runtime *rt)
{
    struct sc_diags diag;
    sc_diags_init(&diag);
    struct sc_catalog *c = sc_catalog_load(d, rt, &diag);
    if (!c) {
        sc_daemon_diags(&diag);
        sc_daemon_error("reload refused: %zu error%s; the scenarios loaded before keep running",
                      diag.errors, diag.errors == 1 ? "" : "s");
        sc_diags_free(&diag);
        return NULL;
    }
    sc_diags_free(&diag);
    pthread_rwlock_wrlock(&d->cat_lock);
    struct sc_catalog *old = d->cat;
    d->cat = c;
    atomic_fetch_add(&d->gen, 1);
    pthread_rwlock_unlock(&d->cat_lock);
    sc_catalog_free(d, old);
    sc_timers_arm(d, rt, c);
    sc_targets_warn(d, c);
    sc_daemon_say("reloaded: %zu scenario%s, %zu webhook%s, %zu schedule%s and poll%s", c->nfiles,
                  c->nfiles == 1 ? "" : "s", c->nhooks, c->nhooks == 1 ? "" : "s", c->ntimers,
                  c->ntimers == 1 ? "" : "s", c->ntimers == 1 ? "" : "s");
    sc_daemon_kick(d);
    return c;
}

/* Test clock with --until: when nothing is left to do now, the clock jumps to the next
 * thing due (a schedule, a poll, a retry). Returns true when until is reached. */
static bool advance(struct sc_daemon *d, struct sc_runtime *rt)
{
    int64_t runnable = 0, retry = -1;
    pthread_mutex_lock(&d->mu);
    bool idle = d->idle == d->o.workers && atomic_load(&d->busy) == 0;
    pthread_mutex_unlock(&d->mu);
    if (!idle || sc_store_queue_state(rt->store, &runnable, &retry) != 0 ||
        (runnable > 0 && d->o.workers > 0))
        return false;
    int64_t now = sc_clock_now_ms();
    if (retry >= 0 && retry <= now && d->o.workers > 0)
        return false; /* a worker will take it */
    pthread_rwlock_rdlock(&d->cat_lock);
    int64_t next = sc_timers_next(d, d->cat);
    pthread_rwlock_unlock(&d->cat_lock);
    if (retry > now && d->o.workers > 0 && (next < 0 || retry < next))
        next = retry;
    if (next < 0 || next > d->o.until_ms) {
        if (d->o.until_ms > now)
            sc_clock_advance_ms(d->o.until_ms - now);
        return true;
    }
    sc_clock_advance_ms(next - now);
    sc_daemon_kick(d);
    return false;
}

static int run_daemon(struct sc_daemon *d, struct sc_runtime *rt)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    bool sim = sc_clock_is_test() && d->o.until_ms >= 0;
    int code = 0;
    for (;;) {
        pthread_rwlock_rdlock(&d->cat_lock);
        struct sc_catalog *c = d->cat;
        pthread_rwlock_unlock(&d->cat_lock);
        sc_timers_run(d, rt, c); /* only this thread replaces the catalog */
        if (!d->o.npaths) { /* serving what is deployed: a deploy is picked up here */
            int64_t stamp = sc_store_versions_stamp(rt->store);
            if (stamp >= 0 && stamp != d->stamp) {
                sc_daemon_say("a deploy changed the scenarios: reloading");
                d->stamp = stamp;
                reload(d, rt);
                c = d->cat; /* the old catalog is gone */
            }
        }
        int64_t wait = d->o.workers > 0 ? sc_workers_watchdog(d) : 1000;
        if (sim) {
            if (advance(d, rt)) {
                sc_daemon_say("test clock reached --until: stopping");
                break;
            }
            wait = 10;
        } else if (!sc_clock_is_test()) {
            int64_t next = sc_timers_next(d, c);
            wait = wait < 1000 ? wait : 1000;
            if (next >= 0 && next - sc_clock_now_ms() < wait)
                wait = next - sc_clock_now_ms() > 0 ? next - sc_clock_now_ms() : 0;
        } else {
            wait = 50; /* a frozen test clock: only signals and webhooks move things */
        }
        wait = wait < 1 ? 1 : wait;
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGHUP) {
            sc_daemon_say("SIGHUP: reloading the scenarios");
            reload(d, rt);
        } else if (sig == SIGTERM || sig == SIGINT) {
            sc_daemon_say("%s: stopping: no new requests; running executions may take %lld s to "
                          "finish", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                          (long long)(d->o.drain_ms / 1000));
            break;
        }
    }
    return code;
}

/* Copies the write-ahead log into the database on a thread of its own, so no commit waits
 * for it: most of it alongside the writers, the rest in a write turn, after which the
 * next commit starts the log from its beginning (else it grows while writes go on). */
static void *checkpoint_main(void *arg)
{
    struct sc_daemon *d = arg;
    prctl(PR_SET_NAME, "sc-checkpoint");
    pthread_mutex_lock(&d->ckpt.mu);
    while (!d->ckpt.stop) {
        struct timespec ts = sc_clock_deadline(100);
        pthread_cond_timedwait(&d->ckpt.cv, &d->ckpt.mu, &ts);
        pthread_mutex_unlock(&d->ckpt.mu);
        int rc = sc_store_checkpoint(d->ckpt.st);
        if (rc > 0) { /* no commit between this and the next to begin: it restarts the log */
            sc_turns_take(&d->writes);
            rc = sc_store_checkpoint(d->ckpt.st);
            sc_turns_give(&d->writes);
        }
        if (rc < 0)
            sc_daemon_error("checkpoint: %s", sc_store_error(d->ckpt.st));
        pthread_mutex_lock(&d->ckpt.mu);
    }
    pthread_mutex_unlock(&d->ckpt.mu);
    return NULL;
}

static void checkpoint_stop(struct sc_daemon *d)
{
    if (d->ckpt.started)
        sc_daemon_join(&d->ckpt.mu, &d->ckpt.cv, &d->ckpt.stop, d->ckpt.th);
    d->ckpt.started = false;
}

/* Stops taking requests, lets the workers finish what they run (bounded), then stops.
 * Returns false when a worker was still running at the deadline: its execution stays
 * recorded as running and the next start resumes it. */
static bool drain(struct sc_daemon *d)
{
    sd_notify(0, "STOPPING=1"); /* systemd: stopping on purpose (sd_notify(3)) */
    atomic_store(&d->draining, true);
    atomic_store(&d->stopping, true);
    sc_admin_stop(d);
    sc_httpd_quiesce(d);
    bool all = sc_workers_wait(d, d->o.drain_ms);
    sc_httpd_stop(d);
    if (all)
        checkpoint_stop(d);
    return all;
}

/* The daemon's state with o's defaults filled in, its locks made. NULL: out of memory. */
static struct sc_daemon *daemon_new(const struct sc_serve_opts *o, const struct sc_org *org)
{
    struct sc_daemon *d = sc_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->o = *o;
    if (!d->o.listen)
        d->o.listen = "127.0.0.1:8080";
    if (!d->o.max_body)
        d->o.max_body = 1024 * 1024;
    d->org = org;
    d->store_path = o->store ? sc_strdup(o->store) : sc_store_path(org);
    d->shared = d->store_path && sc_store_shared(d->store_path);
    d->store_key = org->store_key;
    d->org_url = org->url;
    pthread_rwlock_init(&d->cat_lock, NULL);
    pthread_mutex_init(&d->intake.mu, NULL);
    pthread_mutex_init(&d->ops_mu, NULL);
    pthread_mutex_init(&d->ready_mu, NULL);
    pthread_mutex_init(&d->ckpt.mu, NULL);
    pthread_cond_init(&d->ckpt.cv, NULL);
    pthread_mutex_init(&d->intake.batch_mu, NULL);
    sc_turns_init(&d->writes);
    pthread_cond_init(&d->intake.batch_cv, NULL);
    d->intake.tail = &d->intake.head;
    d->instant_tail = &d->instant;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->work, NULL);
    pthread_cond_init(&d->instant_cv, NULL);
    d->instant_last = -1;
    pthread_cond_init(&d->finished, NULL);
    return d;
}

static void daemon_free(struct sc_daemon *d, struct sc_runtime *main_rt)
{
    sc_admin_stop(d);
    sc_workers_free(d);
    if (d->cat)
        sc_catalog_free(d, d->cat);
    checkpoint_stop(d);
    sc_store_close(d->ckpt.st);
    sc_store_close(d->ops);
    sc_store_close(d->intake.st);
    sc_lua_free(d->intake.lua);
    sc_daemon_runtime_close(main_rt);
    free(d->store_path);
    free(d->sched.targets);
    pthread_rwlock_destroy(&d->cat_lock);
    pthread_mutex_destroy(&d->intake.mu);
    pthread_mutex_destroy(&d->ops_mu);
    pthread_mutex_destroy(&d->ready_mu);
    pthread_mutex_destroy(&d->ckpt.mu);
    pthread_cond_destroy(&d->ckpt.cv);
    pthread_mutex_destroy(&d->intake.batch_mu);
    sc_turns_destroy(&d->writes);
    pthread_cond_destroy(&d->intake.batch_cv);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->work);
    pthread_cond_destroy(&d->instant_cv);
    pthread_cond_destroy(&d->finished);
    free(d);
}

static void wake_workers(void *d) { sc_daemon_kick(d); }

/* The store's connections (the main thread's, the intake's, the operations endpoints',
 * the checkpoint thread's) and that thread; what the lock's last holder ran is let go,
 * this process's heartbeat started. 0, or -1 (said). */
static int open_store(struct sc_daemon *d, struct sc_runtime *main_rt, int64_t prev_owner)
{
    char err[600] = "";
    if (sc_workers_new(d) != 0 || !d->store_path ||
        sc_daemon_runtime_open(d, main_rt, err, sizeof err) != 0 ||
        !(d->intake.lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err)) ||
        !(d->intake.st = sc_daemon_writer(d, err, sizeof err)) ||
        !(d->ops = sc_store_open(d->store_path, d->store_key, err, sizeof err)) ||
        !(d->ckpt.st = sc_store_open(d->store_path, d->store_key, err, sizeof err))) {
        sc_daemon_error("%s", err[0] ? err : "out of memory");
        return -1;
    }
    d->ckpt.started = pthread_create(&d->ckpt.th, NULL, checkpoint_main, d) == 0;
    /* the lock's last holder is gone: what it ran is resumed now, not when its leases lapse */
    if (prev_owner > 0 && sc_store_lease_drop(main_rt->store, prev_owner) != 0)
        sc_daemon_error("%s", sc_store_error(main_rt->store));
    if (sc_store_heartbeat(main_rt->store) != 0 ||
        sc_store_watch(main_rt->store, wake_workers, d) != 0) { /* other daemons' events */
        sc_daemon_error("%s", sc_store_error(main_rt->store));
        return -1;
    }
    return 0;
}

/* The catalog, its timers armed, the org's own schedules. 0; 2 when the scenarios do not
 * validate, 1 on another error (said). */
static int load(struct sc_daemon *d, struct sc_runtime *main_rt)
{
    struct sc_diags diag;
    sc_diags_init(&diag);
    d->cat = sc_catalog_load(d, main_rt, &diag);
    sc_daemon_diags(&diag);
    sc_diags_free(&diag);
    if (!d->cat) {
        sc_daemon_error("the scenarios do not validate: not starting");
        return 2;
    }
    sc_timers_arm(d, main_rt, d->cat);
    d->stamp = sc_store_versions_stamp(main_rt->store);
    int64_t last = sc_store_last_seq(main_rt->store); /* earlier runs' events are on disk */
    if (last < 0)
        sc_daemon_error("%s: the backlog waits for the next event", sc_store_error(main_rt->store));
    atomic_store(&d->synced_seq, last);
    char err[600];
    if (sc_timers_org(d, err, sizeof err) != 0) {
        sc_daemon_error("%s", err);
        return 1;
    }
    sc_targets_warn(d, d->cat);
    if (!d->o.npaths)
        sc_daemon_say("serving %s", d->versions ? "the deployed versions (a deploy is picked up "
                                                  "without a restart)"
                                                : "scenarios/ as drafts: nothing is deployed");
    return 0;
}

/* The links' base when the org has no base_url: the listener's real address (port 0 gave
 * a free port), a wildcard address being named by this host's name. */
static void set_listen_url(struct sc_daemon *d)
{
    const char *l = d->o.listen, *colon = strrchr(l, ':');
    char host[128];
    snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - l) : 0, l);
    if (!*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "[::]")) {
        if (gethostname(host, sizeof host) != 0 || !*host)
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
    }
    snprintf(d->listen_url, sizeof d->listen_url, "http://%s:%d", host, d->port);
    if (!d->org->url)
        d->org_url = d->listen_url;
}

/* The listener and the workers. 0, or -1 when the listener failed (said); a worker that
 * did not start sets stopping. */
static int start(struct sc_daemon *d)
{
    char err[600];
    if (sc_httpd_start(d, err, sizeof err) != 0) {
        sc_daemon_error("%s", err);
        return -1;
    }
    set_listen_url(d);
    if (d->o.admin_listen && sc_admin_start(d, d->o.admin_listen, err, sizeof err) != 0) {
        sc_daemon_error("%s", err);
        atomic_store(&d->stopping, true); /* drained as a worker that did not start */
        return 0;
    }
    for (int i = 0; i < d->o.workers; i++) {
        bool ok = sc_workers_start(d, i);
        atomic_store(&d->nworkers, i + 1);
        if (!ok) {
            atomic_store(&d->stopping, true);
            break;
        }
    }
    struct sc_catalog *c = d->cat;
    sc_daemon_say("org %s: listening on http://%s:%d with %d worker%s; %zu scenario%s, %zu "
                  "webhook%s, %zu schedule%s and poll%s", d->org->name,
                  d->o.listen[0] == '[' ? "[::1]" : "127.0.0.1", d->port, d->o.workers,
                  d->o.workers == 1 ? "" : "s", c->nfiles, c->nfiles == 1 ? "" : "s", c->nhooks,
                  c->nhooks == 1 ? "" : "s", c->ntimers, c->ntimers == 1 ? "" : "s",
                  c->ntimers == 1 ? "" : "s");
    sd_notifyf(0, "READY=1\nSTATUS=listening on port %d", d->port); /* Type=notify */
    return 0;
}

int sc_serve(const struct sc_serve_opts *o, const struct sc_org *org)
{
    struct sc_daemon *d = daemon_new(o, org);
    if (!d)
        return 1;
    /* Signals go to the main thread's sigtimedwait only: block them before any thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int code = 1;
    char err[600] = "";
    struct sc_runtime main_rt = {0};
    int lock_fd = -1, locked = 1;
    int64_t prev_owner = -1;
    sc_store_set_lease_ms(org->lease_ms);
    /* one daemon per SQLite file; any number share a PostgreSQL store (leases, SKIP LOCKED) */
    if (d->store_path && !sc_store_shared(d->store_path) &&
        (locked = sc_store_lock(d->store_path, &lock_fd, &prev_owner, err, sizeof err)) != 0) {
        sc_daemon_error("%s", err);
        code = locked > 0 ? 2 : 1;
        goto out;
    }
    if (open_store(d, &main_rt, prev_owner) != 0 || (code = load(d, &main_rt)) != 0)
        goto out;
    code = 1;
    if (start(d) != 0)
        goto out;
    code = atomic_load(&d->stopping) ? 1 : run_daemon(d, &main_rt);
    if (!drain(d)) { /* workers still use the daemon and the org: end the process here */
        sc_daemon_say("stopped with executions still running: they stay recorded as running and "
                      "the next start resumes them");
        fflush(NULL);
        _exit(code);
    }
    sc_daemon_say("stopped; everything is recorded");
out:
    daemon_free(d, &main_rt);
    sc_store_unlock(lock_fd);
    return code;
}
