/* Pruning above the backends (store/prune.h): the plan; the backends give the SQL. */
#include "store/prune.h"

#include <stdio.h>

static void count_add(json_t *counts, const char *table, const char *key, int64_t n)
{
    if (n <= 0)
        return;
    json_t *t = json_object_get(counts, table);
    if (!t)
        json_object_set_new(counts, table, t = json_object());
    json_t *v = json_object_get(t, key);
    json_object_set_new(t, key, json_integer(json_integer_value(v) + n));
}

void sc_prune_tally(json_t *by, int64_t *total, const char *key, int64_t n)
{
    json_object_set_new(by, key, json_integer(json_integer_value(json_object_get(by, key)) + n));
    *total += n;
}

static int64_t prune_execs(struct sc_store *st, const struct sc_prune_ops *o,
                           const struct sc_prune_rule *r, int limit, bool dry_run,
                           json_t *counts)
{
    const struct sc_prune_sql *q = o->sql;
    if (dry_run) {
        int64_t n = o->run(st, true, "counting executions", q->count_execs, "si", r->status,
                           r->before_ms);
        int64_t steps = n > 0 ? o->run(st, true, "counting step runs", q->count_steps, "si",
                                       r->status, r->before_ms) : 0;
        if (n < 0 || steps < 0)
            return -1;
        count_add(counts, "executions", r->status, n);
        count_add(counts, "step_runs", r->status, steps);
        return n;
    }
    static const char *const what[5] = {"pruning step runs", "pruning incomplete rows",
                                        "pruning holds", "pruning decisions",
                                        "pruning executions"};
    if (o->begin(st) != 0)
        return -1;
    int64_t steps = -1, n = -1;
    bool ok = o->run(st, false, "pruning", q->ids[0], "") >= 0 &&
              o->run(st, false, "pruning", q->ids[1], "") >= 0 &&
              o->run(st, false, "pruning executions", q->ids[2], "sii", r->status, r->before_ms,
                     (int64_t)limit) >= 0 &&
              (steps = o->run(st, false, what[0], q->deletes[0], "")) >= 0;
    for (int i = 1; ok && i < 4; i++)
        ok = o->run(st, false, what[i], q->deletes[i], "") >= 0;
    if (ok)
        n = o->run(st, false, what[4], q->deletes[4], "");
    if (n < 0 || o->commit(st) != 0) {
        o->rollback(st);
        return -1;
    }
    count_add(counts, "executions", r->status, n);
    count_add(counts, "step_runs", r->status, steps);
    return n;
}

/* Queue items and shadowed writes: one statement; queue items counted by state. */
static int64_t prune_rows(struct sc_store *st, const struct sc_prune_ops *o, char *err,
                          size_t errlen, const struct sc_prune_rule *r, int limit,
                          bool dry_run, json_t *counts)
{
    bool items = r->table == SC_PRUNE_QUEUE_ITEMS;
    const char *sql = items ? o->sql->items[!dry_run] : o->sql->shadow[!dry_run];
    if (!dry_run && o->begin(st) != 0)
        return -1;
    int64_t total = 0;
    json_t *by = json_object();
    int rc = o->tally(st, sql, dry_run, r->before_ms, limit, by, &total);
    if (!by || rc != 0 || (!dry_run && o->commit(st) != 0)) {
        if (!dry_run)
            o->rollback(st);
        if (!by)
            snprintf(err, errlen, "out of memory");
        json_decref(by);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(by, k, v)
        count_add(counts, items ? "queue_items" : "shadow_writes", k, json_integer_value(v));
    json_decref(by);
    return total;
}

int64_t sc_prune_run(struct sc_store *st, const struct sc_prune_ops *ops, char *err,
                     size_t errlen, const struct sc_prune_rule *r, int limit, bool dry_run,
                     json_t *counts)
{
    if (limit < 1)
        return snprintf(err, errlen, "prune: a batch takes at least one row"), -1;
    if (r->table == SC_PRUNE_EXECUTIONS)
        return r->status ? prune_execs(st, ops, r, limit, dry_run, counts)
                         : (snprintf(err, errlen, "prune: executions need a status"), -1);
    return prune_rows(st, ops, err, errlen, r, limit, dry_run, counts);
}
