/* The audit log's archive above the backends (store/archive.h): its file, its checkpoints
 * and their checks; the backends give the rows and the statements. */
#include "store/archive.h"

#include "clock.h"
#include "crypto.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARCHIVE_FORMAT "scenarist.audit-archive/1"

static int problem_at(json_t **problem, int64_t row, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int problem_at(json_t **problem, int64_t row, int64_t line, const char *fmt, ...)
{
    char reason[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    json_decref(*problem);
    *problem = json_pack("{s:s}", "reason", reason);
    if (*problem && row > 0)
        json_object_set_new(*problem, "row", json_integer(row));
    if (*problem && line > 0)
        json_object_set_new(*problem, "line", json_integer(line));
    return SC_STORE_BROKEN;
}

/* The archive checkpoint's HMAC: format, org, through, last_hash, unkeyed, at. */
static void archive_mac(const struct sc_audit_key *k, const char *org, int64_t through,
                        const char *hash, int64_t unkeyed, const char *at, char out[65])
{
    char *text = sc_asprintf(ARCHIVE_FORMAT "\x1f%s\x1f%lld\x1f%s\x1f%lld\x1f%s", org,
                             (long long)through, hash, (long long)unkeyed, at);
    if (text)
        sc_audit_mac(k, text, strlen(text), out);
    else
        memset(out, 'x', 64), out[64] = '\0';
    free(text);
}

/* A checkpoint object's fields; 0 when its HMAC holds under this store's audit key. */
static int archive_cp_check(const struct sc_audit_key *k, const json_t *cp, const char *org,
                            int64_t *through, const char **hash, int64_t *unkeyed)
{
    const char *fmt = json_string_value(json_object_get(cp, "format"));
    const char *corg = json_string_value(json_object_get(cp, "org"));
    const char *at = json_string_value(json_object_get(cp, "at"));
    const char *mac = json_string_value(json_object_get(cp, "hmac"));
    *hash = json_string_value(json_object_get(cp, "last_hash"));
    *through = json_integer_value(json_object_get(cp, "through"));
    *unkeyed = json_integer_value(json_object_get(cp, "unkeyed"));
    if (!fmt || strcmp(fmt, ARCHIVE_FORMAT) || !corg || (org && strcmp(corg, org)) || !at ||
        !mac || !*hash || strlen(*hash) != 64 || *through < 1 || strlen(mac) != 64)
        return -1;
    char want[65];
    archive_mac(k, corg, *through, *hash, *unkeyed, at, want);
    return sc_crypto_equal(want, mac, 64) ? 0 : -1;
}

json_t *sc_archive_row_json(int64_t through, const char *org, const char *last_hash,
                            int64_t unkeyed, const char *at, const char *key_id,
                            const char *hmac, const char *file)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "format", ARCHIVE_FORMAT,
                     "org", org, "through", (json_int_t)through, "last_hash", last_hash,
                     "unkeyed", (json_int_t)unkeyed, "at", at, "key_id", key_id, "hmac", hmac,
                     "file", file);
}

int sc_archive_walk(const struct sc_audit_chain *c, struct sc_audit_walk *w, json_t **problem)
{
    json_t *cp = sc_store_audit_archived(c->st);
    if (!cp)
        return c->err[0] ? -1 : 0;
    int64_t through, unkeyed;
    const char *hash;
    int rc = 0;
    if (archive_cp_check(c->key, cp, NULL, &through, &hash, &unkeyed) != 0) {
        rc = problem_at(problem, json_integer_value(json_object_get(cp, "through")), 0,
                        "is where the store's archive checkpoint says the archive ends, but the "
                        "checkpoint does not carry the audit key's HMAC: it was edited");
    } else {
        w->expect = through + 1;
        w->unkeyed = unkeyed;
        snprintf(w->prev, sizeof w->prev, "%s", hash);
    }
    json_decref(cp);
    return rc;
}

