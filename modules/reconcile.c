/* reconcile: the diff of two full lists by key (HRIS employees against LMS learners), one
 * drift bundle per difference: only-left, only-right, changed (with the field diff),
 * duplicate. The work is run/recon.c's: one side indexed compactly, the other streamed
 * through a source (struct sc_recon_source), so either side can be an earlier step's
 * items or a paginated request read page by page. */
#include "module.h"
#include "lang/rules.h"
#include "run/bind.h"
#include "run/pages.h"
#include "run/recon.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct request {
    const char *connection, *path;
    const json_t *query, *headers;
};

static const struct sc_param request_params[] = {
    {.name = "connection", .type = SC_T_CONNECTION, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct request, connection), .doc = "The connection read from."},
    {.name = "path", .type = SC_T_STRING, .required = true, .flags = SC_P_URL_PATH,
     .offset = offsetof(struct request, path), .doc = "The list's path under the connection."},
    {.name = "query", .type = SC_T_MAP, .elem = SC_T_ANY, .offset = offsetof(struct request, query),
     .doc = "Query parameters of the first page."},
    {.name = "headers", .type = SC_T_MAP, .elem = SC_T_STRING,
     .offset = offsetof(struct request, headers), .doc = "Extra request headers."},
    {0},
};

struct side {
    const json_t *items, *request, *paginate;
    const char *key;
};

static const struct sc_param side_params[] = {
    {.name = "items", .type = SC_T_ANY, .offset = offsetof(struct side, items),
     .doc = "The records as an array, usually an earlier step's items "
            "(\"{{ steps.employees.body.items }}\"); or request and paginate."},
    {.name = "request", .type = SC_T_OBJECT, .fields = request_params,
     .offset = offsetof(struct side, request),
     .doc = "A GET of a list endpoint {connection, path, query?, headers?}, read page by page "
            "as paginate says (http.request's paginate): each page is streamed, never the "
            "whole list held."},
    {.name = "paginate", .type = SC_T_OBJECT, .fields = sc_pages_params, .flags = SC_P_STATIC,
     .offset = offsetof(struct side, paginate),
     .doc = "How request's pages follow each other (see the scenario format's Pagination); "
            "its max_items guard (default 100000) bounds the list: raise it for bigger ones."},
    {.name = "key", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct side, key),
     .doc = "Dotted path of each record's key (id, employee.id): a text or an integer, "
            "compared as text (1001 and \"1001\" are one key)."},
    {0},
};

static const char *const sides[] = {"left", "right", NULL};
static const char *const emits[] = {"drifts", "summary", NULL};

struct with {
    const json_t *left, *right, *fields;
    const char *index, *emit;
    json_int_t max_drifts;
};

static const struct sc_param params[] = {
    {.name = "left", .type = SC_T_OBJECT, .fields = side_params, .required = true,
     .offset = offsetof(struct with, left),
     .doc = "One list: {items, key}, or {request, paginate, key} read page by page."},
    {.name = "right", .type = SC_T_OBJECT, .fields = side_params, .required = true,
     .offset = offsetof(struct with, right),
     .doc = "The other list, as left."},
    {.name = "fields", .type = SC_T_LIST, .elem = SC_T_OBJECT, .fields = sc_rules_field_params,
     .def = "[]", .flags = SC_P_STATIC, .offset = offsetof(struct with, fields),
     .doc = "The fields compared (compare's rules); they are also what a drift shows of each "
            "record. None: only presence is reconciled."},
    {.name = "index", .type = SC_T_ENUM, .allowed = sides, .def = "\"left\"",
     .flags = SC_P_STATIC, .offset = offsetof(struct with, index),
     .doc = "The side held in memory (key and fields only); the other is streamed."},
    {.name = "emit", .type = SC_T_ENUM, .allowed = emits, .def = "\"drifts\"",
     .flags = SC_P_STATIC, .offset = offsetof(struct with, emit),
     .doc = "drifts: one bundle per drift, the steps after run once each (none when the lists "
            "agree); summary: one bundle {counts, drifts}."},
    {.name = "max_drifts", .type = SC_T_INT, .def = "10000", .flags = SC_P_STATIC,
     .offset = offsetof(struct with, max_drifts),
     .doc = "More drifts than this fail the step (a limit error with the counts): a wrong key "
            "or source must not flood a queue. 0: no bound."},
    {0},
};

