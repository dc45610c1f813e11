/* The audit chain above the backends (store/audit_chain.h): the key, the hashing, the
 * walk, verification and checkpoints; the backends give the rows and the head. */
#include "store/audit_chain.h"

#include "clock.h"
#include "crypto.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char sc_audit_genesis[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

void sc_audit_chain_err(const struct sc_audit_chain *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
}

void sc_audit_key_clear(struct sc_audit_key *k)
{
    free(k->ref);
    k->ref = NULL;
    if (k->key)
        memset(k->key, 0, k->len);
    free(k->key);
    k->key = NULL;
}

void sc_audit_key_set(struct sc_audit_key *k, const char *ref, int64_t unkeyed_rows)
{
    sc_audit_key_clear(k);
    k->ref = ref ? sc_strdup(ref) : NULL;
    k->unkeyed_rows = unkeyed_rows > 0 ? unkeyed_rows : 0;
}

void sc_audit_mac(const struct sc_audit_key *k, const void *data, size_t n, char out[65])
{
    sc_crypto_hmac_hex(k->key, k->len, data, n, out);
}

int sc_audit_keyed(struct sc_audit_key *k, char *err, size_t errlen)
{
    if (!k->ref)
        return 0;
    if (k->key)
        return 1;
    char why[256];
    char *key = sc_org_secret(k->ref, why, sizeof why);
    if (!key)
        return snprintf(err, errlen, "audit key: %s", why), -1;
    if (strlen(key) < 32) {
        memset(key, 0, strlen(key));
        free(key);
        return snprintf(err, errlen, "audit key %s is shorter than 32 characters (make one "
                        "with `openssl rand -hex 32`)", k->ref), -1;
    }
    k->len = strlen(key);
    k->key = key;
    char id[65];
    sc_audit_mac(k, "scenarist audit key id", 22, id);
    snprintf(k->id, sizeof k->id, "k%.16s", id);
    return 1;
}

void sc_audit_hash(const struct sc_audit_key *k, bool keyed, int64_t id, int64_t at,
                   const char *const txt[8], int64_t status, int64_t duration,
                   const char *body_sha, const char *outcome, const char *prev, int64_t ref,
                   const char *by, char out[65])
{
    struct sc_buf b = {0};
    sc_buf_printf(&b, "%lld", (long long)id);
    sc_buf_printf(&b, "\x1f%lld", (long long)at);
    for (int i = 0; i < 8; i++)
        sc_buf_printf(&b, "\x1f%s", txt[i] ? txt[i] : "");
    sc_buf_printf(&b, "\x1f%lld\x1f%lld\x1f%s\x1f%s\x1f%s", (long long)status,
                  (long long)duration, body_sha, outcome, prev);
    if (ref > 0) /* rows before schema 7 have none: their hashes stay what they were */
        sc_buf_printf(&b, "\x1fref=%lld", (long long)ref);
    if (by && *by) /* rows before the actor column (SQLite v14, PostgreSQL v5): likewise */
        sc_buf_printf(&b, "\x1f" "by=%s", by);
    if (keyed)
        sc_audit_mac(k, b.data ? b.data : "", b.len, out);
    else
        sc_crypto_sha256_hex(b.data ? b.data : "", b.len, out);
    if (b.oom)
        memset(out, 'x', 64); /* cannot happen quietly: the row would fail verify */
    sc_buf_free(&b);
}

/* The head's MAC: the last row's id and hash under the key (unkeyed: empty). */
static void head_mac(const struct sc_audit_key *k, int64_t last, const char *hash, char out[65])
{
    char text[96];
    int n = snprintf(text, sizeof text, "head\x1f%lld\x1f%s", (long long)last, hash);
    sc_audit_mac(k, text, (size_t)n, out);
}

