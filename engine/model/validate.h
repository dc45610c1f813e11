/* The validator: checks scenario files (structure, module parameters, templates,
 * step references, connections and write access against an org) and org files.
 * Ownership: a validator borrows the org and the diagnostics it was given; every
 * problem found is added to those diagnostics. */
#ifndef SC_VALIDATE_H
#define SC_VALIDATE_H

#include "lang/diag.h"
#include "module.h"
#include "model/def.h"
#include "model/yaml.h"

struct sc_org;
struct sc_validator;

/* org may be NULL: then connection and webhook-auth names are not checked. */
struct sc_validator *sc_validator_new(const struct sc_org *org, struct sc_diags *d);
void sc_validator_free(struct sc_validator *v);

/* Validates one scenario document; problems go to the validator's diagnostics. */
void sc_validate_doc(struct sc_validator *v, const struct sc_doc *doc);
/* The same walk, filling the typed definition (def.h) as it goes: a new def (sc_def_free)
 * borrowing from doc, or NULL when the document has errors (they are in the diagnostics)
 * or memory ran out (said there too). */
struct sc_def *sc_validate_def(struct sc_validator *v, const struct sc_doc *doc);
/* Loads and validates one file. */
void sc_validate_file(struct sc_validator *v, const char *path);

/* Checks a configuration document (an org file) against a field table, then calls
 * check (may be NULL) for what the table cannot express; paths are from the root. */
void sc_validate_config(const struct sc_doc *doc, const struct sc_param *fields,
                        const char *what, void (*check)(struct sc_check *, const json_t *),
                        struct sc_diags *d);

/* Tables of the scenario format, for the generated reference. */
extern const struct sc_param sc_scenario_fields[];
extern const struct sc_param sc_step_fields[];
extern const struct sc_param sc_settings_fields[];
extern const struct sc_param sc_webhook_fields[];
extern const struct sc_param sc_schedule_fields[];
extern const struct sc_param sc_poll_fields[];
extern const struct sc_param sc_manual_fields[];
extern const struct sc_param sc_break_fields[];
extern const struct sc_param sc_resume_fields[];

#endif
