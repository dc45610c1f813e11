/* http.request: one call to a connection's REST API (libcurl; run-time in the executor). */
#include "run/call.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL};
static const char *const parse_modes[] = {"auto", "json", "text", "none", NULL};

struct with {
    const char *connection, *method, *body, *content_type, *parse, *idempotency_key;
    const json_t *path, *query, *headers, *json, *form, *accept;
    int64_t timeout_ms;
    bool follow_redirects;
};

static const struct sc_param params[] = {
    {.name = "connection", .type = SC_T_CONNECTION, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, connection),
     .doc = "Connection of the org to call; gives the base URL and the auth."},
    {.name = "method", .type = SC_T_ENUM, .def = "\"GET\"", .allowed = methods,
     .offset = offsetof(struct with, method),
     .flags = SC_P_STATIC,
     .doc = "HTTP method. POST, PUT, PATCH and DELETE are writes: audited, need a "
            "read-write connection."},
    {.name = "path", .type = SC_T_STRING, .required = true, .flags = SC_P_URL_PATH | SC_P_JSON,
     .offset = offsetof(struct with, path),
     .doc = "Path appended to the connection's base URL, e.g. /employees/{{ trigger.body.id }}. "
            "Each {{ }} value is percent-encoded as ONE path segment ('/', '?', '#', spaces "
            "and all), or as a query value after a literal '?'; a value that is empty where a "
            "segment starts, or '.' or '..', is a data error. To insert several segments on "
            "purpose, give a list: {{ segments(x) }} (x split at '/') or any expression giving an array, each "
            "element one encoded segment."},
    {.name = "query", .type = SC_T_OBJECT,
     .offset = offsetof(struct with, query),
     .doc = "Query parameters; keys and values are percent-encoded (a list value repeats the "
            "key, null leaves it out)."},
    {.name = "headers", .type = SC_T_OBJECT,
     .offset = offsetof(struct with, headers),
     .doc = "Extra request headers; one named like a default of the engine (Accept, "
            "Content-Type, the auth header, Idempotency-Key) replaces it, whatever its case. "
            "A value holding a line break or another control character (NUL included, a tab "
            "aside) is a data error naming the header: nothing is sent."},
    {.name = "json", .type = SC_T_ANY,
     .offset = offsetof(struct with, json),
     .doc = "JSON body. Writes get sent_from and sent_to added to an object body; a write "
            "without one (form, raw or no body, a JSON array) carries them as the headers "
            "Scenarist-Sent-From and Scenarist-Sent-To."},
    {.name = "form", .type = SC_T_OBJECT, .offset = offsetof(struct with, form),
     .doc = "Form body (application/x-www-form-urlencoded)."},
    {.name = "body", .type = SC_T_STRING, .offset = offsetof(struct with, body),
     .doc = "Raw text body."},
    {.name = "content_type", .type = SC_T_STRING, .offset = offsetof(struct with, content_type),
     .doc = "Content-Type of a raw body."},
    {.name = "timeout", .type = SC_T_DURATION,
     .offset = offsetof(struct with, timeout_ms),
     .doc = "Whole-request timeout (default: the connection's timeout, else 30s; never past the "
            "step's timeout). A timeout is a transient (connection) error."},
    {.name = "parse", .type = SC_T_ENUM, .def = "\"auto\"", .allowed = parse_modes,
     .offset = offsetof(struct with, parse),
     .doc = "How to read the response body: auto (JSON when the Content-Type says so), json, "
            "text, none."},
    {.name = "accept", .type = SC_T_LIST, .elem = SC_T_INT, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, accept),
     .doc = "Error statuses that are answers, not failures (e.g. [404] for a lookup that may "
            "find nothing): the output carries the status and body; other failures stay failures."},
    {.name = "follow_redirects", .type = SC_T_BOOL, .def = "true", .flags = SC_P_STATIC,
     .offset = offsetof(struct with, follow_redirects),
     .doc = "A GET or HEAD answered 301, 302, 303, 307 or 308 is sent again to the Location "
            "when it has the same origin (scheme, host, port), up to 5 times. A write never "
            "follows one: any 3xx to a write, a redirect to another origin, or one too many "
            "is a data error naming the Location (accept: lets a status through)."},
    {.name = "idempotency_key", .type = SC_T_STRING,
     .offset = offsetof(struct with, idempotency_key),
     .doc = "Idempotency-Key header of a write; by default derived from execution, step and bundle."},
    {0},
};

