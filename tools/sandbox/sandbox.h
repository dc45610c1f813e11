/* The sandbox: simulated HR systems on loopback for demos and end-to-end tests.
 * sandbox.c serves HTTP (journal, faults, idempotency, control API), systems.c holds
 * the systems' REST APIs over the in-memory data, emit.c the webhooks they send.
 * Ownership: the data is one jansson tree owned by the server, touched only under its
 * lock; handlers borrow it and give back new references. */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One request as a handler sees it. */
struct call {
    const char *method, *path, *system;
    json_t *query;        /* name -> value (strings) */
    json_t *body;         /* parsed JSON body, or NULL */
    json_t *db;           /* the data (the fixture, then every write) */
    const char *params[4]; /* ":name" segments of the route, in order */
    const char *now;      /* ISO time of the request */
    const char *host;     /* the Host header, for the absolute URLs of Link headers */
    bool authorised;      /* an Authorization or X-API-Key header came */
    const char *authz;    /* the Authorization header, or NULL */
    const char *raw;      /* the body as it came (a form), raw_len bytes */
    size_t raw_len;
    long long clock_ms;   /* the request's X-Test-Clock, else the real time, ms */
    /* the answer */
    int status;
    json_t *out;          /* JSON body (stolen), or NULL with text */
    const char *text;     /* a text/plain body (static) */
    char *link;           /* a Link header value (RFC 8288), malloc'd, or NULL */
    json_t *events;       /* webhooks the change would send: [{kind, fields}], or NULL */
    json_t *headers;      /* the `headers` fault: name -> value added to the answer, or NULL */
    bool latin1;          /* ... written in ISO-8859-1 (`header_charset: latin1`) */
};

/* OAuth mode of a system (oauth.c): answers the token endpoint, or refuses a request
 * that needs auth without a live Bearer token (true: answered); POST/GET/DELETE
 * /_sandbox/oauth and POST /_sandbox/oauth/revoke; at reset, OAuth mode goes off. */
bool sb_oauth_route(struct call *c, bool needs_auth);
void sb_oauth_control(struct call *c);
void sb_oauth_reset(void);

/* Routes a request to a system's API; false when no route matches (404). */
bool sb_route(struct call *c);
/* One line per route for --help and the docs check: "METHOD PATH  what it does". */
void sb_routes_print(FILE *out);

/* POST /_sandbox/change {kind, ...}: a business change made as the system would make
 * it (hire, change, role, terminate, complete, accept-offer, screening), with the
 * webhook it sends in c->events. */
void sb_change(struct call *c);
/* The change kinds, one line each, for --help. */
void sb_changes_print(FILE *out);
/* Says the data changed (every write, under the data's write lock): what the systems
 * derived from it (a filtered list's positions) is computed again. */
void sb_data_changed(void);
/* Frees the indexes the systems keep over the data (at exit, for leak checkers). */
void sb_systems_free(void);
/* The paging style of each list, one line per style, for --help. */
void sb_paging_print(FILE *out);

/* Compact JSON of v, byte for byte as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)
 * writes it, faster (no loop check: v must hold no loop). A new string. (dump.c) */
char *sb_dump(json_t *v);

/* ---- a generated organisation (generate.c) ---- */

/* A deterministic organisation of n employees (40 to 10,000,000) in the fixture's shape
 * and proportions, with drift planted in proportion and listed in its "planted" table.
 * The same n and seed give byte-identical data. Returns a new tree, or NULL with err. */
json_t *sb_generate(size_t n, unsigned long long seed, char *err, size_t errlen);
/* One line counting the tables and the planted drift by kind, into out. */
void sb_summary(json_t *db, char *out, size_t n);

/* POST /pager/v2/enqueue: PagerDuty-style events (pager.c). */
void sb_pager_enqueue(struct call *c);

