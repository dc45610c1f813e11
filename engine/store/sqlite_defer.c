/* SQLite store: deferred writes (store/defer.h keeps the recording): what is SQLite's own,
 * the last ids of the numbered tables and the step writes, and the vtable's entries. */
#include "store/sqlite.h"


/* The last id of table (0 queue_items, 1 holds) in the store, -1 on error; the same
 * while recording and at apply (the write transaction is the whole database's). */
static int64_t last_row_id(struct sc_store *base, int table, bool apply)
{
    static const char *const row_sql[2] = {"SELECT coalesce(max(id), 0) FROM queue_items",
                                           "SELECT coalesce(max(id), 0) FROM holds"};
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s;
    (void)apply;
    if (sqlite3_prepare_v2(st->db, row_sql[table], -1, &s, NULL) != SQLITE_OK)
        return sq_db_err(st, "reading the last id");
    int64_t id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return id < 0 ? sq_db_err(st, "reading the last id") : id;
}

static int64_t step_write(struct sc_store *base, int64_t run, const struct sc_step_row *r)
{
    return sq_step_write((struct sq_store *)base, run, r);
}

static const struct sc_defer_ops sq_defer_ops = {.last_id = last_row_id,
                                                 .step_write = step_write};

void sq_defer(struct sc_store *base, bool on)
{
    struct sq_store *st = (struct sq_store *)base;
    sc_defer_free(st->defer);
    st->defer = NULL;
    if (on && !(st->defer = sc_defer_new(base, &st->defer, st->err, sizeof st->err,
                                         &sq_defer_ops)))
        sq_err(st, "out of memory");
}

size_t sq_defer_mark(struct sc_store *base)
{
    return sc_defer_mark(((struct sq_store *)base)->defer);
}

bool sq_defer_refused(const struct sc_store *base)
{
    return sc_defer_refused(((const struct sq_store *)base)->defer);
}

void sq_defer_cut(struct sc_store *base, size_t mark)
{
    sc_defer_cut(((struct sq_store *)base)->defer, mark);
}

enum sc_store_rc sq_defer_apply(struct sc_store *base)
{
    struct sq_store *st = (struct sq_store *)base;
    if (!st->defer)
        return sq_err(st, "nothing is deferred"), -1;
    return sc_defer_apply(st->defer);
}
