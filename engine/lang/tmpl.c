#include "lang/tmpl.h"

#include "lang/expr.h"
#include "lang/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { LIT, STR, OBJ, ARR };

struct part {
    char *text; /* literal text, or the expression's source (for messages) */
    int ref;    /* compiled expression, -1 for text */
};

struct sc_tmpl {
    enum kind kind;
    json_t *lit;        /* LIT: borrowed value */
    struct part *parts; /* STR */
    size_t nparts;
    bool whole;         /* STR: exactly one {{ }}, keeps the JSON type */
    sc_tmpl_encoder enc; /* STR: writes values into the text, or NULL */
    const char **keys;  /* OBJ: borrowed from the compiled value */
    struct sc_tmpl **kids;
    size_t n;
};

static bool has_template(json_t *v)
{
    if (json_is_string(v))
        return sc_expr_has_template(json_string_value(v));
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x) {
            if (has_template(x))
                return true;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) {
            if (has_template(x))
                return true;
        }
    }
    return false;
}

struct sc_tmpl *sc_tmpl_compile(struct sc_lua *lua, json_t *v, char *err, size_t errlen)
{
    struct sc_tmpl *t = sc_calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!has_template(v)) {
        t->kind = LIT;
        t->lit = v;
        return t;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        struct sc_tmpl_part *p;
        size_t np, eo, el;
        const char *emsg;
        t->kind = STR;
        if (sc_expr_scan(s, strlen(s), &p, &np, &emsg, &eo, &el) != 0) {
            snprintf(err, errlen, "%s", emsg);
            free(t);
            return NULL;
        }
        t->parts = sc_calloc(np, sizeof *t->parts);
        t->whole = sc_expr_is_whole(p, np);
        for (size_t i = 0; t->parts && i < np; i++) {
            t->parts[i].ref = -1;
            t->parts[i].text = sc_strndup(s + p[i].off, p[i].len);
            t->nparts++;
            if (!t->parts[i].text) {
                snprintf(err, errlen, "out of memory");
                break;
            }
            if (p[i].is_expr) {
                char msg[256];
                t->parts[i].ref = sc_lua_compile(lua, s + p[i].off, p[i].len, msg, sizeof msg);
                if (t->parts[i].ref < 0) {
                    snprintf(err, errlen, "{{ %s }}: %s", t->parts[i].text, msg);
                    break;
                }
            }
        }
        bool ok = t->parts && t->nparts == np &&
                  (np == 0 || (t->parts[np - 1].text &&
                               (!p[np - 1].is_expr || t->parts[np - 1].ref >= 0)));
        free(p);
        if (!ok) {
            if (!t->parts)
                snprintf(err, errlen, "out of memory");
            sc_tmpl_free(t, lua);
            return NULL;
        }
        return t;
    }
    size_t n = json_is_object(v) ? json_object_size(v) : json_array_size(v);
    t->kind = json_is_object(v) ? OBJ : ARR;
    t->kids = sc_calloc(n, sizeof *t->kids);
    t->keys = t->kind == OBJ ? sc_calloc(n, sizeof *t->keys) : NULL;
    if (!t->kids || (t->kind == OBJ && !t->keys)) {
        snprintf(err, errlen, "out of memory");
        sc_tmpl_free(t, lua);
        return NULL;
    }
    const char *k;
    json_t *x;
    size_t i;
    if (t->kind == OBJ) {
        json_object_foreach(v, k, x) {
            t->keys[t->n] = k;
            if (!(t->kids[t->n] = sc_tmpl_compile(lua, x, err, errlen))) {
                sc_tmpl_free(t, lua);
                return NULL;
            }
            t->n++;
        }
    } else {
        json_array_foreach(v, i, x) {
            if (!(t->kids[t->n] = sc_tmpl_compile(lua, x, err, errlen))) {
                sc_tmpl_free(t, lua);
                return NULL;
            }
            t->n++;
        }
    }
    return t;
}

/* Text whose values go through the template's encoder (a URL path). */
static json_t *render_encoded(const struct sc_tmpl *t, struct sc_lua *lua, enum sc_status *st,
                              char *err, size_t errlen)
{
    char msg[512];
    struct sc_buf b = {0};
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].ref < 0) {
            sc_buf_puts(&b, t->parts[i].text);
            continue;
        }
        json_t *v = NULL;
        *st = sc_lua_eval_json(lua, t->parts[i].ref, &v, msg, sizeof msg);
        if (*st == SC_OK)
            *st = t->enc(&b, v, msg, sizeof msg);
        json_decref(v);
        if (*st != SC_OK) {
            snprintf(err, errlen, "{{ %s }}: %s", t->parts[i].text, msg);
            sc_buf_free(&b);
            return NULL;
        }
    }
    json_t *out = b.oom ? NULL : json_stringn(b.data ? b.data : "", b.len);
    sc_buf_free(&b);
    if (!out) {
        *st = SC_ERR_RUNTIME;
        snprintf(err, errlen, "rendered text is not valid UTF-8 (or out of memory)");
    }
    return out;
}

