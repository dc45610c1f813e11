/* The calls the daemon's units share: signalling workers, write turns, readiness, the
 * answers of respond waiters. */
#include "daemon/daemon.h"

#include "lang/lua.h"
#include "log.h"
#include "model/yaml.h"
#include "run/audit.h"
#include "run/http.h"
#include "store/hooks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sc_daemon_say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sc_log(SC_LOG_INFO, NULL, NULL, "%s", line);
}

void sc_daemon_diags(struct sc_diags *diag)
{
    if (!sc_log_is_json()) {
        sc_diags_print(diag, stderr);
        return;
    }
    for (size_t i = 0; i < diag->n; i++) {
        const struct sc_diag *g = &diag->v[i];
        sc_log(g->sev == SC_SEV_ERROR ? SC_LOG_ERROR : SC_LOG_WARN, NULL, NULL, "%s:%d:%d: %s",
               g->file, g->line, g->col, g->msg);
    }
}

void sc_daemon_error(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sc_log(SC_LOG_ERROR, NULL, NULL, "%s", line);
}

void sc_daemon_join(pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop, pthread_t th)
{
    pthread_mutex_lock(mu);
    *stop = true;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
    pthread_join(th, NULL);
}

static void take_turn(void *t) { sc_turns_take(t); }
static void give_turn(void *t) { sc_turns_give(t); }

static void turns(struct sc_daemon *d, struct sc_store *st)
{
    sc_store_turns(st, take_turn, give_turn, &d->writes);
}

void sc_daemon_kick(struct sc_daemon *d)
{
    pthread_mutex_lock(&d->mu);
    d->kicks++;
    d->queue_kicks++;
    pthread_cond_signal(&d->work); /* one: a worker that finds more wakes the next */
    if (d->instant_waiting) /* it may be the only one idle */
        pthread_cond_signal(&d->instant_cv);
    pthread_mutex_unlock(&d->mu);
}

int sc_daemon_queued(struct sc_daemon *d, struct sc_store *st)
{
    int64_t top = sc_store_last_seq(st); /* before the sync: all up to it will be on disk */
    if (top < 0 || sc_store_sync(st) != 0)
        return -1;
    long long seen = atomic_load(&d->synced_seq);
    while (seen < top && !atomic_compare_exchange_weak(&d->synced_seq, &seen, top))
        ;
    sc_daemon_kick(d);
    return 0;
}

struct sc_store *sc_daemon_writer(struct sc_daemon *d, char *err, size_t errlen)
{
    struct sc_store *st = sc_store_open(d->store_path, d->store_key, err, errlen);
    if (!st)
        return NULL;
    sc_audit_setup(st, d->org);
    turns(d, st);
    if (sc_store_checkpoint_apart(st) != 0) {
        snprintf(err, errlen, "%s", sc_store_error(st));
        sc_store_close(st);
        return NULL;
    }
    return st;
}

