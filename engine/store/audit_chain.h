/* The audit chain above the backends (store/sqlite_audit.c, store/pg_audit.c and their
 * archives): the org's audit key, the hashing of a row (HMAC-SHA256, RFC 2104, under the
 * key; plain SHA-256, FIPS 180-4, for a row of an unkeyed chain), the head's MAC, the
 * walk that checks the rows one by one, verification against a checkpoint, and the making
 * of one. The chain is the same on every backend; a backend gives its rows and its head
 * through struct sc_audit_ops, in the columns of its "all rows" query: id, at, org,
 * scenario, version, execution, step, method, sent_from, sent_to, status, duration_ms,
 * body_sha256, outcome, prev_hash, hash, ref, key_id, actor. Errors: -1 or NULL with the message
 * in the backend's buffer (err, errlen); SC_STORE_BROKEN or _REFUSED with *problem (a new
 * object: reason, and row where one is to blame), as store.h's audit calls say. */
#ifndef SC_STORE_AUDIT_CHAIN_H
#define SC_STORE_AUDIT_CHAIN_H

#include "store/backend.h"

/* The org's audit key, as a backend's connection keeps it. */
struct sc_audit_key {
    char *ref;             /* a secret reference, or NULL: unkeyed */
    int64_t unkeyed_rows;  /* rows of an unkeyed chain the org accepts before its keyed rows */
    char *key;             /* resolved when first needed */
    size_t len;
    char id[20];           /* "k" + 16 hex digits naming the key, never the key */
};

/* One row's cells, columns as above (a listing: the first 16, then actor as cell 16):
 * text "" and num 0 where null[i]. */
struct sc_audit_cells {
    const char *text[19];
    int64_t num[19];
    bool null[19];
};

/* Where a walk of the chain is: the next id expected, the head's last id, the rows of the
 * unkeyed chain so far and the previous row's hash. */
struct sc_audit_walk {
    int64_t expect, last, unkeyed;
    char prev[65];
};

struct sc_audit_chain;

struct sc_audit_ops {
    /* The last row's id (0: none) and hash (the genesis: none): 0, or -1. */
    int (*tail)(struct sc_store *st, int64_t *count, char hash[65]);
    /* The head row: *has false when there is none; else its last id, hash and MAC. */
    int (*head)(struct sc_store *st, bool *has, int64_t *last, char hash[65], char mac[65]);
    /* Calls each for every row in id order till it answers non-zero: that answer, 0 after
     * the last, or -1 when the rows cannot be read (error set). */
    int (*rows)(struct sc_store *st, int (*each)(void *arg, const struct sc_audit_cells *c),
                void *arg);
    /* w from the store's last archive checkpoint, as the archive keeps it (every backend's
     * is sc_archive_walk of store/archive.h). */
    int (*walk_archived)(const struct sc_audit_chain *c, struct sc_audit_walk *w,
                         json_t **problem);
    /* The archive's (store/archive.c). Verifies as sc_audit_verify from start, as the
     * backend reads its log (PostgreSQL: in one snapshot). */
    enum sc_store_rc (*verify_from)(struct sc_store *st, const char *org, const json_t *cp,
                                    const struct sc_audit_walk *start, json_t **problem);
    /* Calls each for the rows (from, through] in id order, passes times over the same rows,
     * and with c NULL after each pass, till it answers non-zero: that answer, 0 after the
     * last pass, or -1 when the rows cannot be read (error set). */
    int (*rows_range)(struct sc_store *st, int64_t from, int64_t through, int passes,
                      int (*each)(void *arg, int pass, const struct sc_audit_cells *c),
                      void *arg);
    /* The head's last id and the last id of the rows at before before_ms: 0, or -1. */
    int (*bounds)(struct sc_store *st, int64_t before_ms, int64_t *head, int64_t *old);
    /* Records the archive checkpoint cp (of org, rows through, in path) in the store in a
     * transaction of its own: 0, or -1. */
    int (*record)(struct sc_store *st, const char *org, int64_t through, const json_t *cp,
                  const char *path);
    /* Deletes up to limit archived rows (ids <= through) in a transaction of its own: how
     * many, or -1. */
    int64_t (*delete_rows)(struct sc_store *st, int64_t through, int limit);
};

/* A backend's chain: its connection, key, message buffer and calls. */
struct sc_audit_chain {
    struct sc_store *st;
    struct sc_audit_key *key;
    char *err;
    size_t errlen;
    const struct sc_audit_ops *ops;
};

/* Sets c's error message (printf). */
void sc_audit_chain_err(const struct sc_audit_chain *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 64 zeros: the hash before the first row. */
extern const char sc_audit_genesis[65];

/* As sc_store_audit_key: the key (copied) replaces the one before, which is wiped. */
void sc_audit_key_set(struct sc_audit_key *k, const char *ref, int64_t unkeyed_rows);
/* Wipes and frees the key (the struct stays). */
void sc_audit_key_clear(struct sc_audit_key *k);
/* The key, resolved once: 1 keyed, 0 no key configured, -1 (error in err). */
int sc_audit_keyed(struct sc_audit_key *k, char *err, size_t errlen);
/* HMAC-SHA256 of n bytes under the key, as 64 hex digits (zeros when it fails: no row is
 * ever written with it). */
void sc_audit_mac(const struct sc_audit_key *k, const void *data, size_t n, char out[65]);
/* A row's hash over every column but itself, the previous hash included; by (the person
 * a row names, NULL or "": none) only when set, so rows from before it hash as they did. */
void sc_audit_hash(const struct sc_audit_key *k, bool keyed, int64_t id, int64_t at,
                   const char *const txt[8], int64_t status, int64_t duration,
                   const char *body_sha, const char *outcome, const char *prev, int64_t ref,
                   const char *by, char out[65]);
/* A new row id (after prev) of r: its hash, and the head's MAC (keyed only; else mac is
 * left as it is). body_sha: SHA-256 of r's body. */
void sc_audit_seal(const struct sc_audit_key *k, bool keyed, const struct sc_audit_row *r,
                   int64_t id, const char *body_sha, const char *prev, char hash[65],
                   char mac[65]);
/* A listing's row (17 cells, the 17th the actor) as JSON (store.h's sc_store_audit_list shape), or NULL. */
json_t *sc_audit_row_json(const struct sc_audit_cells *c);
/* Checks one row of the chain against w and steps w past it: 0, or SC_STORE_BROKEN. */
int sc_audit_row_check(const struct sc_audit_key *k, const struct sc_audit_cells *c,
                       struct sc_audit_walk *w, json_t **problem);
/* As sc_store_audit_verify, the walk starting at start (NULL: at the store's last archive
 * checkpoint, ops->walk_archived, or the genesis). */
enum sc_store_rc sc_audit_verify(const struct sc_audit_chain *c, const char *org,
                                 const json_t *cp, const struct sc_audit_walk *start,
                                 json_t **problem);
/* As sc_store_audit_checkpoint. */
json_t *sc_audit_checkpoint(const struct sc_audit_chain *c, const char *org, json_t **problem);

#endif
