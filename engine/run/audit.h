/* The audit log's key and its checkpoints, between the org file (audit: {key,
 * unkeyed_rows, checkpoint}) and the store: keying a store's log, and sending a checkpoint
 * of its head out of the database (a file written atomically, a folder, a connection).
 * Ownership: every argument is borrowed; nothing returned needs freeing. */
#ifndef SC_AUDIT_H
#define SC_AUDIT_H

#include "run/http.h"
#include "model/org.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

/* The org's audit key reference (audit.key), or NULL when it has none. */
const char *sc_audit_key_ref(const struct sc_org *org);
/* Gives st the org's audit key and accepted unkeyed rows (sc_store_audit_key). */
void sc_audit_setup(struct sc_store *st, const struct sc_org *org);
/* Whether org has an audit key; false with err saying how to give one (verify and
 * checkpoint need it: without one the chain proves nothing). what: "verify", "checkpoint". */
bool sc_audit_org_keyed(const struct sc_org *org, const char *what, char *err, size_t errlen);
/* `scenarist audit checkpoint`: the head of st's log ({org, at, count, last_hash, ...}, as
 * sc_store_audit_checkpoint), new; NULL with err, *broken true when the log is not intact
 * (no checkpoint is taken of a broken chain), false when the store failed. */
json_t *sc_audit_checkpoint_take(struct sc_store *st, const struct sc_org *org, bool *broken,
                                 char *err, size_t errlen);
/* A person's action (a hold approved or rejected, an incomplete execution retried,
 * resolved or discarded, a queue item resolved, a version deployed or rolled back). */
struct sc_audit_act {
    const char *org;      /* the org's name */
    const char *action;   /* approve, reject, retry, resolve, discard, deploy, rollback, ... */
    const char *object;   /* what it acted on: "holds/12", "incomplete/ID", "queue-items/5",
                             "scenarios/NAME/versions/3" */
    const char *by;       /* the person: the API user's name, the CLI's OS user */
    const char *scenario, *version, *execution, *step; /* what it concerns, or NULL */
    const char *note;     /* the reason or note given, or NULL */
};
/* Appends the action to the audit log, chained as every row (sc_store_audit_add): method
 * the action, sent_to "scenarist:" + object (so it is told from a write, which goes to a
 * URL; the weekly report counts writes only), no sent_from or status, outcome "done",
 * by the person, body_sha256 the note's SHA-256 (the note itself stays with the action's
 * own record). Called inside the transaction that records the action, so that both or
 * neither commit. The row's id, or -1 (sc_store_error says why: the audit key cannot be
 * read, the store failed). */
int64_t sc_audit_person(struct sc_store *st, const struct sc_audit_act *a);
/* Writes the checkpoint to path through a temporary file (mode 0644): 0, or -1 with err. */
int sc_audit_write(const json_t *checkpoint, const char *path, char *err, size_t errlen);
/* POSTs the checkpoint as JSON to base URL + path of the org's connection, with its
 * auth, after the checks of every write (sc_org_write_target: a read-only connection,
 * one covering the target, a path leaving the base are refused, nothing sent). Not
 * audited, refusals included: the checkpoint describes the log, a row would move its
 * head; a refusal is the error (the CLI's exit status, the daemon's log line). 0 when
 * answered 2xx, else -1 with err naming the URL and the answer, or the refusal. */
int sc_audit_post(struct sc_http *http, const struct sc_org *org, const char *connection,
                  const char *path, const json_t *checkpoint, char *err, size_t errlen);
/* The daemon's scheduled checkpoint (audit.checkpoint): takes one and sends it to the
 * folder (DIR/checkpoint-YYYYMMDDTHHMMSS.mmmZ.json) and/or the connection it names.
 * 0, or -1 with err (the log is not intact, no key, a failed write or post). */
int sc_audit_checkpoint_run(struct sc_store *st, const struct sc_org *org, struct sc_http *http,
                            char *err, size_t errlen);

#endif
