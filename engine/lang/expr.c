#include "lang/expr.h"
#include "util.h"

#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Level of a Lua long bracket "[==[" starting at s[i], or -1 if there is none. */
static int long_bracket(const char *s, size_t n, size_t i)
{
    if (i >= n || s[i] != '[')
        return -1;
    size_t j = i + 1;
    int level = 0;
    while (j < n && s[j] == '=') {
        level++;
        j++;
    }
    return j < n && s[j] == '[' ? level : -1;
}

/* Index just after the long string/comment body opened at s[i] with the given level. */
static size_t skip_long(const char *s, size_t n, size_t i, int level)
{
    for (size_t j = i + (size_t)level + 2; j < n; j++) {
        if (s[j] != ']')
            continue;
        size_t k = j + 1;
        int l = 0;
        while (k < n && s[k] == '=') {
            l++;
            k++;
        }
        if (l == level && k < n && s[k] == ']')
            return k + 1;
    }
    return n;
}

/* If a string or comment starts at s[i], the index after it; else i. */
static size_t skip_literal(const char *s, size_t n, size_t i)
{
    char c = s[i];
    if (c == '"' || c == '\'') {
        for (size_t j = i + 1; j < n; j++) {
            if (s[j] == '\\')
                j++;
            else if (s[j] == c || s[j] == '\n')
                return j + 1;
        }
        return n;
    }
    int level = long_bracket(s, n, i);
    if (level >= 0)
        return skip_long(s, n, i, level);
    if (c == '-' && i + 1 < n && s[i + 1] == '-') {
        level = long_bracket(s, n, i + 2);
        if (level >= 0)
            return skip_long(s, n, i + 2, level);
        const char *nl = memchr(s + i, '\n', n - i);
        return nl ? (size_t)(nl - s) + 1 : n;
    }
    return i;
}

/* Skips what a name scanner passes over at i: a string literal or comment (prev '"'), white
 * space, or a '..' concatenation (prev '+': what follows is no field access). False when
 * s[i] is none of them. */
static bool skip_trivia(const char *s, size_t n, size_t *i, char *prev)
{
    size_t k = skip_literal(s, n, *i);
    if (k != *i) {
        *i = k;
        *prev = '"';
        return true;
    }
    if (isspace((unsigned char)s[*i])) {
        (*i)++;
        return true;
    }
    if (s[*i] == '.' && *i + 1 < n && s[*i + 1] == '.') {
        while (*i < n && s[*i] == '.')
            (*i)++;
        *prev = '+';
        return true;
    }
    return false;
}

bool sc_expr_has_template(const char *s) { return strstr(s, "{{") != NULL; }

static bool add_part(struct sc_tmpl_part **parts, size_t *np, size_t *cap, size_t off,
                     size_t len, bool is_expr)
{
    if (*np == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        struct sc_tmpl_part *v = sc_realloc(*parts, c * sizeof *v);
        if (!v)
            return false;
        *parts = v;
        *cap = c;
    }
    (*parts)[(*np)++] = (struct sc_tmpl_part){off, len, is_expr};
    return true;
}

