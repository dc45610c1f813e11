/* The store's calls (store.h, store/hooks.h), each dispatched to the connection's backend;
 * the backend is chosen by the store's address when it is opened: PostgreSQL
 * (store/pg*.c) for a postgresql:// URI, SQLite (store/sqlite*.c) for a file. */
#include "store/backend.h"

#include "conninfo.h"
#include "model/yaml.h"
#include "paths.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const struct sc_store_backend *sc_store_backend_of(const char *path)
{
    return sc_conninfo_is_pg(path) ? &sc_store_pg : &sc_store_sqlite;
}

bool sc_store_shared(const char *path)
{
    return sc_store_backend_of(path) != &sc_store_sqlite;
}

struct sc_store *sc_store_open(const char *path, const char *key_ref, char *err, size_t errlen)
{
    return sc_store_backend_of(path)->open(path, key_ref, err, errlen);
}

void sc_store_close(struct sc_store *st)
{
    if (st)
        st->be->close(st);
}

char *sc_store_path(const struct sc_org *org)
{
    const char *p = org->store, *state = sc_paths_state();
    if (!*state) /* a checkout: relative to the working directory, as always */
        return p ? sc_strdup(p) : sc_asprintf("var/%s/scenarist.db", org->name);
    if (p && (p[0] == '/' || sc_store_shared(p))) /* a database address is never a path */
        return sc_strdup(p);
    return p ? sc_asprintf("%s/%s", state, p) : sc_asprintf("%s/%s/scenarist.db", state, org->name);
}

const char *sc_store_error(const struct sc_store *st)
{
    return st->be->error(st);
}

int sc_store_tx_begin(struct sc_store *st)
{
    return st->be->tx_begin(st);
}

int sc_store_tx_commit(struct sc_store *st)
{
    return st->be->tx_commit(st);
}

void sc_store_tx_rollback(struct sc_store *st)
{
    st->be->tx_rollback(st);
}

void sc_store_turns(struct sc_store *st, void (*take)(void *), void (*give)(void *),
                    void *turns)
{
    if (st->be->turns)
        st->be->turns(st, take, give, turns);
}

bool sc_store_tx_open(struct sc_store *st)
{
    return st->be->tx_open(st);
}

int sc_store_checkpoint_apart(struct sc_store *st)
{
    return st->be->checkpoint_apart ? st->be->checkpoint_apart(st) : 0;
}

int sc_store_checkpoint(struct sc_store *st)
{
    return st->be->checkpoint ? st->be->checkpoint(st) : 0;
}

int sc_store_sync(struct sc_store *st)
{
    return st->be->sync ? st->be->sync(st) : 0;
}

int sc_store_lead(struct sc_store *st)
{
    return st->be->lead ? st->be->lead(st) : 1;
}

int sc_store_watch(struct sc_store *st, void (*wake)(void *), void *arg)
{
    return st->be->watch ? st->be->watch(st, wake, arg) : 0;
}

int sc_store_lease_renew(struct sc_store *st)
{
    return st->be->lease_renew(st);
}

int sc_store_lease_drop(struct sc_store *st, int64_t who)
{
    return st->be->lease_drop(st, who);
}

int sc_store_heartbeat(struct sc_store *st)
{
    return st->be->heartbeat(st);
}

enum sc_store_rc sc_store_exec_begin(struct sc_store *st, const struct sc_exec_row *r)
{
    return st->be->exec_begin(st, r);
}

enum sc_store_rc sc_store_exec_claim(struct sc_store *st, const char *id, int attempt,
                                     int64_t due_ms)
{
    return st->be->exec_claim(st, id, attempt, due_ms);
}

int sc_store_exec_end(struct sc_store *st, const char *id, const char *status,
                      int64_t duration_ms, json_t *summary, bool states)
{
    return st->be->exec_end(st, id, status, duration_ms, summary, states);
}

json_t *sc_store_exec_get(struct sc_store *st, const char *id)
{
    return st->be->exec_get(st, id);
}

json_t *sc_store_exec_resume_info(struct sc_store *st, const char *id)
{
    return st->be->exec_resume_info(st, id);
}

