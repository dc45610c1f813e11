#include "lang/text.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util.h"

static utf8proc_int32_t to_upper(utf8proc_int32_t c, void *data)
{
    (void)data;
    return utf8proc_toupper(c);
}

static utf8proc_int32_t to_lower(utf8proc_int32_t c, void *data)
{
    (void)data;
    return utf8proc_tolower(c);
}

/* ASCII text maps byte by byte: Unicode's case mappings and folding agree with ASCII's
 * there, and ASCII is already in NFC. NULL when s has a byte of 0x80 or more. */
static char *map_ascii(const char *s, size_t n, enum sc_text_op op, size_t *outlen)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return NULL;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (op == SC_TEXT_UPPER && c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        else if ((op == SC_TEXT_LOWER || op == SC_TEXT_FOLD) && c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        out[i] = c;
    }
    out[n] = '\0';
    if (outlen)
        *outlen = n;
    return out;
}

char *sc_text_map(const char *s, size_t n, enum sc_text_op op, size_t *outlen)
{
    char *ascii = map_ascii(s, n, op, outlen); /* the common case, 20 times faster */
    if (ascii)
        return ascii;
    static const utf8proc_option_t opts[] = {
        [SC_TEXT_UPPER] = 0,
        [SC_TEXT_LOWER] = 0,
        [SC_TEXT_NFC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE,
        [SC_TEXT_FOLD] = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD,
    };
    utf8proc_custom_func f = op == SC_TEXT_UPPER ? to_upper : op == SC_TEXT_LOWER ? to_lower : NULL;
    utf8proc_uint8_t *out = NULL;
    if (n > (size_t)(PTRDIFF_MAX / 8))
        return NULL;
    utf8proc_ssize_t len = n ? utf8proc_map_custom((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n,
                                                   &out, opts[op], f, NULL)
                             : 0;
    if (len < 0)
        return NULL;
    if (!out)
        out = calloc(1, 1);
    if (out && outlen)
        *outlen = (size_t)len;
    return (char *)out;
}

bool sc_text_equal(const char *a, size_t na, const char *b, size_t nb, bool fold)
{
    if (!fold && na == nb && memcmp(a, b, na) == 0)
        return true;
    size_t la, lb;
    char *x = sc_text_map(a, na, fold ? SC_TEXT_FOLD : SC_TEXT_NFC, &la);
    char *y = sc_text_map(b, nb, fold ? SC_TEXT_FOLD : SC_TEXT_NFC, &lb);
    bool eq = x && y ? la == lb && memcmp(x, y, la) == 0 : na == nb && memcmp(a, b, na) == 0;
    free(x);
    free(y);
    return eq;
}

size_t sc_text_number(double d, char buf[32])
{
    if (isnan(d))
        return (size_t)snprintf(buf, 32, "NaN");
    if (isinf(d))
        return (size_t)snprintf(buf, 32, d < 0 ? "-Infinity" : "Infinity");
    if (d == 0)
        return (size_t)snprintf(buf, 32, "0");
    char e[40];
    int p = 1;
    for (; p < 17; p++) { /* the fewest significant digits that read back exactly */
        snprintf(e, sizeof e, "%.*e", p - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, d);
    /* e is [-]D[.DDD]e[+-]XX: the digits and the exponent n of 0.DIGITS x 10^n */
    const char *q = e;
    bool neg = *q == '-';
    q += neg;
    char digits[20];
    int k = 0;
    for (; *q != 'e'; q++)
        if (*q != '.')
            digits[k++] = *q;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    int n = atoi(q + 1) + 1;
    char *o = buf;
    if (neg)
        *o++ = '-';
    if (k <= n && n <= 21) {
        memcpy(o, digits, (size_t)k);
        o += k;
        for (int i = k; i < n; i++)
            *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, digits, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = n; i < 0; i++)
            *o++ = '0';
        memcpy(o, digits, (size_t)k);
        o += k;
    } else {
        *o++ = digits[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += snprintf(o, 8, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    *o = '\0';
    return (size_t)(o - buf);
}

static int key_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void newline(struct sc_buf *b, int indent, int depth)
{
    if (indent) {
        sc_buf_add(b, "\n", 1);
        for (int i = 0; i < indent * depth; i++)
            sc_buf_add(b, " ", 1);
    }
}

static bool put_json(struct sc_buf *b, const json_t *v, int indent, bool sort, int depth)
{
    if (json_is_real(v)) {
        char num[32];
        size_t n = sc_text_number(json_real_value(v), num);
        sc_buf_add(b, num, n);
        return true;
    }
    if (json_is_object(v)) {
        size_t n = json_object_size(v), i = 0;
        if (n == 0) {
            sc_buf_puts(b, "{}");
            return true;
        }
        const char **keys = malloc(n * sizeof *keys);
        if (!keys)
            return false;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) keys[i++] = k;
        if (sort)
            qsort(keys, n, sizeof *keys, key_order);
        sc_buf_add(b, "{", 1);
        bool ok = true;
        for (i = 0; i < n && ok; i++) {
            if (i)
                sc_buf_add(b, ",", 1);
            newline(b, indent, depth + 1);
            json_t *key = json_string(keys[i]);
            ok = key && put_json(b, key, indent, sort, depth + 1);
            json_decref(key);
            sc_buf_puts(b, indent ? ": " : ":");
            ok = ok && put_json(b, json_object_get(v, keys[i]), indent, sort, depth + 1);
        }
        free(keys);
        newline(b, indent, depth);
        sc_buf_add(b, "}", 1);
        return ok;
    }
    if (json_is_array(v)) {
        if (json_array_size(v) == 0) {
            sc_buf_puts(b, "[]");
            return true;
        }
        sc_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                sc_buf_add(b, ",", 1);
            newline(b, indent, depth + 1);
            if (!put_json(b, json_array_get(v, i), indent, sort, depth + 1))
                return false;
        }
        newline(b, indent, depth);
        sc_buf_add(b, "]", 1);
        return true;
    }
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); /* strings, integers, literals */
    if (!t)
        return false;
    sc_buf_puts(b, t);
    free(t);
    return true;
}

char *sc_text_json(const struct json_t *v, int indent, bool sort)
{
    struct sc_buf b = {0};
    if (!put_json(&b, v, indent, sort, 0) || b.oom) {
        sc_buf_free(&b);
        return NULL;
    }
    return sc_buf_take(&b);
}

bool sc_text_blank(const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_int32_t cp;
    utf8proc_ssize_t n;
    while (*p) {
        if ((n = utf8proc_iterate(p, -1, &cp)) < 1)
            return false;
        utf8proc_category_t k = utf8proc_category(cp);
        /* ignorable: Default_Ignorable_Code_Point (fillers, variation selectors, CGJ);
         * U+2800 BRAILLE PATTERN BLANK is So but draws nothing */
        if (k != UTF8PROC_CATEGORY_ZS && k != UTF8PROC_CATEGORY_ZL && k != UTF8PROC_CATEGORY_ZP &&
            k != UTF8PROC_CATEGORY_CF && k != UTF8PROC_CATEGORY_CC &&
            !utf8proc_get_property(cp)->ignorable && cp != 0x2800)
            return false;
        p += n;
    }
    return true;
}
