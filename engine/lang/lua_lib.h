/* Bounded replacements for the library functions of the Lua sandbox that loop in C,
 * where the instruction hook cannot see them: pattern matching (find, match, gmatch,
 * gsub; our own matcher, written from the Lua 5.4 manual, section 6.4.1), string.rep,
 * table.concat/insert/remove/move/sort/unpack, and setmetatable (a __gc finalizer
 * would run with hooks off, so it is refused). Every loop charges its steps to the
 * sandbox's budget (sc_lua_charge), which raises the limit error.
 * Internal to engine/lua.c; all functions run inside a protected call. */
#ifndef SC_LUA_LIB_H
#define SC_LUA_LIB_H

struct lua_State;

/* Charges steps of C work to the running budget; raises the limit error (no return)
 * once the instruction budget is spent or the deadline passed. Defined in lua.c. */
void sc_lua_charge(struct lua_State *L, long steps);

/* Replaces the functions above in the loaded string and table libraries and the base
 * setmetatable (the originals stay reachable only from C). */
void sc_lua_lib_install(struct lua_State *L);

/* sc.trim, sc.split, sc.replace, sc.find: linear text helpers of the prelude. */
void sc_lua_lib_text_helpers(struct lua_State *L);

#endif
