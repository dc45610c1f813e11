/* The daemon's pool of workers. A worker claims queued events (a batch of local ones is
 * computed outside any transaction, its scenarios compiled before the claim's transaction
 * or after its commit, and written in one), then runs due retries; worker 0 also resumes
 * what a stopped process left running. A worker past its step's grace is replaced by a
 * spare (the watchdog). The daemon owns the workers; d->ws and d->slots are theirs. */
#ifndef SC_WORKERS_H
#define SC_WORKERS_H

#include "daemon/daemon.h"

/* Spare worker slots for those that replace stuck ones. */
#define SC_WORKERS_SPARE 16

/* Allocates d->o.workers + SC_WORKERS_SPARE slots: 0, or -1 when out of memory. */
int sc_workers_new(struct sc_daemon *d);
/* Starts worker slot i (its runtime, its thread); false when it could not (said). The
 * caller counts it in d->nworkers either way, so that sc_workers_free frees its parts. */
bool sc_workers_start(struct sc_daemon *d, int i);
/* A worker still in its step a second after the step's grace ran out is stuck in code
 * that does not come back (an HTTP request is cut at the grace): a new worker takes its
 * slot's work, the stuck one stops once it is back, and its execution stays running till
 * then (or till the next start resumes it). Returns ms until it should look again. */
int64_t sc_workers_watchdog(struct sc_daemon *d);
/* With d->stopping set: wakes the workers and waits up to ms for them to finish what
 * they run, then joins them. False when one was still running at the deadline (not
 * joined: its execution stays recorded as running). */
bool sc_workers_wait(struct sc_daemon *d, int64_t ms);
/* Closes the workers' runtimes and frees the slots (after sc_workers_wait said true). */
void sc_workers_free(struct sc_daemon *d);

#endif
