/* Field rules: when two JSON values count as the same field, for the `compare` and
 * `reconcile` modules (one table, one meaning): exact, number, date, ci, ignore. Each
 * field is {name, left, right?, rule, tolerance}: a dotted path in each record.
 * Ownership as module.h; nothing here allocates but sc_bind's callers' structs. */
#ifndef SC_RULES_H
#define SC_RULES_H

#include "module.h"

#include <stdbool.h>

enum sc_rule { SC_RULE_EXACT, SC_RULE_NUMBER, SC_RULE_DATE, SC_RULE_CI, SC_RULE_IGNORE };

/* "exact", "number", "date", "ci", "ignore", NULL: indexed by enum sc_rule. */
extern const char *const sc_rules_names[];

/* One field as a step declares it (bound by sc_bind from sc_rules_field_params). */
struct sc_rules_field {
    const char *name, *left, *right, *rule;
    double tolerance;
};
/* The parameter table of a field ({0}-terminated), with offsets into the struct above. */
extern const struct sc_param sc_rules_field_params[];

/* Checks the fields list at param (a step's "fields") as validate does: every name, left
 * and right given is not empty, no name twice (a diff names each field once), tolerance
 * not negative and only with rule number. Reports through sc_check_error. */
void sc_rules_check(struct sc_check *c, const char *param, const json_t *fields);

/* The rule named (sc_rules_names), SC_RULE_EXACT for NULL; -1 for an unknown name. */
int sc_rules_parse(const char *name);

/* Borrowed: the value at a dotted path ("pay_rate.amount") of v, NULL when absent (a
 * segment longer than 127 bytes is absent). */
json_t *sc_rules_at(const json_t *v, const char *path);

/* Whether a and b (NULL: absent) are the same under rule. Absent and null are the same
 * as each other and as nothing else. exact: the same JSON at every depth, numbers by value
 * (100 is 100.0, integers past 2^53 exactly), texts after Unicode NFC (UAX #15); number:
 * numbers or numeric texts within tolerance; date: the same first 10 characters
 * (the calendar day of an ISO 8601 date or time); ci: texts equal after NFC, Unicode case
 * folding and outer white space aside; ignore: always the same. */
bool sc_rules_same(const json_t *a, const json_t *b, enum sc_rule rule, double tolerance);

#endif
