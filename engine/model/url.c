#include "model/url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

static const char hex[] = "0123456789ABCDEF";

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 pchar without '%', plus '/' (and '?' in a query). */
static bool raw_ok(unsigned char c, bool query)
{
    return unreserved(c) || (c && strchr("!$&'()*+,;=:@/", c)) || (query && c == '?');
}

static int hexval(unsigned char c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

static void put_escape(struct sc_buf *b, unsigned char c)
{
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    sc_buf_add(b, e, 3);
}

/* Step one of the normal form: escapes decoded where unreserved, upper-cased elsewhere,
 * bytes that may not appear raw escaped. */
static void norm_escapes(const char *p, size_t n, struct sc_buf *out, unsigned *flags, bool query)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)p[i + 1]) : -1;
            int lo = hi >= 0 ? hexval((unsigned char)p[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *flags |= SC_URL_ESCAPE;
                put_escape(out, '%');
                continue;
            }
            unsigned char v = (unsigned char)(hi * 16 + lo);
            i += 2;
            if (!query && (v == '/' || v == '\\'))
                *flags |= SC_URL_SLASH;
            if (v == 0)
                *flags |= SC_URL_NUL;
            if (!query && v && (v < 0x20 || v == 0x7f)) /* %00 is SC_URL_NUL */
                *flags |= SC_URL_CTRL;
            if (unreserved(v))
                sc_buf_add(out, (const char *)&v, 1);
            else
                put_escape(out, v);
        } else if (c == '\\') {
            *flags |= query ? 0 : SC_URL_SLASH;
            put_escape(out, c);
        } else if (raw_ok(c, query)) {
            sc_buf_add(out, (const char *)&c, 1);
        } else {
            if (!query && (c < 0x20 || c == 0x7f))
                *flags |= SC_URL_CTRL;
            put_escape(out, c);
        }
    }
}

/* 1 or 2 when the segment s[0..n) (escapes normalised) is "." or ".." once its ';params'
 * (';' or %3B) and trailing spaces are set aside, a dot also spelled overlong or
 * full-width (%C0%AE, %E0%80%AE, %EF%BC%8E): Tomcat and Spring route "/x/..;/y" as
 * "/y", lenient decoders take those bytes for '.'. 3 when nothing is left but params
 * (";x": an empty segment to such servers). 0 for any other segment. */
static int dot_kind(const char *s, size_t n)
{
    static const char *const dots[] = {"%C0%AE", "%E0%80%AE", "%EF%BC%8E", NULL};
    size_t k = 0, i = 0;
    bool params = false;
    for (size_t j = 0; j < n; j++)
        if (s[j] == ';' || (n - j >= 3 && !strncmp(s + j, "%3B", 3))) {
            n = j;
            params = true;
        }
    for (;;) {
        if (n && s[n - 1] == ' ')
            n--;
        else if (n >= 3 && !strncmp(s + n - 3, "%20", 3))
            n -= 3;
        else
            break;
    }
    while (i < n && k <= 2) {
        size_t step = s[i] == '.' ? 1 : 0;
        for (const char *const *d = dots; !step && *d; d++)
            if (n - i >= strlen(*d) && !strncmp(s + i, *d, strlen(*d)))
                step = strlen(*d);
        if (!step)
            return 0;
        i += step;
        k++;
    }
    if (k == 0)
        return params ? 3 : 0;
    return k <= 2 ? (int)k : 0;
}

void sc_url_norm_path(const char *p, size_t n, struct sc_buf *out, unsigned *flags)
{
    struct sc_buf a = {0};
    norm_escapes(p, n, &a, flags, false);
    size_t cap = 16, ns = 0;
    size_t(*seg)[2] = malloc(cap * sizeof *seg);
    bool trailing = false;
    const char *s = a.data ? a.data : "";
    size_t i = 0, len = a.len;
    while (seg && i <= len) {
        size_t j = i;
        while (j < len && s[j] != '/')
            j++;
        size_t sl = j - i;
        bool last = j >= len;
        int dk = dot_kind(s + i, sl);
        trailing = last && (sl == 0 || dk != 0);
        if (dk == 2) {
            if (ns)
                ns--;
            else
                *flags |= SC_URL_CLIMB;
        } else if (sl && !dk) {
            if (ns == cap) {
                size_t(*bigger)[2] = realloc(seg, 2 * cap * sizeof *seg);
                if (!bigger) {
                    free(seg);
                    seg = NULL;
                    break;
                }
                seg = bigger;
                cap *= 2;
            }
            seg[ns][0] = i;
            seg[ns][1] = sl;
            ns++;
        }
        i = j + 1;
    }
    if (!seg || a.oom)
        out->oom = true;
    for (size_t k = 0; seg && k < ns; k++) {
        sc_buf_add(out, "/", 1);
        sc_buf_add(out, s + seg[k][0], seg[k][1]);
    }
    if (!ns || trailing)
        sc_buf_add(out, "/", 1);
    free(seg);
    sc_buf_free(&a);
}

