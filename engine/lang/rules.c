/* Field rules shared by compare and reconcile: see rules.h. */
#include "lang/rules.h"

#include "lang/text.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sc_rules_names[] = {"exact", "number", "date", "ci", "ignore", NULL};

const struct sc_param sc_rules_field_params[] = {
    {.name = "name", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct sc_rules_field, name), .doc = "The field's name in the diff."},
    {.name = "left", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .offset = offsetof(struct sc_rules_field, left),
     .doc = "Dotted path in left (pay_rate.amount)."},
    {.name = "right", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .offset = offsetof(struct sc_rules_field, right),
     .doc = "Dotted path in right (default: the same as left)."},
    {.name = "rule", .type = SC_T_ENUM, .def = "\"exact\"", .allowed = sc_rules_names,
     .flags = SC_P_STATIC, .offset = offsetof(struct sc_rules_field, rule),
     .doc = "exact (same JSON at every depth; numbers by value, 100 is 100.0; texts after "
            "Unicode NFC normalisation), number (within "
            "tolerance), date (same calendar day), ci (same text after NFC, Unicode case and "
            "outer spaces aside), ignore (never a difference: the value is only shown)."},
    {.name = "tolerance", .type = SC_T_NUMBER, .def = "0", .flags = SC_P_STATIC,
     .offset = offsetof(struct sc_rules_field, tolerance),
     .doc = "number: the largest difference that still matches."},
    {0},
};

void sc_rules_check(struct sc_check *c, const char *param, const json_t *fields)
{
    char at[160];
    size_t i;
    json_t *f;
    json_array_foreach((json_t *)fields, i, f) {
        static const char *const texts[] = {"name", "left", "right", NULL};
        for (const char *const *t = texts; *t; t++) {
            const char *v = json_string_value(json_object_get(f, *t));
            snprintf(at, sizeof at, "%s/%zu/%s", param, i, *t);
            if (v && !*v)
                sc_check_error(c, at, "%s is empty: give %s", *t,
                               **t == 'n' ? "the field's name in the diff"
                                          : "the dotted path of the field in the record");
        }
        const char *name = json_string_value(json_object_get(f, "name"));
        for (size_t j = 0; name && *name && j < i; j++) {
            const char *other = json_string_value(json_object_get(json_array_get(fields, j),
                                                                  "name"));
            if (other && !strcmp(name, other)) {
                snprintf(at, sizeof at, "%s/%zu/name", param, i);
                sc_check_error(c, at, "field '%s' is named twice (fields %zu and %zu): a diff "
                               "names each field once", name, j + 1, i + 1);
                break;
            }
        }
        json_t *tol = json_object_get(f, "tolerance");
        const char *rule = json_string_value(json_object_get(f, "rule"));
        snprintf(at, sizeof at, "%s/%zu/tolerance", param, i);
        if (json_is_number(tol) && json_number_value(tol) < 0)
            sc_check_error(c, at, "tolerance is the largest difference that still matches: 0 "
                           "or more, not %g", json_number_value(tol));
        else if (json_is_number(tol) && json_number_value(tol) != 0 &&
                 (!rule || strcmp(rule, "number")))
            sc_check_error(c, at, "tolerance applies to rule number; this field's rule is %s",
                           rule ? rule : "exact");
    }
}

int sc_rules_parse(const char *name)
{
    if (!name)
        return SC_RULE_EXACT;
    for (int i = 0; sc_rules_names[i]; i++)
        if (!strcmp(sc_rules_names[i], name))
            return i;
    return -1;
}

json_t *sc_rules_at(const json_t *v, const char *path)
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

/* ci: the same text after NFC and case folding, outer white space aside. */
static bool same_ci(const json_t *a, const json_t *b)
{
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

bool sc_rules_same(const json_t *a, const json_t *b, enum sc_rule rule, double tol)
{
    if (rule == SC_RULE_IGNORE)
        return true;
    if (!a || !b || json_is_null(a) || json_is_null(b))
        return (!a || json_is_null(a)) && (!b || json_is_null(b));
    switch (rule) {
    case SC_RULE_NUMBER: {
        double x, y;
        if (json_is_number(a) && json_is_number(b) && tol == 0)
            return same_number(a, b);
        return number_of(a, &x) && number_of(b, &y) && fabs(x - y) <= tol;
    }
    case SC_RULE_DATE: { /* the calendar day: "2026-04-06" is "2026-04-06T00:00:00Z" */
        const char *x = json_string_value(a), *y = json_string_value(b);
        return x && y && strlen(x) >= 10 && strlen(y) >= 10 && !strncmp(x, y, 10);
    }
    case SC_RULE_CI:
        return same_ci(a, b);
    default:
        return same_exact(a, b);
    }
}
