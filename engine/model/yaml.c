#include "model/yaml.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Paths of a duplicate key's subtree start with this byte, which libyaml never
 * lets into content, so they can never shadow the first definition's positions. */
#define DUP_MARK "\x01"

struct frame {
    json_t *node;
    bool is_map;
    size_t path_len;   /* length of this node's path in the path buffer */
    char *key;         /* pending key of a mapping, owned */
    struct sc_pos keypos;
    bool key_dup;
    size_t index;      /* next index of a sequence */
    char *anchor;      /* owned */
    size_t nodes_at_start;
    int height;
};

struct anchor {
    json_t *val;
    size_t nodes;
    int height;
};

struct loader {
    struct sc_doc *doc;
    struct sc_diags *d;
    struct frame stack[SC_YAML_MAX_DEPTH + 1];
    int depth;
    struct sc_buf path;
    json_t *anchors;   /* name -> index into anch */
    struct anchor *anch;
    size_t nanch, capanch;
    size_t nodes, aliases;
    bool fatal;
};

static void lerr(struct loader *l, const yaml_mark_t *m, int len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lerr(struct loader *l, const yaml_mark_t *m, int len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sc_diag_vadd(l->d, SC_SEV_ERROR, &l->doc->src, m ? (int)m->line + 1 : 0,
                 m ? (int)m->column + 1 : 0, len, fmt, ap);
    va_end(ap);
}

static bool template_hint(struct loader *l, int line);

static void oom(struct loader *l)
{
    if (!l->fatal)
        sc_diag_add(l->d, SC_SEV_ERROR, &l->doc->src, 0, 0, 0, "out of memory while loading");
    l->fatal = true;
}

size_t sc_path_push(char *path, size_t cap, const char *key)
{
    size_t old = strlen(path), n = old;
    if (n + 1 >= cap)
        return old;
    path[n++] = '/';
    for (const char *k = key; *k; k++) {
        const char *esc = *k == '~' ? "~0" : *k == '/' ? "~1" : NULL;
        size_t need = esc ? 2 : 1;
        if (n + need >= cap) {
            path[old] = '\0'; /* does not fit: keep the parent, positions degrade to it */
            return old;
        }
        if (esc) {
            path[n++] = esc[0];
            path[n++] = esc[1];
        } else {
            path[n++] = *k;
        }
    }
    path[n] = '\0';
    return old;
}

size_t sc_path_pushi(char *path, size_t cap, size_t index)
{
    char num[32];
    snprintf(num, sizeof num, "%zu", index);
    return sc_path_push(path, cap, num);
}

static void path_add(struct loader *l, const char *key)
{
    sc_buf_add(&l->path, "/", 1);
    for (const char *k = key; *k; k++) {
        if (*k == '~')
            sc_buf_add(&l->path, "~0", 2);
        else if (*k == '/')
            sc_buf_add(&l->path, "~1", 2);
        else
            sc_buf_add(&l->path, k, 1);
    }
    if (l->path.oom)
        oom(l);
}

static void path_truncate(struct loader *l, size_t len)
{
    if (l->path.data) {
        l->path.len = len;
        l->path.data[len] = '\0';
    }
}

static struct sc_pos mark_pos(const yaml_mark_t *s, const yaml_mark_t *e)
{
    struct sc_pos p = {(int)s->line + 1, (int)s->column + 1, 0};
    if (e && e->line == s->line && e->column > s->column)
        p.len = (int)(e->column - s->column);
    return p;
}

static void record(struct loader *l, struct sc_pos val, const struct sc_pos *key, int quote,
                   bool verbatim)
{
    struct sc_doc *doc = l->doc;
    if (doc->npos == doc->cappos) {
        size_t cap = doc->cappos ? doc->cappos * 2 : 64;
        struct sc_node_pos *v = sc_realloc(doc->pos, cap * sizeof *v);
        if (!v) {
            oom(l);
            return;
        }
        doc->pos = v;
        doc->cappos = cap;
    }
    struct sc_node_pos *np = &doc->pos[doc->npos];
    memset(np, 0, sizeof *np);
    np->val = val;
    if (key)
        np->key = *key;
    np->quote = quote;
    np->verbatim = verbatim;
    json_t *ix = json_integer((json_int_t)doc->npos);
    if (!ix || json_object_set_new(doc->paths, l->path.data ? l->path.data : "", ix) != 0) {
        oom(l);
        return;
    }
    doc->npos++;
}

/* Where the next value goes: sets the path and the key position of a mapping entry.
 * Returns false (after reporting) when the value cannot be placed. */
static bool begin_value(struct loader *l, struct sc_pos *keypos, bool *has_key)
{
    *has_key = false;
    if (l->depth == 0) {
        path_truncate(l, 0);
        return true;
    }
    struct frame *f = &l->stack[l->depth - 1];
    path_truncate(l, f->path_len);
    if (f->is_map) {
        if (f->key_dup)
            sc_buf_add(&l->path, "/" DUP_MARK, 2);
        path_add(l, f->key);
        *keypos = f->keypos;
        *has_key = true;
    } else {
        char num[32];
        snprintf(num, sizeof num, "%zu", f->index);
        path_add(l, num);
    }
    return !l->fatal;
}

/* Attaches a finished value to its parent (steals v). */
static void attach(struct loader *l, json_t *v, int height)
{
    if (l->depth == 0) {
        json_decref(l->doc->root);
        l->doc->root = v;
        return;
    }
    struct frame *f = &l->stack[l->depth - 1];
    if (height + 1 > f->height)
        f->height = height + 1;
    if (f->is_map) {
        if (f->key_dup || json_object_set_new_nocheck(f->node, f->key, v) != 0) {
            if (!f->key_dup)
                oom(l);
            else
                json_decref(v);
        }
        free(f->key);
        f->key = NULL;
        f->key_dup = false;
    } else {
        if (json_array_append_new(f->node, v) != 0)
            oom(l);
        f->index++;
    }
}

static bool count_node(struct loader *l, const yaml_mark_t *m, size_t n)
{
    l->nodes += n;
    if (l->nodes > SC_YAML_MAX_NODES) {
        lerr(l, m, 0, "document expands to more than %d nodes (through aliases?); refusing it",
             SC_YAML_MAX_NODES);
        l->fatal = true;
        return false;
    }
    return true;
}

static void set_anchor(struct loader *l, const char *name, json_t *v, size_t nodes, int height)
{
    if (l->nanch == l->capanch) {
        size_t cap = l->capanch ? l->capanch * 2 : 8;
        struct anchor *a = sc_realloc(l->anch, cap * sizeof *a);
        if (!a) {
            oom(l);
            return;
        }
        l->anch = a;
        l->capanch = cap;
    }
    json_t *ix = json_integer((json_int_t)l->nanch);
    if (!ix || json_object_set_new(l->anchors, name, ix) != 0) {
        oom(l);
        return;
    }
    l->anch[l->nanch++] = (struct anchor){json_incref(v), nodes, height};
}

static bool is_one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

static bool match_int(const char *s, json_int_t *out, bool *range)
{
    const char *p = s;
    int base = 10;
    *range = false;
    if (p[0] == '0' && p[1] == 'x') {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && p[1] == 'o') {
        base = 8;
        p += 2;
    } else if (*p == '-' || *p == '+') {
        p++;
    }
    if (!*p)
        return false;
    for (const char *q = p; *q; q++) {
        int ok = base == 16 ? ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                               (*q >= 'A' && *q <= 'F'))
               : base == 8 ? (*q >= '0' && *q <= '7')
                           : (*q >= '0' && *q <= '9');
        if (!ok)
            return false;
    }
    errno = 0;
    long long v = strtoll(base == 10 ? s : p, NULL, base);
    if (errno == ERANGE) {
        *range = true;
        return true;
    }
    *out = (json_int_t)v;
    return true;
}

