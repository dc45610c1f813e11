/* PostgreSQL store: deferred writes, as the SQLite backend's (store/sqlite_defer.c): an
 * execution computed outside any write transaction records its writes, reads through them,
 * and applies them later in one transaction, after checking what it read is unchanged. */
#include "store/pg.h"

#include "clock.h"
#include "crypto.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- deferred writes ---- */

/* A recorded write: its kind (the query it runs) and its arguments, owned. */
struct dop {
    enum pq kind;           /* P_STEP_BEGIN, P_STEP_END, P_STEP_STATE, P_EXEC_END, P_INC_PUT,
                              P_DS_SET, P_DS_DEL, P_DS_CLAIM */
    char *s[6];
    json_t *j[3];
    int64_t i[4];
    bool b;
};

/* A data store read from the store itself: checked again before the writes. */
struct dread {
    char *store, *key;     /* key: the prefix of a search; store NULL: a table's last id */
    int limit;             /* a search's; 0 for a get; the table (row_tables) for an id */
    json_t *seen;          /* NULL: absent */
};

/* Tables whose new rows' ids a recorded write answers: read their last id once, hand
 * out the next ones, and check at apply that nobody else added a row meanwhile. */
static const char *const row_sql[2] = {"SELECT coalesce(max(id), 0) FROM queue_items",
                                       "SELECT coalesce(max(id), 0) FROM holds"};
static const enum pq row_kind[2] = {P_QI_PUSH, P_HOLD_PUT};

struct pg_defer {
    struct dop *ops;
    size_t nops, capops;
    struct dread *reads;
    size_t nreads, capreads;
    int64_t *runs;         /* stand-in run id - RUN_BASE -> the op index of its step_begin */
    int64_t last_id[2];    /* row_sql's answers; -1 until read */
    bool refused;
};

static int pg_read_add(struct pg_store *st, const char *store, const char *key, int limit,
                       json_t *value);

/* Stand-in run ids: above any real step run id (bigserial) this store will reach. */
#define RUN_BASE ((int64_t)1 << 60)

static void dop_free(struct dop *o)
{
    for (int i = 0; i < 6; i++)
        free(o->s[i]);
    for (int i = 0; i < 3; i++)
        json_decref(o->j[i]);
}

static void defer_clear(struct pg_defer *df)
{
    for (size_t i = 0; i < df->nops; i++)
        dop_free(&df->ops[i]);
    for (size_t i = 0; i < df->nreads; i++) {
        free(df->reads[i].store);
        free(df->reads[i].key);
        json_decref(df->reads[i].seen);
    }
    df->nops = df->nreads = 0;
    df->refused = false;
    df->last_id[0] = df->last_id[1] = -1;
}

void pg_defer(struct sc_store *base, bool on)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer) {
        defer_clear(st->defer);
        free(st->defer->ops);
        free(st->defer->reads);
        free(st->defer->runs);
        free(st->defer);
        st->defer = NULL;
    }
    if (on && !(st->defer = sc_calloc(1, sizeof *st->defer)))
        pg_err(st, "out of memory");
    if (st->defer)
        st->defer->last_id[0] = st->defer->last_id[1] = -1;
}

size_t pg_defer_mark(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    if (!st->defer)
        return 0;
    st->defer->refused = false;
    return st->defer->nops;
}

bool pg_defer_refused(const struct sc_store *base)
{
    const struct pg_store *st = (const struct pg_store *)base;
    return st->defer && st->defer->refused;
}

void pg_defer_cut(struct sc_store *base, size_t mark)
{
    struct pg_store *st = (struct pg_store *)base;
    struct pg_defer *df = st->defer;
    while (df && df->nops > mark)
        dop_free(&df->ops[--df->nops]);
}

bool pg_defer_refuse(struct pg_store *st, const char *what)
{
    if (!st->defer)
        return false;
    st->defer->refused = true;
    pg_err(st, "%s cannot be deferred", what);
    return true;
}

/* A new op of kind, or NULL (out of memory, said). */
static struct dop *dop_add(struct pg_store *st, enum pq kind)
{
    struct pg_defer *df = st->defer;
    if (df->nops == df->capops) {
        size_t cap = df->capops ? df->capops * 2 : 64;
        struct dop *v = sc_realloc(df->ops, cap * sizeof *v);
        int64_t *r = sc_realloc(df->runs, cap * sizeof *r);
        if (r)
            df->runs = r;
        if (!v || !r) {
            if (v)
                df->ops = v;
            pg_err(st, "out of memory");
            return NULL;
        }
        df->ops = v;
        df->capops = cap;
    }
    struct dop *o = &df->ops[df->nops++];
    *o = (struct dop){.kind = kind};
    return o;
}