static char *lower_dup(const char *s)
{
    char *d = sc_strdup(s ? s : "");
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

void sc_url_free(struct sc_url *u)
{
    free(u->scheme);
    free(u->host);
    free(u->path);
    free(u->query);
    free(u->full);
    memset(u, 0, sizeof *u);
}

static char *cu_get(CURLU *h, CURLUPart part, unsigned flags)
{
    char *v = NULL;
    if (curl_url_get(h, part, &v, flags) != CURLUE_OK)
        return NULL;
    char *copy = sc_strdup(v); /* ours are freed with free(), curl's with curl_free() */
    curl_free(v);
    return copy;
}

/* The buffer's text (NULL when memory ran out); the buffer is left empty. */
static char *take_norm(struct sc_buf *b)
{
    char *s = sc_buf_take(b);
    memset(b, 0, sizeof *b);
    return s;
}

int sc_url_parse(const char *url, struct sc_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    CURLU *h = curl_url();
    CURLUcode rc = h ? curl_url_set(h, CURLUPART_URL, url, 0) : CURLUE_OUT_OF_MEMORY;
    if (rc != CURLUE_OK) {
        snprintf(err, errlen, "base URL '%s' does not parse: %s", url, curl_url_strerror(rc));
        curl_url_cleanup(h);
        return -1;
    }
    char *scheme = cu_get(h, CURLUPART_SCHEME, 0), *host = cu_get(h, CURLUPART_HOST, 0);
    char *port = cu_get(h, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    char *path = cu_get(h, CURLUPART_PATH, 0), *query = cu_get(h, CURLUPART_QUERY, 0);
    curl_url_cleanup(h);
    u->scheme = lower_dup(scheme);
    u->host = lower_dup(host);
    size_t hl = u->host ? strlen(u->host) : 0;
    if (hl > 1 && u->host[hl - 1] == '.') /* "example.com." is "example.com" */
        u->host[hl - 1] = '\0';
    u->port = port ? strtol(port, NULL, 10) : 0;
    struct sc_buf b = {0};
    sc_url_norm_path(path ? path : "/", path ? strlen(path) : 1, &b, &u->flags);
    u->path = take_norm(&b);
    if (query) {
        norm_escapes(query, strlen(query), &b, &u->flags, true);
        u->query = take_norm(&b);
    }
    u->full = sc_strdup(url);
    bool ok = u->scheme && u->host && u->path && u->full && (!query || u->query);
    free(scheme);
    free(host);
    free(port);
    free(path);
    free(query);
    if (!ok) {
        snprintf(err, errlen, "out of memory");
        sc_url_free(u);
        return -1;
    }
    return 0;
}

/* k=v, both percent-encoded by libcurl. */
static void add_pair(struct sc_buf *q, const char *k, const json_t *v)
{
    if (json_is_null(v))
        return;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) add_pair(q, k, e);
        return;
    }
    char *t = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *val = json_is_string(v) ? json_string_value(v) : t;
    size_t vl = json_is_string(v) ? json_string_length(v) : t ? strlen(t) : 0;
    char *ek = curl_easy_escape(NULL, k, (int)strlen(k));
    char *ev = val ? curl_easy_escape(NULL, val, (int)vl) : NULL;
    if (ek && ev)
        sc_buf_printf(q, "%s%s=%s", q->len ? "&" : "", ek, ev);
    else
        q->oom = true;
    curl_free(ek);
    curl_free(ev);
    free(t);
}

