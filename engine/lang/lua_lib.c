/* Bounded library functions of the Lua sandbox: see lua_lib.h. The pattern matcher
 * follows the Lua 5.4 reference manual, section 6.4.1 (character classes, sets, the
 * items * + - ?, %n, %b, %f, captures and anchors); it is a backtracking matcher like
 * the original, so a pattern may take many steps, but every step is charged. */
#define _GNU_SOURCE /* memmem */
#include "lang/lua_lib.h"
#include "lang/secret.h"

#include "lang/text.h"

#include <ctype.h>
#include <stdlib.h>
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#define PAT_MAX_CAPTURES 32
#define PAT_MAX_DEPTH 200    /* nested items: beyond, "pattern too complex" */
#define PAT_CHARGE_EVERY 4096 /* steps between two charges to the budget */
#define CAP_OPEN (-1)
#define CAP_POSITION (-2)
#define SPECIALS "^$*+?.([%-"

struct pat {
    lua_State *L;
    const char *src, *src_end, *p_end;
    int level, depth;
    long steps; /* not yet charged */
    struct {
        const char *at;
        ptrdiff_t len; /* CAP_OPEN while open, CAP_POSITION for () */
    } cap[PAT_MAX_CAPTURES];
};

static void pat_step(struct pat *m, long n)
{
    m->steps += n;
    if (m->steps >= PAT_CHARGE_EVERY) {
        long k = m->steps;
        m->steps = 0;
        sc_lua_charge(m->L, k);
    }
}

static void pat_flush(struct pat *m)
{
    long k = m->steps;
    m->steps = 0;
    if (k)
        sc_lua_charge(m->L, k);
}

/* %a %c %d %g %l %p %s %u %w %x (%z), their capitals as complements; any other: itself. */
static int class_has(int c, int cl)
{
    int yes;
    switch (tolower(cl)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break; /* deprecated by the manual, still understood */
    default: return cl == c;
    }
    if (isupper(cl))
        yes = !yes;
    return yes != 0;
}

/* p at '[', close at its ']'. */
static int set_has(int c, const char *p, const char *close)
{
    int neg = 0;
    p++;
    if (*p == '^') {
        neg = 1;
        p++;
    }
    while (p < close) {
        if (*p == '%' && p + 1 < close) {
            if (class_has(c, (unsigned char)p[1]))
                return !neg;
            p += 2;
        } else if (p + 2 < close && p[1] == '-') {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return !neg;
            p += 3;
        } else {
            if ((unsigned char)*p == c)
                return !neg;
            p++;
        }
    }
    return neg;
}

/* The end of the single character class at p. */
static const char *class_end(struct pat *m, const char *p)
{
    char c = *p++;
    if (c == '%') {
        if (p >= m->p_end)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (p < m->p_end && *p == '^')
            p++;
        do { /* the first character of a set may be ']' */
            if (p >= m->p_end)
                luaL_error(m->L, "malformed pattern (missing ']')");
            c = *p++;
            if (c == '%' && p < m->p_end)
                p++;
        } while (p >= m->p_end || *p != ']');
        return p + 1;
    }
    return p;
}

