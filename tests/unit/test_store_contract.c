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
#include <sqlite3.h>

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

/* Throttled connections' state: a backend shared by several processes keeps it (two
 * requests 200 ms apart, the second promised its slot); SQLite, one daemon's, keeps none
 * and says so, and the process keeps it (tests/unit/test_throttle.c). */
static void throttle_slots_are_kept_or_left_to_the_process(void **state)
{
    (void)state;
    struct sc_store *st = fresh("slots");
    struct sc_store_slot s = {.org = "o", .conn = "hris", .key = "a", .spacing_ms = 200,
                              .now_ms = 1000};
    int v = -1;
    int64_t w = -1;
    enum sc_store_rc rc = sc_store_slot_take(st, &s, &v, &w);
    if (!strcmp(under_test->name, "sqlite")) {
        assert_int_equal(rc, SC_STORE_NONE);
        assert_int_equal(sc_store_slot_done(st, "o", "hris"), SC_STORE_NONE);
    } else {
        assert_int_equal(rc, SC_STORE_OK);
        assert_int_equal(v, 0);
        s.key = "b";
        assert_int_equal(sc_store_slot_take(st, &s, &v, &w), SC_STORE_OK);
        assert_int_equal(v, 1);
        assert_int_equal(w, 200);
        s.now_ms = 1200;
        assert_int_equal(sc_store_slot_take(st, &s, &v, &w), SC_STORE_OK);
        assert_int_equal(v, 0);
        assert_int_equal(sc_store_slot_done(st, "o", "hris"), SC_STORE_OK);
    }
    sc_store_close(st);
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

/* A worker's batch records a step's beginning, its state and its end before anything is
 * written; applied, each step reads as it ended (one row, its state the last one given),
 * a step begun and not ended reads as running, and an end to a step begun earlier lands. */
static void deferred_steps_read_as_they_ended(void **state)
{
    (void)state;
    struct sc_store *st = fresh("defersteps");
    begin(st, "e1", "sync");
    struct sc_step_row r = {.execution = "e1", .step = "early", .module = "http.request",
                            .bundle = "1", .status = "running", .attempt = 1, .started_ms = 900};
    int64_t early = sc_store_step_begin(st, &r); /* written: before the batch */
    assert_true(early > 0 && early < ((int64_t)1 << 60));
    json_t *out = json_pack("{s:i}", "status", 200);
    json_t *mid = json_pack("{s:s}", "cursor", "p1"), *last = json_pack("{s:s}", "cursor", "p3");
    json_t *ended = json_pack("{s:s}", "cursor", "p2");
    sc_store_defer(st, true);
    r = (struct sc_step_row){.execution = "e1", .step = "fetch", .module = "http.request",
                             .bundle = "1", .status = "running", .attempt = 1,
                             .started_ms = 1000, .state = NULL};
    int64_t run = sc_store_step_begin(st, &r);
    assert_true(run > 0);
    assert_int_equal(sc_store_step_state(st, run, mid, false), 0);
    struct sc_step_row other = {.execution = "e1", .step = "push", .module = "http.request",
                                .bundle = "1", .status = "running", .attempt = 1,
                                .started_ms = 1005};
    assert_true(sc_store_step_begin(st, &other) > 0); /* begun, never ended in the batch */
    r.status = "ok";
    r.duration_ms = 9;
    r.bundles = 2; /* a fan-out: no output, the bundles it gave */
    r.state = ended;
    assert_int_equal(sc_store_step_end(st, run, &r), 0);
    assert_int_equal(sc_store_step_state(st, run, last, false), 0);
    struct sc_step_row e = {.execution = "e1", .step = "early", .module = "http.request",
                            .bundle = "1", .status = "error", .attempt = 1, .started_ms = 900,
                            .duration_ms = 4, .output = out};
    assert_int_equal(sc_store_step_end(st, early, &e), 0);
    assert_int_equal(sc_store_tx_begin(st), 0);
    assert_int_equal(sc_store_defer_apply(st), SC_STORE_OK);
    assert_int_equal(sc_store_tx_commit(st), 0);
    sc_store_defer(st, false);
    json_t *x = sc_store_exec_get(st, "e1");
    json_t *steps = json_object_get(x, "steps");
    assert_int_equal(json_array_size(steps), 3);
    const char *want[3][3] = {{"early", "error", "4"}, {"fetch", "ok", "9"}, {"push", "running", "0"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *s0 = json_array_get(steps, i);
        char d[16];
        snprintf(d, sizeof d, "%lld", (long long)num(s0, "duration_ms"));
        assert_string_equal(str(s0, "step"), want[i][0]);
        assert_string_equal(str(s0, "status"), want[i][1]);
        assert_string_equal(d, want[i][2]);
    }
    assert_true(json_equal(json_object_get(json_array_get(steps, 0), "output"), out));
    assert_int_equal(num(json_array_get(steps, 1), "bundles"), 2);
    json_t *j = sc_store_journal(st, "e1");
    assert_string_equal(str(json_object_get(j, "fetch 1"), "cursor"), "p3");
    json_decref(j);
    json_decref(x);
    json_decref(out);
    json_decref(mid);
    json_decref(ended);
    json_decref(last);
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

/* A trigger its caller dumped already (the webhook listener does, off the writer's thread):
 * stored as those bytes, sealed when confidential, on an enqueue and on a begin. The text
 * given lists the keys in another order than the object, so the read back shows which. */
static void a_trigger_dumped_by_its_caller_is_stored_as_given(void **state)
{
    (void)state;
    struct sc_store *st = fresh("dumped");
    json_t *trigger = json_pack("{s:s, s:i}", "kind", "webhook", "n", 21);
    const char *text = "{\"n\":21,\"kind\":\"webhook\"}";
    const char *ids[] = {"q-plain", "q-sealed", "b-plain", "b-sealed"};
    for (int i = 0; i < 4; i++) {
        struct sc_exec_row e = {.id = ids[i], .scenario = "hook", .org = "o", .version = "1",
                                .source = "hook.yaml", .trigger = trigger, .trigger_json = text,
                                .confidential = i % 2 == 1, .started_ms = 1000};
        char first[64] = "";
        struct sc_event_row ev = {.exec = e};
        assert_int_equal(i < 2 ? sc_store_enqueue(st, &ev, first, sizeof first)
                               : sc_store_exec_begin(st, &e), SC_STORE_OK);
        json_t *info = sc_store_exec_resume_info(st, ids[i]);
        json_t *got = json_object_get(info, "trigger");
        assert_true(json_equal(got, trigger));
        assert_string_equal(json_object_iter_key(json_object_iter(got)), "n");
        json_decref(info);
    }
    json_decref(trigger);
    sc_store_close(st);
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
    struct sc_step_row row = {.execution = "run", .step = "put", .module = "http.request",
                              .bundle = "1", .attempt = 1, .status = "running",
                              .started_ms = sc_clock_now_ms(), .duration_ms = -1};
    assert_true(sc_store_step_begin(st, &row) > 0);
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
    /* taken over in the attempt the dead process ran (a crash is no try); the step it
     * left running is interrupted */
    assert_int_equal(sc_store_exec_claim(st, "run", 1, -1), SC_STORE_OK);
    json_t *e = sc_store_exec_get(st, "run");
    assert_int_equal(num(e, "attempts"), 1);
    json_t *steps = json_object_get(e, "steps");
    assert_int_equal(json_array_size(steps), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0), "status")),
                        "interrupted");
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
    assert_int_equal(sc_store_queue_resolve(st, a, "ann", "matched by hand in the HRIS"), SC_STORE_OK);
    assert_int_equal(sc_store_queue_resolve(st, a, "bob", "again"), SC_STORE_NONE);
    json_t *done = sc_store_queue_item(st, a);
    assert_string_equal(str(done, "state"), "resolved");
    assert_string_equal(str(done, "done_by"), "ann");
    assert_string_equal(str(done, "note"), "matched by hand in the HRIS");
    json_decref(done);
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

/* A queue's depth over days: at each day's last millisecond (now for today), the items
 * created by then and not closed by then. */
static void queue_depth_over_days_counts_what_was_open_at_each_end(void **state)
{
    (void)state;
    int64_t day = 86400000, jan1 = 1767225600000; /* 2026-01-01T00:00:00Z */
    struct sc_store *st = fresh("queue-history");
    json_t *item = json_pack("{s:s}", "employee", "E-9");
    sc_clock_use_test(jan1 + 9 * 3600000);          /* a: 01-01 09:00 */
    int64_t a = sc_store_queue_push(st, "orphans", item, NULL);
    sc_clock_use_test(jan1 + day + 10 * 3600000);   /* b: 01-02 10:00 */
    int64_t b = sc_store_queue_push(st, "orphans", item, NULL);
    sc_clock_use_test(jan1 + 2 * day + 12 * 3600000); /* a resolved 01-03 12:00 */
    assert_int_equal(sc_store_queue_resolve(st, a, "ann", "done"), SC_STORE_OK);
    sc_clock_use_test(jan1 + 2 * day + 13 * 3600000); /* c pushed and resolved 01-03 */
    int64_t c = sc_store_queue_push(st, "other", item, NULL);
    assert_int_equal(sc_store_queue_resolve(st, c, "ann", "done"), SC_STORE_OK);
    int64_t now = jan1 + 3 * day + 8 * 3600000;     /* 01-04 08:00 */
    sc_clock_use_test(now);
    json_t *h = sc_store_queue_history(st, jan1, now, 4);
    char *text = json_dumps(h, JSON_COMPACT);
    assert_string_equal(text, "{\"orphans\":[1,2,1,1],\"other\":[0,0,0,0]}");
    free(text);
    json_decref(h);
    h = sc_store_queue_history(st, jan1 - 2 * day, jan1 - day, 1); /* before any item */
    assert_int_equal(json_object_size(h), 0);
    json_decref(h);
    assert_true(b > a);
    json_decref(item);
    sc_store_close(st);
}

/* Keyed items converge: one open item per key, counted once per execution that pushes
 * it, and a sweep closes what the sweeping execution did not push. */
static void keyed_queue_items_converge(void **state)
{
    (void)state;
    sc_clock_use_test(1767225600000); /* 2026-01-01T00:00:00Z */
    struct sc_store *st = fresh("queue-keys");
    json_t *v1 = json_pack("{s:i}", "night", 1), *v2 = json_pack("{s:i}", "night", 2);
    struct sc_queue_key_row a = {.queue = "drift", .key = "changed:E-1", .item = v1,
                                 .execution = "x1"};
    struct sc_queue_key_row b = {.queue = "drift", .key = "only-left:E-2", .item = v1,
                                 .execution = "x1"};
    int64_t ida, idb, id, seen;
    assert_int_equal(sc_store_queue_push_key(st, &a, &ida, &seen), SC_STORE_OK);
    assert_int_equal(seen, 1);
    assert_int_equal(sc_store_queue_push_key(st, &b, &idb, &seen), SC_STORE_OK);
    assert_int_equal(sc_store_queue_push(st, "drift", v1, "x1"), idb + 1); /* unkeyed */
    /* the same execution pushing the same key again: one item, still seen once */
    assert_int_equal(sc_store_queue_push_key(st, &a, &id, &seen), SC_STORE_EXISTS);
    assert_true(id == ida && seen == 1);
    /* another queue is another item */
    struct sc_queue_key_row other = a;
    other.queue = "elsewhere";
    assert_int_equal(sc_store_queue_push_key(st, &other, &id, &seen), SC_STORE_OK);
    assert_true(id != ida);
    assert_int_equal(sc_store_queue_open(st, "drift"), 3);
    /* the next night: a seen again with a new body, b not seen */
    sc_clock_use_test(1767225600000 + 86400000);
    a.execution = "x2";
    a.item = v2;
    assert_int_equal(sc_store_queue_push_key(st, &a, &id, &seen), SC_STORE_EXISTS);
    assert_true(id == ida && seen == 2);
    assert_int_equal(sc_store_queue_sweep(st, "drift", "x2", "sweep of x2", "drift gone"), 1);
    assert_int_equal(sc_store_queue_sweep(st, "drift", "x2", "sweep of x2", "drift gone"), 0);
    assert_int_equal(sc_store_queue_open(st, "drift"), 2); /* a and the unkeyed item */
    json_t *ea = sc_store_queue_item(st, ida), *eb = sc_store_queue_item(st, idb);
    assert_string_equal(str(ea, "state"), "open");
    assert_string_equal(str(ea, "key"), "changed:E-1");
    assert_int_equal(num(ea, "times_seen"), 2);
    assert_string_equal(str(ea, "created_at"), "2026-01-01T00:00:00.000Z");
    assert_string_equal(str(ea, "last_seen"), "2026-01-02T00:00:00.000Z");
    assert_int_equal(num(json_object_get(ea, "item"), "night"), 2);
    assert_null(json_object_get(ea, "resolution"));
    assert_string_equal(str(eb, "state"), "resolved");
    assert_string_equal(str(eb, "done_by"), "sweep of x2");
    assert_string_equal(str(eb, "resolution"), "drift gone");
    assert_string_equal(str(eb, "done_at"), "2026-01-02T00:00:00.000Z");
    assert_int_equal(num(eb, "times_seen"), 1);
    json_decref(ea);
    json_decref(eb);
    /* a closed key pushed again is a new open item */
    b.execution = "x3";
    assert_int_equal(sc_store_queue_push_key(st, &b, &id, &seen), SC_STORE_OK);
    assert_true(id > idb + 2 && seen == 1);
    assert_int_equal(sc_store_queue_open(st, "drift"), 3);
    assert_int_equal(sc_store_queue_open(st, "nothing"), 0);
    /* a key is required */
    b.key = "";
    assert_int_equal(sc_store_queue_push_key(st, &b, &id, &seen), SC_STORE_ERR);
    assert_string_equal(sc_store_error(st), "a keyed queue push needs a key");
    /* deferred: keyed pushes and sweeps are refused (the execution is run directly), an
     * unkeyed push counts in the open length at once */
    sc_store_defer(st, true);
    b.key = "only-left:E-9";
    assert_int_equal(sc_store_queue_push_key(st, &b, &id, &seen), SC_STORE_ERR);
    assert_true(sc_store_defer_refused(st));
    sc_store_defer_mark(st);
    assert_int_equal(sc_store_queue_sweep(st, "drift", "x3", "s", "r"), -1);
    assert_true(sc_store_defer_refused(st));
    sc_store_defer_mark(st);
    assert_true(sc_store_queue_push(st, "drift", v1, "x3") > 0);
    assert_int_equal(sc_store_queue_open(st, "drift"), 4);
    sc_store_defer(st, false);
    assert_int_equal(sc_store_queue_open(st, "drift"), 3);
    json_decref(v1);
    json_decref(v2);
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
                                 .outcome = "pending", .body = "{}", .body_len = 2,
                                 .by = i ? "ann" : NULL}; /* the second owed to a person */
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
    assert_null(json_object_get(json_array_get(rows, 0), "by"));
    assert_string_equal(str(json_array_get(rows, 1), "by"), "ann");
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

static void shadowed_writes_are_kept_in_full_and_filtered(void **state)
{
    (void)state;
    struct sc_store *st = fresh("shadow");
    json_t *h = json_pack("{s:s, s:s}", "Authorization", "[redacted]", "X-Trace", "t-1");
    struct sc_shadow_row r = {.at_ms = 1000, .org = "o", .scenario = "s", .version = "2",
                              .execution = "e1", .step = "create", .bundle = "1",
                              .connection = "hris", .method = "POST",
                              .url = "http://127.0.0.1/hris/employees", .headers = h,
                              .body = "{\"name\":\"Ada\"}", .body_len = 14, .status = 201,
                              .audit_id = 7};
    assert_int_equal(sc_store_shadow_add(st, &r), 1);
    r = (struct sc_shadow_row){.at_ms = 2000, .org = "o", .scenario = "t", .version = "1",
                               .execution = "e2", .step = "drop", .bundle = "2.1",
                               .connection = "ats", .method = "DELETE",
                               .url = "http://127.0.0.1/ats/notes/N-1", .headers = h,
                               .status = 200};
    assert_int_equal(sc_store_shadow_add(st, &r), 2);
    r.execution = "e3";
    r.confidential = true;
    r.body = "pay 98000";
    r.body_len = 9;
    assert_int_equal(sc_store_shadow_add(st, &r), 3);
    json_decref(h);
    json_t *all = sc_store_shadow_list(st, &(struct sc_shadow_filter){0});
    char *text = json_dumps(json_array_get(all, 0), JSON_COMPACT);
    assert_string_equal(text, "{\"id\":1,\"at\":\"1970-01-01T00:00:01.000Z\",\"org\":\"o\","
                              "\"scenario\":\"s\",\"version\":\"2\",\"execution\":\"e1\","
                              "\"step\":\"create\",\"bundle\":\"1\",\"connection\":\"hris\","
                              "\"method\":\"POST\",\"url\":\"http://127.0.0.1/hris/employees\","
                              "\"status\":201,\"audit_id\":7,\"confidential\":false,"
                              "\"headers\":{\"Authorization\":\"[redacted]\",\"X-Trace\":\"t-1\"},"
                              "\"body\":\"{\\\"name\\\":\\\"Ada\\\"}\"}");
    free(text);
    assert_int_equal(json_array_size(all), 3);
    assert_true(json_is_null(json_object_get(json_array_get(all, 1), "audit_id")));
    assert_true(json_is_null(json_object_get(json_array_get(all, 1), "body")));
    assert_string_equal(str(json_array_get(all, 2), "body"), "[redacted: confidential scenario]");
    assert_string_equal(str(json_array_get(all, 2), "headers"), "[redacted: confidential scenario]");
    json_decref(all);
    json_t *t = sc_store_shadow_list(st, &(struct sc_shadow_filter){.scenario = "t"});
    assert_int_equal(json_array_size(t), 2);
    assert_int_equal(num(json_array_get(t, 0), "id"), 2);
    json_decref(t);
    json_t *e = sc_store_shadow_list(st, &(struct sc_shadow_filter){.scenario = "t", .execution = "e3"});
    assert_int_equal(json_array_size(e), 1);
    assert_int_equal(num(json_array_get(e, 0), "id"), 3);
    json_decref(e);
    json_t *one = sc_store_shadow_list(st, &(struct sc_shadow_filter){.limit = 1});
    assert_int_equal(json_array_size(one), 1);
    json_decref(one);
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


/* Counters: every change counted as it happens (executions each time they enter a
 * status, holds created and decided, queue items opened and closed), with the gauges. */
static void counters_count_each_change_as_it_happens(void **state)
{
    (void)state;
    sc_clock_use_test(1000);
    struct sc_store *st = fresh("counters");
    begin(st, "e1", "pay");
    assert_int_equal(sc_store_exec_end(st, "e1", "success", 5, NULL, false), 0);
    enqueue(st, "q1", false, NULL, SC_STORE_OK, NULL);
    enqueue(st, "q2", true, NULL, SC_STORE_OK, NULL);
    claim(st, "q2");
    assert_int_equal(sc_store_exec_end(st, "q2", "error", 5, NULL, false), 0);
    begin(st, "e3", "pay");
    assert_int_equal(sc_store_exec_end(st, "e3", "held", 5, NULL, false), 0);
    int64_t h = sc_store_hold_put(st, "e3", "pay", "check", "", "differ", NULL);
    int64_t h2 = sc_store_hold_put(st, "e1", "pay", "check", "", "differ", NULL);
    assert_int_equal(sc_store_hold_decide(st, h, "rejected", "bob"), SC_STORE_OK);
    assert_int_equal(sc_store_hold_decide(st, h, "approved", "bob"), SC_STORE_NONE);
    assert_true(h2 > h);
    json_t *item = json_pack("{s:s}", "employee", "E-7");
    int64_t a = sc_store_queue_push(st, "orphans", item, NULL);
    sc_store_queue_push(st, "orphans", item, NULL);
    sc_store_queue_push(st, "drift", item, NULL);
    json_decref(item);
    assert_int_equal(sc_store_queue_resolve(st, a, "ann", NULL), SC_STORE_OK);
    json_t *c = sc_store_counters(st);
    char *text = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text,
        "{\"executions\":{\"hook\":{\"error\":1,\"queued\":2,\"running\":1},"
        "\"pay\":{\"held\":1,\"running\":2,\"success\":1}},"
        "\"holds_created\":{\"pay\":2},\"holds_decided\":{\"rejected\":1},"
        "\"incomplete\":{\"exhausted\":0,\"pending\":0},"
        "\"queue_items_closed\":{\"orphans\":{\"resolved\":1}},"
        "\"queue_items_opened\":{\"drift\":1,\"orphans\":2},"
        "\"queued\":{\"realtime\":0,\"routine\":1}}");
    free(text);
    json_decref(c);
    sc_store_close(st);
}

/* The executions counter as text, sorted: {"hook":{"queued":N,...}}. */
static char *exec_counters(struct sc_store *st)
{
    json_t *c = sc_store_counters(st);
    char *text = json_dumps(json_object_get(c, "executions"), JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(c);
    return text;
}

static void counters_are(struct sc_store *st, const char *want)
{
    char *text = exec_counters(st);
    assert_string_equal(text, want);
    free(text);
}

/* Counters as the daemon's batches write them: enqueues in one transaction, claims in
 * another, ends applied from a deferred batch, each counted once at its commit; what a
 * transaction or a savepoint rolls back is not counted; an end to the same status is not
 * a change. */
static void counters_follow_batches_and_rollbacks(void **state)
{
    (void)state;
    sc_clock_use_test(1000);
    struct sc_store *st = fresh("batches");
    assert_int_equal(sc_store_tx_begin(st), 0);
    enqueue(st, "a", false, NULL, SC_STORE_OK, NULL);
    enqueue(st, "b", false, NULL, SC_STORE_OK, NULL);
    enqueue(st, "c", true, NULL, SC_STORE_OK, NULL);
    assert_int_equal(sc_store_tx_commit(st), 0);
    counters_are(st, "{\"hook\":{\"queued\":3}}");
    assert_int_equal(sc_store_tx_begin(st), 0); /* rolled back: neither row nor count */
    enqueue(st, "x", false, NULL, SC_STORE_OK, NULL);
    enqueue(st, "y", false, NULL, SC_STORE_OK, NULL);
    sc_store_tx_rollback(st);
    counters_are(st, "{\"hook\":{\"queued\":3}}");
    assert_null(sc_store_exec_get(st, "x"));
    assert_int_equal(sc_store_tx_begin(st), 0);
    claim(st, "c");
    claim(st, "a");
    assert_int_equal(sc_store_tx_begin(st), 0); /* a savepoint rolled back drops its own */
    claim(st, "b");
    sc_store_tx_rollback(st);
    assert_int_equal(sc_store_tx_commit(st), 0);
    counters_are(st, "{\"hook\":{\"queued\":3,\"running\":2}}");
    json_t *b = sc_store_exec_get(st, "b");
    assert_string_equal(str(b, "status"), "queued");
    json_decref(b);
    /* a worker's batch: computed deferred, applied in one transaction */
    sc_store_defer(st, true);
    assert_int_equal(sc_store_exec_end(st, "a", "success", 5, NULL, true), 0);
    assert_int_equal(sc_store_exec_end(st, "c", "error", 5, NULL, true), 0);
    assert_int_equal(sc_store_tx_begin(st), 0);
    assert_int_equal(sc_store_defer_apply(st), SC_STORE_OK);
    assert_int_equal(sc_store_tx_commit(st), 0);
    sc_store_defer(st, false);
    counters_are(st, "{\"hook\":{\"error\":1,\"queued\":3,\"running\":2,\"success\":1}}");
    /* outside any transaction: each call on its own; ending in the status it has is no change */
    claim(st, "b");
    assert_int_equal(sc_store_exec_end(st, "b", "success", 5, NULL, false), 0);
    assert_int_equal(sc_store_exec_end(st, "b", "success", 6, NULL, false), 0);
    assert_int_equal(sc_store_exec_end(st, "nobody", "success", 6, NULL, false), 0);
    counters_are(st, "{\"hook\":{\"error\":1,\"queued\":3,\"running\":3,\"success\":2}}");
    b = sc_store_exec_get(st, "b");
    assert_string_equal(str(b, "status"), "success");
    assert_int_equal(num(b, "duration_ms"), 6);
    json_decref(b);
    sc_store_close(st);
}

static char *beside(const char *test, const char *sql);

/* Taken at once (the instant path: an event run before it is stored) and ended in the same
 * batch: the row reads as it ended, counted queued, running and its end; a confidential
 * trigger goes with the end unless the end may resume; an end that erases resume states
 * erases the ones its steps were given. PostgreSQL refuses the instant path. */
static void an_execution_taken_and_ended_in_one_batch_reads_as_ended(void **state)
{
    (void)state;
    sc_clock_use_test(1000);
    struct sc_store *st = fresh("instant");
    const char *ids[4] = {"plain", "secret", "paused", "resumed"};
    const char *ends[4] = {"success", "success", "held", "error"};
    json_t *summary = json_pack("{s:{s:i}}", "response", "status", 200);
    json_t *trigger = json_pack("{s:i}", "n", 7), *st8 = json_pack("{s:s}", "cursor", "c1");
    sc_store_defer(st, true);
    for (int i = 0; i < 4; i++) {
        struct sc_step_row r = {.execution = ids[i], .step = "answer", .module = "respond",
                                .bundle = "1", .status = "running", .attempt = 1,
                                .started_ms = 1000, .state = i == 3 ? st8 : NULL};
        int64_t run = sc_store_step_begin(st, &r);
        r.status = "ok";
        r.duration_ms = 2;
        assert_int_equal(sc_store_step_end(st, run, &r), 0);
        assert_int_equal(sc_store_exec_end(st, ids[i], ends[i], 3, summary, i == 3), 0);
    }
    assert_int_equal(sc_store_tx_begin(st), 0);
    if (!strcmp(under_test->name, "postgresql")) { /* daemons sharing a store queue first */
        char first[64] = "";
        struct sc_event_row ev = {.exec = {.id = "plain", .scenario = "hook", .org = "o",
                                           .version = "1", .source = "hook.yaml",
                                           .trigger = trigger, .started_ms = 990},
                                  .claim = true, .taken_ms = 995};
        assert_int_equal(sc_store_enqueue(st, &ev, first, sizeof first), -1);
        assert_string_equal(sc_store_error(st),
                            "taking an event as it is queued is not done on PostgreSQL");
        sc_store_tx_rollback(st);
        sc_store_defer(st, false);
        json_decref(summary);
        json_decref(trigger);
        json_decref(st8);
        sc_store_close(st);
        return;
    }
    for (int i = 0; i < 4; i++) {
        char first[64] = "";
        struct sc_event_row ev = {.exec = {.id = ids[i], .scenario = "hook", .org = "o",
                                           .version = "1", .source = "hook.yaml",
                                           .trigger = trigger, .confidential = i == 1 || i == 2,
                                           .started_ms = 990},
                                  .claim = true, .taken_ms = 995};
        assert_int_equal(sc_store_enqueue(st, &ev, first, sizeof first), SC_STORE_OK);
    }
    assert_int_equal(sc_store_defer_apply(st), SC_STORE_OK);
    assert_int_equal(sc_store_tx_commit(st), 0);
    sc_store_defer(st, false);
    counters_are(st, "{\"hook\":{\"error\":1,\"held\":1,\"queued\":4,\"running\":4,"
                     "\"success\":2}}");
    for (int i = 0; i < 4; i++) {
        json_t *e = sc_store_exec_get(st, ids[i]);
        assert_string_equal(str(e, "status"), ends[i]);
        assert_int_equal(num(e, "attempts"), 1);
        assert_int_equal(num(e, "duration_ms"), 3);
        assert_true(json_equal(json_object_get(e, "response"),
                               json_object_get(summary, "response")));
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT CASE WHEN trigger IS NULL THEN 'erased' ELSE 'kept' END"
                 " || CASE WHEN owner IS NULL AND lease_until IS NULL THEN ' free' ELSE ' owned'"
                 " END FROM executions WHERE id = '%s'", ids[i]);
        char *row = beside("instant", sql);
        assert_string_equal(row, i == 1 ? "erased free" : "kept free");
        free(row);
        json_t *steps = json_object_get(e, "steps");
        assert_int_equal(json_array_size(steps), 1);
        assert_string_equal(str(json_array_get(steps, 0), "status"), "ok");
        json_decref(e);
    }
    json_t *j = sc_store_journal(st, "resumed"); /* erased with its end */
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
    json_decref(summary);
    json_decref(trigger);
    json_decref(st8);
    sc_store_close(st);
}

/* Metrics over a window: only what started (or was created) at or after its start. */
static void metrics_count_only_the_window(void **state)
{
    (void)state;
    sc_clock_use_test(1000);
    struct sc_store *st = fresh("window");
    begin(st, "old", "pay"); /* started at 1000 */
    assert_int_equal(sc_store_exec_end(st, "old", "error", 5, NULL, false), 0);
    sc_store_hold_put(st, "old", "pay", "check", "", "differ", NULL);
    sc_clock_use_test(90000);
    struct sc_exec_row row = {.id = "new", .scenario = "pay", .org = "o", .version = "3",
                              .source = "s.yaml", .started_ms = 90000};
    assert_int_equal(sc_store_exec_begin(st, &row), SC_STORE_OK);
    assert_int_equal(sc_store_exec_end(st, "new", "success", 5, NULL, false), 0);
    json_t *all = sc_store_metrics(st, 0), *recent = sc_store_metrics(st, 90000);
    json_t *pa = json_object_get(json_object_get(all, "scenarios"), "pay");
    json_t *pr = json_object_get(json_object_get(recent, "scenarios"), "pay");
    assert_int_equal(num(pa, "executions"), 2);
    assert_int_equal(num(pa, "failures"), 1);
    assert_int_equal(num(pa, "holds"), 1);
    assert_int_equal(num(pr, "executions"), 1);
    assert_int_equal(num(pr, "failures"), 0);
    assert_int_equal(num(pr, "holds"), 0);
    assert_int_equal(num(json_object_get(pr, "by_status"), "success"), 1);
    assert_null(json_object_get(json_object_get(pr, "by_status"), "error"));
    assert_int_equal(num(json_object_get(all, "holds"), "pending"), 1);
    assert_int_equal(num(json_object_get(recent, "holds"), "pending"), 0);
    assert_string_equal(str(recent, "since"), "1970-01-01T00:01:30.000Z");
    json_decref(all);
    json_decref(recent);
    sc_store_close(st);
}

/* People's decisions: recorded once, with who, when and why; the continuations wait for
 * a daemon to take them, oldest first, and end with their outcome. */
static void decisions_are_recorded_once_and_taken_in_order(void **state)
{
    (void)state;
    struct sc_store *st = fresh("decisions");
    sc_clock_use_test(1773050400000); /* 2026-03-09T10:00:00Z */
    begin(st, "e1", "pay");
    begin(st, "e2", "pay");
    begin(st, "e3", "sync");
    begin(st, "e4", "sync");
    int64_t h1 = sc_store_hold_put(st, "e1", "pay", "check", "1", "pay differs", NULL);
    int64_t h2 = sc_store_hold_put(st, "e2", "pay", "check", "1", "pay differs", NULL);
    int64_t d1, d2, d3, d4, dx;
    struct sc_decision_row approve = {.execution = "e1", .action = "approve", .hold = h1,
                                      .by = "alice", .reason = "checked with HR"};
    assert_int_equal(sc_store_decision_add(st, &approve, &d1), SC_STORE_OK);
    assert_int_equal(sc_store_decision_add(st, &approve, &dx), SC_STORE_EXISTS);
    assert_int_equal(dx, -1);
    approve.action = "reject"; /* the hold is decided: a rejection now is refused too */
    assert_int_equal(sc_store_decision_add(st, &approve, &dx), SC_STORE_EXISTS);
    struct sc_decision_row reject = {.execution = "e2", .action = "reject", .hold = h2,
                                     .by = "bob", .reason = "wrong rate"};
    assert_int_equal(sc_store_decision_add(st, &reject, &d2), SC_STORE_OK);
    struct sc_decision_row retry = {.execution = "e3", .action = "retry", .by = "carol"};
    assert_int_equal(sc_store_decision_add(st, &retry, &d3), SC_STORE_OK);
    assert_int_equal(sc_store_decision_add(st, &retry, &dx), SC_STORE_EXISTS);
    struct sc_decision_row here = {.execution = "e4", .action = "retry", .by = "dan", .here = true};
    assert_int_equal(sc_store_decision_add(st, &here, &d4), SC_STORE_OK);
    assert_true(d1 < d2 && d2 < d3 && d3 < d4);
    json_t *h = sc_store_hold(st, h1);
    assert_string_equal(str(h, "state"), "approved");
    assert_string_equal(str(h, "decided_by"), "alice");
    assert_string_equal(str(h, "decided_at"), "2026-03-09T10:00:00.000Z");
    json_decref(h);
    h = sc_store_hold(st, h2);
    assert_string_equal(str(h, "state"), "rejected");
    json_decref(h);
    json_t *v = sc_store_decision(st, d2);
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"action\":\"reject\",\"decided_at\":\"2026-03-09T10:00:00.000Z\","
                              "\"decided_by\":\"bob\",\"ended_at\":\"2026-03-09T10:00:00.000Z\","
                              "\"execution\":\"e2\",\"hold\":2,\"id\":2,\"outcome\":\"rejected\","
                              "\"reason\":\"wrong rate\",\"state\":\"done\"}");
    free(text);
    json_decref(v);
    /* the daemon takes the approval, then the retry; never the rejection or the --here one */
    json_t *info;
    assert_int_equal(sc_store_decision_take(st, &info), SC_STORE_OK);
    assert_int_equal(num(info, "id"), d1);
    assert_string_equal(str(info, "state"), "running");
    assert_string_equal(str(info, "reason"), "checked with HR");
    json_decref(info);
    assert_int_equal(sc_store_decision_take(st, &info), SC_STORE_OK);
    assert_int_equal(num(info, "id"), d3);
    assert_null(json_object_get(info, "hold"));
    json_decref(info);
    assert_int_equal(sc_store_decision_take(st, &info), SC_STORE_NONE);
    assert_null(info);
    sc_clock_advance_ms(1500);
    assert_int_equal(sc_store_decision_end(st, d1, "success"), SC_STORE_OK);
    assert_int_equal(sc_store_decision_end(st, d1, "success"), SC_STORE_NONE);
    assert_int_equal(sc_store_decision_end(st, d4, "error"), SC_STORE_OK);
    v = sc_store_decision(st, d1);
    assert_string_equal(str(v, "state"), "done");
    assert_string_equal(str(v, "outcome"), "success");
    assert_string_equal(str(v, "ended_at"), "2026-03-09T10:00:01.500Z");
    json_decref(v);
    /* once ended, a new retry of the same execution may be recorded */
    here.by = "erin";
    assert_int_equal(sc_store_decision_add(st, &here, &dx), SC_STORE_OK);
    json_t *all = sc_store_decisions(st, "e4");
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(str(json_array_get(all, 0), "outcome"), "error");
    assert_string_equal(str(json_array_get(all, 1), "decided_by"), "erin");
    json_decref(all);
    assert_null(sc_store_decision(st, 999));
    assert_string_equal(sc_store_error(st), "");
    sc_store_close(st);
}

