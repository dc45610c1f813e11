/* The catalog of scenarios: loaded, validated together, their triggers made ready. */
#include "daemon/catalog.h"

#include "lang/duration.h"
#include "model/yaml.h"
#include "model/files.h"
#include "model/validate.h"
#include "model/webhook.h"
#include "run/runner.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The scenario files (files.h: the same walk as validate and deploy). NULL when a
 * path does not exist or a folder holds no scenario file (said). */
static char **expand_paths(const struct sc_serve_opts *o, size_t *n)
{
    static const char *const def[] = {"scenarios"};
    const char *const *paths = o->npaths ? o->paths : def;
    size_t np = o->npaths ? o->npaths : 1;
    struct sc_files f = {0};
    for (size_t i = 0; i < np; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0) {
            sc_daemon_say("%s: %s", paths[i], strerror(errno));
            sc_files_free(&f);
            return NULL;
        }
        long k = sc_files_add(&f, paths[i]);
        if (k <= 0) {
            sc_daemon_say("%s: %s", paths[i], k < 0 ? "out of memory"
                          : "no scenario files (*.yaml, *.yml) in this folder");
            sc_files_free(&f);
            return NULL;
        }
    }
    *n = f.n;
    return sc_files_take(&f);
}

/* A string member, or def when absent. */
static const char *str_or(json_t *obj, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : def;
}

/* True when a respond step appears anywhere in the scenario (routes, routers). */
static bool has_respond(json_t *v)
{
    if (json_is_object(v)) {
        const struct sc_module_def *m = sc_module_find(str_or(v, "module", ""));
        if (m && (m->flags & SC_M_RESPOND))
            return true;
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
            if (has_respond(x))
                return true;
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            if (has_respond(x))
                return true;
    }
    return false;
}

/* "3" for "version:NAME@3", else "draft". */
static void version_of(const char *source, char *out, size_t n)
{
    const char *at = strncmp(source, "version:", 8) ? NULL : strrchr(source, '@');
    snprintf(out, n, "%s", at ? at + 1 : "draft");
}

void sc_catalog_free(struct sc_daemon *d, struct sc_catalog *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&d->intake.mu);
    for (size_t i = 0; i < c->nhooks; i++) {
        struct sc_catalog_hook *r = &c->hooks[i];
        sc_tmpl_free(r->dedupe, d->intake.lua);
        json_decref(r->dedupe_src);
        if (r->secret)
            memset(r->secret, 0, strlen(r->secret));
        free(r->secret);
        free(r->scheme);
        free(r->path);
        free(r->scenario);
        free(r->source);
    }
    pthread_mutex_unlock(&d->intake.mu);
    free(c->hooks);
    free(c->timers);
    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->scs)
            sc_scenario_free(c->scs[i]);
        free(c->files[i]);
    }
    free(c->scs);
    free(c->files);
    free(c);
}

static int add_hook(struct sc_daemon *d, struct sc_catalog *c, size_t file,
                    const struct sc_def_trigger *w, struct sc_diags *diag)
{
    json_t *root = sc_scenario_json(c->scs[file]);
    const struct sc_def_settings *set = &sc_scenario_def(c->scs[file])->settings;
    struct sc_catalog_hook *r = &c->hooks[c->nhooks++];
    r->path = sc_strdup(w->path);
    r->scenario = sc_strdup(sc_scenario_name(c->scs[file]));
    r->source = sc_strdup(c->files[file]);
    version_of(c->files[file], r->version, sizeof r->version);
    r->realtime = w->realtime;
    r->sequential = set->sequential;
    r->confidential = set->confidential;
    r->respond = has_respond(json_object_get(root, "steps"));
    r->instant = sc_scenario_local(c->scs[file]) && !r->sequential && !w->dedupe_key;
    if (!r->path || !r->scenario || !r->source)
        return -1;
    const char *auth = w->auth;
    if (auth) {
        const struct sc_org_hook *hook = sc_org_hook(d->org, auth);
        char err[300] = "out of memory";
        r->scheme = sc_strdup(hook && hook->scheme ? hook->scheme : "");
        const char *ref = hook ? hook->secret.ref : NULL;
        if (ref && !hook->secret.value) /* read at the org's load, not here */
            snprintf(err, sizeof err, "%s", hook->secret.err);
        if (!r->scheme || !ref || !hook->secret.value ||
            !(r->secret = sc_strdup(hook->secret.value)) ||
            sc_webhook_secret_check(r->scheme, r->secret, err, sizeof err) != 0) {
            struct sc_src src = {.name = c->files[file]};
            sc_diag_add(diag, SC_SEV_ERROR, &src, 0, 0, 0, "webhook %s: secret %s: %s", r->path,
                        auth, ref ? err : "not defined in the org");
            return -1;
        }
    }
    json_t *dk = w->dedupe_key;
    if (dk) {
        char err[300];
        r->dedupe_src = json_deep_copy(dk);
        pthread_mutex_lock(&d->intake.mu);
        r->dedupe = r->dedupe_src ? sc_tmpl_compile(d->intake.lua, r->dedupe_src, err, sizeof err)
                                  : NULL;
        pthread_mutex_unlock(&d->intake.mu);
        /* a dedupe_key {{ }} giving null/missing/"" fails: no key, not one key for all events */
        sc_tmpl_set_encoder(r->dedupe, NULL, sc_tmpl_key_value);
        if (!r->dedupe) {
            struct sc_src src = {.name = c->files[file]};
            sc_diag_add(diag, SC_SEV_ERROR, &src, 0, 0, 0, "webhook %s: dedupe_key: %s", r->path,
                        r->dedupe_src ? err : "out of memory");
            return -1;
        }
    }
    return 0;
}