json_t *sc_store_exec_list(struct sc_store *st, const struct sc_exec_filter *f)
{
    return st->be->exec_list(st, f);
}

json_t *sc_store_exec_abandoned(struct sc_store *st)
{
    return st->be->exec_abandoned(st);
}

int64_t sc_store_step_begin(struct sc_store *st, const struct sc_step_row *r)
{
    return st->be->step_begin(st, r);
}

int sc_store_step_end(struct sc_store *st, int64_t run, const struct sc_step_row *r)
{
    return st->be->step_end(st, run, r);
}

int sc_store_step_state(struct sc_store *st, int64_t run, json_t *state, bool confidential)
{
    return st->be->step_state(st, run, state, confidential);
}

json_t *sc_store_journal(struct sc_store *st, const char *execution)
{
    return st->be->journal(st, execution);
}

enum sc_store_rc sc_store_enqueue(struct sc_store *st, const struct sc_event_row *r,
                                  char *first, size_t n)
{
    return st->be->enqueue(st, r, first, n);
}

int64_t sc_store_last_seq(struct sc_store *st)
{
    return st->be->last_seq(st);
}

enum sc_store_rc sc_store_claim_next(struct sc_store *st, int64_t max_seq, json_t **info)
{
    return st->be->claim_next(st, max_seq, info);
}

int sc_store_served(struct sc_store *st)
{
    return st->be->served ? st->be->served(st) : -1;
}

int sc_store_ping(struct sc_store *st)
{
    return st->be->ping ? st->be->ping(st) : 0;
}

enum sc_store_rc sc_store_slot_take(struct sc_store *st, const struct sc_store_slot *s,
                                    int *verdict, int64_t *wait_ms)
{
    return st->be->slot_take ? st->be->slot_take(st, s, verdict, wait_ms) : SC_STORE_NONE;
}

enum sc_store_rc sc_store_slot_done(struct sc_store *st, const char *org, const char *conn)
{
    return st->be->slot_done ? st->be->slot_done(st, org, conn) : SC_STORE_NONE;
}

int sc_store_queue_state(struct sc_store *st, int64_t *runnable, int64_t *next_retry_ms)
{
    return st->be->queue_state(st, runnable, next_retry_ms);
}

enum sc_store_rc sc_store_trigger_get(struct sc_store *st, const char *scenario,
                                      const char *trigger, int64_t *last_ms,
                                      int64_t *watermark_ms)
{
    return st->be->trigger_get(st, scenario, trigger, last_ms, watermark_ms);
}

int sc_store_trigger_set(struct sc_store *st, const char *scenario, const char *trigger,
                         int64_t last_ms, int64_t watermark_ms)
{
    return st->be->trigger_set(st, scenario, trigger, last_ms, watermark_ms);
}

enum sc_store_rc sc_store_poll_seen(struct sc_store *st, const char *scenario,
                                    const char *trigger, const char *key)
{
    return st->be->poll_seen(st, scenario, trigger, key);
}

int sc_store_poll_mark(struct sc_store *st, const char *scenario, const char *trigger,
                       const char *key, int64_t at_ms)
{
    return st->be->poll_mark(st, scenario, trigger, key, at_ms);
}

int sc_store_poll_prune(struct sc_store *st, const char *scenario, const char *trigger,
                        int64_t before_ms)
{
    return st->be->poll_prune(st, scenario, trigger, before_ms);
}

json_t *sc_store_ds_get(struct sc_store *st, const char *store, const char *key)
{
    return st->be->ds_get(st, store, key);
}

json_t *sc_store_ds_entry(struct sc_store *st, const char *store, const char *key,
                          int64_t *expires_ms)
{
    return st->be->ds_entry(st, store, key, expires_ms);
}

int sc_store_ds_set(struct sc_store *st, const char *store, const char *key, json_t *value,
                    int64_t ttl_ms)
{
    return st->be->ds_set(st, store, key, value, ttl_ms);
}

enum sc_store_rc sc_store_ds_delete(struct sc_store *st, const char *store, const char *key)
{
    return st->be->ds_delete(st, store, key);
}

