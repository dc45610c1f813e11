/* The SQLite backend's shadowed writes (store.h: sc_store_shadow_*): the writes a
 * shadowing connection kept from being sent, one row each, the request's headers and body
 * as one value (sealed when the scenario is confidential). Its statements are its own,
 * prepared per call: a shadowed write is a staging event, not a hot path. */
#include "store/sqlite.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char insert_sql[] =
    "INSERT INTO shadow_writes(at, org, scenario, version, execution, step, bundle,"
    " connection, method, url, status, audit_id, confidential, request)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

static const char list_sql[] =
    "SELECT id, at, org, scenario, version, execution, step, bundle, connection, method, url,"
    " status, audit_id, confidential, request FROM shadow_writes"
    " WHERE (?1 IS NULL OR scenario = ?1) AND (?2 IS NULL OR execution = ?2)"
    " ORDER BY id LIMIT ?3";

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, i);
}

/* The request's {headers, body} as stored: JSON text, or sealed. NULL (error set). */
static void *request_blob(struct sq_store *st, const struct sc_shadow_row *r, size_t *n)
{
    json_t *body = r->body ? json_stringn(r->body, r->body_len) : json_null();
    if (!body) /* not UTF-8: kept as text all the same, its bytes escaped */
        body = json_string("[a body that is not UTF-8 text]");
    json_t *req = json_pack("{s:O, s:o}", "headers", r->headers ? r->headers : json_null(),
                            "body", body);
    bool failed;
    void *b = req ? sq_value_blob(st, req, r->confidential, n, &failed) : NULL;
    if (!req)
        sq_err(st, "out of memory");
    json_decref(req);
    return b;
}

int64_t sq_shadow_add(struct sc_store *base, const struct sc_shadow_row *r)
{
    struct sq_store *st = (struct sq_store *)base;
    if (sc_defer_refuse(st->defer, "recording a shadowed write"))
        return -1;
    size_t n;
    void *blob = request_blob(st, r, &n);
    if (!blob)
        return -1;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, insert_sql, -1, &s, NULL) != SQLITE_OK) {
        free(blob);
        return sq_db_err(st, "recording a shadowed write");
    }
    const char *txt[9] = {r->org, r->scenario, r->version ? r->version : "", r->execution,
                          r->step, r->bundle, r->connection, r->method, r->url};
    int rc = sqlite3_bind_int64(s, 1, r->at_ms);
    for (int i = 0; i < 9 && rc == SQLITE_OK; i++)
        rc = bind_text(s, i + 2, txt[i] ? txt[i] : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 11, r->status);
    if (rc == SQLITE_OK)
        rc = r->audit_id > 0 ? sqlite3_bind_int64(s, 12, r->audit_id) : sqlite3_bind_null(s, 12);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(s, 13, r->confidential);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob64(s, 14, blob, n, free);
    else
        free(blob);
    if (rc == SQLITE_OK)
        rc = sq_step(st, s);
    int64_t id = rc == SQLITE_DONE ? sqlite3_last_insert_rowid(st->db) : -1;
    if (id < 0)
        sq_db_err(st, "recording a shadowed write");
    sqlite3_finalize(s);
    return id;
}

/* One row as store.h says; NULL out of memory or when a sealed request does not open. */
static json_t *shadow_json(struct sq_store *st, sqlite3_stmt *s)
{
    bool confidential = sqlite3_column_int(s, 13) != 0;
    json_t *e = json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:b}",
                          "id", (json_int_t)sqlite3_column_int64(s, 0), "at",
                          sq_iso(sqlite3_column_int64(s, 1)), "org", sq_text(s, 2), "scenario",
                          sq_text(s, 3), "version", sq_text(s, 4), "execution", sq_text(s, 5),
                          "step", sq_text(s, 6), "bundle", sq_text(s, 7), "connection",
                          sq_text(s, 8), "method", sq_text(s, 9), "url", sq_text(s, 10),
                          "status", sqlite3_column_int(s, 11), "audit_id",
                          sqlite3_column_type(s, 12) == SQLITE_NULL
                              ? json_null() : json_integer(sqlite3_column_int64(s, 12)),
                          "confidential", confidential);
    if (!e)
        return NULL;
    if (confidential) { /* as an execution's trigger: sealed, never listed */
        json_object_set_new(e, "headers", json_string("[redacted: confidential scenario]"));
        json_object_set_new(e, "body", json_string("[redacted: confidential scenario]"));
        return e;
    }
    json_t *req = sq_value(st, s, 14);
    if (!req) {
        json_decref(e);
        return NULL;
    }
    json_object_set(e, "headers", json_object_get(req, "headers"));
    json_object_set(e, "body", json_object_get(req, "body"));
    json_decref(req);
    return e;
}

json_t *sq_shadow_list(struct sc_store *base, const struct sc_shadow_filter *f)
{
    struct sq_store *st = (struct sq_store *)base;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, list_sql, -1, &s, NULL) != SQLITE_OK) {
        sq_db_err(st, "reading the shadowed writes");
        return NULL;
    }
    int rc = bind_text(s, 1, f->scenario);
    if (rc == SQLITE_OK)
        rc = bind_text(s, 2, f->execution);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 3, f->limit > 0 ? f->limit : 1000);
    json_t *a = rc == SQLITE_OK ? json_array() : NULL;
    bool bad = !a;
    if (bad)
        sq_db_err(st, "reading the shadowed writes");
    while (!bad && (rc = sq_step(st, s)) == SQLITE_ROW) {
        json_t *e = shadow_json(st, s);
        bad = !e || json_array_append_new(a, e) != 0;
        if (bad && !e && sqlite3_column_int(s, 13) == 0)
            sq_err(st, "reading the shadowed writes: out of memory");
    }
    if (!bad && rc != SQLITE_DONE)
        bad = sq_db_err(st, "reading the shadowed writes") != 0;
    sqlite3_finalize(s);
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}
