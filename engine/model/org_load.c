#include "model/org_load.h"
#include "conninfo.h"
#include "paths.h"

#include "lang/duration.h"
#include "lang/secret.h"
#include "module.h"
#include "util.h"
#include "model/param.h"
#include "model/validate.h"
#include "model/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const access_modes[] = {"read-write", "read-only", NULL};
static const char *const auth_kinds[] = {"none", "bearer", "basic", "api-key", "oauth2", NULL};
static const char *const client_auths[] = {"basic", "body", NULL};
static const char *const schemes[] = {"standard-webhooks", "hub-signature", NULL};

static const struct sc_param rate_fields[] = {
    {.name = "requests", .type = SC_T_INT, .required = true, .flags = SC_P_STATIC,
     .doc = "How many requests the system accepts per interval (at least 1)."},
    {.name = "per", .type = SC_T_DURATION, .required = true, .flags = SC_P_STATIC,
     .doc = "The interval (\"10s\"); the engine sends one request every per/requests, "
            "so no window of that length holds more than requests."},
    {0},
};

static const struct sc_param auth_fields[] = {
    {.name = "kind", .type = SC_T_ENUM, .required = true, .allowed = auth_kinds,
     .flags = SC_P_STATIC, .doc = "none, bearer (token), basic (username + password), api-key "
     "(header), oauth2 (an access token from token_url, RFC 6749 client credentials and refresh tokens)."},
    {.name = "secret", .type = SC_T_SECRET, .flags = SC_P_STATIC,
     .doc = "Reference to the token or password (oauth2: the client secret): env:NAME or file:PATH."},
    {.name = "username", .type = SC_T_STRING, .flags = SC_P_STATIC, .doc = "User of basic auth."},
    {.name = "header", .type = SC_T_STRING, .def = "\"X-API-Key\"", .flags = SC_P_STATIC,
     .doc = "Header carrying an api-key."},
    {.name = "token_url", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "oauth2: the token endpoint, an http:// or https:// URL."},
    {.name = "client_id", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "oauth2: the client identifier."},
    {.name = "client_auth", .type = SC_T_ENUM, .def = "\"basic\"", .allowed = client_auths,
     .flags = SC_P_STATIC, .doc = "oauth2: how the client authenticates at the token endpoint "
     "(RFC 6749 section 2.3.1): basic (HTTP Basic) or body (client_id and client_secret in the form)."},
    {.name = "scopes", .type = SC_T_LIST, .elem = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "oauth2: the scopes asked for (sent joined by spaces)."},
    {.name = "audience", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "oauth2: the audience parameter some servers need (the API the token is for)."},
    {.name = "refresh_token", .type = SC_T_SECRET, .flags = SC_P_STATIC,
     .doc = "oauth2: reference to a refresh token to start from (refresh_token grant, RFC 6749 "
     "section 6) instead of client credentials; refresh tokens the server returns replace it in memory."},
    {.name = "refresh_margin", .type = SC_T_DURATION, .def = "\"30s\"", .flags = SC_P_STATIC,
     .doc = "oauth2: a token is renewed this long before its expires_in runs out."},
    {0},
};

static const struct sc_param tls_fields[] = {
    {.name = "cert", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "PEM file of the client certificate (mutual TLS)."},
    {.name = "key", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "The client certificate's private key: a PEM file path, or env:NAME holding the PEM."},
    {.name = "ca", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "PEM file of the CA certificates that sign the server's certificate (default: the system's)."},
    {0},
};

static const char *const write_methods[] = {"POST", "PUT", "PATCH", "DELETE", NULL};

static const struct sc_param stand_in_fields[] = {
    {.name = "method", .type = SC_T_ENUM, .allowed = write_methods, .flags = SC_P_STATIC,
     .doc = "The write it answers; absent: any write."},
    {.name = "path", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Path under the connection's base URL, as steps write it: '*' matches the "
            "characters of one segment, '**' anything ('/' included): /employees/*/learning-history."},
    {.name = "status", .type = SC_T_INT, .def = "200", .flags = SC_P_STATIC,
     .doc = "Status of the answer, 200-299."},
    {.name = "body", .type = SC_T_ANY, .def = "{}", .flags = SC_P_STATIC,
     .doc = "JSON body of the answer; what the steps after it read."},
    {0},
};

