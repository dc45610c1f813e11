/* http.request: one call to a connection's REST API (libcurl; run-time in the executor). */
#include "run/call.h"
#include "run/pages.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL};
static const char *const parse_modes[] = {"auto", "json", "text", "none", NULL};
static const char *const emit_modes[] = {"list", "items", NULL};

struct with {
    const char *connection, *method, *body, *content_type, *parse, *idempotency_key;
    const char *emit;
    const json_t *path, *query, *headers, *json, *form, *accept, *paginate;
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
    {.name = "paginate", .type = SC_T_OBJECT, .fields = sc_pages_params, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, paginate),
     .doc = "Follow the pages of a GET list (see the scenario format's Pagination): every "
            "page is sent as this request (same headers and auth), a page that failed "
            "transiently is sent again, and a list longer than max_pages or max_items fails "
            "the step instead of being cut short. The output becomes {items, pages}."},
    {.name = "emit", .type = SC_T_ENUM, .def = "\"list\"", .allowed = emit_modes,
     .flags = SC_P_STATIC, .offset = offsetof(struct with, emit),
     .doc = "With paginate: list (one bundle {items, pages}) or items (one bundle per item, "
            "in order, as an iterator; an aggregate may collect them)."},
    {0},
};

static void check_paginate(struct sc_check *c, const json_t *with)
{
    const json_t *pg = json_object_get(with, "paginate");
    const char *emit = json_string_value(json_object_get(with, "emit"));
    if (!pg) {
        if (emit && !strcmp(emit, "items"))
            sc_check_error(c, "emit", "emit: items needs paginate (to split one answer, use an "
                           "iterator step)");
        return;
    }
    const char *m = json_string_value(json_object_get(with, "method"));
    if (m && strcmp(m, "GET"))
        sc_check_error(c, "method", "paginate follows the pages of a GET list, not a %s", m);
    const char *parse = json_string_value(json_object_get(with, "parse"));
    if (parse && (!strcmp(parse, "text") || !strcmp(parse, "none")))
        sc_check_error(c, "parse", "paginate reads each page's items from a JSON body: parse "
                       "%s cannot page (use auto or json)", parse);
    if (json_object_get(with, "accept"))
        sc_check_error(c, "accept", "accept does not apply to a paginated request: every page "
                       "must answer, or the step fails");
    sc_pages_check(c, "paginate", pg);
}

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
    check_paginate(c, with);
}

/* Every page's items, as one {items, pages} bundle or one bundle per item. */
static enum sc_status run_pages(struct sc_step_ctx *ctx, const struct with *w,
                                const struct sc_call *c, char *err, size_t errlen)
{
    struct sc_pages *p = sc_pages_open(ctx, c, w->paginate, err, errlen);
    if (!p)
        return SC_ERR_CONFIG;
    bool each = w->emit && !strcmp(w->emit, "items");
    json_t *all = each ? NULL : json_array(), *items;
    enum sc_status st = all || each ? SC_OK : SC_ERR_RUNTIME;
    while (st == SC_OK && (st = sc_pages_next(p, &items, err, errlen)) == SC_OK && items) {
        size_t i;
        json_t *e;
        json_array_foreach(items, i, e) {
            if (each ? sc_step_emit(ctx, json_incref(e)) != 0 : json_array_append(all, e) != 0) {
                st = SC_ERR_RUNTIME; /* the engine reports the max_bundles limit */
                snprintf(err, errlen, "out of memory");
                break;
            }
        }
        json_decref(items);
    }
    if (st == SC_ERR_RUNTIME && each) {
        st = SC_OK; /* sc_step_emit refused: the engine fails the step with its limit */
        err[0] = '\0';
    }
    if (st == SC_OK && !each) {
        json_t *out = json_pack("{s:o, s:I}", "items", all, "pages",
                                (json_int_t)sc_pages_count(p));
        all = NULL;
        st = out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
    }
    json_decref(all);
    sc_pages_close(p);
    return st;
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
    if (w->paginate)
        return run_pages(ctx, w, &c, err, errlen);
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
    .flags = SC_M_FAN_OUT, /* with paginate and emit: items */
    .check = check,
    .run = run,
    .output = "{status, headers, body}. headers: each response header by its lower-cased "
              "name; a header that came once is a string, one that came several times is an "
              "array of its values in arrival order (two Link headers: [\"</e?page=2>; "
              "rel=next\", \"</e?page=9>; rel=last\"]); link(headers, \"next\") reads a Link "
              "header by rel (RFC 8288); a value that is not UTF-8 is read as ISO-8859-1, "
              "as RFC 9110 5.5 allows (an old server's \"Ren\\xe9e\" is \"Ren\u00e9e\"), and in "
              "Link and Location as the %XX a client sends for such bytes (the next page is "
              "asked as the server wrote it); a header folded over lines (obs-fold) is one value, "
              "its lines joined by a space. "
              "body: JSON when the Content-Type says so (a leading "
              "UTF-8 byte order mark is skipped), else text; null when empty. With paginate: "
              "{items: [every page's items, in order], pages: N}, or with emit: items one "
              "bundle per item (the item itself).",
};
