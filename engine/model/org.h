/* Organisations, typed: a deployment's connections (resolved at load, secrets read once
 * and cached with their source), inbound webhook secrets, settings and store location.
 * org_load.h reads them from orgs/NAME.yaml. Ownership: an org is freed by sc_org_free;
 * everything it hands out (strings, structs, json_t) is borrowed from it. */
#ifndef SC_ORG_H
#define SC_ORG_H

#include "lang/diag.h"
#include "module.h"
#include "model/url.h"

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct sc_doc;

/* How a connection's requests authenticate (its auth.kind). */
enum sc_org_auth {
    SC_ORG_AUTH_NONE,
    SC_ORG_AUTH_BEARER,
    SC_ORG_AUTH_BASIC,
    SC_ORG_AUTH_API_KEY,
    SC_ORG_AUTH_OAUTH2, /* an access token from a token endpoint (run/oauth.h) */
};
/* How an OAuth2 client authenticates at the token endpoint (RFC 6749 section 2.3.1). */
enum sc_org_client_auth { SC_ORG_CLIENT_BASIC, SC_ORG_CLIENT_BODY };
/* Where a secret was read from. */
enum sc_org_source { SC_ORG_SRC_NONE, SC_ORG_SRC_ENV, SC_ORG_SRC_FILE };

/* A secret reference resolved once, at load (sc_org_load) and on reload only: value, or
 * err saying why it could not be read then (a request through it fails with err). */
struct sc_org_cred {
    const char *ref;           /* env:NAME or file:PATH as written, or NULL (borrowed) */
    enum sc_org_source source;
    char *value;               /* owned by the org, wiped when freed; NULL: see err */
    char err[300];             /* never holds the secret */
};

/* A connection, resolved from the org file at load. */
struct sc_org_conn {
    const char *name;          /* borrowed from the org's document, as all strings here */
    const char *base_url;      /* as written */
    struct sc_url url;         /* base_url in normal form (url.h), parsed once */
    bool read_only;            /* access: read-only */
    bool shadow;               /* shadow: true (read-only only): writes reaching it are
                                  recorded and answered by a stand-in, never sent */
    const json_t *stand_ins;   /* stand_ins: [{method?, path, status, body}], or NULL */
    enum sc_org_auth auth;
    const char *username;      /* basic: the user */
    const char *header;        /* api-key: the header carrying it */
    struct sc_org_cred secret; /* auth.secret; source NONE for auth none */
    int64_t timeout_ms;        /* request timeout, ms; 0: not given (the caller's default) */
    long rate_requests;        /* rate: at most this many requests per rate_per_ms; 0: none */
    int64_t rate_per_ms;
    int concurrency;           /* most requests in flight at once; 0: no cap */
    struct {                   /* auth kind oauth2 (RFC 6749 sections 4.4 and 6) */
        const char *token_url; /* absolute http(s) URL of the token endpoint */
        const char *client_id;
        char *scope;           /* the scopes joined by spaces (owned), or NULL */
        const char *audience;  /* or NULL */
        enum sc_org_client_auth client_auth;
        int64_t margin_ms;     /* a token is renewed this long before it expires */
        struct sc_org_cred refresh; /* refresh_token: a first refresh token, or ref NULL */
    } oauth;
    struct {                   /* tls: a client certificate and the CA to trust, or NULL */
        const char *cert, *ca; /* PEM file paths */
        const char *key;       /* PEM file path, when not a secret reference */
        struct sc_org_cred key_secret; /* key given as env:NAME (the PEM itself) */
    } tls;
    const json_t *headers;     /* headers: {name: value} sent on every request, or NULL */
    const json_t *query;       /* query: {name: value} added to every request, or NULL */
};

/* A named secret (secrets: NAME), placed in headers and query parameters by
 * secret('NAME') (lang/secret.h); its value is never recorded. */
struct sc_org_secret {
    const char *name;
    struct sc_org_cred cred;
};

/* An inbound webhook secret (webhooks: NAME). */
struct sc_org_hook {
    const char *name, *scheme;
    struct sc_org_cred secret;
    int64_t tolerance_ms;
};

/* A health target (targets: NAME): a metric of the store over a window, compared with a
 * threshold (seed 001: sync failure rate under 1%, reconciliation queue depth 0, payroll
 * hold rate under 2%). Strings borrowed from the org's document. */
