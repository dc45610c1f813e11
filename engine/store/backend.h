/* The store's backend interface: what a backend (SQLite today, PostgreSQL next)
 * implements so that every sc_store_* call of store.h and store/hooks.h dispatches to
 * it. Each call means exactly what store.h says of its sc_store_* namesake, with the same
 * arguments, results, errors and ownership (as store.h); the contract suite
 * (tests/unit/test_store_contract.c) runs on any backend. A backend's connection starts
 * with a struct sc_store whose be points to its table. The daemon's hooks (sync,
 * checkpoint_apart, checkpoint, turns) may be NULL: the call then does nothing and
 * answers 0; so may slot_take and slot_done (the call answers SC_STORE_NONE); lead may be
 * NULL: this connection leads (1); watch may be NULL; served may be NULL (-1); ping may be
 * NULL: the store is always there (a file), the call answers 0; vacuum may
 * be NULL: the backend gives space back by itself, the call answers 0 with *freed 0. The
 * others are required: a NULL one is a backend's bug, not a choice. */
#ifndef SC_STORE_BACKEND_H
#define SC_STORE_BACKEND_H

#include "store/hooks.h"
#include "store/store.h"

/* What every backend's connection starts with. */
struct sc_store {
    const struct sc_store_backend *be;
};

struct sc_audit_chain;

