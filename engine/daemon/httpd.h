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
/* A request target as libmicrohttpd's uri callback gets it (uri: its own buffer, the query
 * not parsed yet), judged by size: NULL when it is taken, else why not (a static string),
 * with *status 414 (RFC 9110 15.5.15), for a target over SC_HTTPD_MAX_TARGET bytes or a
 * query of more than SC_HTTPD_MAX_PARAMS parameters ('&'-separated, empty ones counted).
 * A refused target's query is emptied in place, so libmicrohttpd parses none of it: 0.9.75
 * keeps each parameter in the connection's memory and, when they do not fit, loses its own
 * 431 and holds the connection without an answer. Both listeners call it first. */
#define SC_HTTPD_MAX_TARGET 8192
#define SC_HTTPD_MAX_PARAMS 100
const char *sc_httpd_target_verdict(const char *uri, unsigned *status);

#endif
