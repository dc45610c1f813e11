/* The store's own promises: the schema migrates once, SHA-256 is SHA-256, confidential
 * data is sealed at rest and opens again, the audit chain verifies and names a break,
 * retries come due in time order, transactions nest, the queue keeps its order. */
#include "test.h"

#include "clock.h"
#include "crypto.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sc_store *fresh(const char *path)
{
    char err[256], key[300];
    unlink(path);
    snprintf(key, sizeof key, "%s.key", path);
    unlink(key);
    struct sc_store *st = sc_store_open(path, NULL, err, sizeof err);
    if (!st)
        fprintf(stderr, "# %s\n", err);
    assert_non_null(st);
    return st;
}

static void sha256_matches_the_standard_vectors(void **state)
{
    (void)state;
    char hex[65];
    sc_crypto_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sc_crypto_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void reopening_keeps_the_data_and_migrates_nothing(void **state)
{
    (void)state;
    struct sc_store *st = fresh("build/test-store-reopen.db");
    json_t *trigger = json_pack("{s:{s:s}}", "body", "id", "E-1");
    struct sc_exec_row row = {.id = "x1", .scenario = "s", .org = "o", .version = "1",
                              .source = "s.yaml", .trigger = trigger, .started_ms = 1000};
    assert_int_equal(sc_store_exec_begin(st, &row), 0);
    assert_int_equal(sc_store_exec_begin(st, &row), SC_STORE_EXISTS); /* one id, one execution */
    assert_non_null(strstr(sc_store_error(st), "is taken"));
    sc_store_close(st);
    char err[256];
    st = sc_store_open("build/test-store-reopen.db", NULL, err, sizeof err);
    assert_non_null(st);
    json_t *info = sc_store_exec_resume_info(st, "x1");
    assert_non_null(info);
    assert_true(json_equal(json_object_get(info, "trigger"), trigger));
    assert_string_equal(json_string_value(json_object_get(info, "status")), "running");
    json_decref(info);
    json_decref(trigger);
    sc_store_close(st);
}

static bool file_has(const char *path, const char *needle)
{
    size_t len;
    bool big;
    char *text = sc_read_file(path, 64u << 20, &len, &big);
    assert_non_null(text);
    size_t n = strlen(needle);
    bool found = false;
    for (size_t i = 0; !found && i + n <= len; i++)
        found = !memcmp(text + i, needle, n);
    free(text);
    return found;
}

static void confidential_data_is_sealed_and_opens_again(void **state)
{
    (void)state;
    struct sc_store *st = fresh("build/test-store-sealed.db");
    json_t *trigger = json_pack("{s:{s:s}}", "body", "ssn", "078-05-1120");
    struct sc_exec_row row = {.id = "c1", .scenario = "s", .org = "o", .version = "1",
                              .trigger = trigger, .confidential = true, .started_ms = 1};
    assert_int_equal(sc_store_exec_begin(st, &row), 0);
    json_t *outs = json_pack("{s:[{s:i}]}", "outs", "pay_rate", 913579);
    struct sc_step_row sr = {.execution = "c1", .step = "offer", .module = "http.request",
                             .bundle = "", .status = "ok", .attempt = 1, .duration_ms = 3,
                             .output = NULL, .state = outs, .confidential = true};
    assert_true(sc_store_step_begin(st, &sr) > 0);
    sc_store_close(st); /* the last connection checkpoints the WAL into the file */
    assert_false(file_has("build/test-store-sealed.db", "078-05-1120"));
    assert_false(file_has("build/test-store-sealed.db", "913579"));
    char err[256];
    st = sc_store_open("build/test-store-sealed.db", NULL, err, sizeof err);
    json_t *j = sc_store_journal(st, "c1");
    assert_true(json_equal(json_object_get(j, "offer "), outs));
    json_t *info = sc_store_exec_resume_info(st, "c1");
    assert_true(json_equal(json_object_get(info, "trigger"), trigger));
    json_decref(info);
    json_decref(j);
    /* Finished: the sealed data goes too. */
    assert_int_equal(sc_store_exec_end(st, "c1", "success", 5, NULL, true), 0);
    j = sc_store_journal(st, "c1");
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
    assert_null(sc_store_exec_resume_info(st, "c1"));
    assert_string_equal(sc_store_error(st), "execution c1 has finished (success): nothing is left to run");
    json_decref(outs);
    json_decref(trigger);
    sc_store_close(st);
}

static void a_wrong_key_does_not_open_sealed_data(void **state)
{
    (void)state;
    struct sc_store *st = fresh("build/test-store-key.db");
    json_t *trigger = json_pack("{s:s}", "secret", "s3");
    struct sc_exec_row row = {.id = "k1", .scenario = "s", .org = "o", .version = "1",
                              .trigger = trigger, .confidential = true, .started_ms = 1};
    assert_int_equal(sc_store_exec_begin(st, &row), 0);
    sc_store_close(st);
    setenv("TEST_STORE_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    char err[256];
    st = sc_store_open("build/test-store-key.db", "env:TEST_STORE_KEY", err, sizeof err);
    assert_non_null(st);
    assert_null(sc_store_exec_resume_info(st, "k1"));
    assert_string_equal(sc_store_error(st), "sealed data does not open with this store's key");
    sc_store_close(st);
    setenv("TEST_STORE_KEY", "short", 1);
    st = sc_store_open("build/test-store-key.db", "env:TEST_STORE_KEY", err, sizeof err);
    assert_null(sc_store_exec_resume_info(st, "k1"));
    assert_string_equal(sc_store_error(st), "store key must be 64 hexadecimal digits");
    sc_store_close(st);
    json_decref(trigger);
}

static void the_audit_chain_verifies(void **state)
{
    (void)state;
    struct sc_store *st = fresh("build/test-store-audit.db");
    setenv("TEST_AUDIT_KEY", "unit-test-audit-key-0123456789abcdef", 1);
    sc_store_audit_key(st, "env:TEST_AUDIT_KEY", 0);
    json_t *problem = NULL;
    assert_int_equal(sc_store_audit_verify(st, "o", NULL, &problem), 0); /* empty is intact */
    for (int i = 0; i < 3; i++) { /* a write: its pending row, then the row completing it */
        struct sc_audit_row a = {.at_ms = 1000 + i, .org = "o", .scenario = "s", .version = "1",
                                 .execution = "e", .step = "w", .method = "POST",
                                 .sent_from = "f", .sent_to = "http://x/y", .status = 0,
                                 .outcome = "pending", .body = "{}", .body_len = 2};
        assert_int_equal(sc_store_audit_add(st, &a), 2 * i + 1);
        a.status = 201;
        a.outcome = "ok";
        a.ref = 2 * i + 1;
        assert_int_equal(sc_store_audit_add(st, &a), 2 * i + 2);
    }
    assert_int_equal(sc_store_audit_verify(st, "o", NULL, &problem), 0);
    assert_null(problem);
    struct sc_audit_filter f = {.sent_to_prefix = "http://x/"};
    json_t *rows = sc_store_audit_list(st, &f);
    assert_int_equal(json_array_size(rows), 3); /* one per write */
    json_t *first = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(first, "body_sha256")),
                        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    assert_string_equal(json_string_value(json_object_get(first, "outcome")), "ok");
    assert_int_equal(json_integer_value(json_object_get(first, "status")), 201);
    json_decref(rows);
    json_t *cp = sc_store_audit_checkpoint(st, "o", &problem);
    assert_non_null(cp);
    assert_int_equal(json_integer_value(json_object_get(cp, "count")), 6);
    assert_string_equal(json_string_value(json_object_get(cp, "key_id")), "k9b90484da416419a");
    assert_int_equal(sc_store_audit_verify(st, "o", cp, &problem), 0);
    json_object_set_new(cp, "count", json_integer(5));
    assert_int_equal(sc_store_audit_verify(st, "o", cp, &problem), SC_STORE_REFUSED);
    json_decref(problem);
    assert_int_equal(sc_store_audit_verify(st, "other", cp, &problem), SC_STORE_REFUSED);
    json_decref(problem);
    json_decref(cp);
    sc_store_audit_key(st, NULL, 0);
    assert_int_equal(sc_store_audit_verify(st, "o", NULL, &problem), -1);
    assert_string_equal(sc_store_error(st), "no audit key");
    sc_store_close(st);
}

static void retries_come_due_in_time_order(void **state)
{
    (void)state;
    struct sc_store *st = fresh("build/test-store-due.db");
    const char *ids[] = {"late", "soon", "person"};
    int64_t next[] = {5000, 2000, 0};
    for (int i = 0; i < 3; i++) {
        struct sc_exec_row row = {.id = ids[i], .scenario = "s", .org = "o", .version = "1",
                                  .trigger = json_null(), .started_ms = 1};
        assert_int_equal(sc_store_exec_begin(st, &row), 0);
        json_t *e = json_pack("{s:s}", "message", "boom");
        struct sc_incomplete_row r = {.execution = ids[i], .scenario = "s", .step = "w",
                                      .bundle = "1", .error = e, .attempts = 1, .max_attempts = 3,
                                      .next_ms = next[i], .state = next[i] ? "pending" : "exhausted"};
        assert_int_equal(sc_store_incomplete_put(st, &r), 0);
        json_decref(e);
    }
    json_t *due = sc_store_incomplete_due(st, 1999);
    assert_int_equal(json_array_size(due), 0);
    json_decref(due);
    due = sc_store_incomplete_due(st, 6000);
    assert_int_equal(json_array_size(due), 2);
    assert_string_equal(json_string_value(json_array_get(due, 0)), "soon");
    assert_string_equal(json_string_value(json_array_get(due, 1)), "late");
    json_decref(due);
    json_t *open = sc_store_incomplete_list(st, NULL);
    assert_int_equal(json_array_size(open), 3);
    json_decref(open);
    assert_int_equal(sc_store_incomplete_close(st, "person", "resolved", "ann"), 0);
    assert_int_equal(sc_store_incomplete_close(st, "person", "resolved", "ann"), SC_STORE_NONE);
    json_t *m = sc_store_metrics(st, 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "incomplete"), "total")), 2);
    json_decref(m);
    sc_store_close(st);
}

