/* The request builder (engine/run/request.c) without a network or a store: the exact
 * URL, headers and body a step's call would send, for reads, writes with each body
 * kind, auth kinds, a step's headers over the engine's, and the refusals. */
#include "test.h"

#include "model/org_load.h"
#include "run/request.h"

#include <stdio.h>
#include <stdlib.h>

static const char *org_text =
    "name: t\n"
    "connections:\n"
    "  hris:\n"
    "    base_url: http://127.0.0.1:1/hris/\n"
    "    auth: { kind: bearer, secret: env:TEST_REQ_TOKEN }\n"
    "  ats:\n"
    "    base_url: http://127.0.0.1:1/ats\n"
    "    timeout: 5s\n"
    "    auth: { kind: api-key, header: X-Key, secret: env:TEST_REQ_TOKEN }\n"
    "  payroll:\n"
    "    base_url: http://127.0.0.1:1/payroll\n"
    "    auth: { kind: basic, username: scen, secret: env:TEST_REQ_TOKEN }\n"
    "  calendar: { base_url: http://127.0.0.1:1/calendar, access: read-only }\n"
    "  staged:\n"
    "    base_url: http://127.0.0.1:1/staged/api\n"
    "    access: read-only\n"
    "    shadow: true\n"
    "    stand_ins:\n"
    "      - { method: POST, path: /employees, status: 201, body: { id: E-9 } }\n"
    "      - { path: \"/employees/*/history\", status: 202 }\n"
    "      - { method: DELETE, path: \"/archive/**\", body: [] }\n"
    "  wide: { base_url: http://127.0.0.1:1/ }\n";

static struct sc_org *org;

static int setup(void **state)
{
    (void)state;
    setenv("TEST_REQ_TOKEN", "s3cret", 1);
    FILE *f = fopen("build/test-request-org.yaml", "w");
    if (!f)
        return -1;
    fputs(org_text, f);
    fclose(f);
    struct sc_diags d;
    sc_diags_init(&d);
    org = sc_org_load("build/test-request-org.yaml", &d);
    if (!org)
        sc_diags_print(&d, stderr);
    sc_diags_free(&d);
    return org ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sc_org_free(org);
    return 0;
}

/* The request as text: "URL\nheader\n...\n\nbody" (headers in the order sent). */
static char *shown(const struct sc_request *r)
{
    struct sc_buf b = {0};
    sc_buf_printf(&b, "%s %s\n", r->method, r->url ? r->url : "(none)");
    for (size_t i = 0; i < r->nheaders; i++)
        sc_buf_printf(&b, "%s\n", r->headers[i]);
    if (r->username)
        sc_buf_printf(&b, "basic %s:%s\n", r->username, r->password ? r->password : "");
    sc_buf_printf(&b, "timeout %lld\n\n%s", (long long)r->timeout_ms, r->body ? r->body : "");
    return sc_buf_take(&b);
}

static void expect(const struct sc_call *c, enum sc_status want_st, const char *want)
{
    struct sc_request r;
    char err[1024] = "";
    enum sc_status st = sc_request_build(org, c, "scenarist://t/scenarios/s/versions/1/steps/x",
                                         "exec-1/x/1", &r, err, sizeof err);
    char *got = st == SC_OK ? shown(&r) : sc_asprintf("error %s: %s", sc_status_name(st), err);
    if (st != want_st || strcmp(got, want))
        fail_msg("\nwant %s\ngot  %s", want, got);
    free(got);
    sc_request_free(&r);
}

static void read_with_query_and_bearer(void **state)
{
    (void)state;
    json_t *q = json_pack("{s:s, s:i, s:[s,s], s:n}", "q", "a b&c", "page", 2, "tag", "x", "y",
                          "skip");
    struct sc_call c = {.connection = "hris", .method = "GET", .path = "/employees/42", .query = q};
    expect(&c, SC_OK,
           "GET http://127.0.0.1:1/hris/employees/42?q=a%20b%26c&page=2&tag=x&tag=y\n"
           "Authorization: Bearer s3cret\n"
           "Accept: application/json\n"
           "timeout 30000\n\n");
    json_decref(q);
}

static void json_write_carries_sent_from_and_to(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:s, s:f}", "email", "ana@example.com", "ratio", 0.1);
    struct sc_call c = {.connection = "hris", .method = "PUT", .path = "learners/7", .json = body};
    expect(&c, SC_OK,
           "PUT http://127.0.0.1:1/hris/learners/7\n"
           "Authorization: Bearer s3cret\n"
           "Accept: application/json\n"
           "Idempotency-Key: exec-1/x/1\n"
           "Content-Type: application/json\n"
           "timeout 30000\n\n"
           "{\"email\":\"ana@example.com\",\"ratio\":0.1,"
           "\"sent_from\":\"scenarist://t/scenarios/s/versions/1/steps/x\","
           "\"sent_to\":\"http://127.0.0.1:1/hris/learners/7\"}");
    json_decref(body);
}

