/* Compiled templates: a JSON value whose strings may hold {{ }} expressions, compiled
 * once into a Lua state when a scenario loads and rendered per event.
 * Ownership: sc_tmpl_compile returns a tree freed by sc_tmpl_free (with the same
 * state); sc_tmpl_render returns a new reference. The value compiled is borrowed
 * and must outlive the tree (literal parts are shared, not copied). */
#ifndef SC_TMPL_H
#define SC_TMPL_H

#include "lua.h"

struct sc_tmpl;

struct sc_tmpl *sc_tmpl_compile(struct sc_lua *lua, json_t *value, char *err, size_t errlen);
json_t *sc_tmpl_render(const struct sc_tmpl *t, struct sc_lua *lua, enum sc_status *st,
                       char *err, size_t errlen);
/* A condition: exactly one {{ }} (truthiness) or a literal boolean. */
enum sc_status sc_tmpl_test(const struct sc_tmpl *t, struct sc_lua *lua, bool *out, char *err,
                            size_t errlen);
void sc_tmpl_free(struct sc_tmpl *t, struct sc_lua *lua);

#endif
