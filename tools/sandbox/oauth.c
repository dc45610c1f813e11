/* The sandbox's OAuth2 token endpoint (RFC 6749): for a system put in OAuth mode by
 * POST /_sandbox/oauth, POST /SYSTEM/oauth/token issues access tokens by the
 * client_credentials grant (section 4.4) and the refresh_token grant (section 6), the
 * client authenticated by HTTP Basic or in the form (section 2.3.1); errors as section
 * 5.2. The system's API then takes only `Authorization: Bearer` of a live token (issued,
 * not revoked, not expired: on the request's X-Test-Clock time when it has one).
 * Tokens are numbered (sbx-SYSTEM-at-N, sbx-SYSTEM-rt-N), so a journal is exact.
 * Its own lock; never held with another. */
#include "sandbox.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* system -> {client_id, client_secret, expires_in, client_auth, accept, n,
 *            access: {token: expiry_ms}, refresh: {token: true}} */
static json_t *systems;

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decodes base64 s into out (NUL-ended); false when it is not base64. */
static bool unbase64(const char *s, char *out, size_t n)
{
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(b64, *s);
        if (!p)
            return false;
        v = v << 6 | (unsigned)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= n)
                return false;
            out[o++] = (char)(v >> bits & 0xff);
        }
    }
    out[o] = '\0';
    return true;
}

