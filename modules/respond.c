/* respond: the answer of a synchronous webhook. */
#include "module.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct with {
    const json_t *status, *headers, *body, *content_type;
};

static const struct sc_param params[] = {
    {.name = "status", .type = SC_T_INT, .def = "200", .flags = SC_P_JSON,
     .offset = offsetof(struct with, status), .doc = "HTTP status of the answer, 200-599."},
    {.name = "headers", .type = SC_T_OBJECT, .offset = offsetof(struct with, headers),
     .doc = "Response headers: name -> text (a number or true/false is sent as its JSON text, "
            "null or empty text leaves the header out; Content-Type sets content_type; "
            "Content-Length, Transfer-Encoding, Connection and the other framing headers are "
            "the daemon's). A name is a token (RFC 9110 5.6.2) and a value one "
            "line; anything else is a data error of the step, and the headers recorded are the "
            "ones sent."},
    {.name = "body", .type = SC_T_ANY, .offset = offsetof(struct with, body),
     .doc = "Response body; JSON unless content_type says otherwise."},
    {.name = "content_type", .type = SC_T_STRING, .def = "\"application/json\"",
     .flags = SC_P_JSON, .offset = offsetof(struct with, content_type),
     .doc = "Content-Type of the answer."},
    {0},
};

/* Headers the daemon writes itself: the body's framing and the connection's (RFC 9110
 * 7.6.1, 8.6; RFC 9112 6.1). */
static bool framing(const char *k)
{
    static const char *const own[] = {"content-length", "transfer-encoding", "connection",
                                       "keep-alive", "upgrade", "te", "trailer", NULL};
    for (const char *const *o = own; *o; o++)
        if (!strcasecmp(k, *o))
            return true;
    return false;
}

static void check(struct sc_check *c, const json_t *with)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(with, "headers"), k, v)
        if (!sc_header_name(k))
            sc_check_error(c, "headers", "'%s' is not a header name: a name is letters, digits "
                           "and !#$%%&'*+-.^_`|~ (RFC 9110 5.6.2)", k);
        else if (framing(k))
            sc_check_error(c, "headers", "'%s' is the daemon's to write (it frames the answer)", k);
    json_t *s = json_object_get(with, "status");
    if (json_is_integer(s) && (json_integer_value(s) < 200 || json_integer_value(s) > 599))
        sc_check_error(c, "status", "HTTP status %lld is outside 200-599 (an answer is final)",
                       (long long)json_integer_value(s));
}

/* The headers as sent, each value text; NULL with err when one cannot be sent. A
 * Content-Type among them goes to *type (the answer has one). */
static json_t *headers_sent(const json_t *headers, json_t **type, char *err, size_t errlen)
{
    json_t *out = json_object(), *v;
    const char *k;
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_object_foreach((json_t *)headers, k, v) {
        /* a number as a person writes it: 0.1, not 0.10000000000000001 */
        char *t = json_is_string(v) ? NULL
                : json_is_number(v) || json_is_boolean(v)
                    ? json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
                    : NULL;
        const char *text = json_is_string(v) ? json_string_value(v) : t;
        size_t n = json_is_string(v) ? json_string_length(v) : t ? strlen(t) : 0;
        long ctl = text ? sc_header_ctl(text, n) : -1;
        if (json_is_null(v) || (text && n == 0))
            ; /* left out: no value to send */
        else if (!sc_header_name(k))
            snprintf(err, errlen, "headers: '%s' is not a header name (RFC 9110 5.6.2)", k);
        else if (framing(k))
            snprintf(err, errlen, "headers: '%s' is the daemon's to write (it frames the answer)",
                     k);
        else if (!text)
            snprintf(err, errlen, "headers: '%s' is %s: a header value is text", k,
                     json_is_array(v) ? "a list" : "an object");
        else if (ctl >= 0)
            snprintf(err, errlen, "headers: '%s' holds the control character 0x%02X (byte %ld "
                     "of its value): a header value is one line", k,
                     (unsigned)(unsigned char)text[ctl], ctl + 1);
        else if (!strcasecmp(k, "content-type")) {
            json_decref(*type);
            *type = json_stringn(text, n);
        } else if (json_object_set_new(out, k, json_stringn(text, n)) != 0)
            snprintf(err, errlen, "out of memory");
        free(t);
        if (err[0]) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const struct with *with = with_v;
    const json_t *status = with->status;
    json_int_t code = json_integer_value(status);
    if (!json_is_integer(status) || code < 200 || code > 599) { /* 1xx: not a final answer */
        snprintf(err, errlen, "status must render to an HTTP status 200-599");
        return SC_ERR_DATA;
    }
    err[0] = '\0';
    json_t *ct = json_incref((json_t *)with->content_type);
    json_t *headers = with->headers ? headers_sent(with->headers, &ct, err, errlen) : json_object();
    if (!headers) {
        json_decref(ct);
        return err[0] && strcmp(err, "out of memory") ? SC_ERR_DATA : SC_ERR_RUNTIME;
    }
    const char *type = json_string_value(ct);
    size_t tn = type ? json_string_length(ct) : 0;
    long ctl = type ? sc_header_ctl(type, tn) : -1;
    if (!type || tn == 0 || ctl >= 0) {
        if (!type || tn == 0)
            snprintf(err, errlen, "content_type must be a media type such as application/json");
        else
            snprintf(err, errlen, "content_type holds the control character 0x%02X (byte %ld "
                     "of its value): a header value is one line",
                     (unsigned)(unsigned char)type[ctl], ctl + 1);
        json_decref(headers);
        json_decref(ct);
        return SC_ERR_DATA;
    }
    json_t *body = (json_t *)with->body;
    json_t *r = json_pack("{s:I, s:o, s:o, s:O}", "status", code, "content_type", ct, "headers",
                          headers, "body", body ? body : json_null());
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    sc_step_respond(ctx, json_incref(r));
    return sc_step_emit(ctx, r) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_respond = {
    .name = "respond",
    .summary = "Answer the webhook that started this execution (synchronous webhooks).",
    .params = params,
    .flags = SC_M_RESPOND,
    .with_size = sizeof(struct with),
    .check = check,
    .run = run,
};
