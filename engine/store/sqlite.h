/* The SQLite backend's own header, for its files only (store/sqlite*.c): the connection
 * (struct sq_store, whose first member is the generic struct sc_store), the statements by
 * number, and the helpers its subject files share (prefix sq_). Errors: -1 or NULL with
 * the message in the connection (sq_err); ownership as store.h. */
#ifndef SC_STORE_SQLITE_H
#define SC_STORE_SQLITE_H

#include "store/audit_chain.h"
#include "store/backend.h"
#include "store/defer.h"
#include "store/heartbeat.h"

#include <sqlite3.h>
#include <stdarg.h>

enum q {
    Q_EXEC_BEGIN, Q_EXEC_OWNER, Q_EXEC_CLAIM, Q_STEP_INTERRUPTED, Q_EXEC_END, Q_EXEC_STATUS, Q_EXEC_ERASE_TRIGGER,
    Q_EXEC_ERASE_STATES, Q_EXEC_GET, Q_EXEC_STEPS, Q_EXEC_RUNNING, Q_EXEC_LIST, Q_EXEC_LIST_SC,
    Q_STEP_BEGIN, Q_STEP_END, Q_STEP_STATE, Q_JOURNAL,
    Q_INC_PUT, Q_INC_GET, Q_INC_LIST_OPEN, Q_INC_LIST_STATE, Q_INC_DUE, Q_INC_CLOSE,
    Q_AUDIT_HEAD, Q_AUDIT_INSERT, Q_AUDIT_SET_HEAD, Q_AUDIT_ALL, Q_AUDIT_LIST, Q_AUDIT_LIST_NEW,
    Q_ENQUEUE, Q_ENQUEUE_TAKEN, Q_ENQUEUE_ENDED, Q_DEDUPE_FIRST, Q_CLAIM_NEXT, Q_CLAIM_TAKE, Q_LAST_SEQ, Q_RUNNABLE, Q_NEXT_RETRY, Q_TRIG_GET, Q_TRIG_SET, Q_SEEN_GET, Q_SEEN_PUT,
    Q_SEEN_PRUNE,
    Q_VER_CURRENT, Q_VER_ADD, Q_VER_GET, Q_VER_LIST, Q_VER_ALL_CURRENT, Q_VER_STAMP,
    Q_DS_GET, Q_DS_ENTRY, Q_DS_SET, Q_DS_DEL, Q_DS_SEARCH, Q_DS_CLAIM,
    Q_QI_PUSH, Q_QI_LIST, Q_QI_LIST_NEW, Q_QI_GET, Q_QI_RESOLVE, Q_QI_DEPTHS,
    Q_QI_TOUCH, Q_QI_PUSH_KEY, Q_QI_SWEEP, Q_QI_OPEN,
    Q_HOLD_GET, Q_HOLD_PUT, Q_HOLD_LIST, Q_HOLD_BY_ID, Q_HOLD_DECIDE,
    Q_LEASE_RENEW, Q_LEASE_DROP, Q_TALLY, Q_TALLY_NEW, Q_DECISION_NEXT,
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
    Q_COUNT
};


struct sq_store {
    struct sc_store base;  /* first: a struct sc_store * of this backend is one of these */
    sqlite3 *db;
    sqlite3_stmt *stmt[Q_COUNT];
    char *path, *key_ref;
    unsigned char key[32];
    bool have_key;
    struct sc_audit_key audit; /* the org's audit key (sc_store_audit_key) */
    int depth;             /* open transactions: the outermost, then savepoints */
    void (*take)(void *), (*give)(void *); /* sc_store_turns */
    void *turns;
    struct sc_heartbeat *hb; /* sc_store_heartbeat's, stopped by sc_store_close */
    char err[512];
    struct sc_defer *defer; /* sc_store_defer: writes recorded, not run */
    int64_t busy_since;    /* monotonic ms: when the busy handler began its current wait */
    /* executions counted by this code (sq_tally; no trigger counts them): (scenario, status)
     * pairs, written to counters at the outermost commit; tally_at[d]: how many there were
     * when the transaction at depth d + 1 began (a savepoint rolled back drops its own) */
    char **tally;
    size_t ntally, captally;
    size_t *tally_at;
    int captally_at;
};