/* Sets an error answer {"error": message, ...}. */
void sb_error(struct call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- webhooks (emit.c) ---- */

struct emit {
    const char *kind, *to, *secret, *scheme, *id;
    json_t *fields;       /* top-level or dotted keys to set in the payload */
};
/* The kinds, one line each, for --help. */
void sb_emit_kinds(FILE *out);
/* The system that sends a kind ("hris", "lms", ...), or NULL for an unknown kind. */
const char *sb_emit_system(const char *kind);
/* Builds, signs and sends a webhook. Returns the HTTP status (0 when no answer came),
 * with the answer's body in *answer (new string) and err when it failed. */
long sb_emit_send(const struct emit *e, char **answer, char *err, size_t errlen);
/* The path under --emit-to a kind goes to (the shipped scenarios' webhook paths), or NULL. */
const char *sb_emit_path(const char *kind);
/* The i-th kind's name, NULL past the last. */
const char *sb_emit_kind_at(size_t i);
/* The payload of a kind with `fields` set (dotted keys; borrowed), its times `now`:
 * compact JSON, a new string, or NULL for an unknown kind. */
char *sb_emit_body(const char *kind, json_t *fields, const char *now);
/* A fresh webhook id, "msg_" and 16 hex digits. */
void sb_emit_new_id(char *id, size_t n);
/* A built webhook to post: signed with secret (Standard Webhooks, or the kind's hub
 * scheme) when secret is set. */
struct emit_post {
    const char *kind, *to, *body, *id, *secret, *scheme;
    long long at_s; /* webhook-timestamp: the event's time (Unix s); 0: now */
};
/* Posts it, through `curl` (a CURL easy handle to reuse; NULL: a new one). Returns the
 * HTTP status (0: no answer, err says why), the answer's body in *answer (new string). */
long sb_emit_post(void *curl, const struct emit_post *p, char **answer, char *err, size_t errlen);

/* ---- the webhook sender of --emit-to (sender.c) ---- */

/* Starts the sender thread: webhooks go to `to` + the kind's path (`paths`: kind -> path
 * overrides), signed with `secrets` (system -> secret); at most `cap` wait. The outcome
 * is noted on each journal entry under journal_mu. 0, or -1 when it cannot start. */
int sb_sender_start(const char *to, json_t *secrets, json_t *paths, size_t cap,
                    pthread_mutex_t *journal_mu);
/* Whether --emit-to is on. */
bool sb_sender_on(void);
/* The URL a kind is sent to (new string). */
char *sb_sender_url(const char *kind);
/* Queues a webhook (url and body are taken); false when the queue is full (dropped). */
bool sb_sender_queue(const char *kind, char *url, char *body, const char *id, json_t *entry);
/* Webhooks queued or being sent. */
size_t sb_sender_pending(void);
/* Stops the thread (what is queued is not sent) and frees everything. */
void sb_sender_stop(void);

/* ---- the talent systems (talent.c): skills, certifications, enrollment rules and
 * enrollments, ratings ---- */

/* A list's filter (systems.c): `field` (ISO time or date) from `from` up to `to` (a
 * prefix compare), and `eq_field` equal to `eq`; NULLs keep everything. */
struct sb_filter {
    const char *field, *from, *to;
    const char *eq_field, *eq;
};
/* systems.c's helpers for talent.c: the table of that name (a GET of a missing one sees
 * an empty list), a page of it in the system's paging style, the first item whose key is
 * val (indexed for employees and learners), the fields a write needs (else 422), a query
 * value, and a webhook the change sends (fields stolen). */
json_t *sb_table(struct call *c, const char *name);
void sb_list(struct call *c, const char *name, struct sb_filter f);
json_t *sb_lookup(struct call *c, const char *tbl, const char *key, const char *val);
bool sb_need(struct call *c, const char *fields);
const char *sb_query(struct call *c, const char *name);
void sb_event(struct call *c, const char *kind, json_t *fields);
/* Adds the talent tables derived from the employees and learners when db has none. */
void sb_talent_fill(json_t *db);
/* Routes a talent endpoint; false when the path is none of them. */
bool sb_talent_route(struct call *c);
void sb_talent_routes_print(FILE *out);
/* POST /_sandbox/change for skill, certify and rate; false for another kind. */
bool sb_talent_change(struct call *c);
void sb_talent_changes_print(FILE *out);

#endif
