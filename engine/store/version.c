#include "store/version.h"

#include "crypto.h"
#include "store/store.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *sc_version_canonical(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

int sc_version_checksum(const json_t *doc, char out[72])
{
    char *c = sc_version_canonical(doc);
    if (!c)
        return -1;
    memcpy(out, "sha256:", 7);
    sc_crypto_sha256_hex(c, strlen(c), out + 7);
    free(c);
    return 0;
}

char *sc_version_text(const json_t *doc)
{
    return json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
}

bool sc_version_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-' || name[i] == '_'))
            return false;
    return true;
}

json_t *sc_version_export(const json_t *v)
{
    json_t *doc = json_object_get(v, "document");
    json_t *e = json_pack("{s:s, s:O, s:O, s:O, s:O}", "format", SC_EXPORT_FORMAT, "scenario",
                          json_object_get(v, "scenario"), "version", json_object_get(v, "number"),
                          "created_at", json_object_get(v, "created_at"), "checksum",
                          json_object_get(v, "checksum"));
    if (e && json_object_get(v, "message"))
        json_object_set(e, "message", json_object_get(v, "message"));
    if (e && json_object_set(e, "document", doc) != 0) {
        json_decref(e);
        return NULL;
    }
    return e;
}

json_t *sc_version_read(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *e = json_loadb(text, len, 0, &je);
    if (!e) {
        snprintf(err, errlen, "not JSON: %s at line %d, column %d", je.text, je.line, je.column);
        return NULL;
    }
    const char *fmt = json_string_value(json_object_get(e, "format"));
    const char *name = json_string_value(json_object_get(e, "scenario"));
    const char *sum = json_string_value(json_object_get(e, "checksum"));
    json_t *doc = json_object_get(e, "document");
    char want[72];
    if (!json_is_object(e) || !fmt) {
        snprintf(err, errlen, "not a scenarist export: no \"format\"");
    } else if (strcmp(fmt, SC_EXPORT_FORMAT) != 0) {
        snprintf(err, errlen, "format %s is not one this scenarist reads (%s)", fmt,
                 SC_EXPORT_FORMAT);
    } else if (!json_is_object(doc) || !name || !sum) {
        snprintf(err, errlen, "an export needs scenario, checksum and document");
    } else if (!sc_version_name_ok(name) ||
               json_string_length(json_object_get(e, "scenario")) != strlen(name)) {
        snprintf(err, errlen, "scenario name '%s' may hold only a-z, 0-9, - and _", name);
    } else if (sc_version_checksum(doc, want) != 0) {
        snprintf(err, errlen, "out of memory");
    } else if (strcmp(want, sum) != 0) {
        snprintf(err, errlen, "checksum mismatch: the document was changed after export "
                              "(it says %.20s..., its content is %.20s...)", sum, want);
    } else if (!json_is_string(json_object_get(doc, "name")) ||
               strcmp(json_string_value(json_object_get(doc, "name")), name) != 0) {
        snprintf(err, errlen, "the document is scenario '%s', the export says '%s'",
                 json_string_value(json_object_get(doc, "name")) ? json_string_value(
                     json_object_get(doc, "name")) : "(no name)", name);
    } else if (sc_version_transforms_check(doc, err, errlen) != 0) {
        /* err says which file */
    } else {
        return e;
    }
    json_decref(e);
    return NULL;
}

/* ---- diff ---- */

static void line(json_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(json_t *out, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(out, json_string(buf));
}

static char *show(const json_t *v)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    if (t && strlen(t) > 200)
        strcpy(t + 196, "...");
    return t ? t : sc_strdup("(none)");
}

static void diff_value(json_t *out, const char *path, const json_t *a, const json_t *b)
{
    if (json_equal(a, b))
        return;
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        char p[1024];
        json_object_foreach((json_t *)a, k, v) {
            snprintf(p, sizeof p, "%.600s.%.400s", path, k);
            diff_value(out, p, v, json_object_get(b, k));
        }
        json_object_foreach((json_t *)b, k, v) {
            if (!json_object_get(a, k)) {
                snprintf(p, sizeof p, "%.600s.%.400s", path, k);
                diff_value(out, p, NULL, v);
            }
        }
        return;
    }
    if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
        char p[1024];
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(p, sizeof p, "%.1000s[%zu]", path, i);
            diff_value(out, p, json_array_get(a, i), json_array_get(b, i));
        }
        return;
    }
    char *x = show(a), *y = show(b);
    line(out, "~ %s: %s -> %s", path, x, y);
    free(x);
    free(y);
}

