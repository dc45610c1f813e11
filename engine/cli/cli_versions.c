/* Versions: deploy, versions, export, import, rollback, diff, backup, restore, promote. */
#include "cli/cli.h"

#include "run/deploy.h"
#include "run/exec.h"
#include "store/store.h"
#include "util.h"
#include "model/validate.h"
#include "store/version.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Validates a scenario document fully against org (deploy.h); diagnostics printed. */
static bool valid_for(json_t *doc, const char *label, const struct sc_org *org)
{
    struct sc_diags d;
    sc_diags_init(&d);
    bool ok = sc_deploy_valid(doc, label, org, &d);
    sc_diags_print(&d, stderr);
    sc_diags_free(&d);
    return ok;
}

/* Says what storing a version did, naming the transform files that changed since the
 * previous version. */
static void say_stored(const char *name, const struct sc_deploy_result *r, const char *origin,
                       const char *org)
{
    if (!r->changed)
        printf("%s: unchanged, version %d is current in org %s (%.19s...)\n", name, r->number,
               org, r->checksum);
    else
        printf("%s: version %d in org %s (%s, %.19s...)%s%s\n", name, r->number, org, origin,
               r->checksum, r->note[0] ? ": " : "", r->note);
}

/* Stores doc as a new version (deploy.h) and says what happened. */
static int store_version(struct sc_store *st, json_t *doc, const char *message,
                         const char *origin, const char *org)
{
    const char *name = json_string_value(json_object_get(doc, "name"));
    struct sc_deploy_result r;
    if (sc_deploy_store(st, doc, message, origin, org, cli_person(), &r) != 0) {
        fprintf(stderr, "scenarist: %s: %s\n", name, sc_store_error(st));
        return EXIT_FAILED;
    }
    say_stored(name, &r, origin, org);
    return EXIT_OK;
}

static int number_arg(const char *s, const char *what)
{
    char *end;
    long n = s ? strtol(s[0] == 'v' ? s + 1 : s, &end, 10) : 0;
    if (!s || *end || n < 1 || n > 1000000000) {
        fprintf(stderr, "scenarist: %s must be a version number (3 or v3)\n", what);
        return -1;
    }
    return (int)n;
}

/* Loads a scenario file as deploy stores it (deploy.h), appended to docs. Errors go to d. */
static void deploy_load(json_t *docs, const char *path, const struct sc_org *org,
                        struct sc_lua *lua, struct sc_validator *v, struct sc_diags *d)
{
    json_t *doc = sc_deploy_load(path, NULL, 0, org, lua, v, d);
    struct sc_src src = {path, NULL, 0};
    if (doc && json_array_append(docs, doc) != 0)
        sc_diag_add(d, SC_SEV_ERROR, &src, 0, 0, 0, "out of memory");
    json_decref(doc);
}

int cmd_deploy(struct opts *o)
{
    if (!o->nargs) {
        fprintf(stderr, "usage: scenarist deploy PATH... [--org NAME] [-m MESSAGE]\n");
        return EXIT_USAGE;
    }
    struct sc_org *org = cli_load_org(o);
    if (!org)
        return EXIT_USAGE;
    char err[512];
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_files files = {0};
    for (size_t i = 0; i < o->nargs; i++) /* a folder: the files validate and serve find */
        if (cli_add_files(&files, o->args[i], &d) != 0)
            break;
    struct sc_lua *lua = sc_lua_new(NULL, SC_LUA_MEM_LIMIT, err, sizeof err);
    struct sc_validator *v = lua ? sc_validator_new(org, &d) : NULL;
    json_t *docs = json_array();
    for (size_t i = 0; v && docs && i < files.n; i++) /* all or nothing: validate every file first */
        deploy_load(docs, files.v[i], org, lua, v, &d);
    int rc = finish_diags(&d, false);
    if (rc == EXIT_OK && (!docs || json_array_size(docs) != files.n))
        rc = EXIT_FAILED; /* out of memory: said */
    struct sc_store *st = rc == EXIT_OK ? cli_open_store(o, org) : NULL;
    if (rc == EXIT_OK && !st)
        rc = EXIT_FAILED;
    for (size_t i = 0; st && i < files.n && rc == EXIT_OK; i++)
        rc = store_version(st, json_array_get(docs, i), o->message, "deploy", org->name);
    json_decref(docs);
    sc_files_free(&files);
    sc_store_close(st);
    sc_validator_free(v);
    sc_lua_free(lua);
    sc_diags_free(&d);
    sc_org_free(org);
    return rc;
}

