/* The catalog: the scenarios the daemon serves, validated together, and their triggers
 * made ready (webhook hooks, schedule and poll timers). Loaded at start and on reload,
 * replaced whole (serve.c); the daemon owns it. */
#ifndef SC_CATALOG_H
#define SC_CATALOG_H

#include "daemon/daemon.h"
#include "lang/tmpl.h"

/* A webhook trigger, ready to take requests. */
struct sc_catalog_hook {
    char *path, *scenario, *source;
    char version[16];            /* "draft" for a file, else the stored version's number */
    bool realtime, sequential, confidential, respond;
    bool instant;                /* local steps only, no lane, no dedupe: a worker may run its
                                    event before it is stored, both written in one commit */
    char *scheme, *secret;       /* signature check; NULL: none */
    json_t *dedupe_src;          /* the dedupe_key template, or NULL */
    struct sc_tmpl *dedupe;      /* compiled in the intake's Lua */
};

/* A schedule or poll trigger. */
struct sc_catalog_timer {
    struct sc_scenario *sc;      /* the catalog's copy (the main thread runs polls with it) */
    const char *scenario, *source;
    char version[16];
    size_t trigger;              /* index in the scenario's triggers */
    char key[32];                /* "schedule:0", "poll:1": its state in the store */
    bool poll, has_cron, catch_up, sequential, confidential;
    struct sc_cron cron;
    char tz[80];
    int64_t every_ms, window_ms, skew_ms;
    int64_t next_ms;             /* next fire; -1 when none */
};

struct sc_catalog {
    char **files;
    size_t nfiles;
    struct sc_scenario **scs;    /* compiled in the main thread's Lua */
    struct sc_catalog_hook *hooks;
    size_t nhooks;
    struct sc_catalog_timer *timers;
    size_t ntimers;
};

/* Loads and validates every scenario (d's paths, else what is deployed in rt's store, else
 * scenarios/; one validator: webhook paths and names are unique across them) and makes
 * its hooks and timers (not armed). NULL with the reasons in diag. Sets d->versions. */
struct sc_catalog *sc_catalog_load(struct sc_daemon *d, struct sc_runtime *rt,
                                   struct sc_diags *diag);
/* Frees c (NULL: nothing); its dedupe templates go under d's intake lock. */
void sc_catalog_free(struct sc_daemon *d, struct sc_catalog *c);
/* The hook taking path (exactly), or NULL; borrowed from c. */
const struct sc_catalog_hook *sc_catalog_hook_find(const struct sc_catalog *c, const char *path);

#endif