json_t *sc_store_ds_search(struct sc_store *st, const char *store, const char *prefix,
                           int limit)
{
    return st->be->ds_search(st, store, prefix, limit);
}

enum sc_store_rc sc_store_ds_claim(struct sc_store *st, const char *store, const char *key,
                                   json_t *value, int64_t ttl_ms)
{
    return st->be->ds_claim(st, store, key, value, ttl_ms);
}

int sc_store_incomplete_put(struct sc_store *st, const struct sc_incomplete_row *r)
{
    return st->be->incomplete_put(st, r);
}

json_t *sc_store_incomplete_list(struct sc_store *st, const char *state)
{
    return st->be->incomplete_list(st, state);
}

json_t *sc_store_incomplete_get(struct sc_store *st, const char *execution)
{
    return st->be->incomplete_get(st, execution);
}

json_t *sc_store_incomplete_due(struct sc_store *st, int64_t now_ms)
{
    return st->be->incomplete_due(st, now_ms);
}

enum sc_store_rc sc_store_incomplete_close(struct sc_store *st, const char *execution,
                                           const char *state, const char *by)
{
    return st->be->incomplete_close(st, execution, state, by);
}

json_t *sc_store_hold_get(struct sc_store *st, const char *execution, const char *step,
                          const char *bundle)
{
    return st->be->hold_get(st, execution, step, bundle);
}

int64_t sc_store_hold_put(struct sc_store *st, const char *execution, const char *scenario,
                          const char *step, const char *bundle, const char *reason,
                          json_t *diff)
{
    return st->be->hold_put(st, execution, scenario, step, bundle, reason, diff);
}

json_t *sc_store_holds(struct sc_store *st, const char *state)
{
    return st->be->holds(st, state);
}

json_t *sc_store_hold(struct sc_store *st, int64_t id)
{
    return st->be->hold(st, id);
}

enum sc_store_rc sc_store_hold_decide(struct sc_store *st, int64_t id, const char *state,
                                      const char *by)
{
    return st->be->hold_decide(st, id, state, by);
}

enum sc_store_rc sc_store_decision_add(struct sc_store *st, const struct sc_decision_row *r,
                                       int64_t *id)
{
    return st->be->decision_add(st, r, id);
}

enum sc_store_rc sc_store_decision_take(struct sc_store *st, json_t **info)
{
    return st->be->decision_take(st, info);
}

enum sc_store_rc sc_store_decision_end(struct sc_store *st, int64_t id, const char *outcome)
{
    return st->be->decision_end(st, id, outcome);
}

json_t *sc_store_decision(struct sc_store *st, int64_t id)
{
    return st->be->decision(st, id);
}

json_t *sc_store_decisions(struct sc_store *st, const char *execution)
{
    return st->be->decisions(st, execution);
}

int64_t sc_store_queue_push(struct sc_store *st, const char *queue, json_t *item,
                            const char *execution)
{
    return st->be->queue_push(st, queue, item, execution);
}

json_t *sc_store_queue_items(struct sc_store *st, const char *queue, const char *state,
                             int limit)
{
    return st->be->queue_items(st, queue, state, limit);
}

json_t *sc_store_queue_item(struct sc_store *st, int64_t id)
{
    return st->be->queue_item(st, id);
}

enum sc_store_rc sc_store_queue_resolve(struct sc_store *st, int64_t id, const char *by,
                                        const char *note)
{
    return st->be->queue_resolve(st, id, by, note);
}

json_t *sc_store_queue_depths(struct sc_store *st, int64_t since_ms)
{
    return st->be->queue_depths(st, since_ms);
}

enum sc_store_rc sc_store_queue_push_key(struct sc_store *st, const struct sc_queue_key_row *r,
                                         int64_t *id, int64_t *times_seen)
{
    return st->be->queue_push_key(st, r, id, times_seen);
}

int64_t sc_store_queue_sweep(struct sc_store *st, const char *queue, const char *execution,
                             const char *by, const char *resolution)
{
    return st->be->queue_sweep(st, queue, execution, by, resolution);
}