/* Copies the strings (NULL stays NULL); false when memory ran out. */
static bool dop_strs(struct dop *o, int n, const char *const *v)
{
    for (int i = 0; i < n; i++)
        if (v[i] && !(o->s[i] = sc_strdup(v[i])))
            return false;
    return true;
}

static int64_t dop_fail(struct pg_store *st)
{
    dop_free(&st->defer->ops[--st->defer->nops]);
    pg_err(st, "out of memory");
    return -1;
}

int64_t pg_defer_step(struct pg_store *st, int64_t run, const struct sc_step_row *r)
{
    struct dop *o = dop_add(st, run > 0 ? P_STEP_END : P_STEP_BEGIN);
    if (!o)
        return -1;
    const char *s[6] = {r->execution, r->step, r->module, r->bundle, r->status};
    if (!dop_strs(o, 5, s))
        return dop_fail(st);
    o->j[0] = json_incref(r->output);
    o->j[1] = json_incref(r->error);
    o->j[2] = json_incref(r->state);
    o->i[0] = run;
    o->i[1] = r->attempt;
    o->i[2] = r->started_ms;
    o->i[3] = r->duration_ms;
    o->b = r->confidential;
    o->s[5] = sc_asprintf("%" JSON_INTEGER_FORMAT, r->bundles);
    if (!o->s[5])
        return dop_fail(st);
    size_t at = st->defer->nops - 1;
    st->defer->runs[at] = (int64_t)at;
    return run > 0 ? run : RUN_BASE + (int64_t)at;
}

int pg_defer_step_state(struct pg_store *st, int64_t run, json_t *state, bool confidential)
{
    struct dop *o = dop_add(st, P_STEP_STATE);
    if (!o)
        return -1;
    o->i[0] = run;
    o->j[0] = json_incref(state);
    o->b = confidential;
    return 0;
}

int pg_defer_exec_end(struct pg_store *st, const char *id, const char *status,
                      int64_t duration_ms, json_t *summary, bool states)
{
    struct dop *o = dop_add(st, P_EXEC_END);
    const char *s[2] = {id, status};
    if (!o)
        return -1;
    if (!dop_strs(o, 2, s))
        return (int)dop_fail(st);
    o->i[0] = duration_ms;
    o->j[0] = json_incref(summary);
    o->b = states;
    return 0;
}

int pg_defer_incomplete(struct pg_store *st, const struct sc_incomplete_row *r)
{
    struct dop *o = dop_add(st, P_INC_PUT);
    const char *s[5] = {r->execution, r->scenario, r->step, r->bundle, r->state};
    if (!o)
        return -1;
    if (!dop_strs(o, 5, s))
        return (int)dop_fail(st);
    o->j[0] = json_incref(r->error);
    o->i[0] = r->attempts;
    o->i[1] = r->max_attempts;
    o->i[2] = r->next_ms;
    return 0;
}

/* The recording's last write of store/key, or NULL. */
static const struct dop *overlay_op(const struct pg_defer *df, const char *store, const char *key)
{
    for (size_t i = df->nops; i-- > 0;) {
        const struct dop *o = &df->ops[i];
        if ((o->kind == P_DS_SET || o->kind == P_DS_DEL || o->kind == P_DS_CLAIM) &&
            !strcmp(o->s[0], store) && !strcmp(o->s[1], key))
            return o;
    }
    return NULL;
}

/* The recording's own value for store/key: true when it wrote one (*v borrowed, NULL when
 * it deleted the key). */
static bool overlay(const struct pg_defer *df, const char *store, const char *key, json_t **v)
{
    const struct dop *o = overlay_op(df, store, key);
    *v = o ? o->j[0] : NULL;
    return o != NULL;
}

