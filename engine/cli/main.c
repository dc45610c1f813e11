/* scenarist: the command line. Exit codes: 0 ok, 1 the work failed, 2 usage or validation. */
#include "cli/cli.h"
#include "cli/cli_help.h"
#include "clock.h"
#include "conninfo.h"
#include "lang/diag.h"
#include "run/exec.h"
#include "lang/expr.h"
#include "lang/lua.h"
#include "module.h"
#include "model/org_load.h"
#include "util.h"
#include "model/validate.h"
#include "model/yaml.h"
#include "paths.h"
#include "store/hooks.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


static int usage(FILE *out)
{
    fprintf(out,
            "usage: scenarist COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  validate [PATH...]   check scenario files (default: scenarios/) against an org\n"
            "  run FILE|NAME --input EVENT.json\n"
            "                       run one event through a scenario now and print each step\n"
            "                       (NAME: its deployed version, or --version N)\n"
            "  init NAME            write a starting scenario, scenarios/NAME.yaml (--trigger\n"
            "                       webhook|schedule|poll, --dir DIR); never overwrites\n"
            "  executions           list executions (--scenario, --status, --since, --limit)\n"
            "  execution ID         one execution: every step of every run (the first, each retry)\n"
            "  incomplete list|retry ID|retry --all|resolve ID|discard ID\n"
            "                       executions stopped by a break: waiting for a retry or a person;\n"
            "                       retry hands them to the daemon (--all [--scenario S] [--since T],\n"
            "                       --wait: print the outcome, --here: run it in this process)\n"
            "  resume               run what is waiting: executions a crash interrupted, retries due\n"
            "  serve [PATH...]      the daemon: webhooks, schedules, polls, workers, retries\n"
            "                       (scenario files or folders; default: scenarios/)\n"
            "  holds list|show ID|approve ID|reject ID [-m REASON]\n"
            "                       executions held for a person's decision (payroll checks); an\n"
            "                       approval runs in the daemon (--wait, --here as incomplete retry)\n"
            "  queue list [NAME]|show ID|resolve ID\n"
            "                       work lists for people (drift, reconciliation orphans)\n"
            "  audit [verify|checkpoint]\n"
            "                       the log of every write to another system (--scenario,\n"
            "                       --sent-to URL-PREFIX, --execution); verify checks its keyed\n"
            "                       chain (--checkpoint FILE: and that nothing was cut or wiped\n"
            "                       since); checkpoint prints its head (-o FILE, --to CONNECTION)\n"
            "  metrics              per scenario: executions, failures; incomplete, queues, holds\n"
            "                       (--since T: over a window; --check: the org's targets)\n"
            "  shadow list          writes a shadowing connection kept from being sent (--scenario,\n"
            "                       --execution, --json: in full)\n"
            "  store migrate --from FILE.db --to postgresql://...\n"
            "                       copy the org's SQLite store into an empty PostgreSQL one\n"
            "  deploy PATH...       validate and store a new version of each changed scenario (-m MSG)\n"
            "  versions NAME        a scenario's versions\n"
            "  export NAME          a version as a JSON document (--version N, -o FILE)\n"
            "  import FILE          check an export and store it as a new version\n"
            "  rollback NAME --to N make version N current again, as a new version\n"
            "  diff NAME A B        what changed between two versions, step by step\n"
            "  backup --to DIR      every current version to DIR/NAME/vN.json (idempotent)\n"
            "  restore --from DIR   import a backup\n"
            "  promote NAME --from ORG --to ORG\n"
            "                       copy the current version to another org, validated there\n"
            "  prune                apply the org's retention now (--dry-run: say what would go;\n"
            "                       --vacuum: give the space back, once for an older store)\n"
            "  store backup --to FILE\n"
            "                       a consistent copy of the live store (not its seal key)\n"
            "  modules [NAME]       list modules, or one module's parameters\n"
            "  connections [test [NAME...]]\n"
            "                       the org's connections; test: one GET each (its health:\n"
            "                       path or base URL) checking reachability and credentials\n"
            "  schema               the scenario file's JSON Schema (editors: yaml-language-server)\n"
            "  docs modules|format|org|man1|man5\n"
            "                       print a reference page generated from the tables (Markdown,\n"
            "                       or roff for the manual pages)\n"
            "  version              print the version (also -V, --version)\n"
            "  help [COMMAND]       this list, or one command's help (also COMMAND --help)\n"
            "\n"
            "options:\n"
            "  --org NAME|FILE      organisation (CONFIG/orgs/NAME.yaml); default: staging\n"
            "  --config-dir DIR     where orgs/ is (default: the working directory in a\n"
            "                       checkout, the system configuration folder when installed)\n"
            "  --data-dir DIR       where lua/ is (default: the checkout's or the installed one)\n"
            "  --state-dir DIR      where relative store paths point (installed default:\n"
            "                       the state folder)\n"
            "  --input FILE|-       the trigger event's body (JSON) for run; -: standard input\n"
            "  --log-format FORMAT  serve: log lines as text (default) or json\n"
            "  --no-retry           run: leave a break's retries to resume or the daemon\n"
            "  --store FILE         a database other than the org's\n"
            "  --json               machine-readable output\n"
            "  --listen HOST:PORT   serve: where webhooks come in (default 127.0.0.1:8080)\n"
            "  --admin-listen HOST:PORT  serve: the management API /api/v1\n"
            "  --workers N          serve: executions run in parallel (default 4; 0: store only)\n"
            "  --max-body SIZE      serve: largest webhook body in bytes (default 1048576)\n"
            "  --respond-timeout D  serve: how long a respond webhook waits (default 10s)\n"
            "  --drain-timeout D    serve: on SIGTERM, how long running steps may finish (30s)\n"
            "  --step-grace D       serve: how long past its deadline a step is abandoned (5s)\n"
            "  --header-timeout D   serve: a request's headers must be in within D of its\n"
            "                       first line (default 10s; trickled lines do not extend it)\n"
            "  --body-timeout D     serve: a webhook's body must be in within D of its\n"
            "                       headers (default 60s)\n"
            "  --max-connections N  serve: connections held at once (default: what the\n"
            "                       open-file limit allows, up to 50000)\n"
            "  --max-connections-per-ip N\n"
            "                       serve: of them from one client address (default 512)\n"
            "  --until ISO          serve on the test clock: run time forward to ISO, then stop\n"
            "\n"
            "exit status: 0 ok, 1 the work failed, 2 usage or validation error\n");
    return out == stderr ? EXIT_USAGE : EXIT_OK;
}

