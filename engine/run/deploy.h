/* Versions made: a scenario loaded as deploy stores it, a stored document checked against
 * an org, a document stored as a new version, and a promote from one org's store into
 * another's. The one path of `scenarist deploy|rollback|import|restore|promote` and of
 * the management API's deploy, rollback and promote (DESIGN.md section 9): the callers
 * only say what happened (the CLI prints, the API answers JSON). Diagnostics go to the
 * caller's sc_diags (file:line:col, as the validator gives them); json_t as module.h. */
#ifndef SC_DEPLOY_H
#define SC_DEPLOY_H

#include "lang/diag.h"
#include "lang/lua.h"
#include "model/org.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

struct sc_validator;

/* Whether a stored document (a version, an export, a promote's source) loads against org
 * as the daemon would load it: modules, templates, connections, write access, its
 * transforms. label names it in diagnostics ("NAME v3"). Every problem is added to d,
 * a Lua or transforms problem as a whole-document error on label. */
bool sc_deploy_valid(json_t *doc, const char *label, const struct sc_org *org,
                     struct sc_diags *d);

/* A scenario as deploy stores it: the file at path (text NULL), or text of len bytes
 * named path in diagnostics, loaded against org with lua and the shared validator v (NULL:
 * on its own); its document with the transform files its steps looked up (the disk's, as
 * a draft runs). New, or NULL with every problem in d. */
json_t *sc_deploy_load(const char *path, const char *text, size_t len, const struct sc_org *org,
                       struct sc_lua *lua, struct sc_validator *v, struct sc_diags *d);

/* What storing a version did. */
struct sc_deploy_result {
    int number;           /* the version now current */
    bool changed;         /* false: the document was the current one's, nothing added */
    char checksum[72];    /* "sha256:..." */
    char note[600];       /* the transform files changed since the previous version, or "" */
};

/* Stores doc (its "name") as a new version with message (NULL: none) and origin ("deploy",
 * "rollback", "import", "restore", "promote"), in one transaction with its audit row naming
 * the person by (sc_audit_person; org the org's name). Nothing is stored when the audit row
 * cannot be written (no audit key). 0, or -1 with sc_store_error(st). */
int sc_deploy_store(struct sc_store *st, json_t *doc, const char *message, const char *origin,
                    const char *org, const char *by, struct sc_deploy_result *r);

/* A promote's outcome. */
enum sc_deploy_rc {
    SC_DEPLOY_OK = 0,
    SC_DEPLOY_NONE,       /* the source has no such version: err says which */
    SC_DEPLOY_INVALID,    /* it does not validate against the destination: d says why */
    SC_DEPLOY_ERR = -1    /* a store failed: err says which */
};

/* `promote NAME --from SRC --to DST`: version (0: the current one) of name in src_st (org
 * src) checked against dst and stored in dst_st, origin "promote", message "promoted from
 * SRC vN" followed by suffix (NULL: nothing; the API adds " by USER"); by is the person
 * its audit row names. err (errlen bytes) is the caller's. */
enum sc_deploy_rc sc_deploy_promote(struct sc_store *src_st, const struct sc_org *src,
                                    struct sc_store *dst_st, const struct sc_org *dst,
                                    const char *name, int version, const char *suffix,
                                    const char *by, struct sc_diags *d,
                                    struct sc_deploy_result *r, char *err, size_t errlen);

#endif
