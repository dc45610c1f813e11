/* scenarist run: one event through a scenario now, durably, following its retries. */
#include "cli/cli.h"
#include "lang/duration.h"

#include "run/audit.h"

#include "clock.h"
#include "conninfo.h"
#include "run/runner.h"
#include "store/hooks.h"
#include "store/store.h"
#include "store/version.h"
#include "lang/text.h"
#include "util.h"
#include "model/yaml.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- run ---- */

/* Standard input, whole, up to max bytes: NULL (errno, or *big) on failure. */
static char *read_stdin(size_t max, size_t *len, bool *big)
{
    struct sc_buf b = {0};
    char chunk[65536];
    size_t n;
    *big = false;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        if (b.len + n > max) {
            *big = true;
            sc_buf_free(&b);
            return NULL;
        }
        sc_buf_add(&b, chunk, n);
    }
    if (ferror(stdin)) {
        sc_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return sc_buf_take(&b);
}

/* Reads the event file ("-": standard input): a clear message and NULL when it is
 * missing or not JSON. */
static json_t *read_event(const char *path)
{
    size_t len = 0;
    bool big;
    bool in = !strcmp(path, "-");
    char *text = in ? read_stdin(16u * 1024 * 1024, &len, &big)
                    : sc_read_file(path, 16u * 1024 * 1024, &len, &big);
    if (in)
        path = "<stdin>";
    if (!text) {
        fprintf(stderr, "scenarist: cannot read input %s: %s\n", path,
                big ? "larger than 16 MiB" : strerror(errno));
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &je);
    free(text);
    if (!v)
        fprintf(stderr, "%s:%d:%d: error: input is not valid JSON: %s\n", path, je.line,
                je.column, je.text);
    return v;
}