/* Options with a value, as "--name value" or "--name=value". */
static const struct {
    const char *name;
    size_t off;
} value_opts[] = {
    {"org", offsetof(struct opts, org)},         {"input", offsetof(struct opts, input)},
    {"store", offsetof(struct opts, store)},     {"scenario", offsetof(struct opts, scenario)},
    {"status", offsetof(struct opts, status)},   {"since", offsetof(struct opts, since)},
    {"sent-to", offsetof(struct opts, sent_to)}, {"execution", offsetof(struct opts, execution)},
    {"listen", offsetof(struct opts, listen)},   {"admin-listen", offsetof(struct opts, admin_listen)},   {"workers", offsetof(struct opts, workers)},
    {"max-body", offsetof(struct opts, max_body)},
    {"respond-timeout", offsetof(struct opts, respond_timeout)},
    {"drain-timeout", offsetof(struct opts, drain_timeout)},
    {"step-grace", offsetof(struct opts, step_grace)},
    {"header-timeout", offsetof(struct opts, header_timeout)},
    {"body-timeout", offsetof(struct opts, body_timeout)},
    {"max-connections-per-ip", offsetof(struct opts, max_per_ip)},
    {"max-connections", offsetof(struct opts, max_conns)},
    {"until", offsetof(struct opts, until)},
    {"config-dir", offsetof(struct opts, config_dir)}, {"data-dir", offsetof(struct opts, data_dir)},
    {"state-dir", offsetof(struct opts, state_dir)},
    {"log-format", offsetof(struct opts, log_format)},
    {"message", offsetof(struct opts, message)}, {"version", offsetof(struct opts, version)},
    {"output", offsetof(struct opts, output)},   {"to", offsetof(struct opts, to)},
    {"from", offsetof(struct opts, from)},       {"checkpoint", offsetof(struct opts, checkpoint)},
    {"trigger", offsetof(struct opts, trigger)}, {"dir", offsetof(struct opts, dir)},
    {"archive", offsetof(struct opts, archive)},
    {"note", offsetof(struct opts, note)},
    {"limit", 0},
};