static bool match_float(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    bool digits = false;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* YAML 1.2 core schema for plain scalars; quoted ones are always strings. */
static json_t *resolve_scalar(struct loader *l, const yaml_event_t *e)
{
    const char *s = (const char *)e->data.scalar.value;
    size_t n = e->data.scalar.length;
    const char *tag = (const char *)e->data.scalar.tag;
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, YAML_STR_TAG) != 0) {
        lerr(l, &e->start_mark, 0, "YAML tag '%s' is not supported here; write the plain value",
             tag);
        return json_null();
    }
    if (memchr(s, '\0', n)) {
        lerr(l, &e->start_mark, 0, "a NUL character is not allowed in a value");
        return json_null();
    }
    if (tag || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, n);
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const nonfinite[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                                            "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
                                            NULL};
    if (is_one_of(s, nulls))
        return json_null();
    if (is_one_of(s, trues))
        return json_true();
    if (is_one_of(s, falses))
        return json_false();
    const char *digits = s + (*s == '-' || *s == '+');
    if (digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9' &&
        (match_float(s) || strspn(digits, "0123456789") == strlen(digits))) {
        const char *kept = digits + strspn(digits, "0");
        if (*kept == '\0' || *kept == '.')
            kept--; /* "000" is 0, "00.5" is 0.5 */
        sc_diag_add(l->d, SC_SEV_WARNING, &l->doc->src, (int)e->start_mark.line + 1,
                    (int)e->start_mark.column + 1, (int)(e->end_mark.column - e->start_mark.column),
                    "%s becomes the number %.*s%s: YAML drops leading zeros; quote it to keep "
                    "the text: \"%s\"", s, (int)(digits - s), s, kept, s);
    }
    json_int_t iv;
    bool range;
    if (match_int(s, &iv, &range)) {
        if (!range)
            return json_integer(iv);
        lerr(l, &e->start_mark, (int)(e->end_mark.column - e->start_mark.column),
             "integer %s does not fit in 64 bits; quote it to keep it as text", s);
        return json_null();
    }
    if (match_float(s)) {
        double dv = strtod(s, NULL);
        if (isfinite(dv))
            return json_real(dv);
    }
    if (is_one_of(s, nonfinite)) {
        lerr(l, &e->start_mark, (int)(e->end_mark.column - e->start_mark.column),
             "'%s' (infinity or NaN) cannot be represented in JSON", s);
        return json_null();
    }
    return json_stringn(s, n);
}

