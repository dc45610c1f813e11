#include "model/validate.h"

#include "lang/cron.h"
#include "lang/tz.h"
#include "lang/duration.h"
#include "lang/expr.h"
#include "lang/lua.h"
#include "model/org.h"
#include "model/param.h"
#include "model/url.h"
#include "util.h"
#include "model/webhook.h"

#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- the scenario format, as tables (docs/scenario-format.md is written from these) ---- */

static const char *const priorities[] = {"routine", "realtime", NULL};
static const char *const catch_up_modes[] = {"once", "skip", NULL};
static const char *const backoffs[] = {"fixed", "exponential", NULL};

const struct sc_param sc_settings_fields[] = {
    {.name = "confidential", .type = SC_T_BOOL, .def = "false", .flags = SC_P_STATIC,
     .doc = "Keep bundle contents out of step logs and notifications."},
    {.name = "sequential", .type = SC_T_BOOL, .def = "false", .flags = SC_P_STATIC,
     .doc = "Run one event at a time, in arrival order."},
    {.name = "timeout", .type = SC_T_DURATION, .def = "\"1h\"", .flags = SC_P_STATIC,
     .doc = "Longest an execution may run, retries' waits excluded."},
    {.name = "step_timeout", .type = SC_T_DURATION, .def = "\"5m\"", .flags = SC_P_STATIC,
     .doc = "Longest one step may run unless the step sets its own timeout."},
    {.name = "max_bundles", .type = SC_T_INT, .def = "10000", .flags = SC_P_STATIC,
     .doc = "Most bundles one step may emit; more is a limit error."},
    {0},
};

const struct sc_param sc_webhook_fields[] = {
    {.name = "path", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "URL path the daemon serves, e.g. /hooks/hris/employee-changed; unique per org."},
    {.name = "auth", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "Name of a webhook secret in the org's webhooks: (signature scheme and secret)."},
    {.name = "priority", .type = SC_T_ENUM, .def = "\"routine\"", .allowed = priorities,
     .flags = SC_P_STATIC, .doc = "realtime events are claimed before any routine backlog."},
    {.name = "dedupe_key", .type = SC_T_STRING,
     .doc = "Template over trigger giving an event's identity; a repeat runs once. "
            "Default: the webhook-id header. A {{ }} giving null or empty text: no key "
            "(the event runs, logged)."},
    {0},
};

const struct sc_param sc_schedule_fields[] = {
    {.name = "cron", .type = SC_T_CRON, .flags = SC_P_STATIC,
     .doc = "Five-field cron expression (or @daily & co); give cron or every."},
    {.name = "every", .type = SC_T_DURATION, .flags = SC_P_STATIC, .doc = "Fixed interval."},
    {.name = "tz", .type = SC_T_TZ, .flags = SC_P_STATIC,
     .doc = "IANA time zone of cron; default: the org's timezone."},
    {.name = "catch_up", .type = SC_T_ENUM, .def = "\"once\"", .allowed = catch_up_modes,
     .flags = SC_P_STATIC, .doc = "Runs missed while the daemon was down: run once, or skip."},
    {0},
};

