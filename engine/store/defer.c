/* Deferred writes above the backends (store/defer.h): the recording, the reads through
 * it, and its apply; the backends give the last ids, the step writes and any locks. */
#include "store/defer.h"

#include "clock.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A recorded write: its kind and its arguments, owned. */
struct dop {
    enum sc_defer_kind kind;
    char *s[6];
    json_t *j[3];
    int64_t i[4];
    bool b;
    size_t end;  /* a step_begin: its step_end's op index, merged into it at the apply */
    bool skip;   /* a step_end or step_state its step_begin's row already holds */
};

static const enum sc_defer_kind row_kind[2] = {SC_DEFER_QI_PUSH, SC_DEFER_HOLD_PUT};

struct sc_defer {
    struct sc_store *st;
    struct sc_defer **home; /* the backend's pointer to this recording */
    char *err;
    size_t errlen;
    const struct sc_defer_ops *be;
    struct dop *ops;
    size_t nops, capops;
    struct sc_defer_read *reads;
    size_t nreads, capreads;
    int64_t *runs;         /* stand-in run id - RUN_BASE -> the op index of its step_begin */
    int64_t last_id[2];    /* the numbered tables' last ids; -1 until read */
    bool refused;
};

/* Stand-in run ids: above any real run id a store will reach. */
#define RUN_BASE ((int64_t)1 << 60)