static const char *step_key(const json_t *step, size_t i, char *buf, size_t n)
{
    const char *id = json_string_value(json_object_get(step, "id"));
    if (id)
        return id;
    snprintf(buf, n, "#%zu", i + 1);
    return buf;
}

static const json_t *find_step(const json_t *steps, const char *key, size_t *at)
{
    size_t i;
    json_t *s;
    char buf[32];
    json_array_foreach(steps, i, s) if (!strcmp(step_key(s, i, buf, sizeof buf), key)) {
        *at = i;
        return s;
    }
    return NULL;
}

/* Line i (0-based) of text and its length. */
static const char *nth_line(const char *text, long i, size_t *len)
{
    const char *p = text;
    for (long k = 0; k < i && p; k++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    p = p ? p : "";
    *len = strcspn(p, "\n");
    return p;
}

static long count_lines(const char *text)
{
    long n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n + (*text && text[strlen(text) - 1] != '\n');
}

static bool same_line(const char *a, long i, const char *b, long j)
{
    size_t la, lb;
    const char *x = nth_line(a, i, &la), *y = nth_line(b, j, &lb);
    return la == lb && !memcmp(x, y, la);
}

/* The lines of a changed file between their common head and tail, as "- 13: text" and
 * "+ 13: text" (at most 20 of each), after a header line, all in one entry. */
static void diff_lines(json_t *out, const char *file, json_t *fa, json_t *fb)
{
    const char *a = json_string_value(json_object_get(fa, "source"));
    const char *b = json_string_value(json_object_get(fb, "source"));
    struct sc_buf buf = {0};
    sc_buf_printf(&buf, "~ transforms/%s: %.19s... -> %.19s...", file,
                  json_string_value(json_object_get(fa, "checksum")),
                  json_string_value(json_object_get(fb, "checksum")));
    long na = a ? count_lines(a) : 0, nb = b ? count_lines(b) : 0, head = 0, tail = 0;
    size_t len;
    while (a && b && head < na && head < nb && same_line(a, head, b, head))
        head++;
    while (a && b && tail < na - head && tail < nb - head &&
           same_line(a, na - 1 - tail, b, nb - 1 - tail))
        tail++;
    for (int side = 0; side < 2; side++) {
        const char *t = side ? b : a;
        long end = (side ? nb : na) - tail;
        for (long i = head; t && i < end && i < head + 20; i++) {
            const char *l = nth_line(t, i, &len);
            sc_buf_printf(&buf, "\n  %c %ld: %.*s%s", side ? '+' : '-', i + 1,
                          (int)(len > 160 ? 157 : len), l, len > 160 ? "..." : "");
        }
        if (t && end - head > 20)
            sc_buf_printf(&buf, "\n  %c ... (%ld more lines)", side ? '+' : '-', end - head - 20);
    }
    char *text = sc_buf_take(&buf);
    if (text)
        json_array_append_new(out, json_string(text));
    free(text);
}

/* One entry per transform file added ("+ transforms/FILE.lua"), no longer used ("-")
 * or changed ("~", with its lines). */
static void diff_transforms(json_t *out, json_t *ta, json_t *tb)
{
    const char *k;
    json_t *v;
    json_object_foreach(ta, k, v) {
        json_t *o = json_object_get(tb, k);
        if (!o)
            line(out, "- transforms/%s", k);
        else if (!json_equal(o, v))
            diff_lines(out, k, v, o);
    }
    json_object_foreach(tb, k, v) {
        if (!json_object_get(ta, k))
            line(out, "+ transforms/%s (%.19s...)", k,
                 json_string_value(json_object_get(v, "checksum")));
    }
}

json_t *sc_version_diff(const json_t *a, const json_t *b)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v) {
        if (strcmp(k, "steps") != 0 && strcmp(k, "transforms") != 0)
            diff_value(out, k, v, json_object_get(b, k));
    }
    json_object_foreach((json_t *)b, k, v) {
        if (strcmp(k, "steps") != 0 && strcmp(k, "transforms") != 0 && !json_object_get(a, k))
            diff_value(out, k, NULL, v);
    }
    const json_t *sa = json_object_get(a, "steps"), *sb = json_object_get(b, "steps");
    size_t i, at;
    json_t *s;
    char buf[32], path[256];
    json_array_foreach(sa, i, s) {
        const char *key = step_key(s, i, buf, sizeof buf);
        const json_t *o = find_step(sb, key, &at);
        if (!o) {
            line(out, "- steps.%s (%s)", key, json_string_value(json_object_get(s, "module")));
            continue;
        }
        if (at != i)
            line(out, "~ steps.%s: moved from position %zu to %zu", key, i + 1, at + 1);
        snprintf(path, sizeof path, "steps.%s", key);
        diff_value(out, path, s, o);
    }
    json_array_foreach(sb, i, s) {
        const char *key = step_key(s, i, buf, sizeof buf);
        if (!find_step(sa, key, &at))
            line(out, "+ steps.%s (%s) at position %zu", key,
                 json_string_value(json_object_get(s, "module")), i + 1);
    }
    diff_transforms(out, json_object_get(a, "transforms"), json_object_get(b, "transforms"));
    return out;
}