const struct sc_param sc_poll_fields[] = {
    {.name = "cron", .type = SC_T_CRON, .flags = SC_P_STATIC, .doc = "When to poll (or every)."},
    {.name = "every", .type = SC_T_DURATION, .flags = SC_P_STATIC, .doc = "Poll interval."},
    {.name = "tz", .type = SC_T_TZ, .flags = SC_P_STATIC, .doc = "Time zone of cron."},
    {.name = "window", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "How far back each poll looks, overlapping the previous one (90m for an hourly poll)."},
    {.name = "skew", .type = SC_T_DURATION, .def = "\"5m\"", .flags = SC_P_STATIC,
     .doc = "How late the other system may show an item (clock skew, indexing lag): keys seen are kept for window + skew."},
    {.name = "module", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Module that fetches the items (a reading module, usually http.request)."},
    {.name = "with", .type = SC_T_OBJECT, .doc = "Its parameters; poll.since is the window's start, poll.until its end."},
    {.name = "items", .type = SC_T_STRING, .def = "\"{{ output.body }}\"",
     .doc = "Template picking the list of items from the module's output."},
    {.name = "key", .type = SC_T_STRING, .required = true,
     .doc = "Template giving each item's identity, so items seen in an overlap run once."},
    {0},
};

const struct sc_param sc_manual_fields[] = {
    {.name = "description", .type = SC_T_STRING, .flags = SC_P_TEXT,
     .doc = "What a person starting it should know."},
    {0},
};

const struct sc_param sc_step_fields[] = {
    {.name = "id", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Step id, a Lua name (letters, digits, _): later steps read steps.ID."},
    {.name = "module", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Module to run (scenarist modules lists them)."},
    {.name = "description", .type = SC_T_STRING, .flags = SC_P_TEXT, .doc = "Free text."},
    {.name = "filter", .type = SC_T_CONDITION,
     .doc = "Condition on the incoming bundle; a bundle that fails it stops quietly."},
    {.name = "with", .type = SC_T_OBJECT, .doc = "The module's parameters (templated)."},
    {.name = "timeout", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "Longest this step may run (default: settings.step_timeout)."},
    {.name = "on_error", .type = SC_T_ROUTE, .doc = "Error route of this step."},
    {.name = "domain", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .doc = "The data domain a writing step writes (identity, learning-history, ...), checked "
            "against the org's system-of-record matrix."},
    {0},
};

const struct sc_param sc_break_fields[] = {
    {.name = "retries", .type = SC_T_INT, .def = "2", .flags = SC_P_STATIC,
     .doc = "Retries after the first run, as Make's Break counts them (0-99): retries: 3 "
            "runs 4 times in all."},
    {.name = "interval", .type = SC_T_DURATION, .def = "\"60s\"", .flags = SC_P_STATIC,
     .doc = "Wait before each retry (a Retry-After answer can lengthen it)."},
    {.name = "backoff", .type = SC_T_ENUM, .def = "\"fixed\"", .allowed = backoffs,
     .flags = SC_P_STATIC, .doc = "exponential doubles the interval after each retry."},
    {.name = "max_interval", .type = SC_T_DURATION, .flags = SC_P_STATIC,
     .doc = "Cap of an exponential interval."},
    {.name = "jitter", .type = SC_T_BOOL, .def = "false", .flags = SC_P_STATIC,
     .doc = "Spread waits randomly by up to 20% so retries do not arrive together."},
    {.name = "retry_data_errors", .type = SC_T_BOOL, .def = "false", .flags = SC_P_STATIC,
     .doc = "Also retry data errors (4xx) and runtime errors (Lua, templates), which are "
            "otherwise final."},
    {0},
};

const struct sc_param sc_resume_fields[] = {
    {.name = "output", .type = SC_T_ANY, .required = true,
     .doc = "Output to use instead of the failed step's; the execution goes on."},
    {0},
};

const struct sc_param sc_scenario_fields[] = {
    {.name = "name", .type = SC_T_STRING, .required = true, .flags = SC_P_STATIC,
     .doc = "Scenario name: a-z, 0-9, - and _ (it names versions, exports and URLs)."},
    {.name = "description", .type = SC_T_STRING, .flags = SC_P_TEXT, .doc = "Free text."},
    {.name = "triggers", .type = SC_T_TRIGGERS, .required = true,
     .doc = "What starts an execution: webhook, schedule, poll, manual."},
    {.name = "settings", .type = SC_T_OBJECT, .fields = sc_settings_fields, .flags = SC_P_STATIC,
     .doc = "Execution settings."},
    {.name = "steps", .type = SC_T_STEPS, .required = true, .doc = "The steps, run in order."},
    {.name = "on_error", .type = SC_T_ROUTE,
     .doc = "Default error route for every step without its own."},
    {0},
};

/* ---- validator state ---- */

struct sc_validator {
    const struct sc_org *org;
    struct sc_diags *d;
    lua_State *L;
    struct sc_lua *lua; /* the sandbox, for the names expressions may use; made on demand */
    bool lua_failed;
    json_t *hooks; /* webhook path -> {file, line, scenario} across files */
    json_t *names; /* scenario name -> {file, line} */
};

struct vctx {
    struct sc_validator *v;
    const struct sc_doc *doc;
    struct sc_diags *d;
    char path[4096];
    json_t *ids;           /* every step id of the scenario -> line */
    const char **vis;      /* ids visible to references here (borrowed) */
    size_t nvis, capvis;
    bool default_route;
    const char *scenario;  /* name, for cross-file messages */
    const char *domain;    /* the step's declared data domain, or NULL */
    struct sc_def *def;    /* the typed definition the walk fills, or NULL */
};

static const struct sc_param no_fields[] = {{0}};
static const char *const directives[] = {"break", "resume", "ignore", "commit", "rollback", NULL};
static const char *const trigger_kinds[] = {"webhook", "schedule", "poll", "manual", NULL};

static void check_value(struct vctx *c, const struct sc_param *p, json_t *val);
static void check_steps(struct vctx *c, json_t *arr, bool top);
static void check_route(struct vctx *c, json_t *route);

static void verr_at(struct vctx *c, enum sc_sev sev, struct sc_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void verr_at(struct vctx *c, enum sc_sev sev, struct sc_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sc_diag_vadd(c->d, sev, &c->doc->src, pos.line, pos.col, pos.len, fmt, ap);
    va_end(ap);
}

static struct sc_pos pos_val(struct vctx *c)
{
    const struct sc_node_pos *np = sc_doc_pos(c->doc, c->path);
    return np ? np->val : (struct sc_pos){0, 0, 0};
}

/* The key naming the current node, else the node itself. */
static struct sc_pos pos_key(struct vctx *c)
{
    const struct sc_node_pos *np = sc_doc_pos(c->doc, c->path);
    if (!np)
        return (struct sc_pos){0, 0, 0};
    return np->key.line ? np->key : np->val;
}

#define VERR(c, pos, ...) verr_at((c), SC_SEV_ERROR, (pos), __VA_ARGS__)

static size_t push(struct vctx *c, const char *key) { return sc_path_push(c->path, sizeof c->path, key); }
static size_t pushi(struct vctx *c, size_t i) { return sc_path_pushi(c->path, sizeof c->path, i); }
static void pop(struct vctx *c, size_t old) { c->path[old] = '\0'; }

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "text";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "true/false";
    default: return "null";
    }
}

const char *sc_type_name(enum sc_type t)
{
    switch (t) {
    case SC_T_STRING: return "text";
    case SC_T_INT: return "integer";
    case SC_T_NUMBER: return "number";
    case SC_T_BOOL: return "true/false";
    case SC_T_DURATION: return "duration";
    case SC_T_CRON: return "cron";
    case SC_T_TZ: return "time zone";
    case SC_T_ENUM: return "one of";
    case SC_T_OBJECT: return "mapping";
    case SC_T_LIST: return "list";
    case SC_T_ANY: return "any";
    case SC_T_CONNECTION: return "connection";
    case SC_T_CONDITION: return "condition";
    case SC_T_STEPS: return "steps";
    case SC_T_STEP_REF: return "step id";
    case SC_T_MAP: return "mapping of names";
    case SC_T_SECRET: return "secret reference";
    case SC_T_TRIGGERS: return "triggers";
    case SC_T_ROUTE: return "error route";
    }
    return "?";
}

static void allowed_list(const char *const *allowed, char *buf, size_t n)
{
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; allowed[i]; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", allowed[i]);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

/* "a", "a or b", "a, b or c": the systems a domain may be written to, as a sentence says them. */
static void or_list(const char *const *v, size_t nv, char *buf, size_t n)
{
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < nv; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", !i ? "" : i + 1 == nv ? " or " : ", ", v[i]);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

static size_t count_strs(const char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

/* ---- templates and references ---- */

struct ref_ud {
    struct vctx *c;
    const char *expr_path;
    size_t expr_off; /* offset of the expression inside the string value */
};

static bool visible(struct vctx *c, const char *id)
{
    for (size_t i = 0; i < c->nvis; i++)
        if (strcmp(c->vis[i], id) == 0)
            return true;
    return false;
}

static void on_ref(void *ud, const char *name, size_t off, size_t len)
{
    struct ref_ud *r = ud;
    struct vctx *c = r->c;
    if (visible(c, name))
        return;
    struct sc_pos pos = sc_doc_pos_in(c->doc, c->path, r->expr_off + off, len);
    if (json_object_get(c->ids, name)) {
        VERR(c, pos, "steps.%s: step '%s' has not run at this point (only earlier steps "
             "can be read)", name, name);
        return;
    }
    const char *hint = sc_suggest(name, c->vis, c->nvis);
    if (hint)
        VERR(c, pos, "steps.%s: there is no step '%s'; did you mean '%s'?", name, name, hint);
    else
        VERR(c, pos, "steps.%s: there is no step '%s'", name, name);
}

/* A name the Lua sandbox does not have: reported now, not when an event runs into it. */
static void on_unavailable(void *ud, const char *name, size_t off, size_t len)
{
    struct ref_ud *r = ud;
    struct sc_pos pos = sc_doc_pos_in(r->c->doc, r->c->path, r->expr_off + off, len);
    VERR(r->c, pos, "%s", sc_expr_unavailable_message(name));
}

/* The sandbox, made on the first expression that needs it; NULL when it cannot load. */
static struct sc_lua *sandbox(struct sc_validator *v)
{
    if (!v->lua && !v->lua_failed) {
        char err[256];
        v->lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
        v->lua_failed = !v->lua; /* the load itself reports a broken prelude */
    }
    return v->lua;
}

static bool known_global(void *ud, const char *name)
{
    struct sc_lua *lua = sandbox(ud);
    return !lua || sc_lua_has_global(lua, name);
}

/* A name an expression calls or indexes that the sandbox does not have (a misspelt
 * prelude function: lenght, formatdate): reported now, with the nearest name. */
static void on_global(void *ud, const char *name, size_t off, size_t len)
{
    struct ref_ud *r = ud;
    struct sc_lua *lua = sandbox(r->c->v);
    if (!lua || sc_lua_has_global(lua, name))
        return;
    char hint[128];
    sc_lua_global_hint(lua, name, hint, sizeof hint);
    struct sc_pos pos = sc_doc_pos_in(r->c->doc, r->c->path, r->expr_off + off, len);
    VERR(r->c, pos, "'%s' is not a function or name of scenarist expressions (the prelude, "
         "the context and Lua's string, table, math and utf8)%s", name, hint);
}

/* Checks the templates in a string. Returns 0 for a literal, 1 for exactly one
 * {{ }}, 2 for text mixed with templates, -1 when an error was reported. */
static int check_string(struct vctx *c, const struct sc_param *p, const char *s)
{
    if (p && (p->flags & SC_P_TEXT))
        return 0;
    bool has = sc_expr_has_template(s);
    if (!has)
        return 0;
    if (p && (p->flags & SC_P_STATIC)) {
        VERR(c, pos_val(c), "'%s' cannot hold a {{ }} template: its value must be known "
             "before the scenario runs", p->name);
        return -1;
    }
    struct sc_tmpl_part *parts;
    size_t np, eoff, elen;
    const char *emsg;
    size_t n = strlen(s);
    if (sc_expr_scan(s, n, &parts, &np, &emsg, &eoff, &elen) != 0) {
        VERR(c, sc_doc_pos_in(c->doc, c->path, eoff, elen), "%s", emsg);
        return -1;
    }
    int rc = sc_expr_is_whole(parts, np) ? 1 : 2;
    for (size_t i = 0; i < np; i++) {
        if (!parts[i].is_expr)
            continue;
        char err[256];
        if (!c->v->L) {
            c->v->L = luaL_newstate();
            if (!c->v->L) {
                VERR(c, pos_val(c), "out of memory starting Lua");
                rc = -1;
                break;
            }
        }
        if (sc_expr_check_syntax_in(c->v->L, s + parts[i].off, parts[i].len, known_global, c->v,
                                    err, sizeof err)) {
            VERR(c, sc_doc_pos_in(c->doc, c->path, parts[i].off, parts[i].len),
                 "expression does not parse: %s", err);
            rc = -1;
            continue;
        }
        struct ref_ud ud = {c, c->path, parts[i].off};
        sc_expr_step_refs(s + parts[i].off, parts[i].len, on_ref, &ud);
        sc_expr_unavailable_refs(s + parts[i].off, parts[i].len, on_unavailable, &ud);
        sc_expr_global_calls(s + parts[i].off, parts[i].len, on_global, &ud);
    }
    free(parts);
    return rc;
}

/* Walks any JSON value and checks the templates in its strings. */
static void check_any(struct vctx *c, const struct sc_param *p, json_t *val)
{
    if (json_is_string(val)) {
        check_string(c, p, json_string_value(val));
    } else if (json_is_object(val)) {
        const char *k;
        json_t *x;
        json_object_foreach(val, k, x) {
            size_t o = push(c, k);
            check_any(c, p, x);
            pop(c, o);
        }
    } else if (json_is_array(val)) {
        size_t i;
        json_t *x;
        json_array_foreach(val, i, x) {
            size_t o = pushi(c, i);
            check_any(c, p, x);
            pop(c, o);
        }
    }
}

/* A template standing for a whole non-text value: exactly one {{ }} is fine (its type is
 * checked at run time); text around it would make a string. Returns true if handled. */
static bool templated_scalar(struct vctx *c, const struct sc_param *p, json_t *val)
{
    if (!json_is_string(val) || !sc_expr_has_template(json_string_value(val)))
        return false;
    int kind = check_string(c, p, json_string_value(val));
    if (kind == 2)
        VERR(c, pos_val(c), "'%s' expects %s, but text around {{ }} makes it a string; "
             "write the whole value as one {{ }}", p->name,
             p->type == SC_T_ENUM ? "one of its values" : sc_type_name(p->type));
    return true;
}

/* ---- typed values ---- */

static void check_fields(struct vctx *c, const struct sc_param *fields, json_t *obj,
                         const char *what, const char *const *handled);

static void type_error(struct vctx *c, const struct sc_param *p, json_t *val, const char *want)
{
    VERR(c, pos_val(c), "'%s' must be %s, not %s", p->name, want, json_kind(val));
}

static void check_cron(struct vctx *c, const struct sc_param *p, const char *s)
{
    struct sc_cron cr;
    struct sc_cron_err e;
    (void)p;
    if (sc_cron_parse(s, &cr, &e) != 0)
        VERR(c, sc_doc_pos_in(c->doc, c->path, e.off, e.len), "bad cron '%s': %s", s, e.msg);
}

static void check_tz(struct vctx *c, const char *s)
{
    if (sc_tz_valid(s))
        return;
    const char *hint = sc_tz_suggest(s);
    if (hint)
        VERR(c, pos_val(c), "unknown time zone '%s'; did you mean '%s'?", s, hint);
    else
        VERR(c, pos_val(c), "unknown time zone '%s' (use an IANA name such as "
             "America/Chicago, or UTC)", s);
}

static void check_connection(struct vctx *c, const char *s)
{
    const struct sc_org *org = c->v->org;
    if (!org || sc_org_connection(org, s))
        return;
    const char *names[257];
    size_t n = 0;
    for (size_t i = 0; i < org->nconns && n < 256; i++)
        names[n++] = org->conns[i].name;
    const char *hint = sc_suggest(s, names, n);
    char list[512];
    names[n] = NULL;
    allowed_list(names, list, sizeof list);
    if (hint)
        VERR(c, pos_val(c), "org '%s' has no connection '%s'; did you mean '%s'?", org->name,
             s, hint);
    else if (n)
        VERR(c, pos_val(c), "org '%s' has no connection '%s' (it has %s)", org->name, s, list);
    else
        VERR(c, pos_val(c), "org '%s' has no connection '%s' (it has none)", org->name, s);
}

static void check_secret(struct vctx *c, const char *s)
{
    if (strncmp(s, "env:", 4) == 0) {
        const char *n = s + 4;
        bool ok = *n && (isalpha((unsigned char)*n) || *n == '_');
        for (const char *q = n; ok && *q; q++)
            ok = isalnum((unsigned char)*q) || *q == '_';
        if (ok)
            return;
        VERR(c, pos_val(c), "'%s' is not a valid environment variable reference", s);
        return;
    }
    if (strncmp(s, "file:", 5) == 0 && s[5])
        return;
    VERR(c, pos_val(c), "a secret is written as a reference, env:NAME or file:PATH, never the "
         "secret itself");
    sc_diag_mask_last(c->d); /* the pasted secret is not shown again */
}

static void check_duration(struct vctx *c, const struct sc_param *p, json_t *val)
{
    char buf[512];
    if (json_is_integer(val)) {
        VERR(c, pos_val(c), "'%s' needs a unit: write %llds (or ms, m, h, d)", p->name,
             (long long)json_integer_value(val));
        return;
    }
    if (templated_scalar(c, p, val))
        return;
    if (!json_is_string(val))
        return type_error(c, p, val, "a duration such as 60s");
    int64_t ms;
    if (sc_duration_parse(json_string_value(val), &ms, buf, sizeof buf) != 0)
        VERR(c, pos_val(c), "%s", buf);
}

static void check_enum(struct vctx *c, const struct sc_param *p, json_t *val)
{
    char buf[512];
    if (templated_scalar(c, p, val))
        return;
    allowed_list(p->allowed, buf, sizeof buf);
    if (!json_is_string(val)) {
        VERR(c, pos_val(c), "'%s' must be one of %s, not %s", p->name, buf, json_kind(val));
        return;
    }
    const char *s = json_string_value(val);
    for (size_t i = 0; p->allowed[i]; i++)
        if (strcmp(s, p->allowed[i]) == 0)
            return;
    const char *hint = sc_suggest(s, p->allowed, count_strs(p->allowed));
    if (hint)
        VERR(c, pos_val(c), "'%s' is not a valid %s (%s); did you mean '%s'?", s, p->name,
             buf, hint);
    else
        VERR(c, pos_val(c), "'%s' is not a valid %s (one of %s)", s, p->name, buf);
}

/* A map or list: each element against the parameter's element type (or its fields). */
static void check_collection(struct vctx *c, const struct sc_param *p, json_t *val)
{
    char buf[512];
    bool map = p->type == SC_T_MAP;
    if (map ? !json_is_object(val) : !json_is_array(val))
        return type_error(c, p, val, map ? "a mapping" : "a list");
    struct sc_param elem = *p;
    elem.type = p->elem;
    elem.required = false;
    elem.def = NULL;
    if (!map && p->elem == SC_T_OBJECT && p->fields) {
        size_t i;
        json_t *x;
        snprintf(buf, sizeof buf, "an item of '%s'", p->name);
        json_array_foreach(val, i, x) {
            size_t o = pushi(c, i);
            if (json_is_object(x))
                check_fields(c, p->fields, x, buf, NULL);
            else
                VERR(c, pos_val(c), "each item of '%s' must be a mapping, not %s", p->name,
                     json_kind(x));
            pop(c, o);
        }
        return;
    }
    if (map) {
        const char *k;
        json_t *x;
        json_object_foreach(val, k, x) {
            size_t o = push(c, k);
            elem.name = k;
            check_value(c, &elem, x);
            pop(c, o);
        }
    } else {
        size_t i;
        json_t *x;
        json_array_foreach(val, i, x) {
            size_t o = pushi(c, i);
            check_value(c, &elem, x);
            pop(c, o);
        }
    }
}

static void check_condition(struct vctx *c, const struct sc_param *p, json_t *val)
{
    if (json_is_boolean(val))
        return;
    if (!json_is_string(val))
        return type_error(c, p, val, "one {{ expression }} or true/false");
    int kind = check_string(c, p, json_string_value(val));
    if (kind == 0)
        VERR(c, pos_val(c), "'%s' must be one {{ expression }}, e.g. "
             "\"{{ trigger.body.status == 'active' }}\"", p->name);
    else if (kind == 2)
        VERR(c, pos_val(c), "'%s' must be exactly one {{ }}: with text around it, it is a "
             "string and always true", p->name);
}

static void check_step_ref(struct vctx *c, const struct sc_param *p, json_t *val)
{
    if (!json_is_string(val))
        return type_error(c, p, val, "a step id");
    const char *s = json_string_value(val);
    if (check_string(c, p, s) != 0 || visible(c, s))
        return;
    if (json_object_get(c->ids, s)) {
        VERR(c, pos_val(c), "'%s' must name an earlier step; step '%s' has not run here",
             p->name, s);
        return;
    }
    const char *hint = sc_suggest(s, c->vis, c->nvis);
    if (hint)
        VERR(c, pos_val(c), "there is no step '%s'; did you mean '%s'?", s, hint);
    else
        VERR(c, pos_val(c), "there is no step '%s'", s);
}

static void check_value(struct vctx *c, const struct sc_param *p, json_t *val)
{
    char buf[512];
    switch (p->type) {
    case SC_T_STRING:
        if (!json_is_string(val))
            return type_error(c, p, val, "text (quote it)");
        check_string(c, p, json_string_value(val));
        return;
    case SC_T_INT:
        if (templated_scalar(c, p, val))
            return;
        if (!json_is_integer(val))
            return type_error(c, p, val, "an integer");
        return;
    case SC_T_NUMBER:
        if (templated_scalar(c, p, val))
            return;
        if (!json_is_number(val))
            return type_error(c, p, val, "a number");
        return;
    case SC_T_BOOL:
        if (templated_scalar(c, p, val))
            return;
        if (!json_is_boolean(val))
            return type_error(c, p, val, "true or false");
        return;
    case SC_T_DURATION:
        check_duration(c, p, val);
        return;
    case SC_T_CRON:
        if (!json_is_string(val))
            return type_error(c, p, val, "a cron expression (quote it)");
        if (check_string(c, p, json_string_value(val)) == 0)
            check_cron(c, p, json_string_value(val));
        return;
    case SC_T_TZ:
        if (!json_is_string(val))
            return type_error(c, p, val, "a time zone name");
        if (check_string(c, p, json_string_value(val)) == 0)
            check_tz(c, json_string_value(val));
        return;
    case SC_T_ENUM:
        check_enum(c, p, val);
        return;
    case SC_T_OBJECT:
        if (!json_is_object(val))
            return type_error(c, p, val, "a mapping");
        if (p->fields) {
            snprintf(buf, sizeof buf, "'%s'", p->name);
            check_fields(c, p->fields, val, buf, NULL);
        } else {
            check_any(c, p, val);
        }
        return;
    case SC_T_MAP:
    case SC_T_LIST:
        check_collection(c, p, val);
        return;
    case SC_T_ANY:
        check_any(c, p, val);
        return;
    case SC_T_CONNECTION:
        if (!json_is_string(val))
            return type_error(c, p, val, "a connection name");
        if (check_string(c, p, json_string_value(val)) == 0)
            check_connection(c, json_string_value(val));
        return;
    case SC_T_SECRET:
        if (!json_is_string(val))
            return type_error(c, p, val, "a secret reference (env:NAME or file:PATH)");
        check_secret(c, json_string_value(val));
        return;
    case SC_T_CONDITION:
        check_condition(c, p, val);
        return;
    case SC_T_STEPS:
        check_steps(c, val, false);
        return;
    case SC_T_STEP_REF:
        check_step_ref(c, p, val);
        return;
    case SC_T_TRIGGERS:
    case SC_T_ROUTE:
        return; /* handled by their owners */
    }
}

static bool in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* True when obj has an unknown key whose nearest field is name (a misspelling of it):
 * the misspelling is reported once, and what follows from name's absence is not. */
static bool misspelt(json_t *obj, const struct sc_param *fields, const char *name)
{
    const char *names[64];
    size_t nn = 0;
    for (const struct sc_param *p = fields; p->name && nn < 64; p++)
        names[nn++] = p->name;
    const char *k;
    json_t *x;
    json_object_foreach(obj, k, x) {
        bool known = false;
        for (size_t i = 0; i < nn && !known; i++)
            known = strcmp(names[i], k) == 0;
        const char *hint = known ? NULL : sc_suggest(k, names, nn);
        if (hint && !strcmp(hint, name))
            return true;
    }
    return false;
}

/* Checks obj's keys against fields: unknown keys, required keys, each value's type.
 * Keys named in handled are known but left to the caller. */
static void check_fields(struct vctx *c, const struct sc_param *fields, json_t *obj,
                         const char *what, const char *const *handled)
{
    const char *names[64];
    size_t nn = 0;
    for (const struct sc_param *p = fields; p->name && nn < 64; p++)
        names[nn++] = p->name;
    const char *k;
    json_t *x;
    json_object_foreach(obj, k, x) {
        bool known = in_list(k, handled);
        for (size_t i = 0; i < nn; i++)
            known = known || strcmp(names[i], k) == 0;
        if (known)
            continue;
        size_t o = push(c, k);
        const char *hint = sc_suggest(k, names, nn);
        if (hint)
            VERR(c, pos_key(c), "unknown key '%s' in %s; did you mean '%s'?", k, what, hint);
        else
            VERR(c, pos_key(c), "unknown key '%s' in %s", k, what);
        pop(c, o);
    }
    for (const struct sc_param *p = fields; p->name; p++) {
        json_t *val = json_object_get(obj, p->name);
        if (!val) {
            if (p->required && !misspelt(obj, fields, p->name))
                VERR(c, pos_key(c), "%s needs '%s'", what, p->name);
            continue;
        }
        if (in_list(p->name, handled))
            continue;
        size_t o = push(c, p->name);
        check_value(c, p, val);
        pop(c, o);
    }
}

/* ---- the cross-parameter check API modules use ---- */

struct sc_check {
    struct vctx *c;
};

void sc_check_error(struct sc_check *chk, const char *param, const char *fmt, ...)
{
    struct vctx *c = chk->c;
    char path[sizeof c->path + 256];
    int w = snprintf(path, sizeof path, "%s/%s", c->path, param);
    if (w < 0 || (size_t)w >= sizeof path)
        snprintf(path, sizeof path, "%s", c->path);
    const struct sc_node_pos *np = sc_doc_pos(c->doc, path);
    struct sc_pos pos = np ? (np->key.line && !strchr(param, '/') ? np->key : np->val)
                           : (struct sc_pos){0, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    sc_diag_vadd(c->d, SC_SEV_ERROR, &c->doc->src, pos.line, pos.col, pos.len, fmt, ap);
    va_end(ap);
}

const char *sc_check_connection_access(struct sc_check *chk, const char *name)
{
    const struct sc_org_conn *conn = sc_org_connection(chk->c->v->org, name);
    return !conn ? NULL : conn->read_only ? "read-only" : "read-write";
}

/* ---- steps ---- */

static bool is_lua_keyword(const char *s)
{
    static const char *const kw[] = {"and", "break", "do", "else", "elseif", "end", "false",
                                     "for", "function", "goto", "if", "in", "local", "nil",
                                     "not", "or", "repeat", "return", "then", "true", "until",
                                     "while", NULL};
    return in_list(s, kw);
}

static bool valid_id(const char *s)
{
    if (!*s || strlen(s) > 64 || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return !is_lua_keyword(s);
}

static void add_visible(struct vctx *c, const char *id)
{
    if (c->nvis == c->capvis) {
        size_t cap = c->capvis ? c->capvis * 2 : 16;
        const char **v = sc_realloc(c->vis, cap * sizeof *v);
        if (!v)
            return;
        c->vis = v;
        c->capvis = cap;
    }
    c->vis[c->nvis++] = id;
}

/* True when a use of m with these parameters writes: a literal, known write method. */
static bool module_writes(const struct sc_module_def *m, const json_t *with)
{
    static const char *const write_methods[] = {"POST", "PUT", "PATCH", "DELETE", NULL};
    const char *method = json_string_value(json_object_get(with, "method"));
    return m->access == SC_ACCESS_WRITE ||
           (m->access == SC_ACCESS_BY_METHOD && method && in_list(method, write_methods));
}

/* The part of a path template known before it runs: all of it, or its text up to the
 * last '/' (or '?') before the first {{ }}, when nothing after could climb back ("..").
 * NULL when nothing useful is known. New string. */
static char *static_path(const char *path)
{
    const char *tpl = strstr(path, "{{");
    if (!tpl)
        return sc_strdup(path);
    const char *rest = tpl;
    if (strstr(rest, "..") || strstr(rest, "%2e") || strstr(rest, "%2E"))
        return NULL;
    size_t n = (size_t)(tpl - path);
    const char *q = memchr(path, '?', n);
    if (q)
        n = (size_t)(q - path);
    else
        while (n && path[n - 1] != '/')
            n--;
    return n ? sc_strndup(path, n) : NULL;
}

/* True when the template's text (outside {{ }}) holds a '#'. */
static bool has_fragment(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (p[0] == '{' && p[1] == '{') {
            const char *e = strstr(p + 2, "}}");
            if (!e)
                return false;
            p = e + 1;
        } else if (*p == '#') {
            return true;
        }
    }
    return false;
}

/* The target of a literal path (or the known start of a templated one), judged as the
 * request would be at run time (sc_org_check_target): the spellings of a read-only
 * target, climbing out of the connection, encoded slashes, method overrides. */
static void check_static_target(struct vctx *c, const struct sc_module_def *m, json_t *with,
                                const char *conn, bool writes)
{
    const char *pname = NULL;
    if (m->access == SC_ACCESS_NONE)
        return;
    for (const struct sc_param *p = m->params; p && p->name && !pname; p++)
        if (p->flags & SC_P_URL_PATH)
            pname = p->name;
    /* a module without a path (notify) sends to the connection's base URL itself */
    const char *path = pname ? json_string_value(json_object_get(with, pname)) : "";
    const struct sc_org_conn *oc = sc_org_connection(c->v->org, conn);
    const char *base = oc ? oc->base_url : NULL;
    char *known = path ? static_path(path) : NULL;
    const struct sc_url *bu = sc_org_base(c->v->org, conn);
    struct sc_url t;
    char err[512];
    if (!known || !bu) {
        free(known);
        return;
    }
    json_t *q = json_object_get(with, "query");
    json_t *keys = json_object(); /* the query's keys: their values may be templates */
    const char *k;
    json_t *v;
    json_object_foreach(q, k, v) json_object_set_new(keys, k, json_string("x"));
    size_t o = push(c, pname ? pname : "connection");
    if (has_fragment(path)) {
        VERR(c, pos_val(c), "path '%s' holds a '#' outside {{ }}: a fragment is never sent to "
             "a server", path);
    } else if (sc_url_join(bu, known, keys, &t, err, sizeof err) != 0) {
        VERR(c, pos_val(c), "%s", err);
    } else {
        const char *ro, *ov;
        const char *method = json_string_value(json_object_get(with, "method"));
        bool slash = writes && (strstr(path, "%2F") || strstr(path, "%2f") ||
                                strstr(path, "%5C") || strstr(path, "%5c") || strchr(path, '\\'));
        enum sc_refusal r = sc_org_check_target(c->v->org, conn, writes,
                                                json_object_get(with, "headers"), bu, &t, &ro, &ov);
        if (r == SC_REFUSE_NONE && slash)
            r = SC_REFUSE_SLASH;
        if ((r == SC_REFUSE_READ_ONLY || r == SC_REFUSE_OVERRIDE) &&
            sc_org_shadowed(c->v->org, ro))
            r = SC_REFUSE_NONE; /* recorded and answered by a stand-in at run time, never sent */
        if (r == SC_REFUSE_OVERRIDE) { /* point at the header, or the query key */
            pop(c, o);
            bool hdr = strcmp(ov, "_method") != 0;
            o = push(c, hdr ? "headers" : json_object_get(q, "_method") ? "query" : pname);
            if (hdr || json_object_get(q, "_method"))
                push(c, hdr ? ov : "_method");
        }
        switch (r) {
        case SC_REFUSE_NONE:
            break;
        case SC_REFUSE_CLIMB:
            VERR(c, pos_val(c), "path '%s' climbs out of connection '%s' (%s): it normalises to "
                 "%s", path, conn, base, t.path);
            break;
        case SC_REFUSE_ESCAPE:
            VERR(c, pos_val(c), "path '%s' holds %s", path,
                 sc_url_escape_why(t.flags));
            break;
        case SC_REFUSE_SLASH:
            VERR(c, pos_val(c), "path '%s' of a write holds an encoded '/' or '\\' (%%2F, %%5C) "
                 "that a server may take for a separator", path);
            break;
        case SC_REFUSE_READ_ONLY:
            VERR(c, pos_val(c), "%s to '%s' reaches connection '%s', which is read-only in org "
                 "'%s' (the target normalises to %s)", method ? method : m->name, path, ro,
                 c->v->org->name, t.path);
            break;
        case SC_REFUSE_OVERRIDE:
            VERR(c, pos_val(c), "%s%s%s asks for another method, and the target %s is under "
                 "connection '%s', read-only in org '%s'", strcmp(ov, "_method") ? "header '" :
                 "the query key ", ov, strcmp(ov, "_method") ? "'" : "", t.path, ro, c->v->org->name);
            break;
        }
        sc_url_free(&t);
    }
    pop(c, o);
    json_decref(keys);
    free(known);
}

/* Module parameters, the module's own check, and write access of its connection. */
static void check_module_use(struct vctx *c, const struct sc_module_def *m, json_t *with,
                             bool routed)
{
    json_t *empty = NULL;
    if (!with)
        with = empty = json_object();
    if (!json_is_object(with)) {
        VERR(c, pos_val(c), "the parameters of %s must be a mapping, not %s", m->name,
             json_kind(with));
        return;
    }
    check_fields(c, m->params, with, m->name, NULL);
    if (m->check) {
        struct sc_check chk = {c};
        m->check(&chk, with);
    }
    const char *conn = json_string_value(json_object_get(with, "connection"));
    bool writes = module_writes(m, with);
    /* Access is judged only for a literal connection the org knows: other cases are errors already. */
    if (!conn || sc_expr_has_template(conn) || (c->v->org && !sc_org_connection(c->v->org, conn))) {
        json_decref(empty);
        return;
    }
    if (writes && c->v->org && sc_org_read_only(c->v->org, conn) &&
        !sc_org_shadowed(c->v->org, conn)) {
        size_t o = push(c, m->access == SC_ACCESS_WRITE ? "connection" : "method");
        if (m->access == SC_ACCESS_WRITE)
            VERR(c, pos_val(c), "%s writes, but connection '%s' is read-only in org '%s'",
                 m->name, conn, c->v->org->name);
        else
            VERR(c, pos_val(c), "%s is a write, but connection '%s' is read-only in org '%s' "
                 "(only GET and HEAD are allowed)", json_string_value(json_object_get(with, "method")), conn, c->v->org->name);
        pop(c, o);
    } else if (c->v->org) {
        check_static_target(c, m, with, conn, writes);
    }
    json_t *matrix = c->v->org ? c->v->org->matrix : NULL;
    const char *sys = json_string_value(json_object_get(json_object_get(matrix, "systems"), conn));
    if (writes && sys) { /* the system-of-record matrix decides who may write what where */
        json_t *domains = json_object_get(matrix, "domains");
        json_t *dom = c->domain ? json_object_get(domains, c->domain) : NULL;
        size_t o = push(c, "connection");
        if (!c->domain) {
            VERR(c, pos_val(c), "this step writes to %s (connection '%s'): declare the data "
                 "domain it writes (domain: at the step) for the system-of-record matrix", sys, conn);
        } else if (!dom) {
            const char *names[64];
            size_t n = 0;
            const char *k;
            json_t *x;
            json_object_foreach(domains, k, x) if (n < 64) names[n++] = k;
            const char *hint = sc_suggest(c->domain, names, n);
            VERR(c, pos_val(c), "data domain '%s' is not in the system-of-record matrix%s%s%s",
                 c->domain, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
        } else {
            bool allowed = false;
            size_t i;
            json_t *t;
            const char *to[65];
            size_t nto = 0;
            json_array_foreach(json_object_get(dom, "writes_to"), i, t) {
                allowed |= json_is_string(t) && !strcmp(json_string_value(t), sys);
                if (json_is_string(t) && nto < 64)
                    to[nto++] = json_string_value(t);
            }
            char where[256];
            or_list(to, nto, where, sizeof where);
            const char *auth = json_string_value(json_object_get(dom, "authority"));
            if (!allowed && auth && !strcmp(auth, sys))
                VERR(c, pos_val(c), "the system-of-record matrix does not let %s data be written "
                     "to %s: %s is its authority, where %s data comes from, not where it goes; "
                     "scenarios may write it only to %s", c->domain, sys, sys, c->domain,
                     nto ? where : "no system");
            else if (!allowed)
                VERR(c, pos_val(c), "the system-of-record matrix does not let %s data be written "
                     "to %s: scenarios may write it only to %s, and its authority is %s",
                     c->domain, sys, nto ? where : "no system", auth ? auth : "not named");
        }
        pop(c, o);
    }
    if (writes && !routed && !c->default_route) {
        size_t o = push(c, "connection");
        verr_at(c, SC_SEV_WARNING, pos_key(c),
                "this step writes to '%s' but has no error route: a failure ends the "
                "execution as an error, with no retry and no notification", conn);
        pop(c, o);
    }
    json_decref(empty);
}

static const struct sc_module_def *find_module(struct vctx *c, const char *name)
{
    const struct sc_module_def *m = sc_module_find(name);
    if (m)
        return m;
    size_t n;
    const struct sc_module_def *const *all = sc_module_all(&n);
    const char *names[128];
    for (size_t i = 0; i < n && i < 128; i++)
        names[i] = all[i]->name;
    const char *hint = sc_suggest(name, names, n < 128 ? n : 128);
    if (hint)
        VERR(c, pos_val(c), "unknown module '%s'; did you mean '%s'?", name, hint);
    else
        VERR(c, pos_val(c), "unknown module '%s' (scenarist modules lists them)", name);
    return NULL;
}

/* "with:" left empty and the module's parameters written beside it, at the step's level:
 * reports each once (indent it) and returns them as the parameters (new reference), or
 * NULL when that is not the mistake. */
static json_t *params_beside_with(struct vctx *c, json_t *step)
{
    const struct sc_module_def *m =
        sc_module_find(json_string_value(json_object_get(step, "module")) ?
                       json_string_value(json_object_get(step, "module")) : "");
    if (!m || !json_is_null(json_object_get(step, "with")))
        return NULL;
    json_t *moved = json_object();
    const char *k;
    json_t *x;
    size_t ow = push(c, "with");
    struct sc_pos wp = pos_key(c);
    pop(c, ow);
    json_object_foreach(step, k, x) {
        bool step_key = false, param = false;
        for (const struct sc_param *p = sc_step_fields; p->name; p++)
            step_key |= !strcmp(p->name, k);
        for (const struct sc_param *p = m->params; p->name; p++)
            param |= !strcmp(p->name, k);
        if (step_key || !param || !moved)
            continue;
        size_t o = push(c, k);
        VERR(c, pos_key(c), "'%s' is a parameter of %s, but it sits beside 'with:' (line %d), "
             "which is left empty: indent it under 'with:'", k, m->name, wp.line);
        pop(c, o);
        json_object_set(moved, k, x);
    }
    if (moved && json_object_size(moved) == 0) {
        json_decref(moved);
        moved = NULL;
    }
    return moved;
}

static void check_step(struct vctx *c, json_t *step, bool last, bool in_route)
{
    if (!json_is_object(step)) {
        VERR(c, pos_val(c), "a step must be a mapping with id and module, not %s",
             json_kind(step));
        return;
    }
    static const char *const handled[] = {"with", "filter", "on_error", NULL};
    const char *id = json_string_value(json_object_get(step, "id"));
    struct sc_param fields[sizeof sc_step_fields / sizeof sc_step_fields[0]];
    memcpy(fields, sc_step_fields, sizeof fields);
    fields[0].required = !in_route; /* steps of an error route need no id */
    json_t *moved = params_beside_with(c, step), *keys = step;
    if (moved) { /* the misplaced parameters are reported: not as unknown keys too */
        keys = json_copy(step);
        const char *k;
        json_t *x;
        json_object_foreach(moved, k, x) json_object_del(keys, k);
    }
    check_fields(c, fields, keys ? keys : step, id ? "this step" : "a step", handled);
    if (keys != step)
        json_decref(keys);
    if (id && !valid_id(id)) {
        size_t o = push(c, "id");
        VERR(c, pos_val(c), "step id '%s' must be a Lua name (letters, digits and _, not "
             "starting with a digit, not a keyword) so that steps.%s works", id, id);
        pop(c, o);
    }
    json_t *filter = json_object_get(step, "filter");
    if (filter) {
        size_t o = push(c, "filter");
        check_value(c, &sc_step_fields[3], filter);
        pop(c, o);
    }
    const char *mod = json_string_value(json_object_get(step, "module"));
    const struct sc_module_def *m = NULL;
    if (mod) {
        size_t o = push(c, "module");
        m = find_module(c, mod);
        pop(c, o);
    }
    json_t *with = moved ? moved : json_object_get(step, "with");
    if (m && !with && misspelt(step, sc_step_fields, "with")) {
        m = NULL; /* the parameters are under a misspelt key, reported already */
    } else if (m) {
        size_t o = push(c, with ? "with" : "module"); /* no with: point at the module */
        c->domain = json_string_value(json_object_get(step, "domain"));
        check_module_use(c, m, with, in_route || json_object_get(step, "on_error") != NULL ||
                                         misspelt(step, sc_step_fields, "on_error"));
        c->domain = NULL;
        pop(c, o);
        if ((m->flags & SC_M_ROUTE) && !last) {
            o = push(c, "module");
            VERR(c, pos_val(c), "steps after a router never run: move them into its routes");
            pop(c, o);
        }
    } else if (with) {
        size_t o = push(c, "with"); /* unknown module: still check templates and references */
        check_any(c, NULL, json_object_get(step, "with"));
        pop(c, o);
    }
    json_decref(moved);
    if (id)
        add_visible(c, id);
    json_t *route = json_object_get(step, "on_error");
    if (route) {
        size_t o = push(c, "on_error");
        check_route(c, route);
        pop(c, o);
    }
}

static void collect_ids(struct vctx *c, json_t *steps);

static void collect_step_ids(struct vctx *c, json_t *step)
{
    if (!json_is_object(step))
        return;
    const char *id = json_string_value(json_object_get(step, "id"));
    if (id) {
        json_t *first = json_object_get(c->ids, id);
        size_t o = push(c, "id");
        if (first)
            VERR(c, pos_val(c), "duplicate step id '%s' (first used at line %d)", id,
                 (int)json_integer_value(first));
        else
            json_object_set_new(c->ids, id, json_integer(pos_val(c).line));
        pop(c, o);
    }
    json_t *with = json_object_get(step, "with");
    size_t ow = push(c, "with");
    size_t i;
    json_t *r;
    json_t *routes = json_object_get(with, "routes");
    size_t orr = push(c, "routes");
    json_array_foreach(routes, i, r) {
        size_t oi = pushi(c, i);
        size_t os = push(c, "steps");
        collect_ids(c, json_object_get(r, "steps"));
        pop(c, os);
        pop(c, oi);
    }
    pop(c, orr);
    size_t of = push(c, "fallback");
    collect_ids(c, json_object_get(with, "fallback"));
    pop(c, of);
    pop(c, ow);
    size_t oe = push(c, "on_error");
    collect_ids(c, json_object_get(step, "on_error"));
    pop(c, oe);
}

static void collect_ids(struct vctx *c, json_t *steps)
{
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s) {
        size_t o = pushi(c, i);
        collect_step_ids(c, s);
        pop(c, o);
    }
}

/* ---- the typed definition (def.h), filled as the walk goes ---- */

static bool bool_or(const json_t *obj, const char *key, const struct sc_param *table)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_boolean(v))
        return json_is_true(v);
    json_t *d = sc_param_default(table, key);
    bool b = json_is_true(d);
    json_decref(d);
    return b;
}

static int64_t ms_or(const json_t *obj, const char *key, const struct sc_param *table)
{
    return sc_duration_or(json_string_value(json_object_get(obj, key)),
                          sc_param_default_ms(table, key));
}

/* An enum field is `want`, as written or by the table's default. */
static bool enum_is(const json_t *obj, const char *key, const struct sc_param *table,
                    const char *want)
{
    const char *v = json_string_value(json_object_get(obj, key));
    json_t *d = v ? NULL : sc_param_default(table, key);
    bool is = !strcmp(v ? v : json_string_value(d) ? json_string_value(d) : "", want);
    json_decref(d);
    return is;
}

static void def_settings(struct vctx *c, const json_t *set)
{
    if (!c->def)
        return;
    const struct sc_param *t = sc_settings_fields;
    struct sc_def_settings *s = &c->def->settings;
    json_t *mb = json_object_get(set, "max_bundles");
    s->confidential = bool_or(set, "confidential", t);
    s->sequential = bool_or(set, "sequential", t);
    s->timeout_ms = ms_or(set, "timeout", t);
    s->step_timeout_ms = ms_or(set, "step_timeout", t);
    s->max_bundles = json_is_integer(mb) ? (long)json_integer_value(mb)
                                         : (long)sc_param_default_int(t, "max_bundles");
}

static void def_trigger(struct vctx *c, size_t index, const char *kind, json_t *val)
{
    if (!c->def)
        return;
    struct sc_def_trigger *t = &c->def->triggers[c->def->ntriggers++];
    const struct sc_param *f = !strcmp(kind, "webhook")    ? sc_webhook_fields
                               : !strcmp(kind, "schedule") ? sc_schedule_fields
                               : !strcmp(kind, "poll")     ? sc_poll_fields
                                                           : sc_manual_fields;
    t->kind = f == sc_webhook_fields    ? SC_DEF_WEBHOOK
              : f == sc_schedule_fields ? SC_DEF_SCHEDULE
              : f == sc_poll_fields     ? SC_DEF_POLL
                                        : SC_DEF_MANUAL;
    t->index = index;
    t->conf = val;
    t->path = json_string_value(json_object_get(val, "path"));
    t->auth = json_string_value(json_object_get(val, "auth"));
    t->realtime = enum_is(val, "priority", f, "realtime");
    t->dedupe_key = json_object_get(val, "dedupe_key");
    t->cron = json_string_value(json_object_get(val, "cron"));
    t->tz = json_string_value(json_object_get(val, "tz"));
    t->every_ms = ms_or(val, "every", f);
    t->window_ms = ms_or(val, "window", f);
    t->skew_ms = ms_or(val, "skew", f);
    t->catch_up = !enum_is(val, "catch_up", f, "skip");
}

static void def_step(struct vctx *c, json_t *step)
{
    if (!c->def || !json_is_object(step))
        return;
    struct sc_def_step *s = &c->def->steps[c->def->nsteps++];
    s->id = json_string_value(json_object_get(step, "id"));
    s->module = json_string_value(json_object_get(step, "module"));
    s->with = json_object_get(step, "with");
    s->filter = json_object_get(step, "filter");
    s->on_error = json_object_get(step, "on_error");
    s->timeout_ms = ms_or(step, "timeout", sc_step_fields);
    s->domain = json_string_value(json_object_get(step, "domain"));
}

static void check_steps(struct vctx *c, json_t *arr, bool top)
{
    if (!json_is_array(arr)) {
        VERR(c, pos_val(c), "steps must be a list of steps, not %s", json_kind(arr));
        return;
    }
    if (json_array_size(arr) == 0) {
        VERR(c, pos_key(c), "steps is empty: give at least one step");
        return;
    }
    size_t vis0 = c->nvis;
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        size_t o = pushi(c, i);
        check_step(c, s, i + 1 == json_array_size(arr), false);
        if (top)
            def_step(c, s);
        pop(c, o);
    }
    if (!top)
        c->nvis = vis0; /* a route's steps may not have run after the route */
}

/* ---- error routes ---- */

/* A route's directive (break, resume, ...) and its options; last: it ends the route. */
static void check_directive(struct vctx *c, const char *key, json_t *val, bool last)
{
    if (!last)
        VERR(c, pos_key(c), "directive '%s' must be the last item of the error route", key);
    const struct sc_param *fields = !strcmp(key, "break") ? sc_break_fields
                                   : !strcmp(key, "resume") ? sc_resume_fields
                                                             : no_fields;
    char what[64];
    snprintf(what, sizeof what, "'%s'", key);
    if (val && !json_is_null(val) && !json_is_object(val))
        VERR(c, pos_val(c), "'%s' takes a mapping of options, not %s", key, json_kind(val));
    else {
        static const char *const renamed[] = {"attempts", NULL};
        json_t *empty = json_object();
        check_fields(c, fields, val && json_is_object(val) ? val : empty, what,
                     fields == sc_break_fields ? renamed : NULL);
        json_decref(empty);
    }
    json_t *att = fields == sc_break_fields ? json_object_get(val, "attempts") : NULL;
    if (att) { /* the old name counted runs in all: say what the same setting is now */
        size_t oa = push(c, "attempts");
        if (json_is_integer(att) && json_integer_value(att) >= 1)
            VERR(c, pos_key(c), "'attempts' was renamed: 'retries' counts the retries after the "
                 "first run (Make's Break); attempts: %lld is retries: %lld",
                 (long long)json_integer_value(att), (long long)json_integer_value(att) - 1);
        else
            VERR(c, pos_key(c), "'attempts' was renamed: 'retries' counts the retries after the "
                 "first run (Make's Break): retries: 3 runs 4 times in all");
        pop(c, oa);
    }
    json_t *ret = json_object_get(val, "retries");
    if (fields == sc_break_fields && json_is_integer(ret) &&
        (json_integer_value(ret) < 0 || json_integer_value(ret) > 99)) {
        size_t oa = push(c, "retries");
        VERR(c, pos_val(c), "retries must be between 0 and 99 (retries after the first run)");
        pop(c, oa);
    }
    json_t *maxi = json_object_get(val, "max_interval");
    const char *bo = json_string_value(json_object_get(val, "backoff"));
    if (maxi && (!bo || strcmp(bo, "exponential"))) {
        size_t oa = push(c, "max_interval");
        VERR(c, pos_key(c), "max_interval applies only with backoff: exponential");
        pop(c, oa);
    }
}

/* A route's module call in short form (notify: {...}); with: NULL when written bare. */
static void check_route_call(struct vctx *c, const char *key, json_t *with)
{
    const struct sc_module_def *m = sc_module_find(key);
    if (m) {
        check_module_use(c, m, with, true);
        return;
    }
    const char *cands[140];
    size_t nm, k = 0;
    const struct sc_module_def *const *all = sc_module_all(&nm);
    for (const char *const *d = directives; *d; d++)
        cands[k++] = *d;
    for (size_t j = 0; j < nm && k < 140; j++)
        cands[k++] = all[j]->name;
    const char *hint = sc_suggest(key, cands, k);
    if (hint)
        VERR(c, pos_key(c), "'%s' is neither a directive nor a module; did you mean '%s'?", key,
             hint);
    else
        VERR(c, pos_key(c), "'%s' is neither a directive (break, resume, ignore, commit, "
             "rollback) nor a module", key);
}

static void check_route(struct vctx *c, json_t *route)
{
    if (!json_is_array(route)) {
        VERR(c, pos_val(c), "on_error must be a list ending in a directive (break, resume, "
             "ignore, commit or rollback), not %s", json_kind(route));
        return;
    }
    size_t n = json_array_size(route), vis0 = c->nvis;
    if (n == 0) {
        VERR(c, pos_key(c), "on_error is empty: end it with a directive (break, resume, "
             "ignore, commit or rollback)");
        return;
    }
    size_t i;
    json_t *item;
    int directives_seen = 0;
    json_array_foreach(route, i, item) {
        size_t o = pushi(c, i);
        const char *key = NULL;
        json_t *val = NULL;
        if (json_is_string(item)) {
            key = json_string_value(item);
        } else if (json_is_object(item) && json_object_get(item, "module")) {
            check_step(c, item, false, true);
            pop(c, o);
            continue;
        } else if (json_is_object(item) && json_object_size(item) == 1) {
            void *it = json_object_iter(item);
            key = json_object_iter_key(it);
            val = json_object_iter_value(it);
            push(c, key);
        } else {
            VERR(c, pos_val(c), "an error-route item is one directive (break: {...}) or one "
                 "module call (notify: {...})");
            pop(c, o);
            continue;
        }
        if (in_list(key, directives)) {
            directives_seen++;
            check_directive(c, key, val, i + 1 == n);
        } else {
            check_route_call(c, key, json_is_string(item) ? NULL : val);
        }
        pop(c, o);
    }
    if (directives_seen == 0)
        VERR(c, pos_key(c), "error route must end with a directive: break, resume, ignore, "
             "commit or rollback");
    else if (directives_seen > 1)
        VERR(c, pos_key(c), "error route has %d directives; it ends with exactly one",
             directives_seen);
    c->nvis = vis0;
}

/* ---- triggers ---- */

#define HOOK_CHARS "letters, digits and - _ . ~ /"

/* The listener's answer to every request for a webhook path with this flaw. */
static const char *hook_flaw_why(enum sc_url_flaw_kind k)
{
    switch (k) {
    case SC_URL_FLAW_ESCAPE: return "a '%' that starts no escape (%XX)";
    case SC_URL_FLAW_NUL: return "%00 (a NUL byte)";
    case SC_URL_FLAW_SLASH: return "%2F, a '/' inside a segment";
    default: return "";
    }
}

/* A webhook path the listener can never match (sc_url_path_flaw, sc_webhook_path_reserved,
 * as it reads a request's path), or one outside the path alphabet: said with a caret
 * under the offending part; false when it is good. */
static bool hook_path_error(struct vctx *c, const char *p)
{
    struct sc_url_flaw f;
    size_t n = strlen(p), bad = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789/-_.~");
    const char *dbl = strstr(p, "//");
    if (p[0] != '/') {
        VERR(c, pos_val(c), "webhook path '%s' must start with '/' and hold only " HOOK_CHARS, p);
    } else if (sc_url_path_flaw(p, n, &f) == SC_URL_FLAW_DOT) {
        size_t dots = 0;
        for (size_t i = f.off; i < f.off + f.len; i++)
            dots += p[i] == '.' || p[i] == '%';
        VERR(c, sc_doc_pos_in(c->doc, c->path, f.off, f.len), "webhook path '%s' holds %s%.*s%s "
             "segment: the listener refuses every request to it (400), never resolving it; "
             "write the path it stands for", p, dots == f.len ? "a '" : "the '", (int)f.len,
             p + f.off, dots == f.len ? "'" : dots == 1 ? "' ('.' encoded)" : "' ('..' encoded)");
    } else if (f.kind == SC_URL_FLAW_ENCODED) {
        char ch = (char)strtol((char[]){p[f.off + 1], p[f.off + 2], 0}, NULL, 16), fix[24];
        bool plain = isalnum((unsigned char)ch) || (ch && strchr("/-_.~", ch));
        snprintf(fix, sizeof fix, "write '%c' instead", plain ? ch : '?');
        VERR(c, sc_doc_pos_in(c->doc, c->path, f.off, f.len), "webhook path '%s' holds the "
             "escape '%.3s': the listener decodes a request's path before matching it, so no "
             "request matches it as written; %s", p, p + f.off,
             plain ? fix : "a webhook path holds only " HOOK_CHARS);
    } else if (f.kind != SC_URL_FLAW_NONE) {
        VERR(c, sc_doc_pos_in(c->doc, c->path, f.off, f.len), "webhook path '%s' holds %s: "
             "the listener answers every request to it %s", p, hook_flaw_why(f.kind),
             f.kind == SC_URL_FLAW_SLASH ? "404 (no path has a '/' inside a segment)"
                                         : "400 (not a path)");
    } else if (bad < n) {
        unsigned char b = (unsigned char)p[bad];
        char what[32];
        snprintf(what, sizeof what, b >= 0x80 ? "a character beyond ASCII" : b < 0x20 || b == 0x7f
                 ? "a control character" : "'%c'", b);
        VERR(c, sc_doc_pos_in(c->doc, c->path, bad, 1), "webhook path '%s' holds %s: a "
             "webhook path holds only " HOOK_CHARS, p, what);
    } else if (dbl) {
        VERR(c, sc_doc_pos_in(c->doc, c->path, (size_t)(dbl - p), 2), "webhook path '%s' "
             "holds an empty segment ('//'): write one '/'", p);
    } else if (n > 256) {
        VERR(c, pos_val(c), "webhook path is %zu characters long: at most 256", n);
    } else if (sc_webhook_path_reserved(p)) {
        VERR(c, pos_val(c), "webhook path '%s' is the listener's own (GET /healthz, /readyz, "
             "/metrics, /executions/ID): it answers there itself and never takes a webhook; "
             "choose another path", p);
    } else {
        return false;
    }
    return true;
}

/* A secret that is there but cannot sign (not base64 for standard-webhooks) is an error
 * now, not a 500 to every request; one not set here is left to serve's start. */
static void check_hook_secret(struct vctx *c, const struct sc_org_hook *hook, const char *auth)
{
    char why[200];
    const char *secret = hook->secret.value; /* read once, at the org's load */
    if (hook->scheme && secret &&
        sc_webhook_secret_check(hook->scheme, secret, why, sizeof why) != 0) {
        size_t o = push(c, "auth");
        VERR(c, pos_val(c), "org '%s' webhook secret '%s' (%s) is unusable: %s", c->v->org->name,
             auth, hook->secret.ref, why);
        pop(c, o);
    }
}

static void check_webhook(struct vctx *c, json_t *w)
{
    const char *path = json_string_value(json_object_get(w, "path"));
    if (path) {
        size_t o = push(c, "path");
        if (!hook_path_error(c, path)) {
            json_t *prev = json_object_get(c->v->hooks, path);
            if (prev)
                VERR(c, pos_val(c), "webhook path '%s' is also used by scenario '%s' (%s:%d)",
                     path, json_string_value(json_object_get(prev, "scenario")),
                     json_string_value(json_object_get(prev, "file")),
                     (int)json_integer_value(json_object_get(prev, "line")));
            else
                json_object_set_new(c->v->hooks, path,
                                    json_pack("{s:s, s:s, s:i}", "scenario",
                                              c->scenario ? c->scenario : "?", "file",
                                              c->doc->src.name, "line", pos_val(c).line));
        }
        pop(c, o);
    }
    const char *auth = json_string_value(json_object_get(w, "auth"));
    const struct sc_org *org = c->v->org;
    if (auth && org && !sc_org_hook(org, auth)) {
        size_t o = push(c, "auth");
        const char *names[128];
        size_t n = 0;
        for (size_t i = 0; i < org->nhooks && n < 128; i++)
            names[n++] = org->hooks[i].name;
        const char *hint = sc_suggest(auth, names, n);
        if (hint)
            VERR(c, pos_val(c), "org '%s' has no webhook secret '%s'; did you mean '%s'?",
                 org->name, auth, hint);
        else
            VERR(c, pos_val(c), "org '%s' has no webhook secret '%s' (define it under "
                 "webhooks: in the org file)", org->name, auth);
        pop(c, o);
    } else if (auth && org) {
        check_hook_secret(c, sc_org_hook(org, auth), auth);
    }
}

static void check_timing(struct vctx *c, json_t *t, const char *kind)
{
    bool cron = json_object_get(t, "cron") != NULL, every = json_object_get(t, "every") != NULL;
    if (cron == every)
        VERR(c, pos_key(c), "a %s needs exactly one of cron and every", kind);
    if (json_object_get(t, "tz") && !cron) {
        size_t o = push(c, "tz");
        VERR(c, pos_key(c), "tz applies only to cron");
        pop(c, o);
    }
}

static void check_poll(struct vctx *c, json_t *t)
{
    check_timing(c, t, "poll");
    const char *mod = json_string_value(json_object_get(t, "module"));
    if (!mod)
        return;
    size_t o = push(c, "module");
    const struct sc_module_def *m = find_module(c, mod);
    pop(c, o);
    if (!m)
        return;
    o = push(c, "with");
    check_module_use(c, m, json_object_get(t, "with"), true);
    const char *method = json_string_value(json_object_get(json_object_get(t, "with"), "method"));
    if (module_writes(m, json_object_get(t, "with")))
        VERR(c, pos_key(c), "a poll only reads: %s here would write on every poll",
             method ? method : m->name);
    const char *emit = json_string_value(json_object_get(json_object_get(t, "with"), "emit"));
    if (emit && !strcmp(emit, "items")) { /* the poll reads one output; its items: fan out */
        size_t oe = push(c, "emit");
        VERR(c, pos_key(c), "a poll's step gives one output: leave out emit: items and give "
             "the poll items: \"{{ output.items }}\" (each item is then its own execution)");
        pop(c, oe);
    }
    pop(c, o);
}

/* A trigger of a known kind, its mapping well formed (NULL: manual written bare). */
static void check_trigger(struct vctx *c, const char *kind, json_t *val)
{
    if (!strcmp(kind, "webhook")) {
        check_fields(c, sc_webhook_fields, val, "webhook", NULL);
        check_webhook(c, val);
    } else if (!strcmp(kind, "schedule")) {
        check_fields(c, sc_schedule_fields, val, "schedule", NULL);
        check_timing(c, val, "schedule");
    } else if (!strcmp(kind, "poll")) {
        static const char *const handled[] = {"with", NULL};
        check_fields(c, sc_poll_fields, val, "poll", handled);
        check_poll(c, val);
    } else if (json_is_object(val)) {
        check_fields(c, sc_manual_fields, val, "manual", NULL);
    }
}

static void check_triggers(struct vctx *c, json_t *arr)
{
    if (!json_is_array(arr)) {
        VERR(c, pos_val(c), "triggers must be a list, not %s", json_kind(arr));
        return;
    }
    if (json_array_size(arr) == 0) {
        VERR(c, pos_key(c), "triggers is empty: give at least one (webhook, schedule, poll "
             "or manual)");
        return;
    }
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t) {
        size_t o = pushi(c, i);
        const char *kind = NULL;
        json_t *val = NULL;
        if (json_is_string(t)) {
            kind = json_string_value(t);
        } else if (json_is_object(t) && json_object_size(t) == 1) {
            void *it = json_object_iter(t);
            kind = json_object_iter_key(it);
            val = json_object_iter_value(it);
        } else {
            VERR(c, pos_val(c), "a trigger is one of webhook: {...}, schedule: {...}, poll: "
                 "{...} or manual");
            pop(c, o);
            continue;
        }
        size_t ok = val ? push(c, kind) : o;
        if (!in_list(kind, trigger_kinds)) {
            const char *hint = sc_suggest(kind, trigger_kinds, 4);
            if (hint)
                VERR(c, pos_key(c), "unknown trigger '%s'; did you mean '%s'?", kind, hint);
            else
                VERR(c, pos_key(c), "unknown trigger '%s' (webhook, schedule, poll or manual)",
                     kind);
        } else if (val && !json_is_object(val) && !(json_is_null(val) && !strcmp(kind, "manual"))) {
            VERR(c, pos_val(c), "trigger '%s' takes a mapping, not %s", kind, json_kind(val));
        } else if (!val && strcmp(kind, "manual")) {
            VERR(c, pos_val(c), "trigger '%s' needs its settings: %s: {...}", kind, kind);
        } else {
            def_trigger(c, i, kind, val);
            check_trigger(c, kind, val);
        }
        pop(c, ok);
        pop(c, o);
    }
}

/* ---- documents ---- */

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 64 || !(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
        return false;
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' && *p != '_')
            return false;
    return true;
}

/* The one walk: checks the document and, when def is given, fills it. */
static void validate(struct sc_validator *v, const struct sc_doc *doc, struct sc_def *def)
{
    struct vctx c = {.v = v, .doc = doc, .d = v->d, .ids = json_object(), .def = def};
    json_t *root = doc->root;
    if (!json_is_object(root)) {
        VERR(&c, pos_val(&c), "a scenario file holds a mapping (name, triggers, steps), not %s",
             json_kind(root));
        json_decref(c.ids);
        return;
    }
    const char *name = json_string_value(json_object_get(root, "name"));
    c.scenario = name;
    if (def) {
        def->name = name;
        def->on_error = json_object_get(root, "on_error");
    }
    def_settings(&c, json_object_get(root, "settings"));
    c.default_route = json_object_get(root, "on_error") != NULL ||
                      misspelt(root, sc_scenario_fields, "on_error");
    static const char *const handled[] = {"triggers", "steps", "on_error", NULL};
    check_fields(&c, sc_scenario_fields, root, "the scenario", handled);
    if (name) {
        size_t o = push(&c, "name");
        json_t *prev = json_object_get(v->names, name);
        if (!valid_name(name))
            VERR(&c, pos_val(&c), "scenario name '%s' may hold only a-z, 0-9, - and _ (64 at "
                 "most): it names versions, exports and backup files", name);
        else if (prev)
            VERR(&c, pos_val(&c), "scenario name '%s' is also used by %s:%d", name,
                 json_string_value(json_object_get(prev, "file")),
                 (int)json_integer_value(json_object_get(prev, "line")));
        else
            json_object_set_new(v->names, name, json_pack("{s:s, s:i}", "file", doc->src.name,
                                                          "line", pos_val(&c).line));
        pop(&c, o);
    }
    json_t *triggers = json_object_get(root, "triggers");
    if (triggers) {
        size_t o = push(&c, "triggers");
        check_triggers(&c, triggers);
        pop(&c, o);
    }
    json_t *steps = json_object_get(root, "steps");
    if (steps) {
        size_t o = push(&c, "steps");
        collect_ids(&c, steps);
        check_steps(&c, steps, true);
        pop(&c, o);
    }
    json_t *route = json_object_get(root, "on_error");
    if (route) {
        size_t o = push(&c, "on_error");
        check_route(&c, route);
        pop(&c, o);
    }
    free(c.vis);
    json_decref(c.ids);
}

void sc_validate_doc(struct sc_validator *v, const struct sc_doc *doc)
{
    validate(v, doc, NULL);
}

struct sc_def *sc_validate_def(struct sc_validator *v, const struct sc_doc *doc)
{
    size_t errors = v->d->errors;
    json_t *root = doc->root;
    struct sc_def *def = sc_def_new(json_array_size(json_object_get(root, "triggers")),
                                    json_array_size(json_object_get(root, "steps")));
    if (!def) {
        sc_diag_add(v->d, SC_SEV_ERROR, &doc->src, 0, 0, 0, "out of memory while validating");
        return NULL;
    }
    validate(v, doc, def);
    if (v->d->errors > errors) {
        sc_def_free(def);
        return NULL;
    }
    return def;
}

void sc_validate_file(struct sc_validator *v, const char *path)
{
    struct sc_doc *doc = sc_doc_load_file(path, v->d);
    if (!doc)
        return;
    sc_validate_doc(v, doc);
    sc_doc_free(doc);
}

struct sc_validator *sc_validator_new(const struct sc_org *org, struct sc_diags *d)
{
    struct sc_validator *v = sc_calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->org = org;
    v->d = d;
    v->hooks = json_object();
    v->names = json_object();
    if (!v->hooks || !v->names) {
        sc_validator_free(v);
        return NULL;
    }
    return v;
}

void sc_validator_free(struct sc_validator *v)
{
    if (!v)
        return;
    if (v->L)
        lua_close(v->L);
    sc_lua_free(v->lua);
    json_decref(v->hooks);
    json_decref(v->names);
    free(v);
}

void sc_validate_config(const struct sc_doc *doc, const struct sc_param *fields,
                        const char *what, void (*check)(struct sc_check *, const json_t *),
                        struct sc_diags *d)
{
    struct sc_validator v = {.d = d};
    struct vctx c = {.v = &v, .doc = doc, .d = d, .ids = json_object(), .default_route = true};
    if (!json_is_object(doc->root)) {
        VERR(&c, pos_val(&c), "%s holds a mapping, not %s", what, json_kind(doc->root));
    } else {
        check_fields(&c, fields, doc->root, what, NULL);
        struct sc_check chk = {&c};
        if (check)
            check(&chk, doc->root);
    }
    json_decref(c.ids);
    if (v.L)
        lua_close(v.L);
}
