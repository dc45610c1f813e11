/* The request builder (request.h): what a step's call would send, decided before
 * anything is sent, so that it can be checked without a network. */
#include "run/request.h"

#include "lang/duration.h"
#include "lang/secret.h"
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

/* s with every secret reference put in place: *real holds the values, *shown reads
 * [secret:NAME] (both new strings). literal: the org file's {{ secret('NAME') }} counts
 * too. 0, or -1 with err saying why (never a value): SC_ERR_CONFIG. The values used are
 * noted in r->secrets. */
static int expand(const struct sc_org *org, const char *s, bool literal, struct sc_request *r,
                  char **real, char **shown, char *err, size_t errlen)
{
    struct sc_buf rb = {0}, sb = {0};
    size_t len = strlen(s), from = 0, a, e;
    char name[SC_SECRET_NAME_MAX + 1];
    int rc = 0;
    while (rc == 0 && sc_secret_find(s + from, len - from, literal, &a, &e, name, NULL)) {
        const struct sc_org_secret *sec = sc_org_named_secret(org, name);
        if (!sec) {
            snprintf(err, errlen, "secret('%s') is not declared in org '%s' (secrets:)", name,
                     org ? org->name : "(none)");
            rc = -1;
        } else if (!sec->cred.value) {
            snprintf(err, errlen, "secret('%s'): %s", name, sec->cred.err);
            rc = -1;
        } else {
            sc_buf_add(&rb, s + from, a);
            sc_buf_add(&sb, s + from, a);
            sc_buf_puts(&rb, sec->cred.value);
            sc_buf_printf(&sb, "[secret:%s]", name);
            size_t i = 0;
            while (i < r->nsecrets && r->secrets[i] != sec->cred.value)
                i++;
            if (i == r->nsecrets && r->nsecrets < sizeof r->secrets / sizeof r->secrets[0])
                r->secrets[r->nsecrets++] = sec->cred.value;
            from += e;
        }
    }
    sc_buf_add(&rb, s + from, len - from);
    sc_buf_add(&sb, s + from, len - from);
    *real = sc_buf_take(&rb);
    *shown = sc_buf_take(&sb);
    if (rc == 0 && (!*real || !*shown)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        r->oom = true;
    }
    if (rc != 0) {
        if (*real)
            memset(*real, 0, strlen(*real));
        free(*real);
        free(*shown);
        *real = *shown = NULL;
    }
    return rc;
}

/* True when a string of v (keys too) holds a secret marker. */
static bool has_marker(const json_t *v, char *name)
{
    size_t a, e;
    if (json_is_string(v))
        return sc_secret_find(json_string_value(v), json_string_length(v), false, &a, &e,
                              name, NULL);
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
            if (sc_secret_find(k, strlen(k), false, &a, &e, name, NULL) ||
                has_marker(x, name))
                return true;
    }
    json_array_foreach(v, i, x) if (has_marker(x, name)) return true;
    return false;
}

/* A secret placed where it would be recorded (the path is in the audit log, the body in
 * shadow records and its hash in the audit log): refused, naming where it may go. */
static enum sc_status recorded_secret(const struct sc_call *c, char *err, size_t errlen)
{
    char name[SC_SECRET_NAME_MAX + 1];
    size_t a, e;
    const char *where = NULL;
    char *path = c->path ? sc_strdup(c->path) : NULL;
    size_t pl = 0; /* the path's {{ }} values were percent-encoded: decoded to look */
    for (size_t i = 0; path && path[i]; i++) {
        unsigned v;
        if (path[i] == '%' && sscanf(path + i + 1, "%2x", &v) == 1 && path[i + 1] && path[i + 2]) {
            path[pl++] = (char)v;
            i += 2;
        } else {
            path[pl++] = path[i];
        }
    }
    if (path && sc_secret_find(path, pl, false, &a, &e, name, NULL))
        where = "the path";
    free(path);
    if (!where && (has_marker(c->json, name) || has_marker(c->form, name) ||
             (c->body && sc_secret_find(c->body, strlen(c->body), false, &a, &e, name, NULL))))
        where = "the body";
    if (!where)
        return SC_OK;
    snprintf(err, errlen, "secret('%s') cannot be placed in %s, which is recorded (audit log, "
             "step records): put it in a header or a query parameter", name, where);
    return SC_ERR_CONFIG;
}

/* The query to send and the query to show: the connection's query values under the
 * step's, secret references put in place in *real and shown as [secret:NAME] in *shown
 * (new objects, or NULL without any query). */
static enum sc_status queries(const struct sc_org *org, const struct sc_call *c,
                              const struct sc_org_conn *conn, struct sc_request *r,
                              json_t **real, json_t **shown, char *err, size_t errlen)
{
    *real = *shown = NULL;
    if (!c->query && !conn->query)
        return SC_OK;
    *real = json_object();
    *shown = json_object();
    const json_t *srcs[2] = {conn->query, c->query};
    for (int i = 0; i < 2 && *real && *shown; i++) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)srcs[i], k, v) {
            char *rv, *sv;
            if (!json_is_string(v)) {
                json_object_set(*real, k, v);
                json_object_set(*shown, k, v);
            } else if (expand(org, json_string_value(v), i == 0, r, &rv, &sv, err, errlen)) {
                return SC_ERR_CONFIG;
            } else {
                json_object_set_new(*real, k, json_string(rv));
                json_object_set_new(*shown, k, json_string(sv));
                memset(rv, 0, strlen(rv));
                free(rv);
                free(sv);
            }
        }
    }
    if (!*real || !*shown) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    return SC_OK;
}