/* An execution that started at started_ms and ended now with status and one step run. */
static void finished(struct sc_store *st, const char *id, const char *status, int64_t started_ms)
{
    struct sc_exec_row row = {.id = id, .scenario = "s", .org = "o", .version = "1",
                              .source = "s.yaml", .started_ms = started_ms};
    assert_int_equal(sc_store_exec_begin(st, &row), SC_STORE_OK);
    struct sc_step_row sr = {.execution = id, .attempt = 1, .step = "a", .module = "set",
                             .bundle = "1", .status = "success", .started_ms = started_ms};
    assert_true(sc_store_step_begin(st, &sr) > 0);
    assert_int_equal(sc_store_exec_end(st, id, status, 5, NULL, false), 0);
    sc_store_exec_release(id);
}

static json_int_t count_of(struct sc_store *st, const char *status)
{
    struct sc_exec_filter f = {.status = status, .limit = 1000};
    json_t *a = sc_store_exec_list(st, &f);
    json_int_t n = (json_int_t)json_array_size(a);
    json_decref(a);
    return n;
}

/* Retention removes finished executions by status and age in batches, with their step
 * runs, and never one still waiting: an open incomplete entry or a pending hold keeps it;
 * a dry run counts without removing. */
static void prune_removes_old_finished_executions_in_batches(void **state)
{
    (void)state;
    sc_clock_use_test(1767225600000); /* 2026-01-01T00:00:00Z: the executions end now */
    struct sc_store *st = fresh("prune");
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "ok%d", i);
        finished(st, id, "success", 1000);
    }
    finished(st, "bad", "error", 1000);
    finished(st, "inc", "warning", 1000);
    finished(st, "gone", "warning", 1000);
    finished(st, "held", "success", 1000);
    finished(st, "rej", "error", 1000); /* a closed decision: it goes with its execution */
    int64_t hold = sc_store_hold_put(st, "rej", "s", "check", "1", "differs", NULL), drej, dbad;
    struct sc_decision_row reject = {.execution = "rej", .action = "reject", .hold = hold,
                                     .by = "ann"};
    assert_int_equal(sc_store_decision_add(st, &reject, &drej), SC_STORE_OK);
    struct sc_decision_row retry = {.execution = "bad", .action = "retry", .by = "ann"};
    assert_int_equal(sc_store_decision_add(st, &retry, &dbad), SC_STORE_OK); /* still to run */
    json_t *err = json_pack("{s:s}", "message", "503");
    struct sc_incomplete_row r = {.execution = "inc", .scenario = "s", .step = "a", .bundle = "1",
                                  .error = err, .attempts = 1, .max_attempts = 3,
                                  .next_ms = 61000, .state = "pending"};
    assert_int_equal(sc_store_incomplete_put(st, &r), 0);
    r.execution = "gone";
    assert_int_equal(sc_store_incomplete_put(st, &r), 0);
    assert_int_equal(sc_store_incomplete_close(st, "gone", "discarded", "ann"), SC_STORE_OK);
    json_decref(err);
    assert_true(sc_store_hold_put(st, "held", "s", "check", "1", "differs", NULL) > 0);
    sc_clock_advance_ms(86400000);
    int64_t cut = sc_clock_now_ms(); /* everything above ended before it */
    struct sc_prune_rule ok = {SC_PRUNE_EXECUTIONS, "success", cut};
    json_t *counts = json_object();
    assert_int_equal(sc_store_prune(st, &ok, 2, true, counts), 5); /* the held one stays */
    assert_int_equal(num(json_object_get(counts, "executions"), "success"), 5);
    assert_int_equal(num(json_object_get(counts, "step_runs"), "success"), 5);
    assert_int_equal(count_of(st, "success"), 6);
    json_object_clear(counts);
    assert_int_equal(sc_store_prune(st, &ok, 2, false, counts), 2);
    assert_int_equal(sc_store_prune(st, &ok, 2, false, counts), 2);
    assert_int_equal(sc_store_prune(st, &ok, 2, false, counts), 1);
    assert_int_equal(sc_store_prune(st, &ok, 2, false, counts), 0);
    assert_int_equal(num(json_object_get(counts, "executions"), "success"), 5);
    assert_int_equal(num(json_object_get(counts, "step_runs"), "success"), 5);
    assert_int_equal(count_of(st, "success"), 1);
    json_t *steps = sc_store_exec_get(st, "ok0");
    assert_null(steps);
    struct sc_prune_rule warn = {SC_PRUNE_EXECUTIONS, "warning", cut};
    json_object_clear(counts);
    assert_int_equal(sc_store_prune(st, &warn, 10, false, counts), 1); /* "gone", not "inc" */
    json_t *inc = sc_store_incomplete_get(st, "inc");
    assert_string_equal(str(inc, "state"), "pending");
    json_decref(inc);
    assert_null(sc_store_incomplete_get(st, "gone"));
    struct sc_prune_rule young = {SC_PRUNE_EXECUTIONS, "error", cut - 86400000};
    assert_int_equal(sc_store_prune(st, &young, 10, false, counts), 0);
    struct sc_prune_rule errs = {SC_PRUNE_EXECUTIONS, "error", cut};
    assert_int_equal(sc_store_prune(st, &errs, 10, false, counts), 1); /* "rej", not "bad" */
    assert_null(sc_store_decision(st, drej));
    json_t *open = sc_store_decision(st, dbad);
    assert_non_null(open);
    json_decref(open);
    json_t *bad = sc_store_exec_get(st, "bad");
    assert_string_equal(str(bad, "status"), "error");
    json_decref(bad);
    struct sc_prune_rule queued = {SC_PRUNE_EXECUTIONS, "queued", cut};
    assert_int_equal(sc_store_prune(st, &queued, 10, false, counts), 0);
    json_decref(counts);
    sc_store_close(st);
}