/* True when the scalar's value is its source text (so columns inside it are exact). */
static bool scalar_verbatim(struct loader *l, const yaml_event_t *e, int quote)
{
    if (e->start_mark.line != e->end_mark.line)
        return false;
    struct sc_src *src = &l->doc->src;
    long off = sc_src_offset(src, (int)e->start_mark.line + 1, (int)e->start_mark.column + 1);
    size_t n = e->data.scalar.length;
    if (off < 0 || (size_t)off + (size_t)quote + n > src->len)
        return false;
    return memcmp(src->text + off + quote, e->data.scalar.value, n) == 0;
}

static void on_scalar(struct loader *l, const yaml_event_t *e)
{
    struct sc_pos vpos = mark_pos(&e->start_mark, &e->end_mark);
    if (l->depth > 0) {
        struct frame *f = &l->stack[l->depth - 1];
        if (f->is_map && !f->key) {
            const char *k = (const char *)e->data.scalar.value;
            if (memchr(k, '\0', e->data.scalar.length)) {
                lerr(l, &e->start_mark, 0, "a NUL character is not allowed in a key");
                l->fatal = true;
                return;
            }
            f->key = sc_strdup(k);
            if (!f->key) {
                oom(l);
                return;
            }
            f->keypos = vpos;
            f->key_dup = false;
            if (!strcmp(k, "<<") && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                lerr(l, &e->start_mark, vpos.len, "YAML merge keys ('<<: *anchor') are not "
                     "supported: write the keys out in this mapping (an alias, key: *anchor, "
                     "may stand for a whole value)");
                l->fatal = true; /* what the merge would have brought is unknown: stop here */
                return;
            } else if (json_object_get(f->node, k)) {
                path_truncate(l, f->path_len);
                path_add(l, k);
                const struct sc_node_pos *first = sc_doc_pos(l->doc, l->path.data);
                path_truncate(l, f->path_len);
                lerr(l, &e->start_mark, vpos.len, "duplicate key '%s' (first defined at line %d)",
                     k, first ? first->key.line : 0);
                f->key_dup = true;
            }
            return;
        }
    }
    struct sc_pos kpos;
    bool has_key;
    if (!begin_value(l, &kpos, &has_key) || !count_node(l, &e->start_mark, 1))
        return;
    json_t *v = resolve_scalar(l, e);
    if (!v) {
        oom(l);
        return;
    }
    int quote = e->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                e->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    bool plain_or_quoted = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE || quote;
    record(l, vpos, has_key ? &kpos : NULL, quote,
           plain_or_quoted && scalar_verbatim(l, e, quote));
    if (e->data.scalar.anchor)
        set_anchor(l, (const char *)e->data.scalar.anchor, v, 1, 0);
    attach(l, v, 0);
}

static void on_start(struct loader *l, const yaml_event_t *e, bool is_map)
{
    if (l->depth > 0) {
        struct frame *f = &l->stack[l->depth - 1];
        if (f->is_map && !f->key) {
            if (!template_hint(l, (int)e->start_mark.line + 1))
                lerr(l, &e->start_mark, 0, "a mapping key must be a plain value, not a %s",
                     is_map ? "mapping" : "list");
            l->fatal = true;
            return;
        }
    }
    if (l->depth >= SC_YAML_MAX_DEPTH) {
        lerr(l, &e->start_mark, 0, "nesting deeper than %d levels; refusing it",
             SC_YAML_MAX_DEPTH);
        l->fatal = true;
        return;
    }
    const char *tag = (const char *)(is_map ? e->data.mapping_start.tag
                                            : e->data.sequence_start.tag);
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, is_map ? YAML_MAP_TAG : YAML_SEQ_TAG) != 0) {
        lerr(l, &e->start_mark, 0, "YAML tag '%s' is not supported here", tag);
        l->fatal = true;
        return;
    }
    struct sc_pos kpos;
    bool has_key;
    if (!begin_value(l, &kpos, &has_key) || !count_node(l, &e->start_mark, 1))
        return;
    json_t *node = is_map ? json_object() : json_array();
    if (!node) {
        oom(l);
        return;
    }
    record(l, mark_pos(&e->start_mark, NULL), has_key ? &kpos : NULL, 0, false);
    const char *anchor = (const char *)(is_map ? e->data.mapping_start.anchor
                                               : e->data.sequence_start.anchor);
    struct frame *f = &l->stack[l->depth++];
    memset(f, 0, sizeof *f);
    f->node = node;
    f->is_map = is_map;
    f->path_len = l->path.len;
    f->anchor = anchor ? sc_strdup(anchor) : NULL;
    f->nodes_at_start = l->nodes;
    if (anchor && !f->anchor)
        oom(l);
}