/* The fields bound once. */
struct state {
    size_t n;
    struct sc_rules_field v[];
};

static int init(struct sc_step_ctx *ctx, const void *with, void **state, char *err,
                size_t errlen)
{
    const json_t *list = ((const struct with *)with)->fields;
    struct state *fs = calloc(1, sizeof *fs + (json_array_size(list) + 1) * sizeof fs->v[0]);
    if (!fs)
        return -1;
    size_t i;
    json_t *f;
    json_array_foreach((json_t *)list, i, f) {
        char at[32];
        snprintf(at, sizeof at, "fields/%zu", i);
        sc_step_at(ctx, at);
        if (sc_bind(sc_rules_field_params, f, &fs->v[fs->n++], sizeof fs->v[0], err, errlen) != 0) {
            free(fs);
            return -1;
        }
    }
    *state = fs;
    return 0;
}

static void check_side(struct sc_check *c, const char *name, const json_t *side)
{
    bool items = json_object_get(side, "items") != NULL;
    bool request = json_object_get(side, "request") != NULL;
    const json_t *pg = json_object_get(side, "paginate");
    char at[32];
    if (items == request)
        sc_check_error(c, name, "give either items (an earlier step's records) or request "
                       "with paginate (a list read page by page)");
    else if (request && !pg)
        sc_check_error(c, name, "request needs paginate: how the list's pages follow each other");
    else if (items && pg)
        sc_check_error(c, name, "paginate goes with request, not with items");
    snprintf(at, sizeof at, "%s/paginate", name);
    if (pg)
        sc_pages_check(c, at, pg);
    const char *key = json_string_value(json_object_get(side, "key"));
    snprintf(at, sizeof at, "%s/key", name);
    if (key && !*key)
        sc_check_error(c, at, "key is empty: give the dotted path of each record's key (id, "
                       "employee.id)");
}

static void check(struct sc_check *c, const json_t *with)
{
    check_side(c, "left", json_object_get(with, "left"));
    check_side(c, "right", json_object_get(with, "right"));
    sc_rules_check(c, "fields", json_object_get(with, "fields"));
    json_t *md = json_object_get(with, "max_drifts");
    if (json_is_integer(md) && json_integer_value(md) < 0)
        sc_check_error(c, "max_drifts", "max_drifts is 0 (no bound) or more, not %"
                       JSON_INTEGER_FORMAT, json_integer_value(md));
}

/* A side's records, one page at a time. */
struct paged {
    struct sc_recon_source src;
    struct sc_pages *p;
    json_t *page;
    size_t at;
};

static int paged_next(struct sc_recon_source *src, const json_t **rec, enum sc_status *status,
                      char *err, size_t errlen)
{
    struct paged *pg = (struct paged *)src;
    while (!pg->page || pg->at >= json_array_size(pg->page)) {
        json_decref(pg->page);
        pg->page = NULL;
        pg->at = 0;
        if ((*status = sc_pages_next(pg->p, &pg->page, err, errlen)) != SC_OK)
            return -1;
        if (!pg->page)
            return 0;
    }
    *rec = json_array_get(pg->page, pg->at++);
    return 1;
}

/* One side's source: its items, or its pages. */
struct source {
    struct side sd;
    struct sc_recon_items items;
    struct paged paged;
};