int sc_daemon_runtime_open(struct sc_daemon *d, struct sc_runtime *rt, char *err, size_t errlen)
{
    rt->org = d->org;
    rt->url = d->listen_url; /* filled in when the listener is up, before any execution */
    if (rt->watch) { /* a worker's */
        rt->watch->grace_ms = d->o.grace_ms;
        rt->park = true;
    }
    if (!(rt->lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, errlen)))
        return -1;
    if (!(rt->http = sc_http_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return (rt->store = sc_daemon_writer(d, err, errlen)) ? 0 : -1;
}

void sc_daemon_runtime_close(struct sc_runtime *rt)
{
    sc_store_close(rt->store);
    sc_http_free(rt->http);
    sc_lua_free(rt->lua);
}

void sc_daemon_store_ok(struct sc_daemon *d, const char *err)
{
    if (!err && !atomic_load(&d->store_down))
        return; /* the common case takes no lock */
    pthread_mutex_lock(&d->ready_mu);
    atomic_store(&d->store_down, err != NULL);
    snprintf(d->store_err, sizeof d->store_err, "%s", err ? err : "");
    pthread_mutex_unlock(&d->ready_mu);
}

void sc_daemon_reached(struct sc_daemon *d, const char *err)
{
    if (!err && !atomic_load(&d->unreached))
        return; /* the intake's common case takes no lock */
    pthread_mutex_lock(&d->ready_mu);
    if (err && !atomic_load(&d->unreached)) /* the address stays in the log, off /readyz */
        sc_daemon_say("the store cannot be reached: %s", err);
    atomic_store(&d->unreached, err != NULL);
    d->reach_at = sc_watch_now_ms();
    snprintf(d->reach_err, sizeof d->reach_err, "%s", err ? err : "");
    pthread_mutex_unlock(&d->ready_mu);
}

/* How long what the store answered stands before /readyz asks it again. */
#define REACH_FRESH_MS 1000

/* Whether the store can be reached: what it last answered, asked again once that is older
 * than REACH_FRESH_MS (a load balancer's probes cost one round trip a second at most). */
static bool reachable(struct sc_daemon *d, char *why, size_t n)
{
    int64_t now = sc_watch_now_ms();
    pthread_mutex_lock(&d->ready_mu);
    bool fresh = d->reach_at && now - d->reach_at < REACH_FRESH_MS;
    pthread_mutex_unlock(&d->ready_mu);
    if (!fresh && d->ops) {
        char err[sizeof d->reach_err];
        pthread_mutex_lock(&d->ops_mu);
        int rc = sc_store_ping(d->ops);
        if (rc != 0)
            snprintf(err, sizeof err, "%s", sc_store_error(d->ops));
        pthread_mutex_unlock(&d->ops_mu);
        pthread_mutex_lock(&d->ready_mu);
        if (rc != 0 && !atomic_load(&d->unreached)) /* the address: in the log, off /readyz */
            sc_daemon_say("the store cannot be reached: %s", err);
        atomic_store(&d->unreached, rc != 0);
        d->reach_at = sc_watch_now_ms();
        snprintf(d->reach_err, sizeof d->reach_err, "%s", rc ? err : "");
        pthread_mutex_unlock(&d->ready_mu);
    }
    if (!atomic_load(&d->unreached))
        return true;
    pthread_mutex_lock(&d->ready_mu);
    snprintf(why, n, "the store cannot be reached"); /* anyone may ask: no address */
    pthread_mutex_unlock(&d->ready_mu);
    return false;
}

bool sc_daemon_ready(struct sc_daemon *d, char *why, size_t n)
{
    int64_t now = sc_watch_now_ms();
    int nw = atomic_load(&d->nworkers);
    for (int i = 0; i < nw; i++) {
        struct sc_daemon_slot *w = &d->slots[i];
        int64_t dl = atomic_load(&w->watch.deadline_ms);
        if (atomic_load(&w->retired) || !dl || now <= dl)
            continue;
        pthread_mutex_lock(&w->watch.mu);
        snprintf(why, n, "worker %d is %lld ms past the deadline of its %s", w->no,
                 (long long)(now - dl), w->watch.what);
        pthread_mutex_unlock(&w->watch.mu);
        return false;
    }
    if (atomic_load(&d->store_down)) {
        pthread_mutex_lock(&d->ready_mu);
        snprintf(why, n, "the store cannot be written"); /* why: in the log, not to anyone */
        pthread_mutex_unlock(&d->ready_mu);
        return false;
    }
    return reachable(d, why, n);
}

void sc_daemon_answer(struct sc_daemon *d, const char *id, json_t *response)
{
    bool found = false;
    pthread_mutex_lock(&d->mu);
    for (struct sc_daemon_waiter *w = d->waiters; w; w = w->next)
        if (!w->done && !strcmp(w->id, id)) {
            w->response = json_incref(response);
            w->done = found = true;
        }
    pthread_mutex_unlock(&d->mu);
    if (found) {
        pthread_mutex_lock(&d->intake.batch_mu);
        d->intake.answers = true;
        pthread_cond_signal(&d->intake.batch_cv);
        pthread_mutex_unlock(&d->intake.batch_mu);
    }
}
