/* The command line's reference: one table of commands, one of options. `CMD --help`,
 * did-you-mean and scenarist(1) are printed from them; scenarist-scenario(5) from the
 * validator's and modules' tables, as docs/format-tables.md and docs/modules.md are. */
#include "cli/cli_help.h"
#include "cli/cli.h"
#include "lang/diag.h"
#include "model/validate.h"
#include "module.h"

#include <string.h>

struct opt_doc {
    const char *name; /* without the dashes */
    const char *arg;  /* NULL: a flag */
    const char *doc;
};

static const struct opt_doc options[] = {
    {"org", "NAME|FILE", "organisation: CONFIG/orgs/NAME.yaml, or a file (a value with a / "
                         "or ending in .yaml); default staging"},
    {"config-dir", "DIR", "where orgs/ is (env SCENARIST_CONFIG_DIR); default: the working "
                          "directory in a checkout, the system configuration folder when "
                          "installed"},
    {"data-dir", "DIR", "where lua/ (prelude and transforms) is (env SCENARIST_DATA_DIR); "
                        "default: the checkout's, or the installed data folder"},
    {"state-dir", "DIR", "where stores are (env SCENARIST_STATE_DIR): an org's relative store "
                         "path is taken under it; default: the working directory in a checkout, "
                         "the installed state folder otherwise"},
    {"store", "FILE", "a database other than the org's"},
    {"json", NULL, "machine-readable output"},
    {"input", "FILE", "the trigger event's body (JSON); - reads standard input"},
    {"no-retry", NULL, "leave a break's retries to resume or the daemon"},
    {"scenario", "NAME", "only this scenario's"},
    {"status", "STATUS", "only executions with this status"},
    {"since", "TIME", "from this time on (ISO 8601, or a duration back from now such as 24h)"},
    {"limit", "N", "at most N rows (1 to 1000000)"},
    {"sent-to", "URL-PREFIX", "only writes sent to URLs starting so"},
    {"execution", "ID", "only this execution's"},
    {"checkpoint", "FILE", "a checkpoint printed earlier: also prove nothing was cut since"},
    {"check", NULL, "compare with the org's targets; exit 1 when one is missed"},
    {"message", "MSG", "a version's message, or the reason for a decision on a hold or a retry "
                       "(also -m)"},
    {"note", "TEXT", "what was done about a queue item, kept with its resolution (-m too)"},
    {"wait", NULL, "wait (60 s at most) for the daemon to run what was decided, and print the "
                   "outcome"},
    {"here", NULL, "run what was decided in this process instead of the daemon (its shell "
                   "then needs the org's secrets)"},
    {"all", NULL, "every open incomplete execution that matches (--scenario, --since)"},
    {"version", "N", "a version number other than the current one"},
    {"output", "FILE", "write there instead of standard output (also -o)"},
    {"to", "TARGET", "where to: a version number, a folder, an org or a connection (see the "
                     "command)"},
    {"from", "SOURCE", "where from: a folder or an org (see the command)"},
    {"listen", "HOST:PORT", "where webhooks come in (default 127.0.0.1:8080; port 0: any free "
                            "port)"},
    {"admin-listen", "HOST:PORT", "serve: the management API /api/v1 on its own listener "
                                  "(tokens of the org's users:; port 0: any free port)"},
    {"workers", "N", "executions run in parallel (default 4; 0: store only)"},
    {"max-body", "SIZE", "largest webhook body in bytes (default 1048576)"},
    {"respond-timeout", "D", "how long a respond webhook waits (default 10s)"},
    {"drain-timeout", "D", "on SIGTERM, how long running steps may finish (default 30s)"},
    {"step-grace", "D", "how long past its deadline a step is abandoned (default 5s)"},
    {"header-timeout", "D", "a request's headers must be in within D of its first line "
                            "(default 10s)"},
    {"body-timeout", "D", "a webhook's body must be in within D of its headers (default 60s)"},
    {"max-connections", "N", "connections held at once (default: what the open-file limit "
                             "allows, up to 50000)"},
    {"max-connections-per-ip", "N", "of them from one client address (default 512)"},
    {"until", "ISO", "on the test clock: run time forward to ISO, then stop"},
    {"log-format", "FORMAT", "the daemon's log on stderr (a line per execution's end and per "
                             "error, with time, level and execution id): text (default) or "
                             "json, one object per line for collectors"},
    {"trigger", "KIND", "the starting scenario's trigger: webhook (default), schedule or poll"},
    {"dir", "DIR", "where to write it (default scenarios/)"},
    {"dry-run", NULL, "say what would be removed, remove nothing"},
    {"vacuum", NULL, "give the freed space back to the file system (once, for a store made "
                     "before incremental vacuum)"},
    {"archive", "FILE", "an audit archive written by retention: prove it and the store as one "
                        "chain"},
    {"record", NULL, "run each CASE-DIR's event.json against the real systems (the org's "
                     "connections) and write its answers.json and expect.json"},
    {"help", NULL, "this command's help (also -h)"},
};

