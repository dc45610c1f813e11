/* The ".." operand rewriter: see concat.h. A token scan, not a parser: each operand
 * is the run of tokens on either side of ".." that binds tighter than it (brackets
 * balanced), ending at a lower operator, a separator, a keyword or a new statement. */
#define _GNU_SOURCE /* memmem */
#include "lang/concat.h"

#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CAT_SOURCE_MAX 60 /* bytes of an operand's text kept for messages */

enum tok_kind { T_NAME, T_KEYWORD, T_NUMBER, T_STRING, T_OP };

struct tok {
    size_t a, b; /* [a, b) in the code */
    enum tok_kind kind;
};

struct toks {
    struct tok *v;
    size_t n, cap;
};

/* Level of a long bracket "[==[" at i (its '='s), or -1. */
static int long_level(const char *s, size_t n, size_t i)
{
    if (i >= n || s[i] != '[')
        return -1;
    size_t j = i + 1;
    while (j < n && s[j] == '=')
        j++;
    return j < n && s[j] == '[' ? (int)(j - i - 1) : -1;
}

static size_t skip_long(const char *s, size_t n, size_t i, int level)
{
    for (i += (size_t)level + 2; i < n; i++) {
        if (s[i] != ']')
            continue;
        size_t j = i + 1;
        while (j < n && s[j] == '=')
            j++;
        if (j < n && s[j] == ']' && (int)(j - i - 1) == level)
            return j + 1;
    }
    return n;
}

static size_t skip_quoted(const char *s, size_t n, size_t i)
{
    char q = s[i++];
    while (i < n && s[i] != q && s[i] != '\n')
        i += s[i] == '\\' && i + 1 < n ? 2 : 1;
    return i < n ? i + 1 : n;
}

static size_t skip_number(const char *s, size_t n, size_t i)
{
    bool hex = s[i] == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X');
    for (; i < n; i++) {
        char c = s[i];
        if ((c == 'e' || c == 'E' || ((c == 'p' || c == 'P') && hex)) && i + 1 < n &&
            (s[i + 1] == '+' || s[i + 1] == '-') && !(hex && (c == 'e' || c == 'E')))
            i++;
        else if (!isalnum((unsigned char)c) && c != '_' && c != '.')
            break;
    }
    return i;
}

static bool is_keyword(const char *w, size_t len)
{
    static const char *const kw[] = {"and", "break", "do", "else", "elseif", "end", "false",
                                     "for", "function", "goto", "if", "in", "local", "nil",
                                     "not", "or", "repeat", "return", "then", "true", "until",
                                     "while", NULL};
    for (int i = 0; kw[i]; i++)
        if (strlen(kw[i]) == len && memcmp(kw[i], w, len) == 0)
            return true;
    return false;
}

/* Length of the operator at i (longest first), at least 1. */
static size_t op_len(const char *s, size_t n, size_t i)
{
    static const char *const ops[] = {"...", "..", "==", "~=", "<=", ">=", "//", "::", "<<",
                                      ">>", NULL};
    for (int k = 0; ops[k]; k++) {
        size_t l = strlen(ops[k]);
        if (i + l <= n && memcmp(s + i, ops[k], l) == 0)
            return l;
    }
    return 1;
}

