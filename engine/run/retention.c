#include "run/retention.h"

#include "clock.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *sc_retention_archive_path(const struct sc_org *org)
{
    const struct sc_org_retention *r = &org->retention;
    return r->archive_ms > 0 && r->archive_to
               ? sc_asprintf("%s/audit-%s.jsonl", r->archive_to, org->name) : NULL;
}

/* Batches of one rule until none is left or the budget is spent: 0 done, 1 budget, -1. */
static int prune_rule(struct sc_store *st, const struct sc_prune_rule *rule, int batch,
                      bool dry_run, int *budget, json_t *counts, char *err, size_t errlen)
{
    for (;;) {
        if (*budget == 0)
            return 1;
        int64_t n = sc_store_prune(st, rule, batch, dry_run, counts);
        if (n < 0) {
            snprintf(err, errlen, "%s", sc_store_error(st));
            return -1;
        }
        /* give the batch's pages back; a store made before incremental vacuum keeps them */
        if (!dry_run && n > 0 && sc_store_vacuum(st, SC_RETENTION_VACUUM_PAGES, NULL) != 0) {
            snprintf(err, errlen, "%s", sc_store_error(st));
            return -1;
        }
        if (dry_run || n < batch)
            return 0;
        if (*budget > 0)
            (*budget)--;
    }
}

static int archive(struct sc_store *st, const struct sc_org *org, bool dry_run, int64_t now,
                   int64_t max_rows, json_t *counts, char *err, size_t errlen)
{
    char *path = sc_retention_archive_path(org);
    if (!path)
        return 0;
    if (!dry_run && mkdir(org->retention.archive_to, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "audit archive folder %s cannot be made: %s",
                 org->retention.archive_to, strerror(errno));
        free(path);
        return -1;
    }
    json_t *problem = NULL;
    int64_t n = sc_store_audit_archive(st, org->name, now - org->retention.archive_ms,
                                       dry_run ? 0 : max_rows, org->retention.batch, path,
                                       &problem);
    int rc = 0;
    if (n < 0 && !problem) {
        snprintf(err, errlen, "%s", sc_store_error(st));
        rc = -1;
    } else if (n < 0) {
        json_t *row = json_object_get(problem, "row");
        snprintf(err, errlen, "audit log of org %s not archived (nothing deleted): %s%lld %s",
                 org->name, row ? "row " : "", row ? (long long)json_integer_value(row) : 0LL,
                 json_string_value(json_object_get(problem, "reason")));
        rc = -1;
    } else if (n > 0 && !dry_run &&
               sc_store_vacuum(st, SC_RETENTION_VACUUM_PAGES, NULL) != 0) {
        snprintf(err, errlen, "%s", sc_store_error(st));
        rc = -1;
    } else if (n > 0) {
        json_object_set_new(counts, "audit", json_pack("{s:I, s:s}", "archived", (json_int_t)n,
                                                       "file", path));
        rc = n >= max_rows && !dry_run ? 1 : 0;
    }
    json_decref(problem);
    free(path);
    return rc;
}

int sc_retention_run(struct sc_store *st, const struct sc_org *org, bool dry_run,
                     int max_batches, json_t *counts, char *err, size_t errlen)
{
    const struct sc_org_retention *r = &org->retention;
    int64_t now = sc_clock_now_ms();
    int budget = max_batches > 0 ? max_batches : -1, more = 0, rc;
    int batch = r->batch > 0 ? r->batch : 500;
    for (int i = 0; sc_retention_statuses[i]; i++) {
        if (r->exec_ms[i] <= 0)
            continue;
        struct sc_prune_rule rule = {SC_PRUNE_EXECUTIONS, sc_retention_statuses[i],
                                     now - r->exec_ms[i]};
        if ((rc = prune_rule(st, &rule, batch, dry_run, &budget, counts, err, errlen)) < 0)
            return -1;
        more |= rc;
    }
    const struct {
        enum sc_prune_table table;
        int64_t ms;
    } rest[] = {{SC_PRUNE_QUEUE_ITEMS, r->queue_items_ms}, {SC_PRUNE_SHADOW, r->shadow_ms}};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
        struct sc_prune_rule rule = {rest[i].table, NULL, now - rest[i].ms};
        if (rest[i].ms <= 0)
            continue;
        if ((rc = prune_rule(st, &rule, batch, dry_run, &budget, counts, err, errlen)) < 0)
            return -1;
        more |= rc;
    }
    int64_t max_rows = (int64_t)batch * (max_batches > 0 ? max_batches : 1000000);
    if ((rc = archive(st, org, dry_run, now, max_rows, counts, err, errlen)) < 0)
        return -1;
    return more | rc;
}
