/* What a /metrics scrape costs: the same whatever the history. The store's counters are
 * read with SQLite's progress handler counting virtual-machine steps, with no execution
 * in the history and with 200,000 more inserted directly: the count must not move (a
 * COUNT(*) over the executions would add a step per row). */
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
    char err[256];
    const char *path = "build/test-metrics-cost.db";
    unlink(path);
    unlink("build/test-metrics-cost.db.key");
    struct sc_store *base = sc_store_open(path, NULL, err, sizeof err);
    assert_non_null(base);
    struct sc_exec_row row = {.id = "e0", .scenario = "pay", .org = "o", .version = "1",
                              .source = "pay.yaml", .started_ms = 1000};
    assert_int_equal(sc_store_exec_begin(base, &row), SC_STORE_OK);
    assert_int_equal(sc_store_exec_end(base, "e0", "success", 1, NULL, false), 0);
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
    /* the rows inserted behind the store's back are counted all the same (the triggers) */
    assert_non_null(strstr(after, "\"success\":200001"));
    free(before);
    free(after);
    sc_store_close(base);
    unlink(path);
}

int main(void)
{
    sc_alloc_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_scrape_reads_as_much_with_200000_executions_as_with_none),
    };
    return cmocka_run_group_tests_name("metrics cost", tests, NULL, NULL);
}
