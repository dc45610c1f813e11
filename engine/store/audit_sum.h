/* The audit log summed up over a window (sc_store_audit_summary, the weekly audit report),
 * above the backends (store/sqlite_report.c, store/pg_report.c): the writes per scenario
 * and system and how they ended. A backend runs its query (each write's first row in the
 * window with the outcome of the row that completed it, counted per scenario, URL and
 * outcome) and adds its rows here. */
#ifndef SC_STORE_AUDIT_SUM_H
#define SC_STORE_AUDIT_SUM_H

#include "store/backend.h"

struct sc_audit_sum {
    const json_t *systems; /* system name -> base URL (borrowed) */
    json_t *writes, *totals, *by_system;
};

/* Starts the sums (new objects; NULL where memory ran out: the sums are then not taken). */
void sc_audit_sum_begin(struct sc_audit_sum *s, const json_t *systems);
/* Adds n writes of scenario to url that ended as outcome. */
void sc_audit_sum_add(struct sc_audit_sum *s, const char *scenario, const char *url,
                      const char *outcome, int64_t n);
/* The summary of [since_ms, until_ms] as store.h says, taking the sums; NULL (the sums
 * freed) when !ok (the rows were not all read) or memory ran out. */
json_t *sc_audit_sum_end(struct sc_audit_sum *s, bool ok, int64_t since_ms, int64_t until_ms);

#endif