/* Splits code into tokens, skipping white space and comments. false on out of memory. */
static bool lex(const char *s, size_t n, struct toks *t)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            i++;
            continue;
        }
        if (c == '-' && i + 1 < n && s[i + 1] == '-') {
            int lv = long_level(s, n, i + 2);
            if (lv >= 0) {
                i = skip_long(s, n, i + 2, lv);
            } else {
                while (i < n && s[i] != '\n')
                    i++;
            }
            continue;
        }
        struct tok k = {i, i, T_OP};
        int lv = long_level(s, n, i);
        if (c == '"' || c == '\'' || lv >= 0) {
            k.kind = T_STRING;
            k.b = lv >= 0 ? skip_long(s, n, i, lv) : skip_quoted(s, n, i);
        } else if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
            k.kind = T_NUMBER;
            k.b = skip_number(s, n, i);
        } else if (isalpha(c) || c == '_' || c >= 0x80) {
            k.b = i + 1;
            while (k.b < n && (isalnum((unsigned char)s[k.b]) || s[k.b] == '_' ||
                               (unsigned char)s[k.b] >= 0x80))
                k.b++;
            k.kind = is_keyword(s + i, k.b - i) ? T_KEYWORD : T_NAME;
        } else {
            k.b = i + op_len(s, n, i);
        }
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 64;
            struct tok *v = realloc(t->v, cap * sizeof *v);
            if (!v)
                return false;
            t->v = v;
            t->cap = cap;
        }
        t->v[t->n++] = k;
        i = k.b;
    }
    return true;
}

static bool is(const char *s, const struct tok *k, const char *text)
{
    size_t l = strlen(text);
    return k->b - k->a == l && memcmp(s + k->a, text, l) == 0;
}

/* True when the token can end an expression (a value, a closing bracket). */
static bool ends_value(const char *s, const struct tok *k)
{
    if (k->kind == T_NAME || k->kind == T_NUMBER || k->kind == T_STRING)
        return true;
    if (k->kind == T_KEYWORD)
        return is(s, k, "nil") || is(s, k, "true") || is(s, k, "false");
    return is(s, k, ")") || is(s, k, "]") || is(s, k, "}") || is(s, k, "...");
}

/* True when the token starts a value that cannot continue the one before it (a string,
 * '(' or '{' after a value is a call, so those continue it). */
static bool starts_new(const char *s, const struct tok *k)
{
    if (k->kind == T_NAME || k->kind == T_NUMBER)
        return true;
    return k->kind == T_KEYWORD && (is(s, k, "nil") || is(s, k, "true") || is(s, k, "false") ||
                                    is(s, k, "not") || is(s, k, "function"));
}

/* True when token i ends an operand of ".." at bracket depth 0: an operator binding
 * less tightly, a separator, a statement keyword, or ".." itself. */
static bool stops(const char *s, const struct toks *t, size_t i)
{
    const struct tok *k = &t->v[i];
    if (k->kind == T_KEYWORD)
        return !(is(s, k, "nil") || is(s, k, "true") || is(s, k, "false") || is(s, k, "not"));
    if (k->kind != T_OP)
        return false;
    static const char *const low[] = {"..", "==", "~=", "<", ">", "<=", ">=", "|", "&", "<<",
                                      ">>", ",", ";", "=", "::", NULL};
    for (int j = 0; low[j]; j++)
        if (is(s, k, low[j]))
            return true;
    return is(s, k, "~") && i > 0 && ends_value(s, &t->v[i - 1]); /* binary: xor */
}

static bool opener(const char *s, const struct tok *k)
{
    return k->kind == T_OP && (is(s, k, "(") || is(s, k, "[") || is(s, k, "{"));
}

static bool closer(const char *s, const struct tok *k)
{
    return k->kind == T_OP && (is(s, k, ")") || is(s, k, "]") || is(s, k, "}"));
}

/* First token of the operand ending at token i (i itself when nothing binds). */
static size_t operand_start(const char *s, const struct toks *t, size_t i)
{
    size_t first = i + 1;
    int depth = 0;
    for (size_t j = i + 1; j-- > 0;) {
        const struct tok *k = &t->v[j];
        if (depth > 0) {
            depth += closer(s, k) - opener(s, k);
        } else if (closer(s, k)) {
            depth = 1;
        } else if (opener(s, k) || stops(s, t, j)) {
            break;
        } else if (first <= i && ends_value(s, k) && starts_new(s, &t->v[first])) {
            break; /* the value belongs to the statement before */
        }
        first = j;
        if (depth < 0)
            break;
    }
    return first;
}

