/* PostgreSQL store: the audit log, an append-only chain keyed by HMAC-SHA256, its
 * verification and checkpoints. Appends from several daemons take turns on an advisory
 * lock (PG_LOCK_AUDIT) held till their commit, so the chain stays one line. */
#include "store/pg.h"

#include "clock.h"
#include "crypto.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the audit log ---- */

static const char genesis[65] = "0000000000000000000000000000000000000000000000000000000000000000";

void pg_audit_key(struct sc_store *base, const char *key_ref, int64_t unkeyed_rows)
{
    struct pg_store *st = (struct pg_store *)base;
    free(st->audit_ref);
    st->audit_ref = key_ref ? sc_strdup(key_ref) : NULL;
    st->unkeyed_rows = unkeyed_rows > 0 ? unkeyed_rows : 0;
    if (st->audit_key)
        memset(st->audit_key, 0, st->audit_key_len);
    free(st->audit_key);
    st->audit_key = NULL;
}

/* HMAC-SHA256 (RFC 2104) of n bytes under the audit key, as 64 hex digits; zeros when it
 * fails, which cannot pass verify: no row is ever written with it. */
static void audit_mac(const struct pg_store *st, const void *data, size_t n, char out[65])
{
    sc_crypto_hmac_hex(st->audit_key, st->audit_key_len, data, n, out);
}

/* The org's audit key, resolved once: 1 keyed, 0 no key configured, -1 error (set). */
static int audit_keyed(struct pg_store *st)
{
    if (!st->audit_ref)
        return 0;
    if (st->audit_key)
        return 1;
    char err[256];
    char *k = sc_org_secret(st->audit_ref, err, sizeof err);
    if (!k)
        return pg_err(st, "audit key: %s", err), -1;
    if (strlen(k) < 32) {
        memset(k, 0, strlen(k));
        free(k);
        return pg_err(st, "audit key %s is shorter than 32 characters (make one with "
                      "`openssl rand -hex 32`)", st->audit_ref), -1;
    }
    st->audit_key_len = strlen(k);
    st->audit_key = k;
    char id[65];
    audit_mac(st, "scenarist audit key id", 22, id);
    snprintf(st->audit_id, sizeof st->audit_id, "k%.16s", id);
    return 1;
}

/* The hash of a row covers every column but itself, the previous hash included: HMAC
 * under the audit key for a keyed row, plain SHA-256 for a row of an unkeyed chain. */
static void audit_hash(const struct pg_store *st, bool keyed, int64_t id, int64_t at,
                       const char *const txt[8], int64_t status, int64_t duration,
                       const char *body_sha, const char *outcome, const char *prev, int64_t ref,
                       char out[65])
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
    if (keyed)
        audit_mac(st, b.data ? b.data : "", b.len, out);
    else
        sc_crypto_sha256_hex(b.data ? b.data : "", b.len, out);
    if (b.oom)
        memset(out, 'x', 64); /* cannot happen quietly: the row would fail verify */
    sc_buf_free(&b);
}

/* The head's MAC: the last row's id and hash under the key (unkeyed: empty). */
static void head_mac(const struct pg_store *st, int64_t last, const char *hash, char out[65])
{
    char text[96];
    int n = snprintf(text, sizeof text, "head\x1f%lld\x1f%s", (long long)last, hash);
    audit_mac(st, text, (size_t)n, out);
}

int64_t pg_audit_add(struct sc_store *base, const struct sc_audit_row *r)
{
    struct pg_store *st = (struct pg_store *)base;
    char body_sha[65], hash[65], prev[65], mac[65] = "";
    if (sc_defer_refuse(st->defer, "appending to the audit log"))
        return -1;
    sc_crypto_sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, body_sha);
    int keyed = audit_keyed(st);
    if (keyed < 0 || pg_begin(st) != 0)
        return -1;
    /* one append at a time across daemons: the head read below is the one this row follows */
    PGresult *s = pg_lock(st, PG_LOCK_AUDIT) == 0 ? pg_q(st, P_AUDIT_HEAD, "") : NULL;
    if (!s) {
        pg_rollback(st);
        return -1;
    }
    int64_t last = 0;
    snprintf(prev, sizeof prev, "%s", genesis);
    if (PQntuples(s) == 1) {
        last = pg_int(s, 0, 0);
        snprintf(prev, sizeof prev, "%s", pg_text(s, 0, 1));
    }
    PQclear(s);
    const char *to = r->sent_to ? r->sent_to : "";
    const char *txt[8] = {r->org, r->scenario, r->version, r->execution, r->step, r->method,
                          r->sent_from, to};
    audit_hash(st, keyed, last + 1, r->at_ms, txt, r->status, r->duration_ms, body_sha,
               r->outcome, prev, r->ref, hash);
    if (keyed)
        head_mac(st, last + 1, hash, mac);
    if (pg_run(st, "appending to the audit log", P_AUDIT_INSERT, "iissssssssIissssIs", last + 1,
               r->at_ms, r->org, r->scenario, r->version, r->execution, r->step, r->method,
               r->sent_from, to, r->status ? (int64_t)r->status : (int64_t)-1, r->duration_ms,
               body_sha, r->outcome, prev, hash, r->ref > 0 ? r->ref : (int64_t)-1,
               keyed ? st->audit_id : "") != 0 ||
        pg_run(st, "appending to the audit log", P_AUDIT_SET_HEAD, "iss", last + 1, hash,
               mac) != 0 ||
        pg_commit(st) != 0) {
        pg_rollback(st);
        return -1;
    }
    return last + 1;
}