#define COMMON "org", "config-dir", "data-dir", "state-dir", "store"

struct cmd_doc {
    const char *name;
    const char *synopsis; /* after "scenarist NAME" */
    const char *doc;
    const char *opts[24];
};

static const struct cmd_doc commands[] = {
    {"validate", "[PATH...]",
     "Check scenario files (default: scenarios/) against an org: every key, type, "
     "connection, template and transform, with file:line:col and a caret.",
     {"org", "config-dir", "data-dir", "json"}},
    {"run", "FILE|NAME --input EVENT.json",
     "Run one event through a scenario now and print each step; the execution is recorded "
     "in the org's store. A NAME runs its deployed version (the current one, or --version N).",
     {COMMON, "input", "no-retry", "version", "json"}},
    {"init", "NAME", "Write a valid starting scenario DIR/NAME.yaml, with the editors' modeline "
     "and a comment on each part; never overwrites a file.",
     {"org", "config-dir", "data-dir", "trigger", "dir"}},
    {"executions", "", "List executions, newest first.",
     {COMMON, "scenario", "status", "since", "limit", "json"}},
    {"execution", "ID", "One execution: every step of every attempt.", {COMMON, "json"}},
    {"incomplete", "list|retry ID|retry --all|resolve ID|discard ID",
     "Executions stopped by a break: waiting for a retry or a person. A retry is recorded "
     "(who, when, why) and run by the daemon, which has the org's secrets.",
     {COMMON, "scenario", "since", "limit", "message", "all", "wait", "here", "json"}},
    {"resume", "", "Run what is waiting: executions a crash interrupted, retries due.",
     {COMMON, "json"}},
    {"serve", "[PATH...]",
     "The daemon: webhooks, schedules, polls, workers, retries. With paths it serves those "
     "scenario files or folders as drafts; without, the deployed versions. Under systemd it "
     "says READY=1 once the listener is up and STOPPING=1 when it drains (sd_notify).",
     {COMMON, "listen", "admin-listen", "workers", "max-body", "respond-timeout", "drain-timeout", "step-grace",
      "header-timeout", "body-timeout", "max-connections", "max-connections-per-ip", "until",
      "log-format"}},
    {"holds", "list|show ID|approve ID|reject ID",
     "Executions held for a person's decision (payroll checks). An approval is recorded "
     "(who, when, why) and run on by the daemon, which has the org's secrets; a rejection "
     "ends the execution.",
     {COMMON, "scenario", "message", "wait", "here", "json"}},
    {"queue", "list [NAME]|show ID|resolve ID",
     "Work lists for people (drift, reconciliation orphans). resolve closes an item under "
     "your name with a note; the audit log records it.",
     {COMMON, "status", "limit", "note", "message", "json"}},
    {"audit", "[verify|checkpoint]",
     "The log of every write to another system and of people's actions, each naming the "
     "person it is owed to. verify checks its keyed chain; checkpoint "
     "prints its head (to a file with -o, or POSTed with --to CONNECTION).",
     {COMMON, "scenario", "sent-to", "execution", "since", "limit", "checkpoint", "output", "to",
      "archive", "json"}},
    {"metrics", "", "Per scenario: executions, failures; incomplete, queues, holds.",
     {COMMON, "since", "check", "json"}},
    {"test", "[PATH...] | --record CASE-DIR...",
     "Run scenarios' own test cases (default: scenarios/), offline: each folder "
     "tests/NAME/CASE/ beside NAME.yaml holds event.json, answers.json (the other systems' "
     "recorded answers) and expect.json (the requests and outcome expected). Outbound calls "
     "are answered from the recording, the store is a temporary file, the clock the test "
     "clock; a failure prints a unified diff. Exit 1 if any case fails, or if there is no "
     "case to run (docs/testing.md).",
     {"org", "config-dir", "data-dir", "record"}},
    {"shadow", "list", "Writes a shadowing connection kept from being sent.",
     {COMMON, "scenario", "execution", "limit", "json"}},
    {"deploy", "PATH...", "Validate and store a new version of each changed scenario.",
     {COMMON, "message", "json"}},
    {"versions", "NAME", "A scenario's versions.", {COMMON, "json"}},
    {"export", "NAME", "A version as a JSON document.", {COMMON, "version", "output"}},
    {"import", "FILE", "Check an export and store it as a new version.",
     {COMMON, "message", "json"}},
    {"rollback", "NAME --to N", "Make version N current again, as a new version.",
     {COMMON, "to", "message", "json"}},
    {"diff", "NAME A B", "What changed between two versions, step by step.", {COMMON, "json"}},
    {"backup", "--to DIR", "Every current version to DIR/NAME/vN.json (idempotent).",
     {COMMON, "to"}},
    {"restore", "--from DIR", "Import a backup.", {COMMON, "from", "message"}},
    {"promote", "NAME --from ORG --to ORG",
     "Copy the current version to another org, validated there.",
     {"config-dir", "data-dir", "state-dir", "from", "to", "message", "json"}},
    {"connections", "[list]|test [NAME...]",
     "The org's connections; test sends one GET to each (its health: path, else its base "
     "URL) with its credentials and says ok (2xx), reachable (another answer, such as a 404 "
     "at the base URL: credentials not checked), auth-failed, auth-missing, server-error or "
     "unreachable; exit 1 when one is neither ok nor reachable.",
     {"org", "config-dir", "data-dir", "json"}},
    {"schema", "", "Print the scenario file's JSON Schema (draft 2020-12), generated from the "
     "tables; docs/scenario.schema.json is its copy.", {NULL}},
    {"prune", "", "Apply the org's retention now: finished executions and their steps, closed "
     "queue items and shadowed writes past their age; audit rows archived to a file with a "
     "checkpoint, never cut.",
     {COMMON, "dry-run", "vacuum", "json"}},
    {"store", "backup --to FILE | migrate --from FILE.db --to postgresql://...",
     "backup: a consistent copy of the live store, taken while the daemon runs (VACUUM INTO); "
     "the seal key is not copied. migrate: an org's history (executions, versions, the audit "
     "chain, queues, holds, data stores) from its SQLite file to a PostgreSQL store, verified "
     "there.",
     {COMMON, "from", "to", "json"}},
    {"modules", "[NAME]", "List modules, or one module's parameters.", {"json"}},
    {"docs", "modules|format|org|man1|man5",
     "Print a reference page generated from the tables: Markdown, or roff for the manual "
     "pages.",
     {NULL}},
    {"version", "", "Print the version (also -V, --version).", {NULL}},
    {"help", "[COMMAND]", "The list of commands, or one command's help.", {NULL}},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])
