/* Leases own running executions: one whose lease expired is taken over (on the test
 * clock), one whose lease is renewed is not, a recorded pid that is alive but is not the
 * owner blocks nothing; an end that a full disk kept from being recorded is run again
 * once space returns. The full disk is SQLite's own SQLITE_FULL, raised by a VFS that
 * wraps the real one and refuses writes while `full` is set, as a full file system does. */
#include "test.h"

#include "clock.h"
#include "lang/diag.h"
#include "run/exec.h"
#include "lang/lua.h"
#include "run/runner.h"
#include "store/hooks.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1772956740000LL /* 2026-03-08T07:59:00Z */

/* ---- a file system that can be full ---- */

static bool full;
static sqlite3_vfs *real_vfs;
static sqlite3_vfs full_vfs;
struct full_file {
    sqlite3_file base;
    sqlite3_file *real; /* follows this struct */
};

static int f_close(sqlite3_file *f) { return ((struct full_file *)f)->real->pMethods->xClose(((struct full_file *)f)->real); }
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xRead(r, b, n, o); }
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    sqlite3_file *r = ((struct full_file *)f)->real;
    return full ? SQLITE_FULL : r->pMethods->xWrite(r, b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 n) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xTruncate(r, n); }
static int f_sync(sqlite3_file *f, int fl) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xSync(r, fl); }
static int f_size(sqlite3_file *f, sqlite3_int64 *n) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xFileSize(r, n); }
static int f_lock(sqlite3_file *f, int l) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xLock(r, l); }
static int f_unlock(sqlite3_file *f, int l) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xUnlock(r, l); }
static int f_check(sqlite3_file *f, int *o) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xCheckReservedLock(r, o); }
static int f_fcntl(sqlite3_file *f, int op, void *a) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xFileControl(r, op, a); }
static int f_sector(sqlite3_file *f) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xSectorSize(r); }
static int f_dev(sqlite3_file *f) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xDeviceCharacteristics(r); }
static int f_shmmap(sqlite3_file *f, int p, int sz, int e, void volatile **m) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xShmMap(r, p, sz, e, m); }
static int f_shmlock(sqlite3_file *f, int o, int n, int fl) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xShmLock(r, o, n, fl); }
static void f_shmbarrier(sqlite3_file *f) { sqlite3_file *r = ((struct full_file *)f)->real; r->pMethods->xShmBarrier(r); }
static int f_shmunmap(sqlite3_file *f, int d) { sqlite3_file *r = ((struct full_file *)f)->real; return r->pMethods->xShmUnmap(r, d); }

static const sqlite3_io_methods full_io = {
    .iVersion = 2, .xClose = f_close, .xRead = f_read, .xWrite = f_write,
    .xTruncate = f_truncate, .xSync = f_sync, .xFileSize = f_size, .xLock = f_lock,
    .xUnlock = f_unlock, .xCheckReservedLock = f_check, .xFileControl = f_fcntl,
    .xSectorSize = f_sector, .xDeviceCharacteristics = f_dev, .xShmMap = f_shmmap,
    .xShmLock = f_shmlock, .xShmBarrier = f_shmbarrier, .xShmUnmap = f_shmunmap,
};

static int full_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)v;
    struct full_file *ff = (struct full_file *)f;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
    ff->base.pMethods = rc == SQLITE_OK ? &full_io : NULL;
    return rc;
}

static void use_full_vfs(void)
{
    if (real_vfs)
        return;
    sqlite3_initialize();
    real_vfs = sqlite3_vfs_find(NULL);
    full_vfs = *real_vfs;
    full_vfs.zName = "full";
    full_vfs.szOsFile = (int)sizeof(struct full_file) + real_vfs->szOsFile;
    full_vfs.xOpen = full_open;
    assert_int_equal(sqlite3_vfs_register(&full_vfs, 1), SQLITE_OK);
}

/* ---- helpers ---- */

