/* Versions made: deploy's load, the check of a stored document, storing a version, promote. */
#include "run/deploy.h"

#include "model/validate.h"
#include "run/audit.h"
#include "run/plan.h"
#include "store/version.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sc_deploy_valid(json_t *doc, const char *label, const struct sc_org *org, struct sc_diags *d)
{
    char err[512] = "out of memory";
    struct sc_src src = {label, NULL, 0};
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    json_t *scenario = lua ? sc_version_scenario(doc) : NULL;
    char *text = scenario ? sc_version_text(scenario) : NULL;
    bool tf = text && sc_lua_use(lua, json_object_get(doc, "transforms"), err, sizeof err) == 0;
    struct sc_scenario *sc = tf ? sc_scenario_load_text(label, text, strlen(text), org, lua,
                                                        NULL, d) : NULL;
    if (!lua)
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "Lua: %s", err);
    else if (text && !tf)
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "its transforms: %s", err);
    else if (!text)
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "out of memory");
    bool ok = sc != NULL;
    sc_scenario_free(sc);
    sc_lua_free(lua);
    json_decref(scenario);
    free(text);
    return ok;
}

json_t *sc_deploy_load(const char *path, const char *text, size_t len, const struct sc_org *org,
                       struct sc_lua *lua, struct sc_validator *v, struct sc_diags *d)
{
    char err[512];
    struct sc_src src = {path, NULL, 0};
    if (sc_lua_use(lua, NULL, err, sizeof err) != 0) { /* a new record of use */
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "%s", err);
        return NULL;
    }
    struct sc_scenario *sc = text ? sc_scenario_load_text(path, text, len, org, lua, v, d)
                                  : sc_scenario_load(path, org, lua, v, d);
    json_t *used = sc ? sc_lua_used(lua) : NULL;
    json_t *tf = used ? sc_version_transforms(used, err, sizeof err) : NULL;
    json_t *doc = tf ? sc_version_document(sc_scenario_json(sc), tf) : NULL;
    if (sc && !doc)
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "%s", used && !tf ? err : "out of memory");
    json_decref(tf);
    json_decref(used);
    sc_scenario_free(sc);
    return doc;
}

/* A new version's audit row: who stored it and with what message (sc_audit_person). */
static int64_t version_audit(struct sc_store *st, const char *org, const char *name, int n,
                             const char *origin, const char *by, const char *message)
{
    char object[400], num[16];
    snprintf(object, sizeof object, "scenarios/%s/versions/%d", name, n);
    snprintf(num, sizeof num, "%d", n);
    struct sc_audit_act a = {.org = org, .action = origin, .object = object, .by = by,
                             .scenario = name, .version = num, .note = message};
    return sc_audit_person(st, &a);
}

int sc_deploy_store(struct sc_store *st, json_t *doc, const char *message, const char *origin,
                    const char *org, const char *by, struct sc_deploy_result *r)
{
    memset(r, 0, sizeof *r);
    const char *name = json_string_value(json_object_get(doc, "name"));
    json_t *prev = sc_store_version_get(st, name, 0); /* NULL: the first version */
    /* the version and its audit row (the person, the message) commit together */
    int rc = sc_version_checksum(doc, r->checksum) == 0 && sc_store_tx_begin(st) == 0
                 ? sc_store_version_add(st, name, doc, r->checksum, message, origin, &r->number)
                 : -1;
    if (rc >= 0 && rc != SC_STORE_SAME &&
        version_audit(st, org, name, r->number, origin, by, message) < 0)
        rc = -1;
    if (rc >= 0 && sc_store_tx_commit(st) != 0)
        rc = -1;
    if (rc < 0)
        sc_store_tx_rollback(st);
    if (rc >= 0 && prev)
        sc_version_transforms_note(json_object_get(prev, "document"), doc, r->note,
                                   sizeof r->note);
    json_decref(prev);
    r->changed = rc == SC_STORE_OK;
    return rc < 0 ? -1 : 0;
}

enum sc_deploy_rc sc_deploy_promote(struct sc_store *src_st, const struct sc_org *src,
                                    struct sc_store *dst_st, const struct sc_org *dst,
                                    const char *name, int version, const char *suffix,
                                    const char *by, struct sc_diags *d,
                                    struct sc_deploy_result *r, char *err, size_t errlen)
{
    json_t *v = sc_store_version_get(src_st, name, version);
    if (!v) {
        snprintf(err, errlen, "org %s: %s", src->name, sc_store_error(src_st));
        return SC_DEPLOY_NONE;
    }
    long long n = (long long)json_integer_value(json_object_get(v, "number"));
    char label[200], msg[600];
    snprintf(label, sizeof label, "%s v%lld from %s", name, n, src->name);
    json_t *doc = json_object_get(v, "document");
    enum sc_deploy_rc rc = SC_DEPLOY_OK;
    if (!sc_deploy_valid(doc, label, dst, d)) {
        snprintf(err, errlen, "%s: refused: it does not validate against org %s", label,
                 dst->name);
        rc = SC_DEPLOY_INVALID;
    } else {
        snprintf(msg, sizeof msg, "promoted from %s v%lld%s", src->name, n, suffix ? suffix : "");
        if (sc_deploy_store(dst_st, doc, msg, "promote", dst->name, by, r) != 0) {
            snprintf(err, errlen, "org %s: %s: %s", dst->name, name, sc_store_error(dst_st));
            rc = SC_DEPLOY_ERR;
        }
    }
    json_decref(v);
    return rc;
}
