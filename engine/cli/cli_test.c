/* scenarist test: a scenario's own test cases, run offline against recorded answers of
 * the other systems (docs/testing.md), or recorded from the real ones with --record.
 * A case is a folder tests/NAME/CASE/ beside NAME.yaml: event.json, answers.json,
 * expect.json, and optionally org.yaml. */
#include "cli/cli.h"

#include "clock.h"
#include "lang/lua.h"
#include "run/http.h"
#include "run/runner.h"
#include "store/store.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST_DEFAULT_CLOCK "2026-01-01T00:00:00Z"
#define TEST_MAX_RETRIES 20 /* a case's retries followed on the test clock, at most */

/* What one case saw: the requests (method, path, body) and, recording, the answers. */
struct tcase {
    json_t *answers;   /* replay: the recorded answers, each used once ("used") */
    json_t *requests;  /* the requests seen, in order */
    json_t *recorded;  /* --record: the answers as they came */
    json_t *unrecorded; /* replay: "METHOD PATH" of each request with no answer */
};

static bool is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The path and query of an absolute URL ("/" when it has none). */
static const char *url_path(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return url;
    p = strchr(p + 3, '/');
    return p ? p : "/";
}

/* A body as JSON when it is JSON, else as a string; null when there is none. */
static json_t *body_value(const char *data, size_t len)
{
    if (!data || !len)
        return json_null();
    json_t *v = json_loadb(data, len, JSON_DECODE_ANY, NULL);
    return v ? v : json_stringn(data, len);
}

static json_t *request_entry(const struct sc_http_req *req)
{
    return json_pack("{s:s, s:s, s:o}", "method", req->method, "path", url_path(req->url),
                     "body", body_value(req->body, req->body_len));
}

/* Replay: the first unused recorded answer to this method and path. */
static int tr_send(void *ud, const struct sc_http_req *req, struct sc_http_resp *resp,
                   char *err, size_t errlen)
{
    struct tcase *tc = ud;
    json_array_append_new(tc->requests, request_entry(req));
    const char *path = url_path(req->url);
    size_t i;
    json_t *a;
    json_array_foreach(tc->answers, i, a) {
        if (json_is_true(json_object_get(a, "used")) ||
            strcmp(json_string_value(json_object_get(a, "method")) ?: "", req->method) ||
            strcmp(json_string_value(json_object_get(a, "path")) ?: "", path))
            continue;
        json_object_set_new(a, "used", json_true());
        resp->status = (long)json_integer_value(json_object_get(a, "status"));
        json_t *h = json_object_get(a, "headers");
        resp->headers = json_is_object(h) ? json_deep_copy(h) : json_object();
        json_t *b = json_object_get(a, "body");
        if (json_is_string(b)) {
            sc_buf_add(&resp->body, json_string_value(b), json_string_length(b));
        } else if (b && !json_is_null(b)) {
            char *t = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
            if (t)
                sc_buf_add(&resp->body, t, strlen(t));
            free(t);
            if (!json_object_get(resp->headers, "content-type"))
                json_object_set_new(resp->headers, "content-type",
                                    json_string("application/json"));
        }
        return 0;
    }
    char what[600];
    snprintf(what, sizeof what, "%s %s", req->method, path);
    json_array_foreach(tc->unrecorded, i, a) /* a retry asks again: said once */
        if (!strcmp(json_string_value(a), what))
            break;
    if (i == json_array_size(tc->unrecorded))
        json_array_append_new(tc->unrecorded, json_string(what));
    snprintf(err, errlen, "not in the recording (answers.json)");
    return -1;
}

/* Recording: each request and the answer it got. */
static void tr_seen(void *ud, const struct sc_http_req *req, const struct sc_http_resp *resp)
{
    struct tcase *tc = ud;
    json_array_append_new(tc->requests, request_entry(req));
    json_t *h = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(resp->headers, k, v) {
        if (strcmp(k, "date") && strcmp(k, "connection") && strcmp(k, "keep-alive") &&
            strcmp(k, "content-length") && strcmp(k, "transfer-encoding"))
            json_object_set(h, k, v);
    }
    json_array_append_new(tc->recorded,
                          json_pack("{s:s, s:s, s:i, s:o, s:o}", "method", req->method, "path",
                                    url_path(req->url), "status", (json_int_t)resp->status,
                                    "headers", h, "body",
                                    body_value(resp->body.data, resp->body.len)));
}