int sc_expr_scan(const char *s, size_t n, struct sc_tmpl_part **parts, size_t *nparts,
                 const char **err, size_t *err_off, size_t *err_len)
{
    size_t cap = 0, np = 0, i = 0, text = 0;
    *parts = NULL;
    *nparts = 0;
    while (i < n) {
        if (!(s[i] == '{' && i + 1 < n && s[i + 1] == '{')) {
            i++;
            continue;
        }
        if (i > text && !add_part(parts, &np, &cap, text, i - text, false))
            goto oom;
        size_t open = i, j = i + 2;
        int depth = 0;
        bool closed = false;
        while (j < n) {
            size_t k = skip_literal(s, n, j);
            if (k != j) {
                j = k;
                continue;
            }
            if (s[j] == '{') {
                depth++;
            } else if (s[j] == '}') {
                if (depth == 0 && j + 1 < n && s[j + 1] == '}') {
                    closed = true;
                    break;
                }
                if (depth > 0)
                    depth--;
            }
            j++;
        }
        if (!closed) {
            *err = "'{{' is never closed by '}}'";
            *err_off = open;
            *err_len = 2;
            goto fail;
        }
        size_t a = open + 2, b = j;
        while (a < b && isspace((unsigned char)s[a]))
            a++;
        while (b > a && isspace((unsigned char)s[b - 1]))
            b--;
        if (a == b) {
            *err = "empty expression between '{{' and '}}'";
            *err_off = open;
            *err_len = j + 2 - open;
            goto fail;
        }
        if (b - a > SC_EXPR_MAX_LEN) {
            *err = "expression is longer than the limit of 8192 bytes";
            *err_off = open;
            *err_len = 2;
            goto fail;
        }
        if (!add_part(parts, &np, &cap, a, b - a, true))
            goto oom;
        i = text = j + 2;
    }
    if (n > text && !add_part(parts, &np, &cap, text, n - text, false))
        goto oom;
    *nparts = np;
    return 0;
oom:
    *err = "out of memory";
    *err_off = 0;
    *err_len = 0;
fail:
    free(*parts);
    *parts = NULL;
    return -1;
}

bool sc_expr_is_whole(const struct sc_tmpl_part *parts, size_t nparts)
{
    return nparts == 1 && parts[0].is_expr;
}

/* A field named as a Lua keyword (poll.until, period.end) cannot follow a dot in Lua:
 * the length of ".word" when s + i starts one, else 0. */
static size_t keyword_field(const char *s, size_t n, size_t i, size_t *w0, size_t *w1)
{
    static const char *const words[] = {"and", "break", "do", "else", "elseif", "end", "false",
                                        "for", "function", "goto", "if", "in", "local", "nil",
                                        "not", "or", "repeat", "return", "then", "true", "until",
                                        "while"};
    if (s[i] != '.' || (i > 0 && s[i - 1] == '.') || (i + 1 < n && s[i + 1] == '.'))
        return 0;
    size_t j = i + 1;
    while (j < n && (s[j] == ' ' || s[j] == '\t'))
        j++;
    size_t k = j;
    while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_'))
        k++;
    if (k == j || isdigit((unsigned char)s[j]))
        return 0;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
        if (strlen(words[w]) == k - j && !memcmp(s + j, words[w], k - j)) {
            *w0 = j;
            *w1 = k;
            return k - i;
        }
    return 0;
}

char *sc_expr_rewrite(const char *s, size_t n)
{
    struct sc_buf b = {0};
    size_t i = 0;
    char prev = 0;
    while (i < n) {
        size_t k = skip_literal(s, n, i);
        if (k != i) {
            sc_buf_add(&b, s + i, k - i);
            i = k;
            prev = '"';
            continue;
        }
        if (s[i] == 'i' && i + 2 < n && s[i + 1] == 'f' && s[i + 2] == '(' && prev != '.' &&
            prev != ':' && !(i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))) {
            sc_buf_puts(&b, "iif(");
            i += 3;
            prev = '(';
            continue;
        }
        size_t w0, w1, kw = keyword_field(s, n, i, &w0, &w1);
        if (kw) { /* .until -> ["until"] */
            sc_buf_puts(&b, "[\"");
            sc_buf_add(&b, s + w0, w1 - w0);
            sc_buf_puts(&b, "\"]");
            i += kw;
            prev = ']';
            continue;
        }
        if (!isspace((unsigned char)s[i]))
            prev = s[i];
        sc_buf_add(&b, s + i, 1);
        i++;
    }
    return sc_buf_take(&b);
}

static bool ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

static void trim_span(const char *s, size_t *a, size_t *b)
{
    while (*a < *b && isspace((unsigned char)s[*a]))
        (*a)++;
    while (*b > *a && isspace((unsigned char)s[*b - 1]))
        (*b)--;
}

/* Filters of Jinja, Pebble and Liquid whose scenarist function has another name. */
static const char *const filter_names[][2] = {
    {"default", "ifempty"}, {"d", "ifempty"},      {"count", "length"}, {"size", "length"},
    {"strip", "trim"},      {"unique", "distinct"}, {"uniq", "distinct"}, {"date", "formatDate"},
    {NULL, NULL},
};

