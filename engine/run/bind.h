/* Binding a step's parameters into its module's struct by the offsets of its parameter
 * table (module.h, struct sc_param.offset), as Fluent Bit's config map does: the module
 * reads fields, never its `with:` by string key. json_t as module.h; what is bound into
 * out is borrowed from with, which must outlive out's use. */
#ifndef SC_BIND_H
#define SC_BIND_H

#include "module.h"

/* Fills out (size bytes, zeroed first) from the parameters with (an object; NULL binds
 * nothing but zeroes) by params' offsets and types (module.h). 0, or -1 when a
 * parameter's field would lie outside size (a table that does not match its struct:
 * err names the parameter). */
int sc_bind(const struct sc_param *params, const json_t *with, void *out, size_t size,
            char *err, size_t errlen);

#endif