static json_t *render_str(const struct sc_tmpl *t, struct sc_lua *lua, enum sc_status *st,
                          char *err, size_t errlen)
{
    char msg[512];
    if (t->enc)
        return render_encoded(t, lua, st, err, errlen);
    if (t->whole) {
        json_t *out = NULL;
        *st = sc_lua_eval_json(lua, t->parts[0].ref, &out, msg, sizeof msg);
        if (*st != SC_OK)
            snprintf(err, errlen, "{{ %s }}: %s", t->parts[0].text, msg);
        return out;
    }
    struct sc_buf b = {0};
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].ref < 0) {
            sc_buf_puts(&b, t->parts[i].text);
            continue;
        }
        *st = sc_lua_eval_text(lua, t->parts[i].ref, &b, msg, sizeof msg);
        if (*st != SC_OK) {
            snprintf(err, errlen, "{{ %s }}: %s", t->parts[i].text, msg);
            sc_buf_free(&b);
            return NULL;
        }
    }
    json_t *out = b.oom ? NULL : json_stringn(b.data ? b.data : "", b.len);
    sc_buf_free(&b);
    if (!out) {
        *st = SC_ERR_RUNTIME;
        snprintf(err, errlen, "rendered text is not valid UTF-8 (or out of memory)");
    }
    return out;
}

json_t *sc_tmpl_render(const struct sc_tmpl *t, struct sc_lua *lua, enum sc_status *st,
                       char *err, size_t errlen)
{
    *st = SC_OK;
    switch (t->kind) {
    case LIT:
        return json_incref(t->lit);
    case STR:
        return render_str(t, lua, st, err, errlen);
    case OBJ:
    case ARR: {
        json_t *out = t->kind == OBJ ? json_object() : json_array();
        for (size_t i = 0; out && i < t->n; i++) {
            json_t *v = sc_tmpl_render(t->kids[i], lua, st, err, errlen);
            int rc = !v ? -1
                   : t->kind == OBJ ? json_object_set_new(out, t->keys[i], v)
                                    : json_array_append_new(out, v);
            if (rc != 0) {
                if (*st == SC_OK) {
                    *st = SC_ERR_RUNTIME;
                    snprintf(err, errlen, "out of memory");
                }
                json_decref(out);
                return NULL;
            }
        }
        if (!out) {
            *st = SC_ERR_RUNTIME;
            snprintf(err, errlen, "out of memory");
        }
        return out;
    }
    }
    return NULL;
}

enum sc_status sc_tmpl_test(const struct sc_tmpl *t, struct sc_lua *lua, bool *out, char *err,
                            size_t errlen)
{
    if (t->kind == LIT) {
        *out = json_is_true(t->lit);
        return SC_OK;
    }
    char msg[512];
    enum sc_status st = t->kind == STR && t->whole
                            ? sc_lua_eval_bool(lua, t->parts[0].ref, out, msg, sizeof msg)
                            : SC_ERR_CONFIG;
    if (st == SC_ERR_CONFIG)
        snprintf(err, errlen, "a condition must be exactly one {{ }}");
    else if (st != SC_OK)
        snprintf(err, errlen, "{{ %s }}: %s", t->parts[0].text, msg);
    return st;
}

void sc_tmpl_free(struct sc_tmpl *t, struct sc_lua *lua)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nparts; i++) {
        sc_lua_unref(lua, t->parts[i].ref);
        free(t->parts[i].text);
    }
    free(t->parts);
    for (size_t i = 0; i < t->n; i++)
        sc_tmpl_free(t->kids[i], lua);
    free(t->kids);
    free(t->keys);
    free(t);
}

void sc_tmpl_set_encoder(struct sc_tmpl *t, const char *key, sc_tmpl_encoder enc)
{
    if (t && !key && t->kind == STR)
        t->enc = enc;
    for (size_t i = 0; t && key && t->kind == OBJ && i < t->n; i++)
        if (!strcmp(t->keys[i], key) && t->kids[i]->kind == STR)
            t->kids[i]->enc = enc;
}

enum sc_status sc_tmpl_key_value(struct sc_buf *out, const json_t *v, char *err, size_t errlen)
{
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
        snprintf(err, errlen, "is %s: a key with a part missing would take different events "
                 "for one", !v || json_is_null(v) ? "null or missing" : "empty text");
        return SC_ERR_DATA;
    }
    if (json_is_string(v)) {
        sc_buf_add(out, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        sc_buf_printf(out, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) { /* as sc_lua_eval_text: shortest round trip */
        char num[32];
        sc_buf_add(out, num, sc_text_number(json_real_value(v), num));
    } else if (json_is_boolean(v)) {
        sc_buf_puts(out, json_is_true(v) ? "true" : "false");
    } else {
        char *txt = sc_text_json(v, 0, false);
        if (!txt) {
            snprintf(err, errlen, "out of memory");
            return SC_ERR_RUNTIME;
        }
        sc_buf_puts(out, txt);
        free(txt);
    }
    return SC_OK;
}