/* True when argv[*i] is a value option (consumed); *err set when its value is missing. */
static bool value_opt(int argc, char **argv, int *i, struct opts *o, bool *err)
{
    const char *a = argv[*i];
    *err = false;
    if (strncmp(a, "--", 2) != 0)
        return false;
    for (size_t k = 0; k < sizeof value_opts / sizeof value_opts[0]; k++) {
        size_t n = strlen(value_opts[k].name);
        if (strncmp(a + 2, value_opts[k].name, n) != 0 || (a[2 + n] && a[2 + n] != '='))
            continue;
        const char *v = a[2 + n] == '=' ? a + 3 + n : *i + 1 < argc ? argv[++*i] : NULL;
        if (!v) {
            fprintf(stderr, "scenarist: --%s needs a value\n", value_opts[k].name);
            *err = true;
        } else if (!strcmp(value_opts[k].name, "limit")) {
            char *end;
            long l = strtol(v, &end, 10);
            if (*end || l < 1 || l > 1000000) {
                fprintf(stderr, "scenarist: --limit takes a number from 1 to 1000000\n");
                *err = true;
            }
            o->limit = (int)l;
        } else {
            *(const char **)((char *)o + value_opts[k].off) = v;
        }
        return true;
    }
    return false;
}

bool cli_path_arg_ok(const char *opt, const char *value, const char *what)
{
    if (!value || (!sc_conninfo_is_pg(value) && !sc_conninfo_foreign(value)))
        return true;
    fprintf(stderr, "scenarist: %s: %s, never a database address (not shown: it may hold a "
            "password)\n", opt, what);
    return false;
}

bool cli_store_arg_ok(const char *opt, const char *value)
{
    static const char *const why[] = {
        [SC_CONNINFO_PW_USERINFO] = "a PostgreSQL store's password is never written on the "
            "command line (ps and the shell's history keep it): name it by a secret reference, "
            "postgresql://USER@HOST/DB?password=env:NAME (or password=file:PATH)",
        [SC_CONNINFO_PW_LITERAL] = "password= must be a secret reference, env:NAME or "
            "file:PATH, never the password itself (ps and the shell's history keep the command "
            "line): postgresql://USER@HOST/DB?password=env:NAME",
        [SC_CONNINFO_PW_EMPTY] = "the password reference is empty: name the password by a "
            "secret reference, postgresql://USER@HOST/DB?password=env:NAME (or password=file:PATH)",
    };
    if (sc_conninfo_foreign(value)) { /* never a file named mysql:/... */
        fprintf(stderr, "scenarist: %s: a store is a SQLite file path or a postgresql:// "
                "address\n", opt);
        return false;
    }
    if (sc_conninfo_unreadable(value)) { /* its keys unknown: every value masked */
        char *shown = sc_conninfo_mask_query(value);
        fprintf(stderr, "scenarist: %s: not a connection URI libpq can read (its keys and "
                "values percent-encoded once): %s\n", opt, shown ? shown : "");
        free(shown);
        return false;
    }
    enum sc_conninfo_pw pw = value ? sc_conninfo_password(value) : SC_CONNINFO_PW_NONE;
    if (pw == SC_CONNINFO_PW_NONE)
        return true;
    bool uri = sc_conninfo_is_pg(value);
    fprintf(stderr, "scenarist: %s: %s\n", opt, uri ? why[pw]
            : "a store is a database file or a postgresql:// URI, never a libpq key=value "
              "string with a password in it: postgresql://USER@HOST/DB?password=env:NAME (or "
              "password=file:PATH) names the password by a secret reference");
    return false;
}

/* Splits argv into options and positional arguments; -1 on a usage error. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    bool err;
    o->org = NULL; /* "staging" below when not given */
    o->args = calloc((size_t)argc + 1, sizeof *o->args);
    if (!o->args)
        return -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-m") || !strcmp(a, "-o")) && i + 1 < argc) { /* short forms */
            *(a[1] == 'm' ? &o->message : &o->output) = argv[++i];
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--no-retry")) {
            o->no_retry = true;
        } else if (!strcmp(a, "--record")) {
            o->record = true;
        } else if (!strcmp(a, "--check")) {
            o->check = true;
        } else if (!strcmp(a, "--wait")) {
            o->wait = true;
        } else if (!strcmp(a, "--here")) {
            o->here = true;
        } else if (!strcmp(a, "--all")) {
            o->all = true;
        } else if (!strcmp(a, "--dry-run") || !strcmp(a, "--vacuum")) {
            *(a[2] == 'd' ? &o->dry_run : &o->vacuum) = true;
        } else if (value_opt(argc, argv, &i, o, &err)) {
            if (err)
                return -1;
        } else if (!strcmp(a, "--")) {
            while (++i < argc)
                o->args[o->nargs++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            cli_unknown_option(a);
            return -1;
        } else {
            o->args[o->nargs++] = a;
        }
    }
    if (!cli_store_arg_ok("--store", o->store))
        return -1;
    o->org_given = o->org != NULL;
    if (!o->org)
        o->org = "staging";
    return 0;
}

