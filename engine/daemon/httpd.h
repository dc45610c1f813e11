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
/* A request's path as sent (uri: the request target; its query is not read), before its
 * one percent-decoding, judged as RFC 3986 reads it: NULL when its decoded form may be
 * matched against routes, else why not (a static string) with *status: 400 for a '%'
 * without two hexadecimal digits (2.1), a %00 (a NUL cuts text short), a . or .. segment
 * (3.3, 5.2.4: not resolved here, written or %2E-encoded); 404 for a %2F in any case, a
 * '/' inside a segment (2.2: data, not a delimiter), so no route has that path. Both
 * listeners (webhooks, the admin API) judge paths with it, by sc_url_path_flaw, the rule
 * the validator judges a webhook path by. */
const char *sc_httpd_path_verdict(const char *uri, unsigned *status);

#endif
