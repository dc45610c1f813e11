/* The request builder (request.h): what a step's call would send, decided before
 * anything is sent, so that it can be checked without a network. */
#include "run/request.h"

#include "lang/duration.h"
#include "lang/text.h"
#include "run/http.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Form values: strings as they are, numbers and booleans as JSON text, arrays as
 * repeated keys, null left out. */
static void add_pair(struct sc_buf *b, const char *k, json_t *v, char sep)
{
    if (json_is_null(v))
        return;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) add_pair(b, k, e, sep);
        return;
    }
    if (b->len && b->data[b->len - 1] != '?' && b->data[b->len - 1] != sep)
        sc_buf_add(b, &sep, 1);
    sc_http_escape(b, k, strlen(k));
    sc_buf_puts(b, "=");
    if (json_is_string(v)) {
        sc_http_escape(b, json_string_value(v), json_string_length(v));
    } else {
        char *t = sc_text_json(v, 0, false); /* 0.1, not 0.10000000000000001 */
        if (t)
            sc_http_escape(b, t, strlen(t));
        else
            b->oom = true;
        free(t);
    }
}

static enum sc_status fail(char *err, size_t errlen, enum sc_status st, const char *fmt,
                           const char *a, const char *b, const char *c)
{
    snprintf(err, errlen, fmt, a, b, c);
    return st;
}

static void header(struct sc_request *r, char *line)
{
    if (!line)
        r->oom = true;
    else if (r->nheaders < SC_REQUEST_MAX_HEADERS)
        r->headers[r->nheaders++] = line;
    else
        free(line);
}

/* Where a write without a JSON body came from and went, as headers (a JSON object body
 * carries them as fields instead); control and non-ASCII bytes percent-encoded. */
static void sent_headers(struct sc_request *r, const char *from, const char *to)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *names[2] = {"Scenarist-Sent-From", "Scenarist-Sent-To"}, *vals[2] = {from, to};
    for (int i = 0; i < 2; i++) {
        struct sc_buf b = {0};
        sc_buf_printf(&b, "%s: ", names[i]);
        for (const unsigned char *p = (const unsigned char *)vals[i]; *p; p++) {
            if (*p < 0x20 || *p >= 0x7f) {
                char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
                sc_buf_add(&b, e, 3);
            } else {
                sc_buf_add(&b, (const char *)p, 1);
            }
        }
        header(r, sc_buf_take(&b));
    }
}

/* The header with line's name (names ignore case), or -1. */
static long find_header(const struct sc_request *r, const char *line)
{
    size_t nl = strcspn(line, ":");
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strncasecmp(r->headers[i], line, nl) && r->headers[i][nl] == ':')
            return (long)i;
    return -1;
}

/* One of the engine's defaults: left out when the step set that header. */
static void header_default(struct sc_request *r, char *line)
{
    if (line && find_header(r, line) >= 0)
        free(line);
    else
        header(r, line);
}

/* One of the step's: replaces the engine's default of that name; -1 when the step set
 * the same header twice (two spellings of the name). */
static int header_step(struct sc_request *r, char *line)
{
    long i = line ? find_header(r, line) : -1;
    if (i >= 0 && r->mine[i]) {
        free(line);
        return -1;
    }
    if (i >= 0) {
        free(r->headers[i]);
        r->headers[i] = line;
    } else {
        size_t before = r->nheaders;
        header(r, line);
        i = r->nheaders > before ? (long)r->nheaders - 1 : -1; /* -1: out of memory, or too many */
    }
    if (i >= 0)
        r->mine[i] = true;
    return 0;
}