enum sc_target_metric {
    SC_TM_FAILURE_RATE, /* executions that failed (error or incomplete) / executions */
    SC_TM_HOLD_RATE,    /* holds / executions */
    SC_TM_QUEUE_DEPTH,  /* open items of a queue for people */
    SC_TM_INCOMPLETE,   /* incomplete executions */
};
/* ok when value is below / at most / above / at least the threshold */
enum sc_target_cmp { SC_TC_BELOW, SC_TC_AT_MOST, SC_TC_ABOVE, SC_TC_AT_LEAST };
struct sc_org_target {
    const char *name, *metric_name, *scenario, *queue; /* scope: NULL for all */
    enum sc_target_metric metric;
    enum sc_target_cmp cmp;
    double threshold;          /* rates: a fraction (1% is 0.01); counts: a number */
    int64_t window_ms;         /* the window the figure is taken over, ending now */
    const char *window;        /* as written ("7d") */
    int64_t every_ms;          /* the daemon checks it this often, or at cron */
    const char *cron;
    const char *notify_connection, *notify_path; /* NULL: the daemon only logs */
};
extern const char *const sc_target_metrics[];  /* names, in the enum's order, NULL-ended */
extern const char *const sc_target_cmps[];     /* below, at_most, above, at_least */

/* The target's value in m (a store's metrics over the target's window, store.h's
 * sc_store_metrics shape): a fraction for rates (0 without executions), else a count. */
double sc_org_target_value(const struct sc_org_target *t, const json_t *m);
/* Whether value meets the target. */
bool sc_org_target_ok(const struct sc_org_target *t, double value);
/* The value as people read it: "50.0%" for rates, "3" for counts. */
void sc_org_target_format(const struct sc_org_target *t, double value, char *buf, size_t n);
/* "below 2%", "at most 0": the comparison and threshold as people read it. */
void sc_org_target_want(const struct sc_org_target *t, char *buf, size_t n);
/* "scenario payroll-dispatch", "queue recon", "all scenarios", "all queues". */
void sc_org_target_scope(const struct sc_org_target *t, char *buf, size_t n);

struct sc_org {
    struct sc_doc *doc;        /* the org file, defaults filled from the tables */
    const char *name;          /* borrowed from doc, as every string below */
    const char *timezone;      /* default time zone of schedules */
    const char *url;           /* base_url: the daemon's public URL, or NULL */
    const char *store;         /* the database file, or NULL (store.h's default) */
    const char *store_key;     /* reference to the sealing key, or NULL */
    json_t *settings;          /* env.NAME values, or NULL (borrowed) */
    int64_t lease_ms;
    struct {
        const char *key;       /* reference to the audit key, or NULL */
        long long unkeyed_rows;
        bool checkpoint;       /* audit.checkpoint given: the fields below */
        const char *cp_cron, *cp_to, *cp_connection, *cp_path;
        int64_t cp_every_ms;   /* 0: cron */
    } audit;
    struct {
        const char *to, *cron; /* to NULL: no scheduled backup */
    } backup;
    struct sc_org_retention {  /* retention: (org_retention.c); times in ms, 0: kept */
        bool on;               /* retention: given */
        int64_t exec_ms[3];    /* by sc_retention_statuses: success, warning, error */
        int64_t queue_items_ms, shadow_ms, archive_ms;
        const char *archive_to; /* the archive's folder, or NULL: the log is kept whole */
        int64_t every_ms;      /* how often the daemon prunes */
        int batch;             /* rows per transaction */
    } retention;
    struct sc_org_conn *conns;
    size_t nconns;
    struct sc_org_hook *hooks;
    size_t nhooks;
    struct sc_org_secret *secrets; /* secrets:, in the file's order */
    size_t nsecrets;
    struct sc_org_target *targets; /* targets:, in the file's order */
    size_t ntargets;
    struct sc_doc *matrix_doc;
    json_t *matrix;            /* system-of-record.yaml beside the org file: {systems, domains}, or NULL */
};

/* The statuses retention prunes, in the order of retention.exec_ms; NULL-ended. */
extern const char *const sc_retention_statuses[];

/* Reads every secret of the org again (env and files), as a reload does. 0, or -1 out of
 * memory; a secret that cannot be read keeps its err, as at load. */
int sc_org_resolve_secrets(struct sc_org *org);
void sc_org_free(struct sc_org *org);