static void on_end(struct loader *l)
{
    struct frame *f = &l->stack[--l->depth];
    json_t *node = f->node;
    int height = f->height;
    if (f->anchor)
        set_anchor(l, f->anchor, node, l->nodes - f->nodes_at_start + 1, height);
    free(f->anchor);
    free(f->key);
    attach(l, node, height);
}

static void on_alias(struct loader *l, const yaml_event_t *e)
{
    const char *name = (const char *)e->data.alias.anchor;
    struct sc_pos vpos = mark_pos(&e->start_mark, &e->end_mark);
    if (l->depth > 0) {
        struct frame *f = &l->stack[l->depth - 1];
        if (f->is_map && !f->key) {
            lerr(l, &e->start_mark, vpos.len, "an alias cannot be used as a mapping key");
            l->fatal = true;
            return;
        }
    }
    json_t *ix = json_object_get(l->anchors, name);
    if (!ix) {
        lerr(l, &e->start_mark, vpos.len, "alias '*%s' names no anchor defined before it", name);
        l->fatal = true;
        return;
    }
    const struct anchor *a = &l->anch[json_integer_value(ix)];
    if (++l->aliases > SC_YAML_MAX_ALIASES) {
        lerr(l, &e->start_mark, vpos.len, "more than %d aliases; refusing the document",
             SC_YAML_MAX_ALIASES);
        l->fatal = true;
        return;
    }
    if (l->depth + a->height >= SC_YAML_MAX_DEPTH) {
        lerr(l, &e->start_mark, vpos.len, "alias '*%s' nests deeper than %d levels", name,
             SC_YAML_MAX_DEPTH);
        l->fatal = true;
        return;
    }
    struct sc_pos kpos;
    bool has_key;
    if (!begin_value(l, &kpos, &has_key) || !count_node(l, &e->start_mark, a->nodes))
        return;
    json_t *copy = json_deep_copy(a->val);
    if (!copy) {
        oom(l);
        return;
    }
    record(l, vpos, has_key ? &kpos : NULL, 0, false);
    attach(l, copy, a->height);
}

/* ---- hints for the usual YAML mistakes, in the user's terms ---- */

struct span {
    size_t a, b; /* byte offsets into the source, [a, b) */
};

static bool line_span(const struct sc_src *src, int line, struct span *ln)
{
    long off = line > 0 ? sc_src_offset(src, line, 1) : -1;
    if (off < 0 || (size_t)off > src->len)
        return false;
    const char *nl = memchr(src->text + off, '\n', src->len - (size_t)off);
    ln->a = (size_t)off;
    ln->b = nl ? (size_t)(nl - src->text) : src->len;
    if (ln->b > ln->a && src->text[ln->b - 1] == '\r')
        ln->b--;
    return true;
}

/* How many [ or { are open at byte end (a flow collection spanning lines). */
static int flow_depth(const char *t, size_t end)
{
    int flow = 0;
    char q = 0;
    for (size_t i = 0; i < end; i++) {
        char c = t[i], prev = i ? t[i - 1] : '\n';
        if (q) {
            if (c == '\\' && q == '"')
                i++;
            else if (c == q || c == '\n')
                q = 0;
        } else if (c == '#' && (prev == ' ' || prev == '\n')) {
            while (i < end && t[i] != '\n')
                i++;
        } else if ((c == '"' || c == '\'') && strchr(" [{,:\n", prev)) {
            q = c;
        } else if (c == '{' && i + 1 < end && t[i + 1] == '{') {
            i++; /* a template's braces are no collection */
            while (i + 1 < end && !(t[i] == '}' && t[i + 1] == '}') && t[i] != '\n')
                i++;
            i += i + 1 < end && t[i] == '}';
        } else if (c == '{' || c == '[') {
            flow++;
        } else if ((c == '}' || c == ']') && flow > 0) {
            flow--;
        }
    }
    return flow;
}