static const struct sc_param conn_fields[] = {
    {.name = "base_url", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "http:// or https:// URL that step paths are appended to."},
    {.name = "access", .type = SC_T_ENUM, .def = "\"read-write\"", .allowed = access_modes,
     .flags = SC_P_STATIC,
     .doc = "read-only connections accept only GET and HEAD, at validation and at run time "
            "(unless they shadow their writes: shadow)."},
    {.name = "shadow", .type = SC_T_BOOL, .def = "false", .flags = SC_P_STATIC,
     .doc = "For a read-only connection: its writes are shadowed instead of refused: not "
            "sent, recorded in full (secrets redacted; `scenarist shadow list`), audited as "
            "shadowed, and answered by a stand-in (stand_ins; default 200 with {}). Reads are sent."},
    {.name = "stand_ins", .type = SC_T_LIST, .elem = SC_T_OBJECT, .fields = stand_in_fields,
     .flags = SC_P_STATIC,
     .doc = "The answers of shadowed writes by method and path, the first that matches; "
            "other writes get 200 with {}."},
    {.name = "auth", .type = SC_T_OBJECT, .fields = auth_fields, .flags = SC_P_STATIC,
     .doc = "How requests authenticate."},
    {.name = "timeout", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "Default request timeout for this connection."},
    {.name = "tls", .type = SC_T_OBJECT, .fields = tls_fields, .flags = SC_P_STATIC,
     .doc = "A client certificate for mutual TLS and the CA to trust: { cert: PATH, key: PATH "
            "or env:NAME, ca: PATH }."},
    {.name = "headers", .type = SC_T_MAP, .elem = SC_T_STRING, .flags = SC_P_STATIC | SC_P_TEXT,
     .doc = "Headers sent on every request; a value may hold {{ secret('NAME') }} (secrets:), "
            "sent but never recorded."},
    {.name = "query", .type = SC_T_MAP, .elem = SC_T_STRING, .flags = SC_P_STATIC | SC_P_TEXT,
     .doc = "Query parameters added to every request; a value may hold {{ secret('NAME') }}, "
            "shown as [secret:NAME] in the audit log and errors."},
    {.name = "rate", .type = SC_T_OBJECT, .fields = rate_fields, .flags = SC_P_STATIC,
     .doc = "The system's rate limit, { requests: 50, per: 10s }: every worker of the daemon "
            "spaces its requests to it so that a backlog drains at that rate, realtime events "
            "first; a 429's Retry-After stays the backstop."},
    {.name = "concurrency", .type = SC_T_INT, .flags = SC_P_STATIC,
     .doc = "Most requests in flight to this connection at once, across the daemon's workers "
            "(at least 1); default: no cap."},
    {.name = "health", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Path under base_url that `scenarist connections test` reads (GET) to check "
            "reachability and credentials; default: the base URL itself."},
    {.name = "description", .type = SC_T_STRING, .flags = SC_P_TEXT, .doc = "Free text."},
    {0},
};

static const struct sc_param hook_fields[] = {
    {.name = "scheme", .type = SC_T_ENUM, .required = true, .allowed = schemes,
     .flags = SC_P_STATIC,
     .doc = "standard-webhooks (webhook-id/-timestamp/-signature) or hub-signature "
            "(X-Hub-Signature-256)."},
    {.name = "secret", .type = SC_T_SECRET, .required = true, .flags = SC_P_STATIC,
     .doc = "Reference to the signing secret (for standard-webhooks: base64, with or without "
            "the whsec_ prefix)."},
    {.name = "tolerance", .type = SC_T_DURATION, .def = "\"5m\"", .flags = SC_P_STATIC,
     .doc = "Largest accepted age of a webhook-timestamp."},
    {0},
};

