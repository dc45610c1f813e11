/* The store: what scenarist keeps for one org (executions and their step runs,
 * incomplete executions, holds, queues, data stores, the audit log). The interface
 * speaks JSON and domain terms only; each call dispatches to the connection's backend
 * (store/backend.h: SQLite in store/sqlite*.c, the only files with SQL). One sc_store per
 * thread. Ownership: json_t results are new references, json_t and
 * string arguments are borrowed. Errors: -1 or NULL, the message in sc_store_error. */
#ifndef SC_STORE_H
#define SC_STORE_H

#include "model/org.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct sc_store;

/* What a store call answers, the same word for the same case in every call (each call's
 * comment says which it gives); SC_STORE_ERR always with the message in sc_store_error. */
enum sc_store_rc {
    SC_STORE_ERR = -1,   /* failed: nothing of the call was done */
    SC_STORE_OK = 0,     /* done (found, taken, added, claimed) */
    SC_STORE_EXISTS,     /* the id or key is already there (taken, held, seen) */
    SC_STORE_SAME,       /* what was given is already stored (a repeated event, an unchanged version) */
    SC_STORE_NONE,       /* nothing to act on (absent, not pending, none runnable) */
    SC_STORE_BUSY,       /* another owner has it now (a live lease, a held lock, no longer due) */
    SC_STORE_CONFLICT,   /* another connection changed what this one read: compute again */
    SC_STORE_BROKEN,     /* the audit log is not intact */
    SC_STORE_REFUSED,    /* the input is refused (not a checkpoint, another org, a wrong HMAC) */
};

/* Opens (creating and migrating) the database at path. key_ref: a secret reference
 * (env:/file:) to the 64-hex-digit key that seals confidential data, or NULL for a key
 * file beside the database, made on first use. */
struct sc_store *sc_store_open(const char *path, const char *key_ref, char *err, size_t errlen);
void sc_store_close(struct sc_store *st);
const char *sc_store_error(const struct sc_store *st);
/* The org's database: its "store" setting, else var/NAME/scenarist.db (new string). */
char *sc_store_path(const struct sc_org *org);
/* The schema version this build migrates to. */
int sc_store_schema_version(void);

/* ---- executions ---- */

struct sc_exec_row {
    const char *id, *scenario, *org, *version;
    const char *source;   /* the scenario file it was loaded from */
    json_t *trigger;
    const char *trigger_json; /* trigger as json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) gives
                           * it, when the caller made that off the writer's thread (the webhook
                           * listener's), or NULL: the store dumps trigger */
    bool confidential;    /* trigger and resume states are sealed, step outputs redacted */
    int64_t started_ms;
};

/* Records a new execution, status running, leased to this process. SC_STORE_OK;
 * SC_STORE_EXISTS when the id is taken (make another); SC_STORE_ERR. */
enum sc_store_rc sc_store_exec_begin(struct sc_store *st, const struct sc_exec_row *row);
/* Takes an execution over for another attempt (a retry, or a resume after a crash):
 * status running, leased to this process, attempts = attempt. due_ms >= 0: a scheduled
 * retry, taken only if its entry is still pending and due at due_ms. SC_STORE_OK taken;
 * SC_STORE_BUSY when it runs under a lease not yet expired (this or another process runs
 * it) or it is no longer due (left alone); SC_STORE_ERR (also when there is none).
 * Its step runs still marked running were cut off by a dead process: status interrupted. */
enum sc_store_rc sc_store_exec_claim(struct sc_store *st, const char *id, int attempt, int64_t due_ms);
/* Ends an attempt: status success|warning|error; summary {error?, incomplete?,
 * response?, committed?}. A finished confidential execution loses its sealed data, and
 * with states (some step of it may have kept a resume state) those states too. */
int sc_store_exec_end(struct sc_store *st, const char *id, const char *status,
                      int64_t duration_ms, json_t *summary, bool states);
/* The execution as `scenarist execution ID` shows it: the row, its steps from every
 * attempt and its incomplete entry; NULL (no error set) when there is none. */
json_t *sc_store_exec_get(struct sc_store *st, const char *id);
/* What a new attempt needs: {id, scenario, version, source, status, attempts,
 * confidential, trigger}. */
json_t *sc_store_exec_resume_info(struct sc_store *st, const char *id);