/* The plain (unquoted) value on a line that holds a "{{", and the key before it. */
static bool unquoted_template(const struct sc_src *src, int line, struct span *val,
                              struct span *key)
{
    struct span ln;
    if (!line_span(src, line, &ln))
        return false;
    const char *t = src->text;
    char q = 0;
    int flow = flow_depth(t, ln.a);
    size_t at = 0;
    bool found = false;
    for (size_t i = ln.a; i < ln.b && !found; i++) {
        char c = t[i], prev = i > ln.a ? t[i - 1] : ' ';
        if (q) {
            if (c == '\\' && q == '"')
                i++;
            else if (c == q)
                q = 0;
        } else if (c == '#' && prev == ' ') {
            break; /* a comment */
        } else if ((c == '"' || c == '\'') && strchr(" [{,:", prev)) {
            q = c;
        } else if (c == '{' && i + 1 < ln.b && t[i + 1] == '{') {
            at = i;
            found = true;
        } else if (c == '{' || c == '[') {
            flow++;
        } else if ((c == '}' || c == ']') && flow > 0) {
            flow--;
        }
    }
    if (!found)
        return false;
    size_t a = at;
    if (flow > 0) { /* inside [ ] or { }: the value starts after ': ', ',' or the bracket */
        while (a > ln.a && !(t[a - 1] == ' ' && a - 1 > ln.a && strchr(":-,[{", t[a - 2])) &&
               !strchr("[{,", t[a - 1]) && !(t[a - 1] == ' ' && a - 1 == ln.a))
            a--;
    } else { /* a block value: everything after the key's ': ' (or the item's '- ') */
        a = ln.a;
        while (a < at && t[a] == ' ')
            a++;
        while (a + 1 < at && t[a] == '-' && t[a + 1] == ' ')
            for (a += 2; a < at && t[a] == ' '; a++)
                ;
        for (size_t c = a; c + 1 < at; c++)
            if (t[c] == ':' && t[c + 1] == ' ') {
                a = c + 2;
                break;
            }
    }
    while (a < at && t[a] == ' ')
        a++;
    size_t b = a;
    int depth = 0;
    while (b < ln.b) {
        if (t[b] == '{' && b + 1 < ln.b && t[b + 1] == '{') {
            for (b += 2; b < ln.b && !(t[b - 1] == '}' && t[b] == '}'); b++)
                ;
            b += b < ln.b;
            continue;
        }
        if (t[b] == '#' && t[b - 1] == ' ')
            break;
        if (flow > 0) {
            if (depth == 0 && strchr(",}]", t[b]))
                break;
            depth += t[b] == '[' || t[b] == '{' ? 1 : t[b] == ']' || t[b] == '}' ? -1 : 0;
        }
        b++;
    }
    while (b > a && t[b - 1] == ' ')
        b--;
    *val = (struct span){a, b};
    *key = (struct span){0, 0};
    size_t k = a;
    while (k > ln.a && t[k - 1] == ' ')
        k--;
    if (k > ln.a && t[k - 1] == ':') {
        size_t ke = --k;
        while (k > ln.a && !strchr(" {[,", t[k - 1]))
            k--;
        *key = (struct span){k, ke};
    }
    return true;
}

/* Reports an unquoted template on line (or the line before it); true when reported. */
static bool template_hint(struct loader *l, int line)
{
    const struct sc_src *src = &l->doc->src;
    struct span v, k;
    for (int ln = line; ln >= line - 1 && ln > 0; ln--) {
        if (!unquoted_template(src, ln, &v, &k))
            continue;
        const char *t = src->text, *qc = memchr(t + v.a, '"', v.b - v.a) ? "'" : "\"";
        int line_no, col;
        sc_src_linecol(src, v.a, &line_no, &col);
        sc_diag_add(l->d, SC_SEV_ERROR, src, line_no, col, sc_utf8_chars(t + v.a, v.b - v.a),
                    "a {{ }} template must be quoted: unquoted, YAML reads '{' as the start of a "
                    "mapping; write %.*s%s%s%.*s%s", (int)(k.b - k.a), t + k.a,
                    k.b > k.a ? ": " : "", qc, (int)(v.b - v.a), t + v.a, qc);
        return true;
    }
    return false;
}

/* A line's first token: its column, and the key it names ("-" for a list item). */
static bool line_key(const struct sc_src *src, int line, int *col, struct span *key)
{
    struct span ln;
    if (!line_span(src, line, &ln))
        return false;
    const char *t = src->text;
    size_t a = ln.a;
    while (a < ln.b && t[a] == ' ')
        a++;
    if (a == ln.b || t[a] == '#')
        return false;
    size_t b = a;
    if (t[a] == '-' && (a + 1 == ln.b || t[a + 1] == ' '))
        b = a + 1;
    else
        while (b < ln.b && t[b] != ':' && !(t[b] == ' ' && b + 1 < ln.b && t[b + 1] == '#'))
            b++;
    *col = (int)(a - ln.a) + 1;
    *key = (struct span){a, b};
    return true;
}

/* "key: a: b": a ': ' inside a plain value. Returns true when reported. */
static bool colon_hint(struct loader *l, int line, const struct span *k)
{
    const struct sc_src *src = &l->doc->src;
    const char *t = src->text;
    struct span ln;
    if (!line_span(src, line, &ln) || k->b >= ln.b || t[k->b] != ':')
        return false;
    size_t a = k->b + 1, b = a;
    while (a < ln.b && t[a] == ' ')
        a++;
    if (a == ln.b || strchr("\"'{[|>&*!", t[a]))
        return false;
    for (b = a; b < ln.b && !(t[b] == '#' && t[b - 1] == ' '); b++)
        ;
    while (b > a && t[b - 1] == ' ')
        b--;
    const char *qc = memchr(t + a, '"', b - a) ? "'" : "\"";
    int line_no, col;
    sc_src_linecol(src, a, &line_no, &col);
    sc_diag_add(l->d, SC_SEV_ERROR, src, line_no, col, sc_utf8_chars(t + a, b - a),
                "': ' inside an unquoted value starts a mapping; quote the value: %.*s: %s%.*s%s",
                (int)(k->b - k->a), t + k->a, qc, (int)(b - a), t + a, qc);
    return true;
}

