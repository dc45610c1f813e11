/* PostgreSQL store: the audit log, an append-only chain keyed by HMAC-SHA256, its
 * verification and checkpoints (the chain itself: store/audit_chain.c); here its rows and
 * head. Appends from several daemons take turns on an advisory lock (PG_LOCK_AUDIT) held
 * till their commit, so the chain stays one line; reads see one snapshot. */
#include "store/archive.h"
#include "store/pg.h"

#include "crypto.h"

#include <stdio.h>
#include <string.h>

/* ---- the audit log ---- */

void pg_audit_key(struct sc_store *base, const char *key_ref, int64_t unkeyed_rows)
{
    sc_audit_key_set(&((struct pg_store *)base)->audit, key_ref, unkeyed_rows);
}

int pg_audit_keyed(struct pg_store *st)
{
    return sc_audit_keyed(&st->audit, st->err, sizeof st->err);
}

void pg_audit_cells(const PGresult *s, int i, int n, struct sc_audit_cells *c)
{
    for (int k = 0; k < n; k++) {
        c->null[k] = pg_null(s, i, k);
        c->num[k] = pg_int(s, i, k);
        c->text[k] = pg_text(s, i, k);
    }
}

int64_t pg_audit_add(struct sc_store *base, const struct sc_audit_row *r)
{
    struct pg_store *st = (struct pg_store *)base;
    char body_sha[65], hash[65], prev[65], mac[65] = "";
    if (sc_defer_refuse(st->defer, "appending to the audit log"))
        return -1;
    sc_crypto_sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, body_sha);
    int keyed = pg_audit_keyed(st);
    if (keyed < 0 || pg_begin(st) != 0)
        return -1;
    /* one append at a time across daemons: the head read below is the one this row follows */
    PGresult *s = pg_lock(st, PG_LOCK_AUDIT) == 0 ? pg_q(st, P_AUDIT_HEAD, "") : NULL;
    if (!s) {
        pg_rollback(st);
        return -1;
    }
    int64_t last = 0;
    snprintf(prev, sizeof prev, "%s", sc_audit_genesis);
    if (PQntuples(s) == 1) {
        last = pg_int(s, 0, 0);
        snprintf(prev, sizeof prev, "%s", pg_text(s, 0, 1));
    }
    PQclear(s);
    const char *to = r->sent_to ? r->sent_to : "";
    sc_audit_seal(&st->audit, keyed, r, last + 1, body_sha, prev, hash, mac);
    if (pg_run(st, "appending to the audit log", P_AUDIT_INSERT, "iissssssssIissssIss", last + 1,
               r->at_ms, r->org, r->scenario, r->version, r->execution, r->step, r->method,
               r->sent_from, to, r->status ? (int64_t)r->status : (int64_t)-1, r->duration_ms,
               body_sha, r->outcome, prev, hash, r->ref > 0 ? r->ref : (int64_t)-1,
               keyed ? st->audit.id : "", r->by && *r->by ? r->by : NULL) != 0 ||
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
    struct sc_audit_cells c;
    pg_audit_cells(s, i, 17, &c);
    return sc_audit_row_json(&c);
}

json_t *pg_audit_list(struct sc_store *base, const struct sc_audit_filter *f)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, f->limit < 0 ? P_AUDIT_LIST_NEW : P_AUDIT_LIST, "sssi",
                            f->scenario, f->sent_to_prefix, f->execution,
                            (int64_t)(f->limit > 0 ? f->limit : f->limit < 0 ? -f->limit : 1000)),
                   audit_json);
}

/* The head as the rows say: the count and the last row's hash. */
static int audit_tail(struct sc_store *base, int64_t *count, char hash[65])
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_AUDIT_TAIL, "");
    if (!s)
        return -1;
    *count = 0;
    snprintf(hash, 65, "%s", sc_audit_genesis);
    if (PQntuples(s) == 1) {
        *count = pg_int(s, 0, 0);
        snprintf(hash, 65, "%s", pg_text(s, 0, 1));
    }
    PQclear(s);
    return 0;
}

static int audit_head(struct sc_store *base, bool *has, int64_t *last, char hash[65],
                      char mac[65])
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_AUDIT_HEAD, "");
    if (!s)
        return -1;
    if (PQntuples(s) == 1) {
        *has = true;
        *last = pg_int(s, 0, 0);
        snprintf(hash, 65, "%s", pg_text(s, 0, 1));
        snprintf(mac, 65, "%s", pg_text(s, 0, 2));
    }
    PQclear(s);
    return 0;
}

static int audit_rows(struct sc_store *base,
                      int (*each)(void *arg, const struct sc_audit_cells *c), void *arg)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_AUDIT_ALL, "");
    if (!s)
        return -1;
    int rc = 0;
    struct sc_audit_cells c;
    for (int i = 0; rc == 0 && i < PQntuples(s); i++) {
        pg_audit_cells(s, i, 19, &c);
        rc = each(arg, &c);
    }
    PQclear(s);
    return rc;
}

static enum sc_store_rc verify_from(struct sc_store *base, const char *org, const json_t *cp,
                                    const struct sc_audit_walk *start, json_t **problem)
{
    return pg_audit_verify_from((struct pg_store *)base, org, cp, start, problem);
}

static const struct sc_audit_ops pg_audit_ops = {
    .tail = audit_tail, .head = audit_head, .rows = audit_rows,
    .walk_archived = sc_archive_walk, .verify_from = verify_from,
    .rows_range = pg_archive_rows, .bounds = pg_archive_bounds, .record = pg_archive_record,
    .delete_rows = pg_archive_delete};

struct sc_audit_chain pg_audit_chain(struct pg_store *st)
{
    return (struct sc_audit_chain){.st = &st->base, .key = &st->audit, .err = st->err,
                                   .errlen = sizeof st->err, .ops = &pg_audit_ops};
}

void pg_audit_chain_of(struct sc_store *base, struct sc_audit_chain *c)
{
    *c = pg_audit_chain((struct pg_store *)base);
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

json_t *pg_audit_checkpoint(struct sc_store *base, const char *org, json_t **problem)
{
    struct pg_store *st = (struct pg_store *)base;
    struct sc_audit_chain c = pg_audit_chain(st);
    bool opened = snapshot_begin(st);
    json_t *cp = sc_audit_checkpoint(&c, org, problem);
    snapshot_end(st, opened);
    return cp;
}

enum sc_store_rc pg_audit_verify(struct sc_store *base, const char *org, const json_t *cp,
                                 json_t **problem)
{
    return pg_audit_verify_from((struct pg_store *)base, org, cp, NULL, problem);
}

enum sc_store_rc pg_audit_verify_from(struct pg_store *st, const char *org, const json_t *cp,
                                      const struct sc_audit_walk *start, json_t **problem)
{
    struct sc_audit_chain c = pg_audit_chain(st);
    bool opened = snapshot_begin(st);
    enum sc_store_rc rc = sc_audit_verify(&c, org, cp, start, problem);
    snapshot_end(st, opened);
    return rc;
}