void sc_audit_seal(const struct sc_audit_key *k, bool keyed, const struct sc_audit_row *r,
                   int64_t id, const char *body_sha, const char *prev, char hash[65],
                   char mac[65])
{
    const char *to = r->sent_to ? r->sent_to : "";
    const char *txt[8] = {r->org, r->scenario, r->version, r->execution, r->step, r->method,
                          r->sent_from, to};
    sc_audit_hash(k, keyed, id, r->at_ms, txt, r->status, r->duration_ms, body_sha,
                  r->outcome, prev, r->ref, r->by, hash);
    if (keyed)
        head_mac(k, id, hash, mac);
}

static json_t *iso(int64_t ms)
{
    char buf[40];
    sc_clock_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

json_t *sc_audit_row_json(const struct sc_audit_cells *c)
{
    json_t *e = json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                          (json_int_t)c->num[0], "at", iso(c->num[1]), "org",
                          c->text[2], "scenario", c->text[3], "version", c->text[4],
                          "execution", c->text[5], "step", c->text[6], "method", c->text[7],
                          "sent_from", c->text[8], "sent_to", c->text[9]);
    if (!e)
        return NULL;
    json_object_set_new(e, "status", c->null[10] ? json_null() : json_integer(c->num[10]));
    json_object_set_new(e, "duration_ms", json_integer(c->num[11]));
    json_object_set_new(e, "body_sha256", json_string(c->text[12]));
    json_object_set_new(e, "outcome", json_string(c->text[13]));
    json_object_set_new(e, "hash", json_string(c->text[15]));
    if (!c->null[16])
        json_object_set_new(e, "by", json_string(c->text[16]));
    return e;
}

static int audit_problem(json_t **problem, int64_t row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int audit_problem(json_t **problem, int64_t row, const char *fmt, ...)
{
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    *problem = row > 0 ? json_pack("{s:I, s:s}", "row", (json_int_t)row, "reason", reason)
                       : json_pack("{s:s}", "reason", reason);
    return SC_STORE_BROKEN;
}

#define CHECKPOINT_FORMAT "scenarist.audit-checkpoint/1"

/* The checkpoint's HMAC covers its format, org, count, last hash and time. */
static void checkpoint_mac(const struct sc_audit_key *k, const char *org, int64_t count,
                           const char *last_hash, const char *at, char out[65])
{
    char *text = sc_asprintf(CHECKPOINT_FORMAT "\x1f%s\x1f%lld\x1f%s\x1f%s", org,
                             (long long)count, last_hash, at);
    if (text)
        sc_audit_mac(k, text, strlen(text), out);
    else
        memset(out, 'x', 64), out[64] = '\0';
    free(text);
}

json_t *sc_audit_checkpoint(const struct sc_audit_chain *c, const char *org, json_t **problem)
{
    *problem = NULL;
    int keyed = sc_audit_keyed(c->key, c->err, c->errlen);
    if (keyed <= 0) {
        if (!keyed)
            sc_audit_chain_err(c, "org %s has no audit key", org);
        return NULL;
    }
    int r = sc_store_audit_verify(c->st, org, NULL, problem); /* vouch only for an intact log */
    if (r != 0)
        return NULL;
    int64_t count;
    char hash[65], mac[65], at[40];
    if (c->ops->tail(c->st, &count, hash) != 0)
        return NULL;
    sc_clock_iso(sc_clock_now_ms(), at, sizeof at);
    checkpoint_mac(c->key, org, count, hash, at, mac);
    json_t *cp = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "format", CHECKPOINT_FORMAT,
                           "org", org, "count", (json_int_t)count, "last_hash", hash, "at", at,
                           "key_id", c->key->id, "hmac", mac);
    if (!cp)
        sc_audit_chain_err(c, "out of memory");
    return cp;
}

