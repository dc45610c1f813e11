#include "run/exec.h"

#include "clock.h"
#include "lang/duration.h"
#include "store/store.h"
#include "lang/tmpl.h"
#include "model/url.h"
#include "util.h"
#include "model/validate.h"
#include "model/yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- the plan ---- */

enum directive { DIR_BREAK, DIR_RESUME, DIR_IGNORE, DIR_COMMIT, DIR_ROLLBACK };
static const char *const directive_names[] = {"break", "resume", "ignore", "commit", "rollback"};

struct step;

struct steplist {
    struct step *v;
    size_t n;
};

struct route {
    struct steplist steps; /* run before the directive, usually notify */
    enum directive dir;
    json_t *opts;          /* the directive's options, defaults applied (owned) */
    struct sc_tmpl *resume;
};

struct branch {
    const char *name;
    struct sc_tmpl *filter; /* NULL: always */
    struct steplist steps;
};

struct step {
    const char *id;        /* NULL for a step of an error route without an id */
    const struct sc_module_def *mod;
    json_t *with;          /* parameters with defaults applied, routes removed (owned) */
    struct sc_tmpl *tmpl;
    struct sc_tmpl *filter;
    int64_t timeout_ms;
    struct route *route;   /* its own error route, else NULL */
    struct branch *branches; /* router */
    size_t nbranches;
    struct steplist fallback;
    size_t agg;            /* iterator: 1 + index of its aggregate in the same list, or 0 */
    void *state;
};

struct poll {
    size_t trigger;        /* index in triggers */
    json_t *def;           /* {id, module, with}: the step it runs (owned) */
    struct step step;
    struct sc_tmpl *items, *key;
};

struct sc_scenario {
    struct sc_doc *doc;
    struct sc_lua *lua;
    const struct sc_org *org;
    struct poll *polls;
    size_t npolls;
    const char *name;
    bool confidential;
    int64_t timeout_ms, step_timeout_ms;
    long max_bundles;
    struct steplist steps;
    struct route *route;   /* scenario-level default */
    bool local;            /* no step reaches outside the store or waits */
};

static bool steps_local(const struct steplist *l);
static bool route_local(const struct route *rt);

struct sc_step_ctx {
    struct run *r;         /* NULL at load time (init) */
    struct step *s;
    struct sc_lua *lua;
    const struct sc_org *org;
    json_t *out;           /* emitted bundles */
    long max;
    bool over;
    int64_t deadline;      /* monotonic */
    char at[128];          /* init: parameter path its error is about */
    bool oom;
    char sent_from[512], idem[256]; /* made on first use: most steps do not write */
    json_t *detail;        /* fields added to the error */
    json_t *held;          /* set by sc_step_hold: this bundle waits for a person */
    int64_t park_ms;       /* set by sc_step_park: this bundle sleeps till then (0: no) */
    json_t *undo;          /* set by sc_step_set_undo; given to commit/rollback hooks */
};

struct build {
    struct sc_scenario *sc;
    struct sc_diags *d;
    char path[512];
    bool failed;
};

static void free_steps(struct sc_scenario *sc, struct steplist *l);

/* Steps of an error route may have no id: they go by their module's name. */
static const char *step_name(const struct step *s) { return s->id ? s->id : s->mod->name; }

static void free_route(struct sc_scenario *sc, struct route *rt)
{
    if (!rt)
        return;
    free_steps(sc, &rt->steps);
    json_decref(rt->opts);
    sc_tmpl_free(rt->resume, sc->lua);
    free(rt);
}

static void free_step(struct sc_scenario *sc, struct step *s)
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

static void free_steps(struct sc_scenario *sc, struct steplist *l)
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
    sc_doc_free(sc->doc);
    free(sc);
}

const char *sc_scenario_name(const struct sc_scenario *sc) { return sc->name; }
json_t *sc_scenario_json(const struct sc_scenario *sc) { return sc->doc->root; }

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

static int64_t duration_ms(json_t *v, int64_t def)
{
    return sc_duration_or(json_string_value(v), def);
}

static int build_steps(struct build *b, json_t *arr, struct steplist *out, bool in_route);
static struct route *build_route(struct build *b, json_t *arr);

static struct sc_tmpl *compile(struct build *b, const char *sub, json_t *v)
{
    char err[512];
    struct sc_tmpl *t = sc_tmpl_compile(b->sc->lua, v, err, sizeof err);
    if (!t)
        berr(b, sub, "%s", err);
    return t;
}