/* Closed queue items and shadowed writes go by age; open items stay. */
static void prune_removes_closed_queue_items_and_old_shadowed_writes(void **state)
{
    (void)state;
    sc_clock_use_test(1767225600000);
    struct sc_store *st = fresh("prune-rows");
    json_t *item = json_pack("{s:s}", "employee", "E-7");
    int64_t a = sc_store_queue_push(st, "orphans", item, NULL);
    int64_t b = sc_store_queue_push(st, "orphans", item, NULL);
    json_decref(item);
    assert_int_equal(sc_store_queue_resolve(st, a, "ann", NULL), SC_STORE_OK);
    json_t *h = json_object();
    struct sc_shadow_row r = {.at_ms = 1000, .org = "o", .scenario = "s", .version = "2",
                              .execution = "e", .step = "put", .bundle = "1",
                              .connection = "hris", .method = "PUT", .url = "http://h/x",
                              .status = 200, .headers = h};
    assert_true(sc_store_shadow_add(st, &r) > 0);
    r.at_ms = sc_clock_now_ms() + 900;
    assert_true(sc_store_shadow_add(st, &r) > 0);
    json_decref(h);
    sc_clock_advance_ms(1000);
    json_t *counts = json_object();
    struct sc_prune_rule q = {SC_PRUNE_QUEUE_ITEMS, NULL, sc_clock_now_ms()};
    assert_int_equal(sc_store_prune(st, &q, 10, true, counts), 1);
    assert_int_equal(sc_store_prune(st, &q, 10, false, counts), 1);
    assert_int_equal(num(json_object_get(counts, "queue_items"), "resolved"), 2);
    assert_int_equal(sc_store_queue_open(st, "orphans"), 1);
    json_t *left = sc_store_queue_item(st, b);
    assert_string_equal(str(left, "state"), "open");
    json_decref(left);
    struct sc_prune_rule sh = {SC_PRUNE_SHADOW, NULL, sc_clock_now_ms() - 500};
    assert_int_equal(sc_store_prune(st, &sh, 10, false, counts), 1);
    assert_int_equal(num(json_object_get(counts, "shadow_writes"), "all"), 1);
    struct sc_shadow_filter f = {0};
    json_t *list = sc_store_shadow_list(st, &f);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    json_decref(counts);
    sc_store_close(st);
}