/* ---- validate ---- */

int cli_add_files(struct sc_files *f, const char *path, struct sc_diags *d)
{
    long n = sc_files_add(f, path); /* a missing file is reported by the loader */
    struct sc_src src = {path, NULL, 0};
    if (n < 0)
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "out of memory listing the files");
    else if (n == 0)
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0,
                    "no scenario files (*.yaml, *.yml) in this folder");
    return n < 0 ? -1 : 0;
}

int finish_diags(struct sc_diags *d, bool json)
{
    if (json) {
        json_t *arr = sc_diags_json(d);
        char *s = arr ? json_dumps(arr, JSON_INDENT(2)) : NULL;
        printf("%s\n", s ? s : "[]");
        free(s);
        json_decref(arr);
    } else {
        sc_diags_print(d, stderr);
    }
    return d->errors ? EXIT_USAGE : EXIT_OK;
}

struct lua_file {
    struct sc_diags *d;
    struct sc_src src;
};

static void on_unavailable(void *ud, const char *name, size_t off, size_t len)
{
    struct lua_file *f = ud;
    int line, col;
    sc_src_linecol(&f->src, off, &line, &col);
    sc_diag_add(f->d, SC_SEV_ERROR, &f->src, line, col, (int)len, "%s",
                sc_expr_unavailable_message(name));
}

/* The transform files (lua/transforms/\*.lua): a use of a name the sandbox does not
 * have is reported now, with its place, rather than when an event runs into it. */
static void check_transform_files(struct sc_diags *d)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/transforms", sc_lua_default_dir());
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || strcmp(e->d_name + n - 4, ".lua") != 0 || e->d_name[0] == '.')
            continue;
        char path[4500];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        bool big;
        char *code = sc_read_file(path, 1024 * 1024, &len, &big);
        if (!code)
            continue; /* loading the sandbox reports it */
        struct lua_file f = {d, {path, code, len}};
        sc_expr_unavailable_refs(code, len, on_unavailable, &f);
        free(code);
    }
    closedir(dh);
}

static int cmd_validate(struct opts *o)
{
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_org *org = sc_org_load(o->org, &d);
    if (!org) {
        int rc = finish_diags(&d, o->json);
        if (!o->json)
            fprintf(stderr, "scenarist: org '%s' does not load; nothing validated\n", o->org);
        sc_diags_free(&d);
        return rc ? rc : EXIT_USAGE;
    }
    struct sc_files files = {0};
    static const char *const defaults[] = {"scenarios"};
    const char *const *args = o->nargs ? o->args : defaults;
    size_t nargs = o->nargs ? o->nargs : 1;
    for (size_t i = 0; i < nargs; i++)
        if (cli_add_files(&files, args[i], &d) != 0)
            break;
    /* A full load: validation, then compiling templates and checking transforms, so
     * validate reports everything run would refuse. */
    char lerr[512];
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, lerr, sizeof lerr);
    if (!lua) {
        struct sc_src src = {"lua", NULL, 0};
        sc_diag_add(&d, SC_SEV_ERROR, &src, 0, 0, 0, "%s", lerr);
    }
    struct sc_validator *v = lua ? sc_validator_new(org, &d) : NULL;
    for (size_t i = 0; v && i < files.n; i++)
        sc_scenario_free(sc_scenario_load(files.v[i], org, lua, v, &d));
    sc_validator_free(v);
    sc_lua_free(lua);
    if (lua)
        check_transform_files(&d);
    int rc = finish_diags(&d, o->json);
    if (!o->json) {
        if (d.errors)
            fprintf(stderr, "%zu error%s, %zu warning%s in %zu file%s (org %s)\n", d.errors,
                    d.errors == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s", files.n,
                    files.n == 1 ? "" : "s", org->name);
        else
            printf("ok: %zu scenario file%s valid for org %s%s\n", files.n,
                   files.n == 1 ? "" : "s", org->name,
                   d.warnings ? " (with warnings)" : "");
    }
    sc_files_free(&files);
    sc_org_free(org);
    sc_diags_free(&d);
    return rc;
}