static void begin_row(struct sc_store *st, const char *id)
{
    struct sc_exec_row row = {.id = id, .scenario = "s", .org = "o", .version = "1",
                              .source = "s.yaml", .started_ms = 1000};
    assert_int_equal(sc_store_exec_begin(st, &row), 0);
}

static void transactions_nest_and_roll_back_whole(void **state)
{
    (void)state;
    struct sc_store *st = fresh("build/test-store-nest.db");
    assert_int_equal(sc_store_tx_begin(st), 0);
    begin_row(st, "x1");
    assert_int_equal(sc_store_exec_end(st, "x1", "success", 5, NULL, true), 0); /* its own, inner */
    assert_true(sc_store_tx_open(st));
    sc_store_tx_rollback(st);
    assert_false(sc_store_tx_open(st));
    assert_null(sc_store_exec_get(st, "x1")); /* the outer rollback took the inner commit too */

    assert_int_equal(sc_store_tx_begin(st), 0);
    begin_row(st, "x2");
    assert_int_equal(sc_store_exec_claim(st, "missing", 2, -1), -1); /* rolls back itself only */
    assert_string_equal(sc_store_error(st), "no execution missing");
    assert_int_equal(sc_store_exec_end(st, "x2", "success", 5, NULL, true), 0);
    assert_int_equal(sc_store_tx_commit(st), 0);
    json_t *v = sc_store_exec_get(st, "x2");
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "success");
    json_decref(v);
    assert_int_equal(sc_store_tx_commit(st), -1); /* nothing open */
    sc_store_close(st);
}