/* Counts an execution this code inserted or whose status it changed (every such write
 * counts here; no trigger does): +1 to counter (executions, scenario, status) in the
 * transaction open now (st->depth > 0), written at its outermost commit, one row per pair.
 * 0, or -1 when memory ran out (error set). */
int sq_tally(struct sq_store *st, const char *scenario, const char *status);

/* How long a connection waits for another process's write lock before it fails (ms). */
#define SQ_BUSY_MS 10000

/* The backend's calls, as store/backend.h lists them (sc_store_sqlite is their table). */
struct sc_store *sq_open(const char *path, const char *key_ref, char *err, size_t errlen);
const char *sq_error(const struct sc_store *base);
void sq_close(struct sc_store *base);
int sq_tx_begin(struct sc_store *base);
int sq_tx_commit(struct sc_store *base);
void sq_tx_rollback(struct sc_store *base);
void sq_turns(struct sc_store *base, void (*take)(void *), void (*give)(void *), void *turns);
bool sq_tx_open(struct sc_store *base);
int sq_checkpoint_apart(struct sc_store *base);
int sq_checkpoint(struct sc_store *base);
int sq_sync(struct sc_store *base);
int sq_lease_renew(struct sc_store *base);
int sq_lease_drop(struct sc_store *base, int64_t who);
int sq_heartbeat(struct sc_store *base);
enum sc_store_rc sq_exec_begin(struct sc_store *base, const struct sc_exec_row *r);
enum sc_store_rc sq_exec_claim(struct sc_store *base, const char *id, int attempt, int64_t due_ms);
/* Whether an execution ending in status lets go of what would resume it (a confidential
 * trigger, resume states): not when it ends held, sleeping or with a warning. */
bool sq_end_erases(const char *status);
int sq_exec_end(struct sc_store *base, const char *id, const char *status,
                int64_t duration_ms, json_t *summary, bool states);
json_t *sq_exec_get(struct sc_store *base, const char *id);
json_t *sq_exec_resume_info(struct sc_store *base, const char *id);
json_t *sq_exec_list(struct sc_store *base, const struct sc_exec_filter *f);
json_t *sq_exec_abandoned(struct sc_store *base);
int64_t sq_step_begin(struct sc_store *base, const struct sc_step_row *r);
int sq_step_end(struct sc_store *base, int64_t run, const struct sc_step_row *r);
int sq_step_state(struct sc_store *base, int64_t run, json_t *state, bool confidential);
json_t *sq_journal(struct sc_store *base, const char *execution);
enum sc_store_rc sq_enqueue(struct sc_store *base, const struct sc_event_row *r, char *first, size_t n);
int64_t sq_last_seq(struct sc_store *base);
enum sc_store_rc sq_claim_next(struct sc_store *base, int64_t max_seq, json_t **info);
int sq_queue_state(struct sc_store *base, int64_t *runnable, int64_t *next_retry_ms);
enum sc_store_rc sq_trigger_get(struct sc_store *base, const char *scenario, const char *trigger,
                                int64_t *last_ms, int64_t *watermark_ms);
int sq_trigger_set(struct sc_store *base, const char *scenario, const char *trigger,
                   int64_t last_ms, int64_t watermark_ms);
enum sc_store_rc sq_poll_seen(struct sc_store *base, const char *scenario, const char *trigger,
                              const char *key);
int sq_poll_mark(struct sc_store *base, const char *scenario, const char *trigger,
                 const char *key, int64_t at_ms);
int sq_poll_prune(struct sc_store *base, const char *scenario, const char *trigger,
                  int64_t before_ms);
json_t *sq_ds_get(struct sc_store *base, const char *store, const char *key);
json_t *sq_ds_entry(struct sc_store *base, const char *store, const char *key,
                    int64_t *expires_ms);
int sq_ds_set(struct sc_store *base, const char *store, const char *key, json_t *value,
              int64_t ttl_ms);