struct sc_store_backend {
    const char *name;
    /* Opens a connection as sc_store_open does (path: the backend's own address). */
    struct sc_store *(*open)(const char *path, const char *key_ref, char *err, size_t errlen);
    /* the connection, transactions, the daemon's hooks */
    const char *(*error)(const struct sc_store *st);
    void (*close)(struct sc_store *st);
    int (*tx_begin)(struct sc_store *st);
    int (*tx_commit)(struct sc_store *st);
    void (*tx_rollback)(struct sc_store *st);
    void (*turns)(struct sc_store *st, void (*take)(void *), void (*give)(void *), void *turns);
    bool (*tx_open)(struct sc_store *st);
    int (*checkpoint_apart)(struct sc_store *st);
    int (*checkpoint)(struct sc_store *st);
    int (*sync)(struct sc_store *st);
    int (*lead)(struct sc_store *st);
    int (*watch)(struct sc_store *st, void (*wake)(void *), void *arg);
    int (*served)(struct sc_store *st);
    int (*ping)(struct sc_store *st);
    /* executions, leases, step runs */
    int (*lease_renew)(struct sc_store *st);
    int (*lease_drop)(struct sc_store *st, int64_t who);
    int (*heartbeat)(struct sc_store *st);
    enum sc_store_rc (*exec_begin)(struct sc_store *st, const struct sc_exec_row *r);
    enum sc_store_rc (*exec_claim)(struct sc_store *st, const char *id, int attempt,
                                   int64_t due_ms);
    int (*exec_end)(struct sc_store *st, const char *id, const char *status,
                    int64_t duration_ms, json_t *summary, bool states);
    json_t *(*exec_get)(struct sc_store *st, const char *id);
    json_t *(*exec_resume_info)(struct sc_store *st, const char *id);
    json_t *(*exec_list)(struct sc_store *st, const struct sc_exec_filter *f);
    json_t *(*exec_abandoned)(struct sc_store *st);
    int64_t (*step_begin)(struct sc_store *st, const struct sc_step_row *r);
    int (*step_end)(struct sc_store *st, int64_t run, const struct sc_step_row *r);
    int (*step_state)(struct sc_store *st, int64_t run, json_t *state, bool confidential);
    json_t *(*journal)(struct sc_store *st, const char *execution);
    /* the queue, trigger state and polls */
    enum sc_store_rc (*enqueue)(struct sc_store *st, const struct sc_event_row *r, char *first,
                                size_t n);
    int64_t (*last_seq)(struct sc_store *st);
    enum sc_store_rc (*claim_next)(struct sc_store *st, int64_t max_seq, json_t **info);
    int (*queue_state)(struct sc_store *st, int64_t *runnable, int64_t *next_retry_ms);
    /* throttled connections' shared state; both NULL: the backend keeps none */
    enum sc_store_rc (*slot_take)(struct sc_store *st, const struct sc_store_slot *s,
                                  int *verdict, int64_t *wait_ms);
    enum sc_store_rc (*slot_done)(struct sc_store *st, const char *org, const char *conn);
    enum sc_store_rc (*trigger_get)(struct sc_store *st, const char *scenario,
                                    const char *trigger, int64_t *last_ms,
                                    int64_t *watermark_ms);
    int (*trigger_set)(struct sc_store *st, const char *scenario, const char *trigger,
                       int64_t last_ms, int64_t watermark_ms);
    enum sc_store_rc (*poll_seen)(struct sc_store *st, const char *scenario,
                                  const char *trigger, const char *key);
    int (*poll_mark)(struct sc_store *st, const char *scenario, const char *trigger,
                     const char *key, int64_t at_ms);
    int (*poll_prune)(struct sc_store *st, const char *scenario, const char *trigger,
                      int64_t before_ms);
    /* data stores */
    json_t *(*ds_get)(struct sc_store *st, const char *store, const char *key);
    json_t *(*ds_entry)(struct sc_store *st, const char *store, const char *key,
                        int64_t *expires_ms);
    int (*ds_set)(struct sc_store *st, const char *store, const char *key, json_t *value,
                  int64_t ttl_ms);
    enum sc_store_rc (*ds_delete)(struct sc_store *st, const char *store, const char *key);
    json_t *(*ds_search)(struct sc_store *st, const char *store, const char *prefix, int limit);
    enum sc_store_rc (*ds_claim)(struct sc_store *st, const char *store, const char *key,
                                 json_t *value, int64_t ttl_ms);
    /* incomplete executions, holds, work queues */
    int (*incomplete_put)(struct sc_store *st, const struct sc_incomplete_row *r);
    json_t *(*incomplete_list)(struct sc_store *st, const char *state);
    json_t *(*incomplete_get)(struct sc_store *st, const char *execution);
    json_t *(*incomplete_due)(struct sc_store *st, int64_t now_ms);
    enum sc_store_rc (*incomplete_close)(struct sc_store *st, const char *execution,
                                         const char *state, const char *by);
    json_t *(*hold_get)(struct sc_store *st, const char *execution, const char *step,
                        const char *bundle);
    int64_t (*hold_put)(struct sc_store *st, const char *execution, const char *scenario,
                        const char *step, const char *bundle, const char *reason, json_t *diff);
    json_t *(*holds)(struct sc_store *st, const char *state);
    json_t *(*hold)(struct sc_store *st, int64_t id);
    enum sc_store_rc (*hold_decide)(struct sc_store *st, int64_t id, const char *state,
                                    const char *by);
    enum sc_store_rc (*decision_add)(struct sc_store *st, const struct sc_decision_row *r,
                                     int64_t *id);
    enum sc_store_rc (*decision_take)(struct sc_store *st, json_t **info);
    enum sc_store_rc (*decision_end)(struct sc_store *st, int64_t id, const char *outcome);
    json_t *(*decision)(struct sc_store *st, int64_t id);
    json_t *(*decisions)(struct sc_store *st, const char *execution);
    int64_t (*queue_push)(struct sc_store *st, const char *queue, json_t *item,
                          const char *execution);
    json_t *(*queue_items)(struct sc_store *st, const char *queue, const char *state,
                           int limit);
    json_t *(*queue_item)(struct sc_store *st, int64_t id);
    enum sc_store_rc (*queue_resolve)(struct sc_store *st, int64_t id, const char *by,
                                      const char *note);
    json_t *(*queue_depths)(struct sc_store *st, int64_t since_ms);
    enum sc_store_rc (*queue_push_key)(struct sc_store *st, const struct sc_queue_key_row *r,
                                       int64_t *id, int64_t *times_seen);
    int64_t (*queue_sweep)(struct sc_store *st, const char *queue, const char *execution,
                           const char *by, const char *resolution);
    int64_t (*queue_open)(struct sc_store *st, const char *queue);
    /* versions' rows */
    enum sc_store_rc (*version_add)(struct sc_store *st, const char *scenario,
                                    json_t *document, const char *checksum,
                                    const char *message, const char *origin, int *number);
    json_t *(*version_get)(struct sc_store *st, const char *scenario, int number);
    json_t *(*versions)(struct sc_store *st, const char *scenario);
    json_t *(*versions_current)(struct sc_store *st);
    int64_t (*versions_stamp)(struct sc_store *st);
    /* the audit log */
    void (*audit_key)(struct sc_store *st, const char *key_ref, int64_t unkeyed_rows);
    int64_t (*audit_add)(struct sc_store *st, const struct sc_audit_row *r);
    json_t *(*audit_list)(struct sc_store *st, const struct sc_audit_filter *f);
    json_t *(*audit_checkpoint)(struct sc_store *st, const char *org, json_t **problem);
    enum sc_store_rc (*audit_verify)(struct sc_store *st, const char *org, const json_t *cp,
                                     json_t **problem);
    /* shadowed writes */
    int64_t (*shadow_add)(struct sc_store *st, const struct sc_shadow_row *r);
    json_t *(*shadow_list)(struct sc_store *st, const struct sc_shadow_filter *f);
    /* metrics */
    json_t *(*metrics)(struct sc_store *st, int64_t since_ms);
    json_t *(*audit_summary)(struct sc_store *st, int64_t since_ms, int64_t until_ms,
                             const json_t *systems);
    json_t *(*counters)(struct sc_store *st);
    /* deferred writes */
    void (*defer)(struct sc_store *st, bool on);
    size_t (*defer_mark)(struct sc_store *st);
    bool (*defer_refused)(const struct sc_store *st);
    void (*defer_cut)(struct sc_store *st, size_t mark);
    enum sc_store_rc (*defer_apply)(struct sc_store *st);
    /* retention */
    int64_t (*prune)(struct sc_store *st, const struct sc_prune_rule *r, int limit,
                     bool dry_run, json_t *counts);
    int (*vacuum)(struct sc_store *st, int64_t pages, int64_t *freed);
    json_t *(*space)(struct sc_store *st);
    int (*backup)(struct sc_store *st, const char *path);
    /* The store's audit chain (store/audit_chain.h): the archive (store/archive.c) runs
     * and verifies over it, the same on every backend. */
    void (*audit_chain)(struct sc_store *st, struct sc_audit_chain *c);
    json_t *(*audit_archived)(struct sc_store *st);
    json_t *(*queue_history)(struct sc_store *st, int64_t start_ms, int64_t end_ms, int days);
};

