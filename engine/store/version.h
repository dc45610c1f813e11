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
 * "+ steps.notify (notify)", "- steps.old", "~ steps.upsert.with.path: A -> B"; a
 * transform file "+ transforms/F.lua (sha256:...)", "- transforms/F.lua", or
 * "~ transforms/F.lua: sha256:A... -> sha256:B..." followed, in the same entry, by its
 * changed lines ("\n  - 13: old", "\n  + 13: new"). */
json_t *sc_version_diff(const json_t *a, const json_t *b);

/* Transforms: a version's document holds, under "transforms", the Lua files its steps
 * use, {"FILE.lua": {"checksum": "sha256:<hex of source>", "source": text}}; a
 * scenario that uses none has no such key (its document is as before). */

/* What to store from sc_lua_used's {"FILE.lua": text}, checksums added, names in
 * order. NULL with err: a text that is not UTF-8, a name that is not FILE.lua. */
json_t *sc_version_transforms(const json_t *used, char *err, size_t errlen);
/* The document a version stores: a copy of scenario plus transforms when there are any. */
json_t *sc_version_document(const json_t *scenario, const json_t *transforms);
/* The scenario of a stored document: a copy without its transforms. */
json_t *sc_version_scenario(const json_t *doc);
/* Checks a document's transforms: objects named FILE.lua whose checksum is their
 * source's. -1 with err naming the file. */
int sc_version_transforms_check(const json_t *doc, char *err, size_t errlen);
/* What happened to the transforms from document a to b, in out (n bytes):
 * "transform hr.lua changed; transforms x.lua, y.lua added; transform z.lua no longer
 * used", or "". */
void sc_version_transforms_note(const json_t *a, const json_t *b, char *out, size_t n);

/* Writes a stored version's export document to path (atomically). -1 with err. */
int sc_version_write(const json_t *version, const char *path, char *err, size_t errlen);

/* Writes every scenario's current version to DIR/NAME/vN.json, skipping files already
 * there with the same checksum; counts what it wrote and left. -1 with err. */
struct sc_store;
int sc_backup_run(struct sc_store *st, const char *dir, int *written, int *unchanged, char *err,
                  size_t errlen);

#endif