enum sc_store_rc sq_ds_delete(struct sc_store *base, const char *store, const char *key);
json_t *sq_ds_search(struct sc_store *base, const char *store, const char *prefix, int limit);
enum sc_store_rc sq_ds_claim(struct sc_store *base, const char *store, const char *key, json_t *value,
                             int64_t ttl_ms);
int sq_incomplete_put(struct sc_store *base, const struct sc_incomplete_row *r);
json_t *sq_incomplete_list(struct sc_store *base, const char *state);
json_t *sq_incomplete_get(struct sc_store *base, const char *execution);
json_t *sq_incomplete_due(struct sc_store *base, int64_t now_ms);
enum sc_store_rc sq_incomplete_close(struct sc_store *base, const char *execution, const char *state,
                        const char *by);
json_t *sq_hold_get(struct sc_store *base, const char *execution, const char *step,
                    const char *bundle);
int64_t sq_hold_put(struct sc_store *base, const char *execution, const char *scenario,
                    const char *step, const char *bundle, const char *reason, json_t *diff);
json_t *sq_holds(struct sc_store *base, const char *state);
json_t *sq_hold(struct sc_store *base, int64_t id);
enum sc_store_rc sq_hold_decide(struct sc_store *base, int64_t id, const char *state, const char *by);
enum sc_store_rc sq_decision_add(struct sc_store *base, const struct sc_decision_row *r,
                                 int64_t *id);
enum sc_store_rc sq_decision_take(struct sc_store *base, json_t **info);
enum sc_store_rc sq_decision_end(struct sc_store *base, int64_t id, const char *outcome);
json_t *sq_decision(struct sc_store *base, int64_t id);
json_t *sq_decisions(struct sc_store *base, const char *execution);
int64_t sq_queue_push(struct sc_store *base, const char *queue, json_t *item,
                      const char *execution);
json_t *sq_queue_items(struct sc_store *base, const char *queue, const char *state, int limit);
json_t *sq_queue_item(struct sc_store *base, int64_t id);
enum sc_store_rc sq_queue_resolve(struct sc_store *base, int64_t id, const char *by,
                                  const char *note);
json_t *sq_queue_depths(struct sc_store *base, int64_t since_ms);
enum sc_store_rc sq_queue_push_key(struct sc_store *base, const struct sc_queue_key_row *r,
                                   int64_t *id, int64_t *times_seen);
int64_t sq_queue_sweep(struct sc_store *base, const char *queue, const char *execution,
                       const char *by, const char *resolution);
int64_t sq_queue_open(struct sc_store *base, const char *queue);
json_t *sq_queue_history(struct sc_store *base, int64_t start_ms, int64_t end_ms, int days);
enum sc_store_rc sq_version_add(struct sc_store *base, const char *scenario, json_t *document,
                                const char *checksum, const char *message, const char *origin,
                                int *number);
json_t *sq_version_get(struct sc_store *base, const char *scenario, int number);
json_t *sq_versions(struct sc_store *base, const char *scenario);
json_t *sq_versions_current(struct sc_store *base);
int64_t sq_versions_stamp(struct sc_store *base);
void sq_audit_key(struct sc_store *base, const char *key_ref, int64_t unkeyed_rows);
int64_t sq_audit_add(struct sc_store *base, const struct sc_audit_row *r);
json_t *sq_audit_list(struct sc_store *base, const struct sc_audit_filter *f);
json_t *sq_audit_checkpoint(struct sc_store *base, const char *org, json_t **problem);
enum sc_store_rc sq_audit_verify(struct sc_store *base, const char *org, const json_t *cp,
                                 json_t **problem);
int64_t sq_shadow_add(struct sc_store *base, const struct sc_shadow_row *r);
json_t *sq_shadow_list(struct sc_store *base, const struct sc_shadow_filter *f);
json_t *sq_metrics(struct sc_store *base, int64_t since_ms);
json_t *sq_audit_summary(struct sc_store *base, int64_t since_ms, int64_t until_ms,
                         const json_t *systems);