/* Appends the scenarist function for the filter s[a, e); false (and *unknown set to the
 * name) when known says there is none. */
static bool filter_function(const char *s, size_t a, size_t e, sc_expr_known_fn known, void *ud,
                            struct sc_buf *out, char unknown[64])
{
    for (int i = 0; filter_names[i][0]; i++)
        if (strlen(filter_names[i][0]) == e - a && memcmp(s + a, filter_names[i][0], e - a) == 0) {
            sc_buf_puts(out, filter_names[i][1]);
            return true;
        }
    snprintf(unknown, 64, "%.*s", (int)(e - a), s + a);
    if (known && e - a < 64 && !known(ud, unknown))
        return false;
    sc_buf_add(out, s + a, e - a);
    return true;
}

/* Jinja/Pebble filters ("x | upper", "x | replace('a', 'b')") read as Lua's bitwise or:
 * rewrites each top-level "| name" or "| name(args)" into a call, upper(x). Returns 1
 * with the call in err when expr uses a filter, else 0. */
static int filter_hint(const char *s, size_t n, sc_expr_known_fn known, void *ud, char *err,
                       size_t errlen)
{
    size_t bars[16], nb = 0;
    int depth = 0;
    for (size_t i = 0; i < n;) {
        size_t k = skip_literal(s, n, i);
        if (k != i) {
            i = k;
            continue;
        }
        if (s[i] == '(' || s[i] == '[' || s[i] == '{')
            depth++;
        else if ((s[i] == ')' || s[i] == ']' || s[i] == '}') && depth > 0)
            depth--;
        else if (s[i] == '|' && depth == 0 && nb < 16)
            bars[nb++] = i;
        i++;
    }
    if (nb == 0)
        return 0;
    struct sc_buf call = {0};
    size_t a = 0, e = bars[0];
    trim_span(s, &a, &e);
    sc_buf_add(&call, s + a, e - a);
    for (size_t j = 0; j < nb; j++) {
        size_t fa = bars[j] + 1, fe = j + 1 < nb ? bars[j + 1] : n;
        trim_span(s, &fa, &fe);
        size_t id = fa;
        while (id < fe && ident_char(s[id]))
            id++;
        if (id == fa || !ident_start(s[fa]) || (id < fe && s[id] != '(') ||
            (id < fe && s[fe - 1] != ')')) {
            sc_buf_free(&call);
            return 0; /* not "name" or "name(args)": a real bitwise or, or another mistake */
        }
        struct sc_buf next = {0};
        char unknown[64];
        if (!filter_function(s, fa, id, known, ud, &next, unknown)) {
            snprintf(err, errlen, "'|' is not a filter in scenarist expressions (it is Lua's "
                     "bitwise or), and there is no function '%s': call one of the prelude's "
                     "functions (docs/scenario-format.md), as in {{ upper(x) }}", unknown);
            sc_buf_free(&next);
            sc_buf_free(&call);
            return 1;
        }
        sc_buf_puts(&next, "(");
        sc_buf_add(&next, call.data ? call.data : "", call.len);
        size_t aa = id + 1, ae = fe - 1;
        if (id < fe)
            trim_span(s, &aa, &ae);
        if (id < fe && ae > aa) {
            sc_buf_puts(&next, ", ");
            sc_buf_add(&next, s + aa, ae - aa);
        }
        sc_buf_puts(&next, ")");
        sc_buf_free(&call);
        call = next;
    }
    snprintf(err, errlen, "'|' is not a filter in scenarist expressions (it is Lua's bitwise or); "
             "call the function instead: {{ %s }}", call.data ? call.data : "");
    sc_buf_free(&call);
    return 1;
}