static int build_router(struct build *b, struct step *s, json_t *with)
{
    json_t *routes = json_object_get(with, "routes");
    s->branches = sc_calloc(json_array_size(routes) + 1, sizeof *s->branches);
    if (!s->branches)
        return -1;
    size_t i;
    json_t *r;
    json_array_foreach(routes, i, r) {
        struct branch *br = &s->branches[s->nbranches++];
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
static int build_step(struct build *b, json_t *step, struct step *s)
{
    s->id = json_string_value(json_object_get(step, "id"));
    s->mod = sc_module_find(json_string_value(json_object_get(step, "module")));
    if (!s->mod) {
        berr(b, "module", "unknown module");
        return -1;
    }
    json_t *with = json_object_get(step, "with");
    s->timeout_ms = duration_ms(json_object_get(step, "timeout"), b->sc->step_timeout_ms);
    json_t *filter = json_object_get(step, "filter");
    if (filter && !(s->filter = compile(b, "filter", filter)))
        return -1;
    if (!strcmp(s->mod->name, "router")) {
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
        else if (p->flags & SC_P_KEY)
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
        if (s->mod->init(&ctx, s->with, &s->state, err, sizeof err) != 0) {
            char sub[300];
            snprintf(sub, sizeof sub, "with%s%s", ctx.at[0] ? "/" : "", ctx.at);
            berr(b, sub, "%s", err[0] ? err : "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Pairs each aggregate with its iterator, which must come earlier in the same list. */
static int pair_aggregates(struct build *b, struct steplist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!l->v[i].mod || strcmp(l->v[i].mod->name, "aggregate"))
            continue;
        const char *src = json_string_value(json_object_get(l->v[i].with, "source"));
        size_t j = i;
        while (j-- > 0)
            if (l->v[j].id && src && !strcmp(l->v[j].id, src) && l->v[j].mod)
                break;
        size_t o = sc_path_pushi(b->path, sizeof b->path, i);
        if (j == (size_t)-1 || strcmp(l->v[j].mod->name, "iterator")) {
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

static int build_steps(struct build *b, json_t *arr, struct steplist *out, bool in_route)
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

static struct route *build_route(struct build *b, json_t *arr)
{
    struct route *rt = sc_calloc(1, sizeof *rt);
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
            while (d < 5 && strcmp(key ? key : "", directive_names[d]))
                d++;
            rt->dir = (enum directive)(d < 5 ? d : DIR_BREAK);
            rt->opts = json_is_object(val) ? json_deep_copy(val) : json_object();
            const struct sc_param *f = rt->dir == DIR_BREAK ? sc_break_fields
                                     : rt->dir == DIR_RESUME ? sc_resume_fields : NULL;
            if (!rt->opts || (f && apply_defaults(f, rt->opts) != 0))
                break;
            if (rt->dir == DIR_RESUME) {
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
        struct poll *pl = &b->sc->polls[b->sc->npolls++];
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
            json_object_set_new(pl->def, "items", json_string("{{ output.body }}"));
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
    sc_validate_doc(v, doc);
    if (v != shared)
        sc_validator_free(v);
    if (d->errors > errors0 || !doc->root) {
        sc_doc_free(doc);
        return NULL;
    }
    struct sc_scenario *sc = sc_calloc(1, sizeof *sc);
    if (!sc) {
        sc_diag_add(d, SC_SEV_ERROR, &doc->src, 0, 0, 0, "out of memory while compiling");
        sc_doc_free(doc);
        return NULL;
    }
    sc->doc = doc;
    sc->lua = lua;
    sc->org = org;
    json_t *root = doc->root, *set = json_object_get(root, "settings");
    sc->name = json_string_value(json_object_get(root, "name"));
    sc->confidential = json_is_true(json_object_get(set, "confidential"));
    sc->timeout_ms = duration_ms(json_object_get(set, "timeout"), 3600 * 1000);
    sc->step_timeout_ms = duration_ms(json_object_get(set, "step_timeout"), 300 * 1000);
    json_t *mb = json_object_get(set, "max_bundles");
    sc->max_bundles = json_is_integer(mb) ? (long)json_integer_value(mb) : 10000;
    struct build b = {.sc = sc, .d = d};
    sc_path_push(b.path, sizeof b.path, "steps");
    int rc = build_steps(&b, json_object_get(root, "steps"), &sc->steps, false);
    b.path[0] = '\0';
    json_t *route = json_object_get(root, "on_error");
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
    if (rc != 0 || b.failed) {
        if (d->errors == errors0)
            sc_diag_add(d, SC_SEV_ERROR, &doc->src, 0, 0, 0, "out of memory while compiling");
        sc_scenario_free(sc);
        return NULL;
    }
    sc->local = steps_local(&sc->steps) && route_local(sc->route);
    return sc;
}

static bool route_local(const struct route *rt) { return !rt || steps_local(&rt->steps); }

static bool steps_local(const struct steplist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct step *s = &l->v[i];
        bool ok = s->mod->access == SC_ACCESS_NONE && !s->mod->waits && route_local(s->route) &&
                  steps_local(&s->fallback);
        for (size_t j = 0; ok && j < s->nbranches; j++)
            ok = steps_local(&s->branches[j].steps);
        if (!ok)
            return false;
    }
    return true;
}

bool sc_scenario_local(const struct sc_scenario *sc) { return sc->local; }

/* ---- running ---- */

struct agg {
    struct step *step;  /* the aggregate collecting */
    json_t *items;
};

struct run {
    struct sc_scenario *sc;
    struct sc_runtime *rt;
    json_t *log, *steps, *vars, *execution, *error, *response, *incomplete;
    json_t *fail;          /* the error that ended the execution */
    json_t *input;         /* the bundle the current step receives (borrowed) */
    char id[64], bundle[128];
    const char *version;
    int64_t t0, deadline;
    bool stop, ended_error, committed;
    const char *org_url;   /* the org's base_url, or scenarist://ORG */
    char url_buf[160];
    int attempt;
    bool queued, fixed_id;
    bool wakes;            /* opts->wakes: this attempt went on after a sleep */
    json_t *journal;       /* further attempts: recorded states, "STEP BUNDLE" -> {outs, vars?} */
    bool vars_touched;     /* the step under way wrote vars: its state keeps them */
    int64_t pending_run;   /* store row of the step under way, 0 when none */
    bool kept_state;       /* a step recorded a resume state */
    bool atomic;           /* opts->atomic */
    json_t *deferred;      /* atomic: [[store row, state]] written only if the end keeps them */
    json_t *held;          /* the hold the step just run asked for (taken by run_list) */
    int64_t park_ms;       /* the wake time the step just run asked for (taken by run_list) */
    json_t *pending_undo;  /* what the step just run can undo (taken by run_list) */
    bool pending_sent;     /* the step just run wrote to another system, beyond undoing */
    struct undo *undos;    /* what a rollback undoes, oldest first */
    size_t nundo, capundo;
};

/* A step that ended ok and changed something: undo data for its module's hooks, or sent
 * (a write to another system that no hook can take back). */
struct undo {
    struct step *s;
    json_t *data;
    bool sent;
    char bundle[128];
};

const char *sc_status_name(enum sc_status st)
{
    static const char *const names[] = {"ok", "config", "data", "connection", "rate-limit",
                                        "server", "runtime", "limit", "store"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "runtime";
}

const char *sc_status_retry_note(const json_t *inc)
{
    const char *kind = json_string_value(json_object_get(json_object_get(inc, "error"), "kind"));
    if (json_object_get(inc, "hold"))
        return "held: a person approves or rejects it with scenarist holds";
    if (json_is_true(json_object_get(inc, "retryable")))
        return json_is_true(json_object_get(inc, "final")) ? "no attempt left: needs a person"
                                                            : "to be retried from this step";
    if (kind && !strcmp(kind, "runtime"))
        return "not retried: a Lua or template error fails the same way on every attempt; "
               "needs a person";
    if (kind && !strcmp(kind, "data"))
        return "not retried: the data was refused and would be refused again; needs a person";
    if (kind && !strcmp(kind, "config"))
        return "not retried: the scenario or the org is wrong; needs a person";
    return "not retried: needs a person";
}

static void fail_execution(struct run *r, json_t *error);

/* A context name that cannot be set would let expressions read stale data: stop. */
static void set_ctx(struct run *r, const char *name, json_t *v)
{
    if (sc_lua_set(r->rt->lua, name, v) != 0)
        fail_execution(r, NULL);
}

static json_t *store_error(const char *what, struct sc_store *st)
{
    return json_pack("{s:s++, s:s}", "message", what, ": ", sc_store_error(st), "kind", "store");
}

/* Records a step's end in the store; state is what replays it on a later attempt. */
static void store_step(struct run *r, json_t *e, struct step *s, json_t *state)
{
    struct sc_store *st = r->rt->store;
    int64_t run = r->pending_run;
    r->pending_run = 0;
    bool defer = r->atomic && state;
    r->kept_state |= state && !defer;
    if (!st || !e)
        return;
    struct sc_step_row row = {.execution = r->id, .step = step_name(s),
                              .module = json_string_value(json_object_get(e, "module")),
                              .bundle = r->bundle, .attempt = r->attempt,
                              .status = json_string_value(json_object_get(e, "status")),
                              .started_ms = sc_clock_now_ms(),
                              .duration_ms = json_object_get(e, "duration_ms")
                                                 ? json_integer_value(json_object_get(e, "duration_ms"))
                                                 : -1,
                              .output = json_object_get(e, "output"),
                              .error = json_object_get(e, "error"), .state = defer ? NULL : state,
                              .bundles = json_integer_value(json_object_get(e, "bundles")),
                              .confidential = r->sc->confidential};
    int64_t id = run > 0 ? (sc_store_step_end(st, run, &row) ? -1 : run)
                         : sc_store_step_begin(st, &row);
    if (id > 0 && defer) {
        if (!r->deferred)
            r->deferred = json_array();
        if (json_array_append_new(r->deferred, json_pack("[I,O]", (json_int_t)id, state)) != 0)
            fail_execution(r, NULL); /* out of memory */
        return;
    }
    if (id < 0) {
        json_t *err = store_error("recording the step failed", st);
        fail_execution(r, err); /* going on unrecorded would break the promise to resume */
        json_decref(err);
    }
}

/* Appends an entry to the step log and returns it (borrowed); output is stolen. */
static json_t *log_entry(struct run *r, struct step *s, const char *status, int64_t ms,
                         json_t *output_stolen, json_t *error)
{
    json_t *e = json_object();
    if (!e) {
        json_decref(output_stolen);
        return NULL;
    }
    json_object_set_new(e, "step", json_string(step_name(s)));
    json_object_set_new(e, "module", json_string(s->mod->name));
    if (r->bundle[0])
        json_object_set_new(e, "bundle", json_string(r->bundle));
    json_object_set_new(e, "status", json_string(status));
    json_object_set_new(e, "duration_ms", json_integer(ms));
    if (output_stolen) {
        if (r->sc->confidential) {
            json_decref(output_stolen);
            output_stolen = json_string("[redacted: confidential scenario]");
        }
        json_object_set_new(e, "output", output_stolen);
    }
    if (error)
        json_object_set(e, "error", error);
    return json_array_append_new(r->log, e) == 0 ? e : NULL;
}

/* log_entry, recorded; state (borrowed, may be NULL) replays the step on a later attempt. */
static json_t *log_step(struct run *r, struct step *s, const char *status, int64_t ms,
                        json_t *output_stolen, json_t *error, json_t *state)
{
    json_t *e = log_entry(r, s, status, ms, output_stolen, error);
    store_step(r, e, s, state);
    return e;
}

static json_t *make_error(struct run *r, struct step *s, enum sc_status st, const char *msg,
                          json_t *detail)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:i}", "message", msg, "kind", sc_status_name(st),
                          "step", step_name(s), "module", s->mod->name,
                          "attempts", r->attempt);
    if (e && detail)
        json_object_update(e, detail);
    return e;
}

/* The watch's deadline for a step that must end at dl (the engine's clock). */
static void watch_step(struct run *r, struct step *s, int64_t dl)
{
    struct sc_watch *w = r->rt->watch;
    pthread_mutex_lock(&w->mu);
    snprintf(w->what, sizeof w->what, "step %s of execution %s", step_name(s), r->id);
    pthread_mutex_unlock(&w->mu);
    atomic_store(&w->deadline_ms, sc_watch_now_ms() + (dl - sc_clock_mono_ms()));
}

static enum sc_status call_step(struct run *r, struct step *s, json_t **outs, json_t **detail,
                                char *err, size_t errlen);

/* A module without a rollback hook that writes to another system: what it did stays. */
static bool sends(const struct sc_module_def *m, const json_t *with)
{
    if (m->rollback || m->access == SC_ACCESS_NONE || m->access == SC_ACCESS_READ)
        return false;
    if (m->access == SC_ACCESS_WRITE)
        return true;
    const char *method = json_string_value(json_object_get(with, "method"));
    return !method || (strcasecmp(method, "GET") && strcasecmp(method, "HEAD"));
}

/* Remembers what a step that ended ok changed (data borrowed). */
static void undo_push(struct run *r, struct step *s, json_t *data, bool sent)
{
    if (!data && !sent)
        return;
    if (r->nundo == r->capundo) {
        size_t cap = r->capundo ? r->capundo * 2 : 8;
        struct undo *v = realloc(r->undos, cap * sizeof *v);
        if (!v) {
            fail_execution(r, NULL);
            return;
        }
        r->undos = v;
        r->capundo = cap;
    }
    struct undo *u = &r->undos[r->nundo++];
    u->s = s;
    u->data = json_incref(data);
    u->sent = sent;
    snprintf(u->bundle, sizeof u->bundle, "%s", r->bundle);
}

static void undo_clear(struct run *r)
{
    for (size_t i = 0; i < r->nundo; i++)
        json_decref(r->undos[i].data);
    free(r->undos);
    r->undos = NULL;
    r->nundo = r->capundo = 0;
}

/* Calls each kept step's commit (or, latest first, rollback) hook; returns what was done
 * as one line for the log (new string), or NULL when nothing was recorded. */
static char *undo_run(struct run *r, bool roll)
{
    struct sc_buf done = {0}, kept = {0}, failed = {0};
    for (size_t k = 0; k < r->nundo; k++) {
        struct undo *u = &r->undos[roll ? r->nundo - 1 - k : k];
        struct step *s = u->s;
        char name[300];
        snprintf(name, sizeof name, "%s%s%s%s", step_name(s), u->bundle[0] ? "[" : "",
                 u->bundle, u->bundle[0] ? "]" : "");
        if (u->sent) {
            if (roll)
                sc_buf_printf(&kept, "%s%s", kept.len ? ", " : "", name);
            continue;
        }
        enum sc_status (*hook)(struct sc_step_ctx *, void *, char *, size_t) =
            roll ? s->mod->rollback : s->mod->commit;
        if (!hook)
            continue;
        struct sc_step_ctx ctx = {.r = r, .s = s, .lua = r->rt->lua, .org = r->rt->org,
                                  .undo = u->data, .deadline = r->deadline};
        char err[512] = "";
        enum sc_status st = hook(&ctx, s->state, err, sizeof err);
        if (st == SC_OK)
            sc_buf_printf(&done, "%s%s", done.len ? ", " : "", name);
        else
            sc_buf_printf(&failed, "%s%s: %s", failed.len ? "; " : "", name,
                          err[0] ? err : sc_status_name(st));
    }
    undo_clear(r);
    if (!roll || (!done.len && !kept.len && !failed.len)) { /* nothing was changed */
        sc_buf_free(&done);
        sc_buf_free(&kept);
        sc_buf_free(&failed);
        return NULL;
    }
    struct sc_buf line = {0};
    sc_buf_printf(&line, "undone: %s", done.len ? done.data : "nothing");
    if (failed.len)
        sc_buf_printf(&line, "; could not undo: %s", failed.data);
    if (kept.len)
        sc_buf_printf(&line, "; cannot be undone (sent): %s", kept.data);
    sc_buf_free(&done);
    sc_buf_free(&kept);
    sc_buf_free(&failed);
    return sc_buf_take(&line);
}

/* Runs one module call for the current bundle; fills *outs (an array) on success and
 * *ms with how long it took. */
static enum sc_status run_step(struct run *r, struct step *s, json_t **outs, json_t **detail,
                               int64_t *ms, char *err, size_t errlen)
{
    struct sc_store *store = r->rt->store;
    if (store && s->mod->access != SC_ACCESS_NONE) { /* a crash now shows this step under way */
        struct sc_step_row row = {.execution = r->id, .step = step_name(s), .module = s->mod->name,
                                  .bundle = r->bundle, .attempt = r->attempt, .status = "running",
                                  .started_ms = sc_clock_now_ms(), .duration_ms = -1};
        if ((r->pending_run = sc_store_step_begin(store, &row)) < 0) {
            r->pending_run = 0;
            snprintf(err, errlen, "the store failed: %s", sc_store_error(store));
            *ms = 0;
            return SC_ERR_STORE;
        }
    }
    r->vars_touched = false;
    int64_t t0 = sc_clock_mono_ms();
    enum sc_status st = call_step(r, s, outs, detail, err, errlen);
    *ms = sc_clock_mono_ms() - t0;
    return st;
}

static enum sc_status call_step(struct run *r, struct step *s, json_t **outs, json_t **detail,
                                char *err, size_t errlen)
{
    struct sc_lua *lua = r->rt->lua;
    int64_t now = sc_clock_mono_ms();
    if (now >= r->deadline) {
        snprintf(err, errlen, "the execution ran over its time limit (settings.timeout, %lld s)",
                 (long long)(r->sc->timeout_ms / 1000));
        return SC_ERR_LIMIT;
    }
    int64_t dl = now + s->timeout_ms < r->deadline ? now + s->timeout_ms : r->deadline;
    sc_lua_budget(lua, SC_LUA_INSTRUCTIONS, dl);
    if (r->rt->watch) /* from here: rendering its parameters runs Lua too */
        watch_step(r, s, dl);
    enum sc_status st;
    json_t *with = sc_tmpl_render(s->tmpl, lua, &st, err, errlen);
    if (!with) {
        if (r->rt->watch)
            atomic_store(&r->rt->watch->deadline_ms, 0);
        return st;
    }
    struct sc_step_ctx ctx = {.r = r, .s = s, .lua = lua, .org = r->rt->org, .out = json_array(),
                              .max = r->sc->max_bundles, .deadline = dl};
    if (!ctx.out) {
        if (r->rt->watch)
            atomic_store(&r->rt->watch->deadline_ms, 0);
        json_decref(with);
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    err[0] = '\0';
    st = s->mod->run ? s->mod->run(&ctx, s->state, with, r->input, err, errlen) : SC_ERR_CONFIG;
    if (r->rt->watch)
        atomic_store(&r->rt->watch->deadline_ms, 0);
    if (!s->mod->run)
        snprintf(err, errlen, "module %s cannot run yet", s->mod->name);
    if (st != SC_OK && st != SC_ERR_LIMIT && sc_clock_mono_ms() >= dl) { /* cut at its deadline */
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        st = SC_ERR_LIMIT;
        snprintf(err, errlen, "step ran over its time limit of %lld ms and was abandoned (%s)",
                 (long long)s->timeout_ms, why);
    }
    if (st == SC_OK && ctx.oom) {
        st = SC_ERR_RUNTIME;
        snprintf(err, errlen, "out of memory");
    }
    if (st == SC_OK && ctx.over) {
        st = SC_ERR_LIMIT;
        snprintf(err, errlen, "step emitted more than %ld bundles (settings.max_bundles)",
                 ctx.max);
    }
    if (st == SC_OK && sc_clock_mono_ms() > dl) {
        st = SC_ERR_LIMIT;
        snprintf(err, errlen, "step ran over its time limit of %lld ms",
                 (long long)s->timeout_ms);
    }
    if (st != SC_OK && !err[0])
        snprintf(err, errlen, "%s failed", s->mod->name);
    if (st == SC_OK)
        *outs = ctx.out;
    else
        json_decref(ctx.out);
    *detail = ctx.detail;
    if (st == SC_OK && ctx.held)
        r->held = ctx.held;
    else
        json_decref(ctx.held);
    r->park_ms = st == SC_OK ? ctx.park_ms : 0;
    json_decref(r->pending_undo);
    r->pending_undo = st == SC_OK ? ctx.undo : NULL;
    if (st != SC_OK)
        json_decref(ctx.undo);
    r->pending_sent = st == SC_OK && sends(s->mod, with);
    json_decref(with);
    return st;
}

static void run_list(struct run *r, struct steplist *l, size_t i, struct agg *sink);

/* Per-bundle copies of vars: what one bundle sets is not seen by its siblings. */
static json_t *fork_vars(struct run *r)
{
    json_t *saved = r->vars, *copy = json_copy(saved);
    if (copy) {
        r->vars = copy;
        set_ctx(r, "vars", copy);
    }
    return saved;
}

static void join_vars(struct run *r, json_t *saved)
{
    if (r->vars != saved) {
        json_decref(r->vars);
        r->vars = saved;
        set_ctx(r, "vars", saved);
    }
}

static void fail_execution(struct run *r, json_t *error)
{
    r->stop = true;
    r->ended_error = true;
    if (!r->fail)
        r->fail = error ? json_incref(error)
                        : json_pack("{s:s, s:s}", "message", "out of memory", "kind", "runtime");
}

/* The wait before the next attempt: interval, doubled per attempt made when the
 * backoff is exponential (capped by max_interval), spread by up to 20% when jitter is on
 * (from the execution id, so a replayed test sees the same), never shorter than the
 * Retry-After the failed answer asked for. */
static int64_t retry_delay(struct run *r, json_t *opts, json_t *error)
{
    int64_t d = duration_ms(json_object_get(opts, "interval"), 60000);
    int64_t cap = duration_ms(json_object_get(opts, "max_interval"), 7 * 24 * 3600 * 1000LL);
    if (!strcmp(json_string_value(json_object_get(opts, "backoff")) ?: "", "exponential"))
        for (int k = 1; k < r->attempt && d < cap; k++)
            d *= 2;
    if (d > cap)
        d = cap;
    if (json_is_true(json_object_get(opts, "jitter"))) {
        uint32_t h = 2166136261u; /* FNV-1a of id and attempt */
        for (const char *c = r->id; *c; c++)
            h = (h ^ (unsigned char)*c) * 16777619u;
        h = (h ^ (uint32_t)r->attempt) * 16777619u;
        d += d * (int64_t)(h % 201) / 1000;
    }
    json_t *ra = json_object_get(error, "retry_after_ms");
    if (json_is_integer(ra) && json_integer_value(ra) > d)
        d = json_integer_value(ra);
    return d;
}

/* Runs the error route for a failed step. Returns the outputs to go on with (resume)
 * or NULL when this bundle stops here. A break that will be retried stays quiet: the
 * route's steps (the notify) run once, when no attempt is left. */
static json_t *handle_error(struct run *r, struct step *s, enum sc_status st, const char *msg,
                            json_t *detail, int64_t ms)
{
    struct route *rt = s->route ? s->route : r->sc->route;
    json_t *error = make_error(r, s, st, msg, detail);
    if (!error) {
        fail_execution(r, NULL);
        return NULL;
    }
    log_step(r, s, "error", ms, NULL, error, NULL);
    if (!rt || r->stop) {
        fail_execution(r, error);
        json_decref(error);
        return NULL;
    }
    bool retryable = false, final = true;
    if (rt->dir == DIR_BREAK) {
        retryable = st != SC_ERR_CONFIG &&
                    ((st != SC_ERR_DATA && st != SC_ERR_RUNTIME) ||
                     json_is_true(json_object_get(rt->opts, "retry_data_errors")));
        final = !retryable || r->attempt >= json_integer_value(json_object_get(rt->opts, "attempts"));
    }
    r->error = error;
    set_ctx(r, "error", error);
    json_t *outs = NULL;
    for (size_t i = 0; final && i < rt->steps.n && !r->stop; i++) {
        struct step *hs = &rt->steps.v[i];
        json_t *o = NULL, *d = NULL;
        char herr[1024];
        int64_t hms;
        enum sc_status hst = run_step(r, hs, &o, &d, &hms, herr, sizeof herr);
        json_decref(r->pending_undo); /* the route's own steps are not rolled back */
        r->pending_undo = NULL;
        r->pending_sent = false;
        if (hst == SC_OK) {
            log_step(r, hs, "ok", hms, json_incref(json_array_get(o, 0)), NULL, NULL);
        } else {
            json_t *he = make_error(r, hs, hst, herr, d);
            log_step(r, hs, "error", hms, NULL, he, NULL);
            fail_execution(r, he); /* an error route that fails leaves nobody informed */
            json_decref(he);
        }
        json_decref(o);
        json_decref(d);
    }
    if (!r->stop) {
        json_t *state = NULL; /* resume and ignore replay as the step's outcome */
        if (rt->dir == DIR_RESUME) {
            enum sc_status rst;
            char rerr[512];
            sc_lua_budget(r->rt->lua, SC_LUA_INSTRUCTIONS, r->deadline); /* its own, as a filter's */
            json_t *o = sc_tmpl_render(rt->resume, r->rt->lua, &rst, rerr, sizeof rerr);
            if (o)
                outs = json_pack("[o]", o);
            else {
                json_t *re = make_error(r, s, rst, rerr, NULL);
                fail_execution(r, re);
                json_decref(re);
            }
            state = outs ? json_pack("{s:O}", "outs", outs) : NULL;
        } else if (rt->dir == DIR_IGNORE) {
            state = json_pack("{s:[]}", "outs");
        }
        char *note = NULL; /* rollback: what was undone, and what cannot be */
        if (!r->stop && (rt->dir == DIR_ROLLBACK || rt->dir == DIR_COMMIT))
            note = undo_run(r, rt->dir == DIR_ROLLBACK);
        if (!r->stop) {
            json_t *entry = json_pack("{s:s, s:s, s:s}", "step", step_name(s),
                                      "module", "on_error", "status", directive_names[rt->dir]);
            if (entry && r->bundle[0])
                json_object_set_new(entry, "bundle", json_string(r->bundle));
            if (entry && note)
                json_object_set_new(entry, "output", json_string(note));
            if (json_array_append_new(r->log, entry) == 0)
                store_step(r, entry, s, state);
        }
        free(note);
        json_decref(state);
        switch (rt->dir) {
        case DIR_IGNORE:
        case DIR_RESUME:
            break;
        case DIR_BREAK: {
            json_t *input = r->sc->confidential ? json_string("[redacted: confidential scenario]")
                                                : json_incref(r->input ? r->input : json_null());
            json_t *inc = json_pack("{s:s, s:s, s:o, s:O, s:O, s:b, s:i, s:b}", "step",
                                    step_name(s), "bundle", r->bundle[0] ? r->bundle : "1",
                                    "input", input, "error", error, "retry", rt->opts,
                                    "retryable", retryable, "attempt", r->attempt, "final", final);
            if (inc && !final)
                json_object_set_new(inc, "next_in_ms", json_integer(retry_delay(r, rt->opts, error)));
            if (!inc || json_array_append_new(r->incomplete, inc) != 0)
                fail_execution(r, NULL);
            break;
        }
        case DIR_COMMIT:
            r->stop = true;
            r->committed = true;
            break;
        case DIR_ROLLBACK:
            fail_execution(r, error);
            break;
        }
    }
    set_ctx(r, "error", NULL);
    r->error = NULL;
    json_decref(error);
    return outs;
}

static void set_output(struct run *r, struct step *s, json_t *out)
{
    if (s->id)
        json_object_set(r->steps, s->id, out);
}

static void push_bundle(struct run *r, size_t k)
{
    size_t n = strlen(r->bundle);
    snprintf(r->bundle + n, sizeof r->bundle - n, "%s%zu", n ? "." : "", k);
}

/* A condition outside any step (filters, route filters) gets its own Lua budget. */
static enum sc_status test_condition(struct run *r, const struct sc_tmpl *t, bool *pass,
                                     char *err, size_t errlen)
{
    sc_lua_budget(r->rt->lua, SC_LUA_INSTRUCTIONS, r->deadline);
    return sc_tmpl_test(t, r->rt->lua, pass, err, errlen);
}

static void run_router(struct run *r, struct step *s)
{
    json_t *taken = json_array();
    int64_t t0 = sc_clock_mono_ms();
    bool any = false;
    for (size_t i = 0; i < s->nbranches && !r->stop; i++) {
        struct branch *br = &s->branches[i];
        bool ok = true;
        if (br->filter) {
            char err[1024];
            enum sc_status st = test_condition(r, br->filter, &ok, err, sizeof err);
            if (st != SC_OK) {
                char msg[1200];
                snprintf(msg, sizeof msg, "route '%s' filter: %s", br->name, err);
                json_t *e = make_error(r, s, st, msg, NULL);
                log_step(r, s, "error", 0, NULL, e, NULL);
                fail_execution(r, e);
                json_decref(e);
                break;
            }
        }
        if (!ok)
            continue;
        any = true;
        json_array_append_new(taken, json_string(br->name));
    }
    bool fb = !any && !r->stop && s->fallback.n;
    if (fb)
        json_array_append_new(taken, json_string("fallback"));
    if (r->stop) {
        json_decref(taken);
        return;
    }
    log_step(r, s, json_array_size(taken) ? "ok" : "filtered", sc_clock_mono_ms() - t0,
             json_pack("{s:O}", "routes", taken), NULL, NULL);
    size_t k = 0;
    for (size_t i = 0; i < s->nbranches && !r->stop; i++) {
        const char *name = json_string_value(json_array_get(taken, k));
        if (!name || strcmp(name, s->branches[i].name))
            continue;
        k++;
        json_t *saved = fork_vars(r);
        run_list(r, &s->branches[i].steps, 0, NULL);
        join_vars(r, saved);
    }
    if (fb)
        run_list(r, &s->fallback, 0, NULL);
    json_decref(taken);
}

/* On a further attempt, the outputs a step recorded last time (and the vars it set):
 * a step that ended never runs twice. NULL when it has to run. */
static json_t *replayed(struct run *r, struct step *s)
{
    if (!r->journal || !s->id)
        return NULL;
    char key[600];
    snprintf(key, sizeof key, "%s %s", s->id, r->bundle);
    json_t *e = json_object_get(r->journal, key);
    json_t *outs = json_object_get(e, "outs"), *vars = json_object_get(e, "vars");
    if (!json_is_array(outs))
        return NULL;
    if (json_is_object(vars) && json_object_update(r->vars, vars) != 0)
        fail_execution(r, NULL);
    undo_push(r, s, json_object_get(e, "undo"), json_is_true(json_object_get(e, "sent")));
    return json_incref(outs);
}


/* The step just run parked this bundle till r->park_ms (a sleep): an incomplete entry
 * due then, like a retry; the steps after it run when it wakes, in the same attempt. */
static void park(struct run *r, struct step *s)
{
    int64_t now = sc_clock_now_ms(), wake = r->park_ms;
    char until[40];
    sc_clock_iso(wake, until, sizeof until);
    r->park_ms = 0;
    json_t *inc = json_pack("{s:s, s:s, s:{s:s, s:s}, s:I, s:i}", "step", step_name(s),
                            "bundle", r->bundle[0] ? r->bundle : "1", "sleep", "until", until,
                            "message", "sleeping", "next_in_ms",
                            (json_int_t)(wake > now ? wake - now : 0), "attempt", r->attempt);
    if (!inc || json_array_append_new(r->incomplete, inc) != 0)
        fail_execution(r, NULL);
}

static void run_list(struct run *r, struct steplist *l, size_t i, struct agg *sink)
{
    for (; i < l->n && !r->stop; i++) {
        struct step *s = &l->v[i];
        if (sink && s == sink->step) { /* the end of an iterator's branch: collect */
            json_t *with = NULL;
            enum sc_status st;
            char err[1024];
            sc_lua_budget(r->rt->lua, SC_LUA_INSTRUCTIONS, r->deadline);
            json_t *value = json_object_get(s->with, "value");
            if (value)
                with = sc_tmpl_render(s->tmpl, r->rt->lua, &st, err, sizeof err);
            json_t *item = value ? json_object_get(with, "value") : r->input;
            if (value && !with) {
                json_t *e = make_error(r, s, st, err, NULL);
                log_step(r, s, "error", 0, NULL, e, NULL);
                fail_execution(r, e);
                json_decref(e);
            } else {
                json_array_append(sink->items, item ? item : json_null());
            }
            json_decref(with);
            return;
        }
        json_t *outs = replayed(r, s);
        if (!outs && s->filter) {
            bool pass = true;
            char err[1024];
            enum sc_status st = test_condition(r, s->filter, &pass, err, sizeof err);
            if (st != SC_OK) {
                char msg[1200];
                snprintf(msg, sizeof msg, "filter: %s", err);
                json_decref(handle_error(r, s, st, msg, NULL, 0)); /* a filter that fails
                                                                     cannot be resumed past */
                return;
            }
            if (!pass) {
                log_step(r, s, "filtered", 0, NULL, NULL, NULL);
                return;
            }
        }
        if (!outs && s->branches) {
            run_router(r, s);
            return;
        }
        if (!outs) {
            json_t *detail = NULL;
            char err[2048];
            int64_t ms;
            enum sc_status st = run_step(r, s, &outs, &detail, &ms, err, sizeof err);
            json_t *undo = r->pending_undo;
            bool sent = r->pending_sent;
            r->pending_undo = NULL;
            r->pending_sent = false;
            if (st == SC_OK && !r->held)
                undo_push(r, s, undo, sent);
            if (st == SC_OK && r->held) { /* no replay state: the next attempt asks again */
                json_t *e = log_entry(r, s, "held", ms, json_incref(r->held), NULL);
                store_step(r, e, s, NULL);
                json_t *inc = json_pack("{s:s, s:s, s:O, s:b, s:b, s:i}", "step", step_name(s),
                                        "bundle", r->bundle[0] ? r->bundle : "1", "hold", r->held,
                                        "held", 1, "final", 1, "attempt", r->attempt);
                if (!inc || json_array_append_new(r->incomplete, inc) != 0)
                    fail_execution(r, NULL);
                json_decref(r->held);
                r->held = NULL;
                json_decref(outs);
                json_decref(detail);
                return;
            }
            if (st == SC_OK) {
                size_t n = json_array_size(outs);
                json_t *e = log_entry(r, s, "ok", ms, n == 1 ? json_incref(json_array_get(outs, 0))
                                                               : NULL, NULL);
                if (e && n != 1) /* a fan-out: the bundles show in the steps after */
                    json_object_set_new(e, "bundles", json_integer((json_int_t)n));
                json_t *state = NULL;
                if (r->rt->store && (state = json_pack("{s:O}", "outs", outs)) && r->vars_touched)
                    json_object_set(state, "vars", r->vars);
                if (state && undo) /* a later attempt's rollback can still undo it */
                    json_object_set(state, "undo", undo);
                if (state && sent)
                    json_object_set_new(state, "sent", json_true());
                if (r->rt->store && !state)
                    fail_execution(r, NULL);
                store_step(r, e, s, state);
                json_decref(state);
                if (r->park_ms > 0) { /* it replays as done: the next attempt goes on after it */
                    park(r, s);
                    json_decref(outs);
                    json_decref(detail);
                    return;
                }
            } else {
                outs = handle_error(r, s, st, err, detail, ms);
            }
            json_decref(undo);
            json_decref(detail);
        }
        if (!outs || r->stop) {
            json_decref(outs);
            return;
        }
        size_t n = json_array_size(outs);
        if (n == 1 && !s->agg) {
            json_t *keep = json_incref(json_array_get(outs, 0));
            json_decref(outs);
            set_output(r, s, keep);
            r->input = keep;
            run_list(r, l, i + 1, sink);
            json_decref(keep);
            return;
        }
        /* Fan-out: the rest of the list runs once per bundle. */
        size_t blen = strlen(r->bundle);
        struct agg collect = {0};
        if (s->agg) {
            collect.step = &l->v[s->agg - 1];
            if (!(collect.items = json_array())) {
                json_decref(outs);
                fail_execution(r, NULL);
                return;
            }
        }
        size_t k;
        json_t *b;
        json_array_foreach(outs, k, b) {
            if (r->stop)
                break;
            set_output(r, s, b);
            r->input = b;
            push_bundle(r, k + 1);
            json_t *saved = fork_vars(r);
            run_list(r, l, i + 1, s->agg ? &collect : sink);
            join_vars(r, saved);
            r->bundle[blen] = '\0';
        }
        json_decref(outs);
        if (!s->agg)
            return;
        /* After the aggregate the list goes on once, with the collected array. */
        struct step *as = collect.step;
        if (!r->stop) {
            for (size_t j = i + 1; j < s->agg - 1; j++)
                if (l->v[j].id)
                    json_object_del(r->steps, l->v[j].id); /* per-bundle outputs end here */
            log_step(r, as, "ok", 0, json_incref(collect.items), NULL, NULL);
            set_output(r, as, collect.items);
            r->input = collect.items;
        }
        json_t *keep = collect.items;
        if (!r->stop)
            run_list(r, l, s->agg, sink);
        json_decref(keep);
        return;
    }
}

void sc_exec_new_id(char *buf, size_t n)
{
    static unsigned long counter;
    char ts[40];
    sc_clock_iso(sc_clock_now_ms(), ts, sizeof ts);
    /* 2026-03-08T07:59:00.000Z -> 20260308-075900-xxxxxx: a counter on the test clock,
     * else 48 random bits (10,000 events a second must not collide) */
    if (sc_clock_is_test()) {
        unsigned long c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        snprintf(buf, n, "%.4s%.2s%.2s-%.2s%.2s%.2s-%06lx", ts, ts + 5, ts + 8, ts + 11, ts + 14,
                 ts + 17, c & 0xffffff);
        return;
    }
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
        rnd = (uint64_t)sc_clock_mono_ms() ^ ((uint64_t)getpid() << 24);
    snprintf(buf, n, "%.4s%.2s%.2s-%.2s%.2s%.2s-%012llx", ts, ts + 5, ts + 8, ts + 11, ts + 14,
             ts + 17, (unsigned long long)(rnd & 0xffffffffffffULL));
}

/* The execution's id and URL, as expressions see them. */
static int set_id(struct run *r, const char *id)
{
    snprintf(r->id, sizeof r->id, "%s", id);
    char *url = sc_asprintf("%s/executions/%s", r->org_url, r->id);
    int rc = url && r->execution ? json_object_set_new(r->execution, "url", json_string(url)) |
                                   json_object_set_new(r->execution, "id", json_string(r->id))
                                 : -1;
    free(url);
    return rc;
}

/* A new execution is recorded before its first step; a further attempt reads what
 * the earlier ones recorded. -1 (the execution failed) when the store cannot. */
static int store_begin(struct run *r, json_t *trigger, const char *source, int64_t started_ms)
{
    struct sc_store *st = r->rt->store;
    if (!st)
        return 0;
    int rc;
    if (r->attempt > 1 || r->wakes) {
        rc = (r->journal = sc_store_journal(st, r->id)) ? 0 : -1;
    } else if (r->queued) {
        rc = 0; /* recorded when it was queued, claimed by the caller */
    } else {
        struct sc_exec_row row = {.id = r->id, .scenario = r->sc->name,
                                  .org = r->rt->org ? r->rt->org->name : "none",
                                  .version = r->version, .source = source, .trigger = trigger,
                                  .confidential = r->sc->confidential, .started_ms = started_ms};
        /* a made id can be taken (another process on the test clock): make another */
        for (int tries = 0; (rc = sc_store_exec_begin(st, &row)) == 1 && !r->fixed_id &&
                            tries < 100000; tries++) {
            char id[64];
            sc_exec_new_id(id, sizeof id);
            if (set_id(r, id) != 0)
                break;
        }
        rc = rc == 0 ? 0 : -1;
    }
    if (rc != 0) {
        json_t *e = store_error(r->attempt > 1 || r->wakes ? "reading the execution's steps failed"
                                               : "recording the execution failed", st);
        fail_execution(r, e);
        json_decref(e);
    }
    return rc;
}

/* Ends the attempt in the store: the execution's status, and its incomplete entry: the
 * next attempt due (the longest wait any broken bundle asked for), or a person's turn. */
static void store_end(struct run *r, json_t *rec)
{
    struct sc_store *st = r->rt->store;
    const char *status = json_string_value(json_object_get(rec, "status"));
    json_t *summary = json_object(), *inc = json_object_get(rec, "incomplete");
    int rc = summary ? 0 : -1;
    for (const char *k = "url\0error\0incomplete\0response\0committed\0"; rc == 0 && *k;
         k += strlen(k) + 1)
        if (json_object_get(rec, k))
            rc = json_object_set(summary, k, json_object_get(rec, k));
    json_t *first = json_array_get(inc, 0);
    if (rc == 0 && first) {
        int64_t wait = -1;
        size_t i;
        json_t *e;
        json_array_foreach(inc, i, e) {
            if (!json_is_true(json_object_get(e, "final"))) {
                int64_t w = json_integer_value(json_object_get(e, "next_in_ms"));
                wait = w > wait ? w : wait;
            }
        }
        struct sc_incomplete_row row = {
            .execution = r->id, .scenario = r->sc->name,
            .step = json_string_value(json_object_get(first, "step")),
            .bundle = json_string_value(json_object_get(first, "bundle")),
            .error = json_object_get(first, "error"), .attempts = r->attempt,
            /* 0: no automatic retry (a hold, a data or runtime error): no "of N" to show */
            .max_attempts = json_is_true(json_object_get(first, "retryable"))
                                ? (int)json_integer_value(
                                      json_object_get(json_object_get(first, "retry"), "attempts"))
                                : 0,
            .next_ms = wait >= 0 ? sc_clock_now_ms() + wait : 0,
            .state = !strcmp(status, "held") ? "held" : wait >= 0 ? "pending" : "exhausted"};
        if (!row.error) /* a hold is no error: its reason stands in */
            row.error = json_object_get(first, "hold");
        if (!row.error) /* nor a sleep: its wake time */
            row.error = json_object_get(first, "sleep");
        rc = sc_store_incomplete_put(st, &row);
    } else if (rc == 0 && (r->attempt > 1 || r->wakes)) {
        rc = sc_store_incomplete_close(st, r->id, strcmp(status, "success") ? "failed" : "done",
                                       "scenarist") < 0 ? -1 : 0;
    }
    bool resumes = !strcmp(status, "warning") || !strcmp(status, "held") ||
                   !strcmp(status, "sleeping"); /* a later attempt */
    for (size_t i = 0; resumes && rc == 0 && i < json_array_size(r->deferred); i++) {
        json_t *d = json_array_get(r->deferred, i);
        rc = sc_store_step_state(st, json_integer_value(json_array_get(d, 0)),
                                 json_array_get(d, 1), r->sc->confidential);
    }
    if (rc == 0)
        rc = sc_store_exec_end(st, r->id, status,
                               json_integer_value(json_object_get(rec, "duration_ms")), summary,
                               r->attempt > 1 || r->wakes || r->kept_state); /* earlier runs' too */
    json_decref(summary);
    if (rc != 0) { /* say so in the record: the caller must not report success */
        json_object_set_new(rec, "status", json_string("error"));
        json_object_set_new(rec, "error", store_error("recording the execution's end failed", st));
    }
}

json_t *sc_exec_run(struct sc_scenario *sc, struct sc_runtime *rt, json_t *trigger,
                    const struct sc_exec_opts *opts)
{
    struct run r = {.sc = sc, .rt = rt};
    r.version = opts && opts->version ? opts->version : "draft";
    r.attempt = opts && opts->attempt > 1 ? opts->attempt : 1;
    r.wakes = opts && opts->wakes;
    r.queued = opts && opts->queued;
    r.atomic = opts && opts->atomic;
    r.fixed_id = opts && opts->id;
    if (opts && opts->id)
        snprintf(r.id, sizeof r.id, "%s", opts->id);
    else
        sc_exec_new_id(r.id, sizeof r.id);
    char started[40];
    int64_t started_ms = sc_clock_now_ms();
    sc_clock_iso(started_ms, started, sizeof started);
    const char *org = rt->org ? rt->org->name : "none";
    r.org_url = rt->org ? json_string_value(json_object_get(rt->org->doc->root, "base_url"))
                        : NULL;
    if (!r.org_url) {
        snprintf(r.url_buf, sizeof r.url_buf, "scenarist://%s", org);
        r.org_url = r.url_buf;
    }
    char *url = sc_asprintf("%s/executions/%s", r.org_url, r.id);
    r.log = json_array();
    r.steps = json_object();
    r.vars = json_object();
    r.incomplete = json_array();
    r.execution = url ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", r.id, "scenario",
                                  sc->name, "org", org, "version", r.version, "url", url,
                                  "started_at", started)
                      : NULL;
    free(url);
    json_t *env = rt->org ? json_object_get(rt->org->doc->root, "settings") : NULL;
    json_t *empty_env = env ? NULL : json_object();
    if (!r.log || !r.steps || !r.vars || !r.incomplete || !r.execution || (!env && !empty_env)) {
        json_decref(r.log);
        json_decref(r.steps);
        json_decref(r.vars);
        json_decref(r.incomplete);
        json_decref(r.execution);
        json_decref(empty_env);
        return NULL;
    }
    set_ctx(&r, "trigger", trigger);
    set_ctx(&r, "steps", r.steps);
    set_ctx(&r, "vars", r.vars);
    set_ctx(&r, "execution", r.execution);
    set_ctx(&r, "env", env ? env : empty_env);
    set_ctx(&r, "error", NULL);
    r.t0 = sc_clock_mono_ms();
    r.deadline = r.t0 + sc->timeout_ms;
    r.input = trigger;
    if (r.attempt > 1 || r.wakes)
        json_object_set_new(r.execution, "attempt", json_integer(r.attempt));
    if (store_begin(&r, trigger, opts ? opts->source : NULL, started_ms) == 0)
        run_list(&r, &sc->steps, 0, NULL);
    for (const char *n = "trigger\0steps\0vars\0execution\0env\0"; *n; n += strlen(n) + 1)
        set_ctx(&r, n, NULL);
    if (!r.ended_error && !json_array_size(r.incomplete)) /* a success keeps what it did */
        free(undo_run(&r, false));
    undo_clear(&r);
    json_decref(r.pending_undo);
    sc_lua_forget(rt->lua);
    bool held = false, sleeping = json_array_size(r.incomplete) > 0;
    size_t hi;
    json_t *he;
    json_array_foreach(r.incomplete, hi, he) {
        held |= json_is_true(json_object_get(he, "held"));
        sleeping &= json_object_get(he, "sleep") != NULL;
    }
    const char *status = r.ended_error ? "error" : held ? "held" : sleeping ? "sleeping"
                       : json_array_size(r.incomplete) ? "warning" : "success";
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o}", "id", r.id, "scenario",
                            sc->name, "org", org, "version", r.version, "status", status,
                            "started_at", started, "duration_ms",
                            (json_int_t)(sc_clock_mono_ms() - r.t0 + (r.wakes ? opts->before_ms : 0)),
                            "steps", r.log);
    if (rec && (json_object_set(rec, "url", json_object_get(r.execution, "url")) ||
                (r.fail && json_object_set(rec, "error", r.fail)) ||
                (json_array_size(r.incomplete) &&
                 json_object_set(rec, "incomplete", r.incomplete)) ||
                (r.response && json_object_set(rec, "response", r.response)) ||
                (r.committed && json_object_set_new(rec, "committed", json_true())) ||
                ((r.attempt > 1 || r.wakes) &&
                 json_object_set_new(rec, "attempt", json_integer(r.attempt))))) {
        json_decref(rec); /* a record with a part missing would mislead: none at all */
        rec = NULL;
    }
    if (rec && rt->store)
        store_end(&r, rec);
    if (rt->store) /* ended, recorded or not: its lease is left to lapse */
        sc_store_exec_release(r.id);
    json_decref(r.journal);
    json_decref(r.deferred);
    json_decref(r.fail);
    json_decref(r.response);
    json_decref(r.steps);
    json_decref(r.vars);
    json_decref(r.incomplete);
    json_decref(r.execution);
    json_decref(empty_env);
    return rec;
}

/* ---- the step context ---- */

size_t sc_scenario_polls(const struct sc_scenario *sc, size_t *triggers, size_t max)
{
    for (size_t i = 0; i < sc->npolls && i < max; i++)
        triggers[i] = sc->polls[i].trigger;
    return sc->npolls;
}

/* Renders a key: a string as it is, a number or boolean as JSON text. */
static char *key_text(json_t *v)
{
    if (json_is_string(v))
        return sc_strdup(json_string_value(v));
    if (json_is_null(v) || json_is_object(v) || json_is_array(v))
        return NULL;
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

enum sc_status sc_exec_poll(struct sc_scenario *sc, struct sc_runtime *rt, size_t trigger,
                            int64_t since_ms, int64_t until_ms, json_t **items, char *err, size_t errlen)
{
    *items = NULL;
    struct poll *pl = NULL;
    for (size_t i = 0; i < sc->npolls; i++)
        if (sc->polls[i].trigger == trigger)
            pl = &sc->polls[i];
    if (!pl) {
        snprintf(err, errlen, "trigger %zu is not a poll", trigger);
        return SC_ERR_CONFIG;
    }
    char since[40], now[40], until[40];
    sc_clock_iso(since_ms, since, sizeof since);
    sc_clock_iso(sc_clock_now_ms(), now, sizeof now);
    sc_clock_iso(until_ms, until, sizeof until);
    struct run r = {.sc = sc, .rt = rt, .version = "poll", .attempt = 1};
    snprintf(r.id, sizeof r.id, "poll");
    r.org_url = "scenarist://poll";
    r.t0 = sc_clock_mono_ms();
    r.deadline = r.t0 + sc->timeout_ms;
    json_t *ctx = json_pack("{s:s, s:I, s:s, s:I, s:s}", "since", since, "since_ms",
                            (json_int_t)since_ms, "until", until, "until_ms", (json_int_t)until_ms,
                            "now", now);
    json_t *env = rt->org ? json_object_get(rt->org->doc->root, "settings") : NULL;
    struct sc_lua *lua = rt->lua;
    json_t *outs = NULL, *detail = NULL, *list = NULL, *res = json_array();
    enum sc_status st = SC_ERR_RUNTIME;
    snprintf(err, errlen, "out of memory");
    if (!ctx || !res || sc_lua_set(lua, "poll", ctx) || sc_lua_set(lua, "env", env))
        goto out;
    st = call_step(&r, &pl->step, &outs, &detail, err, errlen);
    json_decref(detail);
    if (st != SC_OK)
        goto out;
    if (sc_lua_set(lua, "output", json_array_get(outs, 0)) != 0) {
        st = SC_ERR_RUNTIME;
        goto out;
    }
    sc_lua_budget(lua, SC_LUA_INSTRUCTIONS, r.deadline);
    if (!(list = sc_tmpl_render(pl->items, lua, &st, err, errlen)))
        goto out;
    if (!json_is_array(list)) {
        st = SC_ERR_DATA;
        snprintf(err, errlen, "poll items must be a list, not %s", json_is_object(list)
                 ? "an object" : json_is_string(list) ? "a string" : "a scalar");
        goto out;
    }
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        json_t *k;
        if (sc_lua_set(lua, "item", item) != 0 || !(k = sc_tmpl_render(pl->key, lua, &st, err,
                                                                       errlen))) {
            if (st == SC_OK)
                st = SC_ERR_RUNTIME;
            goto out;
        }
        char *text = key_text(k);
        json_decref(k);
        if (!text || !*text) {
            st = SC_ERR_DATA;
            snprintf(err, errlen, "poll item %zu has no key (the key template gave nothing)", i);
            free(text);
            goto out;
        }
        json_t *e = json_pack("{s:s, s:O}", "key", text, "item", item);
        free(text);
        if (!e || json_array_append_new(res, e) != 0) {
            st = SC_ERR_RUNTIME;
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    *items = json_incref(res);
    st = SC_OK;
out:
    for (const char *n = "poll\0env\0output\0item\0"; *n; n += strlen(n) + 1)
        sc_lua_set(lua, n, NULL);
    json_decref(r.pending_undo);
    sc_lua_forget(lua);
    json_decref(ctx);
    json_decref(outs);
    json_decref(list);
    json_decref(res);
    return st;
}

int sc_step_emit(struct sc_step_ctx *ctx, json_t *out)
{
    if (out && (long)json_array_size(ctx->out) >= ctx->max) {
        ctx->over = true;
        json_decref(out);
        return -1;
    }
    if (!out || json_array_append_new(ctx->out, out) != 0) {
        ctx->oom = true;
        return -1;
    }
    return 0;
}

struct sc_lua *sc_step_lua(struct sc_step_ctx *ctx) { return ctx->lua; }
struct sc_http *sc_step_http(struct sc_step_ctx *ctx) { return ctx->r ? ctx->r->rt->http : NULL; }
const struct sc_org *sc_step_org(struct sc_step_ctx *ctx) { return ctx->org; }
const char *sc_step_id(struct sc_step_ctx *ctx) { return step_name(ctx->s); }
const char *sc_step_scenario(struct sc_step_ctx *ctx) { return ctx->r ? ctx->r->sc->name : ""; }
json_t *sc_step_vars(struct sc_step_ctx *ctx)
{
    if (!ctx->r)
        return NULL;
    ctx->r->vars_touched = true;
    return ctx->r->vars;
}
json_t *sc_step_error(struct sc_step_ctx *ctx) { return ctx->r ? ctx->r->error : NULL; }

int sc_step_set_undo(struct sc_step_ctx *ctx, json_t *undo)
{
    if (!undo)
        return -1;
    json_decref(ctx->undo);
    ctx->undo = undo;
    return 0;
}

json_t *sc_step_undo(struct sc_step_ctx *ctx) { return ctx->undo; }
json_t *sc_step_execution(struct sc_step_ctx *ctx) { return ctx->r ? ctx->r->execution : NULL; }

const char *sc_step_sent_from(struct sc_step_ctx *ctx)
{
    struct run *r = ctx->r;
    if (r && !ctx->sent_from[0])
        snprintf(ctx->sent_from, sizeof ctx->sent_from, "%s/scenarios/%s/versions/%s/steps/%s",
                 r->org_url, r->sc->name, r->version, step_name(ctx->s));
    return ctx->sent_from;
}

const char *sc_step_idempotency_key(struct sc_step_ctx *ctx)
{
    struct run *r = ctx->r;
    if (r && !ctx->idem[0])
        snprintf(ctx->idem, sizeof ctx->idem, "%s:%s:%s", r->id, step_name(ctx->s),
                 r->bundle[0] ? r->bundle : "1");
    return ctx->idem;
}
bool sc_step_confidential(struct sc_step_ctx *ctx) { return ctx->r && ctx->r->sc->confidential; }

int64_t sc_step_time_left_ms(struct sc_step_ctx *ctx)
{
    int64_t left = ctx->deadline - sc_clock_mono_ms();
    return left > 0 ? left : 0;
}

int64_t sc_step_abandon_left_ms(struct sc_step_ctx *ctx)
{
    struct sc_watch *w = ctx->r ? ctx->r->rt->watch : NULL;
    return sc_step_time_left_ms(ctx) + (w ? w->grace_ms : 0);
}

int64_t sc_watch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void sc_step_error_detail(struct sc_step_ctx *ctx, const char *key, json_t *value)
{
    if (!value)
        return;
    if (!ctx->detail)
        ctx->detail = json_object();
    if (!ctx->detail) {
        json_decref(value);
        return;
    }
    json_object_set_new(ctx->detail, key, value);
}

struct sc_store *sc_step_store(struct sc_step_ctx *ctx, char *err, size_t errlen)
{
    struct sc_store *st = ctx->r ? ctx->r->rt->store : NULL;
    if (!st)
        snprintf(err, errlen, "%s needs the org's store (this run records nothing)", ctx->s->mod->name);
    return st;
}
const char *sc_step_bundle(struct sc_step_ctx *ctx)
{
    return ctx->r && ctx->r->bundle[0] ? ctx->r->bundle : "1";
}
const char *sc_step_execution_id(struct sc_step_ctx *ctx) { return ctx->r ? ctx->r->id : ""; }

bool sc_step_park(struct sc_step_ctx *ctx, int64_t wake_ms)
{
    if (!ctx->r || !ctx->r->rt->park || !ctx->r->rt->store)
        return false;
    ctx->park_ms = wake_ms;
    return true;
}

void sc_step_hold(struct sc_step_ctx *ctx, json_t *hold)
{
    json_decref(ctx->held);
    ctx->held = hold;
}

void sc_step_respond(struct sc_step_ctx *ctx, json_t *response)
{
    if (!ctx->r || !response) {
        json_decref(response);
        return;
    }
    json_decref(ctx->r->response);
    ctx->r->response = response;
}

void sc_step_at(struct sc_step_ctx *ctx, const char *param_path)
{
    snprintf(ctx->at, sizeof ctx->at, "%s", param_path);
}

int64_t sc_step_audit_ref(struct sc_step_ctx *ctx, const struct sc_step_audit_row *w,
                          char *err, size_t errlen)
{
    struct run *r = ctx->r;
    if (!r || !r->rt->store)
        return 0;
    struct sc_audit_row a = {.at_ms = sc_clock_now_ms(), .duration_ms = w->duration_ms,
                             .org = r->rt->org ? r->rt->org->name : "none",
                             .scenario = r->sc->name, .version = r->version, .execution = r->id,
                             .step = step_name(ctx->s), .method = w->method,
                             .sent_from = sc_step_sent_from(ctx), .sent_to = w->sent_to,
                             .status = (int)w->status, .outcome = w->outcome, .body = w->body,
                             .body_len = w->body_len, .ref = w->ref};
    int64_t id = sc_store_audit_add(r->rt->store, &a);
    if (id < 0 && err)
        snprintf(err, errlen, "%s", sc_store_error(r->rt->store));
    return id;
}

int sc_step_audit(struct sc_step_ctx *ctx, const char *method, const char *sent_to, long status,
                  int64_t duration_ms, const char *body, size_t body_len, const char *outcome)
{
    struct sc_step_audit_row w = {method, sent_to, status, duration_ms, body, body_len, outcome, 0};
    return sc_step_audit_ref(ctx, &w, NULL, 0) < 0 ? -1 : 0;
}