struct sc_exec_filter {
    const char *scenario, *status;
    int64_t since_ms;     /* 0: any */
    int limit;            /* 0: 100 */
    const char *before_id; /* a page's cursor: only those listed after (started_at, id) =
                            * (before_ms, before_id) in the list's order; NULL: from the top */
    int64_t before_ms;
};
json_t *sc_store_exec_list(struct sc_store *st, const struct sc_exec_filter *f);
/* Ids of running executions whose lease has expired (its owner stopped renewing it: a
 * crash, or an end that could not be recorded) and that this process is not running now. */
json_t *sc_store_exec_abandoned(struct sc_store *st);

/* ---- leases: who runs an execution ----
 * A running execution is owned by a lease: this process's random owner token and an
 * expiry (lease_until, ms on the one clock) set when it is begun or claimed and renewed
 * by a heartbeat; another process may take it over once the lease has expired, never
 * while it is renewed, whatever process ids say. */
#define SC_STORE_LEASE_MS 30000
/* This process's owner token (random, positive, never a pid). */
int64_t sc_store_owner(void);
/* The lease length in ms of this process's leases: SC_STORE_LEASE_MS, or the org's
 * `lease` setting (at least 1 s; smaller values restore the default). */
int64_t sc_store_lease_ms(void);
void sc_store_set_lease_ms(int64_t ms);
/* Renews, to now + lease, the leases of the executions this process is running now. */
int sc_store_lease_renew(struct sc_store *st);
/* This process stops running execution id (its attempt is over, recorded or not): no
 * more renewals, so an attempt whose end was not recorded is taken up again. */
void sc_store_exec_release(const char *id);
/* Expires every lease of owner who (a process known to be gone: the store lock's last
 * holder). Not this process's own. */
int sc_store_lease_drop(struct sc_store *st, int64_t who);
/* Starts a thread, with a connection of its own, that renews this process's leases every
 * third of a lease on the one clock; sc_store_close(st) stops it. */
int sc_store_heartbeat(struct sc_store *st);

/* ---- the queue and trigger state (the daemon) ---- */

/* An event the daemon acknowledged: an execution with status queued until a worker
 * claims it. exec.started_ms is when it arrived. */
struct sc_event_row {
    struct sc_exec_row exec;
    bool realtime;        /* claimed before any routine event */
    const char *lane;     /* a sequential scenario's lane (its name): one at a time, in order */
    const char *dedupe;   /* the event's identity (webhook-id, dedupe_key), or NULL */
    bool frozen;          /* the caller changes exec.trigger no more: a claim in this process
                           * may get the very object, not a copy (the intake's; ~14,000
                           * instructions an event saved) */
    bool claim;           /* taken by this process in the same transaction, as
                           * sc_store_claim_next would take it (the daemon's instant path:
                           * the event and its execution written in one commit); SQLite only */
    int64_t taken_ms;     /* with claim: when this process took it (epoch ms), its started_at
                           * as a claim at that time gives it; 0: now */
};
/* SC_STORE_OK queued (running, attempt 1, this process's, when r->claim); SC_STORE_SAME a repeat of an earlier event, whose execution id is
 * put in first; SC_STORE_EXISTS the execution id is taken (make another); SC_STORE_ERR. */
enum sc_store_rc sc_store_enqueue(struct sc_store *st, const struct sc_event_row *r, char *first, size_t n);
/* Claims the next runnable event for this process (status running, attempt 1): realtime
 * first, then arrival order; a sequential lane waits while one of its executions runs,
 * waits for a retry, or arrived earlier; only events up to max_seq (those known to be on
 * disk: sc_store_last_seq then sc_store_sync). SC_STORE_OK with *info as
 * sc_store_exec_resume_info gives it, or {id, unreadable: why} when its event does not read
 * back (the caller owns it); SC_STORE_NONE when none is runnable; SC_STORE_ERR. */
enum sc_store_rc sc_store_claim_next(struct sc_store *st, int64_t max_seq, json_t **info);
/* The queue position of the last event committed (0: none), -1 on error. */
int64_t sc_store_last_seq(struct sc_store *st);

/* How many queued events a worker could take now, and when the next retry is due
 * (-1: none). */
int sc_store_queue_state(struct sc_store *st, int64_t *runnable, int64_t *next_retry_ms);

/* A trigger's state (trigger: "schedule:0", "poll:1"...): the last slot it fired for and
 * a poll's watermark; -1 for what is unknown. SC_STORE_OK found, SC_STORE_NONE none yet,
 * SC_STORE_ERR. */
enum sc_store_rc sc_store_trigger_get(struct sc_store *st, const char *scenario, const char *trigger,
                         int64_t *last_ms, int64_t *watermark_ms);
/* Sets either or both (a negative value keeps what is there). */
int sc_store_trigger_set(struct sc_store *st, const char *scenario, const char *trigger,
                         int64_t last_ms, int64_t watermark_ms);