static enum sc_status open_side(struct sc_step_ctx *ctx, const json_t *obj, const char *name,
                                struct source *so, char *err, size_t errlen)
{
    struct side *sd = &so->sd;
    if (sc_bind(side_params, obj, sd, sizeof *sd, err, errlen) != 0)
        return SC_ERR_CONFIG;
    if (sd->request) {
        struct request rq;
        if (sc_bind(request_params, sd->request, &rq, sizeof rq, err, errlen) != 0)
            return SC_ERR_CONFIG;
        if (!rq.path) {
            snprintf(err, errlen, "%s.request.path must render to text", name);
            return SC_ERR_DATA;
        }
        struct sc_call c = {.connection = rq.connection, .method = "GET", .path = rq.path,
                            .query = (json_t *)rq.query, .headers = (json_t *)rq.headers,
                            .parse = "json"};
        if (!(so->paged.p = sc_pages_open(ctx, &c, sd->paginate, err, errlen)))
            return SC_ERR_CONFIG;
        so->paged.src.next = paged_next;
        return SC_OK;
    }
    if (!json_is_array(sd->items)) {
        snprintf(err, errlen, "%s.items rendered to %s, not an array", name,
                 !sd->items || json_is_null(sd->items) ? "null"
                 : json_is_object(sd->items) ? "an object"
                 : json_is_string(sd->items) ? "a string" : "a scalar");
        return SC_ERR_DATA;
    }
    sc_recon_items_init(&so->items, sd->items);
    return SC_OK;
}

static struct sc_recon_source *source_of(struct source *so)
{
    return so->paged.p ? &so->paged.src : &so->items.src;
}

static void source_close(struct source *so)
{
    json_decref(so->paged.page);
    sc_pages_close(so->paged.p);
}

static enum sc_status emit_all(struct sc_step_ctx *ctx, const struct with *w, json_t *drifts,
                               json_t *counts)
{
    if (!strcmp(w->emit, "summary")) {
        json_t *out = json_pack("{s:O, s:O}", "counts", counts, "drifts", drifts);
        return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_LIMIT;
    }
    size_t i;
    json_t *d;
    json_array_foreach(drifts, i, d) {
        json_object_set(d, "counts", counts);
        if (sc_step_emit(ctx, json_incref(d)) != 0)
            return SC_OK; /* the engine reports the max_bundles limit */
    }
    return SC_OK;
}

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)input;
    const struct with *w = with_v;
    const struct state *fs = state;
    struct source l = {0}, r = {0};
    enum sc_status st = open_side(ctx, w->left, "left", &l, err, errlen);
    if (st == SC_OK)
        st = open_side(ctx, w->right, "right", &r, err, errlen);
    struct sc_recon_spec spec = {.fields = fs->v, .nfields = fs->n, .left_key = l.sd.key,
                                 .right_key = r.sd.key, .index_right = !strcmp(w->index, "right"),
                                 .confidential = sc_step_confidential(ctx),
                                 .max_drifts = w->max_drifts > 0 ? (size_t)w->max_drifts : 0};
    json_t *drifts = NULL;
    struct sc_recon_counts c;
    if (st == SC_OK)
        st = sc_recon_run(&spec, source_of(&l), source_of(&r), &drifts, &c, err, errlen);
    source_close(&l);
    source_close(&r);
    if (st != SC_OK)
        return st;
    json_t *counts = sc_recon_counts_json(&c);
    st = counts ? emit_all(ctx, w, drifts, counts) : SC_ERR_LIMIT;
    if (st != SC_OK)
        snprintf(err, errlen, "reconcile: out of memory");
    json_decref(counts);
    json_decref(drifts);
    return st;
}

const struct sc_module_def sc_mod_reconcile = {
    .name = "reconcile",
    .summary = "Diff two full lists by key and field rules: one bundle per drift (only-left, "
               "only-right, changed, duplicate).",
    .params = params,
    .access = SC_ACCESS_READ,
    .flags = SC_M_FAN_OUT,
    .check = check,
    .with_size = sizeof(struct with),
    .init = init,
    .run = run,
    .fini = free,
    .output = "{kind, key, left?, right?, diff?, side?, count?, counts: {left, right, same, "
              "changed, only_left, only_right, duplicate}}",
};