int sc_url_join(const struct sc_url *base, const char *path, json_t *query, struct sc_url *t,
                char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (strchr(path, '#')) {
        snprintf(err, errlen, "path '%s' holds a '#': a fragment is never sent to a server", path);
        return -1;
    }
    const char *qm = strchr(path, '?');
    size_t pl = qm ? (size_t)(qm - path) : strlen(path);
    struct sc_buf joined = {0}, q = {0}, np = {0};
    size_t bl = strlen(base->path);
    if (pl) {
        while (bl && base->path[bl - 1] == '/')
            bl--;
        sc_buf_add(&joined, base->path, bl);
        if (path[0] != '/')
            sc_buf_add(&joined, "/", 1);
        sc_buf_add(&joined, path, pl);
    } else {
        sc_buf_add(&joined, base->path, bl);
    }
    sc_url_norm_path(joined.data ? joined.data : "/", joined.len, &np, &t->flags);
    sc_buf_free(&joined);
    if (base->query)
        sc_buf_puts(&q, base->query);
    if (qm && qm[1]) {
        if (q.len)
            sc_buf_add(&q, "&", 1);
        norm_escapes(qm + 1, strlen(qm + 1), &q, &t->flags, true);
    }
    const char *k;
    json_t *v;
    json_object_foreach(query, k, v) add_pair(&q, k, v);
    t->scheme = sc_strdup(base->scheme);
    t->host = sc_strdup(base->host);
    t->port = base->port;
    t->path = take_norm(&np);
    bool has_q = q.len > 0;
    t->query = has_q ? take_norm(&q) : NULL;
    sc_buf_free(&q);
    CURLU *h = curl_url();
    bool ok = h && t->scheme && t->host && t->path && (!has_q || t->query) &&
              curl_url_set(h, CURLUPART_URL, base->full, 0) == CURLUE_OK &&
              curl_url_set(h, CURLUPART_PATH, t->path, 0) == CURLUE_OK &&
              curl_url_set(h, CURLUPART_QUERY, t->query, 0) == CURLUE_OK &&
              curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
              (t->full = cu_get(h, CURLUPART_URL, 0)) != NULL;
    curl_url_cleanup(h);
    for (char *p = t->full; p && *p; p++) /* curl writes escapes in lower case */
        if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            p[1] = (char)toupper((unsigned char)p[1]);
            p[2] = (char)toupper((unsigned char)p[2]);
        }
    if (!ok) {
        snprintf(err, errlen, "out of memory building the URL");
        sc_url_free(t);
        return -1;
    }
    return 0;
}

/* The next segment of a normalised path: *s and *n, or false at the end. */
static bool next_seg(const char **p, const char **s, size_t *n)
{
    while (**p == '/')
        (*p)++;
    if (!**p)
        return false;
    *s = *p;
    while (**p && **p != '/')
        (*p)++;
    *n = (size_t)(*p - *s);
    return true;
}

/* A segment as lenient servers route it: ';params' (or %3B...) cut, trailing dots and
 * spaces off. */
static size_t seg_key(const char *s, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (s[j] == ';' || (n - j >= 3 && !strncmp(s + j, "%3B", 3)))
            n = j;
    for (;;) {
        if (n && (s[n - 1] == '.' || s[n - 1] == ' '))
            n--;
        else if (n >= 3 && !strncmp(s + n - 3, "%20", 3))
            n -= 3;
        else
            return n;
    }
}

static bool prefix(const struct sc_url *base, const struct sc_url *t, bool lenient)
{
    if (strcmp(base->scheme, t->scheme) || strcmp(base->host, t->host) || base->port != t->port)
        return false;
    const char *bp = base->path, *tp = t->path, *bs, *ts;
    size_t bn, tn;
    while (next_seg(&bp, &bs, &bn)) {
        if (!next_seg(&tp, &ts, &tn))
            return false;
        if (lenient) {
            bn = seg_key(bs, bn);
            tn = seg_key(ts, tn);
        }
        if (bn != tn || (lenient ? strncasecmp(bs, ts, bn) : strncmp(bs, ts, bn)))
            return false;
    }
    return true;
}

bool sc_url_covers(const struct sc_url *base, const struct sc_url *t)
{
    return prefix(base, t, true);
}

bool sc_url_under(const struct sc_url *base, const struct sc_url *t)
{
    return prefix(base, t, false);
}

bool sc_url_query_has(const char *query, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        size_t n = strcspn(p, "&;");
        size_t name = strcspn(p, "=&;");
        char dec[64];
        size_t dl = 0;
        for (size_t i = 0; i < name && dl < sizeof dec - 1; i++) {
            int hi, lo;
            if (p[i] == '%' && i + 2 < name && (hi = hexval((unsigned char)p[i + 1])) >= 0 &&
                (lo = hexval((unsigned char)p[i + 2])) >= 0) {
                dec[dl++] = (char)(hi * 16 + lo);
                i += 2;
            } else {
                dec[dl++] = p[i] == '+' ? ' ' : p[i];
            }
        }
        if (dl == kl && !strncasecmp(dec, key, kl))
            return true;
        p += n;
        if (*p)
            p++;
    }
    return false;
}