static struct sc_store *fresh(const char *path)
{
    char err[256], other[300];
    unlink(path);
    snprintf(other, sizeof other, "%s.key", path);
    unlink(other);
    snprintf(other, sizeof other, "%s-wal", path);
    unlink(other);
    struct sc_store *st = sc_store_open(path, NULL, err, sizeof err);
    if (!st)
        fprintf(stderr, "# %s\n", err);
    assert_non_null(st);
    return st;
}

static void begin(struct sc_store *st, const char *id)
{
    json_t *trigger = json_pack("{s:{s:i}}", "body", "n", 21);
    struct sc_exec_row row = {.id = id, .scenario = "disk-full", .org = "o", .version = "draft",
                              .source = "build/test-lease-full.yaml", .trigger = trigger,
                              .started_ms = sc_clock_now_ms()};
    assert_int_equal(sc_store_exec_begin(st, &row), 0);
    json_decref(trigger);
}

/* Runs SQL on the database through a connection of its own (what another process did). */
static void sql(const char *path, const char *text)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
        fprintf(stderr, "# %s: %s\n", text, msg);
    assert_null(msg);
    sqlite3_close(db);
}

/* The abandoned executions as "a b c". */
static const char *abandoned(struct sc_store *st)
{
    static char out[256];
    out[0] = '\0';
    json_t *ids = sc_store_exec_abandoned(st);
    assert_non_null(ids);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? " " : "",
                 json_string_value(v));
    }
    json_decref(ids);
    return out;
}

/* ---- tests ---- */

static void an_expired_lease_is_taken_over_a_renewed_one_is_not(void **state)
{
    (void)state;
    const char *path = "build/test-lease-expiry.db";
    sc_clock_use_test(T0);
    struct sc_store *st = fresh(path);
    begin(st, "mine");   /* this process runs it and renews it */
    begin(st, "theirs"); /* handed to another process below, which never renews it */
    char q[256];
    snprintf(q, sizeof q, "UPDATE executions SET owner = 77, lease_until = %lld WHERE id = 'theirs'",
             T0 + 30000);
    sql(path, q);
    sc_store_exec_release("theirs");
    assert_int_equal(sc_store_lease_ms(), 30000);

    sc_clock_advance_ms(20000); /* 07:59:20 */
    assert_int_equal(sc_store_lease_renew(st), 0);
    assert_string_equal(abandoned(st), "");
    assert_int_equal(sc_store_exec_claim(st, "theirs", 2, -1), SC_STORE_BUSY); /* its lease lasts */

    sc_clock_advance_ms(9999); /* 07:59:29.999: still one millisecond */
    assert_string_equal(abandoned(st), "");
    sc_clock_advance_ms(1); /* 07:59:30: theirs expired; mine was renewed at :20 to :50 */
    assert_string_equal(abandoned(st), "theirs");
    assert_int_equal(sc_store_exec_claim(st, "mine", 2, -1), SC_STORE_BUSY);
    assert_int_equal(sc_store_exec_claim(st, "theirs", 2, -1), 0); /* taken over */
    json_t *v = sc_store_exec_resume_info(st, "theirs");
    assert_int_equal(json_integer_value(json_object_get(v, "attempts")), 2);
    json_decref(v);

    /* mine keeps being renewed as the clock moves: never abandoned */
    for (int i = 0; i < 10; i++) {
        sc_clock_advance_ms(10000);
        assert_int_equal(sc_store_lease_renew(st), 0);
        assert_string_equal(abandoned(st), "");
    }
    /* theirs is now this process's own, renewed too; once both end nothing is left */
    sc_store_exec_release("mine");
    sc_store_exec_release("theirs");
    sc_clock_advance_ms(29999);
    assert_string_equal(abandoned(st), "");
    sc_clock_advance_ms(1);
    assert_string_equal(abandoned(st), "mine theirs");
    sc_store_close(st);
}

