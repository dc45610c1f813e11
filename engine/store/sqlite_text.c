/* SQLite store: JSON values as the text stored in their columns. The same bytes as
 * jansson 2.14's json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) (tests/unit/test_store.c
 * compares them), written in one pass: json_dumps keeps a table of the containers it is
 * inside (a printed pointer per object, to refuse a cycle) and decodes every character of
 * a string, which made it a tenth of the daemon's work per webhook execution. */
#include "store/sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than this, or a cycle: json_dumps decides (a cycle has no text). */
#define DUMP_DEPTH 512

struct buf {
    char *p;
    size_t n, cap;
    bool bad;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->bad = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

/* A string as jansson writes it: '"', '\\' and control characters escaped (the short
 * forms \b \f \n \r \t, else \u00XX in capitals), everything else as it is. */
static void put_string(struct buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(b, s + run, i - run);
        run = i + 1;
        char esc[8];
        const char *e = esc;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default: snprintf(esc, sizeof esc, "\\u%04X", c);
        }
        put(b, e, strlen(e));
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

/* Writes v; false when json_dumps must decide (a real number, depth, no memory). */
static bool put_value(struct buf *b, json_t *v, int depth)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (depth >= DUMP_DEPTH)
            return false;
        put(b, "{", 1);
        const char *k;
        json_t *m;
        bool first = true;
        json_object_foreach(v, k, m) {
            if (!first)
                put(b, ",", 1);
            first = false;
            put_string(b, k, strlen(k));
            put(b, ":", 1);
            if (!put_value(b, m, depth + 1))
                return false;
        }
        put(b, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        if (depth >= DUMP_DEPTH)
            return false;
        put(b, "[", 1);
        for (size_t i = 0, n = json_array_size(v); i < n; i++) {
            if (i)
                put(b, ",", 1);
            if (!put_value(b, json_array_get(v, i), depth + 1))
                return false;
        }
        put(b, "]", 1);
        break;
    }
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        put(b, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                                     json_integer_value(v)));
        break;
    case JSON_TRUE:
        put(b, "true", 4);
        break;
    case JSON_FALSE:
        put(b, "false", 5);
        break;
    case JSON_NULL:
        put(b, "null", 4);
        break;
    default: /* a real: jansson's own shortest round-trip form */
        return false;
    }
    return !b->bad;
}

char *sq_dump(json_t *v)
{
    struct buf b = {0};
    if (!v)
        return NULL;
    if (!put_value(&b, v, 0)) {
        free(b.p);
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    b.p[b.n] = '\0';
    return b.p;
}