/* An indentation mistake: the line's key does not line up with the one above it.
 * Returns true when reported. */
static bool indent_hint(struct loader *l, int line, int col, const char *problem)
{
    static const char *const kinds[] = {"did not find expected key",
                                        "did not find expected '-' indicator",
                                        "mapping values are not allowed in this context",
                                        "block sequence entries are not allowed in this context",
                                        NULL};
    if (!problem || !is_one_of(problem, kinds))
        return false;
    const struct sc_src *src = &l->doc->src;
    const char *t = src->text;
    int c, pc = 0, pline;
    struct span k, pk;
    if (!line_key(src, line, &c, &k))
        return false;
    if (!strcmp(problem, kinds[2])) {
        /* only the ':' right after the line's key: a ':' inside a value is another mistake */
        long colon = sc_src_offset(src, line, col);
        if (colon < 0)
            return false;
        if ((size_t)colon != k.b)
            return colon_hint(l, line, &k);
    }
    bool dash = k.b - k.a == 1 && t[k.a] == '-';
    if (dash) { /* a list item lines up with the item before it */
        for (pline = line - 1; pline > 0; pline--)
            if (line_key(src, pline, &pc, &pk) && t[pk.a] == '-' && pk.b - pk.a == 1)
                break;
        if (pline <= 0 || pc == c)
            return false;
        sc_diag_add(l->d, SC_SEV_ERROR, src, line, c, 1,
                    "indentation: the list item at column %d does not line up with the list "
                    "item at column %d (line %d); items of one list start in the same column",
                    c, pc, pline);
        return true;
    }
    for (pline = line - 1; pline > 0 && !line_key(src, pline, &pc, &pk); pline--)
        ;
    if (pline <= 0 || pc == c)
        return false;
    bool pdash = pk.b - pk.a == 1 && t[pk.a] == '-';
    if (pdash) { /* "- id: a": the mapping's keys start after the dash */
        struct span ln;
        line_span(src, pline, &ln);
        size_t a = pk.b;
        while (a < ln.b && t[a] == ' ')
            a++;
        size_t b = a;
        while (b < ln.b && t[b] != ':' && t[b] != ' ')
            b++;
        if (b > a) {
            pc = (int)(a - ln.a) + 1;
            pk = (struct span){a, b};
        }
    }
    if (pc == c || (t[pk.b] != ':' && t[pk.a] != '-'))
        return false;
    if (t[pk.b] == ':') { /* "key:" opening a block: a deeper line is its content */
        struct span ln;
        line_span(src, pline, &ln);
        size_t e = pk.b + 1;
        while (e < ln.b && t[e] == ' ')
            e++;
        if ((e == ln.b || t[e] == '#') && c > pc)
            return false;
    }
    /* deeper than the key it should follow: name the enclosing key too ("nor ...") */
    int ac = 0, aline = 0;
    struct span ak = {0, 0};
    for (int al = pline - 1; c < pc && al > 0 && !aline; al--)
        if (line_key(src, al, &ac, &ak) && ac < c)
            aline = t[ak.a] == '-' ? -1 : al; /* a list item: the first part says enough */
    char nor[160] = "";
    if (aline > 0)
        snprintf(nor, sizeof nor, " nor with '%.*s' at column %d (line %d)",
                 (int)(ak.b - ak.a > 60 ? 60 : ak.b - ak.a), t + ak.a, ac, aline);
    sc_diag_add(l->d, SC_SEV_ERROR, src, line, c, sc_utf8_chars(t + k.a, k.b - k.a),
                "indentation: '%.*s' at column %d does not line up with '%.*s' at column %d "
                "(line %d)%s; keys of one mapping start in the same column", (int)(k.b - k.a),
                t + k.a, c, (int)(pk.b - pk.a), t + pk.a, pc, pline, nor);
    return true;
}

/* "-id: b": a dash without the space that makes a list item. True when reported. */
static bool dash_hint(struct loader *l, int line)
{
    const struct sc_src *src = &l->doc->src;
    const char *t = src->text;
    int c;
    struct span k, ln;
    if (!line_key(src, line, &c, &k) || t[k.a] != '-' || k.b - k.a < 2 || t[k.a + 1] == ' ' ||
        t[k.a + 1] == '-' || (t[k.a + 1] >= '0' && t[k.a + 1] <= '9') || !line_span(src, line, &ln))
        return false;
    size_t e = ln.b;
    while (e > k.a && t[e - 1] == ' ')
        e--;
    sc_diag_add(l->d, SC_SEV_ERROR, src, line, c, 1,
                "a list item is '- ' with a space: write - %.*s", (int)(e - k.a - 1), t + k.a + 1);
    return true;
}

