/* The PostgreSQL backend's own header, for its files only (store/pg*.c): the connection
 * (struct pg_store, whose first member is the generic struct sc_store), its statements by
 * number, and the helpers its subject files share (prefix pg_). Every call means what
 * store.h says of its sc_store_* namesake (the SQLite backend, store/sqlite*.c, is the
 * reference; the contract suite runs on both). Errors: -1 or NULL with the message in the
 * connection (pg_err); ownership as store.h. Several daemons may share one database: claims
 * take rows FOR UPDATE SKIP LOCKED, appends that number rows (the audit chain, versions,
 * queue items, holds) serialise on transaction-scoped advisory locks (PG_LOCK_*). */
#ifndef SC_STORE_PG_H
#define SC_STORE_PG_H

#include "store/audit_chain.h"
#include "store/backend.h"
#include "store/defer.h"
#include "store/heartbeat.h"

#include <libpq-fe.h>
#include <stdarg.h>

enum pq {
    P_EXEC_BEGIN, P_EXEC_OWNER, P_EXEC_CLAIM, P_STEP_INTERRUPTED, P_EXEC_END, P_EXEC_ERASE_TRIGGER,
    P_EXEC_ERASE_STATES, P_EXEC_GET, P_EXEC_STEPS, P_EXEC_RUNNING, P_EXEC_LIST,
    P_STEP_BEGIN, P_STEP_END, P_STEP_STATE, P_JOURNAL,
    P_INC_PUT, P_INC_GET, P_INC_LIST_OPEN, P_INC_LIST_STATE, P_INC_DUE, P_INC_CLOSE,
    P_AUDIT_HEAD, P_AUDIT_INSERT, P_AUDIT_SET_HEAD, P_AUDIT_ALL, P_AUDIT_LIST, P_AUDIT_LIST_NEW, P_AUDIT_TAIL,
    P_ENQUEUE, P_DEDUPE_FIRST, P_CLAIM_NEXT, P_LAST_SEQ, P_RUNNABLE, P_NEXT_RETRY,
    P_TRIG_GET, P_TRIG_SET, P_SEEN_GET, P_SEEN_PUT, P_SEEN_PRUNE,
    P_VER_CURRENT, P_VER_ADD, P_VER_GET, P_VER_LIST, P_VER_ALL_CURRENT, P_VER_STAMP,
    P_DS_GET, P_DS_ENTRY, P_DS_SET, P_DS_DEL, P_DS_SEARCH, P_DS_CLAIM,
    P_QI_PUSH, P_QI_LIST, P_QI_LIST_NEW, P_QI_GET, P_QI_RESOLVE, P_QI_DEPTHS, P_QI_LAST,
    P_QI_TOUCH, P_QI_PUSH_KEY, P_QI_SWEEP, P_QI_OPEN,
    P_DEC_HOLD, P_DEC_ADD, P_DEC_TAKE, P_DEC_END, P_DEC_GET, P_DEC_LIST, P_DEC_RENEW,
    P_SHADOW_ADD, P_SHADOW_LIST,
    P_SLOT_ROW, P_SLOT_LOCK, P_SLOT_SET, P_SLOT_PROMISES, P_SLOT_PROMISE, P_SLOT_FORGET,
    P_SLOT_FLIGHT, P_SLOT_GO, P_SLOT_DONE, P_COUNTERS_FOLD,
    P_HOLD_GET, P_HOLD_PUT, P_HOLD_LIST, P_HOLD_BY_ID, P_HOLD_DECIDE, P_HOLD_LAST,
    P_LEASE_RENEW, P_LEASE_DROP, P_LOCK,
    P_BEGIN, P_COMMIT, P_ROLLBACK, P_SAVEPOINT, P_RELEASE, P_ROLLBACK_TO,
    P_COUNT
};

/* Transaction-scoped advisory lock keys (pg_advisory_xact_lock): what one append at a time
 * keeps linear across daemons. Versions lock PG_LOCK_VERSIONS plus a hash of the scenario. */
#define PG_LOCK_AUDIT 0x5c0a0d17LL
#define PG_LOCK_QUEUE_ITEMS 0x5c0a0d18LL
#define PG_LOCK_HOLDS 0x5c0a0d19LL
#define PG_LOCK_VERSIONS 0x5c0a0d20LL
/* Session lock of the daemon leading the org's timers (sc_store_lead). */
#define PG_LOCK_TIMERS 0x5c0a0d22LL
#define PG_LOCK_TIMERS_TEXT "1544162594"
/* Session lock held while migrating: two daemons starting at once do not race. */
#define PG_LOCK_MIGRATE 0x5c0a0d21LL
/* Transaction lock of the fold of counted changes into the counters (one at a time). */
#define PG_LOCK_COUNTERS 0x5c0a0d23LL