static json_t *load_json(const char *path, bool quiet)
{
    json_error_t je;
    json_t *v = json_load_file(path, JSON_DECODE_ANY, &je);
    if (!v && !quiet)
        fprintf(stderr, "%s:%d:%d: error: %s\n", path, je.line, je.column, je.text);
    return v;
}

/* The org of a case: --org, else CASE/org.yaml, tests/NAME/org.yaml, tests/org.yaml,
 * else the default org. */
static const char *case_org(const char *casedir, const char *given, char *buf, size_t n)
{
    if (given)
        return given;
    const char *ups[] = {"", "/..", "/../.."};
    for (size_t i = 0; i < 3; i++) {
        snprintf(buf, n, "%s%s/org.yaml", casedir, ups[i]);
        if (is_file(buf))
            return buf;
    }
    return NULL;
}

/* Runs the case's event through the scenario, its retries followed on the test clock.
 * The final execution record, or NULL after printing why into why. */
static json_t *run_case(const struct opts *o, const char *scenario, const char *casedir,
                        int64_t start, struct tcase *tc, bool record, char *why, size_t whyn)
{
    char orgbuf[PATH_MAX], dir[] = "/tmp/scenarist-test-XXXXXX", dbpath[PATH_MAX + 32];
    char evpath[PATH_MAX], err[512];
    snprintf(evpath, sizeof evpath, "%s/event.json", casedir);
    json_t *body = load_json(evpath, false);
    if (!body) {
        snprintf(why, whyn, "%.500s: cannot read the event", evpath);
        return NULL;
    }
    if (!mkdtemp(dir)) {
        snprintf(why, whyn, "temporary store: %s", strerror(errno));
        json_decref(body);
        return NULL;
    }
    snprintf(dbpath, sizeof dbpath, "%s/store.db", dir);
    sc_clock_use_test(start);
    struct opts so = *o;
    so.org = case_org(casedir, o->org_given ? o->org : NULL, orgbuf, sizeof orgbuf);
    if (!so.org)
        so.org = o->org;
    so.store = dbpath;
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *org = sc_org_load(so.org, &d);
    struct sc_lua *lua = org ? sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err) : NULL;
    struct sc_runtime lrt = {.lua = lua, .org = org};
    struct sc_scenario *sc = lua ? sc_runner_load(&lrt, scenario, NULL, &d) : NULL;
    sc_diags_print(&d, stderr);
    struct sc_store *store = sc ? cli_open_store(&so, org) : NULL;
    struct sc_http *http = store ? sc_http_new() : NULL;
    struct sc_runner *rn = NULL;
    json_t *rec = NULL;
    if (!http) {
        snprintf(why, whyn, "%s does not load", org ? scenario : "the org");
        goto out;
    }
    struct sc_http_transport tr = {.send = record ? NULL : tr_send,
                                   .seen = record ? tr_seen : NULL, .ud = tc};
    sc_http_set_transport(http, &tr);
    const struct sc_def *def = sc_scenario_def(sc);
    char now[40];
    sc_clock_iso(sc_clock_now_ms(), now, sizeof now);
    json_t *trigger = json_pack("{s:s, s:O, s:{}, s:{}, s:s}", "kind",
                                def->ntriggers ? sc_def_kind_name(def->triggers[0].kind)
                                               : "manual",
                                "body", body, "headers", "query", "received_at", now);
    struct sc_runtime rt = {.lua = lua, .http = http, .org = org, .store = store};
    rn = sc_runner_new(&rt);
    rec = trigger && rn ? sc_runner_start(rn, sc, scenario, trigger) : NULL;
    json_decref(trigger);
    for (int n = 0; rec && n < TEST_MAX_RETRIES; n++) {
        json_t *inc = sc_store_incomplete_get(store, json_string_value(json_object_get(rec, "id")));
        int64_t next = 0;
        bool pending = inc && !strcmp(json_string_value(json_object_get(inc, "state")) ?: "",
                                      "pending") &&
                       !sc_clock_parse_iso(json_string_value(json_object_get(inc,
                                                                             "next_attempt_at")),
                                           &next);
        json_decref(inc);
        if (!pending)
            break;
        if (next > sc_clock_now_ms())
            sc_clock_advance_ms(next - sc_clock_now_ms());
        char id[128];
        snprintf(id, sizeof id, "%s", json_string_value(json_object_get(rec, "id")));
        json_decref(rec);
        rec = sc_runner_again(rn, id, &d, err, sizeof err);
        if (!rec)
            snprintf(why, whyn, "execution %.100s: %.300s", id, err);
    }
    if (!rec && !why[0])
        snprintf(why, whyn, "out of memory");