/* Does the character at s match the class [p, ep)? */
static int single(struct pat *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return class_has(c, (unsigned char)p[1]);
    case '[': return set_has(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *do_match(struct pat *m, const char *s, const char *p);

static const char *max_expand(struct pat *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (single(m, s + i, p, ep))
        i++;
    pat_step(m, i);
    for (; i >= 0; i--) { /* the longest first, then shorter */
        pat_step(m, 1);
        const char *r = do_match(m, s + i, ep + 1);
        if (r)
            return r;
    }
    return NULL;
}

static const char *min_expand(struct pat *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        pat_step(m, 1);
        const char *r = do_match(m, s, ep + 1);
        if (r)
            return r;
        if (!single(m, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *open_capture(struct pat *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= PAT_MAX_CAPTURES)
        luaL_error(m->L, "too many captures");
    m->cap[m->level].at = s;
    m->cap[m->level].len = what;
    m->level++;
    const char *r = do_match(m, s, p);
    if (!r)
        m->level--;
    return r;
}

static const char *close_capture(struct pat *m, const char *s, const char *p)
{
    int l = m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_OPEN)
        l--;
    if (l < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].at;
    const char *r = do_match(m, s, p);
    if (!r)
        m->cap[l].len = CAP_OPEN;
    return r;
}

static const char *balance(struct pat *m, const char *s, const char *p)
{
    if (p + 1 >= m->p_end)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != p[0])
        return NULL;
    int open = 1;
    const char *start = s;
    while (++s < m->src_end) {
        if (*s == p[1]) {
            if (--open == 0) {
                pat_step(m, s - start);
                return s + 1;
            }
        } else if (*s == p[0]) {
            open++;
        }
    }
    pat_step(m, s - start);
    return NULL;
}

static const char *backref(struct pat *m, const char *s, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->cap[l].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    size_t len = (size_t)m->cap[l].len;
    pat_step(m, (long)len);
    if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[l].at, s, len) == 0)
        return s + len;
    return NULL;
}

/* Matches the pattern p against the text at s; the end of the match or NULL. */
static const char *do_match(struct pat *m, const char *s, const char *p)
{
    if (++m->depth > PAT_MAX_DEPTH)
        luaL_error(m->L, "pattern too complex");
    const char *r = NULL;
    for (;;) {
        pat_step(m, 1);
        if (p >= m->p_end) {
            r = s;
            break;
        }
        if (*p == '(') {
            r = p + 1 < m->p_end && p[1] == ')' ? open_capture(m, s, p + 2, CAP_POSITION)
                                                : open_capture(m, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')') {
            r = close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->p_end) {
            r = s == m->src_end ? s : NULL;
            break;
        }
        if (*p == '%' && p + 1 < m->p_end && p[1] == 'b') {
            s = balance(m, s, p + 2);
            if (!s)
                break;
            p += 4;
            continue;
        }
        if (*p == '%' && p + 1 < m->p_end && p[1] == 'f') {
            p += 2;
            if (p >= m->p_end || *p != '[')
                luaL_error(m->L, "missing '[' after '%%f' in pattern");
            const char *ep = class_end(m, p);
            int prev = s == m->src ? 0 : (unsigned char)s[-1];
            int cur = s < m->src_end ? (unsigned char)*s : 0;
            if (set_has(prev, p, ep - 1) || !set_has(cur, p, ep - 1))
                break;
            p = ep;
            continue;
        }
        if (*p == '%' && p + 1 < m->p_end && isdigit((unsigned char)p[1])) {
            s = backref(m, s, (unsigned char)p[1]);
            if (!s)
                break;
            p += 2;
            continue;
        }
        const char *ep = class_end(m, p);
        int ok = single(m, s, p, ep);
        char q = ep < m->p_end ? *ep : '\0';
        if (q == '?') {
            if (ok && (r = do_match(m, s + 1, ep + 1)))
                break;
            p = ep + 1;
            continue;
        }
        if (q == '+') {
            r = ok ? max_expand(m, s + 1, p, ep) : NULL;
            break;
        }
        if (q == '*') {
            r = max_expand(m, s, p, ep);
            break;
        }
        if (q == '-') {
            r = min_expand(m, s, p, ep);
            break;
        }
        if (!ok)
            break;
        s++;
        p = ep;
    }
    m->depth--;
    return r;
}

static void pat_init(struct pat *m, lua_State *L, const char *s, size_t ls, const char *p,
                     size_t lp)
{
    m->L = L;
    m->src = s;
    m->src_end = s + ls;
    m->p_end = p + lp;
    m->level = 0;
    m->depth = 0;
    m->steps = 0;
}

/* Pushes capture i (the whole match s..e when there are no captures). */
static void push_capture(struct pat *m, int i, const char *s, const char *e)
{
    if (i >= m->level) {
        if (i != 0)
            luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->cap[i].len;
    if (len == CAP_OPEN)
        luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, (lua_Integer)(m->cap[i].at - m->src) + 1);
    else
        lua_pushlstring(m->L, m->cap[i].at, (size_t)len);
}

static int push_captures(struct pat *m, const char *s, const char *e, int whole)
{
    int n = m->level == 0 && whole ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* A 1-based start position as string.find reads it. */
static size_t start_at(lua_Integer init, size_t len)
{
    if (init > 0)
        return (size_t)init;
    if (init == 0 || init < -(lua_Integer)len)
        return 1;
    return len + (size_t)init + 1; /* init is negative: modular arithmetic, no overflow */
}

/* glibc's memmem is linear (two-way) whatever the needle. */
static const char *plain_find(lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    sc_lua_charge(L, (long)(ls / 8 + 1));
    if (lp == 0)
        return s;
    if (lp > ls)
        return NULL;
    return memmem(s, ls, p, lp);
}

static int no_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr(SPECIALS, p[i]))
            return 0;
    return 1;
}

