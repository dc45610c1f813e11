/* Execution reads above the backends (store/sqlite_exec.c, store/pg_exec.c): a result row
 * of a backend read by column (struct sc_row), and the shaping of the rows of
 * sc_store_exec_get, _exec_list, _exec_resume_info and _journal as store.h answers them.
 * The shapes are the same for every backend; a backend runs the queries, walks their rows
 * and gives each row's cells through struct sc_row_ops. Ownership as store.h: every
 * json_t answered is new; NULL when memory ran out (or as said). */
#ifndef SC_STORE_EXEC_ROWS_H
#define SC_STORE_EXEC_ROWS_H

#include "store/backend.h"

struct sc_row;

struct sc_row_ops {
    bool (*null)(const struct sc_row *r, int col);
    int64_t (*num)(const struct sc_row *r, int col);      /* 0 where null */
    const char *(*text)(const struct sc_row *r, int col); /* "" where null */
    /* a JSON text column read back; NULL where null or unreadable */
    json_t *(*json)(const struct sc_row *r, int col);
    /* a stored value (JSON text, or sealed: opened with the store's key); NULL where null,
     * or with the error set */
    json_t *(*value)(const struct sc_row *r, int col);
    /* the trigger as an execution's record shows it (never opened: a confidential one is
     * redacted before) */
    json_t *(*trigger)(const struct sc_row *r, int col);
};

/* A row of a backend's result. */
struct sc_row {
    const struct sc_row_ops *ops;
    struct sc_store *st;
    const void *res;       /* the backend's result: a statement at its row, or a result set */
    int row;               /* the row of res, where res holds several */
    char *err;             /* the backend's message buffer */
    size_t errlen;
};

/* An execution's record from its row (columns of the backend's "execution get": id,
 * scenario, org, version, source, status, attempts, confidential, started_at, finished_at,
 * duration_ms, summary, trigger, queued_at, priority), its summary merged in; *broken: the
 * summary's "incomplete" (new reference, or NULL). */
json_t *sc_exec_record(const struct sc_row *r, json_t **broken);
/* A step of the record from its row (attempt, step, module, bundle, status, duration_ms,
 * output, error, bundles). */
json_t *sc_exec_step(const struct sc_row *r);
/* Adds the execution's incomplete entry inc (stolen; may be NULL) to the record v, the
 * bundles the last attempt stopped at (broken, borrowed; may be NULL) in it. */
void sc_exec_incomplete(json_t *v, json_t *inc, json_t *broken);
/* A listed execution from its row (id, scenario, version, status, attempts, started_at,
 * duration_ms). */
json_t *sc_exec_listed(const struct sc_row *r);
/* What an attempt needs, from columns scenario, version, source, status, attempts,
 * confidential, trigger at col[0..6]; NULL with the error set. */
json_t *sc_exec_run_info(const struct sc_row *r, const char *id, const int col[7]);
/* Adds a journal row (step, bundle, value) to j: 0, or -1 (j freed by the caller). */
int sc_exec_journal_row(json_t *j, const struct sc_row *r);

#endif
