/* Allocation wrappers and small string helpers shared by every unit.
 * Ownership: every pointer returned here is the caller's, freed with free(). */
#ifndef SC_UTIL_H
#define SC_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* All allocation of the loader and executor goes through these, so tests can make
 * the Nth call fail (sc_alloc_fail_after) and check that every path copes. */
void *sc_malloc(size_t n);
void *sc_calloc(size_t count, size_t n);
void *sc_realloc(void *p, size_t n);
char *sc_strdup(const char *s);
char *sc_strndup(const char *s, size_t n);
char *sc_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fail every allocation after n more succeed; n < 0 turns failure injection off. */
void sc_alloc_fail_after(long n);
/* True when an allocation was refused since the last sc_alloc_fail_after. */
bool sc_alloc_refused(void);
/* Routes jansson's allocations through sc_malloc; call once at start-up. */
void sc_alloc_install_json(void);

/* A growable byte buffer, always NUL-terminated; oom is set if a growth failed. */
struct sc_buf {
    char *data;
    size_t len, cap;
    bool oom;
};
void sc_buf_add(struct sc_buf *b, const char *s, size_t n);
void sc_buf_puts(struct sc_buf *b, const char *s);
void sc_buf_printf(struct sc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_buf_free(struct sc_buf *b);
/* Hands over the text ("" when nothing was added; the caller frees it), or NULL when a
 * growth failed (the buffer is then freed). */
char *sc_buf_take(struct sc_buf *b);

/* Reads a whole file; NULL with errno set on failure. max caps the size read. */
char *sc_read_file(const char *path, size_t max, size_t *len, bool *too_big);

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 if invalid: RFC 3629
 * section 4 (no overlong form, no surrogate, nothing past U+10FFFF), as jansson and libyaml
 * check it. */
size_t sc_utf8_seq(const unsigned char *s, size_t n);
/* Offset of the first byte of s that is not valid UTF-8, or n if all is valid. */
size_t sc_utf8_invalid(const char *s, size_t n);
/* How sc_utf8_fix reads text that is not UTF-8. */
enum sc_utf8_as {
    SC_UTF8_LATIN1,  /* every byte as the ISO-8859-1 character of its value */
    SC_UTF8_PERCENT, /* every byte past 0x7F as %XX (a URI reference, RFC 3986 2.1) */
};
/* Text from outside (a header, a query part, an error message quoting a body) made valid
 * UTF-8 for JSON, losing nothing: *out NULL when s[0..n) already is valid UTF-8 (nothing to
 * do), else a malloc'd NUL-terminated copy of the whole value read as `as` says (the caller
 * frees it, *outlen its length). ISO-8859-1 is how RFC 9110 5.5 lets a recipient read a
 * field value's obs-text, as Node.js and WSGI do; two values that differ stay different.
 * -1 when memory ran out. */
int sc_utf8_fix(const char *s, size_t n, enum sc_utf8_as as, char **out, size_t *outlen);
/* obj[key] = the text val[0..vn), both made UTF-8 by sc_utf8_fix (the key[0..kn) read as
 * ISO-8859-1, the value as `as` says); a key seen again turns into an array of every value,
 * in arrival order (a repeated header or query key). The value added (borrowed), or NULL
 * when memory ran out. */
struct json_t *sc_json_add_text(struct json_t *obj, const char *key, size_t kn, const char *val,
                                size_t vn, enum sc_utf8_as as);
/* s, UTF-8 text of characters up to U+00FF, rewritten in place as ISO-8859-1 bytes (one per
 * character): what an old server sends, for the test servers. Returns s. */
char *sc_latin1_bytes(char *s);
/* s (NUL-terminated) as a JSON string, read as ISO-8859-1 when it is not UTF-8
 * (sc_utf8_fix); NULL only when memory ran out. For messages that may quote what another
 * system sent. */
struct json_t *sc_json_text(const char *s);
/* The offset of the first control byte of a header value v[0..n) (NUL included: it would
 * cut the value short; a tab is allowed, RFC 9110 section 5.5), or -1. */
long sc_header_ctl(const char *v, size_t n);
/* Whether s is a header name: an RFC 9110 5.6.2 token (letters, digits, !#$%&'*+-.^_`|~). */
bool sc_header_name(const char *s);
/* Number of UTF-8 characters in the first n bytes of s. */
int sc_utf8_chars(const char *s, size_t n);

#endif
