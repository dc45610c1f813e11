/* Pages (engine/run/pages.c): any Link header value, read by any relation, gives nothing
 * or a target taken whole from between one '<' and the next '>' of the input; any
 * dotted path into a page's body gives nothing or a value of that body. */
#include "fuzz.h"

#include "run/pages.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *const rels[] = {"next", "prev", "last", "NEXT", "", NULL};

/* True when "<" t ">" occurs in s. */
static bool enclosed(const char *s, const char *t)
{
    size_t n = strlen(t);
    for (const char *at = strstr(s, t); at; at = strstr(at + 1, t))
        if (at > s && at[-1] == '<' && at[n] == '>')
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    json_t *h = json_string(s); /* NULL when the input is not UTF-8: then as an array */
    json_t *arr = json_pack("[s, s]", "<a>; rel=prev", h ? s : "");
    for (const char *const *r = rels; *r; r++) {
        for (int k = 0; k < 2; k++) {
            char *t = sc_pages_link(k ? arr : h, *r);
            if (t) {
                const char *in = k && !strcmp(t, "a") ? "<a>" : s;
                if (!enclosed(in, t) || strchr(t, '>'))
                    abort();
            }
            free(t);
        }
    }
    json_t *body = json_loads("{\"data\": {\"items\": [1, {\"id\": \"x\"}]}, \"next\": null}", 0,
                              NULL);
    json_t *dat = json_object_get(body, "data"), *items = json_object_get(dat, "items");
    const json_t *nodes[] = {body, dat, items, json_array_get(items, 0), json_array_get(items, 1),
                             json_object_get(json_array_get(items, 1), "id"),
                             json_object_get(body, "next")};
    json_t *v = sc_pages_at(body, s);
    bool known = !v;
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
        known |= v == nodes[i];
    if (!known)
        abort(); /* a path gives a node of the body, never anything else */
    json_decref(body);
    json_decref(arr);
    json_decref(h);
    free(s);
    return 0;
}
