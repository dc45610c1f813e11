/* The command line's shared parts: options, exit codes, and the commands outside main.c.
 * Ownership: struct opts borrows argv. */
#ifndef SC_CLI_H
#define SC_CLI_H

#include "lang/diag.h"
#include "model/files.h"
#include "model/org_load.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct opts {
    const char *cmd;        /* the command (argv[1]) */
    const char *org;
    const char *input;
    const char *store;      /* --store: a database other than the org's */
    const char *scenario, *status, *since, *sent_to, *execution;
    const char *admin_listen;    /* serve --admin-listen */
    const char *listen, *workers, *max_body, *respond_timeout, *drain_timeout, *until; /* serve */
    const char *step_grace; /* serve */
    const char *header_timeout, *body_timeout, *max_conns, *max_per_ip; /* serve: intake limits */
    const char *message, *version, *output, *to, *from; /* versions */
    const char *note;       /* queue resolve --note */
    const char *checkpoint; /* audit verify --checkpoint FILE */
    const char *config_dir, *data_dir, *state_dir; /* paths.h */
    const char *log_format; /* text or json (log.h) */
    const char *trigger, *dir; /* init */
    const char *archive;    /* audit verify --archive FILE */
    bool dry_run, vacuum;   /* prune */
    bool record;            /* test --record */
    bool org_given;         /* --org was given (else org is "staging") */
    int limit;
    bool json, no_retry, check; /* check: metrics --check */
    bool wait, here, all;   /* holds approve, incomplete retry: the daemon's outcome, this
                             * process instead, every matching execution */
    const char **args;
    size_t nargs;
};

/* Adds the scenario files path stands for (files.h); a folder without any is an error in d.
 * Returns -1 when out of memory (said in d), else 0. */
int cli_add_files(struct sc_files *f, const char *path, struct sc_diags *d);
/* Prints diagnostics (JSON on stdout or text on stderr); EXIT_USAGE when any is an error. */
int finish_diags(struct sc_diags *d, bool json);

/* True when value (an option naming a store: --store, store migrate's --from and --to)
 * writes no password (conninfo.h), else false after saying what to write instead (a usage
 * error: the org file's rule). NULL is fine. */
bool cli_store_arg_ok(const char *opt, const char *value);
/* Whether value (an option's file or folder path, opt its name) is a path: a database
 * address (postgresql://, any SCHEME://) is refused on stderr, never echoed, what saying
 * what the option takes. */
bool cli_path_arg_ok(const char *opt, const char *value, const char *what);
/* The org of --org, or NULL after printing why. */
struct sc_org *cli_load_org(const struct opts *o);
/* Whether path, a store the command cmd would open (label names it: "--store PATH", or
 * "store PATH (org NAME's store)"), may be opened: it exists, is a database address, or
 * cmd creates a store (serve, run, deploy, ...); false after saying "no such store" on
 * stderr. A read would otherwise create an empty store, and its folders, and find nothing.
 * For a read, the file must also be a store: an empty file, one that is not SQLite, or a
 * SQLite database never migrated is refused (said on stderr), never written. */
bool cli_store_may_be_new(const char *cmd, const char *path, const char *label);
/* Opens the org's store (or --store); NULL after printing why (a SQLite file that does not
 * exist too, unless o->cmd creates a store: cli_store_may_be_new). */
struct sc_store;
struct sc_store *cli_open_store(const struct opts *o, const struct sc_org *org);
/* What the commands about one org's store hold: the org and its store. open: EXIT_OK,
 * or EXIT_USAGE (no org) / EXIT_FAILED (no store) after saying why. failed: says the
 * store's error, closes, and returns EXIT_FAILED. */
struct cli_session {
    struct sc_org *org;
    struct sc_store *st;
};
int cli_session_open(const struct opts *o, struct cli_session *s);
/* The person acting through the CLI: $USER ("operator" when unset), the name its
 * decisions and their audit rows carry. */
const char *cli_person(void);
void cli_session_close(struct cli_session *s);
int cli_session_failed(struct cli_session *s);

/* One step log line per entry, as run and execution print them. */
void cli_print_steps(const json_t *steps);
/* Prints a JSON value indented on stdout. */
void cli_print_json(const json_t *v);

int cmd_run(struct opts *o);
int cmd_executions(struct opts *o);
int cmd_execution(struct opts *o);
int cmd_incomplete(struct opts *o);
int cmd_audit(struct opts *o);
int cmd_metrics(struct opts *o);
int cmd_shadow(struct opts *o);
int cmd_test(struct opts *o);
int cmd_resume(struct opts *o);
int cmd_serve(struct opts *o);
int cmd_holds(struct opts *o);
int cmd_queue(struct opts *o);
int cmd_deploy(struct opts *o);
int cmd_versions(struct opts *o);
int cmd_export(struct opts *o);
int cmd_import(struct opts *o);
int cmd_rollback(struct opts *o);
int cmd_diff(struct opts *o);
int cmd_backup(struct opts *o);
int cmd_restore(struct opts *o);
int cmd_promote(struct opts *o);
/* scenarist schema: the scenario file's JSON Schema (draft 2020-12) on stdout (cli_schema.c). */
int cmd_schema(struct opts *o);
/* scenarist init NAME [--trigger K] [--dir D]: a starting scenario, never overwriting (cli_init.c). */
int cmd_init(struct opts *o);
/* scenarist connections [list] | test [NAME...]: one read-only GET each (cli_connections.c). */
int cmd_connections(struct opts *o);
/* scenarist prune [--dry-run] [--vacuum]: the org's retention now (cli_prune.c). */
int cmd_prune(struct opts *o);
/* scenarist store backup --to FILE: a consistent copy of the live store (cli_prune.c). */
int cmd_store_backup(struct opts *o);
/* scenarist store migrate --from FILE.db --to postgresql://...: history moved (cli_migrate.c). */
int cmd_store_migrate(struct opts *o);

#endif