out:
    sc_runner_free(rn);
    sc_store_close(store);
    sc_http_free(http);
    sc_scenario_free(sc);
    sc_lua_free(lua);
    sc_org_free(org);
    sc_diags_free(&d);
    json_decref(body);
    char rm[PATH_MAX + 64];
    snprintf(rm, sizeof rm, "%s/store.db", dir);
    unlink(rm);
    snprintf(rm, sizeof rm, "%s/store.db-wal", dir);
    unlink(rm);
    snprintf(rm, sizeof rm, "%s/store.db-shm", dir);
    unlink(rm);
    rmdir(dir);
    return rec;
}

/* v restricted to the keys want has (recursively), so that a subset compares equal. */
static json_t *project(json_t *v, json_t *want)
{
    if (json_is_object(v) && json_is_object(want)) {
        json_t *out = json_object();
        const char *k;
        json_t *w;
        json_object_foreach(want, k, w) {
            json_t *x = json_object_get(v, k);
            if (x)
                json_object_set_new(out, k, project(x, w));
        }
        return out;
    }
    if (json_is_array(v) && json_is_array(want) && json_array_size(v) == json_array_size(want)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(out, project(json_array_get(v, i), json_array_get(want, i)));
        return out;
    }
    return json_incref(v);
}

static void add_line(json_t *lines, const char *fmt, const char *a, const char *b, json_t *v)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    char buf[8192];
    snprintf(buf, sizeof buf, fmt, a, b, t ? t : "");
    json_array_append_new(lines, json_string(buf));
    free(t);
}

/* The lines compared: one per request ("POST /path {body}"), then the outcome. A request
 * whose expected entry has no body is compared without it; a body compares as a subset. */
static void render(json_t *exp, json_t *requests, json_t *rec, json_t *exp_lines,
                   json_t *act_lines)
{
    const char *status = rec ? json_string_value(json_object_get(rec, "status")) : "none";
    json_t *want = json_object_get(exp, "requests");
    size_t i;
    json_t *r;
    json_array_foreach(want, i, r) {
        json_t *b = json_object_get(r, "body");
        add_line(exp_lines, b ? "%s %s %s" : "%s %s%s",
                 json_string_value(json_object_get(r, "method")) ?: "?",
                 json_string_value(json_object_get(r, "path")) ?: "?", b);
    }
    json_array_foreach(requests, i, r) {
        json_t *w = json_array_get(want, i);
        json_t *wb = w ? json_object_get(w, "body") : NULL;
        json_t *b = w && !wb ? NULL : wb ? project(json_object_get(r, "body"), wb)
                                        : json_incref(json_object_get(r, "body"));
        add_line(act_lines, b ? "%s %s %s" : "%s %s%s",
                 json_string_value(json_object_get(r, "method")),
                 json_string_value(json_object_get(r, "path")), b);
        json_decref(b);
    }
    add_line(exp_lines, "status: %s%s", json_string_value(json_object_get(exp, "status")) ?: "?",
             "", NULL);
    add_line(act_lines, "status: %s%s", status, "", NULL);
    json_t *wr = json_object_get(exp, "response"); /* a respond step's answer, when given */
    if (wr) {
        json_t *got = project(json_object_get(rec, "response"), wr);
        add_line(exp_lines, "response%s%s: %s", "", "", wr);
        add_line(act_lines, "response%s%s: %s", "", "", got);
        json_decref(got);
    }
}