static json_t *audit_json(const PGresult *s, int i)
{
    json_t *e = json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                          (json_int_t)pg_int(s, i, 0), "at",
                          pg_iso(pg_int(s, i, 1)), "org", pg_text(s, i, 2), "scenario",
                          pg_text(s, i, 3), "version", pg_text(s, i, 4), "execution", pg_text(s, i, 5),
                          "step", pg_text(s, i, 6), "method", pg_text(s, i, 7), "sent_from",
                          pg_text(s, i, 8), "sent_to", pg_text(s, i, 9));
    if (!e)
        return NULL;
    json_object_set_new(e, "status", pg_null(s, i, 10)
                                         ? json_null() : json_integer(pg_int(s, i, 10)));
    json_object_set_new(e, "duration_ms", json_integer(pg_int(s, i, 11)));
    json_object_set_new(e, "body_sha256", json_string(pg_text(s, i, 12)));
    json_object_set_new(e, "outcome", json_string(pg_text(s, i, 13)));
    json_object_set_new(e, "hash", json_string(pg_text(s, i, 15)));
    return e;
}

json_t *pg_audit_list(struct sc_store *base, const struct sc_audit_filter *f)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, P_AUDIT_LIST, "sssi", f->scenario, f->sent_to_prefix,
                            f->execution, (int64_t)(f->limit > 0 ? f->limit : 1000)), audit_json);
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
static void checkpoint_mac(const struct pg_store *st, const char *org, int64_t count,
                           const char *last_hash, const char *at, char out[65])
{
    char *text = sc_asprintf(CHECKPOINT_FORMAT "\x1f%s\x1f%lld\x1f%s\x1f%s", org,
                             (long long)count, last_hash, at);
    if (text)
        audit_mac(st, text, strlen(text), out);
    else
        memset(out, 'x', 64), out[64] = '\0';
    free(text);
}

/* The head as the rows say: the count and the last row's hash. */
static int audit_tail(struct pg_store *st, int64_t *count, char hash[65])
{
    PGresult *s = pg_q(st, P_AUDIT_TAIL, "");
    if (!s)
        return -1;
    *count = 0;
    snprintf(hash, 65, "%s", genesis);
    if (PQntuples(s) == 1) {
        *count = pg_int(s, 0, 0);
        snprintf(hash, 65, "%s", pg_text(s, 0, 1));
    }
    PQclear(s);
    return 0;
}

/* Reads that must see one state of the log while other daemons append: one snapshot
 * (REPEATABLE READ) when no transaction is open. True when it opened one. */
static bool snapshot_begin(struct pg_store *st)
{
    if (st->depth > 0 ||
        pg_exec_text(st, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "reading the audit log") != 0)
        return false;
    st->depth++;
    return true;
}

static void snapshot_end(struct pg_store *st, bool opened)
{
    if (!opened)
        return;
    char keep[sizeof st->err];
    memcpy(keep, st->err, sizeof keep);
    pg_exec_text(st, "COMMIT", "reading the audit log");
    st->depth--;
    memcpy(st->err, keep, sizeof keep);
}

static json_t *checkpoint_in(struct pg_store *st, const char *org, json_t **problem);

json_t *pg_audit_checkpoint(struct sc_store *base, const char *org, json_t **problem)
{
    struct pg_store *st = (struct pg_store *)base;
    bool opened = snapshot_begin(st);
    json_t *c = checkpoint_in(st, org, problem);
    snapshot_end(st, opened);
    return c;
}

