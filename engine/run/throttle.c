#include "run/throttle.h"

#include "clock.h"
#include "util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEVER INT64_MIN

/* One connection's state (see the header). */
struct entry {
    char *name;              /* "ORG/CONNECTION" */
    pthread_mutex_t mu;
    pthread_cond_t freed;
    int64_t last;            /* when the last request was sent; NEVER */
    int64_t tail;            /* the latest slot promised; NEVER */
    json_t *promised;        /* key -> slot (ms) */
    int in_flight;
    bool shared;             /* the store decides (its daemons share the cap): wait_free polls */
    unsigned takes;          /* for the occasional sweep of forgotten promises */
    struct entry *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *reg;

int64_t sc_throttle_spacing_ms(const struct sc_org_conn *conn)
{
    if (!conn || conn->rate_requests <= 0 || conn->rate_per_ms <= 0)
        return 0;
    return (conn->rate_per_ms + conn->rate_requests - 1) / conn->rate_requests;
}

bool sc_throttle_applies(const struct sc_org_conn *conn)
{
    return conn && (sc_throttle_spacing_ms(conn) > 0 || conn->concurrency > 0);
}

/* The entry of org/conn, made on first use; NULL out of memory. */
static struct entry *find(const char *org, const struct sc_org_conn *conn)
{
    char name[512];
    snprintf(name, sizeof name, "%s/%s", org ? org : "", conn->name);
    pthread_mutex_lock(&reg_mu);
    struct entry *e = reg;
    while (e && strcmp(e->name, name))
        e = e->next;
    if (!e && (e = sc_calloc(1, sizeof *e))) {
        e->name = sc_strdup(name);
        e->promised = json_object();
        if (!e->name || !e->promised) {
            free(e->name);
            json_decref(e->promised);
            free(e);
            e = NULL;
        } else {
            pthread_mutex_init(&e->mu, NULL);
            pthread_cond_init(&e->freed, NULL);
            e->last = e->tail = NEVER;
            e->next = reg;
            reg = e;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    return e;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* A promise whose request never came back for it (its execution was discarded, or ran
 * elsewhere) is dropped once it is long past: its slot went unused, nothing more. */
static void sweep(struct entry *e, int64_t now, int64_t T)
{
    if (++e->takes % 256)
        return;
    int64_t horizon = max64(600000, 1000 * T);
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(e->promised, tmp, k, v) if (json_integer_value(v) < now - horizon)
        json_object_del(e->promised, k);
}

/* A realtime request's slot s: routine promises closer than T to it move to the tail. */
static void displace(struct entry *e, const char *key, int64_t s, int64_t T)
{
    const char *k;
    json_t *v;
    json_object_foreach(e->promised, k, v) {
        int64_t p = json_integer_value(v);
        if ((key && !strcmp(k, key)) || p <= s - T || p >= s + T)
            continue;
        e->tail = max64(e->tail, s) + T;
        json_integer_set(v, e->tail);
    }
}

enum sc_throttle_verdict sc_throttle_take(struct sc_store *st, const char *org,
                                          const struct sc_org_conn *conn, const char *key,
                                          bool realtime, int64_t now, int64_t *wait_ms)
{
    *wait_ms = 0;
    struct sc_store_slot slot_rq = {.org = org, .conn = conn->name, .key = key,
                                    .realtime = realtime, .now_ms = now,
                                    .spacing_ms = sc_throttle_spacing_ms(conn),
                                    .cap = conn->concurrency};
    int verdict;
    if (st && sc_store_slot_take(st, &slot_rq, &verdict, wait_ms) == SC_STORE_OK) {
        struct entry *se = verdict == 2 ? find(org, conn) : NULL;
        if (se) {
            pthread_mutex_lock(&se->mu);
            se->shared = true;
            pthread_mutex_unlock(&se->mu);
        }
        return verdict == 0 ? SC_THROTTLE_GO : verdict == 1 ? SC_THROTTLE_WAIT : SC_THROTTLE_BUSY;
    }
    *wait_ms = 0;
    struct entry *e = find(org, conn);
    if (!e)
        return SC_THROTTLE_GO; /* out of memory: the 429's Retry-After stays the backstop */
    int64_t T = sc_throttle_spacing_ms(conn);
    pthread_mutex_lock(&e->mu);
    if (now == SC_THROTTLE_CLOCK)
        now = sc_clock_now_ms();
    sweep(e, now, T);
    json_t *p = key ? json_object_get(e->promised, key) : NULL;
    int64_t slot;
    if (p) {
        slot = json_integer_value(p);
    } else {
        slot = e->last == NEVER ? now : max64(now, e->last + T);
        if (realtime)
            displace(e, key, slot, T);
        else if (e->tail != NEVER)
            slot = max64(slot, e->tail + T);
    }
    /* the slot, or the spacing after a request that went late: ask again then */
    if (T && e->last != NEVER && slot < e->last + T)
        slot = e->last + T;
    if (slot > now) {
        if (key && !p)
            json_object_set_new(e->promised, key, json_integer(slot));
        e->tail = max64(e->tail, slot);
        pthread_mutex_unlock(&e->mu);
        *wait_ms = slot - now;
        return SC_THROTTLE_WAIT;
    }
    if (conn->concurrency > 0 && e->in_flight >= conn->concurrency) {
        if (key && !p) /* it keeps its place while it waits */
            json_object_set_new(e->promised, key, json_integer(now));
        pthread_mutex_unlock(&e->mu);
        return SC_THROTTLE_BUSY;
    }
    if (p)
        json_object_del(e->promised, key);
    if (T)
        e->last = now;
    e->in_flight++;
    pthread_mutex_unlock(&e->mu);
    return SC_THROTTLE_GO;
}

void sc_throttle_done(struct sc_store *st, const char *org, const struct sc_org_conn *conn)
{
    bool kept = st && sc_store_slot_done(st, org, conn->name) == SC_STORE_OK;
    struct entry *e = find(org, conn);
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    if (!kept && e->in_flight > 0)
        e->in_flight--;
    pthread_cond_broadcast(&e->freed);
    pthread_mutex_unlock(&e->mu);
}

void sc_throttle_wait_free(const char *org, const struct sc_org_conn *conn, int64_t real_ms)
{
    struct entry *e = find(org, conn);
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    if (conn->concurrency > 0 && (e->in_flight >= conn->concurrency || e->shared)) {
        /* the store's cap: another daemon's request may end unseen, so look again soon */
        struct timespec ts = sc_clock_deadline(e->shared && real_ms > 50 ? 50 : real_ms);
        pthread_cond_timedwait(&e->freed, &e->mu, &ts);
    }
    pthread_mutex_unlock(&e->mu);
}

void sc_throttle_reset(void)
{
    pthread_mutex_lock(&reg_mu);
    while (reg) {
        struct entry *e = reg;
        reg = e->next;
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->freed);
        json_decref(e->promised);
        free(e->name);
        free(e);
    }
    pthread_mutex_unlock(&reg_mu);
}