/* Prints a unified diff (one hunk, the whole text) of two arrays of lines, by their
 * longest common subsequence. */
static void print_diff(json_t *a, json_t *b)
{
    size_t n = json_array_size(a), m = json_array_size(b);
    size_t *L = sc_calloc((n + 1) * (m + 1), sizeof *L);
#define LCS(i, j) L[(i) * (m + 1) + (j)]
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            LCS(i, j) = !strcmp(json_string_value(json_array_get(a, i)),
                                json_string_value(json_array_get(b, j)))
                            ? LCS(i + 1, j + 1) + 1
                            : LCS(i + 1, j) > LCS(i, j + 1) ? LCS(i + 1, j) : LCS(i, j + 1);
    printf("    --- expected\n    +++ actual\n    @@ -1,%zu +1,%zu @@\n", n, m);
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && !strcmp(json_string_value(json_array_get(a, i)),
                                      json_string_value(json_array_get(b, j)))) {
            printf("     %s\n", json_string_value(json_array_get(a, i)));
            i++, j++;
        } else if (i < n && (j == m || LCS(i + 1, j) >= LCS(i, j + 1))) {
            printf("    -%s\n", json_string_value(json_array_get(a, i++)));
        } else {
            printf("    +%s\n", json_string_value(json_array_get(b, j++)));
        }
    }
#undef LCS
    free(L);
}

static int start_of(json_t *exp, int64_t *ms)
{
    const char *c = json_string_value(json_object_get(exp, "clock"));
    const char *env = getenv("SCENARIST_CLOCK");
    if (!c && env && !strncmp(env, "test:", 5))
        c = env + 5;
    return sc_clock_parse_iso(c ? c : TEST_DEFAULT_CLOCK, ms);
}