int cmd_versions(struct opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "usage: scenarist versions NAME [--org NAME] [--json]\n");
        return EXIT_USAGE;
    }
    struct cli_session ss;
    int rc = cli_session_open(o, &ss);
    if (rc)
        return rc;
    struct sc_org *org = ss.org;
    struct sc_store *st = ss.st;
    json_t *vs = sc_store_versions(st, o->args[0]);
    if (!vs) {
        fprintf(stderr, "scenarist: %s\n", sc_store_error(st));
        rc = EXIT_FAILED;
    } else if (o->json) {
        cli_print_json(vs);
    } else if (!json_array_size(vs)) {
        printf("%s has no version in org %s\n", o->args[0], org->name);
        rc = EXIT_FAILED;
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(vs, i, v) {
            printf("v%-4lld %s  %.19s...  %-8s %s%s\n",
                   (long long)json_integer_value(json_object_get(v, "number")),
                   json_string_value(json_object_get(v, "created_at")),
                   json_string_value(json_object_get(v, "checksum")),
                   json_string_value(json_object_get(v, "origin")),
                   json_string_value(json_object_get(v, "message")) ?
                   json_string_value(json_object_get(v, "message")) : "",
                   i + 1 == json_array_size(vs) ? "  (current)" : "");
        }
    }
    json_decref(vs);
    cli_session_close(&ss);
    return rc;
}

int cmd_export(struct opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "usage: scenarist export NAME [--version N] [-o FILE] [--org NAME]\n");
        return EXIT_USAGE;
    }
    if (!cli_path_arg_ok("-o", o->output, "export writes a scenario file"))
        return EXIT_USAGE;
    int n = o->version ? number_arg(o->version, "--version") : 0;
    if (n < 0)
        return EXIT_USAGE;
    struct cli_session ss;
    int rc = cli_session_open(o, &ss);
    if (rc)
        return rc;
    struct sc_store *st = ss.st;
    json_t *v = sc_store_version_get(st, o->args[0], n);
    char err[600];
    if (!v) {
        fprintf(stderr, "scenarist: %s\n", sc_store_error(st));
        rc = EXIT_FAILED;
    } else if (o->output) {
        if (sc_version_write(v, o->output, err, sizeof err) != 0) {
            fprintf(stderr, "scenarist: %s\n", err);
            rc = EXIT_FAILED;
        } else {
            fprintf(stderr, "scenarist: %s version %lld written to %s\n", o->args[0],
                    (long long)json_integer_value(json_object_get(v, "number")), o->output);
        }
    } else {
        json_t *e = sc_version_export(v);
        cli_print_json(e);
        json_decref(e);
    }
    json_decref(v);
    cli_session_close(&ss);
    return rc;
}

/* Reads, checks and validates an export document for org; NULL after saying why. */
static json_t *read_export(const char *path, const struct sc_org *org)
{
    size_t len;
    bool big;
    char err[600];
    char *text = sc_read_file(path, 16u * 1024 * 1024, &len, &big);
    if (!text) {
        fprintf(stderr, "scenarist: %s: %s\n", path, big ? "larger than 16 MiB" : strerror(errno));
        return NULL;
    }
    json_t *e = sc_version_read(text, len, err, sizeof err);
    free(text);
    if (!e) {
        fprintf(stderr, "scenarist: %s: refused: %s\n", path, err);
        return NULL;
    }
    char label[600];
    snprintf(label, sizeof label, "%s#%s", path, json_string_value(json_object_get(e, "scenario")));
    if (!valid_for(json_object_get(e, "document"), label, org)) {
        fprintf(stderr, "scenarist: %s: refused: it does not validate against org %s\n", path,
                org->name);
        json_decref(e);
        return NULL;
    }
    return e;
}

static char *provenance(json_t *e, const char *what)
{
    const char *m = json_string_value(json_object_get(e, "message"));
    return sc_asprintf("%s v%lld%s%s", what, (long long)json_integer_value(json_object_get(e, "version")),
                       m ? ": " : "", m ? m : "");
}