static void a_live_pid_that_is_not_the_owner_blocks_nothing(void **state)
{
    (void)state;
    const char *path = "build/test-lease-pid.db";
    sc_clock_use_test(T0);
    struct sc_store *st = fresh(path);
    begin(st, "payroll");
    sc_store_exec_release("payroll");
    /* owner columns as before leases: this very process's pid (alive), with and without
     * the old token bits, and as a pid seen from another PID namespace (1) */
    static const char *const owners[] = {"%d", "(12345 << 22) | %d", "1"};
    for (size_t k = 0; k < sizeof owners / sizeof owners[0]; k++) {
        char who[64], q[256];
        snprintf(who, sizeof who, owners[k], (int)getpid());
        snprintf(q, sizeof q, "UPDATE executions SET status = 'running', owner = %s,"
                 " lease_until = %lld WHERE id = 'payroll'", who, (long long)(sc_clock_now_ms() + 30000));
        sql(path, q);
        assert_string_equal(abandoned(st), ""); /* leased: left alone, whatever the pid */
        assert_int_equal(sc_store_exec_claim(st, "payroll", 2, -1), SC_STORE_BUSY);
        sc_clock_advance_ms(30000);
        assert_string_equal(abandoned(st), "payroll"); /* expired: the pid does not matter */
        assert_int_equal(sc_store_exec_claim(st, "payroll", 2, -1), 0);
        sc_store_exec_release("payroll");
        sc_clock_advance_ms(30000);
    }
    /* a row from before leases (none recorded) is expired */
    sql(path, "UPDATE executions SET owner = 5, lease_until = NULL WHERE id = 'payroll'");
    assert_string_equal(abandoned(st), "payroll");
    sc_store_close(st);
}

static void the_store_lock_admits_one_daemon_and_names_the_holder(void **state)
{
    (void)state;
    const char *path = "build/test-lease-lock.db";
    char err[600], host[128] = "";
    gethostname(host, sizeof host - 1);
    unlink("build/test-lease-lock.db.lock");
    int fd, fd2;
    int64_t prev;
    assert_int_equal(sc_store_lock(path, &fd, &prev, err, sizeof err), 0);
    assert_int_equal(prev, -1);
    assert_int_equal(sc_store_lock(path, &fd2, &prev, err, sizeof err), SC_STORE_BUSY);
    char want[700], *build = realpath("build", NULL);
    snprintf(want, sizeof want, "store %s is in use by another scenarist serve (pid %d on host %s, "
             "lock file %s/test-lease-lock.db.lock): only one daemon may own an SQLite store",
             path, (int)getpid(), host, build);
    assert_string_equal(err, want);
    /* any other name of the same file takes the same lock: a symbolic link (also one made
     * before the database exists), a relative path through "..", a link to the folder */
    static const char *const names[] = {"build/test-lease-link.db", "build/test-lease-dangling.db",
                                        "build/../build/./test-lease-lock.db",
                                        "build/test-lease-dir/test-lease-lock.db"};
    unlink("build/test-lease-link.db");
    unlink("build/test-lease-dangling.db");
    unlink("build/test-lease-dir");
    assert_int_equal(symlink("test-lease-lock.db", "build/test-lease-link.db"), 0);
    assert_int_equal(symlink("test-lease-link.db", "build/test-lease-dangling.db"), 0);
    assert_int_equal(symlink(".", "build/test-lease-dir"), 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_int_equal(sc_store_lock(names[i], &fd2, &prev, err, sizeof err), SC_STORE_BUSY);
        snprintf(want, sizeof want, "store %s is in use by another scenarist serve (pid %d on "
                 "host %s, lock file %s/test-lease-lock.db.lock): only one daemon may own an "
                 "SQLite store", names[i], (int)getpid(), host, build);
        assert_string_equal(err, want);
    }
    free(build);
    sc_store_unlock(fd);
    assert_int_equal(sc_store_lock(path, &fd, &prev, err, sizeof err), 0);
    assert_int_equal(prev, sc_store_owner()); /* the last holder's leases can be dropped */
    sc_store_unlock(fd);
}

