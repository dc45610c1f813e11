/* scenarist connections [list] | connections test [NAME...]: the org's connections, and a
 * read-only check of each one's reachability and credentials. The check sends one GET to
 * the connection's `health:` path (or its base URL) with the connection's auth, as a step's
 * request is built (run/request.h), never a write and never a redirect to elsewhere. A 2xx
 * is ok; 401 or 403 an auth failure, no answer (refused, timed out, TLS) unreachable, a 5xx
 * a server error: those fail. Any other answer (3xx, 404...) is "reachable": the server is
 * there, but an API may answer 404 at its base URL before it looks at credentials, so
 * nothing proves they were taken; it does not fail, yet is not counted as ok. */
#include "cli/cli.h"
#include "model/org.h"
#include "model/yaml.h"
#include "run/http.h"
#include "run/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The connection's health path as the org file gives it, else "" (the base URL). */
static const char *health_path(const struct sc_org *org, const char *name)
{
    json_t *c = json_object_get(json_object_get(org->doc->root, "connections"), name);
    const char *h = json_string_value(json_object_get(c, "health"));
    return h ? h : "";
}

/* Why no answer came, in a user's words, from libcurl's message (err); buf holds the
 * words when they need the timeout (ms). */
static const char *no_answer(const char *err, int64_t timeout_ms, char *buf, size_t n)
{
    if (strstr(err, "Couldn't connect") || strstr(err, "refused"))
        return "connection refused (nothing listens there)";
    if (strstr(err, "resolve"))
        return "host not found";
    if (strstr(err, "imed out") || strstr(err, "imeout"))
        return snprintf(buf, n, "timed out after %lld ms", (long long)timeout_ms) > 0 ? buf : err;
    if (strstr(err, "SSL") || strstr(err, "certificate"))
        return "TLS failed (certificate or handshake)";
    return err;
}

enum conn_verdict { CONN_OK, CONN_REACHABLE, CONN_FAILED };

/* Checks one connection; prints one line. */
static enum conn_verdict test_one(struct sc_http *http, const struct sc_org *org,
                                  const struct sc_org_conn *conn)
{
    struct sc_call call = {.connection = conn->name, .method = "GET",
                           .path = health_path(org, conn->name), .no_redirects = true};
    struct sc_request req;
    char err[1024];
    enum sc_status st = sc_request_build(org, &call, NULL, NULL, &req, err, sizeof err);
    if (st != SC_OK) {
        printf("%-14s %-12s %s\n", conn->name,
               conn->auth != SC_ORG_AUTH_NONE && !conn->secret.value ? "auth-missing"
                                                                      : "refused",
               err);
        sc_request_free(&req);
        return CONN_FAILED;
    }
    struct sc_http_req hr = {.method = "GET", .url = req.url,
                             .headers = (const char *const *)req.headers,
                             .username = req.username, .password = req.password,
                             .timeout_ms = req.timeout_ms < 10000 ? req.timeout_ms : 10000};
    struct sc_http_resp resp = {0};
    st = sc_http_send(http, &hr, &resp, err, sizeof err);
    const char *verdict;
    enum conn_verdict v = CONN_FAILED;
    if (resp.status == 401 || resp.status == 403)
        verdict = "auth-failed";
    else if (resp.status == 0)
        verdict = "unreachable";
    else if (resp.status >= 500)
        verdict = "server-error";
    else if (resp.status >= 200 && resp.status <= 299)
        verdict = "ok", v = CONN_OK;
    else
        verdict = "reachable", v = CONN_REACHABLE;
    char why[300] = "";
    const char *health = health_path(org, conn->name);
    if (v == CONN_REACHABLE && !*health)
        snprintf(why, sizeof why, " at the base URL (the server answers; credentials not "
                                  "checked: give the connection a health: path that needs them)");
    else if (v == CONN_REACHABLE)
        snprintf(why, sizeof why, " at its health: path %s (the server answers; credentials "
                                  "not checked: is the path right?)", health);
    if (v == CONN_FAILED && resp.status && verdict[0] == 'a')
        snprintf(why, sizeof why, ": the credentials were refused (%s%s)",
                 conn->auth == SC_ORG_AUTH_NONE ? "the connection sends none" : "auth.secret ",
                 conn->auth == SC_ORG_AUTH_NONE ? "" : conn->secret.ref ? conn->secret.ref : "");
    if (resp.status)
        printf("%-14s %-12s GET %s: HTTP %ld%s\n", conn->name, verdict, req.url, resp.status, why);
    else
        printf("%-14s %-12s GET %s: %s\n", conn->name, verdict, req.url,
               no_answer(err, hr.timeout_ms, why, sizeof why));
    sc_http_resp_free(&resp);
    sc_request_free(&req);
    return v;
}

static int connections_test(const struct opts *o, const struct sc_org *org)
{
    for (size_t i = 1; i < o->nargs; i++)
        if (!sc_org_connection(org, o->args[i])) {
            fprintf(stderr, "scenarist connections test: org '%s' has no connection '%s'\n",
                    org->name, o->args[i]);
            return EXIT_USAGE;
        }
    struct sc_http *http = sc_http_new();
    if (!http) {
        fprintf(stderr, "scenarist connections test: out of memory\n");
        return EXIT_FAILED;
    }
    size_t n = 0, good = 0, reachable = 0;
    for (size_t i = 0; i < org->nconns; i++) {
        bool wanted = o->nargs < 2;
        for (size_t k = 1; k < o->nargs && !wanted; k++)
            wanted = !strcmp(o->args[k], org->conns[i].name);
        if (!wanted)
            continue;
        n++;
        enum conn_verdict v = test_one(http, org, &org->conns[i]);
        good += v == CONN_OK;
        reachable += v == CONN_REACHABLE;
    }
    sc_http_free(http);
    printf("%zu of %zu connection%s ok", good, n, n == 1 ? "" : "s");
    if (reachable)
        printf(", %zu reachable with credentials not checked", reachable);
    printf(" (org %s)\n", org->name);
    return good + reachable == n ? EXIT_OK : EXIT_FAILED;
}

int cmd_connections(struct opts *o)
{
    const char *sub = o->nargs ? o->args[0] : "list";
    if (strcmp(sub, "test") && strcmp(sub, "list")) {
        fprintf(stderr, "usage: scenarist connections [list] | connections test [NAME...]\n");
        return EXIT_USAGE;
    }
    struct sc_org *org = cli_load_org(o);
    if (!org)
        return EXIT_USAGE;
    int rc = EXIT_OK;
    if (!strcmp(sub, "test"))
        rc = connections_test(o, org);
    else
        for (size_t i = 0; i < org->nconns; i++)
            printf("%-14s %-10s %s\n", org->conns[i].name,
                   org->conns[i].read_only ? "read-only" : "read-write", org->conns[i].base_url);
    sc_org_free(org);
    return rc;
}
