/* Flow control: router (branches), iterator (one bundle per element), aggregate. */
#include "module.h"

#include <stddef.h>
#include <stdio.h>

static const struct sc_param route_fields[] = {
    {.name = "name", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Name of the route, shown in the execution log."},
    {.name = "filter", .type = SC_T_CONDITION,
     .doc = "Condition a bundle must meet to take this route; no filter means always."},
    {.name = "steps", .type = SC_T_STEPS, .required = true, .doc = "Steps of this route."},
    {0},
};

static const struct sc_param router_params[] = {
    {.name = "routes", .type = SC_T_LIST, .elem = SC_T_OBJECT, .fields = route_fields,
     .required = true, .flags = SC_P_STATIC,
     .doc = "Routes in order; a bundle takes every route whose filter it meets."},
    {.name = "fallback", .type = SC_T_STEPS,
     .doc = "Steps for a bundle that met no route's filter."},
    {0},
};

struct iterator_with {
    const json_t *array;
};

static const struct sc_param iterator_params[] = {
    {.name = "array", .type = SC_T_ANY, .required = true,
     .offset = offsetof(struct iterator_with, array),
     .doc = "Array to split; the steps after run once per element."},
    {0},
};

static const struct sc_param aggregate_params[] = {
    {.name = "source", .type = SC_T_STEP_REF, .required = true, .flags = SC_P_STATIC,
     .doc = "The iterator (an earlier step) whose bundles are collected."},
    {.name = "value", .type = SC_T_ANY,
     .doc = "What each bundle contributes; by default the whole bundle."},
    {0},
};

static void router_check(struct sc_check *c, const json_t *with)
{
    if (json_array_size(json_object_get(with, "routes")) == 0)
        sc_check_error(c, "routes", "a router needs at least one route");
}

static enum sc_status iterator_run(struct sc_step_ctx *ctx, void *state, const void *with,
                                   const json_t *input, char *err, size_t errlen)
{
    (void)state;
    (void)input;
    const json_t *arr = ((const struct iterator_with *)with)->array;
    if (json_is_null(arr))
        return SC_OK; /* nothing to iterate: no bundle, as Make does */
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "array rendered to %s, not an array",
                 json_is_object(arr) ? "an object" : json_is_string(arr) ? "a string" : "a scalar");
        return SC_ERR_DATA;
    }
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)arr, i, e) {
        if (sc_step_emit(ctx, json_incref(e)) != 0)
            return SC_OK; /* the engine reports the max_bundles limit */
    }
    return SC_OK;
}

const struct sc_module_def sc_mod_router = {
    .name = "router",
    .summary = "Send each bundle down every route whose filter it meets, else the fallback.",
    .params = router_params,
    .flags = SC_M_ROUTE,
    .check = router_check,
};

const struct sc_module_def sc_mod_iterator = {
    .name = "iterator",
    .summary = "Emit one bundle per element of an array.",
    .params = iterator_params,
    .flags = SC_M_FAN_OUT,
    .with_size = sizeof(struct iterator_with),
    .run = iterator_run,
};

const struct sc_module_def sc_mod_aggregate = {
    .name = "aggregate",
    .summary = "Collect the bundles an iterator emitted back into one array.",
    .params = aggregate_params,
    .flags = SC_M_COLLECT,
};
