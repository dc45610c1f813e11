/* scenarist init NAME [--trigger webhook|schedule|poll] [--dir DIR]: writes a starting
 * scenario, DIR/NAME.yaml (default scenarios/), that validates against the org of --org:
 * it names the org's first connection and (for a webhook) its first webhook secret, and
 * explains each part in comments. It never overwrites a file. */
#include "cli/cli.h"
#include "model/org.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The yaml-language-server modeline: editors complete and check the file against the
 * schema `scenarist schema` prints (kept in docs/scenario.schema.json). */
#define MODELINE "# yaml-language-server: $schema=%s\n"

static bool valid_scenario_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return true;
}

/* The trigger part of the file, for kind; conn names a connection of the org. */
static void write_trigger(FILE *f, const char *kind, const char *name, const char *conn,
                          const char *hook)
{
    if (!strcmp(kind, "webhook")) {
        fprintf(f, "triggers:\n"
                   "  # POST /hooks/%s on the daemon (scenarist serve) starts an execution;\n"
                   "  # trigger.body is the request's JSON body.\n", name);
        if (hook)
            fprintf(f, "  # auth names a webhook secret of the org (webhooks: in orgs/*.yaml):\n"
                       "  # a request without a valid signature is refused.\n"
                       "  - webhook: { path: /hooks/%s, auth: %s }\n", name, hook);
        else
            fprintf(f, "  # Add auth: SECRET-NAME once the org defines a webhook secret.\n"
                       "  - webhook: { path: /hooks/%s }\n", name);
    } else if (!strcmp(kind, "schedule")) {
        fprintf(f, "triggers:\n"
                   "  # Every day at 06:00 in the org's time zone (or give tz: and every: 1h).\n"
                   "  - schedule: { cron: \"0 6 * * *\" }\n");
    } else {
        fprintf(f, "triggers:\n"
                   "  # Every 15 minutes, read the items changed in the last 30 (the windows\n"
                   "  # overlap, so nothing late is missed); each new item (by key) starts one\n"
                   "  # execution, with the item as trigger.body.\n"
                   "  - poll:\n"
                   "      every: 15m\n"
                   "      window: 30m\n"
                   "      module: http.request\n"
                   "      with: { connection: %s, method: GET, path: /, query: { since: \"{{ poll.since }}\" } }\n"
                   "      items: \"{{ output.body }}\"\n"
                   "      key: \"{{ item.id }}\"\n", conn);
    }
}

static void write_scenario(FILE *f, const char *name, const char *kind, const char *conn,
                           const char *hook, const char *schema)
{
    fprintf(f, MODELINE, schema);
    fprintf(f, "# A scenario: what starts it (triggers), what it does (steps, in order), and\n"
               "# what happens when a step fails (on_error). `scenarist validate` checks it\n"
               "# against an org; `scenarist run` runs one event through it; docs/\n"
               "# scenario-format.md is the guide, `scenarist modules` lists the steps.\n");
    fprintf(f, "name: %s\n", name);
    fprintf(f, "description: TODO say what this scenario keeps in sync\n");
    write_trigger(f, kind, name, conn, hook);
    bool schedule = !strcmp(kind, "schedule");
    fprintf(f, "steps:\n"
               "  # Each step runs a module with its parameters (with:); a later step reads\n"
               "  # this one's output as steps.ID.\n"
               "  - id: fetch\n"
               "    module: http.request\n"
               "    # connection names one of the org's connections (base URL and credentials\n"
               "    # live in the org, never here). GET only reads.\n"
               "    with: { connection: %s, method: GET, path: \"/%s\" }\n"
               "  - id: result\n"
               "    module: set\n"
               "    with:\n"
               "      vars:\n"
               "        status: \"{{ steps.fetch.status }}\"\n",
            conn, schedule ? "" : "{{ trigger.body.id }}");
    fprintf(f, "# The error route of every step: retry the failed step a minute later (as many\n"
               "# times as break's default: scenarist docs format), then leave the execution\n"
               "# incomplete for a person (scenarist incomplete list).\n"
               "on_error:\n"
               "  - break: { interval: 60s }\n");
}

/* The schema's reference in the modeline: the path from dir to the checkout's
 * docs/scenario.schema.json (../docs/scenario.schema.json from scenarios/), or, outside
 * a checkout, scenario.schema.json beside the file (`scenarist schema` writes it). */
static void schema_ref(const char *dir, char *buf, size_t n)
{
    char *d = realpath(dir, NULL), *s = realpath("docs/scenario.schema.json", NULL);
    if (!d || !s) {
        snprintf(buf, n, "scenario.schema.json");
    } else {
        size_t common = 0; /* the length of the folders both paths start with */
        for (size_t i = 0; d[i] && d[i] == s[i]; i++)
            if (s[i] == '/')
                common = i;
        size_t dn = strlen(d);
        if (!strncmp(d, s, dn) && s[dn] == '/')
            common = dn; /* the schema is under dir itself */
        size_t used = 0;
        for (const char *p = d + common; *p && used + 4 < n; p++)
            if (*p == '/')
                used += (size_t)snprintf(buf + used, n - used, "../");
        snprintf(buf + used, n - used, "%s", s + common + 1);
    }
    free(d);
    free(s);
}

int cmd_init(struct opts *o)
{
    const char *kind = o->trigger ? o->trigger : "webhook";
    if (o->nargs != 1) {
        fprintf(stderr, "usage: scenarist init NAME [--trigger webhook|schedule|poll] "
                        "[--dir DIR] [--org ORG]\n");
        return EXIT_USAGE;
    }
    const char *name = o->args[0];
    if (strcmp(kind, "webhook") && strcmp(kind, "schedule") && strcmp(kind, "poll")) {
        fprintf(stderr, "scenarist init: --trigger is webhook, schedule or poll, not '%s'\n",
                kind);
        return EXIT_USAGE;
    }
    if (!valid_scenario_name(name)) {
        fprintf(stderr, "scenarist init: scenario name '%s' may hold only a-z, 0-9, - and _ "
                        "(64 at most)\n", name);
        return EXIT_USAGE;
    }
    struct sc_org *org = cli_load_org(o);
    if (!org)
        return EXIT_USAGE;
    if (!org->nconns) {
        fprintf(stderr, "scenarist init: org '%s' has no connection for the scenario to "
                        "read from; add one under connections:\n", org->name);
        sc_org_free(org);
        return EXIT_USAGE;
    }
    const char *dir = o->dir ? o->dir : "scenarios";
    char path[4200], schema[4200];
    snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    schema_ref(dir, schema, sizeof schema);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        fprintf(stderr, "scenarist init: %s: %s\n", path,
                errno == EEXIST ? "already exists; not overwritten" : strerror(errno));
        sc_org_free(org);
        return errno == EEXIST ? EXIT_USAGE : EXIT_FAILED;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        sc_org_free(org);
        return EXIT_FAILED;
    }
    write_scenario(f, name, kind, org->conns[0].name, org->nhooks ? org->hooks[0].name : NULL,
                   schema);
    int rc = fclose(f) == 0 ? EXIT_OK : EXIT_FAILED;
    if (rc == EXIT_OK)
        printf("wrote %s (%s trigger; connection %s of org %s): check it with scenarist "
               "validate %s\n", path, kind, org->conns[0].name, org->name, path);
    else
        fprintf(stderr, "scenarist init: writing %s: %s\n", path, strerror(errno));
    sc_org_free(org);
    return rc;
}