static int find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls);
    if (init > ls + 1) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {
        const char *hit = plain_find(L, s + init - 1, ls - init + 1, p, lp);
        if (hit) {
            lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)(hit - s + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    struct pat m;
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    pat_init(&m, L, s, ls, p, lp);
    for (const char *at = s + init - 1;; at++) {
        m.level = 0;
        m.depth = 0;
        const char *e = do_match(&m, at, p);
        if (e) {
            pat_flush(&m);
            if (find) {
                lua_pushinteger(L, (lua_Integer)(at - s) + 1);
                lua_pushinteger(L, (lua_Integer)(e - s));
                return push_captures(&m, NULL, NULL, 0) + 2;
            }
            return push_captures(&m, at, e, 1);
        }
        if (anchor || at >= m.src_end)
            break;
    }
    pat_flush(&m);
    luaL_pushfail(L);
    return 1;
}

static int l_find(lua_State *L) { return find_aux(L, 1); }
static int l_match(lua_State *L) { return find_aux(L, 0); }

struct gm_state {
    size_t pos;      /* next start, 0-based */
    ptrdiff_t last;  /* end of the last match, -1 before the first */
};

static int gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    struct gm_state *g = lua_touserdata(L, lua_upvalueindex(3));
    if (g->pos > ls)
        return 0;
    struct pat m;
    pat_init(&m, L, s, ls, p, lp);
    for (const char *at = s + g->pos; at <= m.src_end; at++) {
        m.level = 0;
        m.depth = 0;
        const char *e = do_match(&m, at, p);
        if (e && e - s != g->last) {
            g->pos = (size_t)(e - s);
            g->last = e - s;
            pat_flush(&m);
            return push_captures(&m, at, e, 1);
        }
    }
    pat_flush(&m);
    g->pos = ls + 1;
    return 0;
}

static int l_gmatch(lua_State *L)
{
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls);
    lua_settop(L, 2);
    struct gm_state *g = lua_newuserdatauv(L, sizeof *g, 0);
    g->pos = init > ls + 1 ? ls + 1 : init - 1;
    g->last = -1;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* Appends the replacement of one match (string with %0-%9, table, or function). */
static void add_value(struct pat *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION || tr == LUA_TTABLE) {
        if (tr == LUA_TFUNCTION) {
            lua_pushvalue(L, 3);
            int n = push_captures(m, s, e, 1);
            lua_call(L, n, 1);
        } else {
            push_capture(m, 0, s, e);
            lua_gettable(L, 3);
        }
        if (!lua_toboolean(L, -1)) { /* nil or false: keep the original text */
            lua_pop(L, 1);
            luaL_addlstring(b, s, (size_t)(e - s));
            return;
        }
        if (!lua_isstring(L, -1))
            luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
        luaL_addvalue(b);
        return;
    }
    size_t lr;
    const char *r = lua_tolstring(L, 3, &lr);
    pat_step(m, (long)lr);
    for (size_t i = 0; i < lr; i++) {
        if (r[i] != '%') {
            luaL_addchar(b, r[i]);
            continue;
        }
        i++;
        if (i < lr && r[i] == '%') {
            luaL_addchar(b, '%');
        } else if (i < lr && isdigit((unsigned char)r[i])) {
            if (r[i] == '0') {
                luaL_addlstring(b, s, (size_t)(e - s));
            } else {
                push_capture(m, r[i] - '1', s, e);
                luaL_tolstring(L, -1, NULL);
                lua_remove(L, -2);
                luaL_addvalue(b);
            }
        } else {
            luaL_error(L, "invalid use of '%%' in replacement string");
        }
    }
}

