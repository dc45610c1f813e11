/* The org file: its field tables, its checks beyond them, and loading it into the typed
 * org (org.h). Apart from org.c so that the validator, which reads typed orgs, and the
 * org file, which the validator checks, do not include each other. */
#ifndef SC_ORG_LOAD_H
#define SC_ORG_LOAD_H

#include "lang/diag.h"
#include "module.h"
#include "model/org.h"

/* NAME means orgs/NAME.yaml under the current directory; anything with a '/' or ending
 * in .yaml is a path. A new org (sc_org_free) with its connections resolved and its
 * secrets read once (a secret that cannot be read keeps why, for the requests through
 * it); NULL (with diagnostics) when the file does not load or validate. */
struct sc_org *sc_org_load(const char *name_or_path, struct sc_diags *d);

extern const struct sc_param sc_org_fields[];
/* targets: their field table, the checks beyond it (file:line:col errors in c), and
 * resolving them into org->targets (0, or -1 out of memory). org_targets.c. */
extern const struct sc_param sc_org_target_fields[];
void sc_org_targets_check(struct sc_check *c, const json_t *root);
int sc_org_targets_resolve(struct sc_org *org);
extern const struct sc_param sc_matrix_fields[];

#endif
