/* Secret references in text: what {{ secret('NAME') }} renders to in a step's template
 * (a marker "[[secret:NAME:NONCE]]", NONCE 16 hex digits drawn once per process, so data
 * from outside cannot forge one), and the same reference written literally in an org
 * file's connection headers and query. The request builder (run/request.c) puts the
 * value in place only in the headers and query it sends; everything recorded (step
 * records, the audit URL, errors) keeps the marker or shows [secret:NAME].
 * Ownership: no allocation but the caller's buffer. */
#ifndef SC_SECRET_H
#define SC_SECRET_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>

#define SC_SECRET_NAME_MAX 64

/* True when name is a secret's name: 1 to 64 of [A-Za-z0-9_-]. */
bool sc_secret_name_ok(const char *name, size_t n);

/* Appends the marker of secret name to b (the name is not checked here). */
void sc_secret_marker(struct sc_buf *b, const char *name, size_t n);

/* The next reference in s[0..len) from s: a marker, and with literal also the org file's
 * spelling {{ secret('NAME') }} (either quote, spaces allowed inside the braces). true
 * with [*start, *end) its span and name filled (NUL-ended), false when there is none. A
 * malformed literal reference ("{{ secret(" not closed as above, or a bad name) sets
 * *bad (when given) to its offset and returns false. */
bool sc_secret_find(const char *s, size_t len, bool literal, size_t *start, size_t *end,
                    char name[SC_SECRET_NAME_MAX + 1], long *bad);

#endif
