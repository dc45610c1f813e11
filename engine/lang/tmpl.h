/* Compiled templates: a JSON value whose strings may hold {{ }} expressions, compiled
 * once into a Lua state when a scenario loads and rendered per event.
 * Ownership: sc_tmpl_compile returns a tree freed by sc_tmpl_free (with the same
 * state); sc_tmpl_render returns a new reference. The value compiled is borrowed
 * and must outlive the tree (literal parts are shared, not copied). */
#ifndef SC_TMPL_H
#define SC_TMPL_H

#include "lang/lua.h"

struct sc_tmpl;

struct sc_tmpl *sc_tmpl_compile(struct sc_lua *lua, json_t *value, char *err, size_t errlen);
json_t *sc_tmpl_render(const struct sc_tmpl *t, struct sc_lua *lua, enum sc_status *st,
                       char *err, size_t errlen);
/* A condition: exactly one {{ }} (truthiness) or a literal boolean. */
enum sc_status sc_tmpl_test(const struct sc_tmpl *t, struct sc_lua *lua, bool *out, char *err,
                            size_t errlen);
void sc_tmpl_free(struct sc_tmpl *t, struct sc_lua *lua);

/* How a {{ }} value is written into the text of a string template: appended to out (the
 * text so far), or an error status with err filled. */
typedef enum sc_status (*sc_tmpl_encoder)(struct sc_buf *out, const json_t *value, char *err,
                                          size_t errlen);
/* Makes the string template under key of an object template (key NULL: t itself, when a
 * string template) write each value through enc (a whole {{ }} then renders text too).
 * No effect when key holds no template. */
void sc_tmpl_set_encoder(struct sc_tmpl *t, const char *key, sc_tmpl_encoder enc);
/* The encoder of an identity key (dedupe_key, the dedupe module's key, a poll's key): each
 * value as sc_lua_eval_text writes it, but null, missing or "" is SC_ERR_DATA ("is null or
 * missing: ..."): "r-{{ id }}" with no id must not become the key "r-" of every such event. */
enum sc_status sc_tmpl_key_value(struct sc_buf *out, const json_t *v, char *err, size_t errlen);

#endif
