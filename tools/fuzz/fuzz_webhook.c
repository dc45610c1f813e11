/* The webhook request path without the socket: headers ("name: value" lines, then an
 * empty line) and a body; content type, both signature schemes, then the JSON parse. */
#include "fuzz.h"

#include "model/webhook.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct hdrs {
    char *name[16], *value[16];
    int n;
};

static const char *get(void *ud, const char *name)
{
    struct hdrs *h = ud;
    for (int i = 0; i < h->n; i++)
        if (!strcasecmp(h->name[i], name))
            return h->value[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct hdrs h = {0};
    char *p = text, *body = text + strlen(text);
    size_t blen = 0;
    while (*p && h.n < 16) {
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        if (p == nl) { /* the empty line: the body follows */
            body = nl + 1;
            blen = size - (size_t)(body - text);
            break;
        }
        char *colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            h.name[h.n] = p;
            h.value[h.n++] = colon + 1 + (colon[1] == ' ');
        }
        p = nl + 1;
    }
    char why[256];
    sc_webhook_json_type(get(&h, "content-type"));
    sc_webhook_verify("standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", get, &h, body,
                      blen, 1614265330000LL, why, sizeof why);
    sc_webhook_verify("hub-signature", "It's a Secret to Everybody", get, &h, body, blen, 0, why,
                      sizeof why);
    json_error_t e;
    json_t *v = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &e);
    if (!v)
        sc_webhook_json_error(&e, why, sizeof why);
    json_decref(v);
    struct sc_buf dec = {0};
    const char *ce = get(&h, "content-encoding");
    if (ce && sc_webhook_decode(ce, body, blen, 1 << 20, &dec, why, sizeof why) == 0)
        sc_buf_free(&dec);
    free(text);
    return 0;
}