json_t *sc_store_queue_history(struct sc_store *st, int64_t start_ms, int64_t end_ms, int days)
{
    return st->be->queue_history(st, start_ms, end_ms, days);
}

int64_t sc_store_queue_open(struct sc_store *st, const char *queue)
{
    return st->be->queue_open(st, queue);
}

enum sc_store_rc sc_store_version_add(struct sc_store *st, const char *scenario,
                                      json_t *document, const char *checksum,
                                      const char *message, const char *origin, int *number)
{
    return st->be->version_add(st, scenario, document, checksum, message, origin, number);
}

json_t *sc_store_version_get(struct sc_store *st, const char *scenario, int number)
{
    return st->be->version_get(st, scenario, number);
}

json_t *sc_store_versions(struct sc_store *st, const char *scenario)
{
    return st->be->versions(st, scenario);
}

json_t *sc_store_versions_current(struct sc_store *st)
{
    return st->be->versions_current(st);
}

int64_t sc_store_versions_stamp(struct sc_store *st)
{
    return st->be->versions_stamp(st);
}

void sc_store_audit_key(struct sc_store *st, const char *key_ref, int64_t unkeyed_rows)
{
    st->be->audit_key(st, key_ref, unkeyed_rows);
}

int64_t sc_store_audit_add(struct sc_store *st, const struct sc_audit_row *r)
{
    return st->be->audit_add(st, r);
}

json_t *sc_store_audit_list(struct sc_store *st, const struct sc_audit_filter *f)
{
    return st->be->audit_list(st, f);
}

json_t *sc_store_audit_checkpoint(struct sc_store *st, const char *org, json_t **problem)
{
    return st->be->audit_checkpoint(st, org, problem);
}

enum sc_store_rc sc_store_audit_verify(struct sc_store *st, const char *org, const json_t *cp,
                                       json_t **problem)
{
    return st->be->audit_verify(st, org, cp, problem);
}

int64_t sc_store_shadow_add(struct sc_store *st, const struct sc_shadow_row *r)
{
    return st->be->shadow_add(st, r);
}

json_t *sc_store_shadow_list(struct sc_store *st, const struct sc_shadow_filter *f)
{
    return st->be->shadow_list(st, f);
}

json_t *sc_store_metrics(struct sc_store *st, int64_t since_ms)
{
    return st->be->metrics(st, since_ms);
}

json_t *sc_store_audit_summary(struct sc_store *st, int64_t since_ms, int64_t until_ms,
                              const json_t *systems)
{
    return st->be->audit_summary(st, since_ms, until_ms, systems);
}

json_t *sc_store_counters(struct sc_store *st)
{
    return st->be->counters(st);
}

void sc_store_defer(struct sc_store *st, bool on)
{
    st->be->defer(st, on);
}

size_t sc_store_defer_mark(struct sc_store *st)
{
    return st->be->defer_mark(st);
}

bool sc_store_defer_refused(const struct sc_store *st)
{
    return st->be->defer_refused(st);
}

void sc_store_defer_cut(struct sc_store *st, size_t mark)
{
    st->be->defer_cut(st, mark);
}

enum sc_store_rc sc_store_defer_apply(struct sc_store *st)
{
    return st->be->defer_apply(st);
}

int64_t sc_store_prune(struct sc_store *st, const struct sc_prune_rule *r, int limit,
                       bool dry_run, json_t *counts)
{
    return st->be->prune(st, r, limit, dry_run, counts);
}

int sc_store_vacuum(struct sc_store *st, int64_t pages, int64_t *freed)
{
    if (!st->be->vacuum && freed)
        *freed = 0;
    return st->be->vacuum ? st->be->vacuum(st, pages, freed) : 0;
}

json_t *sc_store_space(struct sc_store *st)
{
    return st->be->space(st);
}

int sc_store_backup(struct sc_store *st, const char *path)
{
    return st->be->backup(st, path);
}

json_t *sc_store_audit_archived(struct sc_store *st)
{
    return st->be->audit_archived(st);
}

char *sc_store_json_text(json_t *v, const char *text, size_t *len)
{
    char *t = text ? strdup(text) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    *len = t ? strlen(t) : 0;
    return t;
}
