/* SQLite store: the audit log, an append-only chain keyed by HMAC-SHA256, its verification
 * and checkpoints (the chain itself: store/audit_chain.c); here its rows and head. */
#include "store/archive.h"
#include "store/sqlite.h"

#include "crypto.h"

#include <stdio.h>
#include <string.h>

/* ---- the audit log ---- */

void sq_audit_key(struct sc_store *base, const char *key_ref, int64_t unkeyed_rows)
{
    sc_audit_key_set(&((struct sq_store *)base)->audit, key_ref, unkeyed_rows);
}

int sq_audit_keyed(struct sq_store *st)
{
    return sc_audit_keyed(&st->audit, st->err, sizeof st->err);
}

void sq_audit_cells(sqlite3_stmt *s, int n, struct sc_audit_cells *c)
{
    for (int i = 0; i < n; i++) {
        c->null[i] = sqlite3_column_type(s, i) == SQLITE_NULL;
        c->num[i] = sqlite3_column_int64(s, i);
        c->text[i] = sq_text(s, i);
    }
}

int64_t sq_audit_add(struct sc_store *base, const struct sc_audit_row *r)
{
    struct sq_store *st = (struct sq_store *)base;
    char body_sha[65], hash[65], prev[65], mac[65] = "";
    if (sc_defer_refuse(st->defer, "appending to the audit log"))
        return -1;
    sc_crypto_sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, body_sha);
    int keyed = sq_audit_keyed(st);
    if (keyed < 0 || sq_begin(st) != 0)
        return -1;
    sqlite3_stmt *s = sq_q(st, Q_AUDIT_HEAD, "");
    if (!s) {
        sq_rollback(st);
        return -1;
    }
    int64_t last = 0;
    snprintf(prev, sizeof prev, "%s", sc_audit_genesis);
    if (sq_step(st, s) == SQLITE_ROW) {
        last = sqlite3_column_int64(s, 0);
        snprintf(prev, sizeof prev, "%s", sq_text(s, 1));
    }
    sq_done(s);
    const char *to = r->sent_to ? r->sent_to : "";
    sc_audit_seal(&st->audit, keyed, r, last + 1, body_sha, prev, hash, mac);
    sqlite3_stmt *ins = sq_q(st, Q_AUDIT_INSERT, "iissssssssiissssIss", last + 1, r->at_ms, r->org,
                             r->scenario, r->version, r->execution, r->step, r->method,
                             r->sent_from, to, (int64_t)r->status, r->duration_ms, body_sha,
                             r->outcome, prev, hash, r->ref > 0 ? r->ref : (int64_t)-1,
                             keyed ? st->audit.id : "", r->by && *r->by ? r->by : NULL);
    if (ins && !r->status)
        sqlite3_bind_null(ins, 11);
    if (sq_exec(st, ins, "appending to the audit log") != 0 ||
        sq_exec(st, sq_q(st, Q_AUDIT_SET_HEAD, "iss", last + 1, hash, mac),
                "appending to the audit log") != 0 ||
        sq_commit(st) != 0) {
        sq_rollback(st);
        return -1;
    }
    return last + 1;
}

json_t *sq_audit_list(struct sc_store *base, const struct sc_audit_filter *f)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, f->limit < 0 ? Q_AUDIT_LIST_NEW : Q_AUDIT_LIST, "sssi", f->scenario,
                           f->sent_to_prefix, f->execution,
                           (int64_t)(f->limit > 0 ? f->limit : f->limit < 0 ? -f->limit : 1000));
    json_t *a = s ? json_array() : NULL;
    struct sc_audit_cells c;
    while (a && sq_step(st, s) == SQLITE_ROW) {
        sq_audit_cells(s, 17, &c);
        json_array_append_new(a, sc_audit_row_json(&c));
    }
    if (s)
        sq_done(s);
    return a;
}

/* The head as the rows say: the count and the last row's hash. */
static int audit_tail(struct sc_store *base, int64_t *count, char hash[65])
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", -1,
                           &s, NULL) != SQLITE_OK)
        return sq_db_err(st, "reading the audit log");
    *count = 0;
    snprintf(hash, 65, "%s", sc_audit_genesis);
    int rc = sq_step(st, s); /* a failed read is an error, never an empty log */
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(s, 0);
        snprintf(hash, 65, "%s", sq_text(s, 1));
    }
    int bad = rc != SQLITE_ROW && rc != SQLITE_DONE ? sq_db_err(st, "reading the audit log") : 0;
    sqlite3_finalize(s);
    return bad;
}

static int audit_head(struct sc_store *base, bool *has, int64_t *last, char hash[65],
                      char mac[65])
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_AUDIT_HEAD, "");
    if (!s)
        return -1;
    int rc = sq_step(st, s);
    if (rc == SQLITE_ROW) {
        *has = true;
        *last = sqlite3_column_int64(s, 0);
        snprintf(hash, 65, "%s", sq_text(s, 1));
        snprintf(mac, 65, "%s", sq_text(s, 2));
    }
    int bad = rc != SQLITE_ROW && rc != SQLITE_DONE ? sq_db_err(st, "reading the audit head") : 0;
    sq_done(s);
    return bad;
}

static int audit_rows(struct sc_store *base,
                      int (*each)(void *arg, const struct sc_audit_cells *c), void *arg)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s = sq_q(st, Q_AUDIT_ALL, "");
    if (!s)
        return -1;
    int rc = 0, step = SQLITE_DONE;
    struct sc_audit_cells c;
    while (rc == 0 && (step = sq_step(st, s)) == SQLITE_ROW) {
        sq_audit_cells(s, 19, &c);
        rc = each(arg, &c);
    }
    if (rc == 0 && step != SQLITE_DONE) /* a read that failed midway is not the log's end */
        rc = sq_db_err(st, "reading the audit log");
    sq_done(s);
    return rc;
}

static const struct sc_audit_ops sq_audit_ops = {
    .tail = audit_tail, .head = audit_head, .rows = audit_rows,
    .walk_archived = sc_archive_walk, .verify_from = sq_audit_verify_from,
    .rows_range = sq_archive_rows, .bounds = sq_archive_bounds, .record = sq_archive_record,
    .delete_rows = sq_archive_delete};

struct sc_audit_chain sq_audit_chain(struct sq_store *st)
{
    return (struct sc_audit_chain){.st = &st->base, .key = &st->audit, .err = st->err,
                                   .errlen = sizeof st->err, .ops = &sq_audit_ops};
}

void sq_audit_chain_of(struct sc_store *base, struct sc_audit_chain *c)
{
    *c = sq_audit_chain((struct sq_store *)base);
}

json_t *sq_audit_checkpoint(struct sc_store *base, const char *org, json_t **problem)
{
    struct sc_audit_chain c = sq_audit_chain((struct sq_store *)base);
    return sc_audit_checkpoint(&c, org, problem);
}

enum sc_store_rc sq_audit_verify(struct sc_store *base, const char *org, const json_t *cp,
                                 json_t **problem)
{
    return sq_audit_verify_from(base, org, cp, NULL, problem);
}

enum sc_store_rc sq_audit_verify_from(struct sc_store *base, const char *org, const json_t *cp,
                                      const struct sc_audit_walk *start, json_t **problem)
{
    struct sc_audit_chain c = sq_audit_chain((struct sq_store *)base);
    return sc_audit_verify(&c, org, cp, start, problem);
}