/* Poll item keys already emitted: SC_STORE_EXISTS seen, SC_STORE_NONE not, SC_STORE_ERR. */
enum sc_store_rc sc_store_poll_seen(struct sc_store *st, const char *scenario, const char *trigger,
                       const char *key);
int sc_store_poll_mark(struct sc_store *st, const char *scenario, const char *trigger,
                       const char *key, int64_t at_ms);
/* Forgets keys seen before before_ms (no item that old can come back in a window). */
int sc_store_poll_prune(struct sc_store *st, const char *scenario, const char *trigger,
                        int64_t before_ms);

/* Groups the calls between them into one transaction (one commit, all or nothing).
 * Transactions nest: an inner one is a savepoint of the outer. */
int sc_store_tx_begin(struct sc_store *st);
int sc_store_tx_commit(struct sc_store *st);
void sc_store_tx_rollback(struct sc_store *st);
/* False once an error made SQLite roll the transaction back: nothing of it is left. */
bool sc_store_tx_open(struct sc_store *st);

/* ---- deferred writes: an execution computed outside any write transaction ---- */

/* on: from now the writes an execution makes (step rows and states, its end, an
 * incomplete entry, data store set/delete/claim, queue items, holds) are recorded, not
 * run, and reads of the data store see the recorded writes over what is stored; off:
 * what is recorded is dropped. A step_begin answers a stand-in run id that later calls
 * of the same recording accept; a queue push or a hold answers the id it will get (the
 * table's last id is checked at apply). Other writes (audit rows, a new execution,
 * closing an incomplete entry) are refused: -1, and sc_store_defer_refused. */
void sc_store_defer(struct sc_store *st, bool on);
/* The recording's length now (a mark for sc_store_defer_cut); clears refused. */
size_t sc_store_defer_mark(struct sc_store *st);
/* True when a write since the last mark was refused: run that execution directly. */
bool sc_store_defer_refused(const struct sc_store *st);
/* Drops what was recorded after mark (an execution that is run directly instead). */
void sc_store_defer_cut(struct sc_store *st, size_t mark);
/* Inside the caller's transaction: checks that every data store value (and last queue
 * item or hold id) the recording read from the store is still what it read (else
 * SC_STORE_CONFLICT: another connection changed it; the caller rolls back and computes
 * again), then runs the recorded writes in order. SC_STORE_OK done, SC_STORE_ERR. The
 * recording stays on, emptied. */
enum sc_store_rc sc_store_defer_apply(struct sc_store *st);

/* ---- data stores: named key/value tables of JSON ---- */

/* The value, or NULL (no error set) when absent or expired. */
json_t *sc_store_ds_get(struct sc_store *st, const char *store, const char *key);
/* The value as sc_store_ds_get gives it, and when it expires (*expires_ms, -1: never). */
json_t *sc_store_ds_entry(struct sc_store *st, const char *store, const char *key,
                          int64_t *expires_ms);
/* ttl_ms <= 0: kept until deleted. */
int sc_store_ds_set(struct sc_store *st, const char *store, const char *key, json_t *value,
                    int64_t ttl_ms);
/* SC_STORE_OK deleted, SC_STORE_NONE there was none, SC_STORE_ERR. */
enum sc_store_rc sc_store_ds_delete(struct sc_store *st, const char *store, const char *key);
/* [{key, value}] whose key starts with prefix, by key. */
json_t *sc_store_ds_search(struct sc_store *st, const char *store, const char *prefix, int limit);
/* Takes key when it is absent or expired (atomic): SC_STORE_OK taken, SC_STORE_EXISTS
 * already held, SC_STORE_ERR. */
enum sc_store_rc sc_store_ds_claim(struct sc_store *st, const char *store, const char *key, json_t *value,
                      int64_t ttl_ms);

/* ---- queues: work lists for people ---- */

/* Adds an item (open); its id, or -1. */
int64_t sc_store_queue_push(struct sc_store *st, const char *queue, json_t *item,
                            const char *execution);
/* Items of a queue (NULL: every queue) in a state (NULL: any): the first limit, oldest
 * first (0: 1000), or with limit < 0 the last -limit, newest first (what a person looks at
 * first: the items resolved lately). Each {id, queue, item, state, created_at, execution?,
 * done_at?, done_by?, note?, key?, last_seen?, times_seen, resolution?} (times ISO). */
json_t *sc_store_queue_items(struct sc_store *st, const char *queue, const char *state, int limit);
/* One item by id; NULL with an empty sc_store_error when there is none, NULL with the
 * store's error when it failed (a 404 is not a 503). */