/* Why the request must not be sent (written to why), or SC_REFUSE_NONE. */
static enum sc_refusal refusal(const struct sc_org *org, const struct sc_call *c,
                               const struct sc_url *base, const struct sc_url *t, bool write,
                               const char **rop, char *why, size_t n)
{
    const char *ro, *ov;
    enum sc_refusal r = sc_org_check_target(org, c->connection, write, c->headers, base, t,
                                            &ro, &ov);
    *rop = ro;
    switch (r) {
    case SC_REFUSE_NONE:
        break;
    case SC_REFUSE_CLIMB:
        snprintf(why, n, "path '%s' must stay under connection '%s' (%s)", c->path,
                 c->connection, base->full);
        break;
    case SC_REFUSE_ESCAPE:
        snprintf(why, n, "path '%s' holds %s", c->path,
                 sc_url_escape_why(t->flags));
        break;
    case SC_REFUSE_SLASH:
        snprintf(why, n, "%s refused: the path '%s' holds an encoded '/' or '\\' (%%2F, %%5C) "
                 "that a server may take for a separator (nothing was sent)", c->method, c->path);
        break;
    case SC_REFUSE_READ_ONLY:
        if (!strcmp(ro, c->connection))
            snprintf(why, n, "%s refused: connection '%s' is read-only in org '%s' (nothing was "
                     "sent)", c->method, ro, org->name);
        else
            snprintf(why, n, "%s refused: connection '%s' is read-only in org '%s' (nothing was "
                     "sent): %s lies under its base URL", c->method, ro, org->name, t->full);
        break;
    case SC_REFUSE_OVERRIDE:
        snprintf(why, n, "%s refused: %s%s%s asks for another method, and connection '%s' is "
                 "read-only in org '%s' (nothing was sent)", c->method,
                 strcmp(ov, "_method") ? "header '" : "the query key ", ov,
                 strcmp(ov, "_method") ? "'" : "", ro, org->name);
        break;
    }
    return r;
}

/* The target URL: the connection's base joined with path and query, then the refusals
 * (a defence in depth: validation refuses them too, when it can see the path). */
static enum sc_status target(const struct sc_org *org, const struct sc_call *c,
                             const struct sc_org_conn *conn, struct sc_request *r, char *err,
                             size_t errlen)
{
    const struct sc_url *bu = &conn->url; /* parsed at the org's load */
    struct sc_url t;
    if (sc_url_join(bu, c->path, c->query, &t, err, errlen) != 0)
        return SC_ERR_DATA;
    char why[768];
    const char *ro;
    enum sc_refusal ref = refusal(org, c, bu, &t, r->write, &ro, why, sizeof why);
    if ((ref == SC_REFUSE_READ_ONLY || ref == SC_REFUSE_OVERRIDE) && sc_org_shadowed(org, ro)) {
        /* a write (or one disguised by an override) to a shadowing connection: built in
         * full, never sent; the stand-in is its answer */
        r->shadow = sc_org_connection(org, ro);
        r->stand_in = sc_org_stand_in(r->shadow, c->method, &t);
        r->oom |= !r->stand_in;
        ref = SC_REFUSE_NONE;
    }
    r->url = t.full;
    t.full = NULL;
    sc_url_free(&t);
    if (ref == SC_REFUSE_NONE)
        return SC_OK;
    r->refused = true;
    r->audit_refusal = r->write || ref == SC_REFUSE_OVERRIDE || ref == SC_REFUSE_SLASH;
    return fail(err, errlen, SC_ERR_DATA, "%s%s%s", why, "", "");
}

/* The connection's auth: a header (bearer, api-key) or basic credentials. The secret was
 * read once, at the org's load (or reload), never per request. */
static enum sc_status auth(const struct sc_org_conn *conn, struct sc_request *r, char *err,
                           size_t errlen)
{
    if (conn->auth == SC_ORG_AUTH_NONE)
        return SC_OK;
    const char *secret = conn->secret.value;
    if (!secret)
        return fail(err, errlen, SC_ERR_CONFIG, "%s%s%s", conn->secret.err, "", "");
    if (conn->auth == SC_ORG_AUTH_BEARER) {
        header(r, sc_asprintf("Authorization: Bearer %s", secret));
    } else if (conn->auth == SC_ORG_AUTH_API_KEY) {
        header(r, sc_asprintf("%s: %s", conn->header, secret));
    } else if (conn->auth == SC_ORG_AUTH_BASIC) {
        r->username = sc_strdup(conn->username ? conn->username : "");
        r->password = sc_strdup(secret); /* a copy, wiped when the request is freed */
        r->oom |= !r->username || !r->password;
    }
    return SC_OK;
}

/* The offset of the first control byte of a header value (NUL included: it would cut the
 * value short; a tab is allowed, RFC 9110 section 5.5), or -1. */
static long header_ctl(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return (long)i;
    return -1;
}

/* The step's own headers, after the engine's; a line break or another control byte in
 * one is refused. */