#define NOPTIONS (sizeof options / sizeof options[0])

static const struct cmd_doc *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static const struct opt_doc *find_option(const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (!strcmp(options[i].name, name))
            return &options[i];
    return NULL;
}

int cli_unknown_command(const char *cmd)
{
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    const char *hint = sc_suggest(cmd, names, NCOMMANDS);
    fprintf(stderr, "scenarist: unknown command '%s'%s%s%s\n", cmd,
            hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
    fprintf(stderr, "run 'scenarist --help' for the commands\n");
    return EXIT_USAGE;
}

void cli_unknown_option(const char *opt)
{
    char word[64];
    const char *names[NOPTIONS];
    for (size_t i = 0; i < NOPTIONS; i++)
        names[i] = options[i].name;
    const char *w = opt + strspn(opt, "-");
    snprintf(word, sizeof word, "%.*s", (int)strcspn(w, "="), w);
    const char *hint = *word ? sc_suggest(word, names, NOPTIONS) : NULL;
    fprintf(stderr, "scenarist: unknown option '%s'%s%s%s\n", opt,
            hint ? "; did you mean '--" : "", hint ? hint : "", hint ? "'?" : "");
}

bool cli_help_asked(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return false;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    }
    return false;
}

/* text wrapped at 92 columns, continuation lines indented to indent (the first line
 * starts at column at). */
