/* The options of `scenarist serve`, apart from sc_serve so that the daemon's units can
 * read them without including the daemon's entry point (no include cycle). Borrowed. */
#ifndef SC_SERVE_OPTS_H
#define SC_SERVE_OPTS_H

#include <stddef.h>
#include <stdint.h>

struct sc_serve_opts {
    const char *listen;          /* "HOST:PORT" (default 127.0.0.1:8080; port 0: any free one) */
    const char *admin_listen;    /* "HOST:PORT" of the management API (admin.h), or NULL: none */
    int workers;                 /* default 4; 0 accepts and stores events without running them */
    size_t max_body;             /* largest webhook body (default 1 MiB) */
    int64_t respond_ms;          /* how long a respond webhook waits for its answer (10 s) */
    int64_t drain_ms;            /* SIGTERM: how long running executions may take (30 s) */
    int64_t grace_ms;            /* how long past its deadline a step is abandoned (5 s) */
    int64_t header_ms;           /* from a request's first line to its last header (10 s) */
    int64_t body_ms;             /* from a webhook's headers to the end of its body (60 s) */
    long max_conns;              /* connections held at once; 0: what the open-file limit
                                  * allows, up to 50,000 */
    long max_per_ip;             /* of them from one client address (default 512) */
    int64_t until_ms;            /* test clock only: run time forward to here, then stop; -1 */
    const char *store;           /* a database other than the org's, or NULL */
    const char *const *paths;    /* scenario files and folders (default: scenarios) */
    size_t npaths;
};

#endif