static const struct sc_param backup_fields[] = {
    {.name = "to", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Folder the daemon writes each scenario's current version to (NAME/vN.json)."},
    {.name = "cron", .type = SC_T_CRON, .required = true, .flags = SC_P_STATIC,
     .doc = "When, in the org's time zone (weekly: \"0 3 * * 0\")."},
    {0},
};

static const struct sc_param checkpoint_fields[] = {
    {.name = "cron", .type = SC_T_CRON, .flags = SC_P_STATIC,
     .doc = "When the daemon takes a checkpoint, in the org's time zone (\"*/15 * * * *\"); "
            "or every."},
    {.name = "every", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "Or: how often the daemon takes a checkpoint (\"15m\"), on the engine's clock."},
    {.name = "to", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Folder each checkpoint is written to (checkpoint-TIME.json); mount it from "
            "another machine, or ship it off."},
    {.name = "connection", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Connection each checkpoint is POSTed to as JSON (its base URL + path), checked "
            "as every write is: a read-only target, or a path leaving the base, is an error."},
    {.name = "path", .type = SC_T_STRING, .def = "\"\"", .flags = SC_P_STATIC,
     .doc = "Path under the connection's base URL."},
    {0},
};

static const struct sc_param audit_fields[] = {
    {.name = "key", .type = SC_T_SECRET, .flags = SC_P_STATIC,
     .doc = "Reference to the audit key (at least 32 characters: `openssl rand -hex 32`), kept "
            "outside the database; the log is chained by HMAC-SHA256 under it. Needed by "
            "`audit verify` and `audit checkpoint`."},
    {.name = "unkeyed_rows", .type = SC_T_INT, .flags = SC_P_STATIC,
     .doc = "Rows written before the org had a key (an unkeyed SHA-256 chain) that verify "
            "accepts ahead of the keyed ones; verify says the number."},
    {.name = "checkpoint", .type = SC_T_OBJECT, .fields = checkpoint_fields, .flags = SC_P_STATIC,
     .doc = "Checkpoints of the log's head the daemon takes on a schedule (cron or every) and "
            "sends out of the database (to a folder, a connection, or both)."},
    {0},
};

static const char *const user_roles[] = {"viewer", "operator", "approver", "admin", NULL};

static const struct sc_param user_fields[] = {
    {.name = "name", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "The person's name, recorded with every action they take (holds, audit)."},
    {.name = "role", .type = SC_T_ENUM, .required = true, .allowed = user_roles,
     .flags = SC_P_STATIC,
     .doc = "viewer reads; operator also retries incomplete executions and works queues; "
            "approver also decides holds; admin may do everything."},
    {.name = "token", .type = SC_T_SECRET, .required = true, .flags = SC_P_STATIC,
     .doc = "Reference (env:NAME or file:PATH) to the user's bearer token for the management "
            "API (at least 16 characters)."},
    {0},
};

const struct sc_param sc_org_fields[] = {
    {.name = "name", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "The org's name; the same as its file name."},
    {.name = "description", .type = SC_T_STRING, .flags = SC_P_TEXT, .doc = "Free text."},
    {.name = "timezone", .type = SC_T_TZ, .def = "\"UTC\"", .flags = SC_P_STATIC,
     .doc = "Default time zone of schedules."},
    {.name = "base_url", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Public URL of this org's daemon; execution.url links and sent_from are built "
            "from it; default: the daemon's own --listen address (the port it really got), "
            "scenarist://NAME outside the daemon."},
    {.name = "store", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Database file (a relative path is under the state folder, --state-dir); default "
            "var/NAME/scenarist.db in a checkout, STATE/NAME/scenarist.db installed. Or a "
            "PostgreSQL database shared by several daemons: a libpq URI postgresql://USER@HOST/DB?..., "
            "its password by a secret reference (password=env:NAME or password=file:PATH), never "
            "in the file."},
    {.name = "store_key", .type = SC_T_SECRET, .flags = SC_P_STATIC,
     .doc = "Reference to the key (64 hex digits) that seals confidential scenarios' data in "
            "the store; default: the file STORE.key beside the database, made on first use (a "
            "PostgreSQL store needs one)."},
    {.name = "settings", .type = SC_T_OBJECT, .flags = SC_P_STATIC,
     .doc = "Values scenarios read as env.NAME (not the process environment); recorded "
            "wherever a step uses them, so a secret reference here is an error (use secrets:)."},
    {.name = "secrets", .type = SC_T_MAP, .elem = SC_T_SECRET, .flags = SC_P_STATIC,
     .doc = "Named secret references (env:NAME or file:PATH) that steps place in a header or "
            "query parameter with {{ secret('NAME') }}; never logged, recorded or shown."},
    {.name = "connections", .type = SC_T_MAP, .elem = SC_T_OBJECT, .fields = conn_fields,
     .required = true, .flags = SC_P_STATIC, .doc = "Named connections scenarios use."},
    {.name = "webhooks", .type = SC_T_MAP, .elem = SC_T_OBJECT, .fields = hook_fields,
     .flags = SC_P_STATIC, .doc = "Named inbound webhook secrets, used by triggers' auth."},
    {.name = "backup", .type = SC_T_OBJECT, .fields = backup_fields, .flags = SC_P_STATIC,
     .doc = "A scheduled backup of every scenario's current version, run by the daemon."},
    {.name = "lease", .type = SC_T_DURATION, .def = "\"30s\"", .flags = SC_P_STATIC,
     .doc = "How long a running execution stays its process's after the last heartbeat "
            "(renewed every third of it); another process may resume it only after. At least 1s."},
    {.name = "audit", .type = SC_T_OBJECT, .fields = audit_fields, .flags = SC_P_STATIC,
     .doc = "The audit log's key and checkpoints."},
    {.name = "retention", .type = SC_T_OBJECT, .fields = sc_org_retention_fields,
     .flags = SC_P_STATIC, .doc = "How long executions, closed queue items and shadowed "
     "writes are kept, and when old audit rows are archived; the daemon prunes in batches."},
    {.name = "targets", .type = SC_T_MAP, .elem = SC_T_OBJECT, .fields = sc_org_target_fields,
     .flags = SC_P_STATIC, .doc = "Named health targets: a metric over a window against a "
     "threshold, checked by `metrics --check` and by the daemon, which can notify a connection."},
    {.name = "users", .type = SC_T_LIST, .elem = SC_T_OBJECT, .fields = user_fields,
     .flags = SC_P_STATIC, .doc = "People who use the management API (serve --admin-listen) "
     "and the console, each with a role and a bearer token."},
    {0},
};

/* A connection's rate and concurrency: positive, and a spacing of at least 1 ms. */
static void check_rate(struct sc_check *c, const char *k, const json_t *conn)
{
    char at[320];
    json_t *rate = json_object_get(conn, "rate");
    json_t *n = json_object_get(rate, "requests"), *cc = json_object_get(conn, "concurrency");
    int64_t per = sc_duration_or(json_string_value(json_object_get(rate, "per")), -1);
    snprintf(at, sizeof at, "connections/%s/rate/requests", k);
    if (json_is_integer(n) && json_integer_value(n) < 1)
        sc_check_error(c, at, "rate.requests must be at least 1 (a connection that must not be "
                       "called is better left out of the org)");
    snprintf(at, sizeof at, "connections/%s/rate/per", k);
    if (json_is_integer(n) && json_integer_value(n) >= 1 && per >= 0 &&
        per < json_integer_value(n))
        sc_check_error(c, at, "rate.per must be at least 1ms per request (%lld requests need "
                       "at least %lldms)", (long long)json_integer_value(n),
                       (long long)json_integer_value(n));
    snprintf(at, sizeof at, "connections/%s/concurrency", k);
    if (json_is_integer(cc) && json_integer_value(cc) < 1)
        sc_check_error(c, at, "concurrency must be at least 1");
}

static bool http_url(const char *u)
{
    return u && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)) &&
           strlen(u) > strlen("http://");
}

