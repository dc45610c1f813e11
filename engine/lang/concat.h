/* Lua's ".." turns a float into text with %.14g inside the VM, where no library
 * function can intervene (1234567890123.45 .. '' gave "1234567890123.4"). This unit
 * rewrites each operand of ".." in an expression into a call of the sandbox's text
 * conversion, following the operator precedence of the Lua 5.4 manual, section 3.4.8
 * ("..": right associative, below the arithmetic operators, above comparison). */
#ifndef SC_CONCAT_H
#define SC_CONCAT_H

#include <stddef.h>

/* The name of the conversion the rewritten code calls: fn(value, source) returns the
 * value unchanged unless it is a float (then its shortest round-trip text). */
#define SC_CONCAT_FN "__sc_cat"

/* Returns a new string (free()) in which every operand X of ".." in code (n bytes,
 * Lua source) is SC_CONCAT_FN((X), "X"); NULL when code has no ".." or on out of memory
 * (the caller then keeps code as it is). Strings, long strings and comments are left
 * alone; code that does not parse is rewritten harmlessly or not at all. */
char *sc_concat_rewrite(const char *code, size_t n);

#endif
