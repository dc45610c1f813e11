/* PostgreSQL store: shadowed writes (store.h: sc_store_shadow_*), one row each, the
 * request's headers and body as one value, sealed when the scenario is confidential (the
 * SQLite backend, store/sqlite_shadow.c, is the reference). */
#include "store/pg.h"

#include <stdlib.h>

/* The request's {headers, body} as stored: JSON text, or sealed. NULL (error set). */
static void *request_blob(struct pg_store *st, const struct sc_shadow_row *r, size_t *n)
{
    json_t *body = r->body ? json_stringn(r->body, r->body_len) : json_null();
    if (!body) /* not UTF-8: kept as text all the same */
        body = json_string("[a body that is not UTF-8 text]");
    json_t *req = json_pack("{s:O, s:o}", "headers", r->headers ? r->headers : json_null(),
                            "body", body);
    bool failed;
    void *b = req ? pg_value_blob(st, req, r->confidential, n, &failed) : NULL;
    if (!req)
        pg_err(st, "out of memory");
    json_decref(req);
    return b;
}

int64_t pg_shadow_add(struct sc_store *base, const struct sc_shadow_row *r)
{
    struct pg_store *st = (struct pg_store *)base;
    if (sc_defer_refuse(st->defer, "recording a shadowed write"))
        return -1;
    size_t n;
    void *blob = request_blob(st, r, &n);
    if (!blob)
        return -1;
#define OR_EMPTY(s) ((s) ? (s) : "")
    PGresult *s = pg_q(st, P_SHADOW_ADD, "isssssssssiIib", r->at_ms, OR_EMPTY(r->org),
                       OR_EMPTY(r->scenario), OR_EMPTY(r->version), OR_EMPTY(r->execution),
                       OR_EMPTY(r->step), OR_EMPTY(r->bundle), OR_EMPTY(r->connection),
                       OR_EMPTY(r->method), OR_EMPTY(r->url), (int64_t)r->status,
                       r->audit_id > 0 ? r->audit_id : (int64_t)-1, (int64_t)r->confidential,
                       blob, n);
#undef OR_EMPTY
    int64_t id = s && PQntuples(s) == 1 ? pg_int(s, 0, 0) : -1;
    PQclear(s);
    return id;
}

/* One row as store.h says; NULL out of memory or when a sealed request does not open. */
static json_t *shadow_json(struct pg_store *st, const PGresult *s, int i)
{
    bool confidential = pg_int(s, i, 13) != 0;
    json_t *e = json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:b}",
                          "id", (json_int_t)pg_int(s, i, 0), "at", pg_iso(pg_int(s, i, 1)),
                          "org", pg_text(s, i, 2), "scenario", pg_text(s, i, 3), "version",
                          pg_text(s, i, 4), "execution", pg_text(s, i, 5), "step",
                          pg_text(s, i, 6), "bundle", pg_text(s, i, 7), "connection",
                          pg_text(s, i, 8), "method", pg_text(s, i, 9), "url", pg_text(s, i, 10),
                          "status", (int)pg_int(s, i, 11), "audit_id",
                          pg_null(s, i, 12) ? json_null() : json_integer(pg_int(s, i, 12)),
                          "confidential", confidential);
    if (!e)
        return NULL;
    if (confidential) { /* as an execution's trigger: sealed, never listed */
        json_object_set_new(e, "headers", json_string("[redacted: confidential scenario]"));
        json_object_set_new(e, "body", json_string("[redacted: confidential scenario]"));
        return e;
    }
    json_t *req = pg_value(st, s, i, 14);
    if (!req) {
        json_decref(e);
        return NULL;
    }
    json_object_set(e, "headers", json_object_get(req, "headers"));
    json_object_set(e, "body", json_object_get(req, "body"));
    json_decref(req);
    return e;
}

json_t *pg_shadow_list(struct sc_store *base, const struct sc_shadow_filter *f)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_SHADOW_LIST, "ssi", f->scenario, f->execution,
                       (int64_t)(f->limit > 0 ? f->limit : 1000));
    json_t *a = s ? json_array() : NULL;
    bool bad = !a;
    for (int i = 0; !bad && i < PQntuples(s); i++) {
        json_t *e = shadow_json(st, s, i);
        bad = !e || json_array_append_new(a, e) != 0;
        if (bad && !e && pg_int(s, i, 13) == 0 && !st->err[0])
            pg_err(st, "reading the shadowed writes: out of memory");
    }
    PQclear(s);
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}
