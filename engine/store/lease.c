/* Leases, the part no backend owns: this process's owner token, the length of its
 * leases, and the executions it runs now (those its heartbeat renews). */
#include "store/backend.h"

#include "clock.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* An owner is a random token of this process, never its pid: a pid says nothing in
 * another PID namespace, and a dead daemon's pid may be reused. What proves an owner
 * at work is its lease: lease_until, renewed by its heartbeat through the one clock. */
static int64_t my_owner;
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;

static void make_owner(void)
{
    uint64_t token = 0;
    if (getrandom(&token, sizeof token, 0) != (ssize_t)sizeof token)
        token = (uint64_t)sc_clock_mono_ms() ^ ((uint64_t)getpid() << 32);
    my_owner = (int64_t)((token & 0x3fffffffffffffffULL) | 1);
}

int64_t sc_store_owner(void)
{
    pthread_once(&owner_once, make_owner);
    return my_owner;
}

static _Atomic int64_t lease_len = SC_STORE_LEASE_MS;

int64_t sc_store_lease_ms(void) { return lease_len; }
void sc_store_set_lease_ms(int64_t ms) { lease_len = ms >= 1000 ? ms : SC_STORE_LEASE_MS; }

/* The executions this process runs now: the heartbeat renews their leases. An execution
 * leaves the set when its attempt ends, recorded or not, so one whose end could not be
 * written (a full disk) lets its lease lapse and is taken up again. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static char **live;
static size_t nlive, caplive;

int sc_store_live_add(const char *id)
{
    pthread_mutex_lock(&live_mu);
    int rc = 0;
    for (size_t i = 0; i < nlive; i++)
        if (!strcmp(live[i], id))
            goto out;
    if (nlive == caplive) {
        size_t cap = caplive ? caplive * 2 : 16;
        char **v = realloc(live, cap * sizeof *v);
        if (!v) {
            rc = -1;
            goto out;
        }
        live = v;
        caplive = cap;
    }
    if (!(live[nlive] = sc_strdup(id)))
        rc = -1;
    else
        nlive++;
out:
    pthread_mutex_unlock(&live_mu);
    return rc;
}

bool sc_store_live_has(const char *id)
{
    pthread_mutex_lock(&live_mu);
    bool found = false;
    for (size_t i = 0; i < nlive && !found; i++)
        found = !strcmp(live[i], id);
    pthread_mutex_unlock(&live_mu);
    return found;
}

void sc_store_exec_release(const char *id)
{
    pthread_mutex_lock(&live_mu);
    for (size_t i = 0; i < nlive; i++)
        if (!strcmp(live[i], id)) {
            free(live[i]);
            live[i] = live[--nlive];
            break;
        }
    if (!nlive) { /* nothing left: give the memory back (no leak at exit) */
        free(live);
        live = NULL;
        caplive = 0;
    }
    pthread_mutex_unlock(&live_mu);
}

int sc_store_live_ids(char ***ids, size_t *n)
{
    pthread_mutex_lock(&live_mu);
    *n = nlive;
    *ids = nlive ? sc_calloc(nlive, sizeof **ids) : NULL;
    for (size_t i = 0; *ids && i < nlive; i++)
        (*ids)[i] = sc_strdup(live[i]);
    pthread_mutex_unlock(&live_mu);
    return *n && !*ids ? -1 : 0;
}