static void queue(struct sc_store *st, const char *id, const char *source, bool realtime,
                  const char *lane)
{
    char first[64];
    json_t *trigger = json_pack("{s:s}", "kind", "webhook");
    struct sc_event_row ev = {.exec = {.id = id, .scenario = "s", .org = "o", .version = "1",
                                       .source = source, .trigger = trigger, .started_ms = 1000},
                              .realtime = realtime, .lane = lane};
    assert_int_equal(sc_store_enqueue(st, &ev, first, sizeof first), 0);
    json_decref(trigger);
}

static void claim(struct sc_store *st, const char *want_id, const char *want_source)
{
    json_t *info;
    assert_int_equal(sc_store_claim_next(st, INT64_MAX, &info), want_id ? SC_STORE_OK : SC_STORE_NONE);
    if (want_id) {
        assert_string_equal(json_string_value(json_object_get(info, "id")), want_id);
        assert_string_equal(json_string_value(json_object_get(info, "source")), want_source);
        assert_int_equal(json_integer_value(json_object_get(info, "attempts")), 1);
        assert_string_equal(json_string_value(json_object_get(info, "status")), "running");
        assert_string_equal(json_string_value(json_object_get(json_object_get(info, "trigger"),
                                                              "kind")), "webhook");
    }
    json_decref(info);
}