/* Lua's message about "return (code\n)" in the user's terms: the parenthesis is ours. */
static void user_terms(const char *code, const char *msg, char *err, size_t errlen)
{
    int lines = 2, at = 0;
    for (const char *p = code; *p; p++)
        lines += *p == '\n';
    if (strncmp(msg, "expr:", 5) == 0) {
        at = atoi(msg + 5);
        const char *colon = strchr(msg + 5, ':');
        if (colon)
            msg = colon + 1 + (colon[1] == ' ');
    }
    int open = 0;
    for (size_t i = 0, n = strlen(code); i < n;) {
        size_t k = skip_literal(code, n, i);
        if (k != i) {
            i = k;
            continue;
        }
        open += code[i] == '(' ? 1 : code[i] == ')' ? -1 : 0;
        i++;
    }
    const char *near = strstr(msg, " near ");
    if (at == lines && near && strcmp(near, " near ')'") == 0) {
        size_t e = strlen(code), t;
        while (e > 0 && isspace((unsigned char)code[e - 1]))
            e--;
        for (t = e; t > 0 && (ident_char(code[t - 1]) ? ident_char(code[e - 1])
                                                      : ispunct((unsigned char)code[t - 1]) &&
                                                            !ident_char(code[e - 1]));)
            t--;
        snprintf(err, errlen, "it ends after '%.*s', where a %s is expected", (int)(e - t),
                 code + t, strncmp(msg, "<name>", 6) == 0 ? "name" : "value");
    } else if (open == 0 && near && strncmp(msg, "')' expected", 12) == 0) {
        snprintf(err, errlen, "unexpected %s: the expression is already complete before it "
                 "(a missing operator?)", near + 6);
    } else if (at == lines && near) {
        const char *l1 = lines == 2 ? strstr(msg, " at line 1)") : NULL; /* one-line: no line */
        if (l1 && l1 < near)
            snprintf(err, errlen, "%.*s) at the end of the expression", (int)(l1 - msg), msg);
        else
            snprintf(err, errlen, "%.*s at the end of the expression", (int)(near - msg), msg);
    } else {
        snprintf(err, errlen, "%s", msg);
    }
}

int sc_expr_check_syntax(lua_State *L, const char *expr, size_t n, char *err, size_t errlen)
{
    return sc_expr_check_syntax_in(L, expr, n, NULL, NULL, err, errlen);
}

int sc_expr_check_syntax_in(lua_State *L, const char *expr, size_t n, sc_expr_known_fn known,
                            void *ud, char *err, size_t errlen)
{
    if (filter_hint(expr, n, known, ud, err, errlen))
        return -1;
    struct sc_buf b = {0};
    char *code = sc_expr_rewrite(expr, n);
    if (!code) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sc_buf_puts(&b, "return (");
    sc_buf_puts(&b, code);
    sc_buf_puts(&b, "\n)"); /* the newline ends a trailing "--" comment before the paren */
    if (b.oom) {
        snprintf(err, errlen, "out of memory");
        sc_buf_free(&b);
        free(code);
        return -1;
    }
    int rc = luaL_loadbufferx(L, b.data, b.len, "=expr", "t");
    sc_buf_free(&b);
    if (rc == LUA_OK) {
        lua_pop(L, 1);
        free(code);
        return 0;
    }
    const char *msg = lua_tostring(L, -1);
    user_terms(code, msg ? msg : "syntax error", err, errlen);
    free(code);
    lua_pop(L, 1);
    return -1;
}


static size_t skip_space(const char *s, size_t n, size_t i)
{
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    return i;
}

void sc_expr_step_refs(const char *s, size_t n, sc_expr_ref_fn fn, void *ud)
{
    char prev = 0; /* last significant character, to tell "steps" from "x.steps" */
    size_t i = 0;
    while (i < n) {
        if (skip_trivia(s, n, &i, &prev))
            continue;
        if (!ident_start(s[i])) {
            if (isdigit((unsigned char)s[i])) {
                while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.'))
                    i++;
                prev = '0';
                continue;
            }
            prev = s[i++];
            continue;
        }
        size_t start = i;
        while (i < n && ident_char(s[i]))
            i++;
        bool is_steps = i - start == 5 && memcmp(s + start, "steps", 5) == 0 && prev != '.' &&
                        prev != ':';
        prev = 'a';
        if (!is_steps)
            continue;
        size_t j = skip_space(s, n, i);
        char name[128];
        size_t end = 0;
        if (j < n && s[j] == '.') {
            j = skip_space(s, n, j + 1);
            size_t a = j;
            while (j < n && ident_char(s[j]))
                j++;
            if (j == a || j - a >= sizeof name)
                continue;
            memcpy(name, s + a, j - a);
            name[j - a] = '\0';
            end = j;
        } else if (j < n && s[j] == '[') {
            j = skip_space(s, n, j + 1);
            if (j >= n || (s[j] != '"' && s[j] != '\''))
                continue;
            char q = s[j];
            size_t a = j + 1, b = a;
            while (b < n && s[b] != q && s[b] != '\\')
                b++;
            if (b >= n || s[b] != q || b - a >= sizeof name)
                continue;
            memcpy(name, s + a, b - a);
            name[b - a] = '\0';
            j = skip_space(s, n, b + 1);
            if (j >= n || s[j] != ']')
                continue;
            end = j + 1;
        } else {
            continue;
        }
        fn(ud, name, start, end - start);
        i = end;
    }
}