static const char *scenario_text =
    "name: disk-full\n"
    "triggers:\n"
    "  - manual: {}\n"
    "steps:\n"
    "  - id: a\n"
    "    module: set\n"
    "    with: { vars: { n: \"{{ trigger.body.n }}\" } }\n"
    "  - id: b\n"
    "    module: set\n"
    "    with: { vars: { twice: \"{{ vars.n * 2 }}\" } }\n";

static void an_end_lost_to_a_full_disk_is_resumed_once_space_returns(void **state)
{
    (void)state;
    use_full_vfs();
    const char *path = "build/test-lease-full.db";
    sc_clock_use_test(T0);
    struct sc_store *st = fresh(path);
    FILE *f = fopen("build/test-lease-full.yaml", "w");
    assert_non_null(f);
    fputs(scenario_text, f);
    fclose(f);
    char err[256];
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    assert_non_null(lua);
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_scenario *sc = sc_scenario_load("build/test-lease-full.yaml", NULL, lua, NULL, &d);
    assert_non_null(sc);
    struct sc_runtime rt = {.lua = lua, .store = st};
    struct sc_runner *rn = sc_runner_new(&rt);
    assert_int_equal(sc_runner_add(rn, sc, "build/test-lease-full.yaml"), 0);
    json_t *trigger = json_pack("{s:{s:i}}", "body", "n", 21);

    /* recorded, then the disk fills before its end is written */
    begin(st, "full-1");
    json_t *info = sc_store_exec_resume_info(st, "full-1");
    assert_non_null(info);
    full = true;
    assert_int_equal(sc_store_exec_end(st, "full-1", "success", 0, NULL, false), -1);
    assert_non_null(strstr(sc_store_error(st), "database or disk is full"));
    /* a whole execution run while the disk is full records nothing and says so */
    struct sc_exec_opts opts = {.id = "full-2", .source = "build/test-lease-full.yaml"};
    json_t *rec = sc_exec_run(sc, &rt, trigger, &opts);
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "error");
    json_decref(rec);
    full = false;
    json_t *v = sc_store_exec_get(st, "full-1");
    assert_string_equal(json_string_value(json_object_get(v, "status")), "running");
    json_decref(v);
    assert_null(sc_store_exec_get(st, "full-2")); /* never recorded: nothing to resume */
    json_decref(info);

    /* space is back; its lease lapses 30 s after the begin, then it is taken up again */
    sc_clock_advance_ms(29999);
    assert_int_equal(sc_store_lease_renew(st), 0);
    assert_string_equal(abandoned(st), "");
    sc_clock_advance_ms(1);
    assert_string_equal(abandoned(st), "full-1");
    sc_diags_free(&d);
    sc_diags_init(&d);
    rec = sc_runner_again(rn, "full-1", &d, err, sizeof err);
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "success");
    json_decref(rec);
    v = sc_store_exec_get(st, "full-1");
    assert_string_equal(json_string_value(json_object_get(v, "status")), "success");
    /* the same attempt goes on: an end lost is no failed try */
    assert_int_equal(json_integer_value(json_object_get(v, "attempts")), 1);
    json_decref(v);
    assert_string_equal(abandoned(st), "");

    json_decref(trigger);
    sc_runner_free(rn);
    sc_diags_free(&d);
    sc_scenario_free(sc);
    sc_lua_free(lua);
    sc_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_expired_lease_is_taken_over_a_renewed_one_is_not),
        cmocka_unit_test(a_live_pid_that_is_not_the_owner_blocks_nothing),
        cmocka_unit_test(the_store_lock_admits_one_daemon_and_names_the_holder),
        cmocka_unit_test(an_end_lost_to_a_full_disk_is_resumed_once_space_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
