#include "model/org.h"

#include "util.h"
#include "model/yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void cred_clear(struct sc_org_cred *c)
{
    if (c->value) { /* do not leave the secret in freed memory */
        memset(c->value, 0, strlen(c->value));
        free(c->value);
    }
    c->value = NULL;
    c->err[0] = '\0';
}

/* Reads one reference into its cache: the value, or why not. */
static int cred_read(struct sc_org_cred *c)
{
    cred_clear(c);
    c->source = !c->ref                       ? SC_ORG_SRC_NONE
                : !strncmp(c->ref, "env:", 4) ? SC_ORG_SRC_ENV
                : !strncmp(c->ref, "file:", 5) ? SC_ORG_SRC_FILE
                                               : SC_ORG_SRC_NONE;
    if (!c->ref)
        return 0;
    c->value = sc_org_secret(c->ref, c->err, sizeof c->err);
    return c->value || strcmp(c->err, "out of memory") ? 0 : -1;
}

int sc_org_resolve_secrets(struct sc_org *org)
{
    int rc = 0;
    for (size_t i = 0; i < org->nconns; i++) {
        rc |= cred_read(&org->conns[i].secret);
        rc |= cred_read(&org->conns[i].oauth.refresh);
        rc |= cred_read(&org->conns[i].tls.key_secret);
    }
    for (size_t i = 0; i < org->nsecrets; i++)
        rc |= cred_read(&org->secrets[i].cred);
    for (size_t i = 0; i < org->nhooks; i++)
        rc |= cred_read(&org->hooks[i].secret);
    return rc ? -1 : 0;
}

void sc_org_free(struct sc_org *org)
{
    if (!org)
        return;
    for (size_t i = 0; i < org->nconns; i++) {
        sc_url_free(&org->conns[i].url);
        cred_clear(&org->conns[i].secret);
        cred_clear(&org->conns[i].oauth.refresh);
        cred_clear(&org->conns[i].tls.key_secret);
        free(org->conns[i].oauth.scope);
    }
    for (size_t i = 0; i < org->nsecrets; i++)
        cred_clear(&org->secrets[i].cred);
    free(org->secrets);
    for (size_t i = 0; i < org->nhooks; i++)
        cred_clear(&org->hooks[i].secret);
    free(org->conns);
    free(org->hooks);
    free(org->targets);
    sc_doc_free(org->doc);
    sc_doc_free(org->matrix_doc);
    free(org);
}

const struct sc_org_conn *sc_org_connection(const struct sc_org *org, const char *name)
{
    for (size_t i = 0; org && name && i < org->nconns; i++)
        if (!strcmp(org->conns[i].name, name))
            return &org->conns[i];
    return NULL;
}

const struct sc_org_secret *sc_org_named_secret(const struct sc_org *org, const char *name)
{
    for (size_t i = 0; org && name && i < org->nsecrets; i++)
        if (!strcmp(org->secrets[i].name, name))
            return &org->secrets[i];
    return NULL;
}

const struct sc_org_hook *sc_org_hook(const struct sc_org *org, const char *name)
{
    for (size_t i = 0; org && name && i < org->nhooks; i++)
        if (!strcmp(org->hooks[i].name, name))
            return &org->hooks[i];
    return NULL;
}

bool sc_org_read_only(const struct sc_org *org, const char *connection)
{
    const struct sc_org_conn *c = sc_org_connection(org, connection);
    return c && c->read_only;
}

bool sc_org_shadowed(const struct sc_org *org, const char *connection)
{
    const struct sc_org_conn *c = sc_org_connection(org, connection);
    return c && c->read_only && c->shadow;
}

/* Glob match of a path: '*' any run of characters but '/', '**' any run at all. */
static bool path_match(const char *pat, const char *s)
{
    if (!*pat)
        return !*s;
    if (pat[0] == '*' && pat[1] == '*') {
        for (const char *p = s;; p++) {
            if (path_match(pat + 2, p))
                return true;
            if (!*p)
                return false;
        }
    }
    if (pat[0] == '*') {
        for (const char *p = s;; p++) {
            if (path_match(pat + 1, p))
                return true;
            if (!*p || *p == '/')
                return false;
        }
    }
    return *s == *pat && path_match(pat + 1, s + 1);
}

json_t *sc_org_stand_in(const struct sc_org_conn *conn, const char *method,
                        const struct sc_url *t)
{
    /* the target's path under the base, as steps write it */
    size_t bl = strlen(conn->url.path);
    while (bl && conn->url.path[bl - 1] == '/')
        bl--;
    const char *rel = strlen(t->path) >= bl ? t->path + bl : t->path;
    json_t *body = NULL, *status = NULL;
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)conn->stand_ins, i, e) {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *p = json_string_value(json_object_get(e, "path"));
        if ((!m || (method && !strcasecmp(m, method))) && p &&
            path_match(p, *rel ? rel : "/")) {
            body = json_object_get(e, "body");
            status = json_object_get(e, "status");
            break;
        }
    }
    return json_pack("{s:I, s:{s:s}, s:o}", "status",
                     (json_int_t)(json_is_integer(status) ? json_integer_value(status) : 200),
                     "headers", "content-type", "application/json", "body",
                     body ? json_deep_copy(body) : json_object());
}