static void audit_rows(struct sc_store *st, int n, int64_t at)
{
    for (int i = 0; i < n; i++) {
        struct sc_audit_row a = {.at_ms = at + i, .org = "o", .scenario = "s", .version = "1",
                                 .execution = "e", .step = "put", .method = "PUT",
                                 .sent_from = "f", .sent_to = "http://127.0.0.1/x",
                                 .status = 200, .outcome = "ok", .body = "{}", .body_len = 2};
        assert_true(sc_store_audit_add(st, &a) > 0);
    }
}

/* Old audit rows go to an archive file with a checkpoint and the chain is still proved
 * across it; an edited archive line fails verify naming the row and the line. */
static void the_audit_archive_keeps_the_chain_provable(void **state)
{
    (void)state;
    sc_clock_use_test(1767225600000);
    struct sc_store *st = fresh("archive");
    setenv("CONTRACT_AUDIT_KEY", "contract-audit-key-0123456789abcdef", 1);
    sc_store_audit_key(st, "env:CONTRACT_AUDIT_KEY", 0);
    audit_rows(st, 5, 1000);
    audit_rows(st, 2, 5000);
    const char *path = "build/test-contract-archive.jsonl";
    unlink(path);
    json_t *problem = NULL;
    assert_int_equal(sc_store_audit_archive(st, "o", 5000, 0, 2, path, &problem), 5);
    assert_int_equal(access(path, F_OK), -1); /* a dry run writes nothing */
    assert_int_equal(sc_store_audit_archive(st, "o", 5000, 3, 2, path, &problem), 3);
    assert_int_equal(sc_store_audit_archive(st, "o", 5000, 100, 2, path, &problem), 2);
    assert_int_equal(sc_store_audit_archive(st, "o", 5000, 100, 2, path, &problem), 0);
    assert_null(problem);
    json_t *cp = sc_store_audit_archived(st);
    assert_int_equal(num(cp, "through"), 5);
    assert_string_equal(str(cp, "file"), path);
    json_decref(cp);
    struct sc_audit_filter f = {.limit = 100};
    json_t *rows = sc_store_audit_list(st, &f);
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(num(json_array_get(rows, 0), "id"), 6);
    json_decref(rows);
    assert_int_equal(sc_store_audit_verify(st, "o", NULL, &problem), SC_STORE_OK);
    assert_int_equal(sc_store_audit_verify_archive(st, "o", NULL, path, &problem), SC_STORE_OK);
    /* five rows and two checkpoints; then row 2's status edited */
    FILE *fp = fopen(path, "r");
    char lines[8][2048];
    int n = 0;
    while (n < 8 && fgets(lines[n], sizeof lines[n], fp))
        n++;
    fclose(fp);
    assert_int_equal(n, 7);
    assert_non_null(strstr(lines[3], "\"checkpoint\""));
    char *at = strstr(lines[1], "\"status\":200");
    assert_non_null(at);
    memcpy(at, "\"status\":201", 12);
    fp = fopen(path, "w");
    for (int i = 0; i < n; i++)
        fputs(lines[i], fp);
    fclose(fp);
    assert_int_equal(sc_store_audit_verify_archive(st, "o", NULL, path, &problem),
                     SC_STORE_BROKEN);
    assert_int_equal(num(problem, "row"), 2);
    assert_int_equal(num(problem, "line"), 2);
    char want[300];
    snprintf(want, sizeof want, "in archive %s (line 2) was changed or forged: its contents "
             "do not match its HMAC", path);
    assert_string_equal(str(problem, "reason"), want);
    json_decref(problem);
    problem = NULL;
    memcpy(at, "\"status\":200", 12);
    fp = fopen(path, "w"); /* the file cut after its first checkpoint: not the store's archive */
    for (int i = 0; i < 4; i++)
        fputs(lines[i], fp);
    fclose(fp);
    assert_int_equal(sc_store_audit_archive(st, "o", 6000, 100, 2, path, &problem), -1);
    assert_int_equal(num(problem, "row"), 5);
    snprintf(want, sizeof want, "is where the store's archive checkpoint ends, but archive %s "
             "holds no such checkpoint (rows through 3): another file, or it was cut", path);
    assert_string_equal(str(problem, "reason"), want);
    json_decref(problem);
    unlink(path);
    sc_store_close(st);
}

