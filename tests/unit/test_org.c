/* The typed org: connections resolved at load, defaults from the org file's tables, and
 * secrets read once (env or file) and cached with their source, re-read only by
 * sc_org_resolve_secrets (a reload). The requests' headers are checked on a loopback
 * server: a secret changed after load is not seen until the reload. */
#include "test.h"

#include "model/org_load.h"
#include "run/exec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *write_file(const char *name, const char *text)
{
    static char path[4][256];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 256, "build/test-org-%s", name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static struct sc_org *load(const char *text)
{
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *org = sc_org_load(write_file("org.yaml", text), &d);
    if (!org)
        sc_diags_print(&d, stderr);
    sc_diags_free(&d);
    return org;
}

static void connections_are_resolved_at_load(void **state)
{
    (void)state;
    setenv("TEST_ORG_TOKEN", "tok-1", 1);
    write_file("key", "key-1\n");
    struct sc_org *org = load(
        "name: t\n"
        "base_url: https://scenarist.example/t\n"
        "settings: { region: emea }\n"
        "connections:\n"
        "  hris: { base_url: \"http://127.0.0.1:9/hris/\", access: read-only, timeout: 5s,\n"
        "          auth: { kind: bearer, secret: env:TEST_ORG_TOKEN } }\n"
        "  lms: { base_url: http://127.0.0.1:9/lms,\n"
        "         auth: { kind: api-key, secret: file:build/test-org-key } }\n"
        "  pay: { base_url: http://127.0.0.1:9/pay,\n"
        "         auth: { kind: basic, username: svc, secret: env:TEST_ORG_TOKEN } }\n"
        "  ops: { base_url: http://127.0.0.1:9/ops }\n"
        "webhooks:\n"
        "  sig: { scheme: hub-signature, secret: env:TEST_ORG_TOKEN }\n"
        "audit: { key: env:TEST_ORG_AUDIT, checkpoint: { every: 15m, connection: ops } }\n"
        "backup: { to: var/backups, cron: \"0 3 * * 0\" }\n");
    assert_non_null(org);
    assert_string_equal(org->name, "t");
    assert_string_equal(org->timezone, "UTC");     /* the table's default */
    assert_int_equal(org->lease_ms, 30000);        /* the table's default */
    assert_string_equal(org->url, "https://scenarist.example/t");
    assert_null(org->store);
    assert_null(org->store_key);
    assert_string_equal(json_string_value(json_object_get(org->settings, "region")), "emea");
    assert_string_equal(org->audit.key, "env:TEST_ORG_AUDIT");
    assert_true(org->audit.checkpoint);
    assert_int_equal(org->audit.cp_every_ms, 15 * 60 * 1000);
    assert_null(org->audit.cp_cron);
    assert_string_equal(org->audit.cp_connection, "ops");
    assert_string_equal(org->audit.cp_path, "");   /* the table's default */
    assert_string_equal(org->backup.to, "var/backups");
    assert_string_equal(org->backup.cron, "0 3 * * 0");
    assert_int_equal(org->nconns, 4);

    const struct sc_org_conn *h = sc_org_connection(org, "hris");
    assert_non_null(h);
    assert_string_equal(h->base_url, "http://127.0.0.1:9/hris/");
    assert_ptr_equal(sc_org_base(org, "hris"), &h->url);
    assert_true(h->read_only);
    assert_true(sc_org_read_only(org, "hris"));
    assert_int_equal(h->auth, SC_ORG_AUTH_BEARER);
    assert_int_equal(h->timeout_ms, 5000);
    assert_int_equal(h->secret.source, SC_ORG_SRC_ENV);
    assert_string_equal(h->secret.ref, "env:TEST_ORG_TOKEN");
    assert_string_equal(h->secret.value, "tok-1");

    const struct sc_org_conn *l = sc_org_connection(org, "lms");
    assert_false(l->read_only);
    assert_int_equal(l->auth, SC_ORG_AUTH_API_KEY);
    assert_string_equal(l->header, "X-API-Key");   /* the table's default */
    assert_int_equal(l->timeout_ms, 0);
    assert_int_equal(l->secret.source, SC_ORG_SRC_FILE);
    assert_string_equal(l->secret.value, "key-1"); /* the file's newline dropped */

    const struct sc_org_conn *p = sc_org_connection(org, "pay");
    assert_int_equal(p->auth, SC_ORG_AUTH_BASIC);
    assert_string_equal(p->username, "svc");

    const struct sc_org_conn *o = sc_org_connection(org, "ops");
    assert_int_equal(o->auth, SC_ORG_AUTH_NONE);
    assert_int_equal(o->secret.source, SC_ORG_SRC_NONE);
    assert_null(o->secret.value);
    assert_null(sc_org_connection(org, "nope"));

    const struct sc_org_hook *w = sc_org_hook(org, "sig");
    assert_non_null(w);
    assert_string_equal(w->scheme, "hub-signature");
    assert_int_equal(w->tolerance_ms, 5 * 60 * 1000); /* the table's default */
    assert_string_equal(w->secret.value, "tok-1");
    assert_null(sc_org_hook(org, "nope"));
    sc_org_free(org);
}

static const char *cached_org =
    "name: t\n"
    "connections:\n"
    "  env: { base_url: \"http://127.0.0.1:%d/e\",\n"
    "         auth: { kind: bearer, secret: env:TEST_ORG_CACHED } }\n"
    "  file: { base_url: \"http://127.0.0.1:%d/f\",\n"
    "          auth: { kind: api-key, header: X-Key, secret: file:build/test-org-cached } }\n";

/* Secrets are read at load: a change of the environment or the file after it (even the
 * file's removal) is not seen until sc_org_resolve_secrets. */
static void secrets_are_read_once_and_on_reload_only(void **state)
{
    (void)state;
    setenv("TEST_ORG_CACHED", "first", 1);
    write_file("cached", "file-first\n");
    char text[512];
    snprintf(text, sizeof text, cached_org, 9, 9);
    struct sc_org *org = load(text);
    assert_non_null(org);
    setenv("TEST_ORG_CACHED", "second", 1);
    assert_int_equal(unlink("build/test-org-cached"), 0);
    assert_string_equal(sc_org_connection(org, "env")->secret.value, "first");
    assert_string_equal(sc_org_connection(org, "file")->secret.value, "file-first");

    /* a reload reads them again; a file that is gone is an error in the user's terms */
    assert_int_equal(sc_org_resolve_secrets(org), 0);
    assert_string_equal(sc_org_connection(org, "env")->secret.value, "second");
    assert_null(sc_org_connection(org, "file")->secret.value);
    assert_string_equal(sc_org_connection(org, "file")->secret.err,
                        "secret file:build/test-org-cached cannot be read: No such file or "
                        "directory");
    write_file("cached", "file-second");
    assert_int_equal(sc_org_resolve_secrets(org), 0);
    assert_string_equal(sc_org_connection(org, "file")->secret.value, "file-second");
    sc_org_free(org);
}

/* A secret missing at load keeps why; a request through it fails with that message. */
static void a_secret_missing_at_load_says_why(void **state)
{
    (void)state;
    unsetenv("TEST_ORG_CACHED");
    write_file("cached", "x");
    char text[512];
    snprintf(text, sizeof text, cached_org, 9, 9);
    struct sc_org *org = load(text);
    assert_non_null(org);
    const struct sc_org_conn *c = sc_org_connection(org, "env");
    assert_null(c->secret.value);
    assert_string_equal(c->secret.err,
                        "secret env:TEST_ORG_CACHED is not set in the environment");
    setenv("TEST_ORG_CACHED", "late", 1);
    assert_null(c->secret.value); /* not until a reload */
    assert_int_equal(sc_org_resolve_secrets(org), 0);
    assert_string_equal(c->secret.value, "late");
    sc_org_free(org);
}

/* ---- the requests, on a loopback server ---- */

struct server {
    int fd, port, n;
    char heads[4][2048]; /* each request's head as received */
};

static void *serve(void *arg)
{
    struct server *s = arg;
    for (int i = 0; i < s->n; i++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        size_t len = 0;
        while (len + 1 < sizeof s->heads[i] && !strstr(s->heads[i], "\r\n\r\n")) {
            ssize_t r = read(c, s->heads[i] + len, sizeof s->heads[i] - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
            s->heads[i][len] = '\0';
        }
        static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
        if (write(c, reply, sizeof reply - 1) < 0)
            perror("write");
        close(c);
    }
    return NULL;
}

static void server_start(struct server *s, int n, pthread_t *t)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 4), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(t, NULL, serve, s), 0);
}