const struct sc_url *sc_org_base(const struct sc_org *org, const char *name)
{
    const struct sc_org_conn *c = sc_org_connection(org, name);
    return c ? &c->url : NULL;
}

const char *sc_org_read_only_target(const struct sc_org *org, const char *used,
                                    const struct sc_url *t)
{
    if (sc_org_read_only(org, used))
        return used;
    const struct sc_url *ub = sc_org_base(org, used);
    for (size_t i = 0; i < org->nconns; i++) {
        const struct sc_org_conn *r = &org->conns[i];
        /* a read-write connection declared for that same system (or a part of it) is the
         * org's deliberate choice; a broader one reaching in by its path is not */
        if (r->read_only && sc_url_covers(&r->url, t) && !(ub && sc_url_covers(&r->url, ub)))
            return r->name;
    }
    return NULL;
}

static const char *const override_headers[] = {
    "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-Method",
    "X-Original-HTTP-Method", NULL};

enum sc_refusal sc_org_check_target(const struct sc_org *org, const char *conn, bool write,
                                    const json_t *headers, const struct sc_url *base,
                                    const struct sc_url *t, const char **ro,
                                    const char **override)
{
    *ro = *override = NULL;
    if ((t->flags & SC_URL_CLIMB) || !sc_url_under(base, t))
        return SC_REFUSE_CLIMB;
    if (t->flags & (SC_URL_NUL | SC_URL_ESCAPE | SC_URL_CTRL))
        return SC_REFUSE_ESCAPE;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)headers, k, v) {
        for (const char *const *o = override_headers; *o && !*override; o++)
            if (!strcasecmp(k, *o))
                *override = k;
    }
    if (!*override && sc_url_query_has(t->query, "_method"))
        *override = "_method";
    if ((write || *override) && (t->flags & SC_URL_SLASH))
        return SC_REFUSE_SLASH; /* a server that decodes it may route anywhere */
    if (!write && !*override)
        return SC_REFUSE_NONE;
    *ro = sc_org_read_only_target(org, conn, t);
    return !*ro ? SC_REFUSE_NONE : write ? SC_REFUSE_READ_ONLY : SC_REFUSE_OVERRIDE;
}

int sc_org_write_target(const struct sc_org *org, const char *conn, const char *path,
                        struct sc_url *t, char *why, size_t n)
{
    const struct sc_url *bu = sc_org_base(org, conn);
    const char *ro, *ov;
    path = path ? path : "";
    if (!bu) {
        snprintf(why, n, "connection '%s' is not defined in org '%s'", conn, org->name);
        return -1;
    }
    if (sc_url_join(bu, path, NULL, t, why, n) != 0)
        return -1;
    switch (sc_org_check_target(org, conn, true, NULL, bu, t, &ro, &ov)) {
    case SC_REFUSE_NONE:
        return 0;
    case SC_REFUSE_CLIMB:
        snprintf(why, n, "path '%s' climbs out of connection '%s' (%s): it normalises to %s",
                 path, conn, bu->full, t->path);
        break;
    case SC_REFUSE_ESCAPE:
        snprintf(why, n, "path '%s' holds %s", path, sc_url_escape_why(t->flags));
        break;
    case SC_REFUSE_SLASH:
    case SC_REFUSE_OVERRIDE: /* no headers here: only the slash can bring it */
        snprintf(why, n, "path '%s' holds an encoded '/' or '\\' (%%2F, %%5C) that a server "
                 "may take for a separator", path);
        break;
    case SC_REFUSE_READ_ONLY:
        snprintf(why, n, "connection '%s' is read-only in org '%s'%s%s%s", ro, org->name,
                 strcmp(ro, conn) ? ": " : "", strcmp(ro, conn) ? t->full : "",
                 strcmp(ro, conn) ? " lies under its base URL" : "");
        break;
    }
    sc_url_free(t);
    return -1;
}

static bool secret_stand_ins;

void sc_org_secret_stand_ins(bool on) { secret_stand_ins = on; }

char *sc_org_secret(const char *ref, char *err, size_t errlen)
{
    if (ref && !strncmp(ref, "env:", 4)) {
        const char *v = getenv(ref + 4);
        if ((!v || !*v) && secret_stand_ins) {
            char *s = sc_strdup(SC_ORG_SECRET_STAND_IN);
            if (!s)
                snprintf(err, errlen, "out of memory");
            return s;
        }
        if (!v || !*v) {
            snprintf(err, errlen, "secret %s is not set in the environment", ref);
            return NULL;
        }
        char *s = sc_strdup(v);
        if (!s)
            snprintf(err, errlen, "out of memory");
        return s;
    }
    if (ref && !strncmp(ref, "file:", 5)) {
        size_t len;
        bool big;
        char *s = sc_read_file(ref + 5, 64 * 1024, &len, &big);
        if (!s) {
            snprintf(err, errlen, "secret %s cannot be read: %s", ref,
                     big ? "larger than 64 KiB" : strerror(errno));
            return NULL;
        }
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
            s[--len] = '\0'; /* files written by editors end in a newline the secret lacks */
        return s;
    }
    snprintf(err, errlen, "secret reference '%s' is neither env:NAME nor file:PATH",
             ref ? ref : "");
    return NULL;
}
