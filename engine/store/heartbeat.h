/* The lease heartbeat, for backends (sc_store_heartbeat of store/sqlite_exec.c,
 * store/pg_exec.c): a thread with a store connection of its own that renews this
 * process's leases every third of a lease, by the one clock (a test drives it). What a
 * renewal does is the backend's (renew); the thread, its timing and its stop are the same
 * for every backend. */
#ifndef SC_STORE_HEARTBEAT_H
#define SC_STORE_HEARTBEAT_H

#include "store/backend.h"

struct sc_heartbeat;

/* Opens a connection to the store at path (key_ref as sc_store_open), gives it to
 * prepare(conn, arg) when prepare is not NULL (SQLite: the write turns it shares with the
 * daemon's other connections), and starts the thread, which calls renew(conn) when a
 * renewal is due: 0 renewed, -1 not (it said why; tried again 200 ms later). The
 * heartbeat, or NULL with the error in err. */
struct sc_heartbeat *sc_heartbeat_start(const char *path, const char *key_ref,
                                        int (*renew)(struct sc_store *conn),
                                        void (*prepare)(struct sc_store *conn, void *arg),
                                        void *arg, char *err, size_t errlen);
/* Stops the thread, closes its connection and frees hb (NULL is fine). */
void sc_heartbeat_stop(struct sc_heartbeat *hb);

#endif