json_t *sq_counters(struct sc_store *base);
void sq_defer(struct sc_store *base, bool on);
size_t sq_defer_mark(struct sc_store *base);
bool sq_defer_refused(const struct sc_store *base);
void sq_defer_cut(struct sc_store *base, size_t mark);
enum sc_store_rc sq_defer_apply(struct sc_store *base);

/* Retention (sqlite_prune.c). */
int64_t sq_prune(struct sc_store *base, const struct sc_prune_rule *r, int limit, bool dry_run,
                 json_t *counts);
int sq_vacuum(struct sc_store *base, int64_t pages, int64_t *freed);
json_t *sq_space(struct sc_store *base);
int sq_backup(struct sc_store *base, const char *path);
json_t *sq_audit_archived(struct sc_store *base);
/* The vtable's audit_chain: *c = sq_audit_chain(base). */
void sq_audit_chain_of(struct sc_store *base, struct sc_audit_chain *c);

/* The audit chain (sqlite_audit.c): this store's, as store/audit_chain.h walks it. */
struct sc_audit_chain sq_audit_chain(struct sq_store *st);
/* Verifies as sq_audit_verify, the walk starting at start (NULL: at the store's last
 * archive checkpoint, or the genesis). */
enum sc_store_rc sq_audit_verify_from(struct sc_store *base, const char *org, const json_t *cp,
                                      const struct sc_audit_walk *start, json_t **problem);
/* The archive's statements (sqlite_prune.c), as struct sc_audit_ops lists them. */
int sq_archive_rows(struct sc_store *base, int64_t from, int64_t through, int passes,
                    int (*each)(void *arg, int pass, const struct sc_audit_cells *c), void *arg);
int sq_archive_bounds(struct sc_store *base, int64_t before_ms, int64_t *head, int64_t *old);
int sq_archive_record(struct sc_store *base, const char *org, int64_t through, const json_t *cp,
                      const char *path);
int64_t sq_archive_delete(struct sc_store *base, int64_t through, int limit);
int sq_audit_keyed(struct sq_store *st);
/* The row at s (columns as Q_AUDIT_ALL) as cells (borrowed from s till its next step). */
void sq_audit_cells(sqlite3_stmt *s, int n, struct sc_audit_cells *c);

/* Schema: brings the database to sc_store_schema_version(); 0, or -1 (error set). */
int sq_migrate(struct sq_store *st);

/* Shared helpers (sqlite.c unless said: statements, values, transactions; the others
 * name their file's subject). */
void sq_err(struct sq_store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sq_db_err(struct sq_store *st, const char *what);
sqlite3_stmt *sq_q(struct sq_store *st, enum q id, const char *fmt, ...);
void sq_done(sqlite3_stmt *s);
int sq_step(struct sq_store *st, sqlite3_stmt *s);
int sq_exec(struct sq_store *st, sqlite3_stmt *s, const char *what);
const char *sq_text(sqlite3_stmt *s, int i);
json_t *sq_json(sqlite3_stmt *s, int i);
json_t *sq_rows(struct sq_store *st, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *));
json_t *sq_one_row(struct sq_store *st, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *),
                   const char *what, int64_t id);
json_t *sq_iso(int64_t ms);
json_t *sq_value(struct sq_store *st, sqlite3_stmt *s, int i);
void *sq_value_blob(struct sq_store *st, json_t *v, bool sealed, size_t *n, bool *failed);
/* As sq_value_blob, from text when it is v's compact dump already (NULL: dumped here). */
void *sq_dumped_blob(struct sq_store *st, json_t *v, const char *text, bool sealed, size_t *n,
                     bool *failed);
int sq_begin(struct sq_store *st);
int sq_commit(struct sq_store *st);
void sq_rollback(struct sq_store *st);
bool sq_leased(sqlite3_stmt *s, int status_col);
int sq_erase_resume_data(struct sq_store *st, const char *id);
json_t *sq_run_info(struct sq_store *st, sqlite3_stmt *s, const char *id, const int col[7]);
int64_t sq_step_write(struct sq_store *st, int64_t run, const struct sc_step_row *r);
json_t *sq_incomplete_row(sqlite3_stmt *s);

#endif
