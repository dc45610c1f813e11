/* Reconciliation of two full lists by key (the `reconcile` module's engine): one side is
 * indexed compactly (each record's key and its declared fields, as tagged bytes in an
 * arena: never whole JSON objects), the other streamed record by record, so two lists of
 * 1,000,000 records fit in a few hundred MB whatever the records hold. Field rules are
 * lang/rules.h's. Keys compare as text: a string key as is, an integer key in decimal
 * (1001 and "1001" are one key); a record without a key (absent, null, "") or with a key
 * of another type is a data error naming the side and the record's position.
 *
 * Drifts (new objects, "left"/"right" hold the declared fields by name, absent ones left
 * out): {kind: "only-left", key, left}, {kind: "only-right", key, right},
 * {kind: "changed", key, left, right, diff: [{field, left, right, rule}]} and
 * {kind: "duplicate", key, side, count}: a key found more than once on a side is never
 * paired (which record would be meant is unknown), so it is reported once per side, with
 * how many records carry it, and is neither only-* nor changed. Drifts are ordered by key
 * (bytewise), then kind. Ownership as module.h. */
#ifndef SC_RECON_H
#define SC_RECON_H

#include "lang/rules.h"
#include "module.h"

#include <stddef.h>
#include <stdint.h>

/* A source of records, one at a time: the seam where step items, a paginated request or
 * a generator plug in. next: 1 with *rec borrowed until the following call, 0 at the end,
 * -1 failed (err filled, status says how: data, connection, ...). */
struct sc_recon_source {
    int (*next)(struct sc_recon_source *src, const json_t **rec, enum sc_status *status,
                char *err, size_t errlen);
};

/* Records of a JSON array, in order (arr borrowed). */
struct sc_recon_items {
    struct sc_recon_source src;
    const json_t *arr;
    size_t at;
};
void sc_recon_items_init(struct sc_recon_items *it, const json_t *arr);

struct sc_recon_spec {
    const struct sc_rules_field *fields;
    size_t nfields;
    const char *left_key, *right_key; /* dotted paths */
    bool index_right;                 /* index the right side, stream the left (default: left) */
    bool confidential;                /* errors name a record by position only, never its data */
    size_t max_drifts;                /* more drifts fail the run (SC_ERR_LIMIT); 0: no bound */
};

struct sc_recon_counts {
    int64_t left, right, same, changed, only_left, only_right, duplicate;
};

/* Reads the indexed side to its end, then streams the other. SC_OK with *drifts (a new
 * array, as above) and *counts; else the source's failure, SC_ERR_DATA for a bad key, or
 * SC_ERR_LIMIT past max_drifts, with err filled and *drifts NULL. */
enum sc_status sc_recon_run(const struct sc_recon_spec *spec, struct sc_recon_source *left,
                            struct sc_recon_source *right, json_t **drifts,
                            struct sc_recon_counts *counts, char *err, size_t errlen);

/* {left, right, same, changed, only_left, only_right, duplicate} (new). */
json_t *sc_recon_counts_json(const struct sc_recon_counts *c);

#endif