/* The header line `name` of a request head, or "" (static). */
static const char *head_line(const char *head, const char *name)
{
    static char line[256];
    line[0] = '\0';
    const char *p = strstr(head, name);
    if (p) {
        size_t n = strcspn(p, "\r\n");
        snprintf(line, sizeof line, "%.*s", (int)n, p);
    }
    return line;
}

static json_t *run_get(struct sc_org *org, const char *conn)
{
    char err[256], scenario[512];
    struct sc_diags d;
    sc_diags_init(&d);
    snprintf(scenario, sizeof scenario,
             "name: g\n"
             "triggers: [ { manual: {} } ]\n"
             "steps:\n"
             "  - id: get\n"
             "    module: http.request\n"
             "    with: { connection: %s, path: /x }\n", conn);
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    assert_non_null(lua);
    struct sc_scenario *sc = sc_scenario_load(write_file("s.yaml", scenario), org, lua, NULL, &d);
    if (!sc)
        sc_diags_print(&d, stderr);
    assert_non_null(sc);
    struct sc_http *http = sc_http_new();
    struct sc_runtime rt = {.lua = lua, .http = http, .org = org};
    json_t *trigger = json_pack("{s:{}}", "body");
    json_t *rec = sc_exec_run(sc, &rt, trigger, NULL);
    json_decref(trigger);
    sc_http_free(http);
    sc_scenario_free(sc);
    sc_lua_free(lua);
    sc_diags_free(&d);
    return rec;
}