json_t *sc_store_queue_item(struct sc_store *st, int64_t id);
/* Resolves an open item at the engine's clock (done_at) by a person or what acted (by),
 * with their note (NULL: none; the API asks one of people). SC_STORE_OK resolved,
 * SC_STORE_NONE no open item with that id, SC_STORE_ERR. */
enum sc_store_rc sc_store_queue_resolve(struct sc_store *st, int64_t id, const char *by,
                                        const char *note);
/* {queue: {open, recent}}: open items, and those of them created since since_ms. */
json_t *sc_store_queue_depths(struct sc_store *st, int64_t since_ms);
/* Each queue's depth over days consecutive days from start_ms (a day's start, ms since
 * the epoch): {QUEUE: [n, ...]}, days numbers oldest first, n the items open at the last
 * millisecond of that day (start_ms + (i + 1) days - 1) or at end_ms (now) if sooner:
 * created by then and not closed (resolved, swept) by then. Every queue with an item
 * created by end_ms.
 * NULL with the error set. */
json_t *sc_store_queue_history(struct sc_store *st, int64_t start_ms, int64_t end_ms, int days);

/* Work queues that converge (a reconciliation's drift queue): a keyed item is the one
 * open item of its (queue, key); pushed again it is updated, not duplicated, and a sweep
 * closes the keyed items that the sweeping execution did not push, so that after any
 * number of runs the open items are what the last run saw. */
struct sc_queue_key_row {
    const char *queue, *key;  /* key: the drift's identity ("changed:E-1001"), not empty */
    json_t *item;             /* the latest body: replaces the open item's */
    const char *execution;    /* the execution pushing it: times_seen counts each once */
};
/* Adds the item (open, times_seen 1), or updates the open item with the same key: its
 * body, last_seen (now), times_seen + 1 when this execution had not pushed it yet.
 * *id: the item's; *times_seen: its count now. SC_STORE_OK added, SC_STORE_EXISTS
 * updated, SC_STORE_ERR. Refused while writes are deferred (run the execution directly). */
enum sc_store_rc sc_store_queue_push_key(struct sc_store *st, const struct sc_queue_key_row *r,
                                         int64_t *id, int64_t *times_seen);
/* Resolves the open keyed items of queue that execution did not push (the drift they
 * stood for is gone): state resolved, done_by by, resolution (a note for a person).
 * Unkeyed items are left alone. How many it closed, or -1. Refused while deferred. */
int64_t sc_store_queue_sweep(struct sc_store *st, const char *queue, const char *execution,
                             const char *by, const char *resolution);
/* How many items of queue are open now (deferred pushes of this execution included), -1. */
int64_t sc_store_queue_open(struct sc_store *st, const char *queue);

/* ---- holds: executions paused for a person's decision ---- */

/* The hold of an execution's step and bundle, or NULL. */
json_t *sc_store_hold_get(struct sc_store *st, const char *execution, const char *step,
                          const char *bundle);
int64_t sc_store_hold_put(struct sc_store *st, const char *execution, const char *scenario,
                          const char *step, const char *bundle, const char *reason, json_t *diff);
/* Holds in a state (NULL: all), oldest first; one by id. */
json_t *sc_store_holds(struct sc_store *st, const char *state);
/* One hold: NULL with an empty sc_store_error when there is none, else the store failed. */
json_t *sc_store_hold(struct sc_store *st, int64_t id);
/* state: approved or rejected. SC_STORE_OK decided, SC_STORE_NONE not pending, SC_STORE_ERR. */
enum sc_store_rc sc_store_hold_decide(struct sc_store *st, int64_t id, const char *state, const char *by);

/* ---- decisions: a person's word on a held or incomplete execution ----
 * Approving a hold or retrying an incomplete execution is a continuation: recorded here,
 * run by the daemon (which has the org's secrets) through the runner's retry loop, its
 * outcome recorded back; rejecting a hold ends the execution and runs nothing. */
struct sc_decision_row {
    const char *execution;
    const char *action;   /* approve or reject (a hold), retry (an incomplete execution) */
    int64_t hold;         /* the hold decided (approve, reject), else 0 */
    const char *by;       /* who decided */
    const char *reason;   /* why, or NULL */
    bool here;            /* the deciding process runs it itself (--here): the daemon leaves it */
};
/* Records a decision at the engine's clock, in one transaction with, for approve and
 * reject, the hold's own decision (state approved|rejected, decided_by, decided_at). A
 * reject is 'done' at once; an approve or retry waits 'pending' for the daemon ('here'
 * when r->here). SC_STORE_OK with *id; SC_STORE_EXISTS when the hold is no longer
 * pending, or the execution already has a continuation not yet run (nothing recorded);
 * SC_STORE_ERR. */
