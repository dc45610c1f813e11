/* The daemon's clockwork, run by its main thread: schedule and poll triggers (queued as
 * events), the org's scheduled backup and audit checkpoint. Times are ms since the epoch
 * on the daemon's clock (clock.h: the test clock in tests). */
#ifndef SC_TIMERS_H
#define SC_TIMERS_H

#include "daemon/catalog.h"

/* Reads the org's audit key (a write without its audit row is never sent, so a missing
 * key would stop every write) and schedules its backup and audit checkpoint. 0, or -1
 * with err in the user's terms. */
int sc_timers_org(struct sc_daemon *d, char *err, size_t errlen);
/* Arms c's timers from their stored state: runs missed while the daemon was down fire
 * once now (catch_up: once) or not at all (skip). */
void sc_timers_arm(struct sc_daemon *d, struct sc_runtime *rt, struct sc_catalog *c);
/* Fires what is due now: c's schedules and polls, the backup, the audit checkpoint.
 * Failures are said on stderr (and a failed poll recorded as a failed execution). */
void sc_timers_run(struct sc_daemon *d, struct sc_runtime *rt, struct sc_catalog *c);
/* When the next of them is due, or -1 when none is. */
int64_t sc_timers_next(const struct sc_daemon *d, const struct sc_catalog *c);

#endif