static json_t *checkpoint_in(struct pg_store *st, const char *org, json_t **problem)
{
    *problem = NULL;
    int keyed = audit_keyed(st);
    if (keyed <= 0) {
        if (!keyed)
            pg_err(st, "org %s has no audit key", org);
        return NULL;
    }
    int r = sc_store_audit_verify(&st->base, org, NULL, problem); /* vouch only for an intact log */
    if (r != 0)
        return NULL;
    int64_t count;
    char hash[65], mac[65], at[40];
    if (audit_tail(st, &count, hash) != 0)
        return NULL;
    sc_clock_iso(sc_clock_now_ms(), at, sizeof at);
    checkpoint_mac(st, org, count, hash, at, mac);
    json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "format", CHECKPOINT_FORMAT,
                          "org", org, "count", (json_int_t)count, "last_hash", hash, "at", at,
                          "key_id", st->audit_id, "hmac", mac);
    if (!c)
        pg_err(st, "out of memory");
    return c;
}

/* The checkpoint's own check: 0 sound (its count, hash), 2 refused (problem set). */
static int checkpoint_read(struct pg_store *st, const json_t *cp, const char *org,
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
    checkpoint_mac(st, corg, *count, *hash, at, want);
    if (strlen(mac) != 64 || !sc_crypto_equal(want, mac, 64))
        return audit_problem(problem, 0, "does not carry the HMAC of org %s's audit key: "
                             "refused (it was edited, or made with another key)", org), SC_STORE_REFUSED;
    return 0;
}


/* Checks one row of the chain (s at a row of Q_AUDIT_ALL): 0 sound, SC_STORE_BROKEN with
 * *problem. */
static int audit_row_check(struct pg_store *st, const PGresult *s, int i, struct pg_audit_walk *w,
                           json_t **problem)
{
    int64_t id = pg_int(s, i, 0);
    const char *kid = pg_text(s, i, 17);
    bool row_keyed = kid[0] != '\0';
    char hash[65];
    const char *txt[8];
    int rc = 0;
    for (int k = 0; k < 8; k++)
        txt[k] = pg_text(s, i, 2 + k);
    audit_hash(st, row_keyed, id, pg_int(s, i, 1), txt,
               pg_int(s, i, 10), pg_int(s, i, 11), pg_text(s, i, 12),
               pg_text(s, i, 13), pg_text(s, i, 14), pg_int(s, i, 16), hash);
    if (id != w->expect)
        rc = audit_problem(problem, w->expect, "is missing: it was deleted");
    else if (id > w->last)
        rc = audit_problem(problem, id, "was added outside the audit log");
    else if (strcmp(pg_text(s, i, 14), w->prev) != 0)
        rc = audit_problem(problem, id, "does not chain to the row before it: it was replaced");
    else if (row_keyed && strcmp(kid, st->audit_id) != 0)
        rc = audit_problem(problem, id, "was keyed with another audit key (%s; this org's "
                           "is %s)", kid, st->audit_id);
    else if (!row_keyed && (w->unkeyed != id - 1 || id > st->unkeyed_rows))
        rc = audit_problem(problem, id, "has no HMAC: it was rewritten without the audit "
                           "key%s", w->unkeyed == id - 1 ? " (or written before the org had "
                           "one: then accept it with audit.unkeyed_rows)" : "");
    else if (strcmp(hash, pg_text(s, i, 15)) != 0)
        rc = audit_problem(problem, id, row_keyed ? "was changed or forged: its contents do "
                           "not match its HMAC" : "was changed: its contents do not match "
                           "its hash");
    w->unkeyed += !row_keyed && rc == 0;
    snprintf(w->prev, sizeof w->prev, "%s", pg_text(s, i, 15));
    w->expect = id + 1;
    return rc;
}

static enum sc_store_rc verify_in(struct pg_store *st, const char *org, const json_t *cp,
                                  const struct pg_audit_walk *start, json_t **problem);

enum sc_store_rc pg_audit_verify(struct sc_store *base, const char *org, const json_t *cp,
                                 json_t **problem)
{
    struct pg_store *st = (struct pg_store *)base;
    bool opened = snapshot_begin(st);
    enum sc_store_rc rc = verify_in(st, org, cp, NULL, problem);
    snapshot_end(st, opened);
    return rc;
}