/* One audit row (all its columns) as an archive line's object. */
static json_t *row_json(const struct sc_audit_cells *c)
{
    static const char *const names[18] = {
        "id", "at", "org", "scenario", "version", "execution", "step", "method", "sent_from",
        "sent_to", "status", "duration_ms", "body_sha256", "outcome", "prev_hash", "hash", "ref",
        "key_id"};
    json_t *o = json_object();
    for (int i = 0; o && i < 18; i++) {
        bool number = i <= 1 || i == 10 || i == 11 || i == 16; /* the INTEGER columns */
        json_t *v = c->null[i] ? json_null()
                    : number   ? json_integer(c->num[i])
                               : json_string(c->text[i]);
        if (json_object_set_new(o, names[i], v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    if (o && !c->null[18]) /* only rows naming a person */
        json_object_set_new(o, "actor", json_string(c->text[18]));
    return o;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* Checks one archived row against the walk, as sc_audit_row_check does a stored one. */
static int file_row_check(const struct sc_audit_key *k, const json_t *r,
                          struct sc_audit_walk *w, int64_t line, const char *path,
                          json_t **problem)
{
    static const char *const txt_names[8] = {"org", "scenario", "version", "execution",
                                             "step", "method", "sent_from", "sent_to"};
    int64_t id = json_integer_value(json_object_get(r, "id"));
    const char *kid = jstr(r, "key_id"), *txt[8];
    for (int i = 0; i < 8; i++)
        txt[i] = jstr(r, txt_names[i]);
    bool keyed = kid[0] != '\0';
    char hash[65];
    sc_audit_hash(k, keyed, id, json_integer_value(json_object_get(r, "at")), txt,
                  json_integer_value(json_object_get(r, "status")),
                  json_integer_value(json_object_get(r, "duration_ms")), jstr(r, "body_sha256"),
                  jstr(r, "outcome"), jstr(r, "prev_hash"),
                  json_integer_value(json_object_get(r, "ref")), jstr(r, "actor"), hash);
    int rc = 0;
    if (id != w->expect)
        rc = problem_at(problem, w->expect, line, "is missing from archive %s (line %lld holds "
                        "row %lld): it was deleted", path, (long long)line, (long long)id);
    else if (strcmp(jstr(r, "prev_hash"), w->prev) != 0)
        rc = problem_at(problem, id, line, "in archive %s (line %lld) does not chain to the "
                        "row before it: it was replaced", path, (long long)line);
    else if (keyed && strcmp(kid, k->id) != 0)
        rc = problem_at(problem, id, line, "in archive %s (line %lld) was keyed with another "
                        "audit key (%s; this org's is %s)", path, (long long)line, kid, k->id);
    else if (!keyed && (w->unkeyed != id - 1 || id > k->unkeyed_rows))
        rc = problem_at(problem, id, line, "in archive %s (line %lld) has no HMAC: it was "
                        "rewritten without the audit key", path, (long long)line);
    else if (strcmp(hash, jstr(r, "hash")) != 0)
        rc = problem_at(problem, id, line, "in archive %s (line %lld) was changed or forged: "
                        "its contents do not match its %s", path, (long long)line,
                        keyed ? "HMAC" : "hash");
    w->unkeyed += !keyed && rc == 0;
    snprintf(w->prev, sizeof w->prev, "%s", jstr(r, "hash"));
    w->expect = id + 1;
    return rc;
}

/* One line of an archive file (n bytes, number no) against the walk: 0, or
 * SC_STORE_BROKEN; *seen set when it is the checkpoint the file must hold. */
static int file_line(const struct sc_audit_key *k, const char *org, const char *path,
                     const char *line, size_t n, int64_t no, struct sc_audit_walk *w,
                     int64_t seen_through, const char *seen_hash, bool *seen, json_t **problem)
{
    json_error_t je;
    json_t *j = json_loadb(line, n, 0, &je);
    json_t *cp = json_object_get(j, "checkpoint");
    int64_t through, unkeyed;
    const char *hash;
    int rc = 0;
    if (!json_is_object(j)) {
        rc = problem_at(problem, w->expect, no, "cannot be read from archive %s: line %lld "
                        "is not a JSON object (%s): it was damaged", path, (long long)no,
                        je.text);
    } else if (cp) {
        if (archive_cp_check(k, cp, org, &through, &hash, &unkeyed) != 0)
            rc = problem_at(problem, 0, no, "archive %s line %lld: its checkpoint does not "
                            "carry org %s's audit key's HMAC: it was edited", path,
                            (long long)no, org);
        else if (through != w->expect - 1 || strcmp(hash, w->prev))
            rc = problem_at(problem, through, no, "archive %s line %lld: its checkpoint "
                            "does not match the rows before it: rows were cut or added",
                            path, (long long)no);
        *seen |= rc == 0 && through == seen_through && seen_hash && !strcmp(hash, seen_hash);
    } else {
        rc = file_row_check(k, j, w, no, path, problem);
    }
    json_decref(j);
    return rc;
}

/* Walks an archive file from the genesis: every row and checkpoint line. *w: where it
 * ends. seen_through/seen_hash (may be 0/NULL): a checkpoint the file must hold (the
 * store's). 0 sound, SC_STORE_BROKEN with *problem, -1 (error set). A missing file is an
 * empty archive when missing_ok. */
static int file_walk(const struct sc_audit_chain *c, const char *org, const char *path,
                     bool missing_ok, struct sc_audit_walk *w, int64_t seen_through,
                     const char *seen_hash, json_t **problem)
{
    w->expect = 1;
    w->unkeyed = 0;
    memset(w->prev, '0', 64);
    w->prev[64] = '\0';
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT && missing_ok)
        return 0;
    if (!f)
        return sc_audit_chain_err(c, "archive %s: %s", path, strerror(errno)), -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t no = 0;
    bool seen = seen_through == 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        no++;
        if (n > 1)
            rc = file_line(c->key, org, path, line, (size_t)n, no, w, seen_through, seen_hash,
                           &seen, problem);
    }
    free(line);
    fclose(f);
    if (rc == 0 && !seen)
        rc = problem_at(problem, seen_through, 0, "is where the store's archive checkpoint "
                        "ends, but archive %s holds no such checkpoint (rows through %lld): "
                        "another file, or it was cut", path, (long long)(w->expect - 1));
    return rc;
}

enum sc_store_rc sc_archive_verify(const struct sc_audit_chain *c, const char *org,
                                   const json_t *cp, const char *path, json_t **problem)
{
    *problem = NULL;
    int keyed = sc_audit_keyed(c->key, c->err, c->errlen);
    if (keyed <= 0)
        return keyed < 0 ? -1 : (sc_audit_chain_err(c, "no audit key"), -1);
    json_t *have = sc_store_audit_archived(c->st);
    if (!have && c->err[0])
        return -1;
    struct sc_audit_walk w = {0};
    int rc = file_walk(c, org, path, false, &w,
                       have ? json_integer_value(json_object_get(have, "through")) : 0,
                       have ? jstr(have, "last_hash") : NULL, problem);
    json_decref(have);
    if (rc != 0)
        return rc;
    return c->ops->verify_from(c->st, org, cp, &w, problem);
}

/* True when the file's last line is the checkpoint the walk w stands at (its HMAC checked):
 * appending goes on from there without reading the file (`audit verify --archive` does). */
static bool file_ends_at(const struct sc_audit_key *k, const char *org, const char *path,
                         const struct sc_audit_walk *w)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
    size_t n = size > 0 && fseek(f, from, SEEK_SET) == 0 ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    if (n < 2 || buf[n - 1] != '\n')
        return false;
    buf[n - 1] = '\0';
    char *last = strrchr(buf, '\n');
    json_t *j = json_loads(last ? last + 1 : buf, 0, NULL);
    int64_t through, unkeyed;
    const char *hash;
    bool ok = json_object_get(j, "checkpoint") &&
              archive_cp_check(k, json_object_get(j, "checkpoint"), org, &through, &hash,
                               &unkeyed) == 0 &&
              through == w->expect - 1 && !strcmp(hash, w->prev) && unkeyed == w->unkeyed;
    json_decref(j);
    return ok;
}

/* archive_write's two passes over the rows: the first checks them (probe), so that nothing
 * of a broken chain reaches the file; the second checks them again (w) and appends them. */
struct write_pass {
    const struct sc_audit_chain *c;
    const char *path;
    int64_t through;
    struct sc_audit_walk probe, *w;
    FILE *f;
    json_t **problem;
};

/* Opens the file to append to (once): 0, or -1 (error set). */
static int pass_open(struct write_pass *p)
{
    if (!p->f && !(p->f = fopen(p->path, "a")))
        return sc_audit_chain_err(p->c, "archive %s cannot be written: %s", p->path,
                                  strerror(errno)), -1;
    return 0;
}

static int pass_row(void *arg, int pass, const struct sc_audit_cells *c)
{
    struct write_pass *p = arg;
    if (!c) /* after the checks: the rows must reach through */
        return pass == 0 && p->probe.expect - 1 != p->through
                   ? problem_at(p->problem, p->probe.expect, 0, "is missing: it was deleted")
                   : 0;
    if (pass == 0)
        return sc_audit_row_check(p->c->key, c, &p->probe, p->problem);
    if (pass_open(p) != 0)
        return -1;
    int rc = sc_audit_row_check(p->c->key, c, p->w, p->problem);
    json_t *row = rc ? NULL : row_json(c);
    if (!rc && (!row || json_dumpf(row, p->f, JSON_COMPACT) != 0 || fputc('\n', p->f) == EOF))
        rc = (sc_audit_chain_err(p->c, "archive %s cannot be written: %s", p->path,
                                 row ? strerror(errno) : "out of memory"), -1);
    json_decref(row);
    return rc;
}

/* Appends rows (from, through] to the file, then a checkpoint line, and syncs it. */
static int archive_write(const struct sc_audit_chain *c, const char *org, const char *path,
                         int64_t from, int64_t through, struct sc_audit_walk *w,
                         json_t **problem, json_t **cpo)
{
    struct write_pass p = {.c = c, .path = path, .through = through, .probe = *w, .w = w,
                           .problem = problem};
    int rc = c->ops->rows_range(c->st, from, through, 2, pass_row, &p);
    if (rc == 0 && pass_open(&p) != 0)
        rc = -1;
    if (!p.f)
        return rc;
    FILE *f = p.f;
    if (rc == 0 && w->expect - 1 != through)
        rc = problem_at(problem, w->expect, 0, "is missing: it was deleted");
    char at[40], mac[65];
    sc_clock_iso(sc_clock_now_ms(), at, sizeof at);
    archive_mac(c->key, org, through, w->prev, w->unkeyed, at, mac);
    *cpo = rc ? NULL : json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s}", "format",
                                 ARCHIVE_FORMAT, "org", org, "through", (json_int_t)through,
                                 "last_hash", w->prev, "unkeyed", (json_int_t)w->unkeyed, "at",
                                 at, "key_id", c->key->id, "hmac", mac);
    json_t *line = *cpo ? json_pack("{s:O}", "checkpoint", *cpo) : NULL;
    if (rc == 0 && (!line || json_dumpf(line, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF))
        rc = (sc_audit_chain_err(c, "archive %s cannot be written: %s", path, strerror(errno)), -1);
    json_decref(line);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = rc ? rc
                : (sc_audit_chain_err(c, "archive %s cannot be synced: %s", path, strerror(errno)),
                   -1);
    fclose(f);
    return rc;
}