int cmd_import(struct opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "usage: scenarist import FILE [--org NAME] [-m MESSAGE]\n");
        return EXIT_USAGE;
    }
    if (!cli_path_arg_ok("import", o->args[0], "import reads a scenario file"))
        return EXIT_USAGE;
    struct cli_session ss;
    int rc = cli_session_open(o, &ss);
    if (rc)
        return rc;
    struct sc_org *org = ss.org;
    struct sc_store *st = ss.st;
    json_t *e = read_export(o->args[0], org);
    if (!e) {
        cli_session_close(&ss);
        return EXIT_USAGE;
    }
    char *msg = o->message ? sc_strdup(o->message) : provenance(e, "imported from");
    rc = store_version(st, json_object_get(e, "document"), msg, "import", org->name);
    free(msg);
    json_decref(e);
    cli_session_close(&ss);
    return rc;
}

int cmd_rollback(struct opts *o)
{
    int n = o->nargs == 1 ? number_arg(o->to, "--to") : -1;
    if (o->nargs != 1 || n < 0) {
        fprintf(stderr, "usage: scenarist rollback NAME --to N [--org NAME]\n");
        return EXIT_USAGE;
    }
    struct cli_session ss;
    int rc = cli_session_open(o, &ss);
    if (rc)
        return rc;
    struct sc_org *org = ss.org;
    struct sc_store *st = ss.st;
    json_t *v = sc_store_version_get(st, o->args[0], n);
    char label[160], msg[200];
    snprintf(label, sizeof label, "%s v%d", o->args[0], n);
    if (!v) {
        fprintf(stderr, "scenarist: %s\n", sc_store_error(st));
        rc = EXIT_FAILED;
    } else if (!valid_for(json_object_get(v, "document"), label, org)) {
        fprintf(stderr, "scenarist: version %d no longer validates against org %s: not rolled "
                        "back\n", n, org->name);
        rc = EXIT_USAGE;
    } else {
        snprintf(msg, sizeof msg, "rollback to v%d%s%s", n, o->message ? ": " : "",
                 o->message ? o->message : "");
        rc = store_version(st, json_object_get(v, "document"), msg, "rollback", org->name);
    }
    json_decref(v);
    cli_session_close(&ss);
    return rc;
}

int cmd_diff(struct opts *o)
{
    int a = o->nargs == 3 ? number_arg(o->args[1], "A") : -1;
    int b = o->nargs == 3 ? number_arg(o->args[2], "B") : -1;
    if (a < 0 || b < 0) {
        fprintf(stderr, "usage: scenarist diff NAME A B [--org NAME]\n");
        return EXIT_USAGE;
    }
    struct cli_session ss;
    int rc = cli_session_open(o, &ss);
    if (rc)
        return rc;
    struct sc_store *st = ss.st;
    json_t *va = sc_store_version_get(st, o->args[0], a);
    json_t *vb = va ? sc_store_version_get(st, o->args[0], b) : NULL;
    json_t *lines = vb ? sc_version_diff(json_object_get(va, "document"),
                                         json_object_get(vb, "document")) : NULL;
    if (!lines) {
        fprintf(stderr, "scenarist: %s\n", sc_store_error(st));
        rc = EXIT_FAILED;
    } else if (o->json) {
        cli_print_json(lines);
    } else {
        printf("%s v%d -> v%d: %zu change%s\n", o->args[0], a, b, json_array_size(lines),
               json_array_size(lines) == 1 ? "" : "s");
        size_t i;
        json_t *l;
        json_array_foreach(lines, i, l) printf("  %s\n", json_string_value(l));
    }
    json_decref(lines);
    json_decref(va);
    json_decref(vb);
    cli_session_close(&ss);
    return rc;
}

int cmd_backup(struct opts *o)
{
    if (!o->to || o->nargs) {
        fprintf(stderr, "usage: scenarist backup --to DIR [--org NAME]\n");
        return EXIT_USAGE;
    }
    if (!cli_path_arg_ok("--to", o->to, "backup writes scenario files into a folder"))
        return EXIT_USAGE;
    struct cli_session ss;
    int rc = cli_session_open(o, &ss);
    if (rc)
        return rc;
    struct sc_org *org = ss.org;
    struct sc_store *st = ss.st;
    int written, unchanged;
    char err[600];
    if (sc_backup_run(st, o->to, &written, &unchanged, err, sizeof err) != 0) {
        fprintf(stderr, "scenarist: backup: %s\n", err);
        rc = EXIT_FAILED;
    } else {
        printf("backup of org %s to %s: %d written, %d unchanged\n", org->name, o->to, written,
               unchanged);
    }
    cli_session_close(&ss);
    return rc;
}

