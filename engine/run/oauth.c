/* OAuth2 access tokens (oauth.h): RFC 6749 sections 2.3.1, 4.4, 5.1, 5.2 and 6. */
#include "run/oauth.h"

#include "clock.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One connection's token, as this process holds it. */
struct entry {
    struct entry *next;
    char *key;                 /* org NUL conn NUL token_url NUL client_id, as one string */
    size_t keylen;
    pthread_mutex_t mu;        /* held while fetching: one fetch per connection at a time */
    char *access, *refresh;    /* wiped when replaced */
    int64_t due_ms;            /* renew from then on (clock.h wall time); -1: till a 401 */
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *cache;

static void wipe(char **s)
{
    if (*s) {
        memset(*s, 0, strlen(*s));
        free(*s);
    }
    *s = NULL;
}

void sc_oauth_free(char *token)
{
    wipe(&token);
}

void sc_oauth_reset(void)
{
    pthread_mutex_lock(&cache_mu);
    while (cache) {
        struct entry *e = cache;
        cache = e->next;
        wipe(&e->access);
        wipe(&e->refresh);
        pthread_mutex_destroy(&e->mu);
        free(e->key);
        free(e);
    }
    pthread_mutex_unlock(&cache_mu);
}

/* The entry of conn, made on first use; NULL out of memory. */
static struct entry *entry_of(const char *org, const struct sc_org_conn *conn)
{
    struct sc_buf k = {0};
    const char *parts[4] = {org ? org : "", conn->name, conn->oauth.token_url,
                            conn->oauth.client_id ? conn->oauth.client_id : ""};
    for (int i = 0; i < 4; i++)
        sc_buf_add(&k, parts[i], strlen(parts[i]) + 1);
    if (k.oom) {
        free(k.data);
        return NULL;
    }
    pthread_mutex_lock(&cache_mu);
    struct entry *e = cache;
    while (e && (e->keylen != k.len || memcmp(e->key, k.data, k.len)))
        e = e->next;
    if (!e && (e = sc_calloc(1, sizeof *e))) {
        e->key = k.data;
        e->keylen = k.len;
        k.data = NULL;
        e->due_ms = 0;
        pthread_mutex_init(&e->mu, NULL);
        e->next = cache;
        cache = e;
    }
    pthread_mutex_unlock(&cache_mu);
    free(k.data);
    return e;
}

/* Appends "&name=value" (value form-encoded) to b. */
static void field(struct sc_buf *b, const char *name, const char *value)
{
    if (!value)
        return;
    if (b->len)
        sc_buf_puts(b, "&");
    sc_buf_puts(b, name);
    sc_buf_puts(b, "=");
    sc_http_escape(b, value, strlen(value));
}

/* The text of an error field of the answer, printable ASCII only (RFC 6749 section 5.2
 * allows no more), cut at 200 characters; "" when absent. */
static void printable(const json_t *v, char *out, size_t n)
{
    const char *s = json_string_value(v);
    size_t o = 0;
    for (size_t i = 0; s && s[i] && o + 1 < n && i < 200; i++)
        out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[o] = '\0';
}

/* The failed answer as the user reads it: the endpoint's error and description. */
static enum sc_status refused(const struct sc_org_conn *conn, const char *grant,
                              const struct sc_http_resp *resp, char *err, size_t errlen)
{
    json_t *j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
    char code[210], desc[210];
    printable(json_object_get(j, "error"), code, sizeof code);
    printable(json_object_get(j, "error_description"), desc, sizeof desc);
    json_decref(j);
    if (*code)
        snprintf(err, errlen, "connection '%s': the token endpoint %s refused the %s grant "
                 "(HTTP %ld): %s%s%s", conn->name, conn->oauth.token_url, grant, resp->status,
                 code, *desc ? ": " : "", desc);
    else
        snprintf(err, errlen, "connection '%s': the token endpoint %s answered the %s grant "
                 "with HTTP %ld and no OAuth2 error", conn->name, conn->oauth.token_url, grant,
                 resp->status);
    return resp->status >= 500 || resp->status == 408 ? SC_ERR_SERVER
           : resp->status == 429                      ? SC_ERR_RATE_LIMIT
                                                      : SC_ERR_CONFIG;
}

/* A successful answer (RFC 6749 section 5.1) into e; SC_ERR_CONFIG when it is not one. */
static enum sc_status accept_token(struct entry *e, const struct sc_org_conn *conn,
                                   const struct sc_http_resp *resp, char *err, size_t errlen)
{
    json_t *j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
    const char *at = json_string_value(json_object_get(j, "access_token"));
    const char *type = json_string_value(json_object_get(j, "token_type"));
    const char *rt = json_string_value(json_object_get(j, "refresh_token"));
    json_t *ex = json_object_get(j, "expires_in");
    enum sc_status st = SC_OK;
    if (!at || !*at) {
        snprintf(err, errlen, "connection '%s': the token endpoint %s answered HTTP %ld without "
                 "an access_token", conn->name, conn->oauth.token_url, resp->status);
        st = SC_ERR_CONFIG;
    } else if (type && strcasecmp(type, "bearer")) {
        snprintf(err, errlen, "connection '%s': the token endpoint %s gave a token of type "
                 "'%.40s'; only Bearer tokens are sent", conn->name, conn->oauth.token_url, type);
        st = SC_ERR_CONFIG;
    } else {
        char *a = sc_strdup(at), *r = rt ? sc_strdup(rt) : NULL;
        if (!a || (rt && !r)) {
            wipe(&a);
            wipe(&r);
            snprintf(err, errlen, "out of memory");
            st = SC_ERR_RUNTIME;
        } else {
            wipe(&e->access);
            e->access = a;
            if (r) { /* a new refresh token replaces the old (section 6) */
                wipe(&e->refresh);
                e->refresh = r;
            }
            int64_t life = json_is_integer(ex) ? json_integer_value(ex) * 1000
                           : json_is_string(ex) ? atoll(json_string_value(ex)) * 1000 : -1;
            int64_t margin = conn->oauth.margin_ms;
            if (life >= 0 && margin > life / 2) /* a short-lived token is still used */
                margin = life / 2;
            e->due_ms = life < 0 ? -1 : sc_clock_now_ms() + life - margin;
        }
    }
    json_decref(j);
    return st;
}

/* One grant at the token endpoint: refresh (with refresh_token) or client credentials. */
static enum sc_status grant(struct sc_http *h, struct entry *e, const struct sc_org_conn *conn,
                            const char *refresh_token, char *err, size_t errlen)
{
    const char *secret = conn->secret.value, *kind = refresh_token ? "refresh_token"
                                                                   : "client_credentials";
    if (!refresh_token && !secret) {
        snprintf(err, errlen, "connection '%s': %s", conn->name, conn->secret.ref
                 ? conn->secret.err : "no client secret for the client_credentials grant");
        return SC_ERR_CONFIG;
    }
    struct sc_buf body = {0}, user = {0}, pass = {0};
    field(&body, "grant_type", kind);
    field(&body, "refresh_token", refresh_token);
    field(&body, "scope", conn->oauth.scope);
    field(&body, "audience", conn->oauth.audience);
    bool basic = conn->oauth.client_auth == SC_ORG_CLIENT_BASIC && secret;
    if (basic) { /* section 2.3.1: both form-encoded, then Basic */
        sc_http_escape(&user, conn->oauth.client_id, strlen(conn->oauth.client_id));
        sc_http_escape(&pass, secret, strlen(secret));
    } else {
        field(&body, "client_id", conn->oauth.client_id);
        field(&body, "client_secret", secret);
    }
    char clock[64] = "";
    if (sc_clock_is_test()) /* the sandbox expires tokens on the engine's clock */
        snprintf(clock, sizeof clock, "X-Test-Clock: %lld", (long long)sc_clock_now_ms());
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", *clock ? clock : NULL, NULL};
    enum sc_status st = SC_ERR_RUNTIME;
    snprintf(err, errlen, "out of memory");
    struct sc_http_resp resp = {0};
    if (!body.oom && !user.oom && !pass.oom) {
        struct sc_http_req req = {.method = "POST", .url = conn->oauth.token_url,
                                  .headers = headers, .body = body.data, .body_len = body.len,
                                  .timeout_ms = conn->timeout_ms > 0 ? conn->timeout_ms : 30000,
                                  .username = basic ? user.data : NULL,
                                  .password = basic ? pass.data : NULL,
                                  .tls_cert = conn->tls.cert, .tls_key = conn->tls.key,
                                  .tls_key_pem = conn->tls.key_secret.value,
                                  .tls_ca = conn->tls.ca};
        char herr[512];
        st = sc_http_send(h, &req, &resp, herr, sizeof herr);
        if (resp.status >= 200 && resp.status < 300)
            st = accept_token(e, conn, &resp, err, errlen);
        else if (resp.status)
            st = refused(conn, kind, &resp, err, errlen);
        else
            snprintf(err, errlen, "connection '%s': no token: %s", conn->name, herr);
    }
    sc_http_resp_free(&resp);
    if (body.data) /* it may hold the client secret or a refresh token */
        memset(body.data, 0, body.len);
    free(body.data);
    free(user.data);
    if (pass.data)
        memset(pass.data, 0, pass.len);
    free(pass.data);
    return st;
}

/* A token in e: by the refresh token when there is one (the server's, else the
 * connection's refresh_token), falling back to client credentials when that is refused
 * and the client has a secret. */
static enum sc_status fetch(struct sc_http *h, struct entry *e, const struct sc_org_conn *conn,
                            char *err, size_t errlen)
{
    const char *rt = e->refresh ? e->refresh : conn->oauth.refresh.value;
    if (!rt && conn->oauth.refresh.ref && !conn->secret.value) {
        snprintf(err, errlen, "connection '%s': %s", conn->name, conn->oauth.refresh.err);
        return SC_ERR_CONFIG;
    }
    if (!rt)
        return grant(h, e, conn, NULL, err, errlen);
    char *copy = sc_strdup(rt); /* e->refresh may be replaced by the answer */
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    enum sc_status st = grant(h, e, conn, copy, err, errlen);
    wipe(&copy);
    if (st == SC_ERR_CONFIG && conn->secret.value) { /* an expired or revoked refresh token */
        wipe(&e->refresh);
        st = grant(h, e, conn, NULL, err, errlen);
    }
    return st;
}

enum sc_status sc_oauth_token(struct sc_http *h, const char *org_name,
                              const struct sc_org_conn *conn, const char *stale, char **token,
                              char *err, size_t errlen)
{
    *token = NULL;
    struct entry *e = entry_of(org_name, conn);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    pthread_mutex_lock(&e->mu);
    enum sc_status st = SC_OK;
    bool fresh = e->access && (e->due_ms < 0 || sc_clock_now_ms() < e->due_ms);
    if (stale) /* refused: renew unless another worker already did */
        fresh = e->access && strcmp(e->access, stale) != 0;
    if (!fresh) {
        if (stale || (e->access && e->due_ms >= 0)) /* a refused or expired token goes */
            wipe(&e->access);
        st = fetch(h, e, conn, err, errlen);
    }
    if (st == SC_OK && !(*token = sc_strdup(e->access))) {
        snprintf(err, errlen, "out of memory");
        st = SC_ERR_RUNTIME;
    }
    pthread_mutex_unlock(&e->mu);
    return st;
}