/* The walk at the end of the file, which must reach the store's checkpoint at_store:
 * 0, or -1 (error set, or *problem). */
static int file_end(const struct sc_audit_chain *c, const char *org, const char *path,
                    const struct sc_audit_walk *at_store, struct sc_audit_walk *w,
                    json_t **problem)
{
    /* the file ends where the store's checkpoint says (its last line that checkpoint), or
     * is read whole: rows from an interrupted archive may be in it already */
    *w = *at_store;
    if (at_store->expect == 1 || !file_ends_at(c->key, org, path, at_store)) {
        int rc = file_walk(c, org, path, true, w,
                           at_store->expect > 1 ? at_store->expect - 1 : 0,
                           at_store->expect > 1 ? at_store->prev : NULL, problem);
        if (rc != 0)
            return -1;
    }
    if (w->expect < at_store->expect)
        return problem_at(problem, w->expect, 0, "is not in archive %s, which ends before the "
                          "store's archive checkpoint (rows through %lld): another file?", path,
                          (long long)(at_store->expect - 1)), -1;
    return 0;
}

int64_t sc_archive_run(const struct sc_audit_chain *c, const char *org, int64_t before_ms,
                       int64_t max_rows, int limit, const char *path, json_t **problem)
{
    *problem = NULL;
    int keyed = sc_audit_keyed(c->key, c->err, c->errlen);
    if (keyed <= 0)
        return keyed < 0 ? -1
                         : (sc_audit_chain_err(c, "archiving the audit log needs the org's "
                                               "audit key"), -1);
    if (limit < 1 || max_rows < 0)
        return sc_audit_chain_err(c, "archive: a batch takes at least one row"), -1;
    struct sc_audit_walk at_store = {.expect = 1};
    memset(at_store.prev, '0', 64);
    int rc = sc_archive_walk(c, &at_store, problem);
    if (rc != 0)
        return -1;
    int64_t head, old;
    if (c->ops->bounds(c->st, before_ms, &head, &old) != 0)
        return -1;
    int64_t through = old < head ? old : head - 1; /* the last row stays: it is the head */
    if (max_rows == 0) /* a dry run: what would go */
        return through >= at_store.expect ? through - at_store.expect + 1 : 0;
    if (through - at_store.expect + 1 > max_rows)
        through = at_store.expect - 1 + max_rows;
    struct sc_audit_walk w;
    if (file_end(c, org, path, &at_store, &w, problem) != 0)
        return -1;
    w.last = head;
    /* the new end: the rows old enough, or what an interrupted archive left in the file */
    int64_t end = through >= w.expect ? through : w.expect - 1;
    if (end < at_store.expect)
        return 0;
    json_t *cp = NULL;
    if ((rc = archive_write(c, org, path, w.expect - 1, end, &w, problem, &cp)) != 0)
        return -1;
    through = end;
    rc = c->ops->record(c->st, org, through, cp, path);
    json_decref(cp);
    if (rc != 0)
        return -1;
    int64_t n;
    do /* small transactions: the intake takes its turns between them */
        n = c->ops->delete_rows(c->st, through, limit);
    while (n > 0);
    return n < 0 ? -1 : through - at_store.expect + 1;
}

/* store.h's archive calls: the backend gives its chain, the archive is the same on each. */
int64_t sc_store_audit_archive(struct sc_store *st, const char *org, int64_t before_ms,
                               int64_t max_rows, int limit, const char *path,
                               json_t **problem)
{
    struct sc_audit_chain c;
    st->be->audit_chain(st, &c);
    return sc_archive_run(&c, org, before_ms, max_rows, limit, path, problem);
}

enum sc_store_rc sc_store_audit_verify_archive(struct sc_store *st, const char *org,
                                               const json_t *cp, const char *path,
                                               json_t **problem)
{
    struct sc_audit_chain c;
    st->be->audit_chain(st, &c);
    return sc_archive_verify(&c, org, cp, path, problem);
}
