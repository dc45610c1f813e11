/* The plan (plan.h): a scenario loaded, validated and compiled once. */
#include "run/plan.h"

#include "model/param.h"

#include "run/bind.h"
#include "run/execution.h"
#include "run/throttle.h"
#include "lang/duration.h"
#include "model/url.h"
#include "model/validate.h"
#include "model/yaml.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sc_plan_directive_names[] = {"break", "resume", "ignore", "commit", "rollback"};

static bool steps_local(const struct sc_plan_list *l, const struct sc_org *reads);
static bool steps_share(const struct sc_plan_list *l);
static bool route_local(const struct sc_plan_route *rt, const struct sc_org *reads);

struct build {
    struct sc_scenario *sc;
    struct sc_diags *d;
    char path[512];
    bool failed;
};

static void free_steps(struct sc_scenario *sc, struct sc_plan_list *l);


static void free_route(struct sc_scenario *sc, struct sc_plan_route *rt)
{
    if (!rt)
        return;
    free_steps(sc, &rt->steps);
    json_decref(rt->opts);
    sc_tmpl_free(rt->resume, sc->lua);
    free(rt);
}

static void free_step(struct sc_scenario *sc, struct sc_plan_step *s)
{
    if (s->mod && s->mod->fini && s->state)
        s->mod->fini(s->state);
    sc_tmpl_free(s->tmpl, sc->lua);
    sc_tmpl_free(s->filter, sc->lua);
    json_decref(s->with);
    free_route(sc, s->route);
    for (size_t i = 0; i < s->nbranches; i++) {
        sc_tmpl_free(s->branches[i].filter, sc->lua);
        free_steps(sc, &s->branches[i].steps);
    }
    free(s->branches);
    free_steps(sc, &s->fallback);
}