/* A backup is a store of its own with the same rows, made while this connection writes,
 * and never over an existing file. */
static void a_backup_is_a_consistent_copy(void **state)
{
    (void)state;
    sc_clock_use_test(1767225600000);
    struct sc_store *st = fresh("backup");
    finished(st, "b1", "success", 1000);
    const char *path = "build/test-contract-backup.db";
    unlink(path);
    char want[600];
    if (under_test->be == &sc_store_pg) { /* a server's database: pg_dump's work, said so */
        const char *uri = getenv("SCENARIST_TEST_PG");
        assert_int_equal(sc_store_backup(st, path), -1);
        snprintf(want, sizeof want, "backup %s: store %s is a PostgreSQL database, which "
                 "scenarist does not copy: use pg_dump (pg_dump --format=custom --file=%s "
                 "'%s'; restore with pg_restore)", path, uri, path, uri);
        assert_string_equal(sc_store_error(st), want);
        assert_int_equal(access(path, F_OK), -1); /* nothing written */
        json_t *space = sc_store_space(st);
        assert_true(num(space, "bytes") > 0);
        assert_true(num(json_object_get(space, "tables"), "executions") > 0);
        json_decref(space);
        sc_store_close(st);
        return;
    }
    assert_int_equal(sc_store_backup(st, path), 0);
    assert_int_equal(sc_store_backup(st, path), -1);
    snprintf(want, sizeof want, "backup %s: the file exists; not overwritten", path);
    assert_string_equal(sc_store_error(st), want);
    char err[512];
    struct sc_store *copy = sc_store_open(path, NULL, err, sizeof err);
    assert_non_null(copy);
    json_t *e = sc_store_exec_get(copy, "b1");
    assert_string_equal(str(e, "status"), "success");
    json_decref(e);
    json_t *space = sc_store_space(copy);
    assert_true(json_is_true(json_object_get(space, "incremental")));
    json_decref(space);
    sc_store_close(copy);
    unlink(path);
    sc_store_close(st);
}