struct pg_watch;

struct pg_store {
    struct sc_store base;  /* first: a struct sc_store * of this backend is one of these */
    PGconn *db;
    char *addr;            /* the address as the org gave it (no password in it) */
    char *key_ref;
    unsigned char key[32];
    bool have_key;
    struct sc_audit_key audit; /* the org's audit key (sc_store_audit_key) */
    int depth;             /* open transactions: the outermost, then savepoints */
    bool leading;          /* holds PG_LOCK_TIMERS (sc_store_lead) */
    bool prepared[P_COUNT]; /* statements prepared on this session */
    int64_t changes;       /* rows the last statement changed */
    struct sc_heartbeat *hb;
    bool hb_failing;       /* the heartbeat's connection: its renewals fail now (said once) */
    struct pg_watch *watch; /* sc_store_watch's, stopped by pg_close */
    char err[512];
    struct sc_defer *defer; /* sc_store_defer: writes recorded, not run */
};

/* The backend's calls, as store/backend.h lists them (sc_store_pg is their table). */
struct sc_store *pg_open(const char *addr, const char *key_ref, char *err, size_t errlen);
const char *pg_error(const struct sc_store *base);
void pg_close(struct sc_store *base);
int pg_tx_begin(struct sc_store *base);
int pg_tx_commit(struct sc_store *base);
void pg_tx_rollback(struct sc_store *base);
bool pg_tx_open(struct sc_store *base);
int pg_lead(struct sc_store *base);
int pg_watch(struct sc_store *base, void (*wake)(void *), void *arg);
int pg_served(struct sc_store *base);
int pg_ping(struct sc_store *base);
void pg_watch_stop(struct pg_watch *w);
int pg_lease_renew(struct sc_store *base);
int pg_lease_drop(struct sc_store *base, int64_t who);
int pg_heartbeat(struct sc_store *base);
enum sc_store_rc pg_exec_begin(struct sc_store *base, const struct sc_exec_row *r);
enum sc_store_rc pg_exec_claim(struct sc_store *base, const char *id, int attempt, int64_t due_ms);
int pg_exec_end(struct sc_store *base, const char *id, const char *status,
                int64_t duration_ms, json_t *summary, bool states);
json_t *pg_exec_get(struct sc_store *base, const char *id);
json_t *pg_exec_resume_info(struct sc_store *base, const char *id);
json_t *pg_exec_list(struct sc_store *base, const struct sc_exec_filter *f);
json_t *pg_exec_abandoned(struct sc_store *base);
int64_t pg_step_begin(struct sc_store *base, const struct sc_step_row *r);
int pg_step_end(struct sc_store *base, int64_t run, const struct sc_step_row *r);
int pg_step_state(struct sc_store *base, int64_t run, json_t *state, bool confidential);
json_t *pg_journal(struct sc_store *base, const char *execution);
enum sc_store_rc pg_enqueue(struct sc_store *base, const struct sc_event_row *r, char *first,
                            size_t n);
int64_t pg_last_seq(struct sc_store *base);
enum sc_store_rc pg_claim_next(struct sc_store *base, int64_t max_seq, json_t **info);
int pg_queue_state(struct sc_store *base, int64_t *runnable, int64_t *next_retry_ms);
enum sc_store_rc pg_trigger_get(struct sc_store *base, const char *scenario, const char *trigger,
                                int64_t *last_ms, int64_t *watermark_ms);
int pg_trigger_set(struct sc_store *base, const char *scenario, const char *trigger,
                   int64_t last_ms, int64_t watermark_ms);
enum sc_store_rc pg_poll_seen(struct sc_store *base, const char *scenario, const char *trigger,
                              const char *key);
int pg_poll_mark(struct sc_store *base, const char *scenario, const char *trigger,
                 const char *key, int64_t at_ms);
int pg_poll_prune(struct sc_store *base, const char *scenario, const char *trigger,
                  int64_t before_ms);
json_t *pg_ds_get(struct sc_store *base, const char *store, const char *key);
json_t *pg_ds_entry(struct sc_store *base, const char *store, const char *key,
                    int64_t *expires_ms);
int pg_ds_set(struct sc_store *base, const char *store, const char *key, json_t *value,
              int64_t ttl_ms);
enum sc_store_rc pg_ds_delete(struct sc_store *base, const char *store, const char *key);
json_t *pg_ds_search(struct sc_store *base, const char *store, const char *prefix, int limit);
enum sc_store_rc pg_ds_claim(struct sc_store *base, const char *store, const char *key,
                             json_t *value, int64_t ttl_ms);