enum sc_store_rc sc_store_decision_add(struct sc_store *st, const struct sc_decision_row *r,
                                       int64_t *id);
/* Takes the oldest continuation waiting for a daemon (pending, or running under another
 * owner: a daemon that stopped before it ended it) for this process: state running.
 * SC_STORE_OK with *info (new) as sc_store_decision gives it; SC_STORE_NONE; SC_STORE_ERR. */
enum sc_store_rc sc_store_decision_take(struct sc_store *st, json_t **info);
/* Ends a taken (or 'here') continuation: state done, outcome (the run's status, or why it
 * did not run), ended_at now. Only its holder ends a taken one (checked in the statement
 * that ends it): another process that took it over after this one's take lapsed owns it.
 * While its execution runs in this process the heartbeat (sc_store_lease_renew) renews the
 * take, so a run that outlives a lease is not taken again. SC_STORE_OK; SC_STORE_NONE when
 * it is not open, or not this process's; SC_STORE_ERR. */
enum sc_store_rc sc_store_decision_end(struct sc_store *st, int64_t id, const char *outcome);
/* {id, execution, action, hold?, decided_by, decided_at (ISO), reason?, state, outcome?,
 * ended_at?}, or NULL (no error set) when there is none. */
json_t *sc_store_decision(struct sc_store *st, int64_t id);
/* An execution's decisions, oldest first. */
json_t *sc_store_decisions(struct sc_store *st, const char *execution);

/* ---- scenario versions (immutable; the current one is the highest number) ---- */

/* Stores document as the scenario's next version, unless its checksum is the current
 * version's: SC_STORE_OK added, SC_STORE_SAME unchanged; *number is the version now
 * current. SC_STORE_ERR. */
enum sc_store_rc sc_store_version_add(struct sc_store *st, const char *scenario, json_t *document,
                         const char *checksum, const char *message, const char *origin,
                         int *number);
/* {scenario, number, created_at, message?, checksum, origin, document}; number 0: the
 * current one. NULL with the error set when there is none. */
json_t *sc_store_version_get(struct sc_store *st, const char *scenario, int number);
/* The scenario's versions, oldest first (without documents). */
json_t *sc_store_versions(struct sc_store *st, const char *scenario);
/* Every scenario's current version (without documents), by name. */
json_t *sc_store_versions_current(struct sc_store *st);
/* Changes whenever a version is added (the daemon's cue to reload); -1 error. */
int64_t sc_store_versions_stamp(struct sc_store *st);

/* ---- step runs and the resume journal ---- */

/* A step run row: written as "running" before a step with effects, so a crash shows
 * which step was under way; ended (or added at once, run == 0) when it finishes.
 * state: what replays this step on a later attempt ({outs, vars?}), NULL for none. */
struct sc_step_row {
    const char *execution, *step, *module, *bundle, *status;
    int attempt;
    int64_t started_ms, duration_ms;
    json_int_t bundles;   /* a fan-out: how many bundles it emitted (else 0) */
    json_t *output, *error, *state;
    bool confidential;    /* state is sealed; output and error are the caller's to redact */
};
int64_t sc_store_step_begin(struct sc_store *st, const struct sc_step_row *r);
int sc_store_step_end(struct sc_store *st, int64_t run, const struct sc_step_row *r);
/* Sets the resume state (borrowed; sealed when confidential) of step row run. */
int sc_store_step_state(struct sc_store *st, int64_t run, json_t *state, bool confidential);
/* Every recorded state of the execution: {"STEP BUNDLE": state}. */
json_t *sc_store_journal(struct sc_store *st, const char *execution);

/* ---- throttled connections' state, shared by the processes of one store ----
 * A throttled connection's state (run/throttle.h): the time of its last request, the
 * latest slot promised, the slots promised to waiting requests by key, and the requests
 * in flight. A backend whose processes share one store (PostgreSQL: several daemons)
 * keeps it there, under the row's lock, so that they share the rate; SQLite, whose store
 * one daemon owns, keeps none, and the process keeps it (run/throttle.c). */
