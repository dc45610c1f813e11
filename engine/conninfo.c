/* The secrets a database address may carry: found (to refuse them) and masked (to show
 * text that may quote one). See conninfo.h. */
#include "conninfo.h"

#include "util.h"

#include <curl/curl.h>
#include <libpq-fe.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* s[a, b) percent-decoded (as libpq decodes a URI's query; libcurl's decoder, RFC 3986
 * section 2.1) into out[n], lowered when asked. */
static void decode_as(const char *s, size_t a, size_t b, char *out, size_t n, bool lower)
{
    int len = 0;
    char *d = b > a ? curl_easy_unescape(NULL, s + a, (int)(b - a), &len) : NULL;
    size_t k = 0;
    for (int i = 0; d && i < len && k + 1 < n; i++)
        out[k++] = lower ? (char)tolower((unsigned char)d[i]) : d[i];
    out[k] = '\0';
    curl_free(d);
}

static void decode(const char *s, size_t a, size_t b, char *out, size_t n)
{
    decode_as(s, a, b, out, n, true);
}

/* At s[i] a scheme's "://" (or YAML's escaped ":\/\/"): its length, else 0. */
static size_t scheme_sep(const char *s, size_t len, size_t i)
{
    if (i + 3 <= len && !memcmp(s + i, "://", 3))
        return 3;
    return i + 5 <= len && !memcmp(s + i, ":\\/\\/", 5) ? 5 : 0;
}

static bool all_digits(const char *s, size_t a, size_t b)
{
    while (b > a && is_one_of(s[b - 1], "\"'\\ \t")) /* a closing quote, a cut line's \ */
        b--;
    for (size_t k = a; k < b; k++)
        if (!isdigit((unsigned char)s[k]))
            return false;
    return b > a;
}

/* After a scheme's separator at s[auth]: the userinfo's password (USER:PASSWORD@), up to
 * the last '@' before the host (a password may hold whitespace and '@'); a line cut before
 * any '@' (a YAML string continued on the next line) masks up to its end. The user holds
 * no '@' nor whitespace (as libpq reads it, up to the first ':'). */
static bool userinfo_at(const char *s, size_t len, size_t auth, struct span *sp)
{
    size_t e = auth, at = 0;
    bool have = false;
    for (; e < len && !is_one_of(s[e], "/?#\r\n"); e++)
        if (s[e] == '@') {
            at = e;
            have = true;
        }
    size_t c = auth;
    while (c < len && !is_one_of(s[c], ":@/?#\r\n \t"))
        c++;
    if (c >= len || s[c] != ':')
        return false;
    if (have && c + 1 < at) {
        *sp = (struct span){c + 1, at, SC_CONNINFO_PW_USERINFO};
        return true;
    }
    if (!have && e == len && c + 1 < len && !all_digits(s, c + 1, len)) { /* cut: no host */
        *sp = (struct span){c + 1, len, SC_CONNINFO_PW_USERINFO};
        return true;
    }
    return false;
}

/* s[i, ...) spells word (lower case), each character itself (any case) or percent-encoded:
 * the index after it, else 0. */
static size_t spelled(const char *s, size_t len, size_t i, const char *word)
{
    for (; *word; word++) {
        if (i < len && tolower((unsigned char)s[i]) == *word) {
            i++;
        } else if (i + 2 < len && s[i] == '%' && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0 &&
                   tolower(hex(s[i + 1]) * 16 + hex(s[i + 2])) == *word) {
            i += 3;
        } else {
            return 0;
        }
    }
    return i;
}