static int l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
                            tr == LUA_TTABLE, 3, "string/function/table");
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    struct pat m;
    pat_init(&m, L, s, ls, p, lp);
    const char *at = s, *last = NULL;
    lua_Integer n = 0;
    while (n < max) {
        m.level = 0;
        m.depth = 0;
        const char *e = do_match(&m, at, p);
        if (e && e != last) {
            n++;
            add_value(&m, &b, at, e, tr);
            at = last = e;
        } else if (at < m.src_end) {
            luaL_addchar(&b, *at++);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    pat_flush(&m);
    luaL_addlstring(&b, at, (size_t)(m.src_end - at));
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

/* string.rep: the copies are charged, and an empty result never loops. */
static int l_rep(lua_State *L)
{
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {
        lua_pushlstring(L, "", 0);
        return 1;
    }
    if (l + lsep < l || l + lsep > (size_t)0x7fffffff / (size_t)n)
        return luaL_error(L, "resulting string too large");
    size_t total = (size_t)n * l + (size_t)(n - 1) * lsep;
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, total); /* the memory cap speaks first */
    sc_lua_charge(L, (long)n);
    for (lua_Integer i = 0; i < n; i++) {
        memcpy(out, s, l);
        out += l;
        if (lsep && i + 1 < n) {
            memcpy(out, sep, lsep);
            out += lsep;
        }
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

/* ---- table functions: the original does the work, after its steps are charged ---- */

static lua_Integer len_of(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TTABLE ? luaL_len(L, idx) : 0;
}

/* Runs the library's own function in this call's frame (so its errors name it as
 * before); none of the wrapped functions uses upvalues of its own. */
static int call_original(lua_State *L)
{
    return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

static lua_Integer span(lua_State *L, int from, int to, lua_Integer dflt_to)
{
    lua_Integer i = luaL_optinteger(L, from, 1);
    lua_Integer j = luaL_optinteger(L, to, dflt_to);
    if (j < i)
        return 0;
    lua_Unsigned d = (lua_Unsigned)j - (lua_Unsigned)i; /* exact: j >= i */
    return d >= (lua_Unsigned)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)d + 1;
}

static void charge_count(lua_State *L, lua_Integer n)
{
    sc_lua_charge(L, n > 0x3fffffffffff ? 0x3fffffffffffL : (long)n);
}

static void push_float_text(lua_State *L, int idx);

/* table.concat: floats become their round-trip text first (Lua's own uses %.14g). */
static int t_concat(lua_State *L)
{
    charge_count(L, span(L, 3, 4, len_of(L, 1)));
    if (lua_type(L, 1) != LUA_TTABLE)
        return call_original(L);
    lua_Integer i = luaL_optinteger(L, 3, 1), j = luaL_optinteger(L, 4, luaL_len(L, 1));
    lua_settop(L, 4);
    lua_newtable(L); /* a copy of t[i..j], floats as text */
    for (lua_Integer k = i; k <= j && k >= i; k++) {
        if (lua_geti(L, 1, k) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            push_float_text(L, -1);
            lua_remove(L, -2);
        }
        lua_seti(L, 5, k);
        if (k == LUA_MAXINTEGER)
            break;
    }
    lua_replace(L, 1);
    return call_original(L);
}

static int t_unpack(lua_State *L)
{
    charge_count(L, span(L, 2, 3, len_of(L, 1)));
    return call_original(L);
}

static int t_move(lua_State *L)
{
    charge_count(L, span(L, 2, 3, 0));
    return call_original(L);
}

static int t_insert_remove(lua_State *L)
{
    charge_count(L, len_of(L, 1));
    return call_original(L);
}

static int t_sort(lua_State *L)
{
    lua_Integer n = len_of(L, 1), log = 1;
    while (log < 62 && ((lua_Integer)1 << log) < n)
        log++;
    charge_count(L, n > LUA_MAXINTEGER / log ? LUA_MAXINTEGER : n * log);
    return call_original(L);
}

/* setmetatable without finalizers: __gc runs with hooks off, outside every limit. A
 * __gc set on the metatable later is never called (Lua marks at setmetatable time). */
static int b_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: a __gc finalizer is not allowed (it would run "
                                 "outside the sandbox's limits)");
        lua_pop(L, 1);
    }
    return call_original(L);
}

/* The message handler xpcall gets: the user's, unless the budget is spent. An error
 * raised by the hook reaches the handler with hooks off; running user code there would
 * run it outside every limit, so the limit error goes up unchanged instead. */
static int guarded_handler(lua_State *L)
{
    if (sc_lua_stopped(L)) {
        lua_settop(L, 1);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int b_xpcall(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    return call_original(L);
}

/* Pushes the text of the float at idx as a template renders it (lang/text.h): the
 * fewest digits that read back exactly (Lua's own %.14g turned 1234567890123.45 into
 * 1234567890123.4), 3 for 3.0, NaN/Infinity as the text rendering spells them. */
static void push_float_text(lua_State *L, int idx)
{
    char buf[32];
    size_t n = sc_text_number(lua_tonumber(L, idx), buf);
    lua_pushlstring(L, buf, n);
}

int sc_lua_lib_cat(lua_State *L)
{
    int t = lua_type(L, 1);
    if (t == LUA_TNUMBER && !lua_isinteger(L, 1)) {
        push_float_text(L, 1);
        return 1;
    }
    if (t == LUA_TNIL || t == LUA_TBOOLEAN || t == LUA_TNONE)
        return luaL_error(L, "attempt to concatenate a %s value (%s)", luaL_typename(L, 1),
                          luaL_optstring(L, 2, "?"));
    lua_settop(L, 1);
    return 1;
}

static int b_tostring(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TNUMBER && !lua_isinteger(L, 1)) {
        push_float_text(L, 1);
        return 1;
    }
    return call_original(L);
}

/* string.format: a float given to a plain %s gets the round-trip text as tostring. */
static int s_format(lua_State *L)
{
    const char *f = luaL_checkstring(L, 1);
    int arg = 1;
    for (const char *p = f; (p = strchr(p, '%')) != NULL;) {
        p++;
        if (*p == '%') {
            p++;
            continue;
        }
        arg++;
        p += strspn(p, "-+ #0123456789.");
        if (*p == 's' && p[-1] == '%' && lua_type(L, arg) == LUA_TNUMBER && !lua_isinteger(L, arg)) {
            push_float_text(L, arg);
            lua_replace(L, arg);
        }
        if (*p)
            p++;
    }
    return call_original(L);
}

static void wrap(lua_State *L, int lib, const char *name, lua_CFunction f)
{
    lua_getfield(L, lib, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, lib, name);
}

void sc_lua_lib_install(lua_State *L)
{
    static const luaL_Reg str[] = {{"find", l_find}, {"match", l_match}, {"gmatch", l_gmatch},
                                   {"gsub", l_gsub}, {"rep", l_rep},     {NULL, NULL}};
    lua_getglobal(L, "string");
    luaL_setfuncs(L, str, 0);
    wrap(L, lua_gettop(L), "format", s_format);
    lua_pop(L, 1);
    lua_getglobal(L, "table");
    int t = lua_gettop(L);
    wrap(L, t, "concat", t_concat);
    wrap(L, t, "unpack", t_unpack);
    wrap(L, t, "move", t_move);
    wrap(L, t, "insert", t_insert_remove);
    wrap(L, t, "remove", t_insert_remove);
    wrap(L, t, "sort", t_sort);
    lua_pop(L, 1);
    lua_pushglobaltable(L);
    wrap(L, lua_gettop(L), "setmetatable", b_setmetatable);
    wrap(L, lua_gettop(L), "xpcall", b_xpcall);
    wrap(L, lua_gettop(L), "tostring", b_tostring);
    lua_pop(L, 1);
}

/* ---- text helpers of the prelude (linear, charged per byte) ---- */

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* sc.trim(s): s without leading and trailing white space. */
static int h_trim(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    sc_lua_charge(L, (long)(n / 8 + 1));
    size_t a = 0, b = n;
    while (a < b && is_space((unsigned char)s[a]))
        a++;
    while (b > a && is_space((unsigned char)s[b - 1]))
        b--;
    lua_pushlstring(L, s + a, b - a);
    return 1;
}

/* sc.split(s, sep): a list of the pieces between each plain sep; sep "" splits into
 * UTF-8 characters (an invalid byte is a piece of its own). */
static int h_split(lua_State *L)
{
    size_t n, ls;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *sep = luaL_checklstring(L, 2, &ls);
    sc_lua_charge(L, (long)(n / 8 + 1));
    size_t pieces = 1; /* counted first: the list is allocated once */
    if (ls == 0) {
        pieces = 0;
        for (size_t i = 0; i < n; i++)
            pieces += ((unsigned char)s[i] & 0xc0) != 0x80;
    } else {
        for (const char *p = s; ls <= n - (size_t)(p - s) && (p = memmem(p, n - (size_t)(p - s), sep, ls));
             p += ls)
            pieces++;
    }
    lua_createtable(L, pieces < 0x7fffffff ? (int)pieces : 0x7fffffff, 0);
    lua_Integer k = 0;
    size_t pos = 0;
    if (ls == 0) {
        while (pos < n) {
            unsigned char c = (unsigned char)s[pos];
            size_t w = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            if (pos + w > n)
                w = n - pos;
            lua_pushlstring(L, s + pos, w);
            lua_rawseti(L, -2, ++k);
            pos += w;
        }
        sc_lua_charge(L, (long)k);
        return 1;
    }
    for (;;) {
        const char *hit = ls <= n - pos ? memmem(s + pos, n - pos, sep, ls) : NULL;
        size_t end = hit ? (size_t)(hit - s) : n;
        lua_pushlstring(L, s + pos, end - pos);
        lua_rawseti(L, -2, ++k);
        if (!hit)
            break;
        pos = end + ls;
    }
    sc_lua_charge(L, (long)k);
    return 1;
}

/* sc.replace(s, find, with): every plain occurrence of find replaced, left to right. */
static int h_replace(lua_State *L)
{
    size_t n, lf, lw;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *f = luaL_checklstring(L, 2, &lf);
    const char *w = luaL_checklstring(L, 3, &lw);
    sc_lua_charge(L, (long)(n / 8 + 1));
    if (lf == 0) {
        lua_settop(L, 1);
        return 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t pos = 0;
    long hits = 0;
    const char *hit;
    while (lf <= n - pos && (hit = memmem(s + pos, n - pos, f, lf))) {
        luaL_addlstring(&b, s + pos, (size_t)(hit - s) - pos);
        luaL_addlstring(&b, w, lw);
        pos = (size_t)(hit - s) + lf;
        if (++hits % 4096 == 0)
            sc_lua_charge(L, 4096 + (long)(lw * 4096 / 8));
    }
    luaL_addlstring(&b, s + pos, n - pos);
    luaL_pushresult(&b);
    return 1;
}

/* sc.secret_ref(name): the marker secret('name') renders to (lang/secret.h), never the
 * value, which only the request builder puts in place. */
static int h_secret_ref(lua_State *L)
{
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    if (!sc_secret_name_ok(name, n))
        return luaL_error(L, "secret: '%s' is not a secret's name (letters, digits, _ and -, "
                          "at most %d)", name, SC_SECRET_NAME_MAX);
    struct sc_buf b = {0};
    sc_secret_marker(&b, name, n);
    if (b.oom)
        return luaL_error(L, "not enough memory");
    lua_pushlstring(L, b.data, b.len);
    free(b.data);
    return 1;
}

void sc_lua_lib_text_helpers(lua_State *L)
{
    static const luaL_Reg f[] = {{"trim", h_trim}, {"split", h_split}, {"replace", h_replace},
                                 {"secret_ref", h_secret_ref}, {NULL, NULL}};
    luaL_setfuncs(L, f, 0);
}