/* The highest vN.json in a backup folder's scenario folder, or 0. */
static int latest(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int best = 0;
    while (d && (e = readdir(d))) {
        int n;
        char tail[8];
        if (sscanf(e->d_name, "v%d.jso%7s", &n, tail) == 2 && !strcmp(tail, "n") && n > best)
            best = n;
    }
    if (d)
        closedir(d);
    return best;
}

int cmd_restore(struct opts *o)
{
    if (!o->from || o->nargs) {
        fprintf(stderr, "usage: scenarist restore --from DIR [--org NAME]\n");
        return EXIT_USAGE;
    }
    if (!cli_path_arg_ok("--from", o->from, "restore reads scenario files from a folder"))
        return EXIT_USAGE;
    struct cli_session ss;
    int rc = cli_session_open(o, &ss);
    if (rc)
        return rc;
    struct sc_org *org = ss.org;
    struct sc_store *st = ss.st;
    DIR *d = opendir(o->from);
    if (!d) {
        fprintf(stderr, "scenarist: %s: %s\n", o->from, strerror(errno));
        cli_session_close(&ss);
        return EXIT_FAILED;
    }
    struct dirent *e;
    int done = 0, failed = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (!sc_version_name_ok(e->d_name)) {
            fprintf(stderr, "scenarist: %s/%s: not a scenario folder (skipped)\n", o->from, e->d_name);
            continue;
        }
        char *sub = sc_asprintf("%s/%s", o->from, e->d_name);
        int n = sub ? latest(sub) : 0;
        char *path = n ? sc_asprintf("%s/v%d.json", sub, n) : NULL;
        json_t *x = path ? read_export(path, org) : NULL;
        if (x && strcmp(json_string_value(json_object_get(x, "scenario")), e->d_name) != 0) {
            fprintf(stderr, "scenarist: %s: holds scenario %s, not %s: refused\n", path,
                    json_string_value(json_object_get(x, "scenario")), e->d_name);
            json_decref(x);
            x = NULL;
        }
        char *msg = x ? provenance(x, "restored from backup") : NULL;
        if (!x || store_version(st, json_object_get(x, "document"), msg, "restore", org->name))
            failed++;
        else
            done++;
        free(msg);
        json_decref(x);
        free(path);
        free(sub);
    }
    closedir(d);
    printf("restore of org %s from %s: %d scenario%s, %d refused\n", org->name, o->from, done,
           done == 1 ? "" : "s", failed);
    cli_session_close(&ss);
    return failed ? EXIT_FAILED : EXIT_OK;
}

int cmd_promote(struct opts *o)
{
    if (o->nargs != 1 || !o->from || !o->to) {
        fprintf(stderr, "usage: scenarist promote NAME --from ORG --to ORG\n");
        return EXIT_USAGE;
    }
    struct opts from = *o, to = *o;
    from.org = o->from;
    to.org = o->to;
    from.store = to.store = NULL;
    struct cli_session a, b;
    int rc = cli_session_open(&from, &a);
    if (rc)
        return rc;
    if ((rc = cli_session_open(&to, &b))) {
        cli_session_close(&a);
        return rc;
    }
    struct sc_diags d;
    sc_diags_init(&d);
    struct sc_deploy_result r;
    char err[700];
    enum sc_deploy_rc pr = sc_deploy_promote(a.st, a.org, b.st, b.org, o->args[0], 0, NULL,
                                             cli_person(), &d, &r, err, sizeof err);
    sc_diags_print(&d, stderr);
    sc_diags_free(&d);
    if (pr != SC_DEPLOY_OK) {
        fprintf(stderr, "scenarist: %s\n", err);
        rc = pr == SC_DEPLOY_INVALID ? EXIT_USAGE : EXIT_FAILED;
    } else {
        say_stored(o->args[0], &r, "promote", b.org->name);
    }
    cli_session_close(&b);
    cli_session_close(&a);
    return rc;
}