/* The backends of this build: SQLite (store/sqlite*.c) and PostgreSQL (store/pg*.c). */
extern const struct sc_store_backend sc_store_sqlite;
extern const struct sc_store_backend sc_store_pg;
/* The backend of a store address: PostgreSQL for a libpq URI (postgresql:// or
 * postgres://, RFC 3986 as libpq reads it), else SQLite (a file path). */
const struct sc_store_backend *sc_store_backend_of(const char *path);

/* For backends: this process's running executions (the ones its heartbeat renews), kept
 * apart from any backend. sc_store_live_add: 0, or -1 out of memory. sc_store_live_ids:
 * *ids a new array of *n new strings (free each, NULL where memory ran out, and the
 * array; NULL when *n is 0); 0, or -1 out of memory. */
int sc_store_live_add(const char *id);
bool sc_store_live_has(const char *id);
int sc_store_live_ids(char ***ids, size_t *n);
/* Makes the directories of a file's path (not the file); 0, or -1 with errno. */
int sc_store_mkdirs(const char *path);
/* For backends: v's JSON text as stored (json_dumps JSON_COMPACT | JSON_ENCODE_ANY), a new
 * string with its length in *len: a copy of text when the caller dumped v already
 * (sc_exec_row.trigger_json), else v dumped here. NULL: out of memory. */
char *sc_store_json_text(json_t *v, const char *text, size_t *len);

#endif
