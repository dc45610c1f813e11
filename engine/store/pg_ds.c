/* PostgreSQL store: data stores, named key/value tables of JSON with expiry. */
#include "store/pg.h"

#include "clock.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *pg_ds_get(struct sc_store *base, const char *store, const char *key)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_ds_get(st->defer, store, key);
    PGresult *s = pg_q(st, P_DS_GET, "ssi", store, key, sc_clock_now_ms());
    if (!s)
        return NULL;
    json_t *v = PQntuples(s) == 1 ? pg_json(s, 0, 0) : NULL;
    PQclear(s);
    st->err[0] = '\0';
    return v;
}

json_t *pg_ds_entry(struct sc_store *base, const char *store, const char *key,
                    int64_t *expires_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_ds_entry(st->defer, store, key, expires_ms);
    st->err[0] = '\0';
    *expires_ms = -1;
    PGresult *s = pg_q(st, P_DS_ENTRY, "ssi", store, key, sc_clock_now_ms());
    if (!s)
        return NULL;
    json_t *v = NULL;
    if (PQntuples(s) == 1) {
        v = pg_json(s, 0, 0);
        if (!pg_null(s, 0, 1))
            *expires_ms = pg_int(s, 0, 1);
    }
    PQclear(s);
    return v;
}

int pg_ds_set(struct sc_store *base, const char *store, const char *key, json_t *value,
              int64_t ttl_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_ds_write(st->defer, SC_DEFER_DS_SET, store, key, value, ttl_ms);
    int64_t now = sc_clock_now_ms();
    return pg_run(st, "writing the data store", P_DS_SET, "ssjiI", store, key, value, now,
                  ttl_ms > 0 ? now + ttl_ms : -1);
}

enum sc_store_rc pg_ds_delete(struct sc_store *base, const char *store, const char *key)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_ds_write(st->defer, SC_DEFER_DS_DEL, store, key, NULL, 0);
    if (pg_run(st, "deleting from the data store", P_DS_DEL, "ss", store, key) != 0)
        return SC_STORE_ERR;
    return st->changes ? SC_STORE_OK : SC_STORE_NONE;
}

static json_t *kv_row(const PGresult *s, int i)
{
    return json_pack("{s:s, s:o*}", "key", pg_text(s, i, 0), "value", pg_json(s, i, 1));
}

json_t *pg_ds_search(struct sc_store *base, const char *store, const char *prefix, int limit)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_ds_search(st->defer, store, prefix, limit);
    return pg_rows(st, pg_q(st, P_DS_SEARCH, "ssii", store, prefix ? prefix : "",
                            sc_clock_now_ms(), (int64_t)(limit > 0 ? limit : 100)), kv_row);
}

enum sc_store_rc pg_ds_claim(struct sc_store *base, const char *store, const char *key,
                             json_t *value, int64_t ttl_ms)
{
    struct pg_store *st = (struct pg_store *)base;
    if (st->defer)
        return sc_defer_ds_write(st->defer, SC_DEFER_DS_CLAIM, store, key, value, ttl_ms);
    int64_t now = sc_clock_now_ms();
    if (pg_run(st, "claiming a key", P_DS_CLAIM, "ssjiI", store, key, value, now,
               ttl_ms > 0 ? now + ttl_ms : -1) != 0)
        return SC_STORE_ERR;
    return st->changes ? SC_STORE_OK : SC_STORE_EXISTS;
}
