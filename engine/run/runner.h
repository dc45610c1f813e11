/* Durable runs across attempts: a new event, or a further attempt of a stored execution
 * (a retry that is due, a person's retry, the resumption of one a crash interrupted),
 * each loading its scenario from the file recorded with it. The runner borrows the
 * runtime (whose store must be set) and owns the scenarios it loads; the records it
 * returns are new references. */
#ifndef SC_RUNNER_H
#define SC_RUNNER_H

#include "run/exec.h"

struct sc_runner;

/* Loads a scenario by source: a file path, or "version:NAME@N" for a stored version
 * (from rt's store); shared as sc_scenario_load's (NULL: the file on its own). NULL with
 * the reasons in d. */
struct sc_scenario *sc_runner_load(struct sc_runtime *rt, const char *source,
                                   struct sc_validator *shared, struct sc_diags *d);

struct sc_runner *sc_runner_new(struct sc_runtime *rt);
void sc_runner_free(struct sc_runner *rn);

/* Runs a new event through sc (borrowed; source is its file, recorded for later
 * attempts). NULL only when memory ran out. */
json_t *sc_runner_start(struct sc_runner *rn, struct sc_scenario *sc, const char *source,
                        json_t *trigger);

/* Runs the next attempt of a stored execution now. NULL with err when there is no such
 * execution, it has nothing left to run, another live process owns it, or its scenario
 * no longer loads (d then holds why). */
json_t *sc_runner_again(struct sc_runner *rn, const char *id, struct sc_diags *d, char *err,
                        size_t errlen);

/* The same for a scheduled retry found due at now_ms: NULL (with err) when another
 * worker or process took it meanwhile. */
json_t *sc_runner_retry(struct sc_runner *rn, const char *id, int64_t now_ms, struct sc_diags *d,
                        char *err, size_t errlen);

/* Lends the runner a loaded scenario (borrowed: it must outlive the runner), so that
 * executions recorded with this source run with it instead of loading the file. */
int sc_runner_add(struct sc_runner *rn, struct sc_scenario *sc, const char *source);

/* True when the scenario at source loads and can run in a batch: local
 * (sc_scenario_local) or reaching out only by plain reads (sc_scenario_reads). */
bool sc_runner_local(struct sc_runner *rn, const char *source, struct sc_diags *d);
/* The same without loading: 1 local, 2 plain reads, 0 neither (or no source), -1 not
 * loaded yet (then sc_runner_local loads it: outside any write transaction, as loading
 * runs Lua). */
int sc_runner_known_local(const struct sc_runner *rn, const char *source);
/* True when source's scenario (loaded) reads other systems and shares nothing with other
 * executions in the store (sc_scenario_shares): its executions may wait on their reads
 * side by side on one worker (daemon/workers.c). */
bool sc_runner_interleaves(const struct sc_runner *rn, const char *source);

/* Runs attempt 1 of an event the daemon queued and this process claimed; info is what
 * sc_store_claim_next gave (borrowed); atomic as sc_exec_opts. NULL with err as
 * sc_runner_again. */
json_t *sc_runner_queued(struct sc_runner *rn, json_t *info, bool atomic, struct sc_diags *d,
                         char *err, size_t errlen);

/* What a loop over stored executions does with each: go (NULL: always) is asked before
 * an attempt, false stops the loop; done gets the record (borrowed) or NULL with err. */
struct sc_runner_each {
    bool (*go)(void *data, const char *id);
    void (*done)(void *data, const char *id, json_t *rec, const char *err);
    void *data;
};

/* Resumes the executions a stopped process left running (their leases lapsed). Returns
 * how many were attempted, -1 when the store could not be read. */
int sc_runner_resume(struct sc_runner *rn, struct sc_diags *d, const struct sc_runner_each *e);

/* Runs the retries due at now_ms (ms since the epoch); one another worker took first
 * comes to done as NULL. Returns as sc_runner_resume. */
int sc_runner_retries(struct sc_runner *rn, int64_t now_ms, struct sc_diags *d,
                      const struct sc_runner_each *e);

/* Runs a person's continuation now: decision (borrowed) as sc_store_decision gives it (an
 * approved hold or a retry asked for, taken by this process or recorded 'here'), through
 * the same attempt as sc_runner_again, its writes' audit rows naming the decider
 * (decided_by); then records its outcome on the decision (the run's status, or "not run: "
 * and why). The record, or NULL with err. */
json_t *sc_runner_continue(struct sc_runner *rn, const json_t *decision, struct sc_diags *d,
                           char *err, size_t errlen);

/* The daemon's pass over decided continuations: takes (sc_store_decision_take) and runs
 * up to max of them, oldest first; done gets each execution's record or NULL with err.
 * Returns how many ran, -1 when the store could not be read. */
int sc_runner_decided(struct sc_runner *rn, int max, struct sc_diags *d,
                      const struct sc_runner_each *e);

/* Runs what is waiting: executions a crash left unfinished, then retries due now. For
 * each attempt, done(data, id, record or NULL, err). Returns how many were attempted, -1
 * when the store could not be read. */
int sc_runner_due(struct sc_runner *rn, struct sc_diags *d,
                  void (*done)(void *data, const char *id, json_t *rec, const char *err),
                  void *data);

#endif
