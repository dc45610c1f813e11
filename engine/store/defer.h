/* Deferred writes, for backends (store/sqlite_defer.c, store/pg_defer.c): the recording
 * behind sc_store_defer. An execution computed outside any write transaction records its
 * writes here, reads data stores through them, and applies them later in one transaction
 * after checking that what it read from the store is unchanged. The bookkeeping is the same
 * for every backend; a backend gives only what is its own (struct sc_defer_ops): the last
 * id of a numbered table, how a step run is written, and any locks taken before the check.
 * The recording calls the store through its sc_store_* calls with the backend's recording
 * pointer (home) set to NULL, so they run for real. Errors: -1 or NULL with the message in
 * the backend's buffer (err, errlen), as store.h's calls; ownership as store.h. */
#ifndef SC_STORE_DEFER_H
#define SC_STORE_DEFER_H

#include "store/backend.h"

/* A recorded write's kind. */
enum sc_defer_kind {
    SC_DEFER_STEP_BEGIN, SC_DEFER_STEP_END, SC_DEFER_STEP_STATE, SC_DEFER_EXEC_END,
    SC_DEFER_INC_PUT, SC_DEFER_DS_SET, SC_DEFER_DS_DEL, SC_DEFER_DS_CLAIM, SC_DEFER_QI_PUSH,
    SC_DEFER_HOLD_PUT
};

/* A read of the store the recording made, checked again before the writes. */
struct sc_defer_read {
    char *store, *key;     /* key: the prefix of a search; store NULL: a table's last id */
    int limit;             /* a search's; 0 for a get; the table (0 queue items, 1 holds) */
    json_t *seen;          /* NULL: absent */
};

struct sc_defer_ops {
    /* The last id of a numbered table (0 queue_items, 1 holds): while recording (apply
     * false), and at apply, inside its transaction (apply true); -1 with the error set. */
    int64_t (*last_id)(struct sc_store *st, int table, bool apply);
    /* Writes a step run as sc_store_step_begin (run 0: its new id) or _end: -1 on error. */
    int64_t (*step_write)(struct sc_store *st, int64_t run, const struct sc_step_row *r);
    /* Optional (NULL: none): taken at apply before the reads are checked, given the reads
     * the recording made; 0, or -1 with the error set. */
    int (*lock)(struct sc_store *st, const struct sc_defer_read *reads, size_t n);
};

struct sc_defer;

/* A new recording for st, whose pointer to it is *home, its messages in err: NULL when
 * memory ran out (nothing said). Free with sc_defer_free (NULL is fine). */
struct sc_defer *sc_defer_new(struct sc_store *st, struct sc_defer **home, char *err,
                              size_t errlen, const struct sc_defer_ops *ops);
void sc_defer_free(struct sc_defer *df);
/* As sc_store_defer_mark, _refused, _cut and _apply (df NULL: not deferring). */
size_t sc_defer_mark(struct sc_defer *df);
bool sc_defer_refused(const struct sc_defer *df);
void sc_defer_cut(struct sc_defer *df, size_t mark);
enum sc_store_rc sc_defer_apply(struct sc_defer *df);
/* A write that cannot be recorded: true (refused, error "WHAT cannot be deferred") when
 * deferring, false (run it) when not (df NULL). */
bool sc_defer_refuse(struct sc_defer *df, const char *what);
/* The recorded calls: as their sc_store_* namesakes; a step begun answers a stand-in run
 * id that later calls of the recording accept. */
int64_t sc_defer_step(struct sc_defer *df, int64_t run, const struct sc_step_row *r);
int sc_defer_step_state(struct sc_defer *df, int64_t run, json_t *state, bool confidential);
int sc_defer_exec_end(struct sc_defer *df, const char *id, const char *status,
                      int64_t duration_ms, json_t *summary, bool states);
int sc_defer_incomplete(struct sc_defer *df, const struct sc_incomplete_row *r);
/* Data stores through the recording; kind: SC_DEFER_DS_SET, _DEL or _CLAIM (as ds_set,
 * ds_delete, ds_claim: SC_STORE_OK, _NONE, _EXISTS, or -1). */
json_t *sc_defer_ds_get(struct sc_defer *df, const char *store, const char *key);
json_t *sc_defer_ds_entry(struct sc_defer *df, const char *store, const char *key,
                          int64_t *expires_ms);
int sc_defer_ds_write(struct sc_defer *df, enum sc_defer_kind kind, const char *store,
                      const char *key, json_t *value, int64_t ttl_ms);
json_t *sc_defer_ds_search(struct sc_defer *df, const char *store, const char *prefix,
                           int limit);
/* An execution's end as the recording holds it (sc_defer_take_end); summary is the
 * recording's, valid till its apply. */
struct sc_defer_end {
    const char *status;
    int64_t duration_ms;
    json_t *summary;
};
/* Takes the one end recorded for execution id out of the recording, for a backend that
 * writes the execution's row in the same transaction to write it as it ended (one write
 * of the row instead of an insert and an update): true with *out set; false, nothing
 * taken, when none or more than one is recorded, or when the end erases resume states
 * (those must be erased after the steps' rows are written). Once taken, the end is the
 * caller's to write: if its write fails, the caller rolls the transaction back. */
bool sc_defer_take_end(struct sc_defer *df, const char *id, struct sc_defer_end *out);
/* A queue item (table 0: s = queue, execution; j = item) or a hold (1: s = execution,
 * scenario, step, bundle, reason; j = diff) recorded with the id it will get; -1 on error. */
int64_t sc_defer_row(struct sc_defer *df, int table, const char *const s[5], json_t *j);
/* How many items the recording pushes to queue. */
int64_t sc_defer_pushes(const struct sc_defer *df, const char *queue);

#endif