/* A postgresql:// store names its password by a secret reference, never the password:
 * NULL when it does (or is a file), else why not. */
static bool pg_store(const char *store)
{
    return sc_conninfo_is_pg(store);
}

static const char *store_password(const char *store)
{
    if (sc_conninfo_foreign(store))
        return "a store is a SQLite file path or a postgresql:// address";
    if (sc_conninfo_unreadable(store))
        return "the store's address is not a connection URI libpq can read (its keys and "
               "values percent-encoded once): postgresql://USER@HOST/DB?password=env:NAME";
    enum sc_conninfo_pw pw = sc_conninfo_password(store);
    if (pw != SC_CONNINFO_PW_NONE && !pg_store(store))
        return "the store is a database file or a postgresql:// URI, never a libpq key=value "
               "string with a password in it: postgresql://USER@HOST/DB?password=env:NAME "
               "(or file:PATH) names the password by a secret reference";
    if (pw == SC_CONNINFO_PW_USERINFO)
        return "a PostgreSQL store's password is never written in the org file: name it by a "
               "secret reference, postgresql://USER@HOST/DB?password=env:NAME (or file:PATH)";
    if (pw == SC_CONNINFO_PW_LITERAL)
        return "the store's password must be a secret reference, password=env:NAME or "
               "password=file:PATH, never the password itself";
    if (pw == SC_CONNINFO_PW_EMPTY)
        return "the store's password reference is empty: name the password by a secret "
               "reference, postgresql://USER@HOST/DB?password=env:NAME (or file:PATH)";
    return NULL;
}

/* shadow: needs a read-only connection; stand_ins need shadow, answer 2xx, match paths. */
static void shadow_check(struct sc_check *c, const char *name, const json_t *conn)
{
    char at[320];
    bool shadow = json_is_true(json_object_get(conn, "shadow"));
    const char *access = json_string_value(json_object_get(conn, "access"));
    json_t *ins = json_object_get(conn, "stand_ins");
    snprintf(at, sizeof at, "connections/%s/shadow", name);
    if (shadow && (!access || strcmp(access, "read-only")))
        sc_check_error(c, at, "shadow applies to a read-only connection: add access: read-only "
                       "(a read-write connection sends its writes)");
    snprintf(at, sizeof at, "connections/%s/stand_ins", name);
    if (ins && !shadow)
        sc_check_error(c, at, "stand_ins answer shadowed writes: add shadow: true");
    size_t i;
    json_t *e;
    json_array_foreach(ins, i, e) {
        json_t *st = json_object_get(e, "status");
        const char *path = json_string_value(json_object_get(e, "path"));
        snprintf(at, sizeof at, "connections/%s/stand_ins/%zu/status", name, i);
        if (json_is_integer(st) && (json_integer_value(st) < 200 || json_integer_value(st) > 299))
            sc_check_error(c, at, "a stand-in answers with a success status (200-299), not %lld",
                           (long long)json_integer_value(st));
        snprintf(at, sizeof at, "connections/%s/stand_ins/%zu/path", name, i);
        if (path && path[0] != '/')
            sc_check_error(c, at, "a stand-in's path starts with '/', as steps write it under "
                           "the base URL: '/%s'", path);
        else if (path && (strchr(path, '?') || strstr(path, "{{")))
            sc_check_error(c, at, "a stand-in's path is a pattern of the path alone ('*', "
                           "'**'): no query, no {{ }}");
    }
}

/* oauth2 needs token_url (an http(s) URL) and client_id; the oauth2 fields belong to it. */
static void oauth_check(struct sc_check *c, const char *k, const json_t *auth, const char *kind)
{
    static const char *const own[] = {"token_url", "client_id", "scopes", "audience",
                                      "refresh_token", NULL};
    char at[320];
    bool oauth = kind && !strcmp(kind, "oauth2");
    for (const char *const *f = own; *f; f++) {
        snprintf(at, sizeof at, "connections/%s/auth/%s", k, *f);
        if (!oauth && json_object_get(auth, *f))
            sc_check_error(c, at, "%s belongs to auth kind oauth2, not %s", *f, kind ? kind : "none");
    }
    if (!oauth)
        return;
    snprintf(at, sizeof at, "connections/%s/auth", k);
    const char *url = json_string_value(json_object_get(auth, "token_url"));
    if (!url)
        sc_check_error(c, at, "auth kind oauth2 needs token_url (the token endpoint)");
    if (!json_object_get(auth, "client_id"))
        sc_check_error(c, at, "auth kind oauth2 needs client_id");
    snprintf(at, sizeof at, "connections/%s/auth/token_url", k);
    struct sc_url u;
    char why[300];
    if (url && !http_url(url))
        sc_check_error(c, at, "token_url must be an http:// or https:// URL");
    else if (url && sc_url_parse(url, &u, why, sizeof why) != 0)
        sc_check_error(c, at, "%s", why);
    else if (url)
        sc_url_free(&u);
}

