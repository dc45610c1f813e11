/* The store's contract: what every backend of store/backend.h must do, written against
 * the sc_store_* calls only (they dispatch through the backend interface), so a second
 * backend runs this same suite by adding its entry to `backends` below. Each test starts
 * from an empty store of the backend under test and asserts exact values. */
#include "test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "clock.h"
#include "store/backend.h"
#include "util.h"

/* A backend under test: how to get an empty store of it (the test's name makes it apart). */
struct contract_backend {
    const char *name;
    const struct sc_store_backend *be;
    struct sc_store *(*fresh)(const char *test);
};

static struct sc_store *sqlite_fresh(const char *test)
{
    char path[256], key[300], err[512];
    snprintf(path, sizeof path, "build/test-contract-%s.db", test);
    snprintf(key, sizeof key, "%s.key", path);
    unlink(path);
    unlink(key);
    struct sc_store *st = sc_store_open(path, NULL, err, sizeof err);
    if (!st)
        fprintf(stderr, "# %s\n", err);
    return st;
}

/* An empty schema in the database of SCENARIST_TEST_PG (a private cluster that
 * tests/pg/run.sh starts); confidential values sealed with a key from the environment. */
static struct sc_store *pg_fresh(const char *test)
{
    (void)test;
    const char *uri = getenv("SCENARIST_TEST_PG");
    char err[512];
    PGconn *c = PQconnectdb(uri);
    PGresult *r = PQexec(c, "SET client_min_messages = warning;"
                            " DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "# %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    setenv("SC_TEST_STORE_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    struct sc_store *st = sc_store_open(uri, "env:SC_TEST_STORE_KEY", err, sizeof err);
    if (!st)
        fprintf(stderr, "# %s\n", err);
    return st;
}

static const struct contract_backend backends[] = {
    {"sqlite", &sc_store_sqlite, sqlite_fresh},
    {"postgresql", &sc_store_pg, pg_fresh},
};
static const struct contract_backend *under_test;

static struct sc_store *fresh(const char *test)
{
    struct sc_store *st = under_test->fresh(test);
    assert_non_null(st);
    assert_ptr_equal(st->be, under_test->be); /* the calls below go through its table */
    return st;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_int_t num(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void begin(struct sc_store *st, const char *id, const char *scenario)
{
    json_t *trigger = json_pack("{s:s}", "employee", id);
    struct sc_exec_row row = {.id = id, .scenario = scenario, .org = "o", .version = "3",
                              .source = "s.yaml", .trigger = trigger, .started_ms = 1000};
    assert_int_equal(sc_store_exec_begin(st, &row), SC_STORE_OK);
    json_decref(trigger);
}

static void executions_begin_end_and_read_back(void **state)
{
    (void)state;
    struct sc_store *st = fresh("exec");
    begin(st, "e1", "sync");
    struct sc_exec_row again = {.id = "e1", .scenario = "sync", .org = "o", .version = "3",
                                .started_ms = 1000};
    assert_int_equal(sc_store_exec_begin(st, &again), SC_STORE_EXISTS);
    assert_string_equal(sc_store_error(st), "execution id e1 is taken");
    json_t *info = sc_store_exec_resume_info(st, "e1");
    assert_string_equal(str(info, "status"), "running");
    assert_string_equal(str(info, "version"), "3");
    assert_string_equal(str(json_object_get(info, "trigger"), "employee"), "e1");
    json_decref(info);
    json_t *summary = json_pack("{s:s}", "error", "boom");
    assert_int_equal(sc_store_exec_end(st, "e1", "error", 42, summary, true), 0);
    json_decref(summary);
    json_t *e = sc_store_exec_get(st, "e1");
    assert_string_equal(str(e, "id"), "e1");
    assert_string_equal(str(e, "scenario"), "sync");
    assert_string_equal(str(e, "status"), "error");
    assert_int_equal(num(e, "attempts"), 1);
    assert_int_equal(num(e, "duration_ms"), 42);
    json_decref(e);
    assert_null(sc_store_exec_get(st, "nope"));
    begin(st, "e2", "other");
    struct sc_exec_filter f = {.scenario = "sync"};
    json_t *list = sc_store_exec_list(st, &f);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(str(json_array_get(list, 0), "id"), "e1");
    json_decref(list);
    sc_store_close(st);
}

static void steps_are_recorded_with_their_states(void **state)
{
    (void)state;
    struct sc_store *st = fresh("steps");
    begin(st, "e1", "sync");
    json_t *out = json_pack("{s:i}", "status", 200);
    struct sc_step_row r = {.execution = "e1", .step = "fetch", .module = "http.request",
                            .bundle = "1", .status = "running", .attempt = 1, .started_ms = 1000};
    int64_t run = sc_store_step_begin(st, &r);
    assert_true(run > 0);
    r.status = "ok";
    r.duration_ms = 7;
    r.output = out;
    assert_int_equal(sc_store_step_end(st, run, &r), 0);
    json_t *resume = json_pack("{s:s}", "cursor", "p2");
    assert_int_equal(sc_store_step_state(st, run, resume, false), 0);
    json_t *j = sc_store_journal(st, "e1");
    assert_string_equal(str(json_object_get(j, "fetch 1"), "cursor"), "p2");
    json_decref(j);
    json_t *e = sc_store_exec_get(st, "e1");
    json_t *steps = json_object_get(e, "steps");
    assert_int_equal(json_array_size(steps), 1);
    json_t *s0 = json_array_get(steps, 0);
    assert_string_equal(str(s0, "step"), "fetch");
    assert_string_equal(str(s0, "status"), "ok");
    assert_int_equal(num(s0, "duration_ms"), 7);
    assert_true(json_equal(json_object_get(s0, "output"), out));
    json_decref(e);
    json_decref(out);
    json_decref(resume);
    sc_store_close(st);
}

static void enqueue(struct sc_store *st, const char *id, bool realtime, const char *dedupe,
                    enum sc_store_rc want, const char *want_first)
{
    char first[64] = "";
    json_t *trigger = json_pack("{s:s}", "id", id);
    struct sc_event_row ev = {.exec = {.id = id, .scenario = "hook", .org = "o", .version = "1",
                                       .source = "hook.yaml", .trigger = trigger,
                                       .started_ms = 1000},
                              .realtime = realtime, .dedupe = dedupe};
    assert_int_equal(sc_store_enqueue(st, &ev, first, sizeof first), want);
    if (want_first)
        assert_string_equal(first, want_first);
    json_decref(trigger);
}

static void claim(struct sc_store *st, const char *want)
{
    json_t *info = NULL;
    assert_int_equal(sc_store_claim_next(st, INT64_MAX, &info),
                     want ? SC_STORE_OK : SC_STORE_NONE);
    if (want) {
        assert_string_equal(str(info, "id"), want);
        assert_string_equal(str(info, "status"), "running");
        assert_int_equal(num(info, "attempts"), 1);
    } else {
        assert_null(info);
    }
    json_decref(info);
}

static void the_queue_claims_realtime_first_then_in_arrival_order(void **state)
{
    (void)state;
    struct sc_store *st = fresh("queue");
    enqueue(st, "a", false, "evt-1", SC_STORE_OK, NULL);
    enqueue(st, "b", false, NULL, SC_STORE_OK, NULL);
    enqueue(st, "c", true, NULL, SC_STORE_OK, NULL);
    enqueue(st, "d", false, "evt-1", SC_STORE_SAME, "a"); /* a repeat: the first one's id */
    enqueue(st, "b", false, NULL, SC_STORE_EXISTS, NULL); /* the id is taken */
    assert_int_equal(sc_store_last_seq(st), 3);
    int64_t runnable = -1, next_retry = 0;
    assert_int_equal(sc_store_queue_state(st, &runnable, &next_retry), 0);
    assert_int_equal(runnable, 3);
    assert_int_equal(next_retry, -1);
    claim(st, "c");
    claim(st, "a");
    claim(st, "b");
    claim(st, NULL);
    sc_store_close(st);
}

static void leases_keep_an_execution_till_they_expire(void **state)
{
    (void)state;
    sc_clock_use_test(1767225600000); /* 2026-01-01T00:00:00Z */
    struct sc_store *st = fresh("lease");
    begin(st, "run", "sync");
    assert_int_equal(sc_store_exec_claim(st, "run", 2, -1), SC_STORE_BUSY); /* leased */
    assert_int_equal(sc_store_exec_claim(st, "none", 2, -1), SC_STORE_ERR);
    assert_string_equal(sc_store_error(st), "no execution none");
    json_t *gone = sc_store_exec_abandoned(st);
    assert_int_equal(json_array_size(gone), 0);
    json_decref(gone);
    sc_clock_advance_ms(sc_store_lease_ms() / 2);
    assert_int_equal(sc_store_lease_renew(st), 0); /* renewed from now */
    sc_clock_advance_ms(sc_store_lease_ms() - 1);
    assert_int_equal(sc_store_exec_claim(st, "run", 2, -1), SC_STORE_BUSY);
    sc_store_exec_release("run"); /* this process stops renewing it */
    sc_clock_advance_ms(1);
    gone = sc_store_exec_abandoned(st);
    assert_int_equal(json_array_size(gone), 1);
    assert_string_equal(json_string_value(json_array_get(gone, 0)), "run");
    json_decref(gone);
    assert_int_equal(sc_store_exec_claim(st, "run", 2, -1), SC_STORE_OK); /* taken over */
    json_t *e = sc_store_exec_get(st, "run");
    assert_int_equal(num(e, "attempts"), 2);
    json_decref(e);
    sc_store_exec_release("run");
    sc_store_close(st);
}

static void incomplete_entries_and_holds_wait_for_their_turn(void **state)
{
    (void)state;
    struct sc_store *st = fresh("work");
    begin(st, "e1", "pay");
    json_t *err = json_pack("{s:s}", "message", "503");
    struct sc_incomplete_row r = {.execution = "e1", .scenario = "pay", .step = "send",
                                  .bundle = "1", .error = err, .attempts = 1, .max_attempts = 3,
                                  .next_ms = 61000, .state = "pending"};
    assert_int_equal(sc_store_incomplete_put(st, &r), 0);
    json_decref(err);
    json_t *due = sc_store_incomplete_due(st, 60999);
    assert_int_equal(json_array_size(due), 0);
    json_decref(due);
    due = sc_store_incomplete_due(st, 61000);
    assert_int_equal(json_array_size(due), 1);
    assert_string_equal(json_string_value(json_array_get(due, 0)), "e1");
    json_decref(due);
    json_t *inc = sc_store_incomplete_get(st, "e1");
    assert_string_equal(str(inc, "state"), "pending");
    assert_int_equal(num(inc, "max_attempts"), 3);
    json_decref(inc);
    assert_int_equal(sc_store_incomplete_close(st, "e1", "discarded", "ann"), SC_STORE_OK);
    assert_int_equal(sc_store_incomplete_close(st, "e1", "discarded", "ann"), SC_STORE_NONE);
    json_t *diff = json_pack("{s:i, s:i}", "expected", 10, "got", 9);
    int64_t h = sc_store_hold_put(st, "e1", "pay", "check", "1", "totals differ", diff);
    assert_true(h > 0);
    json_decref(diff);
    json_t *held = sc_store_hold_get(st, "e1", "check", "1");
    assert_int_equal(num(held, "id"), h);
    assert_string_equal(str(held, "state"), "pending");
    json_decref(held);
    json_t *pending = sc_store_holds(st, "pending");
    assert_int_equal(json_array_size(pending), 1);
    json_decref(pending);
    assert_int_equal(sc_store_hold_decide(st, h, "approved", "bob"), SC_STORE_OK);
    assert_int_equal(sc_store_hold_decide(st, h, "rejected", "bob"), SC_STORE_NONE);
    held = sc_store_hold(st, h);
    assert_string_equal(str(held, "state"), "approved");
    json_decref(held);
    sc_store_close(st);
}

static void work_queues_count_what_is_open(void **state)
{
    (void)state;
    struct sc_store *st = fresh("queues");
    json_t *item = json_pack("{s:s}", "employee", "E-7");
    int64_t a = sc_store_queue_push(st, "orphans", item, NULL);
    int64_t b = sc_store_queue_push(st, "orphans", item, NULL);
    assert_true(a > 0 && b == a + 1);
    json_decref(item);
    assert_int_equal(sc_store_queue_resolve(st, a, "ann"), SC_STORE_OK);
    assert_int_equal(sc_store_queue_resolve(st, a, "ann"), SC_STORE_NONE);
    json_t *open = sc_store_queue_items(st, "orphans", "open", 0);
    assert_int_equal(json_array_size(open), 1);
    assert_int_equal(num(json_array_get(open, 0), "id"), b);
    assert_string_equal(str(json_object_get(json_array_get(open, 0), "item"), "employee"), "E-7");
    json_decref(open);
    json_t *depths = sc_store_queue_depths(st, 0);
    assert_int_equal(num(json_object_get(depths, "orphans"), "open"), 1);
    json_decref(depths);
    sc_store_close(st);
}

static void data_stores_keep_claim_expire_and_delete(void **state)
{
    (void)state;
    sc_clock_use_test(1767225600000);
    struct sc_store *st = fresh("ds");
    json_t *v = json_pack("{s:s}", "lms_id", "L-1");
    assert_int_equal(sc_store_ds_set(st, "ids", "emp:2", v, 0), 0);
    assert_int_equal(sc_store_ds_set(st, "ids", "emp:1", v, 1000), 0);
    assert_int_equal(sc_store_ds_set(st, "ids", "job:1", v, 0), 0);
    json_t *got = sc_store_ds_get(st, "ids", "emp:1");
    assert_true(json_equal(got, v));
    json_decref(got);
    int64_t expires = 0;
    got = sc_store_ds_entry(st, "ids", "emp:1", &expires);
    assert_int_equal(expires, 1767225601000);
    json_decref(got);
    json_t *found = sc_store_ds_search(st, "ids", "emp:", 0);
    assert_int_equal(json_array_size(found), 2);
    assert_string_equal(str(json_array_get(found, 0), "key"), "emp:1");
    assert_string_equal(str(json_array_get(found, 1), "key"), "emp:2");
    json_decref(found);
    assert_int_equal(sc_store_ds_claim(st, "seen", "k", v, 1000), SC_STORE_OK);
    assert_int_equal(sc_store_ds_claim(st, "seen", "k", v, 1000), SC_STORE_EXISTS);
    sc_clock_advance_ms(1000);
    assert_null(sc_store_ds_get(st, "ids", "emp:1")); /* expired */
    assert_int_equal(sc_store_ds_claim(st, "seen", "k", v, 1000), SC_STORE_OK); /* free again */
    assert_int_equal(sc_store_ds_delete(st, "ids", "emp:2"), SC_STORE_OK);
    assert_int_equal(sc_store_ds_delete(st, "ids", "emp:2"), SC_STORE_NONE);
    json_decref(v);
    assert_int_equal(sc_store_tx_begin(st), 0); /* a rolled back write leaves nothing */
    json_t *w = json_integer(1);
    assert_int_equal(sc_store_ds_set(st, "ids", "tx", w, 0), 0);
    json_decref(w);
    sc_store_tx_rollback(st);
    assert_null(sc_store_ds_get(st, "ids", "tx"));
    sc_store_close(st);
}

static void the_audit_chain_verifies_and_refuses_a_foreign_checkpoint(void **state)
{
    (void)state;
    struct sc_store *st = fresh("audit");
    setenv("CONTRACT_AUDIT_KEY", "contract-audit-key-0123456789abcdef", 1);
    sc_store_audit_key(st, "env:CONTRACT_AUDIT_KEY", 0);
    for (int i = 0; i < 2; i++) {
        struct sc_audit_row a = {.at_ms = 1000 + i, .org = "o", .scenario = "s", .version = "1",
                                 .execution = "e", .step = "put", .method = "PUT",
                                 .sent_from = "f", .sent_to = "http://127.0.0.1/x",
                                 .outcome = "pending", .body = "{}", .body_len = 2};
        assert_int_equal(sc_store_audit_add(st, &a), 2 * i + 1);
        a.status = 200;
        a.outcome = "ok";
        a.ref = 2 * i + 1;
        assert_int_equal(sc_store_audit_add(st, &a), 2 * i + 2);
    }
    struct sc_audit_filter f = {.scenario = "s"};
    json_t *rows = sc_store_audit_list(st, &f);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(str(json_array_get(rows, 1), "outcome"), "ok");
    assert_int_equal(num(json_array_get(rows, 1), "status"), 200);
    json_decref(rows);
    json_t *problem = NULL;
    assert_int_equal(sc_store_audit_verify(st, "o", NULL, &problem), SC_STORE_OK);
    json_t *cp = sc_store_audit_checkpoint(st, "o", &problem);
    assert_int_equal(num(cp, "count"), 4);
    assert_int_equal(sc_store_audit_verify(st, "o", cp, &problem), SC_STORE_OK);
    assert_null(problem);
    assert_int_equal(sc_store_audit_verify(st, "p", cp, &problem), SC_STORE_REFUSED);
    assert_string_equal(str(problem, "reason"), "is a checkpoint of org o, not p: refused");
    json_decref(problem);
    json_decref(cp);
    sc_store_close(st);
}

static void versions_are_numbered_and_an_unchanged_one_is_the_same(void **state)
{
    (void)state;
    struct sc_store *st = fresh("versions");
    json_t *d1 = json_pack("{s:s}", "name", "sync"), *d2 = json_pack("{s:s, s:b}", "name",
                                                                      "sync", "new", 1);
    int n = 0;
    assert_int_equal(sc_store_version_add(st, "sync", d1, "sha256:aa", "first", "deploy", &n),
                     SC_STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sc_store_version_add(st, "sync", d1, "sha256:aa", NULL, "deploy", &n),
                     SC_STORE_SAME);
    assert_int_equal(n, 1);
    assert_int_equal(sc_store_version_add(st, "sync", d2, "sha256:bb", NULL, "import", &n),
                     SC_STORE_OK);
    assert_int_equal(n, 2);
    json_t *cur = sc_store_version_get(st, "sync", 0);
    assert_int_equal(num(cur, "number"), 2);
    assert_string_equal(str(cur, "origin"), "import");
    assert_true(json_equal(json_object_get(cur, "document"), d2));
    json_decref(cur);
    json_t *first = sc_store_version_get(st, "sync", 1);
    assert_string_equal(str(first, "message"), "first");
    json_decref(first);
    json_t *all = sc_store_versions(st, "sync");
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);
    assert_null(sc_store_version_get(st, "sync", 3));
    json_decref(d1);
    json_decref(d2);
    sc_store_close(st);
}

static void trigger_state_and_seen_poll_keys(void **state)
{
    (void)state;
    struct sc_store *st = fresh("trigger");
    int64_t last = 0, mark = 0;
    assert_int_equal(sc_store_trigger_get(st, "s", "poll:0", &last, &mark), SC_STORE_NONE);
    assert_int_equal(sc_store_trigger_set(st, "s", "poll:0", 5000, -1), 0);
    assert_int_equal(sc_store_trigger_set(st, "s", "poll:0", -1, 4000), 0);
    assert_int_equal(sc_store_trigger_get(st, "s", "poll:0", &last, &mark), SC_STORE_OK);
    assert_int_equal(last, 5000);
    assert_int_equal(mark, 4000);
    assert_int_equal(sc_store_poll_seen(st, "s", "poll:0", "E-1"), SC_STORE_NONE);
    assert_int_equal(sc_store_poll_mark(st, "s", "poll:0", "E-1", 3000), 0);
    assert_int_equal(sc_store_poll_seen(st, "s", "poll:0", "E-1"), SC_STORE_EXISTS);
    assert_int_equal(sc_store_poll_prune(st, "s", "poll:0", 3001), 0);
    assert_int_equal(sc_store_poll_seen(st, "s", "poll:0", "E-1"), SC_STORE_NONE);
    sc_store_close(st);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(executions_begin_end_and_read_back),
        cmocka_unit_test(steps_are_recorded_with_their_states),
        cmocka_unit_test(the_queue_claims_realtime_first_then_in_arrival_order),
        cmocka_unit_test(leases_keep_an_execution_till_they_expire),
        cmocka_unit_test(incomplete_entries_and_holds_wait_for_their_turn),
        cmocka_unit_test(work_queues_count_what_is_open),
        cmocka_unit_test(data_stores_keep_claim_expire_and_delete),
        cmocka_unit_test(the_audit_chain_verifies_and_refuses_a_foreign_checkpoint),
        cmocka_unit_test(versions_are_numbered_and_an_unchanged_one_is_the_same),
        cmocka_unit_test(trigger_state_and_seen_poll_keys),
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        under_test = &backends[i];
        const char *only = getenv("SCENARIST_CONTRACT_ONLY");
        if (only && strcmp(only, backends[i].name) != 0)
            continue;
        if (backends[i].fresh == pg_fresh && !getenv("SCENARIST_TEST_PG")) {
            printf("# store contract (postgresql): run by tests/pg/run.sh on a private cluster\n");
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "store contract (%s)", backends[i].name);
        failed += cmocka_run_group_tests_name(name, tests, NULL, NULL);
    }
    return failed;
}