/* As sc_store_ds_entry, through the recording: a value it wrote expires its ttl from now. */
json_t *pg_defer_ds_entry(struct pg_store *st, const char *store, const char *key,
                          int64_t *expires_ms)
{
    struct pg_defer *df = st->defer;
    const struct dop *o = overlay_op(df, store, key);
    st->err[0] = '\0';
    *expires_ms = -1;
    if (o) {
        if (o->j[0] && o->i[0] > 0)
            *expires_ms = sc_clock_now_ms() + o->i[0];
        return json_deep_copy(o->j[0]);
    }
    st->defer = NULL;
    json_t *v = sc_store_ds_entry(&st->base, store, key, expires_ms);
    st->defer = df;
    if (!v && st->err[0])
        return NULL;
    if (pg_read_add(st, store, key, 0, json_incref(v)) != 0) {
        json_decref(v);
        pg_err(st, "out of memory");
        return NULL;
    }
    return v;
}

/* Records a read of the store (value stolen); -1 when memory ran out. */
static int pg_read_add(struct pg_store *st, const char *store, const char *key, int limit,
                json_t *value)
{
    struct pg_defer *df = st->defer;
    if (df->nreads == df->capreads) {
        size_t cap = df->capreads ? df->capreads * 2 : 32;
        struct dread *v = sc_realloc(df->reads, cap * sizeof *v);
        if (!v) {
            json_decref(value);
            return -1;
        }
        df->reads = v;
        df->capreads = cap;
    }
    struct dread *r = &df->reads[df->nreads];
    *r = (struct dread){.store = store ? sc_strdup(store) : NULL, .key = sc_strdup(key),
                        .limit = limit, .seen = value};
    if ((store && !r->store) || !r->key) {
        free(r->store);
        free(r->key);
        json_decref(value);
        return -1;
    }
    df->nreads++;
    return 0;
}

/* What the store itself holds for store/key, recorded to be checked at apply: 0 with *v
 * (a new reference or NULL), -1 error. */
static int base_get(struct pg_store *st, const char *store, const char *key, json_t **v)
{
    struct pg_defer *df = st->defer;
    st->defer = NULL;
    *v = sc_store_ds_get(&st->base, store, key);
    st->defer = df;
    if (!*v && st->err[0])
        return -1;
    if (pg_read_add(st, store, key, 0, json_incref(*v)) != 0) {
        json_decref(*v);
        pg_err(st, "out of memory");
        return -1;
    }
    return 0;
}

json_t *pg_defer_ds_get(struct pg_store *st, const char *store, const char *key)
{
    json_t *v;
    st->err[0] = '\0';
    if (overlay(st->defer, store, key, &v))
        return json_deep_copy(v);
    return base_get(st, store, key, &v) == 0 ? v : NULL;
}

int pg_defer_ds_write(struct pg_store *st, int kind, const char *store, const char *key,
                      json_t *value, int64_t ttl_ms)
{
    json_t *was = NULL;
    int found = 1;
    if (kind != P_DS_SET) { /* delete and claim answer from what is there */
        json_t *v;
        if (overlay(st->defer, store, key, &v))
            found = v != NULL;
        else if (base_get(st, store, key, &v) != 0)
            return -1;
        else
            found = v != NULL, json_decref(v);
        if (kind == P_DS_DEL && !found)
            return SC_STORE_NONE;
        if (kind == P_DS_CLAIM && found)
            return SC_STORE_EXISTS;
    }
    if (value && !(was = json_deep_copy(value))) /* read back later: a copy of now */
        return pg_err(st, "out of memory"), -1;
    struct dop *o = dop_add(st, kind);
    const char *s[2] = {store, key};
    if (!o || !dop_strs(o, 2, s)) {
        json_decref(was);
        return o ? (int)dop_fail(st) : -1;
    }
    o->j[0] = was;
    o->i[0] = ttl_ms;
    return SC_STORE_OK;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "key")),
                  json_string_value(json_object_get(*(json_t *const *)b, "key")));
}

