/* The daemon's HTTP side (libmicrohttpd): webhooks, committed to the store by the intake
 * thread before they are answered, and the operations endpoints /healthz, /readyz,
 * /metrics and /executions/ID. It reads the catalog's hooks and talks to the rest of the
 * daemon only through daemon.h (sc_daemon_queued, sc_daemon_ready, sc_daemon_join);
 * workers answer its respond waiters with sc_daemon_answer. */
#ifndef SC_HTTPD_H
#define SC_HTTPD_H

#include "daemon/daemon.h"

/* Starts the intake thread and the listener on d->o.listen (d->port set: the port given
 * or picked). 0, or -1 with err in the user's terms. */
int sc_httpd_start(struct sc_daemon *d, char *err, size_t errlen);
/* Stops accepting connections; requests under way finish; respond waiters get 202. */
void sc_httpd_quiesce(struct sc_daemon *d);
/* Commits and answers what is left, then stops. */
void sc_httpd_stop(struct sc_daemon *d);

#endif
