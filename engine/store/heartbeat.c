/* The lease heartbeat (store/heartbeat.h): a thread with a connection of its own renews
 * the leases. */
#include "store/heartbeat.h"

#include "clock.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sc_heartbeat {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct sc_store *conn;
    int (*renew)(struct sc_store *conn);
};

static void *heartbeat_main(void *arg)
{
    struct sc_heartbeat *hb = arg;
    int64_t last = INT64_MIN;
    pthread_mutex_lock(&hb->mu);
    while (!hb->stop) {
        pthread_mutex_unlock(&hb->mu);
        int64_t now = sc_clock_now_ms(); /* renewed by the one clock: a test drives it */
        if ((last == INT64_MIN || now - last >= sc_store_lease_ms() / 3 || now < last) &&
            hb->renew(hb->conn) == 0)
            last = now;
        pthread_mutex_lock(&hb->mu);
        struct timespec ts = sc_clock_deadline(200);
        if (!hb->stop)
            pthread_cond_timedwait(&hb->cv, &hb->mu, &ts);
    }
    pthread_mutex_unlock(&hb->mu);
    return NULL;
}

struct sc_heartbeat *sc_heartbeat_start(const char *path, const char *key_ref,
                                        int (*renew)(struct sc_store *conn),
                                        void (*prepare)(struct sc_store *conn, void *arg),
                                        void *arg, char *err, size_t errlen)
{
    char why[600];
    struct sc_heartbeat *hb = sc_calloc(1, sizeof *hb);
    if (!hb)
        return snprintf(err, errlen, "out of memory"), NULL;
    if (!(hb->conn = sc_store_open(path, key_ref, why, sizeof why))) {
        snprintf(err, errlen, "%s", why);
        free(hb);
        return NULL;
    }
    if (prepare)
        prepare(hb->conn, arg);
    hb->renew = renew;
    pthread_mutex_init(&hb->mu, NULL);
    pthread_cond_init(&hb->cv, NULL);
    if (pthread_create(&hb->th, NULL, heartbeat_main, hb) != 0) {
        snprintf(err, errlen, "cannot start the lease heartbeat: %s", strerror(errno));
        sc_store_close(hb->conn);
        pthread_mutex_destroy(&hb->mu);
        pthread_cond_destroy(&hb->cv);
        free(hb);
        return NULL;
    }
    return hb;
}

void sc_heartbeat_stop(struct sc_heartbeat *hb)
{
    if (!hb)
        return;
    pthread_mutex_lock(&hb->mu);
    hb->stop = true;
    pthread_cond_signal(&hb->cv);
    pthread_mutex_unlock(&hb->mu);
    pthread_join(hb->th, NULL);
    sc_store_close(hb->conn);
    pthread_mutex_destroy(&hb->mu);
    pthread_cond_destroy(&hb->cv);
    free(hb);
}
