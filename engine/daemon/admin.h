/* The management API, /api/v1 on its own listener (--admin-listen HOST:PORT): JSON over
 * HTTP for the org's users: (bearer tokens, RFC 6750), described by /api/v1/openapi.json
 * (OpenAPI 3.1). The webhook listener never serves it. */
#ifndef SC_ADMIN_H
#define SC_ADMIN_H

#include "daemon/daemon.h"

#include <stddef.h>

/* Starts the listener on listen ("HOST:PORT", numeric; port 0: a free one) with the org's
 * users and their tokens read; says its address. 0, or -1 with err (a token that cannot be
 * read, an address that cannot be bound). d->admin is set; sc_admin_stop frees it. */
int sc_admin_start(struct sc_daemon *d, const char *listen, char *err, size_t errlen);
/* Stops the listener (answers in flight finish) and frees it; no-op without one. */
void sc_admin_stop(struct sc_daemon *d);

#endif
