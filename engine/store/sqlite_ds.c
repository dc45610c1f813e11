/* SQLite store: data stores, named key/value tables of JSON with expiry. */
#include "store/sqlite.h"

#include "clock.h"
#include "crypto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- data stores ---- */

json_t *sq_ds_get(struct sc_store *base, const char *store, const char *key)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_ds_get(st->defer, store, key);
    sqlite3_stmt *s = sq_q(st, Q_DS_GET, "ssi", store, key, sc_clock_now_ms());
    if (!s)
        return NULL;
    json_t *v = NULL;
    int rc = sq_step(st, s);
    if (rc == SQLITE_ROW)
        v = sq_json(s, 0);
    sq_done(s);
    st->err[0] = '\0';
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        sq_db_err(st, "reading the data store");
    return v;
}

json_t *sq_ds_entry(struct sc_store *base, const char *store, const char *key,
                    int64_t *expires_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_ds_entry(st->defer, store, key, expires_ms);
    st->err[0] = '\0';
    *expires_ms = -1;
    sqlite3_stmt *s = sq_q(st, Q_DS_ENTRY, "ssi", store, key, sc_clock_now_ms());
    if (!s)
        return NULL;
    json_t *v = NULL;
    int rc = sq_step(st, s);
    if (rc == SQLITE_ROW) {
        v = sq_json(s, 0);
        if (sqlite3_column_type(s, 1) != SQLITE_NULL)
            *expires_ms = sqlite3_column_int64(s, 1);
    }
    sq_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        sq_db_err(st, "reading a data store");
    return v;
}

int sq_ds_set(struct sc_store *base, const char *store, const char *key, json_t *value,
              int64_t ttl_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_ds_write(st->defer, SC_DEFER_DS_SET, store, key, value, ttl_ms);
    int64_t now = sc_clock_now_ms();
    return sq_exec(st, sq_q(st, Q_DS_SET, "ssjiI", store, key, value, now, ttl_ms > 0 ? now + ttl_ms : -1),
                   "writing the data store");
}

enum sc_store_rc sq_ds_delete(struct sc_store *base, const char *store, const char *key)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_ds_write(st->defer, SC_DEFER_DS_DEL, store, key, NULL, 0);
    if (sq_exec(st, sq_q(st, Q_DS_DEL, "ss", store, key), "deleting from the data store") != 0)
        return SC_STORE_ERR;
    return sqlite3_changes(st->db) ? SC_STORE_OK : SC_STORE_NONE;
}

json_t *sq_ds_search(struct sc_store *base, const char *store, const char *prefix, int limit)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_ds_search(st->defer, store, prefix, limit);
    sqlite3_stmt *s = sq_q(st, Q_DS_SEARCH, "ssii", store, prefix ? prefix : "", sc_clock_now_ms(),
                           (int64_t)(limit > 0 ? limit : 100));
    json_t *a = s ? json_array() : NULL;
    while (a && sq_step(st, s) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:s, s:o*}", "key", sq_text(s, 0), "value", sq_json(s, 1)));
    if (s)
        sq_done(s);
    return a;
}

enum sc_store_rc sq_ds_claim(struct sc_store *base, const char *store, const char *key, json_t *value,
                             int64_t ttl_ms)
{
    struct sq_store *st = (struct sq_store *)base;
    if (st->defer)
        return sc_defer_ds_write(st->defer, SC_DEFER_DS_CLAIM, store, key, value, ttl_ms);
    int64_t now = sc_clock_now_ms();
    if (sq_exec(st, sq_q(st, Q_DS_CLAIM, "ssjiI", store, key, value, now, ttl_ms > 0 ? now + ttl_ms : -1),
                "claiming a key") != 0)
        return SC_STORE_ERR;
    return sqlite3_changes(st->db) ? SC_STORE_OK : SC_STORE_EXISTS;
}