/* The checkpoint's own check: 0 sound (its count, hash), 2 refused (problem set). */
static int checkpoint_read(const struct sc_audit_key *k, const json_t *cp, const char *org,
                           int64_t *count, const char **hash, json_t **problem)
{
    const char *fmt = json_string_value(json_object_get(cp, "format"));
    const char *corg = json_string_value(json_object_get(cp, "org"));
    const char *at = json_string_value(json_object_get(cp, "at"));
    const char *mac = json_string_value(json_object_get(cp, "hmac"));
    json_t *n = json_object_get(cp, "count");
    *hash = json_string_value(json_object_get(cp, "last_hash"));
    if (!fmt || strcmp(fmt, CHECKPOINT_FORMAT) || !corg || !at || !mac || !*hash ||
        !json_is_integer(n) || json_integer_value(n) < 0)
        return audit_problem(problem, 0, "is not an audit checkpoint (format %s with org, "
                             "count, last_hash, at and hmac)", CHECKPOINT_FORMAT), SC_STORE_REFUSED;
    if (strcmp(corg, org))
        return audit_problem(problem, 0, "is a checkpoint of org %s, not %s: refused", corg,
                             org), SC_STORE_REFUSED;
    *count = json_integer_value(n);
    char want[65];
    checkpoint_mac(k, corg, *count, *hash, at, want);
    if (strlen(mac) != 64 || !sc_crypto_equal(want, mac, 64))
        return audit_problem(problem, 0, "does not carry the HMAC of org %s's audit key: "
                             "refused (it was edited, or made with another key)", org), SC_STORE_REFUSED;
    return 0;
}

int sc_audit_row_check(const struct sc_audit_key *k, const struct sc_audit_cells *c,
                       struct sc_audit_walk *w, json_t **problem)
{
    int64_t id = c->num[0];
    const char *kid = c->text[17];
    bool row_keyed = kid[0] != '\0';
    char hash[65];
    int rc = 0;
    sc_audit_hash(k, row_keyed, id, c->num[1], &c->text[2], c->num[10], c->num[11],
                  c->text[12], c->text[13], c->text[14], c->num[16],
                  c->null[18] ? NULL : c->text[18], hash);
    if (id != w->expect)
        rc = audit_problem(problem, w->expect, "is missing: it was deleted");
    else if (id > w->last)
        rc = audit_problem(problem, id, "was added outside the audit log");
    else if (strcmp(c->text[14], w->prev) != 0)
        rc = audit_problem(problem, id, "does not chain to the row before it: it was replaced");
    else if (row_keyed && strcmp(kid, k->id) != 0)
        rc = audit_problem(problem, id, "was keyed with another audit key (%s; this org's "
                           "is %s)", kid, k->id);
    else if (!row_keyed && (w->unkeyed != id - 1 || id > k->unkeyed_rows))
        rc = audit_problem(problem, id, "has no HMAC: it was rewritten without the audit "
                           "key%s", w->unkeyed == id - 1 ? " (or written before the org had "
                           "one: then accept it with audit.unkeyed_rows)" : "");
    else if (strcmp(hash, c->text[15]) != 0)
        rc = audit_problem(problem, id, row_keyed ? "was changed or forged: its contents do "
                           "not match its HMAC" : "was changed: its contents do not match "
                           "its hash");
    w->unkeyed += !row_keyed && rc == 0;
    snprintf(w->prev, sizeof w->prev, "%s", c->text[15]);
    w->expect = id + 1;
    return rc;
}

/* The walk over the stored rows: where it is, and the hash at the checkpoint's row. */
struct verify_walk {
    const struct sc_audit_key *key;
    struct sc_audit_walk w;
    int64_t cp_count;
    char at_cp[65];
    json_t **problem;
};

static int verify_row(void *arg, const struct sc_audit_cells *c)
{
    struct verify_walk *v = arg;
    if (c->num[0] < v->w.expect)
        return 0; /* archived, its deletion not finished: the archive vouches for it */
    int rc = sc_audit_row_check(v->key, c, &v->w, v->problem);
    if (v->w.expect - 1 == v->cp_count)
        snprintf(v->at_cp, sizeof v->at_cp, "%s", v->w.prev);
    return rc;
}

