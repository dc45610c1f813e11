/* The org's health targets watched by the daemon: each checked on its schedule (every or
 * cron, on the engine's one clock) against the store, and its notify connection told once
 * when it is breached and once when it recovers (not at every check). Runs on the main
 * thread, as the other timers. */
#ifndef SC_TARGETS_H
#define SC_TARGETS_H

#include "daemon/daemon.h"

/* Schedules every target of d->org (d->sched.targets, freed with the daemon): 0, or -1
 * out of memory. */
int sc_targets_arm(struct sc_daemon *d);
struct sc_store;
/* The store's figures target t is judged on (sc_org_target_value): for queue_depth the
 * items open now, whatever their age, as {queues: {QUEUE: open}}; else sc_store_metrics
 * from since_ms. New, or NULL with the store's error set. */
json_t *sc_targets_figures(struct sc_store *st, const struct sc_org_target *t, int64_t since_ms);
struct sc_catalog;
/* Says (a log line each) which targets name a scenario the daemon does not serve, or a
 * queue no served scenario pushes to or sweeps: their figure stays 0, so they are met
 * whatever happens (a typo, or a scenario not deployed). Nothing is changed. */
void sc_targets_warn(const struct sc_daemon *d, const struct sc_catalog *c);
/* The earlier of next (ms; -1: none) and the next target check. */
int64_t sc_targets_next(const struct sc_daemon *d, int64_t next);
/* Checks the targets that are due: reads the store's metrics over each one's window,
 * logs a change (breached, recovered) and POSTs it to the target's notify connection,
 * {text, org, target, metric, scope, state, value, shown, threshold, want, window}. A
 * notification that cannot be sent is tried again at the next check. */
void sc_targets_run(struct sc_daemon *d, struct sc_runtime *rt);

#endif
