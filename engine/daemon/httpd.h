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

/* The instant path: a webhook whose scenario has only local steps (catalog.h's instant),
 * without a dedupe key, on a SQLite store, is handed to a worker before it is stored; the
 * worker runs it, then writes the event (already taken: sc_event_row.claim) and its
 * execution in one commit, syncs, and answers: nothing is answered before it is on disk,
 * and a crash before the commit leaves nothing to resume (the sender had no answer). One
 * no worker takes within 20 ms goes to the intake thread as any other event.
 * sc_httpd_instant_take: up to max of them, oldest first, into out (none when stopping);
 * each is the caller's until it calls sc_httpd_instant_answer on it once. One worker takes
 * them, batch after batch (its connection's page cache stays warm, and what arrives
 * meanwhile shares the next commit); a second and more only while the oldest has waited
 * 10 ms or more (local scenarios heavy in Lua, on more cores). held false: the caller becomes a taker (0 when it
 * may not); held true: it is one already; a take that finds none ends its turn, as
 * sc_httpd_instant_give_up does (a taker that stops taking).
 * worker: the taker's number (daemon.h's instant_last).
 * sc_httpd_instant_event: its row, to pass to sc_store_enqueue in the commit (borrowed).
 * sc_httpd_instant_answer: err NULL: committed and synced, answered 202, or with response
 * (borrowed; a respond step's) when it ran to its end; waits: its execution goes on after
 * this commit, so a respond scenario's answer waits for it as on the intake's path. err:
 * not stored, answered 503 (send it again). p is not the caller's afterwards. */
struct pending;
size_t sc_httpd_instant_take(struct sc_daemon *d, struct pending **out, size_t max, bool held,
                             int worker);
void sc_httpd_instant_give_up(struct sc_daemon *d);
/* An instant event the caller took but cannot write (its id is another process's: the
 * intake makes another): the intake's from now on, stored and answered as any other. */
void sc_httpd_instant_to_intake(struct sc_daemon *d, struct pending *p);
const struct sc_event_row *sc_httpd_instant_event(const struct pending *p);
void sc_httpd_instant_answer(struct sc_daemon *d, struct pending *p, const char *err,
                             json_t *response, bool waits);

#endif