static void wrap(FILE *out, const char *p, int at, int indent)
{
    int start = at;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (at > start && at + 1 + (int)w > 92) {
            fprintf(out, "\n%*s", indent, "");
            at = start = indent;
        }
        at += fprintf(out, "%s%.*s", at > start ? " " : "", (int)w, p);
        p += w;
        p += strspn(p, " ");
    }
    fputc('\n', out);
}

/* "  --name ARG" padded to 28 columns, then the text wrapped under it. */
static void print_option(FILE *out, const struct opt_doc *op)
{
    char head[64];
    snprintf(head, sizeof head, "  --%s%s%s", op->name, op->arg ? " " : "",
             op->arg ? op->arg : "");
    fprintf(out, "%-28s", head);
    if (strlen(head) >= 28) /* no column left between the head and its text: the next line */
        fprintf(out, "\n%-28s", "");
    wrap(out, op->doc, 28, 28);
}

int cli_help_command(const char *cmd, FILE *out)
{
    const struct cmd_doc *c = find_command(cmd);
    if (!c)
        return cli_unknown_command(cmd);
    fprintf(out, "usage: scenarist %s%s%s\n\n", c->name, *c->synopsis ? " " : "", c->synopsis);
    wrap(out, c->doc, 0, 0);
    if (c->opts[0]) {
        fprintf(out, "\noptions:\n");
        for (size_t i = 0; i < sizeof c->opts / sizeof c->opts[0] && c->opts[i]; i++)
            print_option(out, find_option(c->opts[i]));
    }
    return EXIT_OK;
}

/* ---- manual pages (roff, man(7)) ---- */

/* Text for roff: backslashes and dashes escaped, a line never begins with . or '. */
static void roff(const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else if (*s == '\n') {
            fputc('\n', stdout);
            if (s[1] == '.' || s[1] == '\'')
                fputs("\\&", stdout);
        } else
            fputc(*s, stdout);
    }
}

static void man_option(const struct opt_doc *op)
{
    printf(".TP\n\\fB\\-\\-");
    roff(op->name);
    printf("\\fR");
    if (op->arg) {
        printf(" \\fI");
        roff(op->arg);
        printf("\\fR");
    }
    printf("\n");
    roff(op->doc);
    printf("\n");
}

void cli_man1(void)
{
    printf(".\\\" Generated by `scenarist docs man1` from the command and option tables.\n"
           ".TH SCENARIST 1 \"\" \"scenarist %s\" \"User Commands\"\n"
           ".SH NAME\nscenarist \\- run declarative HR\\-integration scenarios\n"
           ".SH SYNOPSIS\n.B scenarist\n.I COMMAND\n[\\fIoptions\\fR]\n.br\n"
           ".B scenarist\n.I COMMAND\n.B \\-\\-help\n"
           ".SH DESCRIPTION\n"
           "scenarist validates and runs scenarios: YAML files that say what to do when an "
           "event comes from one system (a webhook, a schedule, a poll) and which calls to "
           "make to the others. Every execution, step and write is recorded in the org's "
           "store. The file format is in\n.BR scenarist\\-scenario (5).\n"
           ".SH COMMANDS\n", SC_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct cmd_doc *c = &commands[i];
        printf(".TP\n\\fB%s\\fR", c->name);
        if (*c->synopsis) {
            printf(" ");
            roff(c->synopsis);
        }
        printf("\n");
        roff(c->doc);
        printf("\n");
        if (c->opts[0]) {
            printf("Options:");
            for (size_t k = 0; k < sizeof c->opts / sizeof c->opts[0] && c->opts[k]; k++) {
                printf("%s\\fB\\-\\-", k ? ", " : " ");
                roff(c->opts[k]);
                printf("\\fR");
            }
            printf(".\n");
        }
    }
    printf(".SH OPTIONS\n");
    for (size_t i = 0; i < NOPTIONS; i++)
        man_option(&options[i]);
    printf(".SH ENVIRONMENT\n"
           ".TP\n.B SCENARIST_CONFIG_DIR\\fR, \\fBSCENARIST_DATA_DIR\\fR, "
           "\\fBSCENARIST_STATE_DIR\nas \\fB\\-\\-config\\-dir\\fR, \\fB\\-\\-data\\-dir\\fR, "
           "\\fB\\-\\-state\\-dir\\fR.\n"
           ".TP\n.B SCENARIST_LUA_DIR\nthe Lua folder itself (prelude/ and transforms/).\n"
           ".TP\n.B SCENARIST_CLOCK\n\\fBtest:\\fIYYYY\\-MM\\-DDTHH:MM:SSZ\\fR: a test clock "
           "that starts there and moves only when the daemon runs time forward.\n"
           ".SH FILES\n"
           ".TP\n.I CONFIG/orgs/NAME.yaml\nan org: connections, secrets' references, settings, "
           "its store.\n"
           ".TP\n.I DATA/lua/prelude/*.lua\\fR, \\fIDATA/lua/transforms/*.lua\nthe functions "
           "scenarios' expressions call.\n"
           ".TP\n.I STATE/NAME/scenarist.db\nan org's store (SQLite), unless the org says "
           "otherwise.\n"
           ".SH EXIT STATUS\n0: ok; 1: the work failed; 2: a usage or validation error.\n"
           ".SH SEE ALSO\n.BR scenarist\\-scenario (5)\n");
}

