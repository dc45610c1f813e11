/* `scenarist store migrate --from FILE.db --to postgresql://...`: an org's history moved
 * from its SQLite file to a PostgreSQL store (store/migrate.h), then checked there. */
#include "cli.h"

#include "conninfo.h"
#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_store_migrate(struct opts *o)
{
    if (o->nargs != 1 || strcmp(o->args[0], "migrate") != 0 || !o->from || !o->to) {
        fprintf(stderr, "usage: scenarist store migrate --from FILE.db --to postgresql://... "
                        "[--org NAME]\n");
        return EXIT_USAGE;
    }
    if (!cli_store_arg_ok("--from", o->from) || !cli_store_arg_ok("--to", o->to))
        return EXIT_USAGE;
    if (access(o->from, F_OK) != 0 && !strstr(o->from, "://")) { /* never made anew */
        fprintf(stderr, "scenarist: --from %s: no such store (no file there)\n", o->from);
        return EXIT_FAILED;
    }
    struct sc_org *org = cli_load_org(o);
    if (!org)
        return EXIT_USAGE;
    char err[700];
    json_t *n = sc_store_migrate(o->from, o->to, org->store_key, err, sizeof err);
    if (!n) {
        sc_conninfo_mask_buf(err, sizeof err);
        fprintf(stderr, "scenarist: %s\n", err);
        sc_org_free(org);
        return EXIT_FAILED;
    }
    if (o->json) {
        cli_print_json(n);
    } else {
        char *to = sc_conninfo_mask_source(o->to, strlen(o->to), NULL, NULL);
        printf("copied %s to %s:", o->from, to ? to : "the store");
        const char *k;
        json_t *v;
        const char *sep = " ";
        json_object_foreach(n, k, v) {
            printf("%s%lld %s", sep, (long long)json_integer_value(v), k);
            sep = ", ";
        }
        printf("\n");
        char keyfile[600];
        snprintf(keyfile, sizeof keyfile, "%s.key", o->from);
        if (!org->store_key && access(keyfile, R_OK) == 0)
            printf("sealed data stays sealed with the key file %s: set the org's store_key to "
                   "file:%s\n", keyfile, keyfile);
        printf("check it: scenarist audit verify --org %s --store '%s'\n", o->org ? o->org : "staging",
               to ? to : "URI");
        free(to);
    }
    json_decref(n);
    sc_org_free(org);
    return EXIT_OK;
}
