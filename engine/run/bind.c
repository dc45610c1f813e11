/* Parameters bound into a module's struct by offset (bind.h). */
#include "run/bind.h"

#include "lang/duration.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum kind { K_BOOL, K_INT, K_NUMBER, K_STRING, K_JSON, K_DURATION };

static enum kind kind_of(const struct sc_param *p)
{
    if (p->flags & SC_P_JSON)
        return K_JSON;
    switch (p->type) {
    case SC_T_BOOL:
        return K_BOOL;
    case SC_T_INT:
        return K_INT;
    case SC_T_NUMBER:
        return K_NUMBER;
    case SC_T_DURATION:
        return K_DURATION;
    case SC_T_STRING:
    case SC_T_ENUM:
    case SC_T_CONNECTION:
    case SC_T_STEP_REF:
    case SC_T_SECRET:
    case SC_T_CRON:
    case SC_T_TZ:
        return K_STRING;
    default:
        return K_JSON;
    }
}

static size_t size_of(enum kind k)
{
    static const size_t sizes[] = {sizeof(bool), sizeof(json_int_t), sizeof(double),
                                   sizeof(const char *), sizeof(const json_t *),
                                   sizeof(int64_t)};
    return sizes[k];
}

int sc_bind(const struct sc_param *params, const json_t *with, void *out, size_t size,
            char *err, size_t errlen)
{
    memset(out, 0, size);
    for (const struct sc_param *p = params; p && p->name; p++) {
        enum kind k = kind_of(p);
        if (p->offset > size || size - p->offset < size_of(k)) {
            snprintf(err, errlen, "parameter '%s' is bound at offset %zu, outside the "
                     "module's %zu-byte struct", p->name, p->offset, size);
            return -1;
        }
        json_t *v = json_object_get(with, p->name);
        char *at = (char *)out + p->offset;
        bool b = json_is_true(v);
        json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
        double d = json_is_number(v) ? json_number_value(v) : 0;
        const char *s = json_string_value(v);
        const json_t *j = v;
        int64_t ms = -1;
        char derr[128]; /* not the caller's err: an unusable duration binds as -1 */
        if (k == K_DURATION && s && sc_duration_parse(s, &ms, derr, sizeof derr) != 0)
            ms = -1;
        switch (k) {
        case K_BOOL:
            memcpy(at, &b, sizeof b);
            break;
        case K_INT:
            memcpy(at, &i, sizeof i);
            break;
        case K_NUMBER:
            memcpy(at, &d, sizeof d);
            break;
        case K_STRING:
            memcpy(at, &s, sizeof s);
            break;
        case K_JSON:
            memcpy(at, &j, sizeof j);
            break;
        case K_DURATION:
            memcpy(at, &ms, sizeof ms);
            break;
        }
    }
    return 0;
}
