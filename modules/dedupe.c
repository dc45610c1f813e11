/* dedupe: lets a bundle through once per key within a window; a repeat stops quietly
 * (status filtered), so a webhook retried by its sender or an item seen twice by an
 * overlapping poll writes once. */
#include "module.h"
#include "store/store.h"
#include "lang/text.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct with {
    const char *key, *store;
    int64_t window_ms;
};

static const struct sc_param params[] = {
    {.name = "key", .type = SC_T_STRING, .required = true, .flags = SC_P_KEY,
     .offset = offsetof(struct with, key),
     .doc = "Template giving the bundle's identity, e.g. \"{{ trigger.body.completion_id }}\"; "
            "a {{ }} that gives null or empty text fails the step (a data error)."},
    {.name = "window", .type = SC_T_DURATION, .def = "\"30d\"", .flags = SC_P_STATIC,
     .offset = offsetof(struct with, window_ms),
     .doc = "How long a key is remembered."},
    {.name = "store", .type = SC_T_STRING, .flags = SC_P_STATIC,
     .offset = offsetof(struct with, store),
     .doc = "Data store of the keys (default: dedupe:SCENARIO:STEP)."},
    {0},
};

static enum sc_status run(struct sc_step_ctx *ctx, void *state, const void *with_v,
                          const json_t *input, char *err, size_t errlen)
{
    (void)state;
    const struct with *with = with_v;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    if (!st)
        return SC_ERR_CONFIG;
    const char *key = with->key;
    if (!key || !*key) {
        snprintf(err, errlen, "key rendered empty: nothing to deduplicate on");
        return SC_ERR_DATA;
    }
    /* One key per text, whatever its Unicode form (NFC, as the compare module). */
    size_t nfc_len;
    char *nfc = sc_text_map(key, strlen(key), SC_TEXT_NFC, &nfc_len);
    if (nfc && strlen(nfc) == nfc_len)
        key = nfc;
    char name[256];
    const char *store = with->store;
    if (!store) {
        snprintf(name, sizeof name, "dedupe:%s:%s", sc_step_scenario(ctx), sc_step_id(ctx));
        store = name;
    }
    json_t *mark = json_pack("{s:s}", "execution", sc_step_execution_id(ctx));
    int rc = mark ? sc_store_ds_claim(st, store, key, mark, with->window_ms) : -1;
    json_decref(mark);
    if (rc != SC_STORE_OK) {
        free(nfc);
        if (rc == SC_STORE_EXISTS)
            return SC_OK; /* a repeat: no bundle, the path stops here */
        snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
        return SC_ERR_STORE;
    }
    /* a rollback releases the key: the event, undone, may come again */
    json_t *undo = json_pack("{s:s, s:s}", "store", store, "key", key);
    free(nfc);
    if (!undo || sc_step_set_undo(ctx, undo) != 0) {
        snprintf(err, errlen, "out of memory");
        return SC_ERR_RUNTIME;
    }
    return sc_step_emit(ctx, json_incref((json_t *)(input ? input : json_null()))) == 0
               ? SC_OK : SC_ERR_RUNTIME;
}

/* Releases the key this execution claimed (if it still holds it). */
static enum sc_status release(struct sc_step_ctx *ctx, void *state, char *err, size_t errlen)
{
    (void)state;
    struct sc_store *st = sc_step_store(ctx, err, errlen);
    json_t *u = sc_step_undo(ctx);
    if (!st || !u)
        return st ? SC_OK : SC_ERR_CONFIG;
    const char *store = json_string_value(json_object_get(u, "store"));
    const char *key = json_string_value(json_object_get(u, "key"));
    json_t *mark = sc_store_ds_get(st, store ? store : "", key ? key : "");
    if (!mark && sc_store_error(st)[0]) {
        snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
        return SC_ERR_RUNTIME;
    }
    const char *by = json_string_value(json_object_get(mark, "execution"));
    bool ours = by && !strcmp(by, sc_step_execution_id(ctx));
    json_decref(mark);
    if (ours && sc_store_ds_delete(st, store ? store : "", key ? key : "") < 0) {
        snprintf(err, errlen, "the store failed: %s", sc_store_error(st));
        return SC_ERR_RUNTIME;
    }
    return SC_OK;
}

const struct sc_module_def sc_mod_dedupe = {
    .flags = SC_M_SHARED,
    .name = "dedupe",
    .summary = "Pass a bundle once per key within a window; a repeat stops quietly.",
    .params = params,
    .with_size = sizeof(struct with),
    .run = run,
    .rollback = release,
};