/* tls: cert and key go together. */
static void tls_check(struct sc_check *c, const char *k, const json_t *tls)
{
    char at[320];
    snprintf(at, sizeof at, "connections/%s/tls", k);
    if (tls && !json_object_get(tls, "cert") != !json_object_get(tls, "key"))
        sc_check_error(c, at, "a client certificate needs both cert and key");
    const char *key = json_string_value(json_object_get(tls, "key"));
    snprintf(at, sizeof at, "connections/%s/tls/key", k);
    if (key && !strncmp(key, "file:", 5))
        sc_check_error(c, at, "write the key's file as a path (%s), or env:NAME for the PEM "
                       "itself", key + 5);
}

/* A connection's headers or query: each {{ secret('NAME') }} names a declared secret, and
 * no other {{ }} (an org file is not a template). */
static void refs_check(struct sc_check *c, const json_t *root, const char *k, const char *what,
                       const json_t *map)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)map, name, v) {
        const char *s = json_string_value(v);
        char at[400], sn[SC_SECRET_NAME_MAX + 1];
        snprintf(at, sizeof at, "connections/%s/%s/%s", k, what, name);
        size_t len = s ? strlen(s) : 0, from = 0, a, e;
        long bad = -1;
        while (s && sc_secret_find(s + from, len - from, true, &a, &e, sn, &bad)) {
            if (!json_object_get(json_object_get(root, "secrets"), sn))
                sc_check_error(c, at, "secret('%s') is not declared under secrets: in this org", sn);
            from += e;
        }
        if (bad >= 0 || (s && strstr(s + from, "{{")))
            sc_check_error(c, at, "an org file is not a template: the only {{ }} here is "
                           "{{ secret('NAME') }}");
    }
}

/* settings are read as env.NAME and recorded wherever a step uses them: a secret
 * reference there would be rendered as its literal text, or its value recorded. */
static void settings_check(struct sc_check *c, const json_t *root)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(root, "settings"), k, v) {
        const char *s = json_string_value(v);
        char at[320];
        snprintf(at, sizeof at, "settings/%s", k);
        if (s && (!strncmp(s, "env:", 4) || !strncmp(s, "file:", 5)))
            sc_check_error(c, at, "settings are plain values (env.%s would read the text '%s', "
                           "and steps record what they read): declare the secret under "
                           "secrets: and use {{ secret('%s') }} in a header or query parameter",
                           k, s, k);
    }
}

/* Each user has a token of their own: two users naming the same reference would act under
 * one name (the first's), so the second is an error naming both. */
static void users_check(struct sc_check *c, const json_t *root)
{
    const json_t *users = json_object_get(root, "users"), *u, *v;
    size_t i, k;
    json_array_foreach(users, i, u) {
        const char *ref = json_string_value(json_object_get(u, "token"));
        json_array_foreach(users, k, v) {
            if (k >= i || !ref || strcmp(ref, json_string_value(json_object_get(v, "token")) ?
                                                   json_string_value(json_object_get(v, "token"))
                                                   : ""))
                continue;
            char at[64];
            snprintf(at, sizeof at, "users/%zu/token", i);
            sc_check_error(c, at, "users %s and %s share token %s: each user needs their own "
                           "(an action is recorded under the user its token names)",
                           json_string_value(json_object_get(v, "name")),
                           json_string_value(json_object_get(u, "name")), ref);
            break;
        }
    }
}

