/* `scenarist serve`: the daemon's lifecycle. Its units: catalog.c (the scenarios, loaded
 * and reloaded), timers.c (schedules, polls, backups, audit checkpoints), workers.c (claim
 * and run, retries due), httpd.c (webhooks and operations endpoints), turns.c (write
 * turns), daemon.c (the state they share). This file starts them, reloads on SIGHUP and
 * drains on SIGTERM. Ownership: sc_serve borrows its options and the org. */
#ifndef SC_SERVE_H
#define SC_SERVE_H

#include "daemon/serve_opts.h"
#include "model/org.h"

/* Runs until SIGTERM/SIGINT (or the test clock reaches until_ms). Exit code: 0 after a
 * clean stop, 1 when the store or the listener failed, 2 when the scenarios do not
 * validate at start. */
int sc_serve(const struct sc_serve_opts *o, const struct sc_org *org);

#endif
