/* The audit log's archive above the backends (store/sqlite_prune.c, store/pg_retain.c):
 * rows to a JSON-lines file with a checkpoint line (HMAC'd under the org's audit key), so
 * the chain is still proved across it; the store keeps its last checkpoint. The file and
 * its checks are the same for every backend; a backend gives its rows, its bounds, the
 * recording of a checkpoint and the deletion of archived rows (struct sc_audit_ops).
 * Errors as store/audit_chain.h. */
#ifndef SC_STORE_ARCHIVE_H
#define SC_STORE_ARCHIVE_H

#include "store/audit_chain.h"

/* w from the store's last archive checkpoint (sc_store_audit_archived), its HMAC checked
 * (unchanged without one): 0, SC_STORE_BROKEN with *problem, or -1 (error set). */
int sc_archive_walk(const struct sc_audit_chain *c, struct sc_audit_walk *w, json_t **problem);
/* As sc_store_audit_verify_archive. */
enum sc_store_rc sc_archive_verify(const struct sc_audit_chain *c, const char *org,
                                   const json_t *cp, const char *path, json_t **problem);
/* As sc_store_audit_archive. */
int64_t sc_archive_run(const struct sc_audit_chain *c, const char *org, int64_t before_ms,
                       int64_t max_rows, int limit, const char *path, json_t **problem);
/* The checkpoint row of the store's archive table (columns through, org, last_hash,
 * unkeyed, at, key_id, hmac, file) as sc_store_audit_archived answers it, or NULL. */
json_t *sc_archive_row_json(int64_t through, const char *org, const char *last_hash,
                            int64_t unkeyed, const char *at, const char *key_id,
                            const char *hmac, const char *file);

#endif
