#include "model/param.h"

#include "lang/duration.h"

#include <string.h>

const struct sc_param *sc_param_find(const struct sc_param *table, const char *name)
{
    for (const struct sc_param *p = table; p && p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

json_t *sc_param_default(const struct sc_param *table, const char *name)
{
    const struct sc_param *p = sc_param_find(table, name);
    return p && p->def ? json_loads(p->def, JSON_DECODE_ANY, NULL) : NULL;
}

int64_t sc_param_default_ms(const struct sc_param *table, const char *name)
{
    json_t *v = sc_param_default(table, name);
    int64_t ms = sc_duration_or(json_string_value(v), 0);
    json_decref(v);
    return ms;
}

long long sc_param_default_int(const struct sc_param *table, const char *name)
{
    json_t *v = sc_param_default(table, name);
    long long n = json_is_integer(v) ? json_integer_value(v) : 0;
    json_decref(v);
    return n;
}

int sc_param_fill(const struct sc_param *table, json_t *obj)
{
    if (!json_is_object(obj))
        return 0;
    for (const struct sc_param *p = table; p && p->name; p++) {
        json_t *v = json_object_get(obj, p->name);
        if (!v && p->def) {
            if (json_object_set_new(obj, p->name, json_loads(p->def, JSON_DECODE_ANY, NULL)))
                return -1;
            continue;
        }
        if (p->type == SC_T_OBJECT && p->fields && sc_param_fill(p->fields, v) != 0)
            return -1;
        if (p->type == SC_T_MAP && p->elem == SC_T_OBJECT && p->fields) {
            const char *k;
            json_t *x;
            json_object_foreach(v, k, x) {
                if (sc_param_fill(p->fields, x) != 0)
                    return -1;
            }
        }
    }
    return 0;
}