/* ---- modules and generated reference pages ---- */

static void param_type(const struct sc_param *p, char *buf, size_t n)
{
    if (p->type == SC_T_ENUM) {
        size_t used = (size_t)snprintf(buf, n, "one of ");
        for (size_t i = 0; p->allowed[i] && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", p->allowed[i]);
    } else if (p->type == SC_T_LIST || p->type == SC_T_MAP) {
        snprintf(buf, n, "%s of %s", p->type == SC_T_LIST ? "list" : "mapping of names",
                 p->elem == SC_T_OBJECT ? "mappings" : sc_type_name(p->elem));
    } else {
        snprintf(buf, n, "%s", sc_type_name(p->type));
    }
}

static void print_params_text(const struct sc_param *params, const char *indent)
{
    for (const struct sc_param *p = params; p->name; p++) {
        char type[256];
        param_type(p, type, sizeof type);
        printf("%s%-16s %s%s%s%s\n", indent, p->name, type, p->required ? ", required" : "",
               p->def ? ", default " : "", p->def ? p->def : "");
        printf("%s%-16s %s\n", indent, "", p->doc);
        if (p->fields) {
            char sub[64];
            snprintf(sub, sizeof sub, "%s    ", indent);
            print_params_text(p->fields, sub);
        }
    }
}

static json_t *params_json(const struct sc_param *params)
{
    json_t *arr = json_array();
    for (const struct sc_param *p = params; p->name; p++) {
        char type[256];
        param_type(p, type, sizeof type);
        json_t *o = json_pack("{s:s, s:s, s:b, s:s}", "name", p->name, "type", type,
                              "required", p->required, "description", p->doc);
        if (p->def)
            json_object_set_new(o, "default", json_loads(p->def, JSON_DECODE_ANY, NULL));
        if (p->allowed) {
            json_t *al = json_array();
            for (size_t i = 0; p->allowed[i]; i++)
                json_array_append_new(al, json_string(p->allowed[i]));
            json_object_set_new(o, "allowed", al);
        }
        if (p->fields)
            json_object_set_new(o, "fields", params_json(p->fields));
        if (p->flags & SC_P_STATIC)
            json_object_set_new(o, "templated", json_false());
        json_array_append_new(arr, o);
    }
    return arr;
}

static void md_params(const struct sc_param *params, const char *prefix)
{
    for (const struct sc_param *p = params; p->name; p++) {
        char type[256];
        param_type(p, type, sizeof type);
        printf("| `%s%s` | %s | %s | %s | %s%s |\n", prefix, p->name, type,
               p->required ? "yes" : "", p->def ? p->def : "", p->doc,
               (p->flags & SC_P_STATIC) && p->type != SC_T_OBJECT && p->type != SC_T_LIST &&
                       p->type != SC_T_MAP && !(p->flags & SC_P_TEXT)
                   ? " Not templated."
                   : "");
        if (p->fields) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s%s%s.", prefix, p->name, p->type == SC_T_LIST ? "[]" : "");
            md_params(p->fields, sub);
        }
    }
}

static void md_table(const struct sc_param *params)
{
    printf("| key | type | required | default | description |\n");
    printf("|---|---|---|---|---|\n");
    md_params(params, "");
    printf("\n");
}

static const char *access_text(enum sc_access a)
{
    switch (a) {
    case SC_ACCESS_WRITE: return "writes to its connection (needs read-write)";
    case SC_ACCESS_BY_METHOD: return "writes when method is not GET or HEAD";
    case SC_ACCESS_READ: return "reads its connection";
    default: return NULL;
    }
}

/* What a `rollback` directive does to what this module did, or NULL: nothing to undo. */
static const char *rollback_text(const struct sc_module_def *m)
{
    if (m->rollback)
        return "a `rollback` directive undoes what it did";
    if (m->access == SC_ACCESS_WRITE || m->access == SC_ACCESS_BY_METHOD)
        return "a write it sent cannot be undone by a `rollback` directive: the execution's "
               "log names it under \"cannot be undone\"";
    return NULL;
}

