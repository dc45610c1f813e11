/* A request to one of the org's connections, as http.request and notify make it: the
 * base URL and auth of the connection, run-time refusal of writes that reach a read-only
 * connection (on the normalised target, against every connection: url.h, org.h) and of
 * method-override headers there, sent_from/sent_to in JSON write bodies, an
 * Idempotency-Key on writes, a step's headers replacing the engine's defaults of the same
 * name, same-origin redirects followed by reads only, and the output {status, headers,
 * body} (headers as sc_http_resp's; a UTF-8 byte order mark before JSON is skipped). Ownership: every field of sc_call is
 * borrowed; *output is a new reference, set whenever an answer came. */
#ifndef SC_CALL_H
#define SC_CALL_H

#include "run/exec.h"

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

#define SC_CALL_MAX_REDIRECTS 5 /* same-origin redirects a read follows */

enum sc_status sc_call_connection(struct sc_step_ctx *ctx, const struct sc_call *c,
                                  json_t **output, char *err, size_t errlen);

#endif