static void free_steps(struct sc_scenario *sc, struct sc_plan_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free_step(sc, &l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void sc_scenario_free(struct sc_scenario *sc)
{
    if (!sc)
        return;
    free_steps(sc, &sc->steps);
    free_route(sc, sc->route);
    for (size_t i = 0; i < sc->npolls; i++) {
        free_step(sc, &sc->polls[i].step);
        sc_tmpl_free(sc->polls[i].items, sc->lua);
        sc_tmpl_free(sc->polls[i].key, sc->lua);
        json_decref(sc->polls[i].def);
    }
    free(sc->polls);
    sc_def_free(sc->def);
    sc_doc_free(sc->doc);
    sc_lua_release(sc->lua, sc->tset);
    free(sc);
}

const char *sc_scenario_name(const struct sc_scenario *sc) { return sc->name; }
json_t *sc_scenario_json(const struct sc_scenario *sc) { return sc->doc->root; }
const struct sc_def *sc_scenario_def(const struct sc_scenario *sc) { return sc->def; }

static void berr(struct build *b, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void berr(struct build *b, const char *sub, const char *fmt, ...)
{
    char path[700];
    snprintf(path, sizeof path, "%s%s%s", b->path, sub && *sub ? "/" : "", sub ? sub : "");
    const struct sc_node_pos *p = sc_doc_pos(b->sc->doc, path);
    va_list ap;
    va_start(ap, fmt);
    sc_diag_vadd(b->d, SC_SEV_ERROR, &b->sc->doc->src, p ? p->val.line : 0, p ? p->val.col : 0,
                 p ? p->val.len : 0, fmt, ap);
    va_end(ap);
    b->failed = true;
}

/* Fills in the defaults of a parameter table, recursing into objects and lists of objects. */
static int apply_defaults(const struct sc_param *params, json_t *obj)
{
    for (const struct sc_param *p = params; p && p->name; p++) {
        json_t *v = json_object_get(obj, p->name);
        if (!v && p->def) {
            v = json_loads(p->def, JSON_DECODE_ANY, NULL);
            if (!v || json_object_set_new(obj, p->name, v) != 0)
                return -1;
        } else if (v && p->fields && json_is_object(v) && p->type == SC_T_OBJECT) {
            if (apply_defaults(p->fields, v) != 0)
                return -1;
        } else if (v && p->fields && json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                if (json_is_object(e) && apply_defaults(p->fields, e) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

int64_t sc_plan_duration_ms(json_t *v, int64_t def)
{
    return sc_duration_or(json_string_value(v), def);
}

static int build_steps(struct build *b, json_t *arr, struct sc_plan_list *out, bool in_route);
static struct sc_plan_route *build_route(struct build *b, json_t *arr);

static struct sc_tmpl *compile(struct build *b, const char *sub, json_t *v)
{
    char err[512];
    struct sc_tmpl *t = sc_tmpl_compile(b->sc->lua, v, err, sizeof err);
    if (!t)
        berr(b, sub, "%s", err);
    return t;
}

static int build_router(struct build *b, struct sc_plan_step *s, json_t *with)
{
    json_t *routes = json_object_get(with, "routes");
    s->branches = sc_calloc(json_array_size(routes) + 1, sizeof *s->branches);
    if (!s->branches)
        return -1;
    size_t i;
    json_t *r;
    json_array_foreach(routes, i, r) {
        struct sc_plan_branch *br = &s->branches[s->nbranches++];
        br->name = json_string_value(json_object_get(r, "name"));
        size_t o = sc_path_push(b->path, sizeof b->path, "with");
        sc_path_push(b->path, sizeof b->path, "routes");
        sc_path_pushi(b->path, sizeof b->path, i);
        json_t *f = json_object_get(r, "filter");
        if (f && !(br->filter = compile(b, "filter", f)))
            return b->path[o] = '\0', -1;
        sc_path_push(b->path, sizeof b->path, "steps");
        int rc = build_steps(b, json_object_get(r, "steps"), &br->steps, false);
        b->path[o] = '\0';
        if (rc != 0)
            return -1;
    }
    json_t *fb = json_object_get(with, "fallback");
    if (fb) {
        size_t o = sc_path_push(b->path, sizeof b->path, "with");
        sc_path_push(b->path, sizeof b->path, "fallback");
        int rc = build_steps(b, fb, &s->fallback, false);
        b->path[o] = '\0';
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* step is the step's mapping; a route's shorthand (notify: {...}) arrives as one. */
static int build_step(struct build *b, json_t *step, struct sc_plan_step *s)
{
    s->id = json_string_value(json_object_get(step, "id"));
    s->mod = sc_module_find(json_string_value(json_object_get(step, "module")));
    if (!s->mod) {
        berr(b, "module", "unknown module");
        return -1;
    }
    json_t *with = json_object_get(step, "with");
    s->timeout_ms = sc_plan_duration_ms(json_object_get(step, "timeout"), b->sc->step_timeout_ms);
    json_t *filter = json_object_get(step, "filter");
    if (filter && !(s->filter = compile(b, "filter", filter)))
        return -1;
    if (s->mod->flags & SC_M_ROUTE) {
        s->with = json_object();
        if (!s->with || build_router(b, s, with) != 0)
            return -1;
    } else {
        s->with = with ? json_deep_copy(with) : json_object();
        if (!s->with || apply_defaults(s->mod->params, s->with) != 0) {
            berr(b, "with", "out of memory");
            return -1;
        }
    }
    if (!(s->tmpl = compile(b, "with", s->with)))
        return -1;
    for (const struct sc_param *p = s->mod->params; p && p->name; p++)
        if (p->flags & SC_P_URL_PATH) /* data rendered into a URL path stays one segment */
            sc_tmpl_set_encoder(s->tmpl, p->name, sc_url_path_value);
        else if (p->flags & SC_P_KEY) /* an identity key: no part may be null or empty */
            sc_tmpl_set_encoder(s->tmpl, p->name, sc_tmpl_key_value);
    json_t *route = json_object_get(step, "on_error");
    if (route) {
        size_t o = sc_path_push(b->path, sizeof b->path, "on_error");
        s->route = build_route(b, route);
        b->path[o] = '\0';
        if (!s->route)
            return -1;
    }
    if (s->mod->init) {
        struct sc_step_ctx ctx = {.s = s, .lua = b->sc->lua, .org = b->sc->org};
        char err[512] = "";
        void *bound = s->mod->with_size ? sc_calloc(1, s->mod->with_size) : NULL;
        int rc = s->mod->with_size && !bound ? -1
               : bound && sc_bind(s->mod->params, s->with, bound, s->mod->with_size, err,
                                  sizeof err) != 0 ? -1
               : s->mod->init(&ctx, bound ? bound : (const void *)s->with, &s->state, err,
                              sizeof err);
        free(bound);
        if (rc != 0) {
            char sub[300];
            snprintf(sub, sizeof sub, "with%s%s", ctx.at[0] ? "/" : "", ctx.at);
            berr(b, sub, "%s", err[0] ? err : "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Pairs each aggregate with its iterator, which must come earlier in the same list. */
static int pair_aggregates(struct build *b, struct sc_plan_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!l->v[i].mod || !(l->v[i].mod->flags & SC_M_COLLECT))
            continue;
        const char *src = json_string_value(json_object_get(l->v[i].with, "source"));
        size_t j = i;
        while (j-- > 0)
            if (l->v[j].id && src && !strcmp(l->v[j].id, src) && l->v[j].mod)
                break;
        size_t o = sc_path_pushi(b->path, sizeof b->path, i);
        if (j == (size_t)-1 || !(l->v[j].mod->flags & SC_M_FAN_OUT)) {
            berr(b, "with/source", "aggregate source '%s' must be an iterator earlier in the "
                 "same list of steps", src ? src : "");
        } else if (l->v[j].agg) {
            berr(b, "with/source", "iterator '%s' is already aggregated by step '%s'", src,
                 l->v[l->v[j].agg - 1].id);
        } else {
            l->v[j].agg = i + 1;
        }
        b->path[o] = '\0';
    }
    return b->failed ? -1 : 0;
}

static int build_steps(struct build *b, json_t *arr, struct sc_plan_list *out, bool in_route)
{
    size_t n = json_array_size(arr);
    out->v = sc_calloc(n ? n : 1, sizeof *out->v);
    if (!out->v)
        return -1;
    size_t i;
    json_t *st;
    int rc = 0;
    json_array_foreach(arr, i, st) { /* on: report every step's problems, not the first */
        size_t o = sc_path_pushi(b->path, sizeof b->path, i);
        rc |= build_step(b, st, &out->v[out->n++]);
        b->path[o] = '\0';
    }
    return rc != 0 || in_route ? rc : pair_aggregates(b, out);
}

static struct sc_plan_route *build_route(struct build *b, json_t *arr)
{
    struct sc_plan_route *rt = sc_calloc(1, sizeof *rt);
    json_t *items = json_array();
    if (!rt || !items) {
        free(rt);
        json_decref(items);
        return NULL;
    }
    size_t i, n = json_array_size(arr);
    json_t *item;
    json_array_foreach(arr, i, item) {
        const char *key = json_is_string(item) ? json_string_value(item) : NULL;
        json_t *val = NULL;
        if (!key && json_is_object(item) && !json_object_get(item, "module") &&
            json_object_size(item) == 1) {
            void *it = json_object_iter(item);
            key = json_object_iter_key(it);
            val = json_object_iter_value(it);
        }
        if (i + 1 == n) { /* the directive */
            size_t d = 0;
            while (d < 5 && strcmp(key ? key : "", sc_plan_directive_names[d]))
                d++;
            rt->dir = (enum sc_plan_directive)(d < 5 ? d : SC_PLAN_BREAK);
            rt->opts = json_is_object(val) ? json_deep_copy(val) : json_object();
            const struct sc_param *f = rt->dir == SC_PLAN_BREAK ? sc_break_fields
                                     : rt->dir == SC_PLAN_RESUME ? sc_resume_fields : NULL;
            if (!rt->opts || (f && apply_defaults(f, rt->opts) != 0))
                break;
            if (rt->dir == SC_PLAN_RESUME) {
                size_t o = sc_path_pushi(b->path, sizeof b->path, i);
                sc_path_push(b->path, sizeof b->path, "resume");
                rt->resume = compile(b, "output", json_object_get(rt->opts, "output"));
                b->path[o] = '\0';
            }
            continue;
        }
        json_t *st = key ? json_pack("{s:s, s:O?}", "module", key, "with", val) : json_incref(item);
        if (!st || json_array_append_new(items, st) != 0)
            break;
    }
    /* Shorthand items have no source positions of their own: point at the route. */
    int rc = b->failed ? -1 : build_steps(b, items, &rt->steps, true);
    json_decref(items);
    if (rc != 0 || b->failed || !rt->opts) {
        free_route(b->sc, rt);
        return NULL;
    }
    return rt;
}

/* A poll trigger compiles into a step of its own, plus its items and key templates. */
static int build_polls(struct build *b, json_t *triggers)
{
    size_t i, n = 0;
    json_t *t;
    json_array_foreach(triggers, i, t)
        n += json_object_get(t, "poll") != NULL;
    if (!n)
        return 0;
    if (!(b->sc->polls = sc_calloc(n, sizeof *b->sc->polls)))
        return -1;
    int rc = 0;
    json_array_foreach(triggers, i, t) {
        json_t *p = json_object_get(t, "poll");
        if (!p)
            continue;
        struct sc_plan_poll *pl = &b->sc->polls[b->sc->npolls++];
        pl->trigger = i;
        json_t *items = json_object_get(p, "items");
        pl->def = json_pack("{s:s, s:O, s:O, s:O, s:O}", "id", "poll", "module",
                            json_object_get(p, "module"), "with",
                            json_object_get(p, "with") ? json_object_get(p, "with") : json_null(),
                            "items", items ? items : json_null(), "key", json_object_get(p, "key"));
        if (!pl->def) {
            berr(b, NULL, "out of memory");
            return -1;
        }
        if (json_is_null(json_object_get(pl->def, "with")))
            json_object_del(pl->def, "with");
        if (!items)
            json_object_set_new(pl->def, "items", sc_param_default(sc_poll_fields, "items"));
        size_t o = sc_path_pushi(b->path, sizeof b->path, i);
        size_t o2 = sc_path_push(b->path, sizeof b->path, "poll");
        rc |= build_step(b, pl->def, &pl->step);
        if (!(pl->items = compile(b, "items", json_object_get(pl->def, "items"))) ||
            !(pl->key = compile(b, "key", json_object_get(pl->def, "key"))))
            rc = -1;
        sc_tmpl_set_encoder(pl->key, NULL, sc_tmpl_key_value); /* as dedupe_key */
        b->path[o2] = '\0';
        b->path[o] = '\0';
    }
    return rc;
}

static struct sc_scenario *load_doc(struct sc_doc *doc, const struct sc_org *org,
                                    struct sc_lua *lua, struct sc_validator *shared,
                                    struct sc_diags *d, size_t errors0);

struct sc_scenario *sc_scenario_load(const char *path, const struct sc_org *org,
                                     struct sc_lua *lua, struct sc_validator *shared,
                                     struct sc_diags *d)
{
    size_t errors0 = d->errors;
    struct sc_doc *doc = sc_doc_load_file(path, d);
    return doc ? load_doc(doc, org, lua, shared, d, errors0) : NULL;
}

struct sc_scenario *sc_scenario_load_text(const char *name, const char *text, size_t len,
                                          const struct sc_org *org, struct sc_lua *lua,
                                          struct sc_validator *shared, struct sc_diags *d)
{
    size_t errors0 = d->errors;
    struct sc_doc *doc = sc_doc_parse(name, text, len, d);
    return doc ? load_doc(doc, org, lua, shared, d, errors0) : NULL;
}

static struct sc_scenario *load_doc(struct sc_doc *doc, const struct sc_org *org,
                                    struct sc_lua *lua, struct sc_validator *shared,
                                    struct sc_diags *d, size_t errors0)
{
    struct sc_validator *v = shared ? shared : sc_validator_new(org, d);
    if (!v) {
        sc_diag_add(d, SC_SEV_ERROR, &doc->src, 0, 0, 0, "out of memory while validating");
        sc_doc_free(doc);
        return NULL;
    }
    struct sc_def *def = sc_validate_def(v, doc);
    if (v != shared)
        sc_validator_free(v);
    if (d->errors > errors0 || !doc->root || !def) {
        sc_def_free(def);
        sc_doc_free(doc);
        return NULL;
    }
    struct sc_scenario *sc = sc_calloc(1, sizeof *sc);
    if (!sc) {
        sc_diag_add(d, SC_SEV_ERROR, &doc->src, 0, 0, 0, "out of memory while compiling");
        sc_def_free(def);
        sc_doc_free(doc);
        return NULL;
    }
    sc->doc = doc;
    sc->def = def;
    sc->lua = lua;
    sc->tset = sc_lua_keep(lua); /* a version runs its own code */
    sc->org = org;
    json_t *root = doc->root;
    sc->name = def->name;
    sc->confidential = def->settings.confidential;
    sc->timeout_ms = def->settings.timeout_ms;
    sc->step_timeout_ms = def->settings.step_timeout_ms;
    sc->max_bundles = def->settings.max_bundles;
    struct build b = {.sc = sc, .d = d};
    sc_path_push(b.path, sizeof b.path, "steps");
    int rc = build_steps(&b, json_object_get(root, "steps"), &sc->steps, false);
    b.path[0] = '\0';
    json_t *route = def->on_error;
    if (rc == 0 && route) {
        sc_path_push(b.path, sizeof b.path, "on_error");
        if (!(sc->route = build_route(&b, route)))
            rc = -1;
        b.path[0] = '\0';
    }
    if (rc == 0) {
        sc_path_push(b.path, sizeof b.path, "triggers");
        rc = build_polls(&b, json_object_get(root, "triggers"));
    }
    if (rc != 0 || b.failed || sc->tset < 0) {
        if (d->errors == errors0)
            sc_diag_add(d, SC_SEV_ERROR, &doc->src, 0, 0, 0, "out of memory while compiling");
        sc_scenario_free(sc);
        return NULL;
    }
    sc->local = steps_local(&sc->steps, NULL) && route_local(sc->route, NULL);
    sc->reads = !sc->local && steps_local(&sc->steps, org) && route_local(sc->route, org);
    sc->shares = steps_share(&sc->steps) || (sc->route && steps_share(&sc->route->steps));
    return sc;
}

static bool route_local(const struct sc_plan_route *rt, const struct sc_org *reads)
{
    return !rt || steps_local(&rt->steps, reads);
}

/* True for one plain read of another system: a GET or HEAD without pagination (one request,
 * sent again harmlessly) through a connection without a throttle (whose slots are taken in
 * the store as the request goes). */
static bool step_reads(const struct sc_plan_step *s, const struct sc_org *org)
{
    const char *m = json_string_value(json_object_get(s->with, "method"));
    const char *conn = json_string_value(json_object_get(s->with, "connection"));
    const struct sc_org_conn *oc = org && conn ? sc_org_connection(org, conn) : NULL;
    return s->mod->access == SC_ACCESS_BY_METHOD && m && (!strcmp(m, "GET") || !strcmp(m, "HEAD")) &&
           !json_object_get(s->with, "paginate") && oc && !oc->shadow && !sc_throttle_applies(oc);
}

/* reads NULL: no step reaches outside the store or waits; else the same but for plain
 * reads of reads' connections (step_reads). */
static bool steps_local(const struct sc_plan_list *l, const struct sc_org *reads)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct sc_plan_step *s = &l->v[i];
        bool ok = (s->mod->access == SC_ACCESS_NONE || (reads && step_reads(s, reads))) &&
                  !s->mod->waits && route_local(s->route, reads) &&
                  steps_local(&s->fallback, reads);
        for (size_t j = 0; ok && j < s->nbranches; j++)
            ok = steps_local(&s->branches[j].steps, reads);
        if (!ok)
            return false;
    }
    return true;
}

/* True when a step of l (its routes, fallbacks and branches included) is SC_M_SHARED. */
static bool steps_share(const struct sc_plan_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct sc_plan_step *s = &l->v[i];
        bool yes = (s->mod->flags & SC_M_SHARED) || (s->route && steps_share(&s->route->steps)) ||
                   steps_share(&s->fallback);
        for (size_t j = 0; !yes && j < s->nbranches; j++)
            yes = steps_share(&s->branches[j].steps);
        if (yes)
            return true;
    }
    return false;
}

bool sc_scenario_local(const struct sc_scenario *sc) { return sc->local; }
bool sc_scenario_reads(const struct sc_scenario *sc) { return sc->reads; }
bool sc_scenario_shares(const struct sc_scenario *sc) { return sc->shares; }

size_t sc_scenario_polls(const struct sc_scenario *sc, size_t *triggers, size_t max)
{
    for (size_t i = 0; i < sc->npolls && i < max; i++)
        triggers[i] = sc->polls[i].trigger;
    return sc->npolls;
}