static enum sc_status step_headers(const struct sc_call *c, struct sc_request *r, char *err,
                                   size_t errlen)
{
    enum sc_status st = SC_OK;
    const char *k;
    json_t *v;
    json_object_foreach(c->headers, k, v) {
        const char *hv = json_is_string(v) ? json_string_value(v) : NULL;
        long ctl = hv ? header_ctl(hv, json_string_length(v)) : -1;
        if (hv && st == SC_OK && (strpbrk(hv, "\r\n") || strpbrk(k, "\r\n: "))) {
            snprintf(err, errlen, "header '%s' holds a line break or is not a header name", k);
            st = SC_ERR_DATA;
        } else if (ctl >= 0 && st == SC_OK) {
            snprintf(err, errlen, "header '%s' holds the control character 0x%02X (byte %ld of "
                     "its value)", k, (unsigned)(unsigned char)hv[ctl], ctl + 1);
            st = SC_ERR_DATA;
        } else if (hv && header_step(r, sc_asprintf("%s: %s", k, hv)) != 0 && st == SC_OK) {
            snprintf(err, errlen, "header '%s' is given twice (header names ignore case)", k);
            st = SC_ERR_DATA;
        }
    }
    return st;
}

/* The body and its Content-Type: a JSON object written carries where it came from and
 * where it went. */
static void body(const struct sc_call *c, const char *sent_from, struct sc_request *r)
{
    if (c->json) {
        json_t *doc = c->json, *copy = NULL;
        if (r->write && json_is_object(doc) && (copy = json_copy(doc))) {
            json_object_set_new(copy, "sent_from", json_string(sent_from ? sent_from : ""));
            json_object_set_new(copy, "sent_to", json_string(r->url));
            doc = copy;
        }
        r->body = sc_text_json(doc, 0, false); /* numbers in their shortest exact form */
        json_decref(copy);
        header_default(r, sc_strdup("Content-Type: application/json"));
    } else if (c->form) {
        struct sc_buf fb = {0};
        const char *k;
        json_t *v;
        json_object_foreach(c->form, k, v) add_pair(&fb, k, v, '&');
        r->body = sc_buf_take(&fb);
        header_default(r, sc_strdup("Content-Type: application/x-www-form-urlencoded"));
    } else if (c->body) {
        r->body = sc_strdup(c->body);
        header_default(r, sc_asprintf("Content-Type: %s",
                               c->content_type ? c->content_type : "text/plain; charset=utf-8"));
    } else {
        return;
    }
    r->body_len = r->body ? strlen(r->body) : 0;
    r->oom |= !r->body;
}

enum sc_status sc_request_build(const struct sc_org *org, const struct sc_call *c,
                                const char *sent_from, const char *idempotency_key,
                                struct sc_request *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->method = c->method;
    r->write = sc_request_is_write(c->method);
    const struct sc_org_conn *conn = sc_org_connection(org, c->connection);
    if (!conn)
        return fail(err, errlen, SC_ERR_CONFIG, "connection '%s' is not defined in org '%s'%s",
                    c->connection, org ? org->name : "(none)", "");
    enum sc_status st = target(org, c, conn, r, err, errlen);
    if (st != SC_OK)
        return st;
    /* Headers: ours first; a step's own header replaces ours of the same name. */
    st = auth(conn, r, err, errlen);
    header(r, sc_strdup("Accept: application/json"));
    char herr[512];
    enum sc_status hst = step_headers(c, r, herr, sizeof herr);
    if (st == SC_OK && hst != SC_OK) /* the first problem is the one reported */
        st = fail(err, errlen, hst, "%s%s%s", herr, "", "");
    if (r->write)
        header_default(r, sc_asprintf("Idempotency-Key: %s", c->idempotency_key
                                                                 ? c->idempotency_key
                                                                 : idempotency_key ? idempotency_key : ""));
    if (st == SC_OK)
        body(c, sent_from, r);
    if (st == SC_OK && r->write && !(c->json && json_is_object(c->json)))
        sent_headers(r, sent_from ? sent_from : "", r->url);
    if (st == SC_OK && r->oom) {
        snprintf(err, errlen, "out of memory");
        st = SC_ERR_RUNTIME;
    }
    r->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms
                    : conn->timeout_ms > 0 ? conn->timeout_ms : 30000;
    return st;
}

bool sc_request_is_write(const char *method)
{
    return method && strcasecmp(method, "GET") && strcasecmp(method, "HEAD") &&
           strcasecmp(method, "OPTIONS");
}

void sc_request_free(struct sc_request *r)
{
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i]);
    if (r->password) { /* do not leave the secret in freed memory */
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    free(r->username);
    free(r->body);
    free(r->url);
    json_decref(r->stand_in);
    memset(r, 0, sizeof *r);
}
