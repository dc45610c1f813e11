/* PostgreSQL store: the rows of scenario versions (immutable; the current one is the
 * highest). Two daemons deploying one scenario at once number their versions in turn
 * (an advisory lock per scenario). */
#include "store/pg.h"

#include "clock.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *version_row(const PGresult *s, int i, bool with_doc)
{
    json_t *v = json_pack("{s:s, s:i, s:o, s:s, s:s}", "scenario", pg_text(s, i, 0), "number",
                          (int)pg_int(s, i, 1), "created_at", pg_iso(pg_int(s, i, 2)),
                          "checksum", pg_text(s, i, 4), "origin", pg_text(s, i, 5));
    if (v && !pg_null(s, i, 3))
        json_object_set_new(v, "message", json_string(pg_text(s, i, 3)));
    if (v && with_doc)
        json_object_set_new(v, "document", pg_json(s, i, 6));
    return v;
}

/* A small stable hash of the scenario's name for its lock (FNV-1a). */
static int64_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return (int64_t)h;
}

enum sc_store_rc pg_version_add(struct sc_store *base, const char *scenario, json_t *document,
                                const char *checksum, const char *message, const char *origin,
                                int *number)
{
    struct pg_store *st = (struct pg_store *)base;
    if (pg_begin(st) != 0)
        return -1;
    if (pg_lock(st, (PG_LOCK_VERSIONS << 32) ^ name_hash(scenario)) != 0) {
        pg_rollback(st);
        return -1;
    }
    PGresult *s = pg_q(st, P_VER_CURRENT, "s", scenario);
    if (!s) {
        pg_rollback(st);
        return -1;
    }
    int cur = PQntuples(s) ? (int)pg_int(s, 0, 0) : 0;
    bool same = PQntuples(s) && !strcmp(pg_text(s, 0, 1), checksum);
    PQclear(s);
    *number = same ? cur : cur + 1;
    if (same) {
        pg_rollback(st);
        return SC_STORE_SAME;
    }
    if (pg_run(st, "storing the version", P_VER_ADD, "siisssj", scenario, (int64_t)(cur + 1),
               sc_clock_now_ms(), message, checksum, origin, document) != 0 ||
        pg_commit(st) != 0) {
        pg_rollback(st);
        return -1;
    }
    return 0;
}

static json_t *version_full(const PGresult *s, int i) { return version_row(s, i, true); }
static json_t *version_meta(const PGresult *s, int i) { return version_row(s, i, false); }

json_t *pg_version_get(struct sc_store *base, const char *scenario, int number)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_VER_GET, "si", scenario, (int64_t)number);
    if (!s)
        return NULL;
    json_t *v = NULL;
    if (PQntuples(s) == 1)
        v = version_full(s, 0);
    else if (number)
        pg_err(st, "scenario %s has no version %d", scenario, number);
    else
        pg_err(st, "scenario %s has no version: deploy it first", scenario);
    PQclear(s);
    return v;
}

json_t *pg_versions(struct sc_store *base, const char *scenario)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, P_VER_LIST, "s", scenario), version_meta);
}

json_t *pg_versions_current(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    return pg_rows(st, pg_q(st, P_VER_ALL_CURRENT, ""), version_meta);
}

int64_t pg_versions_stamp(struct sc_store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    PGresult *s = pg_q(st, P_VER_STAMP, "");
    if (!s)
        return -1;
    int64_t v = pg_int(s, 0, 0) * 1000003 + pg_int(s, 0, 1);
    PQclear(s);
    return v;
}