/* The checkpoint against the rows' count have: 0, or SC_STORE_BROKEN / _REFUSED. */
static int verify_cp(const struct sc_audit_chain *c, const json_t *cp, const char *org,
                     int64_t have, int64_t *cp_count, const char **cp_hash, json_t **problem)
{
    char at[64];
    snprintf(at, sizeof at, "%s", json_string_value(json_object_get(cp, "at")) ?
             json_string_value(json_object_get(cp, "at")) : "");
    int r = checkpoint_read(c->key, cp, org, cp_count, cp_hash, problem);
    if (r)
        return r;
    if (have == 0 && *cp_count > 0)
        return audit_problem(problem, 0, "it is empty, but the checkpoint of %s "
                             "recorded %lld rows: it was wiped", at, (long long)*cp_count);
    if (have < *cp_count)
        return audit_problem(problem, have + 1, "is missing: the log ends at row %lld, but "
                             "the checkpoint of %s recorded %lld rows: it was cut",
                             (long long)have, at, (long long)*cp_count);
    return 0;
}

enum sc_store_rc sc_audit_verify(const struct sc_audit_chain *c, const char *org,
                                 const json_t *cp, const struct sc_audit_walk *start,
                                 json_t **problem)
{
    *problem = NULL;
    int keyed = sc_audit_keyed(c->key, c->err, c->errlen);
    if (keyed < 0)
        return -1;
    if (!keyed)
        return sc_audit_chain_err(c, "no audit key"), -1;
    int64_t cp_count = -1, have;
    const char *cp_hash = NULL;
    char tail[65];
    if (c->ops->tail(c->st, &have, tail) != 0)
        return -1;
    int r = cp ? verify_cp(c, cp, org, have, &cp_count, &cp_hash, problem) : 0;
    if (r)
        return r;
    int64_t last = 0; /* the head is written with each row: rows past it came another way */
    char head[65], hmac[65] = "";
    bool has_head = false;
    snprintf(head, sizeof head, "%s", sc_audit_genesis);
    if (c->ops->head(c->st, &has_head, &last, head, hmac) != 0)
        return -1;
    if (!has_head && have > 0)
        return audit_problem(problem, 0, "its head (the last row's id and HMAC) is missing: it "
                             "was deleted, and rows after the last one may have been cut");
    struct verify_walk v = {.key = c->key, .w = {.expect = 1, .last = last},
                            .cp_count = cp_count, .problem = problem};
    snprintf(v.w.prev, sizeof v.w.prev, "%s", sc_audit_genesis);
    int rc = start ? 0 : c->ops->walk_archived(c, &v.w, problem); /* archived rows: from their checkpoint */
    if (start) {
        v.w = *start;
        v.w.last = last;
    }
    int64_t from = v.w.expect;
    if (rc == 0)
        rc = c->ops->rows(c->st, verify_row, &v);
    if (rc != 0)
        return rc;
    int64_t expect = v.w.expect, unkeyed = v.w.unkeyed;
    const char *prev = v.w.prev;
    if (last > expect - 1)
        return audit_problem(problem, expect, "is missing: it was deleted (the log ended at a "
                             "later row)");
    if (strcmp(head, prev) != 0)
        return audit_problem(problem, last, "was replaced: its hash is not the one recorded");
    if (last > unkeyed) { /* the head of a keyed log carries its own MAC */
        char want[65];
        head_mac(c->key, last, head, want);
        if (strcmp(want, hmac) != 0)
            return audit_problem(problem, last, "is not the last row scenarist wrote: the "
                                 "log's head was rewritten (rows after it were cut?)");
    }
    if (cp && cp_count >= from && strcmp(v.at_cp, cp_hash) != 0)
        return audit_problem(problem, cp_count, "is not the row the checkpoint of %s recorded: "
                             "the log was rewritten", json_string_value(json_object_get(cp, "at")));
    return 0;
}