/* "module set": a line that should be "key: value" lacks its ':'. True when reported. */
static bool colon_missing_hint(struct loader *l, const yaml_parser_t *p)
{
    if (!p->problem || strcmp(p->problem, "could not find expected ':'"))
        return false;
    const struct sc_src *src = &l->doc->src;
    const char *t = src->text;
    int line = (int)p->context_mark.line + 1, c;
    struct span k, ln;
    if (!line_key(src, line, &c, &k) || !line_span(src, line, &ln))
        return false;
    size_t a = k.a;
    if (t[a] == '-' && k.b == a + 1)
        for (a++; a < ln.b && t[a] == ' '; a++)
            ;
    size_t b = ln.b;
    while (b > a && t[b - 1] == ' ')
        b--;
    const char *sp = memchr(t + a, ' ', b - a);
    int col;
    sc_src_linecol(src, a, &line, &col);
    if (sp)
        sc_diag_add(l->d, SC_SEV_ERROR, src, line, col, sc_utf8_chars(t + a, (size_t)(sp - t) - a),
                    "'%.*s' has no ':' after its key; did you mean '%.*s:%.*s'?",
                    (int)(b - a), t + a, (int)(sp - t - (long)a), t + a, (int)(t + b - sp), sp);
    else
        sc_diag_add(l->d, SC_SEV_ERROR, src, line, col, sc_utf8_chars(t + a, b - a),
                    "'%.*s' has no ':' after it: a key is written 'key: value'", (int)(b - a),
                    t + a);
    return true;
}

/* An unclosed '{' or '[': says where it was opened. True when reported. */
static bool unclosed_hint(struct loader *l, const yaml_parser_t *p, int line, int col)
{
    if (!p->problem || !p->context || strncmp(p->context, "while parsing a flow ", 21))
        return false;
    bool map = !strcmp(p->problem, "did not find expected ',' or '}'");
    if (!map && strcmp(p->problem, "did not find expected ',' or ']'"))
        return false;
    sc_diag_add(l->d, SC_SEV_ERROR, &l->doc->src, line, col, 0,
                "the '%c' opened at line %d, column %d is not closed here: a '%c' (or a ',' "
                "between entries) is missing", map ? '{' : '[', (int)p->context_mark.line + 1,
                (int)p->context_mark.column + 1, map ? '}' : ']');
    return true;
}

