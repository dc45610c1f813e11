/* A store's size over a long run, on the test clock: DAYS simulated days of PER_DAY
 * executions each (a webhook's trigger, two steps with their outputs, the end), written
 * through the store's calls as the executor writes them, with the daemon's retention
 * pass every simulated hour (8 batches of 500, incremental vacuum after each) when
 * KEEP_DAYS > 0. Prints one line per day: day, executions held, database bytes, bytes per
 * execution held, write-ahead log bytes (its high-water mark: SQLite reuses it, it does
 * not grow with the history). usage: retain DAYS PER_DAY KEEP_DAYS DB */
#include "clock.h"
#include "model/org.h"
#include "run/retention.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long long bytes(const char *path)
{
    struct stat a;
    return stat(path, &a) == 0 ? (long long)a.st_size : 0;
}

static void one(struct sc_store *st, long n)
{
    char id[40];
    snprintf(id, sizeof id, "bench-%08ld", n);
    json_t *trigger = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "path", "/hooks/hris",
                                "body", "employee_id", id, "work_email", "person@example.com",
                                "department", "Sales", "title", "Account executive", "event",
                                "employee.updated");
    struct sc_exec_row r = {.id = id, .scenario = "identity-sync", .org = "bench",
                            .version = "3", .source = "identity-sync.yaml", .trigger = trigger,
                            .started_ms = sc_clock_now_ms()};
    if (sc_store_exec_begin(st, &r) != SC_STORE_OK) {
        fprintf(stderr, "retain: %s\n", sc_store_error(st));
        exit(1);
    }
    const char *steps[2] = {"employee", "learner"};
    for (int i = 0; i < 2; i++) {
        json_t *out = json_pack("{s:s, s:s, s:s}", "external_id", id, "email",
                                "person@example.com", "department", "Sales");
        struct sc_step_row s = {.execution = id, .step = steps[i], .module = "map",
                                .bundle = "1", .status = "success", .attempt = 1,
                                .started_ms = sc_clock_now_ms(), .duration_ms = 1,
                                .output = out};
        int64_t run = sc_store_step_begin(st, &s);
        if (run < 0 || sc_store_step_end(st, run, &s) != 0) {
            fprintf(stderr, "retain: %s\n", sc_store_error(st));
            exit(1);
        }
        json_decref(out);
    }
    if (sc_store_exec_end(st, id, "success", 2, NULL, false) != 0) {
        fprintf(stderr, "retain: %s\n", sc_store_error(st));
        exit(1);
    }
    sc_store_exec_release(id);
    json_decref(trigger);
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return fprintf(stderr, "usage: retain DAYS PER_DAY KEEP_DAYS DB\n"), 2;
    long days = atol(argv[1]), per_day = atol(argv[2]), keep = atol(argv[3]);
    const char *db = argv[4];
    char err[512], key[600];
    snprintf(key, sizeof key, "%s.key", db);
    unlink(db);
    unlink(key);
    sc_clock_use_test(1767225600000); /* 2026-01-01T00:00:00Z */
    struct sc_store *st = sc_store_open(db, NULL, err, sizeof err);
    if (!st)
        return fprintf(stderr, "retain: %s\n", err), 1;
    struct sc_org org = {.name = "bench"};
    org.retention.on = keep > 0;
    org.retention.exec_ms[0] = keep * 86400000LL;
    org.retention.batch = 500;
    org.retention.every_ms = 3600000;
    int64_t step = 86400000LL / per_day, next_prune = sc_clock_now_ms() + 3600000;
    long n = 0;
    for (long d = 1; d <= days; d++) {
        for (long i = 0; i < per_day; i++) {
            one(st, n++);
            sc_clock_advance_ms(step);
            if (keep > 0 && sc_clock_now_ms() >= next_prune) {
                json_t *counts = json_object();
                if (sc_retention_run(st, &org, false, 8, counts, err, sizeof err) < 0)
                    return fprintf(stderr, "retain: %s\n", err), 1;
                json_decref(counts);
                next_prune += 3600000;
            }
        }
        struct sc_exec_filter f = {.limit = 1000000};
        json_t *held = sc_store_exec_list(st, &f);
        char wal[600];
        snprintf(wal, sizeof wal, "%s-wal", db);
        long long b = bytes(db);
        size_t h = json_array_size(held);
        printf("%ld %zu %lld %lld %lld\n", d, h, b, h ? b / (long long)h : 0, bytes(wal));
        fflush(stdout);
        json_decref(held);
    }
    sc_store_close(st);
    unlink(db);
    unlink(key);
    return 0;
}
