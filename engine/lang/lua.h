/* The Lua sandbox: one state per worker, with base/string/table/math/utf8 only,
 * text chunks only, a memory cap through the allocator and an instruction and
 * deadline hook that keeps firing once tripped; no __gc finalizers (they would run
 * with the hook off) and bounded C library loops (lua_lib.c). JSON reaches Lua as read-only
 * proxies (no whole-bundle copies); results come back as jansson values.
 * Ownership: sc_lua_new returns a state freed by sc_lua_free; json_t results are new
 * references; json_t arguments are borrowed. */
#ifndef SC_LUA_H
#define SC_LUA_H

#include "module.h"
#include "util.h"

#include <stdint.h>
#include <jansson.h>

#define SC_LUA_MEM_LIMIT (32u * 1024 * 1024)
#define SC_LUA_INSTRUCTIONS 10000000L /* per step; C library loops count their steps */
#define SC_LUA_INTAKE_INSTRUCTIONS 100000L /* a webhook's dedupe_key, at the intake */
#define SC_LUA_INTAKE_MS 1000               /* and its wall-clock limit */

struct lua_State;
struct sc_lua;

/* Loads the .lua files of lua_dir/prelude and lua_dir/transforms (NULL: the default,
 * see sc_lua_default_dir). NULL with err filled on failure. */
struct sc_lua *sc_lua_new(const char *lua_dir, size_t mem_limit, char *err, size_t errlen);
void sc_lua_free(struct sc_lua *s);
struct lua_State *sc_lua_state(struct sc_lua *s);

/* $SCENARIST_LUA_DIR, else lua/ beside the executable, else ./lua. Static buffer. */
const char *sc_lua_default_dir(void);

/* Sets a context name (trigger, steps, vars, execution, error, env) seen by
 * expressions; value is borrowed and must outlive the evaluations (NULL unsets).
 * -1 when memory ran out (the name is then unset or unchanged). */
int sc_lua_set(struct sc_lua *s, const char *name, json_t *value);
/* Ends an execution: drops the cached proxies of values no longer set (a long-running
 * worker's Lua memory stays flat), and the next call of a transform runs its file
 * again, so executions share no state through module-level variables. */
void sc_lua_forget(struct sc_lua *s);

/* Chooses the transform files FILE.FUNCTION names resolve to, from now on: files is
 * {"FILE.lua": {"source": text, ...}} (a stored version's set, named transforms/FILE.lua
 * in messages; a reference is kept) or NULL for the files of lua_dir/transforms. A file
 * is compiled and run once the first time its text is seen; the caller's budget is left
 * as it was. Starts a new record of use (sc_lua_used). -1 with err (a file does not
 * compile or run, out of memory): then no transform resolves until the next choice. */
int sc_lua_use(struct sc_lua *s, json_t *files, char *err, size_t errlen);
/* The files of the set sc_lua_use chose whose functions were looked up or called since:
 * a new {"FILE.lua": text}; NULL out of memory or after sc_lua_choose. */
json_t *sc_lua_used(struct sc_lua *s);
/* A handle on the set in use, for a scenario compiled with it to run with it later:
 * 0 for lua_dir/transforms, > 0 a set kept until sc_lua_release, -1 out of memory.
 * A file's compiled code lives as long as a set holding it. */
int sc_lua_keep(struct sc_lua *s);
/* Puts a kept set (or 0, the disk's) in use; a negative handle resolves nothing. */
void sc_lua_choose(struct sc_lua *s, int set);
/* Lets a kept set go (0 and negative handles: nothing to do; s may be NULL). */
void sc_lua_release(struct sc_lua *s, int set);

/* Compiles an expression once; returns a reference >= 0, or -1 with err. */
int sc_lua_compile(struct sc_lua *s, const char *expr, size_t n, char *err, size_t errlen);
void sc_lua_unref(struct sc_lua *s, int ref);

/* Starts a budget for what follows: instructions, and a monotonic deadline (0: none).
 * Pattern matching and the other library functions that loop in C (string.rep,
 * table.concat/insert/remove/move/sort/unpack) charge their steps to the same count.
 * A spent budget fails the evaluation with SC_ERR_LIMIT and a message naming it
 * ("Lua instruction limit of N exceeded", "Lua time limit of N ms exceeded"), and
 * keeps failing whatever the code catches, until the next budget. */
void sc_lua_budget(struct sc_lua *s, long instructions, int64_t deadline_ms);

enum sc_status sc_lua_eval_json(struct sc_lua *s, int ref, json_t **out, char *err,
                                size_t errlen);
/* Appends the value as text: strings as they are, nil as "", others as JSON. */
enum sc_status sc_lua_eval_text(struct sc_lua *s, int ref, struct sc_buf *buf, char *err,
                                size_t errlen);
enum sc_status sc_lua_eval_bool(struct sc_lua *s, int ref, bool *out, char *err, size_t errlen);

/* Calls FILE.FUNCTION of the transform files in use (sc_lua_use) with args (an array is
 * spread as arguments). */
enum sc_status sc_lua_call(struct sc_lua *s, const char *name, json_t *args, json_t **out,
                           char *err, size_t errlen);
/* True when the transform files in use define FILE.FUNCTION. */
bool sc_lua_has_transform(struct sc_lua *s, const char *name);
/* True when the prelude defines a function of this name. */
bool sc_lua_has_prelude(struct sc_lua *s, const char *name);
/* For an unknown transform name: writes "; did you mean 'lower'?" (nearest prelude function
 * or FILE.FUNCTION), or " (there is no lua/transforms/FILE.lua; the files are: ...)", or "". */
void sc_lua_transform_hint(struct sc_lua *s, const char *name, char *out, size_t outlen);

/* True when an expression can read name as a global: a context name (trigger, steps,
 * vars, execution, error, env, poll, output, item), a prelude function, or a global or
 * library of the sandbox (string, math, pairs, ...). */
bool sc_lua_has_global(struct sc_lua *s, const char *name);
/* For a global an expression cannot read: writes "; did you mean 'length'?" (the nearest
 * of those names) or "". */
void sc_lua_global_hint(struct sc_lua *s, const char *name, char *out, size_t outlen);

/* An execution's context parked while another runs on the same state (daemon/workers.c
 * interleaves executions at their network waits): the context names, the transform set
 * in use and what it used, the transforms built for the execution, and its budget.
 * sc_lua_park moves them into p and leaves the state fresh for another execution (as
 * after sc_lua_forget); -1 when memory ran out (nothing moved: do not switch).
 * sc_lua_unpark puts p back over whatever the state holds (dropped) and cannot fail;
 * each parked p is unparked exactly once. */
#define SC_LUA_LAZY_MAX 16
struct sc_lua_lazy { /* a context name set and its value (a reference), "" a free slot */
    char name[24];
    json_t *v;
    bool shown;          /* made a Lua value in the context table (an expression read it) */
};
struct sc_lua_parked {
    /* its names not read yet stay JSON: made Lua values only if it reads them after */
    struct sc_lua_lazy lazy[SC_LUA_LAZY_MAX];
    bool eager;
    int ref;
    unsigned generation;
    long budget, used;
    int64_t deadline, window;
    bool tripped, on_disk, recorded;
    char why[96];
    json_t *using;
};
int sc_lua_park(struct sc_lua *s, struct sc_lua_parked *p);
void sc_lua_unpark(struct sc_lua *s, struct sc_lua_parked *p);

/* Memory the state holds after a full collection, in bytes. */
size_t sc_lua_memory(struct sc_lua *s);

#endif
