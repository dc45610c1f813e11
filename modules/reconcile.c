/* reconcile: the diff of two full lists by key (HRIS employees against LMS learners), one
 * drift bundle per difference: only-left, only-right, changed (with the field diff),
 * duplicate. The work is run/recon.c's: one side indexed compactly, the other streamed
 * through a source (struct sc_recon_source), so either side can be an earlier step's
 * items or a paginated request read page by page. */
#include "module.h"
#include "lang/rules.h"
#include "run/bind.h"
#include "run/recon.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct side {
    const json_t *items;
    const char *key;
};

static const struct sc_param side_params[] = {
    {.name = "items", .type = SC_T_ANY, .required = true, .offset = offsetof(struct side, items),
     .doc = "The records: an array, usually an earlier step's items "
            "(\"{{ steps.employees.body.items }}\")."},
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
     .offset = offsetof(struct with, left), .doc = "One list: {items, key}."},
    {.name = "right", .type = SC_T_OBJECT, .fields = side_params, .required = true,
     .offset = offsetof(struct with, right), .doc = "The other list: {items, key}."},
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

/* A side's records as a source; SC_ERR_DATA when its items are not an array. */
static enum sc_status open_side(const json_t *obj, const char *name, struct side *sd,
                                struct sc_recon_items *it, char *err, size_t errlen)
{
    if (sc_bind(side_params, obj, sd, sizeof *sd, err, errlen) != 0)
        return SC_ERR_CONFIG;
    if (!json_is_array(sd->items)) {
        snprintf(err, errlen, "%s.items rendered to %s, not an array", name,
                 !sd->items || json_is_null(sd->items) ? "null"
                 : json_is_object(sd->items) ? "an object"
                 : json_is_string(sd->items) ? "a string" : "a scalar");
        return SC_ERR_DATA;
    }
    sc_recon_items_init(it, sd->items);
    return SC_OK;
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
    struct side l, r;
    struct sc_recon_items li, ri;
    enum sc_status st = open_side(w->left, "left", &l, &li, err, errlen);
    if (st == SC_OK)
        st = open_side(w->right, "right", &r, &ri, err, errlen);
    if (st != SC_OK)
        return st;
    struct sc_recon_spec spec = {.fields = fs->v, .nfields = fs->n, .left_key = l.key,
                                 .right_key = r.key, .index_right = !strcmp(w->index, "right"),
                                 .confidential = sc_step_confidential(ctx),
                                 .max_drifts = w->max_drifts > 0 ? (size_t)w->max_drifts : 0};
    json_t *drifts;
    struct sc_recon_counts c;
    st = sc_recon_run(&spec, &li.src, &ri.src, &drifts, &c, err, errlen);
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
    .flags = SC_M_FAN_OUT,
    .with_size = sizeof(struct with),
    .init = init,
    .run = run,
    .fini = free,
    .output = "{kind, key, left?, right?, diff?, side?, count?, counts: {left, right, same, "
              "changed, only_left, only_right, duplicate}}",
};