/* Names scenarist's Lua does not have: the standard library's ways out of the sandbox. */
static const char *const unavailable[] = {"os", "io", "require", "load", "loadstring", "dofile",
                                          "loadfile", "debug", "package", "collectgarbage",
                                          "print", "coroutine", "rawset", NULL};

bool sc_expr_unavailable(const char *name, size_t len)
{
    for (int i = 0; unavailable[i]; i++)
        if (strlen(unavailable[i]) == len && memcmp(unavailable[i], name, len) == 0)
            return true;
    return false;
}

static bool is_word(const char *s, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(s, w, len) == 0;
}

/* Local names in scope while scanning Lua code, with the block depth they belong to. */
struct scope {
    struct {
        const char *name;
        size_t len;
        int depth;
    } v[256];
    size_t n;
    int depth;
};

static void scope_add(struct scope *sc, const char *name, size_t len, int depth)
{
    if (sc->n < sizeof sc->v / sizeof sc->v[0]) {
        sc->v[sc->n].name = name;
        sc->v[sc->n].len = len;
        sc->v[sc->n].depth = depth;
        sc->n++;
    }
}

/* Leaves blocks down to depth: their locals go out of scope. */
static void scope_close(struct scope *sc, int depth)
{
    sc->depth = depth < 0 ? 0 : depth;
    while (sc->n > 0 && sc->v[sc->n - 1].depth > sc->depth)
        sc->n--;
}

static bool scope_has(const struct scope *sc, const char *name, size_t len)
{
    for (size_t i = 0; i < sc->n; i++)
        if (sc->v[i].len == len && memcmp(sc->v[i].name, name, len) == 0)
            return true;
    return false;
}

/* Reports one use of an unavailable name at s[start, i): "os.execute" when a field
 * follows. Returns where scanning goes on. */
static size_t report_use(const char *s, size_t n, size_t start, size_t i, sc_expr_ref_fn fn,
                         void *ud)
{
    size_t j = skip_space(s, n, i), end = i;
    if (j < n && (s[j] == '.' || s[j] == ':')) {
        size_t a = skip_space(s, n, j + 1), b = a;
        while (b < n && ident_char(s[b]))
            b++;
        if (b > a)
            end = b;
    }
    char name[128];
    size_t w = 0;
    for (size_t x = start; x < end && w < sizeof name - 1; x++) /* "os . execute" reads "os.execute" */
        if (!isspace((unsigned char)s[x]))
            name[w++] = s[x];
    name[w] = '\0';
    fn(ud, name, start, end - start);
    return end;
}

static bool is_keyword(const char *w, size_t len)
{
    static const char *const kw[] = {"and", "break", "do", "else", "elseif", "end", "false",
                                     "for", "function", "goto", "if", "in", "local", "nil",
                                     "not", "or", "repeat", "return", "then", "true", "until",
                                     "while", NULL};
    for (int i = 0; kw[i]; i++)
        if (is_word(w, len, kw[i]))
            return true;
    return false;
}

/* One use of a global name at s[start, i) that is not assigned: an unavailable name
 * (mode 0; reported with its field, "os.execute") or a name called or indexed (mode 1;
 * reported alone). Returns where scanning goes on. */
