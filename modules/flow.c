/* Flow control: router (branches), iterator (one bundle per element), aggregate. */
#include "../engine/module.h"

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

static const struct sc_param iterator_params[] = {
    {.name = "array", .type = SC_T_ANY, .required = true,
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

const struct sc_module_def sc_mod_router = {
    .name = "router",
    .summary = "Send each bundle down every route whose filter it meets, else the fallback.",
    .params = router_params,
    .check = router_check,
};

const struct sc_module_def sc_mod_iterator = {
    .name = "iterator",
    .summary = "Emit one bundle per element of an array.",
    .params = iterator_params,
};

const struct sc_module_def sc_mod_aggregate = {
    .name = "aggregate",
    .summary = "Collect the bundles an iterator emitted back into one array.",
    .params = aggregate_params,
};
