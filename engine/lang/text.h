/* Unicode text: case mapping, case folding and normalisation of UTF-8 strings, through
 * utf8proc (the Unicode Character Database, not tables of our own).
 * Ownership: results are new malloc'd strings (NUL-terminated, length in *outlen) that
 * the caller frees. */
#ifndef SC_TEXT_H
#define SC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

enum sc_text_op {
    SC_TEXT_UPPER, /* Unicode simple uppercase mapping per character, form kept */
    SC_TEXT_LOWER, /* Unicode simple lowercase mapping per character, form kept */
    SC_TEXT_NFC,   /* Normalization Form C (UAX #15) */
    SC_TEXT_FOLD,  /* NFC of the Unicode case folding: equal for text equal but for case */
};

/* s[0..n) mapped by op, or NULL when s is not valid UTF-8 (or memory ran out). */
char *sc_text_map(const char *s, size_t n, enum sc_text_op op, size_t *outlen);

/* a and b equal after NFC (fold: and case folding). Invalid UTF-8 compares byte-wise. */
bool sc_text_equal(const char *a, size_t na, const char *b, size_t nb, bool fold);

/* Whether NUL-terminated UTF-8 s has no visible character: only separators (Zs, Zl, Zp),
 * format (Cf) and control (Cc) characters, Default_Ignorable_Code_Point (DerivedCoreProperties,
 * utf8proc's ignorable) and U+2800 BRAILLE PATTERN BLANK, per the Unicode Character Database
 * (utf8proc); "" is blank. Invalid UTF-8 counts as visible. For people's notes and reasons. */
bool sc_text_blank(const char *s);

/* The shortest text that reads back as exactly d (ECMAScript Number::toString): 0.1,
 * 1234567890123.45, integers without a point (3, -0 as 0), exponents from 1e21 and
 * below 1e-6 (1e+21, 1.5e-7). NaN and infinities as NaN, Infinity, -Infinity.
 * Writes at most 32 bytes including the NUL; returns the length. */
size_t sc_text_number(double d, char buf[32]);

/* v as JSON text with every real in the form above (jansson writes 0.1 as
 * 0.10000000000000001). indent 0: compact; else pretty-printed like jansson's
 * JSON_INDENT(indent). sort: object keys in byte order. NULL when memory ran out. */
struct json_t;
char *sc_text_json(const struct json_t *v, int indent, bool sort);

#endif
