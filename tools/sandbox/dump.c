/* Compact JSON of the answers, as jansson's JSON_COMPACT writes it, byte for byte, but
 * without its loop check (a pointer-keyed hashtable per object: most of a page's cost);
 * the sandbox's answers hold no loops. Reals go through jansson, to keep its format. */
#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->failed = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* A string, escaped as jansson does without flags: ", \ and control characters. */
static void put_string(struct out *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"': put(o, "\\\"", 2); break;
        case '\\': put(o, "\\\\", 2); break;
        case '\b': put(o, "\\b", 2); break;
        case '\f': put(o, "\\f", 2); break;
        case '\n': put(o, "\\n", 2); break;
        case '\r': put(o, "\\r", 2); break;
        case '\t': put(o, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            put(o, esc, 6);
        }
    }
    put(o, s + run, n - run);
    put(o, "\"", 1);
}

static void put_value(struct out *o, json_t *v, int depth)
{
    char num[32];
    if (depth > 2048) { /* deeper than any answer: jansson's limit spirit, not a loop */
        o->failed = true;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put(o, "{", 1);
        const char *k;
        json_t *x;
        bool first = true;
        json_object_foreach(v, k, x) {
            if (!first)
                put(o, ",", 1);
            first = false;
            put_string(o, k, strlen(k));
            put(o, ":", 1);
            put_value(o, x, depth + 1);
        }
        put(o, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        put(o, "[", 1);
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (i)
                put(o, ",", 1);
            put_value(o, x, depth + 1);
        }
        put(o, "]", 1);
        break;
    }
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        put(o, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
        break;
    case JSON_REAL: {
        char *r = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (r)
            put(o, r, strlen(r));
        else
            o->failed = true;
        free(r);
        break;
    }
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_NULL:
        put(o, "null", 4);
        break;
    }
}

char *sb_dump(json_t *v)
{
    struct out o = {0};
    put_value(&o, v, 0);
    if (o.failed || !o.p) {
        free(o.p);
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    return o.p;
}