static void the_queue_serves_realtime_first_and_a_lane_in_order(void **state)
{
    (void)state;
    struct sc_store *st = fresh("build/test-store-queue.db");
    queue(st, "a", "seq.yaml", false, "seq");
    queue(st, "b", "seq.yaml", false, "seq");
    queue(st, "c", "rt.yaml", true, NULL);
    assert_int_equal(sc_store_last_seq(st), 3);
    json_t *none;
    assert_int_equal(sc_store_claim_next(st, 2, &none), SC_STORE_OK); /* c is past the synced end */
    assert_string_equal(json_string_value(json_object_get(none, "id")), "a");
    json_decref(none);
    claim(st, "c", "rt.yaml");
    claim(st, NULL, NULL); /* b waits while a runs */
    assert_int_equal(sc_store_exec_end(st, "a", "success", 1, NULL, true), 0);
    claim(st, "b", "seq.yaml");
    sc_store_close(st);
}

/* A claim in the process that enqueued an event takes its trigger as enqueued (a copy: the
 * caller's later changes do not reach it), without reading the row back; a trigger too
 * large to be handed over is read from the row; both equal what was enqueued. */
static void a_claim_gets_the_trigger_as_enqueued(void **state)
{
    (void)state;
    struct sc_store *a = fresh("build/test-store-handoff.db");
    char err[256], first[64];
    struct sc_store *b = sc_store_open("build/test-store-handoff.db", NULL, err, sizeof err);
    assert_non_null(b);
    json_t *small = json_pack("{s:s, s:{s:f, s:s, s:[i, n, b], s:I}}", "kind", "webhook", "body",
                              "n", 1.5, "s", "caf\u00e9", "a", 1, 1, "big", (json_int_t)9007199254740993);
    json_t *want_small = json_deep_copy(small);
    json_t *large = json_pack("{s:s, s:s}", "kind", "webhook", "pad", "");
    char pad[6000];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    json_object_set_new(large, "pad", json_string(pad));
    struct sc_event_row e1 = {.exec = {.id = "h1", .scenario = "s", .org = "o", .version = "1",
                                       .source = "s.yaml", .trigger = small, .started_ms = 1000}};
    struct sc_event_row e2 = e1, e3 = e1;
    e2.exec.id = "h2";
    e3.exec.id = "h3";
    e3.exec.trigger = large;
    assert_int_equal(sc_store_enqueue(a, &e1, first, sizeof first), 0);
    assert_int_equal(sc_store_enqueue(a, &e2, first, sizeof first), 0);
    assert_int_equal(sc_store_enqueue(a, &e3, first, sizeof first), 0);
    json_object_set_new(json_object_get(small, "body"), "n", json_integer(99)); /* the caller's */
    const char *ids[3] = {"h1", "h2", "h3"};
    json_t *want[3] = {want_small, want_small, large};
    for (int i = 0; i < 3; i++) {
        json_t *info;
        /* h1 by the connection that enqueued it, h2 and h3 by another of the same process */
        assert_int_equal(sc_store_claim_next(i ? b : a, INT64_MAX, &info), SC_STORE_OK);
        assert_string_equal(json_string_value(json_object_get(info, "id")), ids[i]);
        assert_string_equal(json_string_value(json_object_get(info, "source")), "s.yaml");
        assert_string_equal(json_string_value(json_object_get(info, "status")), "running");
        assert_int_equal(json_integer_value(json_object_get(info, "attempts")), 1);
        assert_true(json_is_false(json_object_get(info, "confidential")));
        assert_true(json_equal(json_object_get(info, "trigger"), want[i]));
        json_decref(info);
    }
    json_t *none;
    assert_int_equal(sc_store_claim_next(b, INT64_MAX, &none), SC_STORE_NONE);
    json_decref(small);
    json_decref(want_small);
    json_decref(large);
    sc_store_close(b);
    sc_store_close(a);
}

