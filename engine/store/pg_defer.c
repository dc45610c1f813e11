/* PostgreSQL store: deferred writes (store/defer.h keeps the recording): what is
 * PostgreSQL's own, the last ids of the numbered tables, the step writes and the advisory
 * locks taken before the check, so two daemons applying at once stay apart. */
#include "store/pg.h"

#include "util.h"

#include <stdlib.h>

/* The last id of table (0 queue_items, 1 holds), -1 on error: while recording a plain
 * read; at apply under the table's lock, so no other daemon adds a row till the commit. */
static int64_t last_row_id(struct sc_store *base, int table, bool apply)
{
    static const char *const row_sql[2] = {"SELECT coalesce(max(id), 0) FROM queue_items",
                                           "SELECT coalesce(max(id), 0) FROM holds"};
    struct pg_store *st = (struct pg_store *)base;
    if (apply) {
        int64_t next = pg_next_row_id(st, table);
        return next < 0 ? -1 : next - 1;
    }
    PGresult *s = PQexec(st->db, row_sql[table]);
    int64_t id = PQresultStatus(s) == PGRES_TUPLES_OK && PQntuples(s) == 1
                     ? strtoll(PQgetvalue(s, 0, 0), NULL, 10) : -1;
    if (id < 0)
        pg_err(st, "store %s: reading the last id: %s", st->addr, PQresultErrorMessage(s));
    PQclear(s);
    return id;
}

static int64_t step_write(struct sc_store *base, int64_t run, const struct sc_step_row *r)
{
    return pg_step_write((struct pg_store *)base, run, r);
}

/* A data store key's advisory lock key (FNV-1a of store and key). */
static int64_t ds_lock_key(const char *store, const char *key)
{
    uint64_t h = 14695981039346656037u;
    for (const char *p = store; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    h = (h ^ 0x1f) * 1099511628211u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    return (int64_t)(h >> 1);
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Locks every data store key (or search prefix) the recording read, and the numbered
 * tables it adds to, in one order so two daemons applying at once cannot deadlock; the
 * checks after see the last commit. */
static int lock_reads(struct sc_store *base, const struct sc_defer_read *reads, size_t nreads)
{
    struct pg_store *st = (struct pg_store *)base;
    if (!nreads)
        return 0;
    int64_t *keys = sc_calloc(nreads, sizeof *keys);
    size_t n = 0;
    if (!keys)
        return pg_err(st, "out of memory"), -1;
    for (size_t i = 0; i < nreads; i++)
        if (reads[i].store)
            keys[n++] = ds_lock_key(reads[i].store, reads[i].key);
    qsort(keys, n, sizeof *keys, by_value);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (i == 0 || keys[i] != keys[i - 1])
            rc = pg_lock(st, keys[i]);
    free(keys);
    /* then the numbered tables it will add to, always queue items before holds */
    for (int table = 0; rc == 0 && table < 2; table++)
        for (size_t i = 0; rc == 0 && i < nreads; i++)
            if (!reads[i].store && reads[i].limit == table) {
                rc = pg_lock(st, table ? PG_LOCK_HOLDS : PG_LOCK_QUEUE_ITEMS);
                break;
            }
    return rc;
}

static const struct sc_defer_ops pg_defer_ops = {.last_id = last_row_id,
                                                 .step_write = step_write,
                                                 .lock = lock_reads};

void pg_defer(struct sc_store *base, bool on)
{
    struct pg_store *st = (struct pg_store *)base;
    sc_defer_free(st->defer);
    st->defer = NULL;
    if (on && !(st->defer = sc_defer_new(base, &st->defer, st->err, sizeof st->err,
                                         &pg_defer_ops)))
        pg_err(st, "out of memory");
}

size_t pg_defer_mark(struct sc_store *base)
{
    return sc_defer_mark(((struct pg_store *)base)->defer);
}

bool pg_defer_refused(const struct sc_store *base)
{
    return sc_defer_refused(((const struct pg_store *)base)->defer);
}

void pg_defer_cut(struct sc_store *base, size_t mark)
{
    sc_defer_cut(((struct pg_store *)base)->defer, mark);
}

enum sc_store_rc pg_defer_apply(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    if (!st->defer)
        return pg_err(st, "nothing is deferred"), -1;
    return sc_defer_apply(st->defer);
}
