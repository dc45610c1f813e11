/* Organisations: a deployment's connections, inbound webhook secrets, settings and
 * store location, from orgs/NAME.yaml. Ownership: sc_org_load returns a new org
 * freed by sc_org_free; every json_t it hands out is borrowed from the org. */
#ifndef SC_ORG_H
#define SC_ORG_H

#include "lang/diag.h"
#include "module.h"
#include "model/url.h"

#include <stdbool.h>
#include <jansson.h>

struct sc_doc;

struct sc_org {
    struct sc_doc *doc;
    const char *name;    /* borrowed from doc */
    json_t *connections; /* name -> {base_url, access, auth} */
    json_t *webhooks;    /* auth name -> {scheme, secret} */
    struct sc_doc *matrix_doc;
    json_t *matrix;      /* system-of-record.yaml beside the org file: {systems, domains}, or NULL */
    struct sc_org_base *bases; /* each connection's base URL in normal form, parsed once */
    size_t nbases;
};

struct sc_org_base {
    const char *name; /* borrowed from doc */
    struct sc_url url;
    bool read_only;
};

/* NAME means orgs/NAME.yaml under the current directory; anything with a '/' or
 * ending in .yaml is a path. NULL (with diagnostics) when it does not load or validate. */
struct sc_org *sc_org_load(const char *name_or_path, struct sc_diags *d);
void sc_org_free(struct sc_org *org);

json_t *sc_org_connection(const struct sc_org *org, const char *name);
/* Borrowed: the connection's base URL in normal form (url.h), or NULL when unknown. */
const struct sc_url *sc_org_base(const struct sc_org *org, const char *name);
bool sc_org_read_only(const struct sc_org *org, const char *connection);
/* The read-only connection a request through connection `used` to the target t reaches,
 * or NULL: `used` itself when it is read-only, else any read-only connection whose base
 * URL covers t (sc_url_covers, on the normal forms), unless `used` is a read-write
 * connection at or under that same base (the org declared writes there). Borrowed name. */
const char *sc_org_read_only_target(const struct sc_org *org, const char *used,
                                    const struct sc_url *t);

/* What stops a request through connection `conn` (base: its base URL) to the target t,
 * in order: a path that climbs above the base (CLIMB), %00, a control character or a stray
 * '%' (ESCAPE, sc_url_escape_why), a
 * write or method override whose path holds an encoded '/' or '\' (SLASH), a write reaching a read-only
 * connection (READ_ONLY, sc_org_read_only_target), a method-override header (or a
 * _method query key) sent to a read-only target (OVERRIDE). *ro: the read-only
 * connection, *override: the header's name as the step wrote it (both borrowed). */
enum sc_refusal {
    SC_REFUSE_NONE,
    SC_REFUSE_CLIMB,
    SC_REFUSE_ESCAPE,
    SC_REFUSE_SLASH,
    SC_REFUSE_READ_ONLY,
    SC_REFUSE_OVERRIDE,
};
enum sc_refusal sc_org_check_target(const struct sc_org *org, const char *conn, bool write,
                                    const json_t *headers, const struct sc_url *base,
                                    const struct sc_url *t, const char **ro,
                                    const char **override);

/* The target of a write of the engine's own (an audit checkpoint's POST) through
 * connection conn to path (NULL or "" for the base itself), judged as a step's write is
 * (sc_org_check_target): 0 with t filled (normal form and the URL to send; sc_url_free),
 * or -1 with why filled in the user's terms (nothing to free). */
int sc_org_write_target(const struct sc_org *org, const char *conn, const char *path,
                        struct sc_url *t, char *why, size_t n);

/* Resolves a secret reference (env:NAME or file:PATH, a trailing newline dropped).
 * New string (free()), or NULL with err filled; err never holds the secret. */
char *sc_org_secret(const char *ref, char *err, size_t errlen);

extern const struct sc_param sc_org_fields[];
extern const struct sc_param sc_matrix_fields[];

#endif
