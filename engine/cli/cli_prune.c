/* Retention by hand: prune (the org's retention: now, or --dry-run; --vacuum), store
 * backup (a consistent copy of the live store, without its seal key). */
#include "cli/cli.h"
#include "run/retention.h"
#include "store/store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One line per table and status of what sc_retention_run counted. */
static void print_counts(const json_t *counts, bool dry_run)
{
    const char *gone = dry_run ? "would be removed" : "removed";
    json_t *ex = json_object_get(counts, "executions"), *steps = json_object_get(counts, "step_runs");
    const char *k;
    json_t *v;
    json_object_foreach(ex, k, v)
        printf("executions %s: %lld %s (step records: %lld)\n", k,
               (long long)json_integer_value(v), gone,
               (long long)json_integer_value(json_object_get(steps, k)));
    json_object_foreach(json_object_get(counts, "queue_items"), k, v)
        printf("queue items %s: %lld %s\n", k, (long long)json_integer_value(v), gone);
    json_object_foreach(json_object_get(counts, "shadow_writes"), k, v)
        printf("shadowed writes: %lld %s\n", (long long)json_integer_value(v), gone);
    json_t *au = json_object_get(counts, "audit");
    if (au)
        printf("audit rows: %lld %s %s\n", (long long)json_integer_value(json_object_get(au, "archived")),
               dry_run ? "would be archived to" : "archived to",
               json_string_value(json_object_get(au, "file")));
    if (!json_object_size(counts))
        printf("nothing to prune\n");
}

int cmd_prune(struct opts *o)
{
    if (o->nargs > 0 || (o->dry_run && o->vacuum)) {
        fprintf(stderr, "usage: scenarist prune [--dry-run | --vacuum] [--org NAME] [--json]\n");
        return EXIT_USAGE;
    }
    struct cli_session s;
    int rc = cli_session_open(o, &s);
    if (rc != EXIT_OK)
        return rc;
    if (!s.org->retention.on && !o->vacuum) {
        fprintf(stderr, "scenarist: org %s keeps everything: add retention: to its org file "
                "(docs/operations.md, \"Retention\")\n", s.org->name);
        cli_session_close(&s);
        return EXIT_USAGE;
    }
    json_t *counts = json_object();
    char err[800];
    int r = counts ? sc_retention_run(s.st, s.org, o->dry_run, 0, counts, err, sizeof err) : -1;
    if (r < 0) {
        fprintf(stderr, "scenarist: prune: %s\n", counts ? err : "out of memory");
        json_decref(counts);
        cli_session_close(&s);
        return EXIT_FAILED;
    }
    int64_t freed = 0;
    if (o->vacuum && sc_store_vacuum(s.st, 0, &freed) != 0) {
        fprintf(stderr, "scenarist: vacuum: %s\n", sc_store_error(s.st));
        json_decref(counts);
        cli_session_close(&s);
        return EXIT_FAILED;
    }
    json_t *space = sc_store_space(s.st);
    if (o->json) {
        json_t *out = json_pack("{s:b, s:O, s:O*}", "dry_run", o->dry_run, "counts", counts,
                                "space", space);
        cli_print_json(out);
        json_decref(out);
    } else {
        print_counts(counts, o->dry_run);
        if (o->vacuum)
            printf("vacuum: %lld bytes given back; the store now gives pruned space back "
                   "as it goes (incremental)\n", (long long)freed);
        if (space && !json_is_true(json_object_get(space, "incremental")))
            printf("note: this store was made before incremental vacuum, so pruned space is "
                   "reused but not given back to the disk: run `scenarist prune --vacuum` "
                   "once (it locks the store while it copies it)\n");
    }
    json_decref(space);
    json_decref(counts);
    cli_session_close(&s);
    return EXIT_OK;
}

int cmd_store_backup(struct opts *o)
{
    if (o->nargs != 1 || strcmp(o->args[0], "backup") || !o->to) {
        fprintf(stderr, "usage: scenarist store backup --to FILE [--org NAME]\n");
        return EXIT_USAGE;
    }
    if (!cli_path_arg_ok("--to", o->to, "store backup writes a SQLite file (a PostgreSQL "
                         "store is backed up with pg_dump)"))
        return EXIT_USAGE;
    struct cli_session s;
    int rc = cli_session_open(o, &s);
    if (rc != EXIT_OK)
        return rc;
    if (sc_store_backup(s.st, o->to) != 0)
        return cli_session_failed(&s);
    char *path = o->store ? sc_strdup(o->store) : sc_store_path(s.org);
    printf("backup of org %s's store to %s: a consistent copy as of its start\n", s.org->name,
           o->to);
    if (s.org->store_key)
        printf("the seal key (store_key %s) is not in the backup: keep it apart; the "
               "backup's confidential data opens only with it\n", s.org->store_key);
    else
        printf("the seal key (%s.key) is not in the backup: keep a copy of it apart; the "
               "backup's confidential data opens only with it (as %s.key)\n",
               path ? path : "STORE", o->to);
    free(path);
    cli_session_close(&s);
    return EXIT_OK;
}
