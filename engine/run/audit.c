#include "run/audit.h"

#include "clock.h"
#include "util.h"
#include "model/url.h"
#include "model/yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *sc_audit_key_ref(const struct sc_org *org)
{
    return org->audit.key;
}

void sc_audit_setup(struct sc_store *st, const struct sc_org *org)
{
    sc_store_audit_key(st, sc_audit_key_ref(org), org->audit.unkeyed_rows);
}

int64_t sc_audit_person(struct sc_store *st, const struct sc_audit_act *a)
{
    char to[512];
    snprintf(to, sizeof to, "scenarist:%s", a->object);
    struct sc_audit_row r = {.at_ms = sc_clock_now_ms(), .org = a->org, .scenario = a->scenario,
                             .version = a->version, .execution = a->execution, .step = a->step,
                             .method = a->action, .sent_to = to, .outcome = "done",
                             .body = a->note, .body_len = a->note ? strlen(a->note) : 0,
                             .by = a->by};
    return sc_store_audit_add(st, &r);
}

int sc_audit_write(const json_t *cp, const char *path, char *err, size_t errlen)
{
    char *text = json_dumps(cp, JSON_INDENT(2));
    char *tmp = sc_asprintf("%s.tmp", path);
    FILE *f = tmp && text ? fopen(tmp, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f)
        ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        snprintf(err, errlen, "checkpoint %s cannot be written: %s", path,
                 text && tmp ? strerror(errno) : "out of memory");
        if (tmp)
            unlink(tmp);
    }
    free(tmp);
    free(text);
    return ok ? 0 : -1;
}

int sc_audit_post(struct sc_http *http, const struct sc_org *org, const char *connection,
                  const char *path, const json_t *cp, char *err, size_t errlen)
{
    const struct sc_org_conn *conn = sc_org_connection(org, connection);
    if (!conn) {
        snprintf(err, errlen, "connection '%s' is not defined in org '%s'", connection, org->name);
        return -1;
    }
    /* the same checks as a step's write: a checkpoint is no way past read-only */
    struct sc_url t;
    char why[700];
    if (sc_org_write_target(org, connection, path, &t, why, sizeof why) != 0) {
        snprintf(err, errlen, "POST refused (nothing was sent): %s", why);
        return -1;
    }
    char *url = t.full;
    t.full = NULL;
    sc_url_free(&t);
    const char *secret = conn->secret.value; /* read once, at the org's load */
    char *auth_line = NULL;
    if (conn->auth != SC_ORG_AUTH_NONE) {
        if (!secret) {
            snprintf(err, errlen, "%s", conn->secret.err);
            free(url);
            return -1;
        }
        if (conn->auth == SC_ORG_AUTH_BEARER)
            auth_line = sc_asprintf("Authorization: Bearer %s", secret);
        else if (conn->auth == SC_ORG_AUTH_API_KEY)
            auth_line = sc_asprintf("%s: %s", conn->header, secret);
    }
    char *body = json_dumps(cp, JSON_COMPACT);
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
                             auth_line, NULL};
    struct sc_http_req req = {.method = "POST", .url = url, .headers = headers,
                              .username = conn->auth == SC_ORG_AUTH_BASIC ? conn->username : NULL,
                              .password = secret, .body = body,
                              .body_len = body ? strlen(body) : 0, .timeout_ms = 30000};
    struct sc_http_resp resp = {0};
    int rc = -1;
    if (!url || !body || (secret && conn->auth != SC_ORG_AUTH_BASIC && !auth_line))
        snprintf(err, errlen, "out of memory");
    else if (sc_http_send(http, &req, &resp, err, errlen) == SC_OK && resp.status / 100 != 2)
        snprintf(err, errlen, "POST %s: HTTP %ld, not 2xx", url, resp.status);
    else if (resp.status / 100 == 2)
        rc = 0;
    sc_http_resp_free(&resp);
    if (auth_line) {
        memset(auth_line, 0, strlen(auth_line));
        free(auth_line);
    }
    free(url);
    free(body);
    return rc;
}

int sc_audit_checkpoint_run(struct sc_store *st, const struct sc_org *org, struct sc_http *http,
                            char *err, size_t errlen)
{
    json_t *problem = NULL;
    json_t *cp = sc_store_audit_checkpoint(st, org->name, &problem);
    if (!cp) {
        if (problem && json_object_get(problem, "row"))
            snprintf(err, errlen, "the audit log is not intact (row %lld %s): no checkpoint taken",
                     (long long)json_integer_value(json_object_get(problem, "row")),
                     json_string_value(json_object_get(problem, "reason")));
        else
            snprintf(err, errlen, "%s", problem ? json_string_value(json_object_get(problem, "reason"))
                                                : sc_store_error(st));
        json_decref(problem);
        return -1;
    }
    int rc = 0;
    const char *dir = org->audit.cp_to;
    const char *conn = org->audit.cp_connection;
    if (dir) {
        char stamp[40], name[40];
        snprintf(stamp, sizeof stamp, "%s", json_string_value(json_object_get(cp, "at")));
        size_t k = 0;
        for (const char *p = stamp; *p && k + 1 < sizeof name; p++)
            if (*p != '-' && *p != ':')
                name[k++] = *p;
        name[k] = '\0';
        char *path = sc_asprintf("%s/checkpoint-%s.json", dir, name);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "checkpoint folder %s cannot be made: %s", dir, strerror(errno));
            rc = -1;
        } else if (!path || sc_audit_write(cp, path, err, errlen) != 0) {
            rc = -1;
        }
        free(path);
    }
    if (rc == 0 && conn)
        rc = sc_audit_post(http, org, conn, org->audit.cp_path, cp,
                           err, errlen);
    if (rc == 0)
        snprintf(err, errlen, "%lld rows, last %.16s...",
                 (long long)json_integer_value(json_object_get(cp, "count")),
                 json_string_value(json_object_get(cp, "last_hash")));
    json_decref(cp);
    return rc;
}

bool sc_audit_org_keyed(const struct sc_org *org, const char *what, char *err, size_t errlen)
{
    if (sc_audit_key_ref(org))
        return true;
    snprintf(err, errlen, "audit %s: org %s has no audit key: add `audit: { key: env:NAME }` "
             "(a secret of at least 32 characters, kept outside the database) to its org file; "
             "until then its log is chained without a key, and whoever can write the database "
             "can rewrite it unnoticed", what, org->name);
    return false;
}

json_t *sc_audit_checkpoint_take(struct sc_store *st, const struct sc_org *org, bool *broken,
                                 char *err, size_t errlen)
{
    json_t *problem = NULL;
    json_t *cp = sc_store_audit_checkpoint(st, org->name, &problem);
    *broken = !cp && problem;
    if (!cp && problem)
        snprintf(err, errlen, "audit log of org %s: row %lld %s: no checkpoint taken", org->name,
                 (long long)json_integer_value(json_object_get(problem, "row")),
                 json_string_value(json_object_get(problem, "reason")));
    else if (!cp)
        snprintf(err, errlen, "%s", sc_store_error(st));
    json_decref(problem);
    return cp;
}
