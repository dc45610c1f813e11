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

json_t *sc_version_diff(const json_t *a, const json_t *b)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v) {
        if (strcmp(k, "steps") != 0)
            diff_value(out, k, v, json_object_get(b, k));
    }
    json_object_foreach((json_t *)b, k, v) {
        if (strcmp(k, "steps") != 0 && !json_object_get(a, k))
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
