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

static json_t *audit_conf(const struct sc_org *org)
{
    return json_object_get(org->doc->root, "audit");
}

const char *sc_audit_key_ref(const struct sc_org *org)
{
    return json_string_value(json_object_get(audit_conf(org), "key"));
}

void sc_audit_setup(struct sc_store *st, const struct sc_org *org)
{
    json_t *n = json_object_get(audit_conf(org), "unkeyed_rows");
    sc_store_audit_key(st, sc_audit_key_ref(org), json_is_integer(n) ? json_integer_value(n) : 0);
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
    json_t *conn = sc_org_connection(org, connection);
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
    json_t *auth = json_object_get(conn, "auth");
    const char *kind = json_string_value(json_object_get(auth, "kind"));
    char *secret = NULL, *auth_line = NULL;
    if (kind && strcmp(kind, "none")) {
        if (!(secret = sc_org_secret(json_string_value(json_object_get(auth, "secret")), err,
                                     errlen))) {
            free(url);
            return -1;
        }
        if (!strcmp(kind, "bearer"))
            auth_line = sc_asprintf("Authorization: Bearer %s", secret);
        else if (!strcmp(kind, "api-key"))
            auth_line = sc_asprintf("%s: %s", json_string_value(json_object_get(auth, "header"))
                                    ? json_string_value(json_object_get(auth, "header"))
                                    : "X-API-Key", secret);
    }
    char *body = json_dumps(cp, JSON_COMPACT);
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json",
                             auth_line, NULL};
    struct sc_http_req req = {.method = "POST", .url = url, .headers = headers,
                              .username = kind && !strcmp(kind, "basic")
                                  ? json_string_value(json_object_get(auth, "username")) : NULL,
                              .password = secret, .body = body,
                              .body_len = body ? strlen(body) : 0, .timeout_ms = 30000};
    struct sc_http_resp resp = {0};
    int rc = -1;
    if (!url || !body || (secret && strcmp(kind, "basic") && !auth_line))
        snprintf(err, errlen, "out of memory");
    else if (sc_http_send(http, &req, &resp, err, errlen) == SC_OK && resp.status / 100 != 2)
        snprintf(err, errlen, "POST %s: HTTP %ld, not 2xx", url, resp.status);
    else if (resp.status / 100 == 2)
        rc = 0;
    sc_http_resp_free(&resp);
    if (secret) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
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
    json_t *conf = json_object_get(audit_conf(org), "checkpoint"), *problem = NULL;
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
    const char *dir = json_string_value(json_object_get(conf, "to"));
    const char *conn = json_string_value(json_object_get(conf, "connection"));
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
        rc = sc_audit_post(http, org, conn, json_string_value(json_object_get(conf, "path")), cp,
                           err, errlen);
    if (rc == 0)
        snprintf(err, errlen, "%lld rows, last %.16s...",
                 (long long)json_integer_value(json_object_get(cp, "count")),
                 json_string_value(json_object_get(cp, "last_hash")));
    json_decref(cp);
    return rc;
}
