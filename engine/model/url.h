/* URLs of outbound requests: a connection's base URL joined with a step's path and
 * query, built with libcurl's URL API (curl_url) and compared in the normal form of
 * RFC 3986 section 6: scheme and host lower-cased (a host's trailing dot dropped), the
 * port explicit (80, 443 by default), percent-escapes of unreserved characters decoded
 * and the others upper-cased, bytes a path may not hold escaped, dot segments removed
 * (5.2.4, a segment counting as a dot segment when it is one once its ';params' are set
 * aside, as Tomcat and Spring route it, or its dots spelled overlong or full-width) and
 * repeated slashes merged. The read-only check compares these forms, so
 * every spelling of one target is judged alike.
 * Ownership: an sc_url owns its strings until sc_url_free; inputs are borrowed. */
#ifndef SC_URL_H
#define SC_URL_H

#include "module.h"
#include "util.h"

#include <stdbool.h>
#include <jansson.h>

/* What normalising a path met (bits of sc_url.flags). */
enum {
    SC_URL_SLASH = 1 << 0,  /* %2F, %5C or a '\': a server may take it for a '/' */
    SC_URL_CLIMB = 1 << 1,  /* a ".." went above the root */
    SC_URL_ESCAPE = 1 << 2, /* a '%' not followed by two hex digits */
    SC_URL_NUL = 1 << 3,    /* %00 */
    SC_URL_CTRL = 1 << 4,   /* a control character, raw or escaped (%00-%1F, %7F): a tab
                             * or line break a server may trim or split on */
};

struct sc_url {
    char *scheme; /* lower case: http or https */
    char *host;   /* lower case, no trailing dot */
    long port;
    char *path;   /* normalised, starts with '/' */
    char *query;  /* normalised, without '?'; NULL when there is none */
    char *full;   /* the URL sent: the base as written, this path and query */
    unsigned flags;
};

/* Parses an absolute http(s) URL (a connection's base_url). 0, or -1 with err filled. */
int sc_url_parse(const char *url, struct sc_url *u, char *err, size_t errlen);

/* The target of a request: base's path + "/" + path (a rendered template, which may
 * hold a literal "?query"; "" for the base itself), then each pair of query (an object
 * or NULL: strings as they are, numbers and booleans as JSON text, arrays as repeated
 * keys, null left out), keys and values percent-encoded. 0, or -1 with err filled
 * (a '#', out of memory). t->flags says what the path met. */
int sc_url_join(const struct sc_url *base, const char *path, json_t *query, struct sc_url *t,
                char *err, size_t errlen);

void sc_url_free(struct sc_url *u);

/* True when base covers t: same scheme, host and port, and base's path segments begin
 * t's path (segments compared without case, a trailing ';params', '.' or space aside, as
 * lenient servers route them). */
bool sc_url_covers(const struct sc_url *base, const struct sc_url *t);

/* True when t's path stays under base's exactly (same segments, same case): a path
 * may not leave its connection's base. */
bool sc_url_under(const struct sc_url *base, const struct sc_url *t);

/* True when the query (normalised, as in sc_url) has the key (a form-decoded name). */
bool sc_url_query_has(const char *query, const char *key);

/* What the ESCAPE flags of a path mean, for a message: "%00 (a NUL byte)", "a control
 * character (...)" or "a '%' that starts no escape (%XX)". Static text. */
const char *sc_url_escape_why(unsigned flags);

/* Appends the normal form of the path p[0..n) to out (see above), or'ing what it met
 * into *flags. */
void sc_url_norm_path(const char *p, size_t n, struct sc_buf *out, unsigned *flags);

/* How a {{ }} value is written into an http.request path (an sc_tmpl encoder): as ONE
 * path segment, percent-encoded with curl_easy_escape (only unreserved characters stay),
 * so '/', '?', '#' and spaces in data cannot change the target; after a literal '?' as
 * a query value. A list value is the deliberate way to insert several segments: each
 * element one segment, joined by '/'. A value that would start an empty segment, or be
 * "." or "..", is refused (SC_ERR_DATA): it would reach another endpoint. */
enum sc_status sc_url_path_value(struct sc_buf *out, const json_t *value, char *err,
                                 size_t errlen);

/* What a request path as sent (before its one percent-decoding, as RFC 3986 reads it)
 * holds that no route can match, the first found in this order: */
enum sc_url_flaw_kind {
    SC_URL_FLAW_NONE,
    SC_URL_FLAW_ESCAPE, /* a '%' without two hexadecimal digits (2.1): refused, 400 */
    SC_URL_FLAW_NUL,    /* %00 (a NUL cuts text short): refused, 400 */
    SC_URL_FLAW_DOT,    /* a . or .. segment, written or %2E-encoded (3.3, 5.2.4; not
                         * resolved): refused, 400 */
    SC_URL_FLAW_SLASH,  /* %2F in any case: a '/' inside a segment (2.2, data, not a
                         * delimiter), so no route has the path: 404 */
    SC_URL_FLAW_ENCODED, /* any other %XX: taken, and decoded before matching, so a route
                          * written with it never matches it as written */
};

struct sc_url_flaw {
    enum sc_url_flaw_kind kind;
    size_t off, len; /* the offending part of the path: the escape, or the segment */
};

/* The one rule both listeners (webhooks, the admin API: sc_httpd_path_verdict) judge a
 * request's path by and the validator judges a webhook path by: the first flaw of
 * path[0..n) (the path without its query) into *f; returns f->kind. */
enum sc_url_flaw_kind sc_url_path_flaw(const char *path, size_t n, struct sc_url_flaw *f);

#endif