/* One .TP per field, nested fields as "parent.child". */
static void man_params(const struct sc_param *params, const char *prefix)
{
    for (const struct sc_param *p = params; p->name; p++) {
        printf(".TP\n\\fB");
        roff(prefix);
        roff(p->name);
        printf("\\fR (%s%s)\n", p->type == SC_T_ENUM ? "enum" : sc_type_name(p->type),
               p->required ? ", required" : "");
        roff(p->doc);
        if (p->def) {
            printf(" Default: ");
            roff(p->def);
            printf(".");
        }
        if (p->allowed) {
            printf(" One of:");
            for (size_t i = 0; p->allowed[i]; i++) {
                printf("%s", i ? ", " : " ");
                roff(p->allowed[i]);
            }
            printf(".");
        }
        printf("\n");
        if (p->fields) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s%s%s.", prefix, p->name, p->type == SC_T_LIST ? "[]" : "");
            man_params(p->fields, sub);
        }
    }
}

void cli_man5(void)
{
    printf(".\\\" Generated by `scenarist docs man5` from the validator's and modules' tables.\n"
           ".TH SCENARIST\\-SCENARIO 5 \"\" \"scenarist %s\" \"File Formats\"\n"
           ".SH NAME\nscenarist\\-scenario \\- the scenario file of scenarist\n"
           ".SH DESCRIPTION\n"
           "A scenario is a YAML file: a name, a trigger (webhook, schedule, poll or manual) "
           "and steps, each a module with its parameters under \\fBwith\\fR. Strings may hold "
           "\\fB{{ }}\\fR templates. \\fBscenarist validate\\fR checks a file against an org.\n",
           SC_VERSION);
    struct { const char *title; const struct sc_param *t; } sections[] = {
        {"SCENARIO (TOP LEVEL)", sc_scenario_fields}, {"SETTINGS", sc_settings_fields},
        {"TRIGGER WEBHOOK", sc_webhook_fields},       {"TRIGGER SCHEDULE", sc_schedule_fields},
        {"TRIGGER POLL", sc_poll_fields},             {"TRIGGER MANUAL", sc_manual_fields},
        {"STEP", sc_step_fields},                     {"DIRECTIVE BREAK", sc_break_fields},
        {"DIRECTIVE RESUME", sc_resume_fields},
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        printf(".SH %s\n", sections[i].title);
        man_params(sections[i].t, "");
    }
    printf(".SH DIRECTIVES IGNORE, COMMIT, ROLLBACK\nNo options: write \\fB\\- ignore\\fR.\n");
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    printf(".SH MODULES\nA step's \\fBuse\\fR names one; its \\fBwith\\fR takes these "
           "parameters.\n");
    for (size_t i = 0; i < n; i++) {
        printf(".SS %s\n", all[i]->name);
        roff(all[i]->summary);
        printf("\n");
        man_params(all[i]->params, "");
    }
    printf(".SH SEE ALSO\n.BR scenarist (1)\n");
}