int pg_incomplete_put(struct sc_store *base, const struct sc_incomplete_row *r);
json_t *pg_incomplete_list(struct sc_store *base, const char *state);
json_t *pg_incomplete_get(struct sc_store *base, const char *execution);
json_t *pg_incomplete_due(struct sc_store *base, int64_t now_ms);
enum sc_store_rc pg_incomplete_close(struct sc_store *base, const char *execution,
                                     const char *state, const char *by);
json_t *pg_hold_get(struct sc_store *base, const char *execution, const char *step,
                    const char *bundle);
int64_t pg_hold_put(struct sc_store *base, const char *execution, const char *scenario,
                    const char *step, const char *bundle, const char *reason, json_t *diff);
json_t *pg_holds(struct sc_store *base, const char *state);
json_t *pg_hold(struct sc_store *base, int64_t id);
enum sc_store_rc pg_hold_decide(struct sc_store *base, int64_t id, const char *state,
                                const char *by);
int64_t pg_queue_push(struct sc_store *base, const char *queue, json_t *item,
                      const char *execution);
json_t *pg_queue_items(struct sc_store *base, const char *queue, const char *state, int limit);
json_t *pg_queue_item(struct sc_store *base, int64_t id);
enum sc_store_rc pg_queue_resolve(struct sc_store *base, int64_t id, const char *by,
                                  const char *note);
json_t *pg_queue_depths(struct sc_store *base, int64_t since_ms);
enum sc_store_rc pg_version_add(struct sc_store *base, const char *scenario, json_t *document,
                                const char *checksum, const char *message, const char *origin,
                                int *number);
json_t *pg_version_get(struct sc_store *base, const char *scenario, int number);
json_t *pg_versions(struct sc_store *base, const char *scenario);
json_t *pg_versions_current(struct sc_store *base);
int64_t pg_versions_stamp(struct sc_store *base);
void pg_audit_key(struct sc_store *base, const char *key_ref, int64_t unkeyed_rows);
int64_t pg_audit_add(struct sc_store *base, const struct sc_audit_row *r);
json_t *pg_audit_list(struct sc_store *base, const struct sc_audit_filter *f);
json_t *pg_audit_checkpoint(struct sc_store *base, const char *org, json_t **problem);
enum sc_store_rc pg_audit_verify(struct sc_store *base, const char *org, const json_t *cp,
                                 json_t **problem);
enum sc_store_rc pg_decision_add(struct sc_store *base, const struct sc_decision_row *r,
                                 int64_t *id);
enum sc_store_rc pg_decision_take(struct sc_store *base, json_t **info);
enum sc_store_rc pg_decision_end(struct sc_store *base, int64_t id, const char *outcome);
json_t *pg_decision(struct sc_store *base, int64_t id);
json_t *pg_decisions(struct sc_store *base, const char *execution);
enum sc_store_rc pg_queue_push_key(struct sc_store *base, const struct sc_queue_key_row *r,
                                   int64_t *id, int64_t *times_seen);
int64_t pg_queue_sweep(struct sc_store *base, const char *queue, const char *execution,
                       const char *by, const char *resolution);
int64_t pg_queue_open(struct sc_store *base, const char *queue);
json_t *pg_queue_history(struct sc_store *base, int64_t start_ms, int64_t end_ms, int days);
int64_t pg_shadow_add(struct sc_store *base, const struct sc_shadow_row *r);
json_t *pg_shadow_list(struct sc_store *base, const struct sc_shadow_filter *f);
enum sc_store_rc pg_slot_take(struct sc_store *base, const struct sc_store_slot *s,
                              int *verdict, int64_t *wait_ms);
enum sc_store_rc pg_slot_done(struct sc_store *base, const char *org, const char *conn);
json_t *pg_metrics(struct sc_store *base, int64_t since_ms);
json_t *pg_counters(struct sc_store *base);
void pg_defer(struct sc_store *base, bool on);
size_t pg_defer_mark(struct sc_store *base);
bool pg_defer_refused(const struct sc_store *base);
void pg_defer_cut(struct sc_store *base, size_t mark);
enum sc_store_rc pg_defer_apply(struct sc_store *base);

/* Adds the changes counted since the last fold to the counters, one fold at a time (a
 * scrape, and each daemon's heartbeat, so the changes stay few): 0, or -1 (error set). */
int pg_fold_counters(struct pg_store *st);

/* Schema (pg_schema.c): brings the database to its newest version under PG_LOCK_MIGRATE,
 * each migration in one transaction with its version bump; 0, or -1 (error set). */
int pg_migrate(struct pg_store *st);