static void summary(const json_t *e, char *buf, size_t n)
{
    json_t *out = json_object_get(e, "output"), *err = json_object_get(e, "error");
    buf[0] = '\0';
    json_t *bundles = json_object_get(e, "bundles");
    if (bundles)
        snprintf(buf, n, "%lld bundles", (long long)json_integer_value(bundles));
    if (err) {
        snprintf(buf, n, "%s: %s", json_string_value(json_object_get(err, "kind")),
                 json_string_value(json_object_get(err, "message")));
    } else if (out) {
        const char *mod = json_string_value(json_object_get(e, "module"));
        json_t *show = out;
        size_t used = 0;
        if (json_is_object(out) && (!strcmp(mod, "http.request") || !strcmp(mod, "notify")) &&
            json_object_get(out, "status")) {
            used = (size_t)snprintf(buf, n, "HTTP %lld ",
                                    (long long)json_integer_value(json_object_get(out, "status")));
            show = json_object_get(out, "body");
        }
        char *t = json_dumps(show, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (t && used < n)
            snprintf(buf + used, n - used, "%s", t);
        free(t);
    }
    size_t max = 100;
    if (strlen(buf) > max) {
        size_t cut = max - 3;
        while (cut && ((unsigned char)buf[cut] & 0xC0) == 0x80)
            cut--; /* do not cut a UTF-8 character in two */
        memcpy(buf + cut, "...", 4);
    }
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

void cli_print_steps(const json_t *steps)
{
    size_t i;
    json_t *e;
    json_array_foreach(steps, i, e) {
        char sum[1024], step[160];
        summary(e, sum, sizeof sum);
        const char *bundle = json_string_value(json_object_get(e, "bundle"));
        snprintf(step, sizeof step, "%s%s%s%s", json_string_value(json_object_get(e, "step")),
                 bundle ? "[" : "", bundle ? bundle : "", bundle ? "]" : "");
        json_t *ms = json_object_get(e, "duration_ms");
        char dur[32] = "";
        if (ms)
            snprintf(dur, sizeof dur, "%lld ms", (long long)json_integer_value(ms));
        printf("  %-22s %-15s %-9s %8s  %s\n", step,
               json_string_value(json_object_get(e, "module")),
               json_string_value(json_object_get(e, "status")), dur, sum);
    }
}

void cli_print_json(const json_t *v)
{
    char *t = sc_text_json(v, 2, false); /* numbers in their shortest exact form */
    printf("%s\n", t ? t : "null");
    free(t);
}

static void print_record(const json_t *rec)
{
    json_t *attempt = json_object_get(rec, "attempt");
    printf("%s  execution %s  (org %s, version %s)",
           json_string_value(json_object_get(rec, "scenario")),
           json_string_value(json_object_get(rec, "id")),
           json_string_value(json_object_get(rec, "org")),
           json_string_value(json_object_get(rec, "version")));
    if (attempt && json_integer_value(attempt) > 1)
        printf("  retry %lld", (long long)json_integer_value(attempt) - 1);
    printf("\n");
    cli_print_steps(json_object_get(rec, "steps"));
    size_t i;
    json_t *inc;
    json_array_foreach(json_object_get(rec, "incomplete"), i, inc) {
        json_t *hold = json_object_get(inc, "hold");
        if (hold) { /* no error: a person decides */
            long long id = json_integer_value(json_object_get(hold, "id"));
            printf("held: step %s, bundle %s: %s (hold %lld: scenarist holds approve %lld, or "
                   "reject %lld)\n", json_string_value(json_object_get(inc, "step")),
                   json_string_value(json_object_get(inc, "bundle")),
                   json_string_value(json_object_get(hold, "reason")), id, id, id);
            continue;
        }
        printf("incomplete: step %s, bundle %s: %s (%s)\n",
               json_string_value(json_object_get(inc, "step")),
               json_string_value(json_object_get(inc, "bundle")),
               json_string_value(json_object_get(json_object_get(inc, "error"), "message")),
               sc_status_retry_note(inc));
    }
    json_t *resp = json_object_get(rec, "response");
    if (resp) {
        char *b = json_dumps(json_object_get(resp, "body"),
                             JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        printf("response: %lld %s\n", (long long)json_integer_value(json_object_get(resp, "status")),
               b ? b : "");
        free(b);
    }
    json_t *err = json_object_get(rec, "error");
    printf("%s in %lld ms%s%s%s\n", json_string_value(json_object_get(rec, "status")),
           (long long)json_integer_value(json_object_get(rec, "duration_ms")),
           err ? " at step " : "", err ? json_string_value(json_object_get(err, "step")) : "",
           json_is_true(json_object_get(rec, "committed")) ? " (committed early)" : "");
}

struct sc_org *cli_load_org(const struct opts *o)
{
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *org = sc_org_load(o->org, &d);
    sc_diags_print(&d, stderr);
    sc_diags_free(&d);
    return org;
}

/* The commands that may create a store; every other one only reads an existing one. */
static const char *const creators[] = {"serve", "run", "deploy", "init", "test", "import",
                                       "restore", "promote"};

/* "only serve, run, ... and promote create a store", from creators[]. */
static const char *creators_say(void)
{
    static char text[160];
    size_t n = sizeof creators / sizeof *creators, at = 0;
    at += (size_t)snprintf(text, sizeof text, "only ");
    for (size_t i = 0; i < n && at < sizeof text; i++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%s", creators[i],
                               i + 2 < n ? ", " : i + 1 < n ? " and " : " create a store");
    return text;
}

/* Why the file at path (sb its stat) is no store a read may open: empty, not a SQLite
 * database (its header, sqlite.org/fileformat.html 1.3), or one with no schema version
 * (user_version 0: never migrated, someone else's); NULL when it may be one. A file with a
 * write-ahead log beside it holding data is left to the store (its pages may be there). */
static const char *not_a_store(const char *path, const struct stat *sb)
{
    struct stat wal;
    char *walpath = sc_asprintf("%s-wal", path);
    bool logged = walpath && stat(walpath, &wal) == 0 && wal.st_size > 0;
    free(walpath);
    if (logged || !S_ISREG(sb->st_mode))
        return NULL;
    if (sb->st_size == 0)
        return "an empty file (0 bytes), not a store";
    unsigned char h[100];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(h, 1, sizeof h, f) : sizeof h;
    if (f)
        fclose(f);
    if (!f)
        return NULL; /* unreadable: the store says why */
    if (got < sizeof h || memcmp(h, "SQLite format 3", 16))
        return "not a store (not a SQLite database)";
    if (!h[60] && !h[61] && !h[62] && !h[63])
        return "a SQLite database but not a store (it has no scenarist schema)";
    return NULL;
}

bool cli_store_may_be_new(const char *cmd, const char *path, const char *label)
{
    struct stat sb;
    bool creates = false;
    for (size_t i = 0; cmd && i < sizeof creators / sizeof *creators; i++)
        creates |= !strcmp(cmd, creators[i]);
    if (!cmd || creates || sc_store_shared(path))
        return true;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        fprintf(stderr, "scenarist: %s: no such store (no file there): %s\n", label,
                creators_say());
        return false;
    }
    const char *why = not_a_store(path, &sb);
    if (why)
        fprintf(stderr, "scenarist: %s: %s; left as it is: %s\n", label, why, creators_say());
    return !why;
}

/* The org's own store (not --store, checked before): a read does not make it anew. */
static bool org_store_may_be_new(const struct opts *o, const struct sc_org *org,
                                 const char *path)
{
    if (o->store)
        return true;
    char *label = sc_asprintf("store %s (org %s's store)", path, org->name);
    bool ok = !label || cli_store_may_be_new(o->cmd, path, label);
    free(label);
    return ok;
}

struct sc_store *cli_open_store(const struct opts *o, const struct sc_org *org)
{
    char *path = o->store ? sc_strdup(o->store) : sc_store_path(org);
    char err[600];
    if (path && !org_store_may_be_new(o, org, path)) {
        free(path);
        return NULL;
    }
    const char *key = org->store_key;
    sc_store_set_lease_ms(org->lease_ms);
    struct sc_store *st = path ? sc_store_open(path, key, err, sizeof err) : NULL;
    if (path && !st)
        sc_conninfo_mask_buf(err, sizeof err); /* as the store does: never a password shown */
    if (!st)
        fprintf(stderr, "scenarist: %s\n", path ? err : "out of memory");
    else
        sc_audit_setup(st, org);
    if (st && sc_store_heartbeat(st) != 0) { /* executions run here keep their leases */
        fprintf(stderr, "scenarist: %s\n", sc_store_error(st));
        sc_store_close(st);
        st = NULL;
    }
    free(path);
    return st;
}

const char *cli_person(void)
{
    const char *u = getenv("USER");
    return u && *u ? u : "operator";
}

int cli_session_open(const struct opts *o, struct cli_session *s)
{
    s->st = NULL;
    if (!(s->org = cli_load_org(o)))
        return EXIT_USAGE;
    if (!(s->st = cli_open_store(o, s->org))) {
        sc_org_free(s->org);
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

void cli_session_close(struct cli_session *s)
{
    sc_store_close(s->st);
    sc_org_free(s->org);
}

int cli_session_failed(struct cli_session *s)
{
    fprintf(stderr, "scenarist: %s\n", sc_store_error(s->st));
    cli_session_close(s);
    return EXIT_FAILED;
}

/* One clear line per retry, as curl does. */
static void say_retry(const json_t *inc, int64_t wait_ms)
{
    json_t *err = json_object_get(inc, "error");
    /* retries as Make counts them: the next run after N runs is retry N */
    fprintf(stderr, "scenarist: step %s failed (%s: %s); retry %lld of %lld in %lld s\n",
            json_string_value(json_object_get(inc, "step")),
            json_string_value(json_object_get(err, "kind")),
            json_string_value(json_object_get(err, "message")),
            (long long)json_integer_value(json_object_get(inc, "attempts")),
            (long long)json_integer_value(json_object_get(inc, "max_attempts")) - 1,
            (long long)((wait_ms + 999) / 1000));
}

/* Ctrl-C while run waits for a retry: the execution is safe in the store; say where. */
static char interrupt_msg[768];
static size_t interrupt_len;

static void on_interrupt(int sig)
{
    (void)sig;
    ssize_t w = write(STDERR_FILENO, interrupt_msg, interrupt_len); /* async-signal-safe */
    (void)w;
    _exit(130);
}

/* An option's value as a shell word: quoted (POSIX sh) unless made of safe characters. */
static void shell_word(char *out, size_t cap, const char *v)
{
    if (v[0] && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                          "@%+=:,./_-") == strlen(v)) {
        snprintf(out, cap, "%s", v);
        return;
    }
    size_t n = 0;
    out[n++] = '\'';
    for (; *v && n + 6 < cap; v++) {
        if (*v == '\'') {
            memcpy(out + n, "'\\''", 4); /* close, an escaped quote, reopen */
            n += 4;
        } else {
            out[n++] = *v;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
}

/* Says the retry, then sleeps until it is due; an interrupt says which execution is pending,
 * when, and the resume command that reaches the same store (--org, and --store if given). */
static void wait_for_retry(const json_t *inc, const struct opts *o, int64_t wait_ms)
{
    char org[300], store[300] = "";
    shell_word(org, sizeof org, o->org);
    if (o->store) {
        char w[290];
        shell_word(w, sizeof w, o->store);
        snprintf(store, sizeof store, " --store %s", w);
    }
    int n = snprintf(interrupt_msg, sizeof interrupt_msg,
                     "\nscenarist: interrupted; execution %s is pending: retry %lld of %lld is "
                     "due at %s (scenarist resume --org %s%s runs it then, as does the daemon)\n",
                     json_string_value(json_object_get(inc, "execution")),
                     (long long)json_integer_value(json_object_get(inc, "attempts")),
                     (long long)json_integer_value(json_object_get(inc, "max_attempts")) - 1,
                     json_string_value(json_object_get(inc, "next_attempt_at")), org, store);
    interrupt_len = n < 0 ? 0 : (size_t)n < sizeof interrupt_msg ? (size_t)n : sizeof interrupt_msg - 1;
    struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    say_retry(inc, wait_ms); /* after the handler is in place: a Ctrl-C upon it is answered */
    sc_clock_sleep_ms(wait_ms);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

/* True when run's argument names a deployed scenario rather than a file: a scenario name
 * (no '/', not ending in .yaml or .yml) that is no file here. */
static bool names_deployed(const char *arg)
{
    size_t n = strlen(arg);
    struct stat sb;
    return sc_version_name_ok(arg) && !(n > 5 && !strcmp(arg + n - 5, ".yaml")) &&
           !(n > 4 && !strcmp(arg + n - 4, ".yml")) && stat(arg, &sb) != 0;
}

static int version_arg(const char *s)
{
    char *end;
    long n = strtol(s[0] == 'v' ? s + 1 : s, &end, 10);
    if (!*s || *end || n < 1 || n > 1000000000) {
        fprintf(stderr, "scenarist: --version must be a version number (3 or v3)\n");
        return -1;
    }
    return (int)n;
}

/* The runner's source of the deployed version `number` of name (0: the current one),
 * "version:NAME@N", in out; -1 after saying why there is none. */
static int deployed_source(struct sc_store *st, const struct sc_org *org, const char *name,
                           int number, char *out, size_t n)
{
    json_t *v = sc_store_version_get(st, name, number);
    if (v) {
        snprintf(out, n, "version:%s@%lld", name,
                 (long long)json_integer_value(json_object_get(v, "number")));
        json_decref(v);
        return 0;
    }
    json_t *all = sc_store_versions(st, name);
    size_t have = json_array_size(all);
    if (!all)
        fprintf(stderr, "scenarist: %s\n", sc_store_error(st));
    else if (!have)
        fprintf(stderr, "scenarist: scenario '%s' is not deployed in org %s (scenarist deploy "
                        "FILE stores it; or give the file's path)\n", name, org->name);
    else
        fprintf(stderr, "scenarist: scenario '%s' has no version %d in org %s (it has 1 to "
                        "%zu: scenarist versions %s)\n", name, number, org->name, have, name);
    json_decref(all);
    return -1;
}

/* The trigger of an event run by hand: the scenario's first trigger kind, the body, now. */
static json_t *run_trigger(const struct sc_scenario *sc, json_t *body)
{
    const struct sc_def *def = sc_scenario_def(sc);
    const char *kind = def->ntriggers ? sc_def_kind_name(def->triggers[0].kind) : NULL;
    char now[40];
    sc_clock_iso(sc_clock_now_ms(), now, sizeof now);
    return json_pack("{s:s, s:O, s:{}, s:{}, s:s}", "kind", kind ? kind : "manual", "body",
                     body, "headers", "query", "received_at", now);
}

/* Whether run's argument names a deployed scenario, and which version (0: the current
 * one): EXIT_OK, or EXIT_USAGE after saying why not. */
static int run_target(const struct opts *o, bool *deployed, int *number)
{
    *deployed = names_deployed(o->args[0]);
    *number = 0;
    if (o->version && !*deployed) {
        fprintf(stderr, "scenarist: --version picks a deployed version: give the scenario's "
                        "name, not the file %s\n", o->args[0]);
        return EXIT_USAGE;
    }
    if (o->version && (*number = version_arg(o->version)) < 0)
        return EXIT_USAGE;
    return EXIT_OK;
}

/* Opens the org's store into *store and names the deployed version's source in out:
 * EXIT_OK, EXIT_USAGE (no such version) or EXIT_FAILED (no store), after saying why. */
static int open_deployed(const struct opts *o, const struct sc_org *org, int number,
                         struct sc_store **store, char *out, size_t n)
{
    if (!(*store = cli_open_store(o, org)))
        return EXIT_FAILED;
    return deployed_source(*store, org, o->args[0], number, out, n) ? EXIT_USAGE : EXIT_OK;
}

int cmd_run(struct opts *o)
{
    if (o->nargs != 1 || !o->input) {
        fprintf(stderr, "usage: scenarist run FILE|NAME --input EVENT.json [--version N] "
                        "[--org NAME] [--no-retry] [--json]\n");
        return EXIT_USAGE;
    }
    bool deployed;
    int number;
    if (run_target(o, &deployed, &number) != EXIT_OK)
        return EXIT_USAGE;
    json_t *body = read_event(o->input);
    if (!body)
        return EXIT_USAGE;
    struct sc_diags d;
    sc_diags_init(&d);
    int rc = EXIT_USAGE;
    char err[512];
    struct sc_org *org = sc_org_load(o->org, &d);
    struct sc_lua *lua = org ? sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err) : NULL;
    struct sc_store *store = NULL;
    struct sc_scenario *sc = NULL;
    struct sc_http *http = NULL;
    struct sc_runner *rn = NULL;
    char source[160];
    snprintf(source, sizeof source, "%s", o->args[0]);
    if (deployed && lua && (rc = open_deployed(o, org, number, &store, source, sizeof source)))
        goto out;
    rc = EXIT_USAGE;
    struct sc_runtime lrt = {.lua = lua, .org = org, .store = store};
    sc = lua ? sc_runner_load(&lrt, source, NULL, &d) : NULL;
    http = sc ? sc_http_new() : NULL;
    if (org && !lua)
        fprintf(stderr, "scenarist: Lua: %s\n", err);
    if (!sc || !http) {
        finish_diags(&d, false);
        goto out;
    }
    sc_diags_print(&d, stderr); /* warnings */
    if (!store && !(store = cli_open_store(o, org)))
        goto out;
    json_t *trigger = run_trigger(sc, body);
    struct sc_runtime rt = {.lua = lua, .http = http, .org = org, .store = store};
    rn = sc_runner_new(&rt);
    json_t *rec = trigger && rn ? sc_runner_start(rn, sc, source, trigger) : NULL;
    json_decref(trigger);
    /* Follows the execution's retries through the clock, unless told to leave them to
     * `scenarist resume` or the daemon. */
    while (rec) {
        if (!o->json)
            print_record(rec);
        json_t *inc = o->no_retry ? NULL
                                  : sc_store_incomplete_get(store, json_string_value(json_object_get(rec, "id")));
        int64_t next = 0;
        if (!inc || strcmp(json_string_value(json_object_get(inc, "state")), "pending") ||
            sc_clock_parse_iso(json_string_value(json_object_get(inc, "next_attempt_at")), &next)) {
            json_decref(inc);
            break;
        }
        int64_t wait = next - sc_clock_now_ms();
        if (wait > 0)
            wait_for_retry(inc, o, wait);
        else
            say_retry(inc, wait);
        json_decref(inc);
        char id[128];
        snprintf(id, sizeof id, "%s", json_string_value(json_object_get(rec, "id")));
        json_decref(rec);
        rec = sc_runner_again(rn, id, &d, err, sizeof err);
        if (!rec) {
            sc_diags_print(&d, stderr);
            fprintf(stderr, "scenarist: execution %s: %s\n", id, err);
            rc = EXIT_FAILED;
            goto out;
        }
    }
    if (!rec) {
        fprintf(stderr, "scenarist: out of memory\n");
        rc = EXIT_FAILED;
        goto out;
    }
    if (o->json) {
        json_t *view = sc_store_exec_get(store, json_string_value(json_object_get(rec, "id")));
        cli_print_json(view ? view : rec);
        json_decref(view);
    }
    rc = strcmp(json_string_value(json_object_get(rec, "status")), "success") ? EXIT_FAILED
                                                                              : EXIT_OK;
    json_decref(rec);
out:
    sc_runner_free(rn);
    sc_store_close(store);
    sc_http_free(http);
    sc_scenario_free(sc);
    sc_lua_free(lua);
    sc_org_free(org);
    sc_diags_free(&d);
    json_decref(body);
    return rc;
}
