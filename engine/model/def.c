#include "model/def.h"

#include "util.h"

#include <stdlib.h>

struct sc_def *sc_def_new(size_t ntriggers, size_t nsteps)
{
    struct sc_def *def = sc_calloc(1, sizeof *def);
    if (!def)
        return NULL;
    def->triggers = sc_calloc(ntriggers + 1, sizeof *def->triggers);
    def->steps = sc_calloc(nsteps + 1, sizeof *def->steps);
    if (!def->triggers || !def->steps) {
        sc_def_free(def);
        return NULL;
    }
    return def;
}

const char *sc_def_kind_name(enum sc_def_kind kind)
{
    static const char *const names[] = {"webhook", "schedule", "poll", "manual"};
    return (unsigned)kind < 4 ? names[kind] : "manual";
}

void sc_def_free(struct sc_def *def)
{
    if (!def)
        return;
    free(def->triggers);
    free(def->steps);
    free(def);
}
