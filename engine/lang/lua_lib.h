/* Bounded replacements for the library functions of the Lua sandbox that loop in C,
 * where the instruction hook cannot see them: pattern matching (find, match, gmatch,
 * gsub; our own matcher, written from the Lua 5.4 manual, section 6.4.1), string.rep,
 * table.concat/insert/remove/move/sort/unpack, setmetatable (a __gc finalizer
 * would run with hooks off, so it is refused) and xpcall (Lua runs the message handler
 * of an error raised by the hook with hooks off, so a spent budget skips it). Every loop charges its steps to the
 * sandbox's budget (sc_lua_charge), which raises the limit error.
 * Internal to engine/lua.c; all functions run inside a protected call. */
#ifndef SC_LUA_LIB_H
#define SC_LUA_LIB_H

struct lua_State;

/* Charges steps of C work to the running budget; raises the limit error (no return)
 * once the instruction budget is spent or the deadline passed. Defined in lua.c. */
void sc_lua_charge(struct lua_State *L, long steps);

/* True once the running budget is spent (the limit error is on its way up): from then
 * on no user code may run, not even a message handler. Defined in lua.c. */
int sc_lua_stopped(struct lua_State *L);

/* Replaces the functions above in the loaded string and table libraries and the base
 * setmetatable (the originals stay reachable only from C). */
void sc_lua_lib_install(struct lua_State *L);

/* SC_CONCAT_FN(value, source) of lang/concat.h: a float as its shortest round-trip
 * text, other values unchanged; nil and booleans raise the error Lua would, naming
 * the operand's source text. */
int sc_lua_lib_cat(struct lua_State *L);

/* sc.trim, sc.split, sc.replace, sc.find: linear text helpers of the prelude. */
void sc_lua_lib_text_helpers(struct lua_State *L);

#endif