/* The audit log summed up over a window: each write counted once by its first row, with
 * the outcome of the row that completed it, per scenario and per system (the longest URL
 * prefix at a path boundary, else "other"). */
static void the_audit_summary_counts_each_write_once_in_its_window(void **state)
{
    (void)state;
    sc_clock_use_test(1767225600000);
    struct sc_store *st = fresh("summary");
    struct sc_audit_row a = {.at_ms = 1000, .org = "o", .scenario = "s", .version = "1",
                             .execution = "e", .step = "put", .method = "PUT",
                             .sent_from = "f", .sent_to = "http://hris.example/api/x",
                             .status = 202, .outcome = "sent", .body = "{}", .body_len = 2};
    int64_t first = sc_store_audit_add(st, &a);
    assert_true(first > 0);
    a.at_ms = 7000; /* completes the first write later, outside the window */
    a.ref = first;
    a.outcome = "ok";
    assert_true(sc_store_audit_add(st, &a) > 0);
    a.ref = 0;
    a.at_ms = 2000;
    a.sent_to = "http://hris.example/api/y";
    a.outcome = "failed";
    assert_true(sc_store_audit_add(st, &a) > 0);
    a.at_ms = 3000;
    a.sent_to = "http://hris.example/apix"; /* not at a path boundary: another system */
    a.outcome = "ok";
    assert_true(sc_store_audit_add(st, &a) > 0);
    a.scenario = "t";
    a.sent_to = "http://lms.example/z";
    a.at_ms = 5000;
    assert_true(sc_store_audit_add(st, &a) > 0);
    a.at_ms = 5001; /* after the window */
    assert_true(sc_store_audit_add(st, &a) > 0);
    struct sc_audit_row act = {.at_ms = 4000, .org = "o", .scenario = "s", .method = "approve",
                               .sent_to = "scenarist:holds/1", .outcome = "done", .by = "ann"};
    assert_true(sc_store_audit_add(st, &act) > 0); /* a person's action: no write */
    json_t *systems = json_pack("{s:s, s:s}", "hris", "http://hris.example/api/", "lms",
                                "http://lms.example");
    json_t *sum = sc_store_audit_summary(st, 1000, 5000, systems);
    assert_non_null(sum);
    json_t *want = json_pack("{s:{s:{s:i, s:i}, s:{s:i}}, s:{s:{s:i}}}", "s", "hris", "ok", 1,
                             "failed", 1, "other", "ok", 1, "t", "lms", "ok", 1);
    assert_true(json_equal(json_object_get(sum, "writes"), want));
    json_decref(want);
    want = json_pack("{s:{s:i, s:i}, s:{s:i}, s:{s:i}}", "hris", "ok", 1, "failed", 1, "lms",
                     "ok", 1, "other", "ok", 1);
    assert_true(json_equal(json_object_get(sum, "systems"), want));
    json_decref(want);
    want = json_pack("{s:i, s:i, s:i}", "writes", 4, "ok", 3, "failed", 1);
    assert_true(json_equal(json_object_get(sum, "totals"), want));
    json_decref(want);
    char iso[40];
    sc_clock_iso(1000, iso, sizeof iso);
    assert_string_equal(str(sum, "since"), iso);
    sc_clock_iso(5000, iso, sizeof iso);
    assert_string_equal(str(sum, "until"), iso);
    json_decref(sum);
    json_decref(systems);
    sc_store_close(st);
}

