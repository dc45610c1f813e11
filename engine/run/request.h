/* The request a step makes to one of the org's connections, built without sending it:
 * the target (the connection's base URL joined with the path and query, url.h), the
 * run-time refusals (a write or a method override reaching a read-only connection, a
 * path that climbs out of its connection or hides a separator: org.h), the engine's
 * headers (Accept, the auth header, Idempotency-Key and Content-Type on writes) with the
 * step's replacing those of the same name, and the body (JSON, form or raw; a JSON object
 * written carries sent_from and sent_to, any other write the Scenarist-Sent-From/-To
 * headers). Pure: it reads the org and the connection's secret, never a store, a step or
 * the network, so it is unit-tested alone (tests/unit/test_request.c). Ownership: the
 * fields of sc_call are borrowed; a built sc_request owns its strings until
 * sc_request_free. */
#ifndef SC_REQUEST_H
#define SC_REQUEST_H

#include "model/org.h"
#include "module.h"

#include <stdbool.h>
#include <stdint.h>

struct sc_call {
    const char *connection;
    const char *method;
    const char *path;           /* appended to the base URL; "" for the base URL itself */
    json_t *query;              /* object or NULL */
    json_t *headers;            /* object or NULL */
    json_t *json;               /* body as JSON, or NULL */
    json_t *form;               /* body as a form, or NULL */
    const char *body;           /* raw body, or NULL */
    const char *content_type;   /* of a raw body */
    int64_t timeout_ms;         /* 0: the connection's timeout, else 30 s */
    const char *parse;          /* auto, json, text, none */
    const char *idempotency_key; /* NULL: the step's own */
    bool no_redirects;          /* a read answered 3xx fails instead of following it */
};

#define SC_REQUEST_MAX_HEADERS 64

struct sc_request {
    const char *method;         /* the call's (borrowed) */
    char *url;                  /* the normalised target; set when refused too */
    char *headers[SC_REQUEST_MAX_HEADERS + 1]; /* "Name: value", NULL-terminated */
    bool mine[SC_REQUEST_MAX_HEADERS];         /* set by the step, not the engine */
    size_t nheaders;
    char *username, *password;  /* basic auth, or NULL; the password is wiped when freed */
    char *body;                 /* NULL: no body */
    size_t body_len;
    int64_t timeout_ms;         /* the call's, else the connection's timeout, else 30000 */
    bool write;                 /* any method but GET, HEAD and OPTIONS (any case) */
    const struct sc_org_conn *shadow; /* a write reaching this shadowing connection
                                         (shadow: true): not to be sent, or NULL */
    json_t *stand_in;           /* with shadow: its answer {status, headers, body} (owned) */
    bool refused;               /* not to be sent: err says why */
    bool audit_refusal;         /* refused, and the refusal belongs on the audit log (a write,
                                   a method override, a hidden separator) */
    bool oom;
};

/* Builds c against org. sent_from (the step's URL) and idempotency_key (used when
 * c->idempotency_key is NULL) are read for writes only and may be NULL for reads. SC_OK,
 * or SC_ERR_CONFIG (connection unknown, base URL or secret unusable), SC_ERR_DATA (a path
 * or header refused; req->refused when the target itself is), SC_ERR_RUNTIME (out of
 * memory), with err saying why in the user's terms. req is filled as far as it got and
 * must be freed with sc_request_free whatever the result. */
enum sc_status sc_request_build(const struct sc_org *org, const struct sc_call *c,
                                const char *sent_from, const char *idempotency_key,
                                struct sc_request *req, char *err, size_t errlen);
void sc_request_free(struct sc_request *req);
/* True for a method that writes: any but GET, HEAD and OPTIONS, whatever its case (RFC
 * 9110 section 9.2.1's safe methods, TRACE aside: never sent to a connection). */
bool sc_request_is_write(const char *method);

#endif