static void requests_carry_the_secret_read_at_load(void **state)
{
    (void)state;
    struct server s;
    pthread_t t;
    server_start(&s, 3, &t);
    setenv("TEST_ORG_CACHED", "first", 1);
    write_file("cached", "file-first\n");
    char text[512];
    snprintf(text, sizeof text, cached_org, s.port, s.port);
    struct sc_org *org = load(text);
    assert_non_null(org);
    setenv("TEST_ORG_CACHED", "second", 1);
    assert_int_equal(unlink("build/test-org-cached"), 0);

    json_t *rec = run_get(org, "env");
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "success");
    json_decref(rec);
    rec = run_get(org, "file");
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "success");
    json_decref(rec);
    assert_int_equal(sc_org_resolve_secrets(org), 0);
    rec = run_get(org, "env");
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "success");
    json_decref(rec);
    pthread_join(t, NULL);
    close(s.fd);

    assert_string_equal(head_line(s.heads[0], "GET "), "GET /e/x HTTP/1.1");
    assert_string_equal(head_line(s.heads[0], "Authorization:"), "Authorization: Bearer first");
    assert_string_equal(head_line(s.heads[1], "GET "), "GET /f/x HTTP/1.1");
    assert_string_equal(head_line(s.heads[1], "X-Key:"), "X-Key: file-first");
    assert_string_equal(head_line(s.heads[2], "Authorization:"), "Authorization: Bearer second");
    sc_org_free(org);
}

/* The file is gone at the reload: the request fails with the reason, nothing is sent. */
static void a_request_through_an_unreadable_secret_fails_as_config(void **state)
{
    (void)state;
    setenv("TEST_ORG_CACHED", "first", 1);
    unlink("build/test-org-cached");
    char text[512];
    snprintf(text, sizeof text, cached_org, 9, 9);
    struct sc_org *org = load(text);
    assert_non_null(org);
    json_t *rec = run_get(org, "file");
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "error");
    json_t *err = json_object_get(rec, "error");
    assert_string_equal(json_string_value(json_object_get(err, "kind")), "config");
    assert_string_equal(json_string_value(json_object_get(err, "message")),
                        "secret file:build/test-org-cached cannot be read: No such file or "
                        "directory");
    json_decref(rec);
    sc_org_free(org);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connections_are_resolved_at_load),
        cmocka_unit_test(secrets_are_read_once_and_on_reload_only),
        cmocka_unit_test(a_secret_missing_at_load_says_why),
        cmocka_unit_test(requests_carry_the_secret_read_at_load),
        cmocka_unit_test(a_request_through_an_unreadable_secret_fails_as_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