static void form_write_api_key_and_step_headers(void **state)
{
    (void)state;
    json_t *form = json_pack("{s:s, s:b}", "name", "Ana María", "active", 1);
    json_t *h = json_pack("{s:s, s:s}", "accept", "text/csv", "Idempotency-Key", "mine");
    struct sc_call c = {.connection = "ats", .method = "POST", .path = "/candidates",
                        .form = form, .headers = h};
    expect(&c, SC_OK,
           "POST http://127.0.0.1:1/ats/candidates\n"
           "X-Key: s3cret\n"
           "accept: text/csv\n"
           "Idempotency-Key: mine\n"
           "Content-Type: application/x-www-form-urlencoded\n"
           "Scenarist-Sent-From: scenarist://t/scenarios/s/versions/1/steps/x\n"
           "Scenarist-Sent-To: http://127.0.0.1:1/ats/candidates\n"
           "timeout 5000\n\n"
           "name=Ana%20Mar%C3%ADa&active=true");
    json_decref(form);
    json_decref(h);
}

static void raw_body_basic_auth_and_own_key(void **state)
{
    (void)state;
    struct sc_call c = {.connection = "payroll", .method = "DELETE", .path = "", .body = "x\n",
                        .idempotency_key = "k-9", .timeout_ms = 1500};
    expect(&c, SC_OK,
           "DELETE http://127.0.0.1:1/payroll\n"
           "Accept: application/json\n"
           "Idempotency-Key: k-9\n"
           "Content-Type: text/plain; charset=utf-8\n"
           "Scenarist-Sent-From: scenarist://t/scenarios/s/versions/1/steps/x\n"
           "Scenarist-Sent-To: http://127.0.0.1:1/payroll\n"
           "basic scen:s3cret\n"
           "timeout 1500\n\n"
           "x\n");
}

static void refusals_in_the_users_terms(void **state)
{
    (void)state;
    struct sc_call c = {.connection = "calendar", .method = "POST", .path = "/events"};
    expect(&c, SC_ERR_DATA, "error data: POST refused: connection 'calendar' is read-only in "
                            "org 't' (nothing was sent)");
    c = (struct sc_call){.connection = "hris", .method = "GET", .path = "/../payroll/runs"};
    expect(&c, SC_ERR_DATA, "error data: path '/../payroll/runs' must stay under connection "
                            "'hris' (http://127.0.0.1:1/hris/)");
    c = (struct sc_call){.connection = "lms", .method = "GET", .path = "/x"};
    expect(&c, SC_ERR_CONFIG, "error config: connection 'lms' is not defined in org 't'");
    json_t *h = json_pack("{s:s}", "X-Bad", "a\r\nInjected: 1");
    c = (struct sc_call){.connection = "hris", .method = "GET", .path = "/x", .headers = h};
    expect(&c, SC_ERR_DATA,
           "error data: header 'X-Bad' holds a line break or is not a header name");
    json_decref(h);
    h = json_pack("{s:s, s:s}", "X-A", "1", "x-a", "2");
    c = (struct sc_call){.connection = "hris", .method = "GET", .path = "/x", .headers = h};
    expect(&c, SC_ERR_DATA,
           "error data: header 'x-a' is given twice (header names ignore case)");
    json_decref(h);
}

static void refused_target_is_kept_for_the_audit(void **state)
{
    (void)state;
    struct sc_call c = {.connection = "calendar", .method = "PATCH", .path = "/events/1"};
    struct sc_request r;
    char err[512];
    assert_int_equal(sc_request_build(org, &c, "from", "key", &r, err, sizeof err), SC_ERR_DATA);
    assert_true(r.refused);
    assert_true(r.audit_refusal);
    assert_string_equal(r.url, "http://127.0.0.1:1/calendar/events/1");
    sc_request_free(&r);
    c.method = "GET";
    c.path = "/../hris";
    assert_int_equal(sc_request_build(org, &c, NULL, NULL, &r, err, sizeof err), SC_ERR_DATA);
    assert_true(r.refused);
    assert_false(r.audit_refusal); /* a read that climbs out sends nothing worth a row */
    sc_request_free(&r);
}

/* A secret missing when the org loads (secrets are read once, at load or reload): a
 * request through it is a config error naming the reference, and nothing is built. */