/* Percent-decodes s[0..n) ('+' a space) into out (NUL-ended). */
static void undo_form(const char *s, size_t n, char *out, size_t outn)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outn; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            char h[3] = {s[i + 1], s[i + 2], 0};
            out[o++] = (char)strtol(h, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

/* The form's fields (application/x-www-form-urlencoded) as {name: value}. */
static json_t *form_of(const char *s, size_t n)
{
    json_t *f = json_object();
    size_t i = 0;
    while (s && i < n) {
        size_t e = i;
        while (e < n && s[e] != '&')
            e++;
        const char *eq = memchr(s + i, '=', e - i);
        char k[256], v[1024];
        undo_form(s + i, eq ? (size_t)(eq - s - i) : e - i, k, sizeof k);
        undo_form(eq ? eq + 1 : s + e, eq ? (size_t)(s + e - eq - 1) : 0, v, sizeof v);
        json_object_set_new(f, k, json_string(v));
        i = e + 1;
    }
    return f;
}

static void oauth_error(struct call *c, int status, const char *code, const char *desc)
{
    c->status = status;
    json_decref(c->out);
    c->out = json_pack("{s:s, s:s}", "error", code, "error_description", desc);
}

/* The client's id and secret: HTTP Basic (both form-encoded first) or the form. */
static const char *client_of(struct call *c, json_t *form, char id[256], char secret[256])
{
    char dec[600];
    if (c->authz && !strncasecmp(c->authz, "Basic ", 6) && unbase64(c->authz + 6, dec, sizeof dec)) {
        char *colon = strchr(dec, ':');
        if (!colon)
            return NULL;
        undo_form(dec, (size_t)(colon - dec), id, 256);
        undo_form(colon + 1, strlen(colon + 1), secret, 256);
        return "basic";
    }
    const char *fi = json_string_value(json_object_get(form, "client_id"));
    const char *fs = json_string_value(json_object_get(form, "client_secret"));
    snprintf(id, 256, "%s", fi ? fi : "");
    snprintf(secret, 256, "%s", fs ? fs : "");
    return fi ? "body" : NULL;
}

static void issue(struct call *c, json_t *sys)
{
    json_int_t n = json_integer_value(json_object_get(sys, "n")) + 1;
    json_object_set_new(sys, "n", json_integer(n));
    json_int_t life = json_integer_value(json_object_get(sys, "expires_in"));
    char at[96], rt[96];
    snprintf(at, sizeof at, "sbx-%s-at-%lld", c->system, (long long)n);
    snprintf(rt, sizeof rt, "sbx-%s-rt-%lld", c->system, (long long)n);
    json_object_set_new(json_object_get(sys, "access"), at, json_integer(c->clock_ms + life * 1000));
    json_object_set_new(json_object_get(sys, "refresh"), rt, json_true());
    c->status = 200;
    json_decref(c->out);
    c->out = json_pack("{s:s, s:s, s:I, s:s}", "access_token", at, "token_type", "Bearer",
                       "expires_in", life, "refresh_token", rt);
}

/* POST /SYSTEM/oauth/token */
static void token(struct call *c, json_t *sys)
{
    json_t *form = form_of(c->raw, c->raw_len);
    char id[256], secret[256];
    const char *how = client_of(c, form, id, secret);
    const char *want = json_string_value(json_object_get(sys, "client_auth"));
    const char *grant = json_string_value(json_object_get(form, "grant_type"));
    if (!how || strcmp(id, json_string_value(json_object_get(sys, "client_id"))) ||
        strcmp(secret, json_string_value(json_object_get(sys, "client_secret")))) {
        oauth_error(c, 401, "invalid_client", "client authentication failed");
    } else if (strcmp(want, "any") && strcmp(want, how)) {
        oauth_error(c, 401, "invalid_client", !strcmp(want, "basic")
                    ? "this server takes client credentials by HTTP Basic only"
                    : "this server takes client credentials in the request body only");
    } else if (!grant) {
        oauth_error(c, 400, "invalid_request", "grant_type is missing");
    } else if (!strcmp(grant, "client_credentials")) {
        issue(c, sys);
    } else if (!strcmp(grant, "refresh_token")) {
        const char *rt = json_string_value(json_object_get(form, "refresh_token"));
        json_t *known = json_object_get(sys, "refresh");
        if (!rt || !json_object_get(known, rt)) {
            oauth_error(c, 400, "invalid_grant", "the refresh token is unknown or revoked");
        } else {
            json_object_del(known, rt); /* rotated: one use each */
            issue(c, sys);
        }
    } else {
        oauth_error(c, 400, "unsupported_grant_type", "only client_credentials and refresh_token");
    }
    json_decref(form);
}

bool sb_oauth_route(struct call *c, bool needs_auth)
{
    pthread_mutex_lock(&mu);
    json_t *sys = json_object_get(systems, c->system);
    bool done = false;
    char tok_path[64];
    snprintf(tok_path, sizeof tok_path, "/%s/oauth/token", c->system);
    if (sys && !strcmp(c->path, tok_path)) {
        if (strcmp(c->method, "POST"))
            oauth_error(c, 405, "invalid_request", "the token endpoint takes POST");
        else
            token(c, sys);
        done = true;
    } else if (sys && needs_auth) {
        const char *a = c->authz;
        json_t *exp = a && !strncasecmp(a, "Bearer ", 7)
                          ? json_object_get(json_object_get(sys, "access"), a + 7) : NULL;
        if (!exp || !json_is_true(json_object_get(sys, "accept"))) {
            oauth_error(c, 401, "invalid_token", "a live Bearer token is required");
            done = true;
        } else if (c->clock_ms >= json_integer_value(exp)) {
            oauth_error(c, 401, "invalid_token", "the access token expired");
            done = true;
        }
    }
    pthread_mutex_unlock(&mu);
    return done;
}

void sb_oauth_control(struct call *c)
{
    pthread_mutex_lock(&mu);
    if (!systems)
        systems = json_object();
    const char *sysname = json_string_value(json_object_get(c->body, "system"));
    c->status = 200;
    if (!strcmp(c->path, "/_sandbox/oauth") && !strcmp(c->method, "GET")) {
        json_decref(c->out);
        c->out = json_deep_copy(systems);
    } else if (!sysname) {
        sb_error(c, 400, "give {\"system\": NAME, ...}");
    } else if (!strcmp(c->path, "/_sandbox/oauth") && !strcmp(c->method, "POST")) {
        const char *id = json_string_value(json_object_get(c->body, "client_id"));
        const char *sec = json_string_value(json_object_get(c->body, "client_secret"));
        const char *how = json_string_value(json_object_get(c->body, "client_auth"));
        json_t *life = json_object_get(c->body, "expires_in");
        json_t *accept = json_object_get(c->body, "accept");
        if (!id || !sec) {
            sb_error(c, 400, "give client_id and client_secret");
        } else {
            json_object_set_new(systems, sysname, json_pack(
                "{s:s, s:s, s:I, s:s, s:b, s:i, s:{}, s:{}}", "client_id", id, "client_secret",
                sec, "expires_in", json_is_integer(life) ? json_integer_value(life) : 300,
                "client_auth", how ? how : "any", "accept", !json_is_false(accept), "n", 0,
                "access", "refresh"));
            c->out = json_pack("{s:s}", "oauth", sysname);
        }
    } else if (!strcmp(c->path, "/_sandbox/oauth/revoke") && !strcmp(c->method, "POST")) {
        json_t *sys = json_object_get(systems, sysname);
        json_object_clear(json_object_get(sys, "access"));
        if (json_is_true(json_object_get(c->body, "refresh_tokens")))
            json_object_clear(json_object_get(sys, "refresh"));
        c->out = json_pack("{s:s}", "revoked", sysname);
    } else if (!strcmp(c->path, "/_sandbox/oauth") && !strcmp(c->method, "DELETE")) {
        json_object_del(systems, sysname);
        c->out = json_pack("{s:s}", "oauth", "off");
    } else {
        sb_error(c, 404, "no control endpoint %s %s", c->method, c->path);
    }
    pthread_mutex_unlock(&mu);
}

void sb_oauth_reset(void)
{
    pthread_mutex_lock(&mu);
    json_decref(systems);
    systems = NULL;
    pthread_mutex_unlock(&mu);
}
