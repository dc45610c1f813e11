/* Diagnostics: "file:line:col: error: message", the source line, a caret.
 * Ownership: a sc_diags owns every string in it; everything passed in is copied. */
#ifndef SC_DIAG_H
#define SC_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

/* A source text being diagnosed; borrowed, never freed by diag functions. */
struct sc_src {
    const char *name;
    const char *text;
    size_t len;
};

enum sc_sev { SC_SEV_ERROR, SC_SEV_WARNING };

struct sc_diag {
    enum sc_sev sev;
    char *file;
    int line, col, len; /* 1-based; line 0 means "the whole file"; len 0 = one caret */
    char *msg;
    char *src_line;     /* copy of the source line, NULL when there is none */
    size_t seq;         /* insertion order, the tie-breaker when sorting */
};

/* A secret written where a reference belongs: never shown in any quoted line. */
struct sc_diag_secret {
    char *file;
    int line, col, len; /* as struct sc_diag's */
};

struct sc_diags {
    struct sc_diag *v;
    size_t n, cap;
    size_t errors, warnings;
    struct sc_diag_secret *secrets; /* sc_diag_mask_last's */
    size_t nsecrets;
};

void sc_diags_init(struct sc_diags *d);
void sc_diags_free(struct sc_diags *d);

void sc_diag_add(struct sc_diags *d, enum sc_sev sev, const struct sc_src *src,
                 int line, int col, int len, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void sc_diag_vadd(struct sc_diags *d, enum sc_sev sev, const struct sc_src *src,
                  int line, int col, int len, const char *fmt, va_list ap);

/* The last diagnostic added points at a secret written where a reference belongs: every
 * diagnostic that quotes its line shows "***" in its place (the carets moved along). */
void sc_diag_mask_last(struct sc_diags *d);

/* Sorts by file, line, column (stable), then prints each with its source line. */
void sc_diags_print(struct sc_diags *d, FILE *out);
/* New reference: a JSON array of {file, line, column, severity, message}. */
json_t *sc_diags_json(struct sc_diags *d);

/* The candidate nearest to word by edit distance, else one that word begins with (or that
 * begins with word, 3 characters at least), or NULL if none is close. */
const char *sc_suggest(const char *word, const char *const *cands, size_t n);

/* Byte offset of (line, col) in src (both 1-based, col in characters), or -1. */
long sc_src_offset(const struct sc_src *src, int line, int col);
/* Line and column (1-based, col in characters) of a byte offset. */
void sc_src_linecol(const struct sc_src *src, size_t off, int *line, int *col);

#endif