/* ---- backup ---- */

/* Writes text to path through a temporary file, so a crash leaves the old file or the
 * new one, never half of one. */
static int write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
    char *tmp = sc_asprintf("%s.tmp", path);
    FILE *f = tmp ? fopen(tmp, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f)
        ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (tmp)
            unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

int sc_version_write(const json_t *version, const char *path, char *err, size_t errlen)
{
    json_t *e = sc_version_export(version);
    char *text = e ? json_dumps(e, JSON_INDENT(2)) : NULL;
    json_decref(e);
    int rc = text ? write_atomic(path, text, err, errlen) : -1;
    if (!text)
        snprintf(err, errlen, "out of memory");
    free(text);
    return rc;
}

int sc_backup_run(struct sc_store *st, const char *dir, int *written, int *unchanged, char *err,
                  size_t errlen)
{
    *written = *unchanged = 0;
    err[0] = '\0';
    json_t *cur = sc_store_versions_current(st);
    if (!cur) {
        snprintf(err, errlen, "%s", sc_store_error(st));
        return -1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        json_decref(cur);
        return -1;
    }
    int rc = 0;
    size_t i;
    json_t *row;
    json_array_foreach(cur, i, row) {
        const char *name = json_string_value(json_object_get(row, "scenario"));
        int n = (int)json_integer_value(json_object_get(row, "number"));
        if (!sc_version_name_ok(name)) { /* names are checked on the way in: never a path */
            snprintf(err, errlen, "scenario name '%s' cannot name a file", name ? name : "");
            rc = -1;
            break;
        }
        char *sub = sc_asprintf("%s/%s", dir, name), *path = sc_asprintf("%s/%s/v%d.json", dir, name, n);
        size_t len;
        bool big;
        char *old = path ? sc_read_file(path, 64u * 1024 * 1024, &len, &big) : NULL;
        json_t *prev = old ? json_loadb(old, len, 0, NULL) : NULL;
        free(old);
        const char *sum = json_string_value(json_object_get(prev, "checksum"));
        if (sum && !strcmp(sum, json_string_value(json_object_get(row, "checksum")))) {
            (*unchanged)++;
        } else {
            json_t *v = sc_store_version_get(st, name, n);
            if (!sub || (mkdir(sub, 0755) != 0 && errno != EEXIST) || !v ||
                sc_version_write(v, path, err, errlen) != 0) {
                if (!err[0])
                    snprintf(err, errlen, "%s: %s", sub ? sub : dir,
                             v ? strerror(errno) : sc_store_error(st));
                rc = -1;
            } else {
                (*written)++;
            }
            json_decref(v);
        }
        json_decref(prev);
        free(sub);
        free(path);
        if (rc != 0)
            break;
    }
    json_decref(cur);
    return rc;
}

/* ---- transforms: the Lua files a version runs ---- */