/* Borrowed: the connection `name`, or NULL when the org has none. */
const struct sc_org_conn *sc_org_connection(const struct sc_org *org, const char *name);
/* Borrowed: the secret `name` (secrets:), or NULL when the org has none. */
const struct sc_org_secret *sc_org_named_secret(const struct sc_org *org, const char *name);
/* Borrowed: the webhook secret `name`, or NULL when the org has none. */
const struct sc_org_hook *sc_org_hook(const struct sc_org *org, const char *name);
/* Borrowed: the connection's base URL in normal form (url.h), or NULL when unknown. */
const struct sc_url *sc_org_base(const struct sc_org *org, const char *name);
bool sc_org_read_only(const struct sc_org *org, const char *connection);
/* True when the connection is read-only and shadows writes (shadow: true). */
bool sc_org_shadowed(const struct sc_org *org, const char *connection);
/* The stand-in answer a shadowed write gets from conn (shadow: true): the first of its
 * stand_ins whose method (absent: any) equals method, ignoring case, and whose path
 * pattern matches t's path relative to conn's base path ('*' any characters of one
 * segment, '**' anything, '/' included); else 200 with {}. New {status, headers, body}
 * (headers {"content-type": "application/json"}), NULL out of memory. */
json_t *sc_org_stand_in(const struct sc_org_conn *conn, const char *method,
                        const struct sc_url *t);
/* The read-only connection a request through connection `used` to the target t reaches,
 * or NULL: `used` itself when it is read-only, else any read-only connection whose base
 * URL covers t (sc_url_covers, on the normal forms), unless `used` is a read-write
 * connection at or under that same base (the org declared writes there). Borrowed name. */
const char *sc_org_read_only_target(const struct sc_org *org, const char *used,
                                    const struct sc_url *t);

/* What stops a request through connection `conn` (base: its base URL) to the target t,
 * in order: a path that climbs above the base (CLIMB), %00, a control character or a stray
 * '%' (ESCAPE, sc_url_escape_why), a
 * write or method override whose path holds an encoded '/' or '\' (SLASH), a write reaching a read-only
 * connection (READ_ONLY, sc_org_read_only_target), a method-override header (or a
 * _method query key) sent to a read-only target (OVERRIDE). *ro: the read-only
 * connection, *override: the header's name as the step wrote it (both borrowed). */
enum sc_refusal {
    SC_REFUSE_NONE,
    SC_REFUSE_CLIMB,
    SC_REFUSE_ESCAPE,
    SC_REFUSE_SLASH,
    SC_REFUSE_READ_ONLY,
    SC_REFUSE_OVERRIDE,
};
enum sc_refusal sc_org_check_target(const struct sc_org *org, const char *conn, bool write,
                                    const json_t *headers, const struct sc_url *base,
                                    const struct sc_url *t, const char **ro,
                                    const char **override);

/* The target of a write of the engine's own (an audit checkpoint's POST) through
 * connection conn to path (NULL or "" for the base itself), judged as a step's write is
 * (sc_org_check_target): 0 with t filled (normal form and the URL to send; sc_url_free),
 * or -1 with why filled in the user's terms (nothing to free). */
int sc_org_write_target(const struct sc_org *org, const char *conn, const char *path,
                        struct sc_url *t, char *why, size_t n);

/* The users:' tokens (the management API's), resolved: each one set, at least 16
 * characters, and not another user's; a diagnostic at the token's file:line:col in d for
 * each that is not. The number of errors, or -1 when memory ran out. Tokens are wiped. */
struct sc_diags;
int sc_org_users_check(const struct sc_org *org, struct sc_diags *d);

/* Resolves a secret reference (env:NAME or file:PATH, a trailing newline dropped).
 * New string (free()), or NULL with err filled; err never holds the secret. */
char *sc_org_secret(const char *ref, char *err, size_t errlen);
/* scenarist test's replay: an env: secret that is not set reads as SC_ORG_SECRET_STAND_IN
 * (the answers are recorded; nothing is sent), so cases run without the org's secrets;
 * base64 ("test-secret"), so that it is usable as every kind of secret.
 * Process-wide; off by default. */
#define SC_ORG_SECRET_STAND_IN "dGVzdC1zZWNyZXQ="
void sc_org_secret_stand_ins(bool on);

#endif