struct sc_store_slot {
    const char *org, *conn; /* the connection of org */
    const char *key;        /* the request's idempotency key (its promise), or NULL */
    bool realtime;          /* ahead of every routine request not yet sent */
    int64_t spacing_ms;     /* 0: no rate */
    int cap;                /* 0: no concurrency cap */
    int64_t now_ms;         /* -1: the clock, read under the row's lock (run/throttle.h) */
};
/* A slot for one request, as sc_throttle_take decides it: SC_STORE_OK with *verdict
 * (0 go: counted in flight till sc_store_slot_done; 1 wait *wait_ms; 2 the cap is
 * reached); SC_STORE_NONE when this backend keeps no such state; SC_STORE_ERR. */
enum sc_store_rc sc_store_slot_take(struct sc_store *st, const struct sc_store_slot *s,
                                    int *verdict, int64_t *wait_ms);
/* The request taken (verdict 0) is over: SC_STORE_OK, SC_STORE_NONE (none kept), ERR. */
enum sc_store_rc sc_store_slot_done(struct sc_store *st, const char *org, const char *conn);

/* ---- incomplete executions ---- */

struct sc_incomplete_row {
    const char *execution, *scenario, *step, *bundle;
    json_t *error;
    int attempts, max_attempts;
    int64_t next_ms;      /* when the next attempt is due; 0 when none will come */
    const char *state;    /* pending (a retry is scheduled) or exhausted (a person's turn) */
};
int sc_store_incomplete_put(struct sc_store *st, const struct sc_incomplete_row *r);
/* state: NULL for the open ones (pending and exhausted). */
json_t *sc_store_incomplete_list(struct sc_store *st, const char *state);
/* One entry: NULL with an empty sc_store_error when there is none, else the store failed. */
json_t *sc_store_incomplete_get(struct sc_store *st, const char *execution);
/* Execution ids whose retry is due at now_ms. */
json_t *sc_store_incomplete_due(struct sc_store *st, int64_t now_ms);
/* Closes an entry: done (a retry succeeded), resolved or discarded (a person).
 * SC_STORE_OK; SC_STORE_NONE when there is no open entry for the execution; SC_STORE_ERR. */
enum sc_store_rc sc_store_incomplete_close(struct sc_store *st, const char *execution,
                                           const char *state, const char *by);

/* ---- the audit log ---- */

struct sc_audit_row {
    int64_t at_ms, duration_ms;
    const char *org, *scenario, *version, *execution, *step, *method, *sent_from, *sent_to;
    int status;           /* HTTP status; 0 when no answer came */
    const char *outcome;  /* ok, failed, refused */
    const char *body;
    size_t body_len;
    int64_t ref;          /* a write's second row: the id of its pending row; else 0 */
    const char *by;       /* the person who acted, or whose decision (an approval, a retry)
                             caused the write; NULL: the engine on its own. Hashed only when
                             set, so rows from before it verify as they did */
};
/* The org's audit key: a secret reference (env:/file:, at least 32 characters, resolved
 * when first needed), or NULL for an unkeyed chain. unkeyed_rows: how many rows of an
 * unkeyed chain (written before the org had a key) verify accepts before the keyed ones. */
void sc_store_audit_key(struct sc_store *st, const char *key_ref, int64_t unkeyed_rows);
/* Appends a row, chained to the previous one by its HMAC-SHA256 (RFC 2104) under the audit
 * key (SHA-256 without one). A write is two rows: outcome "pending" before it is sent, and
 * one with ref set to the pending row's id after. The row's id, or -1 (the key could not
 * be read, or the store failed). */
int64_t sc_store_audit_add(struct sc_store *st, const struct sc_audit_row *r);
struct sc_audit_filter {
    const char *scenario, *sent_to_prefix, *execution;
    int limit;            /* 0: 1000, oldest first; < 0: the last -limit, newest first */
};
/* One entry per write (its pending row, with the status and outcome of the row that
 * completed it; "pending" when none did), in id order as f->limit says: {id, at, org, scenario, version,
 * execution, step, method, sent_from, sent_to, status, duration_ms, body_sha256, outcome,
 * hash, by?}. */
json_t *sc_store_audit_list(struct sc_store *st, const struct sc_audit_filter *f);
/* Checks the chain under the audit key and, with checkpoint (borrowed, as
 * sc_store_audit_checkpoint made it), that the log still holds what it recorded:
 * SC_STORE_OK intact; SC_STORE_BROKEN with *problem {row?, reason} for the first bad row, a
 * cut or a wipe; SC_STORE_REFUSED with *problem {reason} when the checkpoint is refused (not
 * one, another org, a wrong HMAC); SC_STORE_ERR (no audit key configured, or it cannot be
 * read). */
enum sc_store_rc sc_store_audit_verify(struct sc_store *st, const char *org, const json_t *checkpoint,
                          json_t **problem);
