/* compare: a field-level diff of two records with a rule per field, for checks such as
 * "the HRIS pay rate is the ATS offer's" before payroll: {match, compared, diff}. */
#include "module.h"
#include "lang/rules.h"

#include "run/bind.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct with {
    const json_t *left, *right, *fields;
};

static const struct sc_param params[] = {
    {.name = "left", .type = SC_T_ANY, .required = true, .offset = offsetof(struct with, left),
     .doc = "One record (an object)."},
    {.name = "right", .type = SC_T_ANY, .required = true, .offset = offsetof(struct with, right),
     .doc = "The other record."},
    {.name = "fields", .type = SC_T_LIST, .elem = SC_T_OBJECT, .fields = sc_rules_field_params,
     .required = true, .flags = SC_P_STATIC, .offset = offsetof(struct with, fields),
     .doc = "The fields compared, each with its rule."},
    {0},
};

static void check(struct sc_check *c, const json_t *with)
{
    sc_rules_check(c, "fields", json_object_get(with, "fields"));
}

/* The fields bound once: state is {n, fields[n]}. */
struct fields {
    size_t n;
    struct sc_rules_field v[];
};

static int init(struct sc_step_ctx *ctx, const void *with, void **state, char *err,
                size_t errlen)
{
    (void)ctx;
    const json_t *list = ((const struct with *)with)->fields;
    struct fields *fs = calloc(1, sizeof *fs + (json_array_size(list) + 1) * sizeof fs->v[0]);
    if (!fs)
        return -1;
    size_t i;
    json_t *f;
    json_array_foreach((json_t *)list, i, f) {
        if (sc_bind(sc_rules_field_params, f, &fs->v[fs->n++], sizeof fs->v[0], err, errlen) != 0) {
            free(fs);
            return -1;
        }
    }
    *state = fs;
    return 0;
}

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)input;
    const struct with *with = with_v;
    const struct fields *fs = state;
    const json_t *l = with->left, *r = with->right;
    if (!json_is_object(l) || !json_is_object(r)) {
        snprintf(err, errlen, "compare needs two objects; %s is %s", json_is_object(l) ? "right" : "left",
                 json_is_null(json_is_object(l) ? r : l) ? "null" : "not an object");
        return SC_ERR_DATA;
    }
    json_t *diff = json_array();
    json_int_t compared = 0;
    for (size_t i = 0; i < fs->n; i++) {
        const struct sc_rules_field *f = &fs->v[i];
        json_t *a = sc_rules_at(l, f->left), *b = sc_rules_at(r, f->right ? f->right : f->left);
        const char *rule = f->rule ? f->rule : "exact";
        int ru = sc_rules_parse(rule);
        compared += ru != SC_RULE_IGNORE;
        if (!sc_rules_same(a, b, ru < 0 ? SC_RULE_EXACT : (enum sc_rule)ru, f->tolerance))
            json_array_append_new(diff, json_pack("{s:s, s:O?, s:O?, s:s}", "field", f->name,
                                                  "left", a, "right", b, "rule", rule));
    }
    json_t *out = json_pack("{s:b, s:I, s:o}", "match", json_array_size(diff) == 0, "compared",
                            compared, "diff", diff);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_compare = {
    .name = "compare",
    .summary = "Field-level diff of two records, a rule per field: {match, compared, diff}.",
    .params = params,
    .with_size = sizeof(struct with),
    .check = check,
    .init = init,
    .run = run,
    .fini = free,
};