static void org_check(struct sc_check *c, const json_t *root)
{
    settings_check(c, root);
    users_check(c, root);
    const char *store = json_string_value(json_object_get(root, "store"));
    const char *bad_store = store_password(store);
    if (bad_store)
        sc_check_error(c, "store", "%s", bad_store);
    else if (pg_store(store) && !json_object_get(root, "store_key"))
        sc_check_error(c, "store", "a PostgreSQL store needs store_key (a secret reference to 64 "
                       "hexadecimal digits): no key file lives beside a database on another "
                       "machine, and confidential data is sealed with it");
    const char *k;
    json_t *conn;
    json_object_foreach(json_object_get(root, "connections"), k, conn) {
        char at[320];
        const char *url = json_string_value(json_object_get(conn, "base_url"));
        struct sc_url u;
        char why[300];
        snprintf(at, sizeof at, "connections/%s/base_url", k);
        if (url && !http_url(url)) {
            sc_check_error(c, at, "base_url must be an http:// or https:// URL");
        } else if (url && sc_url_parse(url, &u, why, sizeof why) != 0) {
            sc_check_error(c, at, "%s", why);
        } else if (url) {
            sc_url_free(&u);
        }
        shadow_check(c, k, conn);
        json_t *auth = json_object_get(conn, "auth");
        const char *kind = json_string_value(json_object_get(auth, "kind"));
        snprintf(at, sizeof at, "connections/%s/auth", k);
        if (kind && strcmp(kind, "none") && !json_object_get(auth, "secret") &&
            !(!strcmp(kind, "oauth2") && json_object_get(auth, "refresh_token")))
            sc_check_error(c, at, "auth kind %s needs a secret reference", kind);
        oauth_check(c, k, auth, kind);
        tls_check(c, k, json_object_get(conn, "tls"));
        refs_check(c, root, k, "headers", json_object_get(conn, "headers"));
        refs_check(c, root, k, "query", json_object_get(conn, "query"));
        if (kind && !strcmp(kind, "basic") && !json_object_get(auth, "username"))
            sc_check_error(c, at, "auth kind basic needs a username");
        check_rate(c, k, conn);
    }
    json_t *audit = json_object_get(root, "audit");
    json_t *cp = json_object_get(audit, "checkpoint");
    if (cp && !json_object_get(audit, "key"))
        sc_check_error(c, "audit/checkpoint", "checkpoints need the org's audit key (audit.key)");
    if (cp && !json_object_get(cp, "cron") == !json_object_get(cp, "every"))
        sc_check_error(c, "audit/checkpoint", "a checkpoint schedule takes cron or every, one of them");
    if (cp && !json_object_get(cp, "to") && !json_object_get(cp, "connection"))
        sc_check_error(c, "audit/checkpoint", "a checkpoint needs somewhere to go: to (a folder), "
                       "connection, or both");
    const char *cpc = json_string_value(json_object_get(cp, "connection"));
    if (cpc && !json_object_get(json_object_get(root, "connections"), cpc))
        sc_check_error(c, "audit/checkpoint/connection", "no connection '%s' in this org", cpc);
    const char *url = json_string_value(json_object_get(root, "base_url"));
    if (url && !http_url(url))
        sc_check_error(c, "base_url", "base_url must be an http:// or https:// URL");
    const char *lease = json_string_value(json_object_get(root, "lease"));
    if (lease && sc_duration_or(lease, 0) > 0 && sc_duration_or(lease, 0) < 1000)
        sc_check_error(c, "lease", "lease must be at least 1s: a shorter one would expire "
                       "between two heartbeats of a busy process");
    sc_org_targets_check(c, root);
    sc_org_retention_check(c, root);
}

static bool is_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 5 && !strcmp(s + n - 5, ".yaml")) ||
           (n > 4 && !strcmp(s + n - 4, ".yml"));
}

static const struct sc_param domain_fields[] = {
    {.name = "authority", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "The system whose data wins for this domain."},
    {.name = "writes_to", .type = SC_T_LIST, .elem = SC_T_STRING, .required = true,
     .flags = SC_P_STATIC, .doc = "The systems scenarios may write this domain to."},
    {.name = "conflict", .type = SC_T_STRING, .flags = SC_P_TEXT,
     .doc = "The rule when the systems disagree, for people."},
    {0},
};

const struct sc_param sc_matrix_fields[] = {
    {.name = "systems", .type = SC_T_MAP, .elem = SC_T_STRING, .required = true,
     .flags = SC_P_STATIC, .doc = "Connection name -> the system it reaches."},
    {.name = "domains", .type = SC_T_MAP, .elem = SC_T_OBJECT, .fields = domain_fields,
     .required = true, .flags = SC_P_STATIC, .doc = "Data domain -> its authority and directions."},
    {0},
};

/* system-of-record.yaml beside the org file, when there is one. */
static struct sc_doc *load_matrix(const char *org_path, struct sc_diags *d)
{
    const char *slash = strrchr(org_path, '/');
    char *path = sc_asprintf("%.*ssystem-of-record.yaml", slash ? (int)(slash - org_path + 1) : 0,
                             org_path);
    struct sc_doc *m = NULL;
    if (path && access(path, R_OK) == 0 && (m = sc_doc_load_file(path, d)))
        sc_validate_config(m, sc_matrix_fields, "the system-of-record matrix", NULL, d);
    free(path);
    return m;
}

static int64_t ms_of(const json_t *obj, const char *key)
{
    return sc_duration_or(json_string_value(json_object_get(obj, key)), 0);
}

