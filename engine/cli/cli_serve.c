/* `scenarist serve`: options to sc_serve. */
#include "cli/cli.h"

#include "clock.h"
#include "log.h"
#include "lang/duration.h"
#include "daemon/serve.h"
#include "lang/diag.h"
#include "model/org.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int duration_opt(const char *name, const char *v, int64_t def, int64_t *out)
{
    char err[200];
    *out = def;
    if (v && sc_duration_parse(v, out, err, sizeof err) != 0) {
        fprintf(stderr, "scenarist: --%s %s: %s\n", name, v, err);
        return -1;
    }
    return 0;
}

static int count_opt(const char *name, const char *v, long def, long lo, long hi, long *out)
{
    char *end;
    *out = def;
    if (!v)
        return 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        fprintf(stderr, "scenarist: --%s takes a number from %ld to %ld\n", name, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

/* The org's users' tokens for --admin-listen: 0, or -1 with their diagnostics printed
 * (file:line:col, as the org's other errors). */
static int cli_users_ok(const struct sc_org *org)
{
    struct sc_diags d;
    sc_diags_init(&d);
    int bad = sc_org_users_check(org, &d);
    sc_diags_print(&d, stderr);
    sc_diags_free(&d);
    if (bad)
        fprintf(stderr, "scenarist: the management API's users cannot sign in as declared; "
                        "not serving\n");
    return bad ? -1 : 0;
}

int cmd_serve(struct opts *o)
{
    struct sc_serve_opts so = {.listen = o->listen, .admin_listen = o->admin_listen, .workers = 4, .store = o->store,
                               .paths = o->args, .npaths = o->nargs, .until_ms = -1};
    char *end;
    if (o->log_format && sc_log_set_format(o->log_format) != 0) {
        fprintf(stderr, "scenarist: --log-format takes text or json\n");
        return EXIT_USAGE;
    }
    if (o->workers) {
        long n = strtol(o->workers, &end, 10);
        if (*end || n < 0 || n > 256) {
            fprintf(stderr, "scenarist: --workers takes a number from 0 to 256\n");
            return EXIT_USAGE;
        }
        so.workers = (int)n;
    }
    if (o->max_body) {
        unsigned long long n = strtoull(o->max_body, &end, 10);
        if (*end || n < 1 || n > 64ull * 1024 * 1024) {
            fprintf(stderr, "scenarist: --max-body takes a number of bytes from 1 to 67108864\n");
            return EXIT_USAGE;
        }
        so.max_body = (size_t)n;
    }
    if (duration_opt("respond-timeout", o->respond_timeout, 10000, &so.respond_ms) ||
        duration_opt("drain-timeout", o->drain_timeout, 30000, &so.drain_ms) ||
        duration_opt("step-grace", o->step_grace, 5000, &so.grace_ms) ||
        duration_opt("header-timeout", o->header_timeout, 10000, &so.header_ms) ||
        duration_opt("body-timeout", o->body_timeout, 60000, &so.body_ms))
        return EXIT_USAGE;
    if (so.header_ms < 100 || so.header_ms > 300000 || so.body_ms < 100 || so.body_ms > 3600000) {
        fprintf(stderr, "scenarist: --%s takes a duration from 100ms to %s\n",
                so.header_ms < 100 || so.header_ms > 300000 ? "header-timeout" : "body-timeout",
                so.header_ms < 100 || so.header_ms > 300000 ? "5m" : "1h");
        return EXIT_USAGE;
    }
    if (count_opt("max-connections", o->max_conns, 0, 1, 1000000, &so.max_conns) ||
        count_opt("max-connections-per-ip", o->max_per_ip, 512, 1, 1000000, &so.max_per_ip))
        return EXIT_USAGE;
    if (o->until) {
        if (!sc_clock_is_test() || sc_clock_parse_iso(o->until, &so.until_ms) != 0) {
            fprintf(stderr, "scenarist: --until takes an ISO time and needs the test clock "
                            "(SCENARIST_CLOCK=test:...)\n");
            return EXIT_USAGE;
        }
    }
    struct sc_org *org = cli_load_org(o);
    if (!org)
        return EXIT_USAGE;
    if (so.admin_listen && cli_users_ok(org) != 0) { /* the API's tokens, before anything starts */
        sc_org_free(org);
        return EXIT_USAGE;
    }
    int rc = sc_serve(&so, org);
    sc_org_free(org);
    return rc;
}