static void missing_secret_is_a_config_error(void **state)
{
    (void)state;
    unsetenv("TEST_REQ_TOKEN");
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *bare = sc_org_load("build/test-request-org.yaml", &d);
    sc_diags_free(&d);
    assert_non_null(bare);
    struct sc_call c = {.connection = "hris", .method = "GET", .path = "/x"};
    struct sc_request r;
    char err[512];
    assert_int_equal(sc_request_build(bare, &c, NULL, NULL, &r, err, sizeof err), SC_ERR_CONFIG);
    assert_non_null(strstr(err, "TEST_REQ_TOKEN"));
    sc_request_free(&r);
    sc_org_free(bare);
    setenv("TEST_REQ_TOKEN", "s3cret", 1);
}

/* The stand-in a shadowed write would get (or "sent" when it is not shadowed). */
static void expect_shadow(const char *conn, const char *method, const char *path,
                          const char *want)
{
    struct sc_call c = {.connection = conn, .method = method, .path = path};
    struct sc_request r;
    char err[512] = "";
    enum sc_status st = sc_request_build(org, &c, "from", "key", &r, err, sizeof err);
    char *got = st != SC_OK ? sc_asprintf("error %s", err)
                : r.shadow ? json_dumps(r.stand_in, JSON_COMPACT)
                           : sc_strdup("sent");
    if (strcmp(got, want))
        fail_msg("\n%s %s %s\nwant %s\ngot  %s", conn, method, path, want, got);
    assert_true(!r.shadow || r.shadow == sc_org_connection(org, "staged"));
    free(got);
    sc_request_free(&r);
}

/* A write to a shadowing connection is built in full but marked not to be sent, with the
 * stand-in of the first matching method and path (relative to the base URL), else 200 {};
 * a write reaching it through a wider connection is shadowed too; reads are sent. */
static void shadowed_writes_get_their_stand_in(void **state)
{
    (void)state;
    expect_shadow("staged", "POST", "/employees",
                  "{\"status\":201,\"headers\":{\"content-type\":\"application/json\"},\"body\":{\"id\":\"E-9\"}}");
    expect_shadow("staged", "PUT", "/employees/E-1/history",
                  "{\"status\":202,\"headers\":{\"content-type\":\"application/json\"},\"body\":{}}");
    expect_shadow("staged", "PATCH", "/employees/E-1/history",
                  "{\"status\":202,\"headers\":{\"content-type\":\"application/json\"},\"body\":{}}");
    expect_shadow("staged", "PUT", "/employees/E-1/x/history",
                  "{\"status\":200,\"headers\":{\"content-type\":\"application/json\"},\"body\":{}}");
    expect_shadow("staged", "PUT", "/employees",
                  "{\"status\":200,\"headers\":{\"content-type\":\"application/json\"},\"body\":{}}");
    expect_shadow("staged", "DELETE", "/archive/2024/E-1",
                  "{\"status\":200,\"headers\":{\"content-type\":\"application/json\"},\"body\":[]}");
    expect_shadow("wide", "POST", "/staged/api/employees",
                  "{\"status\":201,\"headers\":{\"content-type\":\"application/json\"},\"body\":{\"id\":\"E-9\"}}");
    expect_shadow("staged", "GET", "/employees", "sent");
    expect_shadow("staged", "HEAD", "/employees", "sent");
    expect_shadow("staged", "OPTIONS", "/employees", "sent");
    /* however the method is spelled, a write is a write */
    expect_shadow("staged", "post", "/employees",
                  "{\"status\":201,\"headers\":{\"content-type\":\"application/json\"},\"body\":{\"id\":\"E-9\"}}");
    expect_shadow("staged", "MERGE", "/employees/E-1",
                  "{\"status\":200,\"headers\":{\"content-type\":\"application/json\"},\"body\":{}}");
    expect_shadow("calendar", "post", "/events",
                  "error post refused: connection 'calendar' is read-only in org 't' (nothing was sent)");
    /* a method override disguises a write: shadowed on a shadowing connection */
    json_t *h = json_pack("{s:s}", "X-HTTP-Method-Override", "DELETE");
    struct sc_call c = {.connection = "staged", .method = "GET", .path = "/x", .headers = h};
    struct sc_request r;
    char err[512];
    assert_int_equal(sc_request_build(org, &c, NULL, NULL, &r, err, sizeof err), SC_OK);
    assert_non_null(r.shadow);
    assert_false(r.refused);
    sc_request_free(&r);
    json_decref(h);
    assert_true(sc_request_is_write("Post"));
    assert_false(sc_request_is_write("get"));
    assert_false(sc_request_is_write(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_with_query_and_bearer),
        cmocka_unit_test(json_write_carries_sent_from_and_to),
        cmocka_unit_test(form_write_api_key_and_step_headers),
        cmocka_unit_test(raw_body_basic_auth_and_own_key),
        cmocka_unit_test(refusals_in_the_users_terms),
        cmocka_unit_test(refused_target_is_kept_for_the_audit),
        cmocka_unit_test(missing_secret_is_a_config_error),
        cmocka_unit_test(shadowed_writes_get_their_stand_in),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