static const char *str_of(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static enum sc_org_auth auth_kind(const char *kind)
{
    for (int i = 0; kind && auth_kinds[i]; i++)
        if (!strcmp(kind, auth_kinds[i]))
            return (enum sc_org_auth)i; /* auth_kinds is in the enum's order */
    return SC_ORG_AUTH_NONE;
}

/* auth kind oauth2's fields; the scopes joined by spaces (kept in the document). */
static int resolve_oauth(struct sc_org_conn *x, json_t *auth)
{
    x->oauth.token_url = str_of(auth, "token_url");
    x->oauth.client_id = str_of(auth, "client_id");
    x->oauth.audience = str_of(auth, "audience");
    x->oauth.client_auth = !strcmp(str_of(auth, "client_auth"), "body") ? SC_ORG_CLIENT_BODY
                                                                         : SC_ORG_CLIENT_BASIC;
    x->oauth.margin_ms = ms_of(auth, "refresh_margin");
    x->oauth.refresh.ref = str_of(auth, "refresh_token");
    json_t *scopes = json_object_get(auth, "scopes");
    if (json_array_size(scopes)) {
        struct sc_buf b = {0};
        size_t i;
        json_t *e;
        json_array_foreach(scopes, i, e) {
            if (i)
                sc_buf_puts(&b, " ");
            sc_buf_puts(&b, json_string_value(e));
        }
        if (!(x->oauth.scope = sc_buf_take(&b)))
            return -1;
    }
    return 0;
}

static int resolve_secrets_map(struct sc_org *org, json_t *secrets)
{
    org->secrets = sc_calloc(json_object_size(secrets) + 1, sizeof *org->secrets);
    if (!org->secrets)
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(secrets, k, v) {
        struct sc_org_secret *x = &org->secrets[org->nsecrets++];
        x->name = k;
        x->cred.ref = json_string_value(v);
    }
    return 0;
}

/* Every connection: base URL parsed to normal form, access, auth and timeout. */
static int resolve_conns(struct sc_org *org, json_t *conns)
{
    org->conns = sc_calloc(json_object_size(conns) + 1, sizeof *org->conns);
    if (!org->conns)
        return -1;
    const char *k;
    json_t *c;
    json_object_foreach(conns, k, c) {
        struct sc_org_conn *x = &org->conns[org->nconns];
        json_t *auth = json_object_get(c, "auth");
        char err[300];
        x->base_url = str_of(c, "base_url");
        if (!x->base_url || sc_url_parse(x->base_url, &x->url, err, sizeof err) != 0)
            return -1;
        org->nconns++;
        x->name = k;
        x->read_only = !strcmp(str_of(c, "access"), "read-only");
        x->shadow = x->read_only && json_is_true(json_object_get(c, "shadow"));
        x->stand_ins = json_object_get(c, "stand_ins");
        x->auth = auth_kind(str_of(auth, "kind"));
        x->username = str_of(auth, "username");
        x->header = str_of(auth, "header");
        x->secret.ref = x->auth != SC_ORG_AUTH_NONE ? str_of(auth, "secret") : NULL;
        x->timeout_ms = ms_of(c, "timeout");
        json_t *rate = json_object_get(c, "rate");
        x->rate_requests = (long)json_integer_value(json_object_get(rate, "requests"));
        x->rate_per_ms = ms_of(rate, "per");
        x->concurrency = (int)json_integer_value(json_object_get(c, "concurrency"));
        if (x->auth == SC_ORG_AUTH_OAUTH2 && resolve_oauth(x, auth) != 0)
            return -1;
        json_t *tls = json_object_get(c, "tls");
        x->tls.cert = str_of(tls, "cert");
        x->tls.ca = str_of(tls, "ca");
        x->tls.key = str_of(tls, "key");
        if (x->tls.key && !strncmp(x->tls.key, "env:", 4)) {
            x->tls.key_secret.ref = x->tls.key;
            x->tls.key = NULL;
        }
        x->headers = json_object_get(c, "headers");
        x->query = json_object_get(c, "query");
    }
    return 0;
}

static int resolve_hooks(struct sc_org *org, json_t *hooks)
{
    org->hooks = sc_calloc(json_object_size(hooks) + 1, sizeof *org->hooks);
    if (!org->hooks)
        return -1;
    const char *k;
    json_t *h;
    json_object_foreach(hooks, k, h) {
        struct sc_org_hook *x = &org->hooks[org->nhooks++];
        x->name = k;
        x->scheme = str_of(h, "scheme");
        x->secret.ref = str_of(h, "secret");
        x->tolerance_ms = ms_of(h, "tolerance");
    }
    return 0;
}

/* The org file's fields into the struct: defaults were filled from the tables. */
static int resolve(struct sc_org *org)
{
    json_t *root = org->doc->root, *audit = json_object_get(root, "audit");
    json_t *cp = json_object_get(audit, "checkpoint"), *bk = json_object_get(root, "backup");
    org->timezone = str_of(root, "timezone");
    org->url = str_of(root, "base_url");
    org->store = str_of(root, "store");
    org->store_key = str_of(root, "store_key");
    org->settings = json_object_get(root, "settings");
    org->lease_ms = ms_of(root, "lease");
    org->audit.key = str_of(audit, "key");
    org->audit.unkeyed_rows = json_integer_value(json_object_get(audit, "unkeyed_rows"));
    org->audit.checkpoint = cp != NULL;
    org->audit.cp_cron = str_of(cp, "cron");
    org->audit.cp_every_ms = ms_of(cp, "every");
    org->audit.cp_to = str_of(cp, "to");
    org->audit.cp_connection = str_of(cp, "connection");
    org->audit.cp_path = str_of(cp, "path");
    org->backup.to = str_of(bk, "to");
    org->backup.cron = str_of(bk, "cron");
    sc_org_retention_resolve(org);
    return resolve_conns(org, json_object_get(root, "connections")) != 0 ||
                   resolve_hooks(org, json_object_get(root, "webhooks")) != 0 ||
                   resolve_secrets_map(org, json_object_get(root, "secrets")) != 0 ||
                   sc_org_targets_resolve(org) != 0
               ? -1
               : 0;
}

/* The scheduled checkpoint's POST (audit.checkpoint.connection + path) passes the checks
 * of every write: an error at its path, or its connection when the path is not written. */
static int checkpoint_target(struct sc_org *org, struct sc_diags *d)
{
    const char *conn = org->audit.cp_connection, *path = org->audit.cp_path;
    struct sc_url t;
    char why[700];
    if (!conn)
        return 0;
    if (sc_org_write_target(org, conn, path, &t, why, sizeof why) == 0) {
        sc_url_free(&t);
        return 0;
    }
    const struct sc_node_pos *np = sc_doc_pos(org->doc, "/audit/checkpoint/path");
    if (!np)
        np = sc_doc_pos(org->doc, "/audit/checkpoint/connection");
    sc_diag_add(d, SC_SEV_ERROR, &org->doc->src, np ? np->val.line : 0, np ? np->val.col : 0,
                np ? np->val.len : 0, "the audit checkpoint cannot be POSTed there: %s", why);
    return -1;
}

struct sc_org *sc_org_load(const char *name_or_path, struct sc_diags *d)
{
    char *path = is_path(name_or_path) ? sc_strdup(name_or_path)
                                       : sc_asprintf("%s%sorgs/%s.yaml", sc_paths_config(),
                                                     *sc_paths_config() ? "/" : "", name_or_path);
    if (!path)
        return NULL;
    size_t errors = d->errors;
    struct sc_doc *doc = sc_doc_load_file(path, d);
    if (doc)
        sc_validate_config(doc, sc_org_fields, "the org", org_check, d);
    const char *name = doc ? json_string_value(json_object_get(doc->root, "name")) : NULL;
    if (doc && name && !is_path(name_or_path) && strcmp(name, name_or_path) != 0) {
        char at[8] = "/name";
        const struct sc_node_pos *np = sc_doc_pos(doc, at);
        sc_diag_add(d, SC_SEV_ERROR, &doc->src, np ? np->val.line : 0, np ? np->val.col : 0,
                    np ? np->val.len : 0, "org file %s names itself '%s'", path, name);
    }
    struct sc_doc *matrix = doc ? load_matrix(path, d) : NULL;
    free(path);
    if (!doc || d->errors > errors) {
        sc_doc_free(doc);
        sc_doc_free(matrix);
        return NULL;
    }
    struct sc_org *org = sc_calloc(1, sizeof *org);
    if (!org) {
        sc_doc_free(doc);
        sc_doc_free(matrix);
        return NULL;
    }
    org->doc = doc;
    org->name = name;
    org->matrix_doc = matrix;
    org->matrix = matrix ? matrix->root : NULL;
    /* only memory can fail here (validation parsed and checked it all), and the
     * checkpoint's target, which needs the resolved connections */
    if (sc_param_fill(sc_org_fields, doc->root) != 0 || resolve(org) != 0 ||
        sc_org_resolve_secrets(org) != 0 || checkpoint_target(org, d) != 0) {
        sc_org_free(org);
        return NULL;
    }
    return org;
}


int sc_org_users_check(const struct sc_org *org, struct sc_diags *d)
{
    const json_t *users = json_object_get(org->doc->root, "users"), *u;
    size_t i, n = json_array_size(users);
    char **tokens = calloc(n + 1, sizeof *tokens);
    int bad = 0;
    if (!tokens)
        return -1;
    json_array_foreach(users, i, u) {
        const char *name = json_string_value(json_object_get(u, "name"));
        const char *ref = json_string_value(json_object_get(u, "token"));
        char path[64], why[300];
        snprintf(path, sizeof path, "/users/%zu/token", i);
        const struct sc_node_pos *np = sc_doc_pos(org->doc, path);
        struct sc_pos pos = np ? np->val : (struct sc_pos){0, 0, 0};
        tokens[i] = ref ? sc_org_secret(ref, why, sizeof why) : NULL;
        const char *twin = NULL;
        for (size_t k = 0; tokens[i] && k < i && !twin; k++)
            if (tokens[k] && !strcmp(tokens[k], tokens[i]))
                twin = json_string_value(json_object_get(json_array_get(users, k), "name"));
        if (!tokens[i])
            sc_diag_add(d, SC_SEV_ERROR, &org->doc->src, pos.line, pos.col, pos.len,
                        "user %s: %s", name, ref ? why : "no token");
        else if (strlen(tokens[i]) < 16)
            sc_diag_add(d, SC_SEV_ERROR, &org->doc->src, pos.line, pos.col, pos.len,
                        "user %s: token %s is shorter than 16 characters", name, ref);
        else if (twin)
            sc_diag_add(d, SC_SEV_ERROR, &org->doc->src, pos.line, pos.col, pos.len,
                        "users %s and %s have the same token: each user needs their own (an "
                        "action is recorded under the user its token names)", twin, name);
        else
            continue;
        bad++;
    }
    for (i = 0; i < n; i++)
        if (tokens[i]) {
            explicit_bzero(tokens[i], strlen(tokens[i]));
            free(tokens[i]);
        }
    free(tokens);
    return bad;
}
