/* scenarist shadow list: what the writes a shadowing connection kept (shadow: true) would
 * have sent, from the org's store. */
#include "cli/cli.h"

#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX 60 /* characters of a body shown on a line */

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* The body's first SUMMARY_MAX bytes on one line (a UTF-8 sequence kept whole; line
 * breaks and tabs as spaces), "..." when there is more; "-" for none. */
static void body_summary(const json_t *e, char *out, size_t n)
{
    const char *b = json_string_value(json_object_get(e, "body"));
    if (json_is_true(json_object_get(e, "confidential")) || !b) {
        snprintf(out, n, "%s", !b ? "-" : "(confidential scenario)");
        return;
    }
    size_t len = strlen(b), cut = len > SUMMARY_MAX ? SUMMARY_MAX : len;
    while (cut < len && cut > 0 && ((unsigned char)b[cut] & 0xC0) == 0x80)
        cut--; /* not in the middle of a character */
    size_t o = 0;
    for (size_t i = 0; i < cut && o + 1 < n; i++)
        out[o++] = b[i] == '\n' || b[i] == '\r' || b[i] == '\t' ? ' ' : b[i];
    out[o] = '\0';
    if (cut < len && o + 4 < n)
        memcpy(out + o, "...", 4);
}

static int shadow_usage(void)
{
    fprintf(stderr, "usage: scenarist shadow list [--scenario NAME] [--execution ID] [--limit N] "
                    "[--json] [--org NAME]\n");
    return EXIT_USAGE;
}

int cmd_shadow(struct opts *o)
{
    if (o->nargs != 1 || strcmp(o->args[0], "list"))
        return shadow_usage();
    struct cli_session s;
    int rc = cli_session_open(o, &s);
    if (rc != EXIT_OK)
        return rc;
    struct sc_shadow_filter f = {.scenario = o->scenario, .execution = o->execution,
                                 .limit = o->limit};
    json_t *a = sc_store_shadow_list(s.st, &f);
    if (!a)
        return cli_session_failed(&s);
    if (o->json)
        cli_print_json(a);
    else if (!json_array_size(a))
        printf("no shadowed writes\n");
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
        char sum[SUMMARY_MAX * 4 + 8];
        if (o->json)
            break;
        body_summary(e, sum, sizeof sum);
        printf("%s  %s  %s  %s  %s %s  %lld  %s\n", str(e, "at"), str(e, "scenario"),
               str(e, "execution"), str(e, "step"), str(e, "method"), str(e, "url"),
               (long long)json_integer_value(json_object_get(e, "status")), sum);
    }
    json_decref(a);
    cli_session_close(&s);
    return EXIT_OK;
}