/* One value of a query on the store's own connection, as text ("" when NULL). */
static char *one(struct sc_store *base, const char *q)
{
    sqlite3 *db = ((struct sq_store *)base)->db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const char *t = (const char *)sqlite3_column_text(s, 0);
    char *v = sc_strdup(t ? t : "");
    sqlite3_finalize(s);
    return v;
}

static void one_is(struct sc_store *st, const char *q, const char *want)
{
    char *v = one(st, q);
    assert_string_equal(v, want);
    free(v);
}

#define EXEC_COUNTERS                                                                         \
    "SELECT group_concat(l2 || '=' || value, ' ') FROM (SELECT l2, value FROM counters"       \
    " WHERE name = 'executions' AND l1 = 'hook' ORDER BY l2)"

/* Every write of the store's code that inserts an execution or changes its status counts
 * it once, at the commit of the transaction it is in (enqueue, claim, end, exec_begin, a
 * retry's exec_claim), and not again when the status stays (a lapsed lease of a running
 * one claimed); a rollback drops its counts with its rows; a write behind the store's back
 * (plain SQL) is not counted: no trigger counts executions. */
static void every_write_of_the_store_counts_its_executions_once(void **state)
{
    (void)state;
    sc_clock_use_test(5000);
    struct sc_store *st = fresh("build/test-store-counted.db");
    one_is(st, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
           " AND name LIKE 'count_exec%'", "0");
    char first[64];
    json_t *trigger = json_pack("{s:s}", "kind", "webhook");
    struct sc_event_row ev = {.exec = {.id = "q1", .scenario = "hook", .org = "o", .version = "1",
                                       .source = "hook.yaml", .trigger = trigger,
                                       .started_ms = 4000}};
    assert_int_equal(sc_store_enqueue(st, &ev, first, sizeof first), SC_STORE_OK);
    one_is(st, EXEC_COUNTERS, "queued=1");
    json_t *info;
    assert_int_equal(sc_store_claim_next(st, INT64_MAX, &info), SC_STORE_OK);
    json_decref(info);
    char want[200];
    snprintf(want, sizeof want, "running 1 %lld 5000 %lld", (long long)sc_store_owner(),
             (long long)(5000 + sc_store_lease_ms()));
    one_is(st, "SELECT status || ' ' || attempts || ' ' || owner || ' ' ||"
           " started_at || ' ' || lease_until FROM executions WHERE id = 'q1'", want);
    assert_int_equal(sc_store_exec_end(st, "q1", "success", 7, NULL, false), 0);
    one_is(st, "SELECT status || ' ' || coalesce(owner, '-') || ' ' ||"
           " coalesce(lease_until, '-') || ' ' || finished_at || ' ' || duration_ms"
           " FROM executions WHERE id = 'q1'", "success - - 5000 7");
    one_is(st, EXEC_COUNTERS, "queued=1 running=1 success=1");
    assert_int_equal(sc_store_exec_end(st, "q1", "success", 7, NULL, false), 0); /* no change */
    one_is(st, EXEC_COUNTERS, "queued=1 running=1 success=1");

    /* enqueued and taken at once: queued and running */
    struct sc_event_row taken = ev;
    taken.exec.id = "q2";
    taken.claim = true;
    assert_int_equal(sc_store_enqueue(st, &taken, first, sizeof first), SC_STORE_OK);
    assert_int_equal(sc_store_exec_end(st, "q2", "success", 1, NULL, false), 0);
    one_is(st, EXEC_COUNTERS, "queued=2 running=2 success=2");

    /* begun in its own transaction, ended with an error, claimed again by a retry */
    struct sc_exec_row row = {.id = "b1", .scenario = "hook", .org = "o", .version = "1",
                              .source = "hook.yaml", .started_ms = 5000};
    assert_int_equal(sc_store_exec_begin(st, &row), SC_STORE_OK);
    one_is(st, EXEC_COUNTERS, "queued=2 running=3 success=2");
    assert_int_equal(sc_store_exec_begin(st, &row), SC_STORE_EXISTS); /* not counted */
    assert_int_equal(sc_store_exec_end(st, "b1", "error", 3, NULL, false), 0);
    assert_int_equal(sc_store_exec_claim(st, "b1", 2, -1), SC_STORE_OK);
    one_is(st, EXEC_COUNTERS, "error=1 queued=2 running=4 success=2");
    assert_int_equal(sc_store_exec_claim(st, "b1", 3, -1), SC_STORE_BUSY); /* leased */
    /* its lease lapsed while it ran: claimed again, still running, not counted again */
    sc_clock_advance_ms(sc_store_lease_ms() + 1);
    assert_int_equal(sc_store_exec_claim(st, "b1", 3, -1), SC_STORE_OK);
    one_is(st, "SELECT status || ' ' || attempts FROM executions WHERE id = 'b1'", "running 3");
    one_is(st, EXEC_COUNTERS, "error=1 queued=2 running=4 success=2");

    /* in an enclosing transaction: counted at its commit, dropped by its rollback */
    assert_int_equal(sc_store_tx_begin(st), 0);
    row.id = "b2";
    assert_int_equal(sc_store_exec_begin(st, &row), SC_STORE_OK);
    assert_int_equal(sc_store_exec_end(st, "b2", "warning", 1, NULL, false), 0);
    one_is(st, EXEC_COUNTERS, "error=1 queued=2 running=4 success=2"); /* not yet */
    assert_int_equal(sc_store_tx_commit(st), 0);
    one_is(st, EXEC_COUNTERS, "error=1 queued=2 running=5 success=2 warning=1");
    assert_int_equal(sc_store_tx_begin(st), 0);
    row.id = "b3";
    assert_int_equal(sc_store_exec_begin(st, &row), SC_STORE_OK);
    ev.exec.id = "q3";
    assert_int_equal(sc_store_enqueue(st, &ev, first, sizeof first), SC_STORE_OK);
    assert_int_equal(sc_store_exec_claim(st, "b2", 2, -1), SC_STORE_OK);
    assert_int_equal(sc_store_exec_end(st, "b1", "success", 1, NULL, false), 0);
    sc_store_tx_rollback(st);
    assert_null(sc_store_exec_get(st, "b3"));
    assert_null(sc_store_exec_get(st, "q3"));
    one_is(st, "SELECT group_concat(id || ' ' || status, ', ') FROM (SELECT id, status FROM"
           " executions ORDER BY id)", "b1 running, b2 warning, q1 success, q2 success");
    one_is(st, EXEC_COUNTERS, "error=1 queued=2 running=5 success=2 warning=1");

    /* behind the store's back: not counted */
    sqlite3 *db = ((struct sq_store *)st)->db;
    assert_int_equal(sqlite3_exec(db, "UPDATE executions SET status = 'error' WHERE id = 'q1';"
                                  "INSERT INTO executions(id, scenario, org, version, status,"
                                  " started_at) VALUES('x1', 'hook', 'o', '1', 'success', 1)",
                                  NULL, NULL, NULL), SQLITE_OK);
    one_is(st, EXEC_COUNTERS, "error=1 queued=2 running=5 success=2 warning=1");
    json_decref(trigger);
    sc_store_close(st);
}