static void md_modules(void)
{
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    printf("# Modules\n\n"
           "Generated by `scenarist docs modules` from the modules' parameter tables; "
           "`make test` fails when this file is stale (`make docs` rewrites it).\n\n"
           "Every string parameter may hold `{{ }}` templates unless it says \"Not "
           "templated\". A parameter that expects a number or true/false may be given as "
           "exactly one `{{ }}`; its type is then checked when the step runs.\n\n");
    for (size_t i = 0; i < n; i++)
        printf("- [`%s`](#%s): %s\n", all[i]->name, all[i]->name, all[i]->summary);
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        const struct sc_module_def *m = all[i];
        printf("## <a id=\"%s\"></a>%s\n\n%s\n\n", m->name, m->name, m->summary);
        if (access_text(m->access))
            printf("Connection use: %s.\n\n", access_text(m->access));
        if (m->output)
            printf("Output: %s\n\n", m->output);
        if (rollback_text(m))
            printf("Rollback: %s.\n\n", rollback_text(m));
        md_table(m->params);
    }
}

static void md_format(void)
{
    printf("# Scenario format: field tables\n\n"
           "Generated by `scenarist docs format` from the validator's tables; the guide with "
           "examples is [scenario-format.md](scenario-format.md).\n\n");
    struct { const char *title; const struct sc_param *t; } sections[] = {
        {"Scenario (top level)", sc_scenario_fields},
        {"settings", sc_settings_fields},
        {"Trigger `webhook`", sc_webhook_fields},
        {"Trigger `schedule`", sc_schedule_fields},
        {"Trigger `poll`", sc_poll_fields},
        {"Trigger `manual`", sc_manual_fields},
        {"Step", sc_step_fields},
        {"Directive `break`", sc_break_fields},
        {"Directive `resume`", sc_resume_fields},
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        printf("## %s\n\n", sections[i].title);
        md_table(sections[i].t);
    }
    printf("## Directives `ignore`, `commit`, `rollback`\n\nNo options: write `- ignore`.\n");
}

static void md_org(void)
{
    printf("# Org file: field tables\n\n"
           "Generated by `scenarist docs org`; the guide is [operations.md](operations.md).\n\n");
    md_table(sc_org_fields);
}

