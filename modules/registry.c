/* The one file that lists every module. Keep the list sorted by name. */
#include "module.h"

#include <string.h>

extern const struct sc_module_def sc_mod_aggregate;
extern const struct sc_module_def sc_mod_compare;
extern const struct sc_module_def sc_mod_datastore_delete;
extern const struct sc_module_def sc_mod_datastore_get;
extern const struct sc_module_def sc_mod_datastore_search;
extern const struct sc_module_def sc_mod_datastore_set;
extern const struct sc_module_def sc_mod_dedupe;
extern const struct sc_module_def sc_mod_hold;
extern const struct sc_module_def sc_mod_http_request;
extern const struct sc_module_def sc_mod_iterator;
extern const struct sc_module_def sc_mod_json_parse;
extern const struct sc_module_def sc_mod_json_stringify;
extern const struct sc_module_def sc_mod_lua;
extern const struct sc_module_def sc_mod_map;
extern const struct sc_module_def sc_mod_notify;
extern const struct sc_module_def sc_mod_queue_push;
extern const struct sc_module_def sc_mod_queue_sweep;
extern const struct sc_module_def sc_mod_reconcile;
extern const struct sc_module_def sc_mod_respond;
extern const struct sc_module_def sc_mod_router;
extern const struct sc_module_def sc_mod_set;
extern const struct sc_module_def sc_mod_sleep;

static const struct sc_module_def *const all[] = {
    &sc_mod_aggregate, &sc_mod_compare, &sc_mod_datastore_delete, &sc_mod_datastore_get,
    &sc_mod_datastore_search, &sc_mod_datastore_set, &sc_mod_dedupe, &sc_mod_hold,
    &sc_mod_http_request, &sc_mod_iterator, &sc_mod_json_parse, &sc_mod_json_stringify,
    &sc_mod_lua, &sc_mod_map, &sc_mod_notify, &sc_mod_queue_push, &sc_mod_queue_sweep,
    &sc_mod_reconcile, &sc_mod_respond,
    &sc_mod_router, &sc_mod_set, &sc_mod_sleep,
};

const struct sc_module_def *const *sc_module_all(size_t *n)
{
    *n = sizeof all / sizeof all[0];
    return all;
}

const struct sc_module_def *sc_module_find(const char *name)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
