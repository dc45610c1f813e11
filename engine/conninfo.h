/* The secrets a database address may carry: a password written in a libpq connection URI
 * (postgresql://USER:PASSWORD@HOST/DB, or its ?password=VALUE parameter) or in a libpq
 * key=value string (password=VALUE, password = 'VALUE'), found to refuse them and masked
 * ("***") wherever text that may quote one is shown: errors, logs, the source line under a
 * diagnostic's caret. The syntax is libpq's (PostgreSQL documentation, "Connection
 * Strings": userinfo, percent-encoded query keys and values, single-quoted values); the
 * keys are password and sslpassword. A secret reference (env:NAME, file:PATH) names a
 * secret without being one: it is neither refused nor masked, nor is a template ({{ }}).
 * Ownership: sc_conninfo_mask returns a new string (the caller frees it); the others
 * allocate nothing. */
#ifndef SC_CONNINFO_H
#define SC_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

/* What password an address writes. */
enum sc_conninfo_pw {
    SC_CONNINFO_PW_NONE,     /* none, or only secret references */
    SC_CONNINFO_PW_USERINFO, /* a URI's user:PASSWORD@ */
    SC_CONNINFO_PW_LITERAL,  /* a password= parameter (or keyword) that is not a reference */
    SC_CONNINFO_PW_EMPTY,    /* a password= with nothing, or a reference naming nothing (env:) */
};

/* What password addr writes, the worst kind first (USERINFO, LITERAL, EMPTY). A libpq URI
 * or key=value string is read by libpq's own parser (PQconninfoParse: percent-decoded, every
 * keyword, a dbname or options value that is itself a connection string read in turn); a
 * password with whitespace anywhere is a password, not a reference. Other text (not libpq's
 * syntax) is scanned as sc_conninfo_mask finds passwords. */
enum sc_conninfo_pw sc_conninfo_password(const char *addr);

/* A copy of text[0, len) with every written password replaced by "***": a URI's userinfo
 * password up to the last '@' before the host (whitespace included; a line cut before
 * the '@' up to its end), and every password= value (any key ending in password, its
 * characters and '=' percent-encoded or not) up to the next '&', the line's end or a quote
 * closing the text (a single-quoted value: its quotes); a scheme's "://" may be written
 * YAML's ":\/\/". References stay (env:, file:, {{ }}, [[ ]]).
 * col and span, when given, are a 1-based character column of text and a count of
 * characters from it (a caret's place and length): moved to the same place in the copy.
 * NULL when out of memory. */
char *sc_conninfo_mask(const char *text, size_t len, int *col, int *span);

/* As sc_conninfo_mask, for text a user wrote (a source line under a caret, an address
 * alone) rather than prose quoting it: a URI's password= value is a reference only when it
 * is one whole, up to its '&' (env:x y, "env:x%20y" are masked); in prose (our messages'
 * "password=env:NAME or ...") a reference ends at whitespace. */
char *sc_conninfo_mask_source(const char *text, size_t len, int *col, int *span);

/* Masks the NUL-ended s in place, within its buffer of n bytes (cut at n - 1 when the
 * masked text is longer, as "***" may be longer than a short password). */
void sc_conninfo_mask_buf(char *s, size_t n);

/* The percent-decoded value of uri's query parameter key (the last of that name, names
 * compared decoded and lowered) in *value, NULL when there is none; *rest, when given, gets
 * uri without every such parameter. New strings (the caller frees them); 0, or -1 when out
 * of memory (nothing to free). */
int sc_conninfo_take(const char *uri, const char *key, char **value, char **rest);

/* Whether s is a PostgreSQL address: its scheme postgresql:// or postgres://, compared
 * without case (RFC 3986 section 3.1); the one test of it everywhere. */
bool sc_conninfo_is_pg(const char *s);

/* Whether s starts with another scheme's SCHEME:// (RFC 3986 section 3.1: a letter, then
 * letters, digits, '+', '-', '.'): neither a file path nor a PostgreSQL address. */
bool sc_conninfo_foreign(const char *s);

/* Whether s is a PostgreSQL address libpq cannot parse (PQconninfoParse refuses it): its
 * keys then cannot be told, so it is refused and shown by sc_conninfo_mask_query. */
bool sc_conninfo_unreadable(const char *s);

/* A copy of the address s with its userinfo password and every query value masked
 * ("***"): how an address libpq could not parse is shown. NULL when out of memory. */
char *sc_conninfo_mask_query(const char *s);

#endif