/* One case, replayed: true when it passed (else its failure printed). */
static bool test_case(const struct opts *o, const char *scenario, const char *casedir,
                      const char *label)
{
    char p[4 * PATH_MAX], why[600] = "";
    snprintf(p, sizeof p, "%s/expect.json", casedir);
    json_t *exp = load_json(p, false);
    snprintf(p, sizeof p, "%s/answers.json", casedir);
    json_t *answers = exp ? load_json(p, false) : NULL;
    struct tcase tc = {.answers = answers, .requests = json_array(),
                       .unrecorded = json_array()};
    int64_t start = 0;
    bool ok = false;
    if (!exp || !json_is_array(answers)) {
        printf("FAIL %s\n    %s/%s is missing or not JSON%s\n", label, casedir,
               exp ? "answers.json" : "expect.json", exp ? " (an array)" : "");
    } else if (start_of(exp, &start)) {
        printf("FAIL %s\n    expect.json: clock is not an ISO 8601 time\n", label);
    } else {
        json_t *rec = run_case(o, scenario, casedir, start, &tc, false, why, sizeof why);
        json_t *el = json_array(), *al = json_array();
        render(exp, tc.requests, rec, el, al);
        ok = rec && json_equal(el, al) && !json_array_size(tc.unrecorded);
        printf("%s %s\n", ok ? "ok  " : "FAIL", label);
        if (!rec)
            printf("    %s\n", why);
        size_t i;
        json_t *u;
        json_array_foreach(tc.unrecorded, i, u)
            printf("    unrecorded request: %s\n", json_string_value(u));
        if (rec && !json_equal(el, al))
            print_diff(el, al);
        json_decref(el);
        json_decref(al);
        json_decref(rec);
    }
    json_decref(exp);
    json_decref(answers);
    json_decref(tc.requests);
    json_decref(tc.unrecorded);
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of dir's entries that pass keep (NULL-terminated; free each). */
static char **listdir(const char *dir, bool (*keep)(const char *dir, const char *name),
                      size_t *n)
{
    DIR *dp = opendir(dir);
    char **v = NULL;
    *n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        if (e->d_name[0] == '.' || !keep(dir, e->d_name))
            continue;
        v = sc_realloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = sc_strdup(e->d_name);
    }
    if (dp)
        closedir(dp);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static bool keep_yaml(const char *dir, const char *name)
{
    (void)dir;
    size_t l = strlen(name);
    return (l > 5 && !strcmp(name + l - 5, ".yaml")) || (l > 4 && !strcmp(name + l - 4, ".yml"));
}

static bool keep_case(const char *dir, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s/event.json", dir, name);
    return is_file(p);
}

/* The cases of one scenario file: its tests/STEM/ * folders. */
static void test_scenario(const struct opts *o, const char *file, int *passed, int *failed)
{
    char dir[PATH_MAX], stem[PATH_MAX], tdir[2 * PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = '\0';
    if (slash)
        *slash = '\0';
    snprintf(tdir, sizeof tdir, "%s/tests/%s", slash ? dir : ".", stem);
    size_t n;
    char **cases = listdir(tdir, keep_case, &n);
    for (size_t i = 0; i < n; i++) {
        char cdir[3 * PATH_MAX], label[2 * PATH_MAX];
        snprintf(cdir, sizeof cdir, "%s/%s", tdir, cases[i]);
        snprintf(label, sizeof label, "%s/%s", stem, cases[i]);
        if (test_case(o, file, cdir, label))
            (*passed)++;
        else
            (*failed)++;
        free(cases[i]);
    }
    free(cases);
}

static int write_json(const char *path, json_t *v)
{
    if (json_dump_file(v, path, JSON_INDENT(2) | JSON_ENCODE_ANY) == 0) {
        FILE *f = fopen(path, "a"); /* a final newline, as an editor leaves it */
        if (f)
            fputc('\n', f), fclose(f);
        return 0;
    }
    fprintf(stderr, "scenarist: cannot write %s: %s\n", path, strerror(errno));
    return -1;
}

/* --record CASE-DIR: the event run against the real systems; answers.json and
 * expect.json written from what was seen. */
static int record_case(const struct opts *o, const char *casedir)
{
    char real[PATH_MAX], scen[PATH_MAX + 300], why[600] = "";
    if (!realpath(casedir, real) || !is_dir(real)) {
        fprintf(stderr, "scenarist: %s: no such case folder\n", casedir);
        return EXIT_USAGE;
    }
    /* .../tests/NAME/CASE -> .../NAME.yaml (or .yml) */
    char *c = strrchr(real, '/'), *name = NULL, *t = NULL;
    if (c) {
        *c = '\0';
        name = strrchr(real, '/');
        if (name) {
            *name++ = '\0';
            t = strrchr(real, '/');
        }
    }
    if (!t || strcmp(t + 1, "tests")) {
        fprintf(stderr, "scenarist: %s: a case folder is tests/NAME/CASE beside NAME.yaml\n",
                casedir);
        return EXIT_USAGE;
    }
    *t = '\0';
    snprintf(scen, sizeof scen, "%s/%s.yaml", real, name);
    if (!is_file(scen))
        snprintf(scen, sizeof scen, "%s/%s.yml", real, name);
    if (!is_file(scen)) {
        fprintf(stderr, "scenarist: %s: no scenario %s/%s.yaml for this case\n", casedir, real,
                name);
        return EXIT_USAGE;
    }
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/expect.json", casedir);
    json_t *old = load_json(p, true);
    int64_t start = 0;
    if (start_of(old, &start)) {
        fprintf(stderr, "scenarist: %s: clock is not an ISO 8601 time\n", p);
        json_decref(old);
        return EXIT_USAGE;
    }
    json_decref(old);
    struct tcase tc = {.requests = json_array(), .recorded = json_array()};
    json_t *rec = run_case(o, scen, casedir, start, &tc, true, why, sizeof why);
    int rc = EXIT_FAILED;
    if (!rec) {
        fprintf(stderr, "scenarist: %s: %s\n", casedir, why);
    } else {
        char iso[40];
        sc_clock_iso(start, iso, sizeof iso);
        json_t *exp = json_pack("{s:s, s:O, s:O}", "clock", iso, "requests", tc.requests,
                                "status", json_object_get(rec, "status"));
        snprintf(p, sizeof p, "%s/answers.json", casedir);
        int w = write_json(p, tc.recorded);
        snprintf(p, sizeof p, "%s/expect.json", casedir);
        if (!w && !write_json(p, exp)) {
            json_t *e = json_object_get(rec, "error");
            printf("recorded %s: %zu requests, status %s%s%s\n", casedir,
                   json_array_size(tc.requests), json_string_value(json_object_get(rec, "status")),
                   e ? ": " : "", e ? json_string_value(json_object_get(e, "message")) : "");
            rc = EXIT_OK;
        }
        json_decref(exp);
    }
    json_decref(rec);
    json_decref(tc.requests);
    json_decref(tc.recorded);
    return rc;
}

/* Appends to buf (n bytes) where the cases of path were looked for: a scenario file's
 * DIR/tests/STEM/, a folder's DIR/tests/ with its count of scenario files. */
static void where_add(char *buf, size_t n, const char *path, size_t nfiles)
{
    size_t used = strlen(buf);
    const char *sep = used ? ", " : "";
    if (nfiles == 1 && is_file(path)) {
        const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
        const char *dot = strrchr(base, '.');
        int dl = slash ? (int)(slash - path) : 1, bl = dot ? (int)(dot - base) : (int)strlen(base);
        snprintf(buf + used, n - used, "%s%.*s/tests/%.*s/", sep, dl, slash ? path : ".", bl,
                 base);
    } else {
        size_t l = strlen(path);
        snprintf(buf + used, n - used, "%s%s%stests/ (%zu scenario file%s)", sep, path,
                 l && path[l - 1] == '/' ? "" : "/", nfiles, nfiles == 1 ? "" : "s");
    }
}

int cmd_test(struct opts *o)
{
    if (o->record) {
        if (!o->nargs) {
            fprintf(stderr, "usage: scenarist test --record CASE-DIR... [--org ORG]\n");
            return EXIT_USAGE;
        }
        int rc = EXIT_OK;
        for (size_t i = 0; i < o->nargs; i++) {
            int r = record_case(o, o->args[i]);
            if (r > rc)
                rc = r;
        }
        return rc;
    }
    if (o->org_given) { /* an org that does not load is a config error (2), said once */
        struct sc_org *org = cli_load_org(o);
        if (!org) {
            fprintf(stderr, "scenarist: org '%s' does not load; nothing tested\n", o->org);
            return EXIT_USAGE;
        }
        sc_org_free(org);
    }
    sc_org_secret_stand_ins(true); /* replayed: no secret leaves this process */
    const char *dflt[] = {"scenarios"};
    const char *const *paths = o->nargs ? o->args : dflt;
    size_t np = o->nargs ? o->nargs : 1;
    int passed = 0, failed = 0;
    char where[2048] = "";
    for (size_t i = 0; i < np; i++) {
        if (is_dir(paths[i])) {
            size_t n;
            char **files = listdir(paths[i], keep_yaml, &n);
            where_add(where, sizeof where, paths[i], n);
            for (size_t k = 0; k < n; k++) {
                char f[PATH_MAX + 300];
                snprintf(f, sizeof f, "%s/%s", paths[i], files[k]);
                test_scenario(o, f, &passed, &failed);
                free(files[k]);
            }
            free(files);
        } else if (is_file(paths[i])) {
            where_add(where, sizeof where, paths[i], 1);
            test_scenario(o, paths[i], &passed, &failed);
        } else {
            fprintf(stderr, "scenarist: %s: no such file or folder\n", paths[i]);
            return EXIT_USAGE;
        }
    }
    if (!passed && !failed) { /* a runner that ran nothing must not look green */
        fprintf(stderr, "scenarist test: no test cases in %s (a case is a folder "
                        "tests/NAME/CASE/ with an event.json, beside NAME.yaml)\n", where);
        return EXIT_FAILED;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? EXIT_FAILED : EXIT_OK;
}
