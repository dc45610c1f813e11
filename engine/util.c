#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long fail_after = -1;
static bool refused;

static bool alloc_should_fail(void)
{
    if (fail_after < 0)
        return false;
    if (fail_after == 0) {
        refused = true;
        return true;
    }
    fail_after--;
    return false;
}

void sc_alloc_fail_after(long n)
{
    fail_after = n;
    refused = false;
}

bool sc_alloc_refused(void) { return refused; }

void *sc_malloc(size_t n) { return alloc_should_fail() ? NULL : malloc(n ? n : 1); }

void *sc_calloc(size_t count, size_t n)
{
    return alloc_should_fail() ? NULL : calloc(count ? count : 1, n ? n : 1);
}

void *sc_realloc(void *p, size_t n) { return alloc_should_fail() ? NULL : realloc(p, n ? n : 1); }

char *sc_strndup(const char *s, size_t n)
{
    char *d = sc_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *sc_strdup(const char *s) { return s ? sc_strndup(s, strlen(s)) : NULL; }

char *sc_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = sc_malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void json_free_fn(void *p) { free(p); }

void sc_alloc_install_json(void) { json_set_alloc_funcs(sc_malloc, json_free_fn); }

static bool buf_grow(struct sc_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = sc_realloc(b->data, cap);
    if (!d) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void sc_buf_add(struct sc_buf *b, const char *s, size_t n)
{
    if (!buf_grow(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sc_buf_puts(struct sc_buf *b, const char *s) { sc_buf_add(b, s, strlen(s)); }

void sc_buf_printf(struct sc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sc_buf_free(struct sc_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *sc_buf_take(struct sc_buf *b)
{
    if (!b->data && !b->oom)
        sc_buf_add(b, "", 0);
    if (b->oom) {
        sc_buf_free(b);
        return NULL;
    }
    return b->data;
}

char *sc_read_file(const char *path, size_t max, size_t *len, bool *too_big)
{
    *too_big = false;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        errno = EISDIR;
        return NULL;
    }
    struct sc_buf b = {0};
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max) {
            *too_big = true;
            *len = b.len + n;
            break;
        }
        sc_buf_add(&b, chunk, n);
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (*too_big || err || b.oom) {
        sc_buf_free(&b);
        errno = err ? err : (*too_big ? EFBIG : ENOMEM);
        return NULL;
    }
    *len = b.len;
    char *text = sc_buf_take(&b);
    if (!text)
        errno = ENOMEM;
    return text;
}

int sc_utf8_chars(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

size_t sc_utf8_seq(const unsigned char *s, size_t n)
{
    size_t want = 0;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range (RFC 3629 section 4) */
    if (s[0] < 0x80)
        return 1;
    else if (s[0] >= 0xC2 && s[0] <= 0xDF)
        want = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        want = 3, lo = s[0] == 0xE0 ? 0xA0 : 0x80, hi = s[0] == 0xED ? 0x9F : 0xBF;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        want = 4, lo = s[0] == 0xF0 ? 0x90 : 0x80, hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (want > n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < want; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return want;
}

int sc_utf8_fix(const char *s, size_t n, enum sc_utf8_as as, char **out, size_t *outlen)
{
    *out = NULL;
    if (sc_utf8_invalid(s, n) == n)
        return 0;
    char *t = malloc(3 * n + 1); /* a byte grows to 2 (ISO-8859-1) or 3 (%XX) */
    if (!t)
        return -1;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x80) {
            t[o++] = s[i];
        } else if (as == SC_UTF8_LATIN1) {
            t[o++] = (char)(0xC0 | p[i] >> 6);
            t[o++] = (char)(0x80 | (p[i] & 0x3F));
        } else {
            t[o++] = '%';
            t[o++] = "0123456789ABCDEF"[p[i] >> 4];
            t[o++] = "0123456789ABCDEF"[p[i] & 15];
        }
    }
    t[o] = '\0';
    *out = t;
    *outlen = o;
    return 0;
}

json_t *sc_json_add_text(json_t *obj, const char *key, size_t kn, const char *val, size_t vn,
                         enum sc_utf8_as as)
{
    char *k = NULL, *t = NULL;
    json_t *v = NULL;
    if (sc_utf8_fix(key, kn, SC_UTF8_LATIN1, &k, &kn) == 0 && sc_utf8_fix(val, vn, as, &t, &vn) == 0)
        v = json_stringn_nocheck(t ? t : val, vn);
    key = k ? k : key;
    json_t *had = v ? json_object_get(obj, key) : NULL;
    int rc = !v                 ? -1
           : json_is_array(had) ? json_array_append_new(had, v)
           : had                ? json_object_set_new_nocheck(obj, key, json_pack("[O, o]", had, v))
                                : json_object_set_new_nocheck(obj, key, v);
    free(k);
    free(t);
    return rc == 0 ? v : NULL;
}

char *sc_latin1_bytes(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;
    for (; *r; r++) {
        if (*r >= 0xC2 && *r <= 0xC3 && r[1]) { /* U+0080..U+00FF: two bytes to one */
            *w++ = (unsigned char)((*r & 0x03) << 6 | (r[1] & 0x3F));
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return s;
}

json_t *sc_json_text(const char *s)
{
    char *t;
    size_t n = strlen(s);
    if (sc_utf8_fix(s, n, SC_UTF8_LATIN1, &t, &n) != 0)
        return NULL;
    json_t *v = json_stringn_nocheck(t ? t : s, n);
    free(t);
    return v;
}

long sc_header_ctl(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return (long)i;
    return -1;
}

bool sc_header_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              (*s && strchr("!#$%&'*+-.^_`|~", *s))))
            return false;
    return true;
}

size_t sc_utf8_invalid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = sc_utf8_seq(p + i, n - i);
        if (k == 0)
            return i;
        i += k;
    }
    return n;
}