/* True for FILE.lua with FILE a name Lua code can be called by (no dot, no slash). */
static bool file_name_ok(const char *k)
{
    size_t n = strlen(k);
    if (n <= 4 || n > 68 || strcmp(k + n - 4, ".lua") != 0)
        return false;
    for (size_t i = 0; i < n - 4; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9') || k[i] == '-' || k[i] == '_'))
            return false;
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void file_sum(const char *text, size_t n, char out[72])
{
    memcpy(out, "sha256:", 7);
    sc_crypto_sha256_hex(text, n, out + 7);
}

json_t *sc_version_transforms(const json_t *used, char *err, size_t errlen)
{
    json_t *out = json_object(), *v;
    const char *keys[512], *k;
    size_t nk = 0;
    json_object_foreach((json_t *)used, k, v) if (nk < 512) keys[nk++] = k;
    qsort(keys, nk, sizeof *keys, by_name); /* stored and named in one order */
    for (size_t i = 0; i < nk; i++) {
        k = keys[i];
        v = json_object_get(used, k);
        const char *text = json_string_value(v);
        size_t n = json_string_length(v);
        char sum[72];
        json_t *src = text ? json_stringn(text, n) : NULL; /* NULL: not UTF-8 */
        if (!src || !file_name_ok(k)) {
            snprintf(err, errlen, !src ? "transform %s is not UTF-8 text: a version cannot "
                                         "store it" : "transform file '%s' must be named "
                                         "FILE.lua (letters, digits, - and _)", k);
            json_decref(src);
            json_decref(out);
            return NULL;
        }
        file_sum(text, n, sum);
        if (!out || json_object_set_new(out, k, json_pack("{s:s, s:o}", "checksum", sum,
                                                          "source", src)) != 0) {
            snprintf(err, errlen, "out of memory");
            json_decref(out);
            return NULL;
        }
    }
    if (!out)
        snprintf(err, errlen, "out of memory");
    return out;
}

json_t *sc_version_document(const json_t *scenario, const json_t *transforms)
{
    json_t *doc = json_copy((json_t *)scenario);
    if (doc && json_object_size(transforms) &&
        json_object_set(doc, "transforms", (json_t *)transforms) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *sc_version_scenario(const json_t *doc)
{
    json_t *sc = json_copy((json_t *)doc);
    if (sc)
        json_object_del(sc, "transforms");
    return sc;
}

int sc_version_transforms_check(const json_t *doc, char *err, size_t errlen)
{
    json_t *tf = json_object_get(doc, "transforms"), *v;
    const char *k;
    if (tf && !json_is_object(tf)) {
        snprintf(err, errlen, "transforms must be an object of FILE.lua: {checksum, source}");
        return -1;
    }
    json_object_foreach(tf, k, v) {
        const char *src = json_string_value(json_object_get(v, "source"));
        const char *sum = json_string_value(json_object_get(v, "checksum"));
        char want[72];
        if (!file_name_ok(k)) {
            snprintf(err, errlen, "transform file '%s' must be named FILE.lua (letters, "
                                  "digits, - and _)", k);
            return -1;
        }
        if (!src || !sum) {
            snprintf(err, errlen, "transform %s needs checksum and source", k);
            return -1;
        }
        file_sum(src, json_string_length(json_object_get(v, "source")), want);
        if (strcmp(want, sum) != 0) {
            snprintf(err, errlen, "transform %s: checksum mismatch: its source was changed "
                                  "(it says %.20s..., its content is %.20s...)", k, sum, want);
            return -1;
        }
    }
    return 0;
}

void sc_version_transforms_note(const json_t *a, const json_t *b, char *out, size_t n)
{
    json_t *ta = json_object_get(a, "transforms"), *tb = json_object_get(b, "transforms"), *v;
    static const char *const verbs[] = {"changed", "added", "no longer used"};
    size_t used = 0;
    out[0] = '\0';
    for (int pass = 0; pass < 3; pass++) { /* "transforms a.lua, b.lua changed; ..." */
        json_t *from = pass == 2 ? ta : tb, *other = pass == 2 ? tb : ta;
        char files[512] = "";
        size_t nf = 0, fl = 0;
        const char *k;
        json_object_foreach(from, k, v) {
            json_t *o = json_object_get(other, k);
            if (pass == 0 ? !o || json_equal(o, v) : o != NULL)
                continue;
            int w = snprintf(files + fl, sizeof files - fl, "%s%s", nf ? ", " : "", k);
            if (w > 0 && (size_t)w < sizeof files - fl)
                fl += (size_t)w;
            nf++;
        }
        int w = nf ? snprintf(out + used, n - used, "%stransform%s %s %s", used ? "; " : "",
                              nf > 1 ? "s" : "", files, verbs[pass]) : 0;
        if (w > 0 && (size_t)w < n - used)
            used += (size_t)w;
    }
}