static enum sc_store_rc verify_in(struct pg_store *st, const char *org, const json_t *cp,
                                  const struct pg_audit_walk *start, json_t **problem)
{
    *problem = NULL;
    int keyed = audit_keyed(st);
    if (keyed < 0)
        return -1;
    if (!keyed)
        return pg_err(st, "no audit key"), -1;
    int64_t cp_count = -1, have;
    const char *cp_hash = NULL;
    char tail[65];
    if (audit_tail(st, &have, tail) != 0)
        return -1;
    if (cp) {
        char at[64];
        snprintf(at, sizeof at, "%s", json_string_value(json_object_get(cp, "at")) ?
                 json_string_value(json_object_get(cp, "at")) : "");
        int r = checkpoint_read(st, cp, org, &cp_count, &cp_hash, problem);
        if (r)
            return r;
        if (have == 0 && cp_count > 0)
            return audit_problem(problem, 0, "it is empty, but the checkpoint of %s "
                                 "recorded %lld rows: it was wiped", at, (long long)cp_count);
        if (have < cp_count)
            return audit_problem(problem, have + 1, "is missing: the log ends at row %lld, but "
                                 "the checkpoint of %s recorded %lld rows: it was cut",
                                 (long long)have, at, (long long)cp_count);
    }
    PGresult *s = pg_q(st, P_AUDIT_HEAD, "");
    if (!s)
        return -1;
    int64_t last = 0; /* the head is written with each row: rows past it came another way */
    char head[65], hmac[65] = "";
    bool has_head = false;
    snprintf(head, sizeof head, "%s", genesis);
    if (PQntuples(s) == 1) {
        has_head = true;
        last = pg_int(s, 0, 0);
        snprintf(head, sizeof head, "%s", pg_text(s, 0, 1));
        snprintf(hmac, sizeof hmac, "%s", pg_text(s, 0, 2));
    }
    PQclear(s);
    if (!has_head && have > 0)
        return audit_problem(problem, 0, "its head (the last row's id and HMAC) is missing: it "
                             "was deleted, and rows after the last one may have been cut");
    if (!(s = pg_q(st, P_AUDIT_ALL, "")))
        return -1;
    char at_cp[65] = "";
    struct pg_audit_walk w = {.expect = 1, .last = last};
    snprintf(w.prev, sizeof w.prev, "%s", genesis);
    int rc = start ? 0 : pg_audit_walk_archived(st, &w, problem); /* archived rows: from their checkpoint */
    if (start) {
        w = *start;
        w.last = last;
    }
    int64_t from = w.expect;
    for (int i = 0; rc == 0 && i < PQntuples(s); i++) {
        if (pg_int(s, i, 0) < w.expect)
            continue; /* archived, its deletion not finished: the archive vouches for it */
        rc = audit_row_check(st, s, i, &w, problem);
        if (w.expect - 1 == cp_count)
            snprintf(at_cp, sizeof at_cp, "%s", w.prev);
    }
    PQclear(s);
    if (rc != 0)
        return rc;
    int64_t expect = w.expect, unkeyed = w.unkeyed;
    const char *prev = w.prev;
    if (last > expect - 1)
        return audit_problem(problem, expect, "is missing: it was deleted (the log ended at a "
                             "later row)");
    if (strcmp(head, prev) != 0)
        return audit_problem(problem, last, "was replaced: its hash is not the one recorded");
    if (last > unkeyed) { /* the head of a keyed log carries its own MAC */
        char want[65];
        head_mac(st, last, head, want);
        if (strcmp(want, hmac) != 0)
            return audit_problem(problem, last, "is not the last row scenarist wrote: the "
                                 "log's head was rewritten (rows after it were cut?)");
    }
    if (cp && cp_count >= from && strcmp(at_cp, cp_hash) != 0)
        return audit_problem(problem, cp_count, "is not the row the checkpoint of %s recorded: "
                             "the log was rewritten", json_string_value(json_object_get(cp, "at")));
    return 0;
}

/* For the archive (pg_retain.c): the chain's own hashing and checks. */
int pg_audit_keyed(struct pg_store *st) { return audit_keyed(st); }

void pg_audit_mac(const struct pg_store *st, const void *data, size_t n, char out[65])
{
    audit_mac(st, data, n, out);
}

void pg_audit_hash(const struct pg_store *st, bool keyed, int64_t id, int64_t at,
                   const char *const txt[8], int64_t status, int64_t duration,
                   const char *body_sha, const char *outcome, const char *prev, int64_t ref,
                   char out[65])
{
    audit_hash(st, keyed, id, at, txt, status, duration, body_sha, outcome, prev, ref, out);
}

int pg_audit_row_check(struct pg_store *st, const PGresult *s, int i, struct pg_audit_walk *w,
                       json_t **problem)
{
    return audit_row_check(st, s, i, w, problem);
}

enum sc_store_rc pg_audit_verify_from(struct pg_store *st, const char *org, const json_t *cp,
                                      const struct pg_audit_walk *start, json_t **problem)
{
    bool opened = snapshot_begin(st);
    enum sc_store_rc rc = verify_in(st, org, cp, start, problem);
    snapshot_end(st, opened);
    return rc;
}