json_t *pg_defer_ds_search(struct pg_store *st, const char *store, const char *prefix,
                           int limit)
{
    struct pg_defer *df = st->defer;
    const char *pre = prefix ? prefix : "";
    size_t plen = strlen(pre);
    int lim = limit > 0 ? limit : 100, extra = 0;
    for (size_t i = 0; i < df->nops; i++) /* a deleted key must not shorten the page */
        extra += df->ops[i].kind == P_DS_DEL && !strcmp(df->ops[i].s[0], store);
    st->defer = NULL;
    json_t *base = sc_store_ds_search(&st->base, store, pre, lim + extra);
    st->defer = df;
    if (!base || pg_read_add(st, store, pre, lim + extra, json_incref(base)) != 0) {
        json_decref(base);
        return pg_err(st, "out of memory"), NULL;
    }
    json_t *byk = json_object(), *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(base, i, e)
        json_object_set(byk, json_string_value(json_object_get(e, "key")), e);
    for (i = 0; i < df->nops; i++) {
        const struct dop *o = &df->ops[i];
        if ((o->kind != P_DS_SET && o->kind != P_DS_DEL && o->kind != P_DS_CLAIM) ||
            strcmp(o->s[0], store) || strncmp(o->s[1], pre, plen))
            continue;
        if (o->kind == P_DS_DEL)
            json_object_del(byk, o->s[1]);
        else
            json_object_set_new(byk, o->s[1], json_pack("{s:s, s:O}", "key", o->s[1], "value",
                                                         o->j[0]));
    }
    const char *k;
    json_object_foreach(byk, k, e)
        json_array_append(out, e);
    size_t n = json_array_size(out);
    json_t **v = n ? sc_calloc(n, sizeof *v) : NULL;
    for (i = 0; v && i < n; i++)
        v[i] = json_incref(json_array_get(out, i));
    if (v)
        qsort(v, n, sizeof *v, by_key);
    json_array_clear(out);
    for (i = 0; v && i < n; i++) {
        if (i < (size_t)lim)
            json_array_append_new(out, json_deep_copy(v[i]));
        json_decref(v[i]);
    }
    free(v);
    json_decref(byk);
    json_decref(base);
    if (n && !v) {
        json_decref(out);
        return pg_err(st, "out of memory"), NULL;
    }
    return out;
}

/* The last id of row_sql[table] in the store, -1 on error. */
static int64_t last_row_id(struct pg_store *st, int table)
{
    PGresult *s = PQexec(st->db, row_sql[table]);
    int64_t id = PQresultStatus(s) == PGRES_TUPLES_OK && PQntuples(s) == 1
                     ? strtoll(PQgetvalue(s, 0, 0), NULL, 10) : -1;
    if (id < 0)
        pg_err(st, "store %s: reading the last id: %s", st->addr, PQresultErrorMessage(s));
    PQclear(s);
    return id;
}

/* A queue item (table 0: s = queue, execution; j = item) or a hold (1: s = execution,
 * scenario, step, bundle, reason; j = diff) recorded with the id it will get. */
int64_t pg_defer_row(struct pg_store *st, int table, const char *const s[5], json_t *j)
{
    struct pg_defer *df = st->defer;
    if (df->last_id[table] < 0) {
        int64_t last = last_row_id(st, table);
        if (last < 0 || pg_read_add(st, NULL, "", table, json_integer(last)) != 0)
            return -1;
        df->last_id[table] = last;
    }
    int64_t id = df->last_id[table] + 1;
    for (size_t i = 0; i < df->nops; i++)
        id += df->ops[i].kind == row_kind[table];
    struct dop *o = dop_add(st, row_kind[table]);
    if (!o)
        return -1;
    if (!dop_strs(o, 5, s))
        return dop_fail(st);
    o->j[0] = json_deep_copy(j);
    o->i[0] = id;
    return id;
}

/* The real run id of a recorded one (stand-ins map to their step_begin's id). */
static int64_t real_run(const struct pg_defer *df, int64_t run)
{
    return run >= RUN_BASE ? df->runs[run - RUN_BASE] : run;
}

