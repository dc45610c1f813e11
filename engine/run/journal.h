/* The journal: what an execution records in the store as it runs (the execution's row,
 * each step's row with the state that replays it, its end and its incomplete entry), and
 * what a further attempt reads back. Its own struct, so the run loop only decides what to
 * record; every call returns 0, or -1 with err saying what failed in the user's words
 * ("recording the step failed: disk I/O error"); the caller decides what a failure means.
 * Without a store every call records nothing and succeeds. json_t as module.h. */
#ifndef SC_JOURNAL_H
#define SC_JOURNAL_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct sc_journal {
    struct sc_store *store; /* NULL: nothing is recorded */
    const char *execution;  /* the execution's id (borrowed; the run's buffer, may change
                               while the execution is being begun) */
    int attempt;
    bool wakes;             /* the attempt goes on after a sleep or a crash (no new attempt): it reads
                               and closes what it recorded before, as a further attempt does */
    bool confidential;      /* states and outputs sealed */
    bool atomic;            /* resume states written only when the end keeps them */
    int64_t pending;        /* the step row under way, 0 none */
    bool kept_state;        /* a step recorded a resume state */
    json_t *deferred;       /* atomic: [[row, state]] (owned) */
    json_t *replay;         /* further attempts: "STEP BUNDLE" -> state (owned) */
    char err[512];
};

/* A step that reaches outside (a crash now shows it under way): its "running" row. */
int sc_journal_step_begin(struct sc_journal *j, const char *step, const char *module,
                          const char *bundle);
/* A step's end, from its log entry e {module, status, duration_ms?, output?, error?,
 * bundles?} (borrowed); state (borrowed, may be NULL) replays it on a later attempt. */
int sc_journal_step_end(struct sc_journal *j, const char *step, const char *bundle,
                        const json_t *e, json_t *state);
/* A further attempt: reads the states the earlier ones recorded (sc_journal_replayed). */
int sc_journal_open(struct sc_journal *j);
/* Borrowed: the state step recorded for bundle on an earlier attempt, or NULL. */
json_t *sc_journal_replayed(const struct sc_journal *j, const char *step, const char *bundle);
/* The execution's row (row->id must be j->execution): 0, 1 when that id is taken (make
 * another and call again), -1 with err. */
int sc_journal_begin(struct sc_journal *j, const struct sc_exec_row *row);
/* Ends the attempt from its record rec {status, duration_ms, url?, error?, incomplete?,
 * response?, committed?} (borrowed): the execution's status, its incomplete entry (the
 * next attempt due: the longest wait any broken bundle asked for; or a person's turn),
 * and the deferred states when the end keeps them. */
int sc_journal_end(struct sc_journal *j, const char *scenario, const json_t *rec);
void sc_journal_free(struct sc_journal *j);

#endif
