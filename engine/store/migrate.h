/* Moving an org's store from its SQLite file to a PostgreSQL database (`scenarist store
 * migrate`): every row as it is (ids, times, sealed values, the audit chain with its
 * hashes and head), so the target verifies with the same audit key and opens sealed data
 * with the same store key. */
#ifndef SC_STORE_MIGRATE_H
#define SC_STORE_MIGRATE_H

#include <jansson.h>

/* Copies the SQLite store at from (migrated to this build's schema first) into the empty
 * PostgreSQL store at to (a postgresql:// address; created and migrated), in one
 * transaction: all or nothing. key_ref: the store key reference the target is opened with
 * (as sc_store_open). Returns a new object {table: rows copied}, or NULL with err set
 * (the target not empty, a store that does not open, a failed copy). */
json_t *sc_store_migrate(const char *from, const char *to, const char *key_ref, char *err,
                         size_t errlen);

#endif