/* Text of a scalar value as a template renders it; NULL for an object. */
static char *scalar_text(const json_t *v)
{
    if (json_is_string(v))
        return sc_strndup(json_string_value(v), json_string_length(v));
    if (json_is_null(v))
        return sc_strdup("");
    if (json_is_object(v) || json_is_array(v))
        return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* "." or "..", also with ';params' or spelled as dot_kind reads them once escaped. */
static bool dot_segment(const char *s)
{
    if (!strcmp(s, ".") || !strcmp(s, ".."))
        return true;
    char *e = curl_easy_escape(NULL, s, (int)strlen(s));
    struct sc_buf b = {0};
    unsigned f = 0;
    if (e)
        norm_escapes(e, strlen(e), &b, &f, false);
    int dk = b.data ? dot_kind(b.data, b.len) : 0;
    curl_free(e);
    sc_buf_free(&b);
    return dk == 1 || dk == 2;
}

const char *sc_url_escape_why(unsigned flags)
{
    if (flags & SC_URL_NUL)
        return "%00 (a NUL byte)";
    if (flags & SC_URL_CTRL)
        return "a control character (%01-%1F or %7F: a tab, a line break)";
    return "a '%' that starts no escape (%XX)";
}

static void put_escaped(struct sc_buf *out, const char *s)
{
    char *e = curl_easy_escape(NULL, s, (int)strlen(s));
    if (e)
        sc_buf_puts(out, e);
    else
        out->oom = true;
    curl_free(e);
}

enum sc_status sc_url_path_value(struct sc_buf *out, const json_t *v, char *err, size_t errlen)
{
    bool in_query = out->len && memchr(out->data, '?', out->len);
    bool starts = !out->len || out->data[out->len - 1] == '/';
    if (json_is_array(v)) {
        if (in_query) {
            snprintf(err, errlen, "a list fills path segments, not a query value (use query:)");
            return SC_ERR_DATA;
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            char *s = scalar_text(e);
            if (!s || !*s || dot_segment(s)) {
                snprintf(err, errlen, "path segment %zu of the list is %s", i + 1,
                         !s ? "not text" : !*s ? "empty" : "a dot segment ('.' or '..')");
                free(s);
                return SC_ERR_DATA;
            }
            if (i)
                sc_buf_add(out, "/", 1);
            put_escaped(out, s);
            free(s);
        }
        return SC_OK;
    }
    char *s = scalar_text(v);
    if (!s) {
        snprintf(err, errlen, "an object cannot fill a URL");
        return SC_ERR_DATA;
    }
    if (!in_query && starts && (!*s || dot_segment(s))) {
        if (*s)
            snprintf(err, errlen, "the value '%s' would be a dot segment of the path ('.' or "
                     "'..')", s);
        else
            snprintf(err, errlen, "the value would leave an empty path segment (another "
                     "endpoint)");
        free(s);
        return SC_ERR_DATA;
    }
    put_escaped(out, s);
    free(s);
    return SC_OK;
}

/* Whether the segment s[0..n) is "." or ".." once decoded (%2E is '.', RFC 3986 2.3). */
static bool flaw_dots(const char *s, size_t n)
{
    size_t dots = 0;
    for (size_t i = 0; i < n; dots++)
        if (s[i] == '.')
            i++;
        else if (i + 2 < n && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 32) == 'e')
            i += 3;
        else
            return false;
    return dots == 1 || dots == 2;
}

static enum sc_url_flaw_kind flaw_at(struct sc_url_flaw *f, enum sc_url_flaw_kind k, size_t off,
                                     size_t len)
{
    *f = (struct sc_url_flaw){k, off, len};
    return k;
}

enum sc_url_flaw_kind sc_url_path_flaw(const char *path, size_t n, struct sc_url_flaw *f)
{
    size_t slash = n, enc = n;
    for (size_t i = 0; i < n; i++) {
        if (path[i] != '%')
            continue;
        int hi = i + 1 < n ? hexval((unsigned char)path[i + 1]) : -1;
        int lo = hi >= 0 && i + 2 < n ? hexval((unsigned char)path[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return flaw_at(f, SC_URL_FLAW_ESCAPE, i, n - i < 3 ? n - i : 3);
        if (hi == 0 && lo == 0)
            return flaw_at(f, SC_URL_FLAW_NUL, i, 3);
        if (hi == 2 && lo == 15 && slash == n)
            slash = i;
        else if (enc == n && !(hi == 2 && lo == 15))
            enc = i;
    }
    for (size_t i = 0, len; i < n; i += len + 1) {
        len = strcspn(path + i, "/");
        len = len < n - i ? len : n - i;
        if (flaw_dots(path + i, len))
            return flaw_at(f, SC_URL_FLAW_DOT, i, len);
    }
    if (slash < n)
        return flaw_at(f, SC_URL_FLAW_SLASH, slash, 3);
    if (enc < n)
        return flaw_at(f, SC_URL_FLAW_ENCODED, enc, 3);
    return flaw_at(f, SC_URL_FLAW_NONE, 0, 0);
}