static void add_timer(struct sc_daemon *d, struct sc_catalog *c, size_t file,
                      const struct sc_def_trigger *t)
{
    const struct sc_def_settings *set = &sc_scenario_def(c->scs[file])->settings;
    size_t trig = t->index;
    const char *kind = sc_def_kind_name(t->kind);
    struct sc_catalog_timer *tm = &c->timers[c->ntimers++];
    tm->sc = c->scs[file];
    tm->scenario = sc_scenario_name(tm->sc);
    tm->source = c->files[file];
    version_of(tm->source, tm->version, sizeof tm->version);
    tm->trigger = trig;
    tm->poll = !strcmp(kind, "poll");
    snprintf(tm->key, sizeof tm->key, "%s:%zu", kind, trig);
    tm->sequential = set->sequential;
    tm->confidential = set->confidential;
    tm->catch_up = t->catch_up;
    const char *cron = t->cron;
    struct sc_cron_err e;
    tm->has_cron = cron && sc_cron_parse(cron, &tm->cron, &e) == 0;
    const char *tz = t->tz;
    if (!tz)
        tz = d->org->timezone; /* the org file's table gives it a default */
    snprintf(tm->tz, sizeof tm->tz, "%s", tz);
    tm->every_ms = t->every_ms;
    tm->window_ms = t->window_ms;
    tm->skew_ms = t->skew_ms;
    tm->next_ms = -1;
}

/* With no paths given: the current version of every deployed scenario
 * ("version:NAME@N"), or, when nothing is deployed, the files of scenarios/. */
static char **deployed(struct sc_daemon *d, struct sc_store *st, size_t *n)
{
    json_t *cur = sc_store_versions_current(st);
    size_t k = json_array_size(cur), i;
    json_t *v;
    d->versions = k > 0;
    if (!k) {
        json_decref(cur);
        return expand_paths(&d->o, n);
    }
    char **out = sc_calloc(k + 1, sizeof *out);
    *n = 0;
    json_array_foreach(cur, i, v) {
        if (out && !(out[*n] = sc_asprintf("version:%s@%lld", json_string_value(json_object_get(v, "scenario")),
                                           (long long)json_integer_value(json_object_get(v, "number")))))
            break;
        (*n)++;
    }
    json_decref(cur);
    return out;
}

struct sc_catalog *sc_catalog_load(struct sc_daemon *d, struct sc_runtime *rt,
                                   struct sc_diags *diag)
{
    struct sc_catalog *c = sc_calloc(1, sizeof *c);
    if (!c || !(c->files = d->o.npaths ? expand_paths(&d->o, &c->nfiles)
                                       : deployed(d, rt->store, &c->nfiles)))
        goto fail;
    struct sc_validator *v = sc_validator_new(d->org, diag);
    c->scs = sc_calloc(c->nfiles + 1, sizeof *c->scs);
    size_t nhooks = 0, ntimers = 0;
    for (size_t i = 0; v && c->scs && i < c->nfiles; i++) {
        c->scs[i] = sc_runner_load(rt, c->files[i], v, diag);
        const struct sc_def *def = c->scs[i] ? sc_scenario_def(c->scs[i]) : NULL;
        for (size_t k = 0; def && k < def->ntriggers; k++) {
            nhooks += def->triggers[k].kind == SC_DEF_WEBHOOK;
            ntimers += def->triggers[k].kind == SC_DEF_SCHEDULE ||
                       def->triggers[k].kind == SC_DEF_POLL;
        }
    }
    sc_validator_free(v);
    if (!v || !c->scs || diag->errors)
        goto fail;
    c->hooks = sc_calloc(nhooks + 1, sizeof *c->hooks);
    c->timers = sc_calloc(ntimers + 1, sizeof *c->timers);
    if (!c->hooks || !c->timers)
        goto fail;
    for (size_t i = 0; i < c->nfiles; i++) {
        const struct sc_def *def = c->scs[i] ? sc_scenario_def(c->scs[i]) : NULL;
        for (size_t k = 0; def && k < def->ntriggers; k++) {
            const struct sc_def_trigger *t = &def->triggers[k];
            if (t->kind == SC_DEF_WEBHOOK && add_hook(d, c, i, t, diag) != 0)
                goto fail;
            if (t->kind == SC_DEF_SCHEDULE || t->kind == SC_DEF_POLL)
                add_timer(d, c, i, t);
        }
    }
    return c;
fail:
    if (!diag->errors) {
        struct sc_src src = {.name = "scenarios"};
        sc_diag_add(diag, SC_SEV_ERROR, &src, 0, 0, 0, "the scenarios could not be loaded");
    }
    sc_catalog_free(d, c);
    return NULL;
}


const struct sc_catalog_hook *sc_catalog_hook_find(const struct sc_catalog *c, const char *path)
{
    for (size_t i = 0; i < c->nhooks; i++)
        if (!strcmp(c->hooks[i].path, path))
            return &c->hooks[i];
    return NULL;
}