static size_t global_use(const char *s, size_t n, size_t start, size_t i, int mode,
                         sc_expr_ref_fn fn, void *ud)
{
    const char *w = s + start;
    size_t len = i - start, j = skip_space(s, n, i);
    if (j < n && s[j] == '=' && (j + 1 >= n || s[j + 1] != '='))
        return i; /* a table key or an assignment: not a use */
    if (mode == 0)
        return sc_expr_unavailable(w, len) ? report_use(s, n, start, i, fn, ud) : i;
    bool implicit = is_word(w, len, "_ENV") || is_word(w, len, "self"); /* Lua declares these */
    if (j < n && strchr("(.:[", s[j]) && !is_keyword(w, len) && !implicit &&
        !sc_expr_unavailable(w, len) && len < 128) {
        char name[128];
        memcpy(name, w, len);
        name[len] = '\0';
        fn(ud, name, start, len);
    }
    return i;
}

/* Walks Lua code for the globals it uses (not fields, keys or declared locals). */
static void walk_globals(const char *s, size_t n, int mode, sc_expr_ref_fn fn, void *ud)
{
    struct scope sc = {.n = 0, .depth = 0};
    char prev = 0;
    int declaring = -1; /* after local/for: names declared at this depth, until = in do */
    int params = 0;     /* inside a function's parameter list */
    size_t i = 0;
    while (i < n) {
        if (skip_trivia(s, n, &i, &prev))
            continue;
        if (!ident_start(s[i])) {
            if (isdigit((unsigned char)s[i])) {
                while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.'))
                    i++;
                prev = '0';
                continue;
            }
            if (s[i] == ')' && params)
                params = 0;
            else if (s[i] != ',' && !params)
                declaring = -1;
            prev = s[i++];
            continue;
        }
        size_t start = i;
        while (i < n && ident_char(s[i]))
            i++;
        const char *w = s + start;
        size_t len = i - start;
        bool field = prev == '.' || prev == ':';
        prev = 'a';
        if (field)
            continue;
        if (is_word(w, len, "local")) {
            declaring = sc.depth;
        } else if (is_word(w, len, "for")) {
            declaring = sc.depth + 1; /* visible inside the loop's block */
        } else if (is_word(w, len, "function")) {
            size_t j = skip_space(s, n, i), b = j;
            while (b < n && ident_char(s[b]))
                b++;
            if (declaring >= 0 && b > j)
                scope_add(&sc, s + j, b - j, declaring); /* local function NAME */
            declaring = -1;
            while (j < n && s[j] != '(')
                j++;
            sc.depth++;
            params = 1;
            i = j < n ? j + 1 : n;
        } else if (is_word(w, len, "do") || is_word(w, len, "then") || is_word(w, len, "repeat")) {
            sc.depth++;
            declaring = -1;
        } else if (is_word(w, len, "end") || is_word(w, len, "until") || is_word(w, len, "elseif")) {
            scope_close(&sc, sc.depth - 1);
            declaring = -1;
        } else if (is_word(w, len, "else")) {
            scope_close(&sc, sc.depth - 1);
            sc.depth++;
        } else if (is_word(w, len, "in")) {
            declaring = -1;
        } else if (params) {
            scope_add(&sc, w, len, sc.depth);
        } else if (declaring >= 0) {
            scope_add(&sc, w, len, declaring);
        } else if (!scope_has(&sc, w, len)) {
            i = global_use(s, n, start, i, mode, fn, ud);
        }
    }
}

void sc_expr_unavailable_refs(const char *s, size_t n, sc_expr_ref_fn fn, void *ud)
{
    walk_globals(s, n, 0, fn, ud);
}

void sc_expr_global_calls(const char *s, size_t n, sc_expr_ref_fn fn, void *ud)
{
    walk_globals(s, n, 1, fn, ud);
}

const char *sc_expr_unavailable_message(const char *name)
{
    static _Thread_local char msg[256];
    snprintf(msg, sizeof msg, "'%s' is not available in the Lua sandbox (expressions and "
             "transforms have no os, io, debug, require, load or dofile)", name);
    return msg;
}