static int cmd_docs(struct opts *o)
{
    const char *what = o->nargs ? o->args[0] : "";
    if (!strcmp(what, "modules"))
        md_modules();
    else if (!strcmp(what, "format"))
        md_format();
    else if (!strcmp(what, "org"))
        md_org();
    else if (!strcmp(what, "man1"))
        cli_man1();
    else if (!strcmp(what, "man5"))
        cli_man5();
    else {
        fprintf(stderr, "scenarist docs: name a page: modules, format, org, man1 or man5\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int cmd_modules(struct opts *o)
{
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    if (o->nargs > 1) {
        fprintf(stderr, "scenarist modules: give at most one module name\n");
        return EXIT_USAGE;
    }
    if (o->nargs == 1) {
        const struct sc_module_def *m = sc_module_find(o->args[0]);
        if (!m) {
            const char *names[128];
            for (size_t i = 0; i < n && i < 128; i++)
                names[i] = all[i]->name;
            const char *hint = sc_suggest(o->args[0], names, n);
            fprintf(stderr, "scenarist: unknown module '%s'%s%s%s\n", o->args[0],
                    hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
            return EXIT_USAGE;
        }
        if (o->json) {
            json_t *j = json_pack("{s:s, s:s, s:o}", "name", m->name, "summary", m->summary,
                                  "parameters", params_json(m->params));
            char *s = json_dumps(j, JSON_INDENT(2));
            printf("%s\n", s);
            free(s);
            json_decref(j);
            return EXIT_OK;
        }
        printf("%s: %s\n", m->name, m->summary);
        if (access_text(m->access))
            printf("connection: %s\n", access_text(m->access));
        printf("\nparameters:\n");
        print_params_text(m->params, "  ");
        return EXIT_OK;
    }
    if (o->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", all[i]->name,
                                                 "summary", all[i]->summary, "parameters",
                                                 params_json(all[i]->params)));
        char *s = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
        json_decref(arr);
        return EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        printf("%-16s %s\n", all[i]->name, all[i]->summary);
    return EXIT_OK;
}

/* A --store database file that does not exist is a mistyped path unless cmd creates a
 * store (cli_store_may_be_new): false after saying so. */
static bool store_may_be_new(const char *cmd, const struct opts *o)
{
    if (!o->store)
        return true;
    char *label = sc_asprintf("--store %s", o->store);
    bool ok = !label || cli_store_may_be_new(cmd, o->store, label);
    free(label);
    return ok;
}

int main(int argc, char **argv)
{
    sc_alloc_install_json();
    if (argc < 2)
        return usage(stderr);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") && argc > 2 && strcmp(argv[2], "--help") && strcmp(argv[2], "-h"))
        return cli_help_command(argv[2], stdout);
    if (!strcmp(cmd, "help") && argc > 2)
        return cli_help_command("help", stdout);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
        return usage(stdout);
    if (strcmp(cmd, "help") && cmd[0] != '-' && cli_help_asked(argc - 2, argv + 2))
        return cli_help_command(cmd, stdout);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("scenarist %s\n", SC_VERSION);
        return EXIT_OK;
    }
    struct opts o = {.cmd = cmd};
    if (parse_opts(argc - 2, argv + 2, &o) != 0) {
        free(o.args);
        return EXIT_USAGE;
    }
    sc_paths_set(o.data_dir, o.config_dir, o.state_dir);
    /* One clock for every command: run, retries and --since all read it. */
    if (sc_clock_from_env() != 0) {
        fprintf(stderr, "scenarist: SCENARIST_CLOCK must be test:YYYY-MM-DDTHH:MM:SSZ\n");
        free(o.args);
        return EXIT_USAGE;
    }
    int rc;
    if (!store_may_be_new(cmd, &o))
        rc = EXIT_FAILED;
    else if (!strcmp(cmd, "validate"))
        rc = cmd_validate(&o);
    else if (!strcmp(cmd, "run"))
        rc = cmd_run(&o);
    else if (!strcmp(cmd, "executions"))
        rc = cmd_executions(&o);
    else if (!strcmp(cmd, "execution"))
        rc = cmd_execution(&o);
    else if (!strcmp(cmd, "incomplete"))
        rc = cmd_incomplete(&o);
    else if (!strcmp(cmd, "audit"))
        rc = cmd_audit(&o);
    else if (!strcmp(cmd, "metrics"))
        rc = cmd_metrics(&o);
    else if (!strcmp(cmd, "shadow"))
        rc = cmd_shadow(&o);
    else if (!strcmp(cmd, "test"))
        rc = cmd_test(&o);
    else if (!strcmp(cmd, "resume"))
        rc = cmd_resume(&o);
    else if (!strcmp(cmd, "serve"))
        rc = cmd_serve(&o);
    else if (!strcmp(cmd, "holds"))
        rc = cmd_holds(&o);
    else if (!strcmp(cmd, "queue"))
        rc = cmd_queue(&o);
    else if (!strcmp(cmd, "deploy"))
        rc = cmd_deploy(&o);
    else if (!strcmp(cmd, "versions"))
        rc = cmd_versions(&o);
    else if (!strcmp(cmd, "export"))
        rc = cmd_export(&o);
    else if (!strcmp(cmd, "import"))
        rc = cmd_import(&o);
    else if (!strcmp(cmd, "rollback"))
        rc = cmd_rollback(&o);
    else if (!strcmp(cmd, "diff"))
        rc = cmd_diff(&o);
    else if (!strcmp(cmd, "backup"))
        rc = cmd_backup(&o);
    else if (!strcmp(cmd, "restore"))
        rc = cmd_restore(&o);
    else if (!strcmp(cmd, "promote"))
        rc = cmd_promote(&o);
    else if (!strcmp(cmd, "prune"))
        rc = cmd_prune(&o);
    else if (!strcmp(cmd, "store"))
        rc = o.nargs >= 1 && !strcmp(o.args[0], "migrate") ? cmd_store_migrate(&o)
             : o.nargs >= 1 && !strcmp(o.args[0], "backup") ? cmd_store_backup(&o)
             : (fprintf(stderr, "usage: scenarist store backup --to FILE | store migrate --from "
                                "FILE.db --to postgresql://...\n"), EXIT_USAGE);
    else if (!strcmp(cmd, "modules"))
        rc = cmd_modules(&o);
    else if (!strcmp(cmd, "docs"))
        rc = cmd_docs(&o);
    else if (!strcmp(cmd, "schema"))
        rc = cmd_schema(&o);
    else if (!strcmp(cmd, "init"))
        rc = cmd_init(&o);
    else if (!strcmp(cmd, "connections"))
        rc = cmd_connections(&o);
    else
        rc = cli_unknown_command(cmd);
    free(o.args);
    return rc;
}