/* Shared helpers (pg.c: statements, values, transactions, sealing). */
void pg_err(struct pg_store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs statement id with parameters by the letters of fmt: s text (NULL: null), i int64,
 * I int64 or null when negative, j JSON (NULL: null), b bytes (pointer, size_t; taken and
 * freed; NULL: null), n null. The result (PQclear it), or NULL with the error set;
 * st->changes is the count of rows it changed. */
PGresult *pg_q(struct pg_store *st, enum pq id, const char *fmt, ...);
/* pg_q for a statement whose rows are not wanted: 0, or -1 (error "WHAT: ..."). */
int pg_run(struct pg_store *st, const char *what, enum pq id, const char *fmt, ...);
/* Runs text without parameters: 0, or -1 with the error set. */
int pg_exec_text(struct pg_store *st, const char *sql, const char *what);
/* Takes the transaction-scoped advisory lock key (inside a transaction): 0, or -1. */
int pg_lock(struct pg_store *st, int64_t key);
bool pg_null(const PGresult *r, int row, int col);
const char *pg_text(const PGresult *r, int row, int col);
int64_t pg_int(const PGresult *r, int row, int col);
json_t *pg_json(const PGresult *r, int row, int col);
json_t *pg_iso(int64_t ms);
/* Every row as JSON by row(); NULL with the error set (r is cleared). */
json_t *pg_rows(struct pg_store *st, PGresult *r, json_t *(*row)(const PGresult *, int));
/* A stored value: JSON text or a sealed blob, from a bytea column. */
json_t *pg_value(struct pg_store *st, const PGresult *r, int row, int col);
/* Bytes to store for v: sealed when asked, else its JSON text; *failed with the error. */
void *pg_value_blob(struct pg_store *st, json_t *v, bool sealed, size_t *n, bool *failed);
/* As pg_value_blob, from text when it is v's compact dump already (NULL: dumped here). */
void *pg_dumped_blob(struct pg_store *st, json_t *v, const char *text, bool sealed, size_t *n,
                     bool *failed);
int pg_begin(struct pg_store *st);
int pg_commit(struct pg_store *st);
void pg_rollback(struct pg_store *st);
int pg_erase_resume_data(struct pg_store *st, const char *id);
json_t *pg_run_info(struct pg_store *st, const PGresult *r, const char *id, const int col[7]);
int64_t pg_step_write(struct pg_store *st, int64_t run, const struct sc_step_row *r);
json_t *pg_incomplete_row(const PGresult *r, int row);
/* The next id of a numbered table (0 queue_items, 1 holds) under its advisory lock, inside
 * the caller's transaction: -1 on error. */
int64_t pg_next_row_id(struct pg_store *st, int table);

/* The audit chain for the archive (pg_audit.c, pg_retain.c): this store's, as
 * store/audit_chain.h walks it. */
struct sc_audit_chain pg_audit_chain(struct pg_store *st);
/* 1 keyed, 0 not, -1 (error set). */
int pg_audit_keyed(struct pg_store *st);
/* Row i of s (columns as P_AUDIT_ALL) as cells (borrowed from s). */
void pg_audit_cells(const PGresult *s, int i, int n, struct sc_audit_cells *c);
/* Verifies as pg_audit_verify, the walk starting at start (NULL: at the store's last
 * archive checkpoint, or the genesis), in one snapshot. */
enum sc_store_rc pg_audit_verify_from(struct pg_store *st, const char *org, const json_t *cp,
                                      const struct sc_audit_walk *start, json_t **problem);
/* The archive's statements (pg_retain.c), as struct sc_audit_ops lists them. */
int pg_archive_rows(struct sc_store *base, int64_t from, int64_t through, int passes,
                    int (*each)(void *arg, int pass, const struct sc_audit_cells *c), void *arg);
int pg_archive_bounds(struct sc_store *base, int64_t before_ms, int64_t *head, int64_t *old);
int pg_archive_record(struct sc_store *base, const char *org, int64_t through, const json_t *cp,
                      const char *path);
int64_t pg_archive_delete(struct sc_store *base, int64_t through, int limit);
/* Retention (pg_retain.c) and the audit summary (pg_report.c): as their sq_ namesakes. */
int64_t pg_prune(struct sc_store *base, const struct sc_prune_rule *r, int limit, bool dry_run,
                 json_t *counts);
int pg_vacuum(struct sc_store *base, int64_t pages, int64_t *freed);
json_t *pg_space(struct sc_store *base);
int pg_backup(struct sc_store *base, const char *path);
json_t *pg_audit_archived(struct sc_store *base);
/* The vtable's audit_chain: *c = pg_audit_chain(base). */
void pg_audit_chain_of(struct sc_store *base, struct sc_audit_chain *c);
json_t *pg_audit_summary(struct sc_store *base, int64_t since_ms, int64_t until_ms,
                         const json_t *systems);

#endif
