/* The org's retention (retention: in the org file) applied to its store: one pass of
 * pruning (executions by status, closed queue items, shadowed writes) in batches, the
 * audit log's archive, and the space given back after each batch. The daemon runs a pass
 * on its schedule; `scenarist prune` runs one by hand. Ownership: arguments borrowed. */
#ifndef SC_RETENTION_H
#define SC_RETENTION_H

#include "model/org.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

/* Free pages given back to the file system after each batch (4 MiB of 4 KiB pages). */
#define SC_RETENTION_VACUUM_PAGES 1024

/* One pass at the engine's clock's now: every rule of org->retention, oldest rows first,
 * at most max_batches transactions of org->retention.batch rows each (max_batches < 1:
 * no bound), then the audit rows older than archive_after (at most that many rows) to
 * DIR/audit-ORG.jsonl. dry_run: removes nothing, counts everything due. Adds into counts
 * what sc_store_prune counts, and "audit": {"archived": n, "file": PATH}. Returns 0 when
 * everything due is done, 1 when the bound stopped it first (run another pass soon), -1
 * with err (the audit log not chaining included: nothing of the archive deleted). */
int sc_retention_run(struct sc_store *st, const struct sc_org *org, bool dry_run,
                     int max_batches, json_t *counts, char *err, size_t errlen);
/* The archive file of org: DIR/audit-ORG.jsonl (new string), or NULL without one. */
char *sc_retention_archive_path(const struct sc_org *org);

#endif