static void check(struct sc_check *c, const json_t *with)
{
    int bodies = (json_object_get(with, "json") != NULL) + (json_object_get(with, "form") != NULL) +
                 (json_object_get(with, "body") != NULL);
    if (bodies > 1)
        sc_check_error(c, json_object_get(with, "body") ? "body" : "form",
                       "give only one of json, form and body");
    const char *m = json_string_value(json_object_get(with, "method"));
    if (bodies && m && (!strcmp(m, "GET") || !strcmp(m, "HEAD")))
        sc_check_error(c, "method", "a %s request cannot carry a body", m);
    if (json_object_get(with, "content_type") && !json_object_get(with, "body"))
        sc_check_error(c, "content_type", "content_type applies to a raw body only");
    const char *k, *k2;
    json_t *v, *v2;
    json_object_foreach((json_t *)json_object_get(with, "headers"), k, v) {
        json_object_foreach((json_t *)json_object_get(with, "headers"), k2, v2) {
            if (k2 == k)
                break;
            if (!strcasecmp(k, k2))
                sc_check_error(c, "headers", "headers '%s' and '%s' name the same header "
                               "(header names ignore case)", k2, k);
        }
    }
}

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct with *w = with;
    struct sc_call c = {
        .connection = w->connection,
        .method = w->method,
        .path = json_string_value(w->path),
        .query = (json_t *)w->query,
        .headers = (json_t *)w->headers,
        .json = (json_t *)w->json,
        .form = (json_t *)w->form,
        .body = w->body,
        .content_type = w->content_type,
        .timeout_ms = w->timeout_ms > 0 ? w->timeout_ms : 0, /* 0: the connection's */
        .parse = w->parse,
        .idempotency_key = w->idempotency_key,
        .no_redirects = !w->follow_redirects,
    };
    if (!c.path) {
        snprintf(err, errlen, "path must render to text, not %s",
                 json_is_null(w->path) ? "null" : "another JSON type");
        return SC_ERR_DATA;
    }
    if (c.json && json_is_null(c.json)) {
        snprintf(err, errlen, "json body rendered to null");
        return SC_ERR_DATA;
    }
    json_t *out = NULL;
    enum sc_status st = sc_call_connection(ctx, &c, &out, err, errlen);
    json_int_t status = json_integer_value(json_object_get(out, "status"));
    size_t i;
    json_t *a;
    json_array_foreach((json_t *)w->accept, i, a) if (st == SC_ERR_DATA && out &&
                                                      json_integer_value(a) == status)
        st = SC_OK; /* an answer the scenario expects and handles */
    if (st != SC_OK) {
        json_decref(out);
        return st;
    }
    return sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_http_request = {
    .name = "http.request",
    .summary = "Call a connection's HTTP API; writes are audited and carry an Idempotency-Key.",
    .params = params,
    .with_size = sizeof(struct with),
    .access = SC_ACCESS_BY_METHOD,
    .check = check,
    .run = run,
    .output = "{status, headers, body}. headers: each response header by its lower-cased "
              "name; a header that came once is a string, one that came several times is an "
              "array of its values in arrival order (two Link headers: [\"</e?page=2>; "
              "rel=next\", \"</e?page=9>; rel=last\"]); link(headers, \"next\") reads a Link "
              "header by rel (RFC 8288). body: JSON when the Content-Type says so (a leading "
              "UTF-8 byte order mark is skipped), else text; null when empty.",
};