/* The target URL: the connection's base joined with path and query, then the refusals
 * (a defence in depth: validation refuses them too, when it can see the path). */
static enum sc_status target(const struct sc_org *org, const struct sc_call *c,
                             const struct sc_org_conn *conn, struct sc_request *r, char *err,
                             size_t errlen)
{
    const struct sc_url *bu = &conn->url; /* parsed at the org's load */
    struct sc_url t, ts;
    json_t *real = NULL, *shown = NULL;
    enum sc_status qs = queries(org, c, conn, r, &real, &shown, err, errlen);
    if (qs != SC_OK || sc_url_join(bu, c->path, shown, &t, err, errlen) != 0) {
        json_decref(real);
        json_decref(shown);
        return qs != SC_OK ? qs : SC_ERR_DATA;
    }
    if (r->nsecrets && sc_url_join(bu, c->path, real, &ts, err, errlen) == 0) {
        r->send_url = ts.full; /* the same URL but for the secrets' values */
        ts.full = NULL;
        sc_url_free(&ts);
    }
    json_decref(real);
    json_decref(shown);
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
static enum sc_status auth(const struct sc_org_conn *conn, const char *bearer,
                           struct sc_request *r, char *err, size_t errlen)
{
    if (conn->auth == SC_ORG_AUTH_NONE)
        return SC_OK;
    if (conn->auth == SC_ORG_AUTH_OAUTH2) {
        if (!bearer)
            return fail(err, errlen, SC_ERR_CONFIG, "connection '%s' authenticates by OAuth2: "
                        "no access token was fetched for this request%s%s", conn->name, "", "");
        header(r, sc_asprintf("Authorization: Bearer %s", bearer));
        return SC_OK;
    }
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

/* The step's own headers, after the engine's; a line break or another control byte in
 * one is refused. */
static enum sc_status step_headers(const struct sc_org *org, const json_t *headers, bool mine,
                                   struct sc_request *r, char *err, size_t errlen)
{
    enum sc_status st = SC_OK;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)headers, k, v) {
        char *real = NULL, *shown = NULL;
        if (json_is_string(v) && expand(org, json_string_value(v), !mine, r, &real, &shown, err,
                                        errlen) != 0) {
            if (st == SC_OK)
                st = SC_ERR_CONFIG;
            continue;
        }
        free(shown);
        const char *hv = real, *ov = json_string_value(v); /* as sent, as written */
        long ctl = ov ? sc_header_ctl(ov, json_string_length(v)) : -1; /* a NUL included */
        bool from_secret = ctl < 0 && hv && sc_header_ctl(hv, strlen(hv)) >= 0;
        if (hv && st == SC_OK && (strpbrk(hv, "\r\n") || strpbrk(k, "\r\n: "))) {
            snprintf(err, errlen, "header '%s' holds a line break or is not a header name", k);
            st = SC_ERR_DATA;
        } else if (ctl >= 0 && st == SC_OK) {
            snprintf(err, errlen, "header '%s' holds the control character 0x%02X (byte %ld of "
                     "its value)", k, (unsigned)(unsigned char)ov[ctl], ctl + 1);
            st = SC_ERR_DATA;
        } else if (from_secret && st == SC_OK) {
            snprintf(err, errlen, "header '%s' would carry a control character from a secret's "
                     "value", k);
            st = SC_ERR_CONFIG;
        } else if (hv && !mine) {
            header(r, sc_asprintf("%s: %s", k, hv));
        } else if (hv && header_step(r, sc_asprintf("%s: %s", k, hv)) != 0 && st == SC_OK) {
            snprintf(err, errlen, "header '%s' is given twice (header names ignore case)", k);
            st = SC_ERR_DATA;
        }
        if (real)
            memset(real, 0, strlen(real));
        free(real);
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
    r->conn = conn;
    enum sc_status st = recorded_secret(c, err, errlen);
    if (st == SC_OK)
        st = target(org, c, conn, r, err, errlen);
    if (st != SC_OK)
        return st;
    /* Headers: ours first; a step's own header replaces ours of the same name. */
    st = auth(conn, c->bearer, r, err, errlen);
    header(r, sc_strdup("Accept: application/json"));
    char herr[512];
    enum sc_status hst = step_headers(org, conn->headers, false, r, herr, sizeof herr);
    if (hst == SC_OK)
        hst = step_headers(org, c->headers, true, r, herr, sizeof herr);
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
    if (r->send_url) {
        memset(r->send_url, 0, strlen(r->send_url));
        free(r->send_url);
    }
    memset(r, 0, sizeof *r);
}