/* The log's head, once verified intact: {format: "scenarist.audit-checkpoint/1", org,
 * count, last_hash, at (ISO, the engine's clock), key_id, hmac} with hmac the HMAC-SHA256
 * of format, org, count, last_hash and at, each ended by 0x1f but the last. New, or NULL
 * with *problem (the log is not intact) or the error set (no key). */
json_t *sc_store_audit_checkpoint(struct sc_store *st, const char *org, json_t **problem);

/* ---- shadowed writes ---- */

/* A write that a shadowing connection (shadow: true) kept: what would have been sent.
 * Strings and headers borrowed; the caller has already redacted the secrets. */
struct sc_shadow_row {
    int64_t at_ms;
    const char *org, *scenario, *version, *execution, *step, *bundle, *connection, *method;
    const char *url;      /* the full target */
    json_t *headers;      /* {name: value} as they would have been sent (borrowed) */
    const char *body;     /* the body as it would have been sent, or NULL */
    size_t body_len;
    int status;           /* the stand-in's status, the step's answer */
    int64_t audit_id;     /* its audit row ("shadowed"), 0 when none */
    bool confidential;    /* headers and body kept sealed under the store key */
};
/* Records one. The row's id, or -1 (the store failed, or writes are deferred). */
int64_t sc_store_shadow_add(struct sc_store *st, const struct sc_shadow_row *r);
struct sc_shadow_filter {
    const char *scenario, *execution; /* NULL: any */
    int limit;            /* 0: 1000 */
};
/* The recorded writes, oldest first: [{id, at (ISO), org, scenario, version, execution,
 * step, bundle, connection, method, url, status, audit_id (or null), confidential, headers,
 * body (text, or null)}]; a confidential scenario's headers and body read "[redacted:
 * confidential scenario]". New, or NULL (the error set). */
json_t *sc_store_shadow_list(struct sc_store *st, const struct sc_shadow_filter *f);

/* ---- metrics ---- */

/* The figures over a window: what started (executions), was created (holds, incomplete,
 * queue items) or was queued at or after since_ms (0: all time). New object:
 * {since? (ISO), scenarios: {NAME: {executions, failures (error + warning), incomplete
 * (warning), failure_rate, holds, hold_rate (holds / executions; 0 without executions),
 * by_status: {STATUS: n}}}, incomplete: {pending, exhausted, total} (still open),
 * queues: {QUEUE: open}, holds: {pending}, queued: {routine, realtime}}; NULL with the
 * error set. Reads the rows of the window (indexed by time). */
json_t *sc_store_metrics(struct sc_store *st, int64_t since_ms);
/* The audit log over [since_ms, until_ms] (both ends included): each write (its first
 * row, with the outcome of the row that completed it, "pending" when none did) counted by
 * scenario, by system (the name in systems, {NAME: base URL}, whose URL is the longest
 * prefix of the write's sent_to at a path boundary; "other" when none is) and by outcome.
 * New object {since, until (ISO), writes: {SCENARIO: {SYSTEM: {OUTCOME: n}}}, systems:
 * {SYSTEM: {OUTCOME: n}}, totals: {writes, OUTCOME: n}}; NULL with the error set. Scans
 * the window's rows. */
json_t *sc_store_audit_summary(struct sc_store *st, int64_t since_ms, int64_t until_ms,
                              const json_t *systems);
/* The counters for /metrics (Prometheus counters: they only grow), kept in the same
 * statement as the change they count, and two gauges of what waits now. New object:
 * {executions: {SCENARIO: {STATUS: n}} (each time an execution entered the status:
 * queued, running per attempt, then its outcome), holds_created: {SCENARIO: n},
 * holds_decided: {DECISION: n}, queue_items_opened: {QUEUE: n}, queue_items_closed:
 * {QUEUE: {STATE: n}}, queued: {routine, realtime}, incomplete: {pending, exhausted}};
 * NULL with the error set. Its cost does not grow with the history: one row per counter
 * and label set, and index ranges over the waiting rows only. */
json_t *sc_store_counters(struct sc_store *st);

/* ---- retention: pruning, the audit archive, space, backups (store/sqlite_prune.c) ---- */

/* What one prune removes: rows of table that ended before before_ms (ms since the epoch,
 * the engine's clock). EXECUTIONS: finished executions of status (success, warning or
 * error), with their step runs, closed incomplete rows and decided holds; never one that
 * is queued, running, sleeping or held, nor one with an open incomplete row or a pending
 * hold. QUEUE_ITEMS: items closed (not open) before it. SHADOW: shadowed writes made
 * before it (status ignored). */
