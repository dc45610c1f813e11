/* Templates: "{{ expr }}" inside strings, where expr is a Lua expression.
 * This unit finds the expressions, checks their syntax and finds step references;
 * evaluation lives with the executor. Ownership: *parts is the caller's (free()). */
#ifndef SC_EXPR_H
#define SC_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#define SC_EXPR_MAX_LEN 8192

struct lua_State;

struct sc_tmpl_part {
    size_t off, len; /* into the template string; for an expression, its text between the braces */
    bool is_expr;
};

/* Splits s into text and expression parts. On a malformed template returns -1 with
 * *err (static text) and *err_off, *err_len locating the problem in s. */
int sc_expr_scan(const char *s, size_t n, struct sc_tmpl_part **parts, size_t *nparts,
                 const char **err, size_t *err_off, size_t *err_len);

/* True when s contains a "{{". */
bool sc_expr_has_template(const char *s);
/* True when s is exactly one "{{ }}" and nothing else (the value keeps its JSON type). */
bool sc_expr_is_whole(const struct sc_tmpl_part *parts, size_t nparts);

/* Lua reserves "if", but templates call Make's if(cond, a, b): rewrites each "if("
 * (no space before the parenthesis, not a field) into "iif(". New string (free()). */
char *sc_expr_rewrite(const char *expr, size_t n);

/* Compiles "return (expr)" as a text chunk without running it; on a syntax error
 * returns -1 and writes the parser's message (without chunk name) to err. */
int sc_expr_check_syntax(struct lua_State *L, const char *expr, size_t n, char *err,
                         size_t errlen);
/* The same; a Jinja-style filter ("x | default('a')") is answered with the call to
 * write ("ifempty(x, 'a')"), naming only functions known(ud, name) accepts (NULL: all). */
typedef bool (*sc_expr_known_fn)(void *ud, const char *name);
int sc_expr_check_syntax_in(struct lua_State *L, const char *expr, size_t n,
                            sc_expr_known_fn known, void *ud, char *err, size_t errlen);

/* Calls fn for each reference to steps.NAME (or steps["NAME"]) in the expression,
 * with the name and the offset/length of the whole reference inside expr. */
typedef void (*sc_expr_ref_fn)(void *ud, const char *name, size_t off, size_t len);
void sc_expr_step_refs(const char *expr, size_t n, sc_expr_ref_fn fn, void *ud);

/* True when name (len bytes) is one of the names the Lua sandbox does not have (os, io,
 * debug, require, load, dofile, package, collectgarbage, print, coroutine, rawset, ...). */
bool sc_expr_unavailable(const char *name, size_t len);

/* Calls fn for each use of such a name as a global in Lua code (an expression or a
 * transform file): not a field (x.os), a table key ({os = 1}) or a name the code
 * declares local. The name passed is "os.execute" when a field follows. */
void sc_expr_unavailable_refs(const char *code, size_t n, sc_expr_ref_fn fn, void *ud);
/* Calls fn for each global name the code calls or indexes (name(, name., name:, name[)
 * that is neither a keyword, a declared local nor an unavailable name: the names a
 * scenario's expressions must find in the sandbox. fn gets the bare name. */
void sc_expr_global_calls(const char *code, size_t n, sc_expr_ref_fn fn, void *ud);
/* The diagnostic for such a use, e.g. of "os.execute". Static buffer. */
const char *sc_expr_unavailable_message(const char *name);

#endif