/* Whitespace, raw or percent-encoded, from s[i]: the index after it. */
static size_t blanks(const char *s, size_t len, size_t i)
{
    for (;;) {
        if (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        else if (spelled(s, len, i, " "))
            i += 3;
        else
            return i;
    }
}

/* Whether the quote at s[q] closes the text it is in (a YAML scalar): only blanks, a
 * comment or a flow collection's punctuation after it on its line. */
static bool closing_quote(const char *s, size_t len, size_t q)
{
    size_t k = q + 1;
    while (k < len && (s[k] == ' ' || s[k] == '\t'))
        k++;
    return k >= len || is_one_of(s[k], "\r\n#,}]");
}

/* The end of the password= value starting at s[v]: a single-quoted one (backslash escapes,
 * as in a key=value string) with its quotes, else up to the next '&', the line's end or a
 * quote that closes the text: whitespace and all, as libpq takes a URI's value. */
static size_t value_end(const char *s, size_t len, size_t v)
{
    size_t e = v;
    if (e < len && s[e] == '\'') {
        for (e++; e < len && s[e] != '\''; e++)
            if (s[e] == '\\' && e + 1 < len)
                e++;
        return e < len ? e + 1 : e;
    }
    while (e < len && !is_one_of(s[e], "&\r\n") &&
           !(is_one_of(s[e], "\"'") && s[e - (e > 0)] != '\\' && closing_quote(s, len, e)))
        e++;
    return e;
}

/* A well-formed secret reference (the decoded value v): env: and a variable name
 * ([A-Za-z_][A-Za-z0-9_]*), or file: and a path with no whitespace nor control character.
 * Anything else (ENV:x, "env: x", env:x%20y) is not one: a password, refused and masked. */
static bool well_formed_ref(const char *v)
{
    if (!strncmp(v, "env:", 4)) {
        v += 4;
        if (!isalpha((unsigned char)*v) && *v != '_')
            return false;
        while (isalnum((unsigned char)*v) || *v == '_')
            v++;
        return !*v;
    }
    if (strncmp(v, "file:", 5) || !v[5])
        return false;
    for (v += 5; *v; v++)
        if (isspace((unsigned char)*v) || iscntrl((unsigned char)*v))
            return false;
    return true;
}

/* A secret reference, a template or a mask (not a password): env:NAME, file:PATH (quoted
 * or percent-encoded alike, well formed), {{ }}, [[ ]], ***. */
static bool not_a_secret(const char *s, size_t v, size_t e, bool whole)
{
    bool quoted = v < e && s[v] == '\'';
    size_t b = quoted && e > v + 1 && s[e - 1] == '\'' ? e - 1 : e;
    if (!whole && !quoted) /* a key=value string's (or prose's) value ends at whitespace */
        for (size_t k = v; k < b; k++)
            if (s[k] == ' ' || s[k] == '\t') {
                b = k;
                break;
            }
    if (!whole && !quoted) /* and prose's punctuation after it: "password=env:X: not set" */
        while (b > v && is_one_of(s[b - 1], ":;,.)"))
            b--;
    char head[1024];
    if (b - v >= sizeof head - 1)
        return false; /* too long for a reference: masked */
    decode_as(s, v + quoted, b, head, sizeof head, false);
    for (size_t k = v; k + 2 < b; k++) /* a NUL decoded would cut what is checked */
        if (s[k] == '%' && s[k + 1] == '0' && s[k + 2] == '0')
            return false;
    return !strncmp(head, "{{", 2) || !strncmp(head, "[[", 2) || !strcmp(head, "***") ||
           !strcmp(head, "env:") || !strcmp(head, "file:") || well_formed_ref(head);
}

/* At s[i]: a password= (or sslpassword=, or any key ending so) value that is not a secret
 * reference; the key and its '=' in any spelling (percent-encoded, spaced). */
static bool keyword_at(const char *s, size_t len, size_t i, bool strict, struct span *sp)
{
    size_t k = spelled(s, len, i, "password");
    if (!k)
        return false;
    size_t v = blanks(s, len, k);
    if (v < len && s[v] == '=')
        v++;
    else if ((k = spelled(s, len, v, "=")) != 0)
        v = k;
    else
        return false;
    if (v < len && s[v] == ' ' && s[v - 1] == '=' && v + 1 < len && s[v + 1] == '\'')
        v++; /* password = 'quoted': the quotes' own syntax */
    size_t e = value_end(s, len, v), key = i;
    while (key > 0 && isalpha((unsigned char)s[key - 1]))
        key--;
    bool query = strict && key > 0 && is_one_of(s[key - 1], "?&"); /* a URI's: up to '&' */
    if (e == v || not_a_secret(s, v, e, query))
        return false;
    *sp = (struct span){v, e, SC_CONNINFO_PW_LITERAL};
    return true;
}

static PQconninfoOption *parse(const char *addr);

/* A host (or hostaddr) holding '@': a USER:PASSWORD@ written in the wrong place, which
 * libpq would quote in its error. */
static bool misplaced_userinfo(const PQconninfoOption *o)
{
    return o->val && (!strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr")) &&
           strchr(o->val, '@');
}

/* Whether parsed options (NULL: not parsed) leave the address's values unsafe to show. */
static bool values_unsafe(PQconninfoOption *opts)
{
    if (!opts)
        return true;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (misplaced_userinfo(o))
            return true;
    return false;
}

/* The first query value at or after s[from] of a PostgreSQL URI in s that libpq cannot
 * parse (its keys unknown, every value may be a password): the URI runs from its scheme
 * to whitespace, a quote or the line's end; YAML's ":\/\/" is read as "://". */
static bool unparsed_span(const char *s, size_t len, size_t from, struct span *sp)
{
    for (size_t i = 0; i < len; i++) {
        if ((i > 0 && isalnum((unsigned char)s[i - 1])) ||
            (!spelled(s, len, i, "postgres") || tolower((unsigned char)s[i]) != 'p'))
            continue;
        size_t e = i;
        while (e < len && !is_one_of(s[e], " \t\r\n\"'"))
            e++;
        if (e <= from)
            continue;
        char *tok = sc_malloc(e - i + 1);
        if (!tok)
            return false;
        size_t n = 0;
        for (size_t k = i; k < e; k++) {
            size_t sep = scheme_sep(s, len, k);
            if (sep == 5) {
                memcpy(tok + n, "://", 3), n += 3, k += 4;
                continue;
            }
            tok[n++] = s[k];
        }
        tok[n] = '\0';
        PQconninfoOption *opts = sc_conninfo_is_pg(tok) ? parse(tok) : (void *)1;
        free(tok);
        if (opts != (void *)1) {
            bool unsafe = values_unsafe(opts);
            PQconninfoFree(opts);
            if (unsafe) {
                const char *q = memchr(s + i, '?', e - i);
                for (size_t k = q ? (size_t)(q - s) : e; k < e; k++) {
                    if (s[k] != '=')
                        continue;
                    size_t v = k + 1, ve = v;
                    while (ve < e && s[ve] != '&')
                        ve++;
                    if (ve > v && ve > from && v >= from) {
                        *sp = (struct span){v, ve, SC_CONNINFO_PW_LITERAL};
                        return true;
                    }
                }
            }
        }
        i = e;
    }
    return false;
}

/* The first written secret in s[from, len), stopping before s[stop]. */
static bool written_span(const char *s, size_t len, size_t from, size_t stop, bool strict,
                         struct span *sp)
{
    for (size_t i = from; i < len && i < stop; i++) {
        size_t sep = scheme_sep(s, len, i);
        if (sep && userinfo_at(s, len, i + sep, sp))
            return true;
        if (keyword_at(s, len, i, strict, sp))
            return true;
    }
    return false;
}

/* The first written secret in s[from, len), or value of an address libpq cannot parse. */
static bool next_span(const char *s, size_t len, size_t from, bool strict, struct span *sp)
{
    struct span u;
    bool have_u = unparsed_span(s, len, from, &u);
    for (size_t i = from; i < len && (!have_u || i < u.a); i++) {
        size_t sep = scheme_sep(s, len, i);
        if (sep && userinfo_at(s, len, i + sep, sp))
            return true;
        if (keyword_at(s, len, i, strict, sp))
            return true;
    }
    if (have_u)
        *sp = u;
    return have_u;
}

bool sc_conninfo_is_pg(const char *s)
{
    return s && (!strncasecmp(s, "postgresql://", 13) || !strncasecmp(s, "postgres://", 11));
}

static bool pg_uri(const char *s) { return sc_conninfo_is_pg(s); }

bool sc_conninfo_foreign(const char *s)
{
    if (!s || !isalpha((unsigned char)*s) || sc_conninfo_is_pg(s))
        return false;
    size_t n = 1;
    while (isalnum((unsigned char)s[n]) || is_one_of(s[n], "+-."))
        n++;
    return !strncmp(s + n, "://", 3);
}

/* A copy of s with a URI's scheme lowered (libpq knows only postgresql:// and postgres://,
 * as written). NULL when out of memory. */
static char *lowered(const char *s)
{
    char *c = sc_strdup(s), *sep = c ? strstr(c, "://") : NULL;
    for (char *p = c; sep && p < sep; p++)
        *p = (char)tolower((unsigned char)*p);
    return c;
}

static PQconninfoOption *parse(const char *addr)
{
    char *err = NULL, *c = lowered(addr);
    PQconninfoOption *opts = c ? PQconninfoParse(c, &err) : NULL;
    PQfreemem(err);
    free(c);
    return opts;
}

bool sc_conninfo_unreadable(const char *s)
{
    if (!sc_conninfo_is_pg(s))
        return false;
    PQconninfoOption *opts = parse(s);
    PQconninfoFree(opts);
    return !opts;
}

char *sc_conninfo_mask_query(const char *s)
{
    struct sc_buf b = {0};
    char *m = sc_conninfo_mask_source(s, strlen(s), NULL, NULL);
    const char *q = m ? strchr(m, '?') : NULL;
    sc_buf_add(&b, "", 0);
    sc_buf_add(&b, m ? m : "", q ? (size_t)(q + 1 - m) : (m ? strlen(m) : 0));
    for (const char *p = q ? q + 1 : NULL; p;) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        sc_buf_add(&b, p, eq ? (size_t)(eq + 1 - p) : n);
        if (eq)
            sc_buf_add(&b, MASK, MASK_LEN);
        p = p[n] ? p + n + 1 : NULL;
        if (p)
            sc_buf_add(&b, "&", 1);
    }
    free(m);
    return sc_buf_take(&b);
}

/* What a value libpq takes as a password is: a reference (NONE), empty (EMPTY) or the
 * password itself (LITERAL, whitespace anywhere in it included). */
static enum sc_conninfo_pw value_kind(const char *v)
{
    if (!*v || !strcmp(v, "env:") || !strcmp(v, "file:"))
        return SC_CONNINFO_PW_EMPTY;
    return well_formed_ref(v) ? SC_CONNINFO_PW_NONE : SC_CONNINFO_PW_LITERAL;
}

/* The stronger of two findings: USERINFO, LITERAL, EMPTY, NONE. */
static enum sc_conninfo_pw worse(enum sc_conninfo_pw a, enum sc_conninfo_pw b)
{
    static const int rank[] = {[SC_CONNINFO_PW_NONE] = 0, [SC_CONNINFO_PW_EMPTY] = 1,
                               [SC_CONNINFO_PW_LITERAL] = 2, [SC_CONNINFO_PW_USERINFO] = 3};
    return rank[b] > rank[a] ? b : a;
}

/* As sc_conninfo_password, depth levels of nesting deep (a dbname that is itself a
 * connection string or URI, as libpq expands the first). */
static enum sc_conninfo_pw password_in(const char *addr, int depth)
{
    enum sc_conninfo_pw found = SC_CONNINFO_PW_NONE;
    size_t len = strlen(addr);
    struct span sp;
    PQconninfoOption *opts = pg_uri(addr) || strchr(addr, '=') ? parse(addr) : NULL;
    if (!opts) { /* not libpq's syntax: what the text writes */
        for (size_t from = 0; written_span(addr, len, from, len, true, &sp); from = sp.b)
            found = worse(found, sp.kind);
        return found;
    }
    const char *auth = pg_uri(addr) ? strstr(addr, "://") + 3 : NULL; /* as libpq reads it: */
    size_t at = auth ? strcspn(auth, "@/") : 0; /* user[:password]@ before the first '/' */
    if (auth && auth[at] == '@' && memchr(auth, ':', at))
        found = SC_CONNINFO_PW_USERINFO;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "password") || !strcmp(o->keyword, "sslpassword"))
            found = worse(found, value_kind(o->val));
        else if (misplaced_userinfo(o))
            found = worse(found, SC_CONNINFO_PW_USERINFO);
        else if (depth < 3 && (pg_uri(o->val) || strchr(o->val, '='))) /* dbname, options */
            found = worse(found, password_in(o->val, depth + 1));
    }
    PQconninfoFree(opts);
    return found;
}