enum sc_prune_table { SC_PRUNE_EXECUTIONS, SC_PRUNE_QUEUE_ITEMS, SC_PRUNE_SHADOW };
struct sc_prune_rule {
    enum sc_prune_table table;
    const char *status;
    int64_t before_ms;
};
/* One batch: removes at most limit rows (limit >= 1) the rule matches, oldest first, in
 * one transaction (one write turn, sc_store_turns). dry_run: removes nothing and counts
 * every row the rule matches (no limit). Adds the counts into the object counts, by table
 * and status: {"executions": {STATUS: n}, "step_runs": {STATUS: n} (by their execution's
 * status), "queue_items": {STATE: n}, "shadow_writes": {"all": n}}. Returns the rows of
 * the rule's own table removed (or counted), 0 when none is left, -1 on error. */
int64_t sc_store_prune(struct sc_store *st, const struct sc_prune_rule *r, int limit,
                       bool dry_run, json_t *counts);
/* Reclaims free space. pages > 0: gives back at most that many free pages to the file
 * system (SQLite's incremental_vacuum; nothing on a store not made incremental);
 * pages == 0: a full VACUUM that also makes an older store incremental from then on (it
 * takes the write lock for its whole length and needs the store's size free on disk).
 * *freed (may be NULL): bytes the file shrank by (after a batch's incremental vacuum, the
 * file shrinks at the next checkpoint of the write-ahead log). 0, or -1 on error.
 * PostgreSQL: autovacuum reclaims, so pages > 0 does nothing (*freed 0); pages == 0 runs a
 * plain VACUUM of the pruned tables (writers go on) and *freed is what the database shrank. */
int sc_store_vacuum(struct sc_store *st, int64_t pages, int64_t *freed);
/* The store's space: {bytes (file), free_bytes (pages free inside it), incremental (bool)}.
 * PostgreSQL: bytes is pg_database_size, free_bytes 0 (the server does not say), incremental
 * true (autovacuum), and tables: {TABLE: bytes with indexes, pg_total_relation_size}.
 * New, or NULL with the error set. */
json_t *sc_store_space(struct sc_store *st);
/* A consistent copy of the live store at path (a new file; refused when path exists),
 * made from one read snapshot (SQLite's VACUUM INTO) while other connections write. The
 * seal key is never copied: the copy's confidential data opens only with the store's key
 * (STORE.key or store_key). 0, or -1 with the error set. A PostgreSQL store is refused
 * (-1, the error naming the pg_dump command to use): a server's database is pg_dump's work. */
int sc_store_backup(struct sc_store *st, const char *path);

/* Archives the audit rows written before before_ms (at most max_rows, oldest first; the
 * log's last row always stays) of org: verifies they chain from the store's last archive
 * checkpoint, appends them to the JSON-lines file path, one row per line with every column
 * ({"id", "at" (ms), "org", ..., "prev_hash", "hash", "ref", "key_id"}), then a checkpoint
 * line {"checkpoint": {format "scenarist.audit-archive/1", org, through (the last row's
 * id), last_hash, unkeyed, at (ISO), key_id, hmac}} (HMAC-SHA256 under the audit key of
 * format, org, through, last_hash, unkeyed and at, joined by 0x1f), syncs the file, keeps
 * the checkpoint in the store and only then deletes the rows, limit rows per transaction.
 * An existing file must hold the rows archived so far (rows it already holds past the
 * store's checkpoint, left by an interrupted archive, are not written twice). Returns the
 * rows archived (0: none old enough; max_rows 0: a dry run, the rows that would be
 * archived, nothing written), or -1: with *problem {row, reason, line?} when the rows or
 * the file do not chain (nothing deleted), else with the error set. */
int64_t sc_store_audit_archive(struct sc_store *st, const char *org, int64_t before_ms,
                               int64_t max_rows, int limit, const char *path,
                               json_t **problem);
/* The store's last archive checkpoint (as in the file, plus "file": where its rows went),
 * or NULL (none: nothing archived, or an error: sc_store_error says, else ""). New. */
json_t *sc_store_audit_archived(struct sc_store *st);
/* As sc_store_audit_verify, over the archive file path and the store's rows as one chain:
 * every archived row's hash, the file's checkpoints, the store's checkpoint among them.
 * *problem names the row (and the archive's line: {row, reason, line}). */
enum sc_store_rc sc_store_audit_verify_archive(struct sc_store *st, const char *org,
                                               const json_t *checkpoint, const char *path,
                                               json_t **problem);

#endif