static int dop_run(struct pg_store *st, struct pg_defer *df, size_t at)
{
    struct dop *o = &df->ops[at];
    struct sc_step_row r = {.execution = o->s[0], .step = o->s[1], .module = o->s[2],
                            .bundle = o->s[3], .status = o->s[4], .attempt = (int)o->i[1],
                            .started_ms = o->i[2], .duration_ms = o->i[3],
                            .bundles = o->s[5] ? strtoll(o->s[5], NULL, 10) : 0,
                            .output = o->j[0], .error = o->j[1], .state = o->j[2],
                            .confidential = o->b};
    int64_t id;
    switch (o->kind) {
    case P_STEP_BEGIN:
        if ((id = pg_step_write(st, 0, &r)) < 0)
            return -1;
        df->runs[at] = id;
        return 0;
    case P_STEP_END:
        return pg_step_write(st, real_run(df, o->i[0]), &r) < 0 ? -1 : 0;
    case P_STEP_STATE:
        return sc_store_step_state(&st->base, real_run(df, o->i[0]), o->j[0], o->b);
    case P_EXEC_END:
        return sc_store_exec_end(&st->base, o->s[0], o->s[1], o->i[0], o->j[0], o->b);
    case P_INC_PUT: {
        struct sc_incomplete_row ir = {.execution = o->s[0], .scenario = o->s[1], .step = o->s[2],
                                       .bundle = o->s[3], .state = o->s[4], .error = o->j[0],
                                       .attempts = (int)o->i[0], .max_attempts = (int)o->i[1],
                                       .next_ms = o->i[2]};
        return sc_store_incomplete_put(&st->base, &ir);
    }
    case P_DS_SET:
        return sc_store_ds_set(&st->base, o->s[0], o->s[1], o->j[0], o->i[0]);
    case P_DS_DEL:
        return sc_store_ds_delete(&st->base, o->s[0], o->s[1]) < 0 ? -1 : 0;
    case P_QI_PUSH:
    case P_HOLD_PUT: { /* the id it was promised, as the last id was checked */
        int64_t got = o->kind == P_QI_PUSH
                          ? sc_store_queue_push(&st->base, o->s[0], o->j[0], o->s[1])
                          : sc_store_hold_put(&st->base, o->s[0], o->s[1], o->s[2], o->s[3], o->s[4],
                                              o->j[0]);
        return got < 0 ? -1 : got != o->i[0];
    }
    case P_DS_CLAIM: { /* the check above makes it free: taken, or another wrote it */
        int rc = sc_store_ds_claim(&st->base, o->s[0], o->s[1], o->j[0], o->i[0]);
        return rc < 0 ? -1 : rc == SC_STORE_EXISTS ? 1 : 0;
    }
    default:
        return pg_err(st, "a deferred write of an unknown kind"), -1;
    }
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
static int lock_reads(struct pg_store *st, struct pg_defer *df)
{
    if (!df->nreads)
        return 0;
    int64_t *keys = sc_calloc(df->nreads, sizeof *keys);
    size_t n = 0;
    if (!keys)
        return pg_err(st, "out of memory"), -1;
    for (size_t i = 0; i < df->nreads; i++)
        if (df->reads[i].store)
            keys[n++] = ds_lock_key(df->reads[i].store, df->reads[i].key);
    qsort(keys, n, sizeof *keys, by_value);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (i == 0 || keys[i] != keys[i - 1])
            rc = pg_lock(st, keys[i]);
    free(keys);
    /* then the numbered tables it will add to, always queue items before holds */
    for (int table = 0; rc == 0 && table < 2; table++)
        for (size_t i = 0; rc == 0 && i < df->nreads; i++)
            if (!df->reads[i].store && df->reads[i].limit == table) {
                rc = pg_lock(st, table ? PG_LOCK_HOLDS : PG_LOCK_QUEUE_ITEMS);
                break;
            }
    return rc;
}

enum sc_store_rc pg_defer_apply(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    struct pg_defer *df = st->defer;
    if (!df)
        return pg_err(st, "nothing is deferred"), -1;
    st->defer = NULL; /* the real calls from here */
    int rc = lock_reads(st, df);
    for (size_t i = 0; rc == 0 && i < df->nreads; i++) {
        struct dread *r = &df->reads[i];
        /* a table's last id under its lock: no other daemon adds a row till the commit */
        int64_t last = r->store ? 0 : pg_next_row_id(st, r->limit) - 1;
        json_t *now = !r->store ? (last < 0 ? NULL : json_integer(last))
                      : r->limit ? sc_store_ds_search(&st->base, r->store, r->key, r->limit)
                                 : sc_store_ds_get(&st->base, r->store, r->key);
        if (!r->store || r->limit ? !now : !now && st->err[0])
            rc = -1;
        else if (!(now == r->seen || (now && r->seen && json_equal(now, r->seen))))
            rc = 1;
        json_decref(now);
    }
    for (size_t i = 0; rc == 0 && i < df->nops; i++)
        rc = dop_run(st, df, i);
    if (rc == 1)
        pg_err(st, "another connection changed a data store value this batch read");
    defer_clear(df);
    st->defer = df;
    return rc == 1 ? SC_STORE_CONFLICT : rc < 0 ? SC_STORE_ERR : SC_STORE_OK;
}

int64_t pg_defer_pushes(const struct pg_store *st, const char *queue)
{
    int64_t n = 0;
    for (size_t i = 0; i < st->defer->nops; i++)
        n += st->defer->ops[i].kind == P_QI_PUSH && !strcmp(st->defer->ops[i].s[0], queue);
    return n;
}