static void syntax_error(struct loader *l, yaml_parser_t *p)
{
    struct sc_src *src = &l->doc->src;
    if (p->error == YAML_MEMORY_ERROR) {
        oom(l);
        return;
    }
    if (p->error == YAML_READER_ERROR) {
        int line, col;
        size_t bad = sc_utf8_invalid(src->text, src->len);
        bool utf8 = !(p->problem && strstr(p->problem, "control characters"));
        /* libyaml points past a broken sequence; name its first byte instead. */
        size_t off = utf8 && bad < src->len ? bad : p->problem_offset;
        sc_src_linecol(src, off, &line, &col);
        if (!utf8)
            sc_diag_add(l->d, SC_SEV_ERROR, src, line, col, 1,
                        "control character U+%04X is not allowed in YAML", p->problem_value);
        else
            sc_diag_add(l->d, SC_SEV_ERROR, src, line, col, 1,
                        "invalid UTF-8 (byte 0x%02X): scenario files must be UTF-8 text",
                        (unsigned char)src->text[off < src->len ? off : 0]);
        l->fatal = true;
        return;
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    long off = sc_src_offset(src, line, col);
    if (off >= 0 && (size_t)off < src->len && src->text[off] == '\t') {
        sc_diag_add(l->d, SC_SEV_ERROR, src, line, col, 1,
                    "tab character in indentation: YAML indents with spaces only");
    } else if (template_hint(l, line) || dash_hint(l, line) || colon_missing_hint(l, p) ||
               indent_hint(l, line, col, p->problem) || unclosed_hint(l, p, line, col)) {
        /* reported in the user's terms */
    } else if (p->context) {
        sc_diag_add(l->d, SC_SEV_ERROR, src, line, col, 0,
                    "YAML syntax error: %s %s (started at line %d, column %d)", p->problem,
                    p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    } else {
        sc_diag_add(l->d, SC_SEV_ERROR, src, line, col, 0, "YAML syntax error: %s",
                    p->problem ? p->problem : "unknown problem");
    }
    l->fatal = true;
}

struct sc_doc *sc_doc_parse(const char *name, const char *text, size_t len, struct sc_diags *d)
{
    struct sc_doc *doc = sc_calloc(1, sizeof *doc);
    if (!doc) {
        struct sc_src src = {name, NULL, 0};
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "out of memory while loading");
        return NULL;
    }
    doc->src.name = sc_strdup(name);
    doc->src.text = sc_strndup(text, len);
    doc->src.len = len;
    doc->paths = json_object();
    if (!doc->src.name || !doc->src.text || !doc->paths) {
        sc_diag_add(d, SC_SEV_ERROR, NULL, 0, 0, 0, "out of memory while loading %s", name);
        sc_doc_free(doc);
        return NULL;
    }
    struct loader l = {.doc = doc, .d = d, .anchors = json_object()};
    if (!l.anchors)
        oom(&l);
    if (len > SC_YAML_MAX_BYTES) {
        sc_diag_add(d, SC_SEV_ERROR, &doc->src, 0, 0, 0,
                    "file is %zu bytes; the limit is %d bytes (1 MiB)", len, SC_YAML_MAX_BYTES);
        l.fatal = true;
    }
    yaml_parser_t p;
    bool parser_ok = !l.fatal && yaml_parser_initialize(&p);
    if (!l.fatal && !parser_ok)
        oom(&l);
    int docs = 0;
    if (parser_ok) {
        yaml_parser_set_input_string(&p, (const unsigned char *)doc->src.text, len);
        yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
        bool done = false;
        while (!done && !l.fatal) {
            yaml_event_t e;
            if (!yaml_parser_parse(&p, &e)) {
                syntax_error(&l, &p);
                break;
            }
            switch (e.type) {
            case YAML_STREAM_END_EVENT:
                done = true;
                break;
            case YAML_DOCUMENT_START_EVENT:
                if (++docs > 1) {
                    lerr(&l, &e.start_mark, 3,
                         "a second YAML document: one scenario file holds one document");
                    l.fatal = true;
                }
                break;
            case YAML_SCALAR_EVENT:
                on_scalar(&l, &e);
                break;
            case YAML_SEQUENCE_START_EVENT:
                on_start(&l, &e, false);
                break;
            case YAML_MAPPING_START_EVENT:
                on_start(&l, &e, true);
                break;
            case YAML_SEQUENCE_END_EVENT:
            case YAML_MAPPING_END_EVENT:
                on_end(&l);
                break;
            case YAML_ALIAS_EVENT:
                on_alias(&l, &e);
                break;
            default:
                break;
            }
            yaml_event_delete(&e);
        }
        yaml_parser_delete(&p);
    }
    while (l.depth > 0) {
        struct frame *f = &l.stack[--l.depth];
        json_decref(f->node);
        free(f->key);
        free(f->anchor);
    }
    for (size_t i = 0; i < l.nanch; i++)
        json_decref(l.anch[i].val);
    free(l.anch);
    json_decref(l.anchors);
    sc_buf_free(&l.path);
    if (!l.fatal && docs == 0) {
        sc_diag_add(d, SC_SEV_ERROR, &doc->src, 0, 0, 0,
                    "file is empty: expected a YAML mapping");
        l.fatal = true;
    }
    if (l.fatal) {
        sc_doc_free(doc);
        return NULL;
    }
    return doc;
}

struct sc_doc *sc_doc_load_file(const char *path, struct sc_diags *d)
{
    size_t len = 0;
    bool too_big;
    char *text = sc_read_file(path, SC_YAML_MAX_BYTES, &len, &too_big);
    if (!text) {
        struct sc_src src = {path, NULL, 0};
        if (too_big)
            sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0,
                        "file is larger than the limit of %d bytes (1 MiB)", SC_YAML_MAX_BYTES);
        else
            sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    struct sc_doc *doc = sc_doc_parse(path, text, len, d);
    free(text);
    return doc;
}

void sc_doc_free(struct sc_doc *doc)
{
    if (!doc)
        return;
    free((char *)doc->src.name);
    free((char *)doc->src.text);
    json_decref(doc->root);
    json_decref(doc->paths);
    free(doc->pos);
    free(doc);
}

const struct sc_node_pos *sc_doc_pos(const struct sc_doc *doc, const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "");
    for (;;) {
        json_t *ix = json_object_get(doc->paths, buf);
        if (ix)
            return &doc->pos[json_integer_value(ix)];
        char *slash = strrchr(buf, '/');
        if (!slash)
            return NULL;
        *slash = '\0';
    }
}

struct sc_pos sc_doc_pos_in(const struct sc_doc *doc, const char *path, size_t off, size_t len)
{
    const struct sc_node_pos *np = sc_doc_pos(doc, path);
    struct sc_pos p = {0, 0, 0};
    if (!np)
        return p;
    p = np->val;
    if (!np->verbatim)
        return p;
    long start = sc_src_offset(&doc->src, p.line, p.col);
    if (start < 0)
        return p;
    const char *s = doc->src.text + start + np->quote;
    p.col += np->quote + sc_utf8_chars(s, off);
    p.len = sc_utf8_chars(s + off, len);
    return p;
}
