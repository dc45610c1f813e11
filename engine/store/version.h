/* Scenario versions as documents: the canonical JSON a checksum is taken over, the
 * export format, reading an import back, and a step-by-step diff. Ownership: json_t
 * results are new references; strings returned are the caller's to free. */
#ifndef SC_VERSION_H
#define SC_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define SC_EXPORT_FORMAT "scenarist.scenario/1"

/* Compact JSON with sorted keys: the bytes the checksum is taken over. */
char *sc_version_canonical(const json_t *doc);
/* "sha256:<64 hex digits>" of the canonical form (out: 72 bytes). -1 out of memory. */
int sc_version_checksum(const json_t *doc, char out[72]);
/* The scenario as text a scenario loads from (indented JSON, which YAML reads). */
char *sc_version_text(const json_t *doc);

/* The export document of a stored version ({scenario, number, created_at, message?,
 * checksum, document}, as sc_store_version_get gives it). */
json_t *sc_version_export(const json_t *version);
/* Reads an export document: JSON, the format version, the checksum over the scenario,
 * the name inside agreeing with the one outside. NULL with err when any is wrong. */
json_t *sc_version_read(const char *text, size_t len, char *err, size_t errlen);

/* True for a scenario name that can name a file: a-z, 0-9, - and _, 1 to 64 bytes. */
bool sc_version_name_ok(const char *name);

/* What changed from a to b, one line per change, steps matched by id:
 * "+ steps.notify (notify)", "- steps.old", "~ steps.upsert.with.path: A -> B". */
json_t *sc_version_diff(const json_t *a, const json_t *b);

/* Writes a stored version's export document to path (atomically). -1 with err. */
int sc_version_write(const json_t *version, const char *path, char *err, size_t errlen);

/* Writes every scenario's current version to DIR/NAME/vN.json, skipping files already
 * there with the same checksum; counts what it wrote and left. -1 with err. */
struct sc_store;
int sc_backup_run(struct sc_store *st, const char *dir, int *written, int *unchanged, char *err,
                  size_t errlen);

#endif
