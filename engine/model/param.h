/* Defaults of the typed parameter tables (module.h's struct sc_param), the one place a
 * default is written: the readers of a validated document take theirs from here. */
#ifndef SC_PARAM_H
#define SC_PARAM_H

#include "module.h"

#include <jansson.h>
#include <stdint.h>

/* The field `name` of a {0}-terminated table, or NULL. Borrowed from the table. */
const struct sc_param *sc_param_find(const struct sc_param *table, const char *name);
/* The field's default as a new JSON value (ownership as module.h), or NULL: no field, no
 * default, or out of memory. */
json_t *sc_param_default(const struct sc_param *table, const char *name);
/* A duration field's default in milliseconds; 0 when it has none. */
int64_t sc_param_default_ms(const struct sc_param *table, const char *name);
/* An integer field's default; 0 when it has none. */
long long sc_param_default_int(const struct sc_param *table, const char *name);
/* Sets every absent field of obj that has a default, recursing into mappings with fields
 * and maps of them. 0, or -1 out of memory. obj is changed in place. */
int sc_param_fill(const struct sc_param *table, json_t *obj);

#endif
