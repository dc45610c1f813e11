/* Pruning above the backends (store/sqlite_prune.c, store/pg_retain.c): sc_store_prune's
 * plan, the same for every backend: finished executions of a status that ended before a
 * time with nothing open on them (their step runs, incomplete entries, holds and decisions
 * with them), closed queue items, shadowed writes; a batch in one transaction; a dry run
 * counts. A backend gives its statements (struct sc_prune_sql, parameters as its own SQL
 * numbers them) and runs them (struct sc_prune_ops). Errors: -1 with the message in the
 * backend's buffer. */
#ifndef SC_STORE_PRUNE_H
#define SC_STORE_PRUNE_H

#include "store/backend.h"

struct sc_prune_sql {
    const char *count_execs;   /* dry run: the executions (status, before) */
    const char *count_steps;   /* dry run: their step runs (status, before) */
    const char *ids[3];        /* a table of ids: made, emptied, filled (status, before, limit) */
    const char *deletes[5];    /* of the ids: step runs, incomplete, holds, decisions, executions */
    /* queue items by state, shadowed writes as 'all': [0] a dry run's (key, count) rows
     * (before), [1] the deletion of a batch returning each row's key (before, limit) */
    const char *items[2], *shadow[2];
};

struct sc_prune_ops {
    const struct sc_prune_sql *sql;
    /* Runs sql with parameters by fmt (s text, i int64): count, the single integer it
     * answers (0 when no row); else the rows it changed; or -1 (error "WHAT: ..."). */
    int64_t (*run)(struct sc_store *st, bool count, const char *what, const char *sql,
                   const char *fmt, ...);
    /* Runs sql (before; limit too unless dry_run) and adds each row's count (a dry run's
     * second column; else 1) to by[first column] and *total: 0, or -1. by may be NULL
     * (memory ran out): the rows are not read. */
    int (*tally)(struct sc_store *st, const char *sql, bool dry_run, int64_t before_ms,
                 int limit, json_t *by, int64_t *total);
    int (*begin)(struct sc_store *st);
    int (*commit)(struct sc_store *st);
    void (*rollback)(struct sc_store *st);
};

/* As sc_store_prune, on st through ops, messages in err. */
int64_t sc_prune_run(struct sc_store *st, const struct sc_prune_ops *ops, char *err,
                     size_t errlen, const struct sc_prune_rule *r, int limit, bool dry_run,
                     json_t *counts);
/* For tally: adds n rows of key to by and *total. */
void sc_prune_tally(json_t *by, int64_t *total, const char *key, int64_t n);

#endif