/* Last token of the operand starting at token i, or i - 1 when there is none; *next_cat
 * tells whether ".." follows it. */
static size_t operand_end(const char *s, const struct toks *t, size_t i, bool *next_cat)
{
    size_t last = i - 1;
    int depth = 0;
    *next_cat = false;
    for (size_t j = i; j < t->n; j++) {
        const struct tok *k = &t->v[j];
        if (depth > 0) {
            depth += opener(s, k) - closer(s, k);
        } else if (opener(s, k)) {
            depth = 1;
        } else if (closer(s, k) || stops(s, t, j)) {
            *next_cat = is(s, k, "..");
            break;
        } else if (j > i && ends_value(s, &t->v[last]) && starts_new(s, k)) {
            break;
        }
        last = j;
    }
    return last;
}

/* Appends '), "<text of tokens a..b>")': the operand's source, for messages. */
static void close_operand(struct sc_buf *o, const char *s, const struct toks *t, size_t a, size_t b)
{
    size_t from = t->v[a].a, to = t->v[b].b;
    sc_buf_puts(o, "), \"");
    size_t len = to - from > CAT_SOURCE_MAX ? CAT_SOURCE_MAX : to - from;
    while (len > 0 && len < to - from && ((unsigned char)s[from + len] & 0xc0) == 0x80)
        len--; /* not inside a UTF-8 character */
    for (size_t i = from; i < from + len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            sc_buf_printf(o, "\\%c", c);
        else
            sc_buf_add(o, c < 0x20 || c == 0x7f ? " " : s + i, 1);
    }
    sc_buf_puts(o, len < to - from ? "...\")" : "\")");
}

/* An operand spans tokens [a, b]: opens[a] counts the calls starting there, and
 * starts[b] = a + 1 (0: none). Operands nest inside brackets only, so no two share
 * an end; should they, the second stays as written. */
static void mark(size_t *opens, size_t *starts, size_t a, size_t b)
{
    if (starts[b])
        return;
    opens[a]++;
    starts[b] = a + 1;
}

static void mark_operands(const char *s, const struct toks *t, size_t *opens, size_t *starts)
{
    for (size_t i = 0; i < t->n; i++) {
        if (!is(s, &t->v[i], ".."))
            continue;
        if (i > 0) {
            size_t a = operand_start(s, t, i - 1);
            if (a <= i - 1)
                mark(opens, starts, a, i - 1);
        }
        bool next_cat;
        size_t b = operand_end(s, t, i + 1, &next_cat);
        if (b >= i + 1 && b < t->n && !next_cat)
            mark(opens, starts, i + 1, b);
    }
}

char *sc_concat_rewrite(const char *code, size_t n)
{
    struct toks t = {0};
    if (!memmem(code, n, "..", 2) || !lex(code, n, &t)) {
        free(t.v);
        return NULL;
    }
    size_t *opens = calloc(2 * (t.n + 1), sizeof *opens), *starts = opens + t.n + 1;
    if (!opens) {
        free(t.v);
        return NULL;
    }
    mark_operands(code, &t, opens, starts);
    struct sc_buf o = {0};
    size_t done = 0; /* bytes of code copied */
    for (size_t i = 0; i < t.n; i++) {
        sc_buf_add(&o, code + done, t.v[i].a - done);
        for (size_t k = 0; k < opens[i]; k++)
            sc_buf_puts(&o, SC_CONCAT_FN "(("); /* one value, as ".." takes, even of f() or ... */
        sc_buf_add(&o, code + t.v[i].a, t.v[i].b - t.v[i].a);
        if (starts[i])
            close_operand(&o, code, &t, starts[i] - 1, i);
        done = t.v[i].b;
    }
    sc_buf_add(&o, code + done, n - done);
    free(opens);
    free(t.v);
    return sc_buf_take(&o);
}