/* What another process does beside the store: one statement on the test's database; the
 * first column of its first row (new), or NULL. */
static char *beside(const char *test, const char *sql)
{
    char *v = NULL;
    if (!strcmp(under_test->name, "sqlite")) {
        char path[256];
        snprintf(path, sizeof path, "build/test-contract-%s.db", test);
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        int rc = sqlite3_step(s);
        assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
        if (rc == SQLITE_ROW && sqlite3_column_text(s, 0))
            v = sc_strdup((const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        sqlite3_close(db);
        return v;
    }
    PGconn *c = PQconnectdb(getenv("SCENARIST_TEST_PG"));
    PGresult *r = PQexec(c, sql);
    ExecStatusType k = PQresultStatus(r);
    if (k != PGRES_COMMAND_OK && k != PGRES_TUPLES_OK)
        fprintf(stderr, "# %s", PQerrorMessage(c));
    assert_true(k == PGRES_COMMAND_OK || k == PGRES_TUPLES_OK);
    if (k == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = sc_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

static void beside_is(const char *test, const char *sql, const char *want)
{
    char *got = beside(test, sql);
    assert_string_equal(got ? got : "(null)", want);
    free(got);
}

/* A person's continuation is its taker's till it ends. Its outcome is recorded only by the
 * process holding it, checked in the statement that ends it: one taken over by another
 * daemon is not ended by the first. While its execution runs here, the heartbeat renews the
 * take: on PostgreSQL, where another daemon takes a continuation a lease after its last
 * renewal, a run longer than a lease is not taken again between the end of its execution's
 * attempt and the recording of its outcome. SQLite has one daemon per store: a
 * continuation another owner holds is a stopped process's, taken at once. */
static void a_continuation_is_ended_only_by_its_holder(void **state)
{
    (void)state;
    sc_clock_use_test(1773050400000); /* 2026-03-09T10:00:00Z */
    struct sc_store *st = fresh("holder");
    begin(st, "e1", "sync"); /* its attempt runs in this process: its lease is live */
    int64_t d;
    struct sc_decision_row retry = {.execution = "e1", .action = "retry", .by = "carol"};
    assert_int_equal(sc_store_decision_add(st, &retry, &d), SC_STORE_OK);
    json_t *info;
    assert_int_equal(sc_store_decision_take(st, &info), SC_STORE_OK);
    json_decref(info);
    for (int i = 0; i < 9; i++) { /* the run outlives three leases; the heartbeat renews */
        sc_clock_advance_ms(sc_store_lease_ms() / 3);
        assert_int_equal(sc_store_lease_renew(st), 0);
    }
    bool pg = !strcmp(under_test->name, "postgresql");
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)sc_clock_now_ms());
    if (pg)
        beside_is("holder", "SELECT taken_at FROM decisions", now);
    /* its attempt ends (incomplete: a retry would run it again); its outcome is not yet in */
    json_t *summary = json_pack("{s:s}", "error", "boom");
    assert_int_equal(sc_store_exec_end(st, "e1", "warning", 42, summary, false), 0);
    json_decref(summary);
    sc_store_exec_release("e1");
    free(beside("holder", "UPDATE decisions SET owner = 42")); /* as another daemon sees it */
    if (pg) {
        assert_int_equal(sc_store_decision_take(st, &info), SC_STORE_NONE); /* held */
        assert_null(info);
        sc_clock_advance_ms(sc_store_lease_ms()); /* its holder stopped renewing: taken over */
    }
    assert_int_equal(sc_store_decision_take(st, &info), SC_STORE_OK);
    assert_int_equal(num(info, "id"), d);
    json_decref(info);
    /* taken over: the former holder's outcome is not recorded, the new holder's is */
    free(beside("holder", "UPDATE decisions SET owner = 42"));
    assert_int_equal(sc_store_decision_end(st, d, "success"), SC_STORE_NONE);
    beside_is("holder", "SELECT state || '|' || coalesce(outcome, '-') FROM decisions",
              "running|-");
    char mine[96];
    snprintf(mine, sizeof mine, "UPDATE decisions SET owner = %lld", (long long)sc_store_owner());
    free(beside("holder", mine));
    assert_int_equal(sc_store_decision_end(st, d, "warning"), SC_STORE_OK);
    beside_is("holder", "SELECT state || '|' || coalesce(outcome, '-') FROM decisions",
              "done|warning");
    sc_store_close(st);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(throttle_slots_are_kept_or_left_to_the_process),
        cmocka_unit_test(executions_begin_end_and_read_back),
        cmocka_unit_test(steps_are_recorded_with_their_states),
        cmocka_unit_test(deferred_steps_read_as_they_ended),
        cmocka_unit_test(the_queue_claims_realtime_first_then_in_arrival_order),
        cmocka_unit_test(a_trigger_dumped_by_its_caller_is_stored_as_given),
        cmocka_unit_test(leases_keep_an_execution_till_they_expire),
        cmocka_unit_test(incomplete_entries_and_holds_wait_for_their_turn),
        cmocka_unit_test(work_queues_count_what_is_open),
        cmocka_unit_test(queue_depth_over_days_counts_what_was_open_at_each_end),
        cmocka_unit_test(keyed_queue_items_converge),
        cmocka_unit_test(data_stores_keep_claim_expire_and_delete),
        cmocka_unit_test(the_audit_chain_verifies_and_refuses_a_foreign_checkpoint),
        cmocka_unit_test(shadowed_writes_are_kept_in_full_and_filtered),
        cmocka_unit_test(versions_are_numbered_and_an_unchanged_one_is_the_same),
        cmocka_unit_test(trigger_state_and_seen_poll_keys),
        cmocka_unit_test(counters_count_each_change_as_it_happens),
        cmocka_unit_test(counters_follow_batches_and_rollbacks),
        cmocka_unit_test(an_execution_taken_and_ended_in_one_batch_reads_as_ended),
        cmocka_unit_test(metrics_count_only_the_window),
        cmocka_unit_test(prune_removes_old_finished_executions_in_batches),
        cmocka_unit_test(prune_removes_closed_queue_items_and_old_shadowed_writes),
        cmocka_unit_test(the_audit_archive_keeps_the_chain_provable),
        cmocka_unit_test(a_backup_is_a_consistent_copy),
        cmocka_unit_test(the_audit_summary_counts_each_write_once_in_its_window),
        cmocka_unit_test(decisions_are_recorded_once_and_taken_in_order), /* last: test clock */
        cmocka_unit_test(a_continuation_is_ended_only_by_its_holder),     /* test clock */
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
