/* The secrets a database address may carry: found (to refuse them) and masked (to show
 * text that may quote one). See conninfo.h. */
#include "conninfo.h"

#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MASK "***"
#define MASK_LEN 3

/* A written secret: text[a, b). */
struct span {
    size_t a, b;
    enum sc_conninfo_pw kind;
};

static bool is_one_of(char c, const char *set) { return c && strchr(set, c); }

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* s[a, b) percent-decoded (as libpq decodes a URI's query) into out[n], lowered when
 * asked. */
static void decode_as(const char *s, size_t a, size_t b, char *out, size_t n, bool lower)
{
    size_t k = 0;
    while (a < b && k + 1 < n) {
        int h = a + 2 < b ? hex(s[a + 1]) : -1, l = a + 2 < b ? hex(s[a + 2]) : -1;
        int c = (unsigned char)s[a++];
        if (c == '%' && h >= 0 && l >= 0) {
            c = h * 16 + l;
            a += 2;
        }
        out[k++] = (char)(lower ? tolower(c) : c);
    }
    out[k] = '\0';
}

static void decode(const char *s, size_t a, size_t b, char *out, size_t n)
{
    decode_as(s, a, b, out, n, true);
}

/* At s[i] = "://": the userinfo's password (USER:PASSWORD@), up to the authority's end. */
static bool userinfo_at(const char *s, size_t len, size_t i, struct span *sp)
{
    size_t auth = i + 3, at = 0;
    bool have = false;
    for (size_t e = auth; e < len && !is_one_of(s[e], "/?# \t\r\n\"'`<>"); e++)
        if (s[e] == '@') {
            at = e;
            have = true;
        }
    const char *colon = have ? memchr(s + auth, ':', at - auth) : NULL;
    if (!colon || (size_t)(colon - s) + 1 >= at)
        return false;
    *sp = (struct span){(size_t)(colon - s) + 1, at, SC_CONNINFO_PW_USERINFO};
    return true;
}

/* The end of the value starting at s[v]: a single-quoted one (backslash escapes, as in a
 * key=value string) with its quotes, else up to a separator. */
static size_t value_end(const char *s, size_t len, size_t v)
{
    size_t e = v;
    if (e < len && s[e] == '\'') {
        for (e++; e < len && s[e] != '\''; e++)
            if (s[e] == '\\' && e + 1 < len)
                e++;
        return e < len ? e + 1 : e;
    }
    while (e < len && !is_one_of(s[e], "&# \t\r\n\"'`,;})"))
        e++;
    return e;
}

/* At s[i], the start of a key: a password= (or sslpassword=) value that is not a secret
 * reference (env:NAME, file:PATH, percent-encoded or quoted alike). */
static bool keyword_at(const char *s, size_t len, size_t i, struct span *sp)
{
    if (i > 0 && !is_one_of(s[i - 1], "?&;, \t{(\"'"))
        return false;
    size_t k = i;
    while (k < len && k - i <= 40 && (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '%'))
        k++;
    char key[48];
    decode(s, i, k, key, sizeof key);
    if (k == i || (strcmp(key, "password") && strcmp(key, "sslpassword")))
        return false;
    size_t v = k;
    while (v < len && (s[v] == ' ' || s[v] == '\t'))
        v++;
    if (v >= len || s[v] != '=')
        return false;
    bool spaced = v > k; /* "password = x": spaces after only when before (prose is not) */
    for (v++; spaced && v < len && (s[v] == ' ' || s[v] == '\t'); v++)
        ;
    size_t e = value_end(s, len, v);
    char head[8];
    decode(s, v + (v < e && s[v] == '\''), e, head, sizeof head);
    if (e == v || !strncmp(head, "env:", 4) || !strncmp(head, "file:", 5) ||
        !strncmp(head, "{{", 2) || !strncmp(head, "[[", 2) || !strcmp(head, "***"))
        return false; /* a reference, a template (secret('NAME') at most), or masked */
    *sp = (struct span){v, e, SC_CONNINFO_PW_LITERAL};
    return true;
}

/* The first written secret in s[from, len). */
static bool next_span(const char *s, size_t len, size_t from, struct span *sp)
{
    for (size_t i = from; i < len; i++) {
        if (i + 3 <= len && !memcmp(s + i, "://", 3) && userinfo_at(s, len, i, sp))
            return true;
        if (keyword_at(s, len, i, sp))
            return true;
    }
    return false;
}

enum sc_conninfo_pw sc_conninfo_password(const char *addr)
{
    enum sc_conninfo_pw found = SC_CONNINFO_PW_NONE;
    size_t len = addr ? strlen(addr) : 0;
    struct span sp;
    for (size_t from = 0; next_span(addr, len, from, &sp); from = sp.b)
        if (found == SC_CONNINFO_PW_NONE || sp.kind == SC_CONNINFO_PW_USERINFO)
            found = sp.kind;
    return found;
}

/* Characters (UTF-8 sequences' first bytes) in s[0, n). */
static int chars(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* Moves the 0-based character position *np (p in the original text) past a span of
 * characters [ca, cb) replaced by the mask, acc the shift of the spans before it; a
 * position inside goes to the mask's start (an end: its end). */
static void move(int *np, int p, int ca, int cb, int acc, bool end)
{
    if (p < 0)
        return;
    if (p >= cb)
        *np = p + acc + MASK_LEN - (cb - ca);
    else if (p > ca)
        *np = ca + acc + (end ? MASK_LEN : 0);
}

char *sc_conninfo_mask(const char *text, size_t len, int *col, int *span)
{
    struct sc_buf b = {0};
    struct span sp;
    int p = col ? *col - 1 : -1, pe = col && span && *span > 0 ? p + *span : -1;
    int np = p, npe = pe, acc = 0;
    size_t from = 0;
    sc_buf_add(&b, "", 0);
    while (next_span(text, len, from, &sp)) {
        int ca = chars(text, sp.a), cb = chars(text, sp.b);
        move(&np, p, ca, cb, acc, false);
        move(&npe, pe, ca, cb, acc, true);
        acc += MASK_LEN - (cb - ca);
        sc_buf_add(&b, text + from, sp.a - from);
        sc_buf_add(&b, MASK, MASK_LEN);
        from = sp.b;
    }
    sc_buf_add(&b, text + from, len - from);
    if (col && p >= 0)
        *col = np + 1;
    if (span && pe >= 0)
        *span = npe - np > 0 ? npe - np : 1;
    return sc_buf_take(&b);
}

void sc_conninfo_mask_buf(char *s, size_t n)
{
    if (!s || n == 0)
        return;
    size_t len = strlen(s), from = 0;
    struct span sp;
    while (next_span(s, len, from, &sp)) {
        if (sp.a + MASK_LEN > n - 1) { /* not even the mask fits: the text ends with it */
            memset(s + sp.a, '*', n - 1 - sp.a);
            s[n - 1] = '\0';
            return;
        }
        size_t tail = len - sp.b;
        if (sp.a + MASK_LEN + tail > n - 1)
            tail = n - 1 - sp.a - MASK_LEN;
        memmove(s + sp.a + MASK_LEN, s + sp.b, tail);
        memcpy(s + sp.a, MASK, MASK_LEN);
        len = sp.a + MASK_LEN + tail;
        s[len] = '\0';
        from = sp.a + MASK_LEN;
    }
}

int sc_conninfo_take(const char *uri, const char *key, char **value, char **rest)
{
    *value = NULL;
    const char *q = strchr(uri, '?');
    struct sc_buf b = {0};
    sc_buf_add(&b, uri, q ? (size_t)(q - uri) : strlen(uri));
    char sep = '?';
    bool oom = false;
    for (const char *p = q ? q + 1 : NULL; p;) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t kn = eq ? (size_t)(eq - p) : n;
        char k[64];
        decode(p, 0, kn, k, sizeof k);
        if (eq && kn < sizeof k - 1 && !strcmp(k, key)) {
            free(*value);
            size_t vn = n - kn - 1;
            if ((*value = sc_malloc(vn + 1)))
                decode_as(eq + 1, 0, vn, *value, vn + 1, false);
            oom |= !*value;
        } else if (n > 0) {
            sc_buf_add(&b, &sep, 1);
            sc_buf_add(&b, p, n);
            sep = '&';
        }
        p = p[n] ? p + n + 1 : NULL;
    }
    char *r = sc_buf_take(&b);
    if (oom || !r || !rest) {
        free(r);
        if (oom || !r) {
            free(*value);
            *value = NULL;
            return -1;
        }
        return 0;
    }
    *rest = r;
    return 0;
}