/* Deferred writes: reads see the recording's own writes, apply writes them in order,
 * a value another connection changed meanwhile is a conflict (nothing written), and
 * queue ids handed out before apply are the ids the rows get. */
static void deferred_writes_read_their_own_and_detect_a_change(void **state)
{
    (void)state;
    struct sc_store *a = fresh("build/test-store-defer.db");
    char err[256];
    struct sc_store *b = sc_store_open("build/test-store-defer.db", NULL, err, sizeof err);
    assert_non_null(b);
    json_t *one = json_integer(1), *two = json_integer(2);
    assert_int_equal(sc_store_ds_set(a, "t", "k", one, 0), 0);

    sc_store_defer(a, true);
    json_t *v = sc_store_ds_get(a, "t", "k");
    assert_true(json_equal(v, one));
    json_decref(v);
    assert_int_equal(sc_store_ds_set(a, "t", "k", two, 0), 0);
    v = sc_store_ds_get(a, "t", "k"); /* its own write */
    assert_true(json_equal(v, two));
    json_decref(v);
    assert_int_equal(sc_store_ds_claim(a, "d", "x", one, 0), SC_STORE_OK);
    assert_int_equal(sc_store_ds_claim(a, "d", "x", one, 0), SC_STORE_EXISTS); /* the batch holds it */
    assert_int_equal(sc_store_ds_delete(a, "t", "gone"), SC_STORE_NONE);
    json_t *found = sc_store_ds_search(a, "t", "", 10);
    assert_int_equal(json_array_size(found), 1);
    assert_true(json_equal(json_object_get(json_array_get(found, 0), "value"), two));
    json_decref(found);
    int64_t q1 = sc_store_queue_push(a, "work", one, NULL);
    int64_t q2 = sc_store_queue_push(a, "work", two, NULL);
    assert_int_equal(q1, 1);
    assert_int_equal(q2, 2);
    v = sc_store_ds_get(b, "t", "k"); /* nothing written yet */
    assert_true(json_equal(v, one));
    json_decref(v);
    assert_int_equal(sc_store_tx_begin(a), 0);
    assert_int_equal(sc_store_defer_apply(a), 0);
    assert_int_equal(sc_store_tx_commit(a), 0);
    sc_store_defer(a, false);
    v = sc_store_ds_get(b, "t", "k");
    assert_true(json_equal(v, two));
    json_decref(v);
    json_t *items = sc_store_queue_items(b, "work", NULL, 10);
    assert_int_equal(json_array_size(items), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 1), "id")), 2);
    assert_true(json_equal(json_object_get(json_array_get(items, 1), "item"), two));
    json_decref(items);

    /* another connection changes what the recording read: a conflict */
    sc_store_defer(a, true);
    v = sc_store_ds_get(a, "t", "k");
    json_decref(v);
    assert_int_equal(sc_store_ds_set(a, "t", "k", one, 0), 0);
    json_t *seven = json_integer(7);
    assert_int_equal(sc_store_ds_set(b, "t", "k", seven, 0), 0);
    json_decref(seven);
    assert_int_equal(sc_store_tx_begin(a), 0);
    assert_int_equal(sc_store_defer_apply(a), SC_STORE_CONFLICT);
    sc_store_tx_rollback(a);
    sc_store_defer(a, false);
    v = sc_store_ds_get(a, "t", "k");
    assert_int_equal(json_integer_value(v), 7);
    json_decref(v);

    /* a queue item added meanwhile moves the ids: a conflict too */
    sc_store_defer(a, true);
    assert_int_equal(sc_store_queue_push(a, "work", one, NULL), 3);
    assert_true(sc_store_queue_push(b, "work", two, NULL) == 3);
    assert_int_equal(sc_store_tx_begin(a), 0);
    assert_int_equal(sc_store_defer_apply(a), SC_STORE_CONFLICT);
    sc_store_tx_rollback(a);

    /* an audit row cannot be deferred: refused, and cut */
    size_t mark = sc_store_defer_mark(a);
    struct sc_audit_row row = {.org = "o", .scenario = "s", .execution = "e", .step = "x",
                               .method = "POST", .sent_from = "f", .sent_to = "t",
                               .outcome = "ok"};
    assert_int_equal(sc_store_audit_add(a, &row), -1);
    assert_true(sc_store_defer_refused(a));
    sc_store_defer_cut(a, mark);
    sc_store_defer(a, false);
    json_decref(one);
    json_decref(two);
    sc_store_close(b);
    sc_store_close(a);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_matches_the_standard_vectors),
        cmocka_unit_test(reopening_keeps_the_data_and_migrates_nothing),
        cmocka_unit_test(a_claim_gets_the_trigger_as_enqueued),
        cmocka_unit_test(confidential_data_is_sealed_and_opens_again),
        cmocka_unit_test(a_wrong_key_does_not_open_sealed_data),
        cmocka_unit_test(the_audit_chain_verifies),
        cmocka_unit_test(retries_come_due_in_time_order),
        cmocka_unit_test(transactions_nest_and_roll_back_whole),
        cmocka_unit_test(the_queue_serves_realtime_first_and_a_lane_in_order),
        cmocka_unit_test(deferred_writes_read_their_own_and_detect_a_change),
        cmocka_unit_test(every_write_of_the_store_counts_its_executions_once),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
