/* compare: a field-level diff of two records with a rule per field, for checks such as
 * "the HRIS pay rate is the ATS offer's" before payroll: {match, compared, diff}. */
#include "module.h"
#include "lang/text.h"

#include "run/bind.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rules[] = {"exact", "number", "date", "ci", NULL};

/* One field compared (static: bound once, at load). */
struct field {
    const char *name, *left, *right, *rule;
    double tolerance;
};

struct with {
    const json_t *left, *right, *fields;
};

static const struct sc_param field_params[] = {
    {.name = "name", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct field, name), .doc = "The field's name in the diff."},
    {.name = "left", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct field, left), .doc = "Dotted path in left (pay_rate.amount)."},
    {.name = "right", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .offset = offsetof(struct field, right),
     .doc = "Dotted path in right (default: the same as left)."},
    {.name = "rule", .type = SC_T_ENUM, .def = "\"exact\"", .allowed = rules, .flags = SC_P_STATIC,
     .offset = offsetof(struct field, rule),
     .doc = "exact (same JSON at every depth; numbers by value, 100 is 100.0; texts after "
            "Unicode NFC normalisation), number (within "
            "tolerance), date (same calendar day), ci (same text after NFC, Unicode case and "
            "outer spaces aside)."},
    {.name = "tolerance", .type = SC_T_NUMBER, .def = "0", .flags = SC_P_STATIC,
     .offset = offsetof(struct field, tolerance),
     .doc = "number: the largest difference that still matches."},
    {0},
};

static const struct sc_param params[] = {
    {.name = "left", .type = SC_T_ANY, .required = true, .offset = offsetof(struct with, left),
     .doc = "One record (an object)."},
    {.name = "right", .type = SC_T_ANY, .required = true, .offset = offsetof(struct with, right),
     .doc = "The other record."},
    {.name = "fields", .type = SC_T_LIST, .elem = SC_T_OBJECT, .fields = field_params,
     .required = true, .flags = SC_P_STATIC, .offset = offsetof(struct with, fields),
     .doc = "The fields compared, each with its rule."},
    {0},
};

static json_t *at(const json_t *v, const char *path)
{
    char key[128];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    return (json_t *)v;
}

static bool number_of(const json_t *v, double *d)
{
    if (json_is_number(v)) {
        *d = json_number_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    char *end;
    if (!s || !*s)
        return false;
    *d = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    return !*end && isfinite(*d);
}

/* One JSON number by value (100 is 100.0), exactly: integers past 2^53 never round. */
static bool same_number(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_real(a) && json_is_real(b))
        return json_real_value(a) == json_real_value(b);
    const json_t *i = json_is_integer(a) ? a : b, *r = json_is_integer(a) ? b : a;
    double d = json_real_value(r);
    return d == trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
           (json_int_t)d == json_integer_value(i);
}

/* exact: the same JSON, numbers by value and texts after NFC, at every depth. */
static bool same_exact(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return same_number(a, b);
    if (json_is_string(a) && json_is_string(b)) /* the same text in another Unicode form */
        return sc_text_equal(json_string_value(a), json_string_length(a), json_string_value(b),
                             json_string_length(b), false);
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(a) && json_is_object(b)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, x) {
            json_t *y = json_object_get(b, k);
            if (!y || !same_exact(x, y))
                return false;
        }
        return true;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        json_array_foreach(a, i, x) {
            if (!same_exact(x, json_array_get(b, i)))
                return false;
        }
        return true;
    }
    return json_equal(a, b);
}

static bool same(const json_t *a, const json_t *b, const char *rule, double tol)
{
    if (!a || !b || json_is_null(a) || json_is_null(b))
        return (!a || json_is_null(a)) && (!b || json_is_null(b));
    if (!strcmp(rule, "number")) {
        double x, y;
        if (json_is_number(a) && json_is_number(b) && tol == 0)
            return same_number(a, b);
        return number_of(a, &x) && number_of(b, &y) && fabs(x - y) <= tol;
    }
    if (!strcmp(rule, "date")) { /* the calendar day: "2026-04-06" is "2026-04-06T00:00:00Z" */
        const char *x = json_string_value(a), *y = json_string_value(b);
        return x && y && strlen(x) >= 10 && strlen(y) >= 10 && !strncmp(x, y, 10);
    }
    if (!strcmp(rule, "ci")) {
        const char *x = json_string_value(a), *y = json_string_value(b);
        if (!x || !y)
            return json_equal(a, b);
        while (isspace((unsigned char)*x))
            x++;
        while (isspace((unsigned char)*y))
            y++;
        size_t nx = strlen(x), ny = strlen(y);
        while (nx && isspace((unsigned char)x[nx - 1]))
            nx--;
        while (ny && isspace((unsigned char)y[ny - 1]))
            ny--;
        return sc_text_equal(x, nx, y, ny, true);
    }
    return same_exact(a, b);
}

/* The fields bound once: state is {n, fields[n]}. */
struct fields {
    size_t n;
    struct field v[];
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
        if (sc_bind(field_params, f, &fs->v[fs->n++], sizeof fs->v[0], err, errlen) != 0) {
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
    for (size_t i = 0; i < fs->n; i++) {
        const struct field *f = &fs->v[i];
        json_t *a = at(l, f->left), *b = at(r, f->right ? f->right : f->left);
        const char *rule = f->rule ? f->rule : "exact";
        if (!same(a, b, rule, f->tolerance))
            json_array_append_new(diff, json_pack("{s:s, s:O?, s:O?, s:s}", "field", f->name,
                                                  "left", a, "right", b, "rule", rule));
    }
    json_t *out = json_pack("{s:b, s:I, s:o}", "match", json_array_size(diff) == 0, "compared",
                            (json_int_t)fs->n, "diff", diff);
    return out && sc_step_emit(ctx, out) == 0 ? SC_OK : SC_ERR_RUNTIME;
}

const struct sc_module_def sc_mod_compare = {
    .name = "compare",
    .summary = "Field-level diff of two records, a rule per field: {match, compared, diff}.",
    .params = params,
    .with_size = sizeof(struct with),
    .init = init,
    .run = run,
    .fini = free,
};