static void df_err(struct sc_defer *df, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void df_err(struct sc_defer *df, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(df->err, df->errlen, fmt, ap);
    va_end(ap);
}

static void dop_free(struct dop *o)
{
    for (int i = 0; i < 6; i++)
        free(o->s[i]);
    for (int i = 0; i < 3; i++)
        json_decref(o->j[i]);
}

static void defer_clear(struct sc_defer *df)
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

struct sc_defer *sc_defer_new(struct sc_store *st, struct sc_defer **home, char *err,
                              size_t errlen, const struct sc_defer_ops *ops)
{
    struct sc_defer *df = sc_calloc(1, sizeof *df);
    if (!df)
        return NULL;
    *df = (struct sc_defer){.st = st, .home = home, .err = err, .errlen = errlen, .be = ops,
                            .last_id = {-1, -1}};
    return df;
}

void sc_defer_free(struct sc_defer *df)
{
    if (!df)
        return;
    defer_clear(df);
    free(df->ops);
    free(df->reads);
    free(df->runs);
    free(df);
}

size_t sc_defer_mark(struct sc_defer *df)
{
    if (!df)
        return 0;
    df->refused = false;
    return df->nops;
}

bool sc_defer_refused(const struct sc_defer *df)
{
    return df && df->refused;
}

void sc_defer_cut(struct sc_defer *df, size_t mark)
{
    while (df && df->nops > mark)
        dop_free(&df->ops[--df->nops]);
}

bool sc_defer_refuse(struct sc_defer *df, const char *what)
{
    if (!df)
        return false;
    df->refused = true;
    df_err(df, "%s cannot be deferred", what);
    return true;
}

/* A new op of kind, or NULL (out of memory, said). */
static struct dop *dop_add(struct sc_defer *df, enum sc_defer_kind kind)
{
    if (df->nops == df->capops) {
        size_t cap = df->capops ? df->capops * 2 : 64;
        struct dop *v = sc_realloc(df->ops, cap * sizeof *v);
        int64_t *r = sc_realloc(df->runs, cap * sizeof *r);
        if (r)
            df->runs = r;
        if (!v || !r) {
            if (v)
                df->ops = v;
            df_err(df, "out of memory");
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

static int64_t dop_fail(struct sc_defer *df)
{
    dop_free(&df->ops[--df->nops]);
    df_err(df, "out of memory");
    return -1;
}

int64_t sc_defer_step(struct sc_defer *df, int64_t run, const struct sc_step_row *r)
{
    struct dop *o = dop_add(df, run > 0 ? SC_DEFER_STEP_END : SC_DEFER_STEP_BEGIN);
    if (!o)
        return -1;
    const char *s[6] = {r->execution, r->step, r->module, r->bundle, r->status};
    if (!dop_strs(o, 5, s))
        return dop_fail(df);
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
        return dop_fail(df);
    size_t at = df->nops - 1;
    df->runs[at] = (int64_t)at;
    return run > 0 ? run : RUN_BASE + (int64_t)at;
}

int sc_defer_step_state(struct sc_defer *df, int64_t run, json_t *state, bool confidential)
{
    struct dop *o = dop_add(df, SC_DEFER_STEP_STATE);
    if (!o)
        return -1;
    o->i[0] = run;
    o->j[0] = json_incref(state);
    o->b = confidential;
    return 0;
}

int sc_defer_exec_end(struct sc_defer *df, const char *id, const char *status,
                      int64_t duration_ms, json_t *summary, bool states)
{
    struct dop *o = dop_add(df, SC_DEFER_EXEC_END);
    const char *s[2] = {id, status};
    if (!o)
        return -1;
    if (!dop_strs(o, 2, s))
        return (int)dop_fail(df);
    o->i[0] = duration_ms;
    o->j[0] = json_incref(summary);
    o->b = states;
    return 0;
}

bool sc_defer_take_end(struct sc_defer *df, const char *id, struct sc_defer_end *out)
{
    struct dop *end = NULL;
    for (size_t i = 0; i < df->nops; i++) {
        struct dop *o = &df->ops[i];
        if (o->kind != SC_DEFER_EXEC_END || o->skip || strcmp(o->s[0], id) != 0)
            continue;
        if (end || o->b)
            return false;
        end = o;
    }
    if (!end)
        return false;
    end->skip = true;
    *out = (struct sc_defer_end){.status = end->s[1], .duration_ms = end->i[0],
                                 .summary = end->j[0]};
    return true;
}

int sc_defer_incomplete(struct sc_defer *df, const struct sc_incomplete_row *r)
{
    struct dop *o = dop_add(df, SC_DEFER_INC_PUT);
    const char *s[5] = {r->execution, r->scenario, r->step, r->bundle, r->state};
    if (!o)
        return -1;
    if (!dop_strs(o, 5, s))
        return (int)dop_fail(df);
    o->j[0] = json_incref(r->error);
    o->i[0] = r->attempts;
    o->i[1] = r->max_attempts;
    o->i[2] = r->next_ms;
    return 0;
}

static bool is_ds(enum sc_defer_kind k)
{
    return k == SC_DEFER_DS_SET || k == SC_DEFER_DS_DEL || k == SC_DEFER_DS_CLAIM;
}

/* The recording's last write of store/key, or NULL. */
static const struct dop *overlay_op(const struct sc_defer *df, const char *store,
                                    const char *key)
{
    for (size_t i = df->nops; i-- > 0;) {
        const struct dop *o = &df->ops[i];
        if (is_ds(o->kind) && !strcmp(o->s[0], store) && !strcmp(o->s[1], key))
            return o;
    }
    return NULL;
}

/* The recording's own value for store/key: true when it wrote one (*v borrowed, NULL when
 * it deleted the key). */
static bool overlay(const struct sc_defer *df, const char *store, const char *key, json_t **v)
{
    const struct dop *o = overlay_op(df, store, key);
    *v = o ? o->j[0] : NULL;
    return o != NULL;
}

/* Records a read of the store (value stolen); -1 when memory ran out. */
static int read_add(struct sc_defer *df, const char *store, const char *key, int limit,
                    json_t *value)
{
    if (df->nreads == df->capreads) {
        size_t cap = df->capreads ? df->capreads * 2 : 32;
        struct sc_defer_read *v = sc_realloc(df->reads, cap * sizeof *v);
        if (!v) {
            json_decref(value);
            return -1;
        }
        df->reads = v;
        df->capreads = cap;
    }
    struct sc_defer_read *r = &df->reads[df->nreads];
    *r = (struct sc_defer_read){.store = store ? sc_strdup(store) : NULL,
                                .key = sc_strdup(key), .limit = limit, .seen = value};
    if ((store && !r->store) || !r->key) {
        free(r->store);
        free(r->key);
        json_decref(value);
        return -1;
    }
    df->nreads++;
    return 0;
}

json_t *sc_defer_ds_entry(struct sc_defer *df, const char *store, const char *key,
                          int64_t *expires_ms)
{
    const struct dop *o = overlay_op(df, store, key);
    df->err[0] = '\0';
    *expires_ms = -1;
    if (o) {
        if (o->j[0] && o->i[0] > 0)
            *expires_ms = sc_clock_now_ms() + o->i[0];
        return json_deep_copy(o->j[0]);
    }
    *df->home = NULL;
    json_t *v = sc_store_ds_entry(df->st, store, key, expires_ms);
    *df->home = df;
    if (!v && df->err[0])
        return NULL;
    if (read_add(df, store, key, 0, json_incref(v)) != 0) {
        json_decref(v);
        df_err(df, "out of memory");
        return NULL;
    }
    return v;
}

/* What the store itself holds for store/key, recorded to be checked at apply: 0 with *v
 * (a new reference or NULL), -1 error. */
static int base_get(struct sc_defer *df, const char *store, const char *key, json_t **v)
{
    *df->home = NULL;
    *v = sc_store_ds_get(df->st, store, key);
    *df->home = df;
    if (!*v && df->err[0])
        return -1;
    if (read_add(df, store, key, 0, json_incref(*v)) != 0) {
        json_decref(*v);
        df_err(df, "out of memory");
        return -1;
    }
    return 0;
}

json_t *sc_defer_ds_get(struct sc_defer *df, const char *store, const char *key)
{
    json_t *v;
    df->err[0] = '\0';
    if (overlay(df, store, key, &v))
        return json_deep_copy(v);
    return base_get(df, store, key, &v) == 0 ? v : NULL;
}

int sc_defer_ds_write(struct sc_defer *df, enum sc_defer_kind kind, const char *store,
                      const char *key, json_t *value, int64_t ttl_ms)
{
    json_t *was = NULL;
    int found = 1;
    if (kind != SC_DEFER_DS_SET) { /* delete and claim answer from what is there */
        json_t *v;
        if (overlay(df, store, key, &v))
            found = v != NULL;
        else if (base_get(df, store, key, &v) != 0)
            return -1;
        else
            found = v != NULL, json_decref(v);
        if (kind == SC_DEFER_DS_DEL && !found)
            return SC_STORE_NONE;
        if (kind == SC_DEFER_DS_CLAIM && found)
            return SC_STORE_EXISTS;
    }
    if (value && !(was = json_deep_copy(value))) /* read back later: a copy of now */
        return df_err(df, "out of memory"), -1;
    struct dop *o = dop_add(df, kind);
    const char *s[2] = {store, key};
    if (!o || !dop_strs(o, 2, s)) {
        json_decref(was);
        return o ? (int)dop_fail(df) : -1;
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

/* base's entries with the recording's writes under prefix pre over them, sorted by key,
 * the first lim; NULL when memory ran out. */
static json_t *search_merge(const struct sc_defer *df, json_t *base, const char *store,
                            const char *pre, int lim)
{
    size_t plen = strlen(pre);
    json_t *byk = json_object(), *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(base, i, e)
        json_object_set(byk, json_string_value(json_object_get(e, "key")), e);
    for (i = 0; i < df->nops; i++) {
        const struct dop *o = &df->ops[i];
        if (!is_ds(o->kind) || strcmp(o->s[0], store) || strncmp(o->s[1], pre, plen))
            continue;
        if (o->kind == SC_DEFER_DS_DEL)
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
    if (n && !v) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *sc_defer_ds_search(struct sc_defer *df, const char *store, const char *prefix,
                           int limit)
{
    const char *pre = prefix ? prefix : "";
    int lim = limit > 0 ? limit : 100, extra = 0;
    for (size_t i = 0; i < df->nops; i++) /* a deleted key must not shorten the page */
        extra += df->ops[i].kind == SC_DEFER_DS_DEL && !strcmp(df->ops[i].s[0], store);
    *df->home = NULL;
    json_t *base = sc_store_ds_search(df->st, store, pre, lim + extra);
    *df->home = df;
    if (!base || read_add(df, store, pre, lim + extra, json_incref(base)) != 0) {
        json_decref(base);
        return df_err(df, "out of memory"), NULL;
    }
    json_t *out = search_merge(df, base, store, pre, lim);
    json_decref(base);
    if (!out)
        df_err(df, "out of memory");
    return out;
}

int64_t sc_defer_row(struct sc_defer *df, int table, const char *const s[5], json_t *j)
{
    if (df->last_id[table] < 0) {
        int64_t last = df->be->last_id(df->st, table, false);
        if (last < 0 || read_add(df, NULL, "", table, json_integer(last)) != 0)
            return -1;
        df->last_id[table] = last;
    }
    int64_t id = df->last_id[table] + 1;
    for (size_t i = 0; i < df->nops; i++)
        id += df->ops[i].kind == row_kind[table];
    struct dop *o = dop_add(df, row_kind[table]);
    if (!o)
        return -1;
    if (!dop_strs(o, 5, s))
        return dop_fail(df);
    o->j[0] = json_deep_copy(j);
    o->i[0] = id;
    return id;
}

int64_t sc_defer_pushes(const struct sc_defer *df, const char *queue)
{
    int64_t n = 0;
    for (size_t i = 0; i < df->nops; i++)
        n += df->ops[i].kind == SC_DEFER_QI_PUSH && !strcmp(df->ops[i].s[0], queue);
    return n;
}

/* The real run id of a recorded one (stand-ins map to their step_begin's id). */
static int64_t real_run(const struct sc_defer *df, int64_t run)
{
    return run >= RUN_BASE ? df->runs[run - RUN_BASE] : run;
}

/* A step begun and ended in the same recording is written once, as it ended: its
 * step_begin op takes the step_end's index, and the step_end (and any step_state
 * between the two, which the end overwrites) are skipped. */
static void merge_steps(struct sc_defer *df)
{
    for (size_t i = 0; i < df->nops; i++) {
        struct dop *o = &df->ops[i];
        if (o->kind != SC_DEFER_STEP_END || o->i[0] < RUN_BASE)
            continue;
        size_t b = (size_t)(o->i[0] - RUN_BASE);
        df->ops[b].end = i;
        o->skip = true;
        for (size_t k = b + 1; k < i; k++)
            df->ops[k].skip |= df->ops[k].kind == SC_DEFER_STEP_STATE &&
                               df->ops[k].i[0] == o->i[0];
    }
}

static int dop_run(struct sc_defer *df, size_t at)
{
    struct sc_store *st = df->st;
    struct dop *o = &df->ops[at];
    if (o->skip)
        return 0;
    const struct dop *e = o->end ? &df->ops[o->end] : o; /* the values it ended with */
    struct sc_step_row r = {.execution = o->s[0], .step = o->s[1], .module = o->s[2],
                            .bundle = o->s[3], .status = e->s[4], .attempt = (int)o->i[1],
                            .started_ms = o->i[2], .duration_ms = e->i[3],
                            .bundles = e->s[5] ? strtoll(e->s[5], NULL, 10) : 0,
                            .output = e->j[0], .error = e->j[1], .state = e->j[2],
                            .confidential = e->b};
    int64_t id;
    switch (o->kind) {
    case SC_DEFER_STEP_BEGIN:
        if ((id = df->be->step_write(st, 0, &r)) < 0)
            return -1;
        df->runs[at] = id;
        return 0;
    case SC_DEFER_STEP_END:
        return df->be->step_write(st, real_run(df, o->i[0]), &r) < 0 ? -1 : 0;
    case SC_DEFER_STEP_STATE:
        return sc_store_step_state(st, real_run(df, o->i[0]), o->j[0], o->b);
    case SC_DEFER_EXEC_END:
        return sc_store_exec_end(st, o->s[0], o->s[1], o->i[0], o->j[0], o->b);
    case SC_DEFER_INC_PUT: {
        struct sc_incomplete_row ir = {.execution = o->s[0], .scenario = o->s[1], .step = o->s[2],
                                       .bundle = o->s[3], .state = o->s[4], .error = o->j[0],
                                       .attempts = (int)o->i[0], .max_attempts = (int)o->i[1],
                                       .next_ms = o->i[2]};
        return sc_store_incomplete_put(st, &ir);
    }
    case SC_DEFER_DS_SET:
        return sc_store_ds_set(st, o->s[0], o->s[1], o->j[0], o->i[0]);
    case SC_DEFER_DS_DEL:
        return sc_store_ds_delete(st, o->s[0], o->s[1]) < 0 ? -1 : 0;
    case SC_DEFER_QI_PUSH:
    case SC_DEFER_HOLD_PUT: { /* the id it was promised, as the last id was checked */
        int64_t got = o->kind == SC_DEFER_QI_PUSH
                          ? sc_store_queue_push(st, o->s[0], o->j[0], o->s[1])
                          : sc_store_hold_put(st, o->s[0], o->s[1], o->s[2], o->s[3], o->s[4],
                                              o->j[0]);
        return got < 0 ? -1 : got != o->i[0];
    }
    case SC_DEFER_DS_CLAIM: { /* the check above makes it free: taken, or another wrote it */
        int rc = sc_store_ds_claim(st, o->s[0], o->s[1], o->j[0], o->i[0]);
        return rc < 0 ? -1 : rc == SC_STORE_EXISTS ? 1 : 0;
    }
    default:
        return df_err(df, "a deferred write of an unknown kind"), -1;
    }
}

enum sc_store_rc sc_defer_apply(struct sc_defer *df)
{
    *df->home = NULL; /* the real calls from here */
    int rc = df->be->lock ? df->be->lock(df->st, df->reads, df->nreads) : 0;
    for (size_t i = 0; rc == 0 && i < df->nreads; i++) {
        struct sc_defer_read *r = &df->reads[i];
        int64_t last = r->store ? 0 : df->be->last_id(df->st, r->limit, true);
        json_t *now = !r->store ? (last < 0 ? NULL : json_integer(last))
                      : r->limit ? sc_store_ds_search(df->st, r->store, r->key, r->limit)
                                 : sc_store_ds_get(df->st, r->store, r->key);
        if (!r->store || r->limit ? !now : !now && df->err[0])
            rc = -1;
        else if (!(now == r->seen || (now && r->seen && json_equal(now, r->seen))))
            rc = 1;
        json_decref(now);
    }
    merge_steps(df);
    for (size_t i = 0; rc == 0 && i < df->nops; i++)
        rc = dop_run(df, i);
    if (rc == 1)
        df_err(df, "another connection changed a data store value this batch read");
    defer_clear(df);
    *df->home = df;
    return rc == 1 ? SC_STORE_CONFLICT : rc < 0 ? SC_STORE_ERR : SC_STORE_OK;
}