enum sc_conninfo_pw sc_conninfo_password(const char *addr)
{
    return addr ? password_in(addr, 0) : SC_CONNINFO_PW_NONE;
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

static char *mask_as(const char *text, size_t len, int *col, int *span, bool strict)
{
    struct sc_buf b = {0};
    struct span sp;
    int p = col ? *col - 1 : -1, pe = col && span && *span > 0 ? p + *span : -1;
    int np = p, npe = pe, acc = 0;
    size_t from = 0;
    sc_buf_add(&b, "", 0);
    while (next_span(text, len, from, strict, &sp)) {
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

char *sc_conninfo_mask(const char *text, size_t len, int *col, int *span)
{
    return mask_as(text, len, col, span, false);
}

char *sc_conninfo_mask_source(const char *text, size_t len, int *col, int *span)
{
    return mask_as(text, len, col, span, true);
}

void sc_conninfo_mask_buf(char *s, size_t n)
{
    if (!s || n == 0)
        return;
    size_t len = strlen(s), from = 0;
    struct span sp;
    while (next_span(s, len, from, false, &sp)) {
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
    char *r = sc_buf_take(&b), *end = r ? strstr(r, "://") : NULL;
    for (char *p = r; end && p < end; p++) /* libpq reads the scheme as written: lowered */
        *p = (char)tolower((unsigned char)*p);
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
