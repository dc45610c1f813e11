/* The step/host API (module.h): what a module asks of the engine about the step
 * being run. */
#include "module.h"

#include "run/exec.h"
#include "run/execution.h"
#include "run/plan.h"
#include "model/def.h"
#include "clock.h"
#include "store/hooks.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

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
const char *sc_step_id(struct sc_step_ctx *ctx) { return sc_plan_step_name(ctx->s); }
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
    struct sc_run *r = ctx->r;
    if (r && !ctx->sent_from[0])
        snprintf(ctx->sent_from, sizeof ctx->sent_from, "%s/scenarios/%s/versions/%s/steps/%s",
                 r->org_url, r->sc->name, r->version, sc_plan_step_name(ctx->s));
    return ctx->sent_from;
}

const char *sc_step_idempotency_key(struct sc_step_ctx *ctx)
{
    struct sc_run *r = ctx->r;
    if (r && !ctx->idem[0])
        snprintf(ctx->idem, sizeof ctx->idem, "%s:%s:%s", r->id, sc_plan_step_name(ctx->s),
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

bool sc_step_defer(struct sc_step_ctx *ctx, int64_t wake_ms, const char *why)
{
    if (!ctx->r || !ctx->r->rt->park || !ctx->r->rt->store)
        return false;
    ctx->defer_ms = wake_ms;
    snprintf(ctx->defer_why, sizeof ctx->defer_why, "%s", why ? why : "deferred");
    return true;
}

bool sc_step_realtime(struct sc_step_ctx *ctx)
{
    if (!ctx->r)
        return false;
    const struct sc_def *def = ctx->r->sc->def;
    for (size_t i = 0; def && i < def->ntriggers; i++)
        if (def->triggers[i].realtime)
            return true;
    const struct sc_plan_list *l = &ctx->r->sc->steps;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].mod && (l->v[i].mod->flags & SC_M_RESPOND))
            return true;
    return false;
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
    struct sc_run *r = ctx->r;
    if (!r || !r->rt->store)
        return 0;
    struct sc_audit_row a = {.at_ms = sc_clock_now_ms(), .duration_ms = w->duration_ms,
                             .org = r->rt->org ? r->rt->org->name : "none",
                             .scenario = r->sc->name, .version = r->version, .execution = r->id,
                             .step = sc_plan_step_name(ctx->s), .method = w->method,
                             .sent_from = sc_step_sent_from(ctx), .sent_to = w->sent_to,
                             .status = (int)w->status, .outcome = w->outcome, .body = w->body,
                             .body_len = w->body_len, .ref = w->ref, .by = r->by};
    int64_t id = sc_store_audit_add(r->rt->store, &a);
    /* a write's pending row is on disk before the write leaves: a commit alone survives a
     * crash of the process, not a power loss (the store syncs the log for it) */
    if (id > 0 && !w->ref && !strcmp(w->outcome, "pending") && sc_store_sync(r->rt->store) != 0)
        id = -1;
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
