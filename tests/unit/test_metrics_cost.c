/* What a /metrics scrape costs: the same whatever the history. The store's counters are
 * read with SQLite's progress handler counting virtual-machine steps, with no execution
 * in the history and with 200,000 more inserted directly: the count must not move (a
 * COUNT(*) over the executions would add a step per row). So is a listing of one
 * scenario's executions, with 200,000 of another scenario's. */
#include "test.h"

#include "clock.h"
#include "store/sqlite.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int counted(void *n)
{
    ++*(long *)n;
    return 0;
}

/* A fresh store at path holding one ended execution, e0 of scenario pay. */
static struct sc_store *store_with_e0(const char *path)
{
    char err[256], key[200];
    snprintf(key, sizeof key, "%s.key", path);
    unlink(path);
    unlink(key);
    struct sc_store *base = sc_store_open(path, NULL, err, sizeof err);
    assert_non_null(base);
    struct sc_exec_row row = {.id = "e0", .scenario = "pay", .org = "o", .version = "1",
                              .source = "pay.yaml", .started_ms = 1000};
    assert_int_equal(sc_store_exec_begin(base, &row), SC_STORE_OK);
    assert_int_equal(sc_store_exec_end(base, "e0", "success", 1, NULL, false), 0);
    return base;
}

/* VM steps of one sc_store_counters call, and its answer as compact JSON in text. */
static long scrape_steps(struct sc_store *base, char **text)
{
    struct sq_store *st = (struct sq_store *)base;
    long n = 0;
    sqlite3_progress_handler(st->db, 1, counted, &n);
    json_t *c = sc_store_counters(base);
    sqlite3_progress_handler(st->db, 0, NULL, NULL);
    assert_non_null(c);
    *text = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(c);
    return n;
}

static void a_scrape_reads_as_much_with_200000_executions_as_with_none(void **state)
{
    (void)state;
    sc_clock_use_test(1000);
    const char *path = "build/test-metrics-cost.db";
    struct sc_store *base = store_with_e0(path);
    char *before, *after;
    long empty = scrape_steps(base, &before);
    struct sq_store *st = (struct sq_store *)base;
    assert_int_equal(sqlite3_exec(st->db,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)"
        " INSERT INTO executions(id, scenario, org, version, status, started_at, finished_at)"
        " SELECT 'x' || i, 'pay', 'o', '1', 'success', 1000 + i, 2000 + i FROM n",
        NULL, NULL, NULL), SQLITE_OK);
    long full = scrape_steps(base, &after);
    assert_true(empty > 0);
    assert_int_equal(full, empty);
    assert_string_equal(before, "{\"executions\":{\"pay\":{\"running\":1,\"success\":1}},"
                        "\"holds_created\":{},\"holds_decided\":{},\"incomplete\":"
                        "{\"exhausted\":0,\"pending\":0},\"queue_items_closed\":{},"
                        "\"queue_items_opened\":{},\"queued\":{\"realtime\":0,\"routine\":0}}");
    /* rows inserted behind the store's back are not counted (the store's code counts its own
     * writes since schema v17): the answer is the same */
    assert_string_equal(after, before);
    free(before);
    free(after);
    sc_store_close(base);
    unlink(path);
}

/* VM steps of one sc_store_exec_list call, and its answer as compact JSON in text. */
static long list_steps(struct sc_store *base, const struct sc_exec_filter *f, char **text)
{
    struct sq_store *st = (struct sq_store *)base;
    long n = 0;
    sqlite3_progress_handler(st->db, 1, counted, &n);
    json_t *a = sc_store_exec_list(base, f);
    sqlite3_progress_handler(st->db, 0, NULL, NULL);
    assert_non_null(a);
    *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return n;
}

/* A scenario's executions (those that ran through an index of the ones that ran, the
 * queued ones through the queue's) are listed newest first reading only their own rows,
 * however many another scenario has; the list of all reads only the rows of its page. */
static void listing_a_scenario_reads_as_much_with_200000_executions_of_another(void **state)
{
    (void)state;
    sc_clock_use_test(1000);
    char first[64];
    const char *path = "build/test-list-cost.db";
    struct sc_store *base = store_with_e0(path);
    struct sc_exec_row row = {.id = "e0", .scenario = "pay", .org = "o", .version = "1",
                              .source = "pay.yaml", .started_ms = 1000};
    struct sc_event_row ev = {.exec = row};
    ev.exec.id = "q1";
    ev.exec.started_ms = 2000;
    assert_int_equal(sc_store_enqueue(base, &ev, first, sizeof first), SC_STORE_OK);
    ev.exec.id = "q0";
    ev.exec.started_ms = 500; /* queued before e0 began */
    assert_int_equal(sc_store_enqueue(base, &ev, first, sizeof first), SC_STORE_OK);
    struct sc_exec_filter pay = {.scenario = "pay"}, all = {.limit = 2};
    char *before, *after, *page;
    struct sq_store *st = (struct sq_store *)base;
    assert_int_equal(sqlite3_exec(st->db, /* one of another scenario: the same boundaries */
        "INSERT INTO executions(id, scenario, org, version, status, started_at, finished_at)"
        " VALUES('x0', 'hr', 'o', '1', 'success', 2000, 3000)", NULL, NULL, NULL), SQLITE_OK);
    long empty = list_steps(base, &pay, &before);
    assert_string_equal(before,
        "[{\"id\":\"q1\",\"scenario\":\"pay\",\"version\":\"1\",\"status\":\"queued\","
        "\"attempts\":0,\"started_at\":\"1970-01-01T00:00:02.000Z\"},"
        "{\"id\":\"e0\",\"scenario\":\"pay\",\"version\":\"1\",\"status\":\"success\","
        "\"attempts\":1,\"started_at\":\"1970-01-01T00:00:01.000Z\",\"duration_ms\":1},"
        "{\"id\":\"q0\",\"scenario\":\"pay\",\"version\":\"1\",\"status\":\"queued\","
        "\"attempts\":0,\"started_at\":\"1970-01-01T00:00:00.500Z\"}]");
    assert_int_equal(sqlite3_exec(st->db,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)"
        " INSERT INTO executions(id, scenario, org, version, status, started_at, finished_at)"
        " SELECT 'x' || i, 'hr', 'o', '1', 'success', 2000 + i, 3000 + i FROM n",
        NULL, NULL, NULL), SQLITE_OK);
    long full = list_steps(base, &pay, &after);
    assert_int_equal(full, empty);
    assert_string_equal(after, before);
    long steps = list_steps(base, &all, &page);
    assert_true(steps < 1000);
    assert_non_null(strstr(page, "\"id\":\"x200000\""));
    assert_non_null(strstr(page, "\"id\":\"x199999\""));
    free(before);
    free(after);
    free(page);
    sc_store_close(base);
    unlink(path);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_scrape_reads_as_much_with_200000_executions_as_with_none),
        cmocka_unit_test(listing_a_scenario_reads_as_much_with_200000_executions_of_another),
    };
    return cmocka_run_group_tests_name("metrics cost", tests, NULL, NULL);
}
