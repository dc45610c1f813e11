/* Execution reads above the backends (store/exec_rows.h): the shapes of their rows. */
#include "store/exec_rows.h"

#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NUL(c) r->ops->null(r, c)
#define NUM(c) r->ops->num(r, c)
#define TXT(c) r->ops->text(r, c)

static void row_err(const struct sc_row *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void row_err(const struct sc_row *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
}

static json_t *iso(int64_t ms)
{
    char buf[40];
    sc_clock_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

json_t *sc_exec_record(const struct sc_row *r, json_t **broken)
{
    bool confidential = NUM(7);
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o}", "id", TXT(0),
                          "scenario", TXT(1), "org", TXT(2), "version", TXT(3), "source",
                          TXT(4), "status", TXT(5), "attempts", (int)NUM(6), "started_at",
                          iso(NUM(8)));
    if (v && !NUL(9))
        json_object_set_new(v, "finished_at", iso(NUM(9)));
    if (v && !NUL(10))
        json_object_set_new(v, "duration_ms", json_integer(NUM(10)));
    if (v && !NUL(13))
        json_object_set_new(v, "queued_at", iso(NUM(13)));
    if (v && NUM(14) > 0)
        json_object_set_new(v, "priority", json_string("realtime"));
    if (v && confidential)
        json_object_set_new(v, "trigger", json_string("[redacted: confidential scenario]"));
    else if (v && !NUL(12))
        json_object_set_new(v, "trigger", r->ops->trigger(r, 12));
    json_t *summary = r->ops->json(r, 11);
    *broken = json_incref(json_object_get(summary, "incomplete"));
    json_object_del(summary, "incomplete");
    if (v && json_is_object(summary))
        json_object_update(v, summary);
    json_decref(summary);
    return v;
}

json_t *sc_exec_step(const struct sc_row *r)
{
    json_t *e = json_pack("{s:s, s:s}", "step", TXT(1), "module", TXT(2));
    if (!e)
        return NULL;
    if (*TXT(3))
        json_object_set_new(e, "bundle", json_string(TXT(3)));
    if ((int)NUM(0) > 1)
        json_object_set_new(e, "attempt", json_integer((int)NUM(0)));
    json_object_set_new(e, "status", json_string(TXT(4)));
    if (!NUL(5))
        json_object_set_new(e, "duration_ms", json_integer(NUM(5)));
    if (!strcmp(TXT(4), "ok") && NUL(6)) /* fan-out */
        json_object_set_new(e, "bundles", json_integer(NUM(8)));
    json_t *out = r->ops->json(r, 6), *err = r->ops->json(r, 7);
    if (out)
        json_object_set_new(e, "output", out);
    if (err)
        json_object_set_new(e, "error", err);
    return e;
}

void sc_exec_incomplete(json_t *v, json_t *inc, json_t *broken)
{
    json_object_del(inc, "execution");
    json_object_del(inc, "scenario");
    if (broken) /* the bundles the last attempt stopped at */
        json_object_set(inc, "bundles", broken);
    json_object_set_new(v, "incomplete", inc);
}

json_t *sc_exec_listed(const struct sc_row *r)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o}", "id", TXT(0), "scenario", TXT(1),
                          "version", TXT(2), "status", TXT(3), "attempts", (int)NUM(4),
                          "started_at", iso(NUM(5)));
    if (e && !NUL(6))
        json_object_set_new(e, "duration_ms", json_integer(NUM(6)));
    return e;
}

json_t *sc_exec_run_info(const struct sc_row *r, const char *id, const int col[7])
{
    r->err[0] = '\0';
    bool erased = NUL(col[6]);
    json_t *trig = erased ? NULL : r->ops->value(r, col[6]);
    json_t *v = trig ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:o}", "id", id,
                                 "scenario", TXT(col[0]), "version", TXT(col[1]), "source",
                                 TXT(col[2]), "status", TXT(col[3]), "attempts",
                                 (int)NUM(col[4]), "confidential", (int)NUM(col[5]), "trigger",
                                 trig)
                     : NULL;
    if (erased)
        row_err(r, "execution %s has finished (%s): nothing is left to run", id, TXT(col[3]));
    else if (!trig && !r->err[0])
        row_err(r, "execution %s: its stored trigger does not read back", id);
    return v;
}

int sc_exec_journal_row(json_t *j, const struct sc_row *r)
{
    json_t *v = r->ops->value(r, 2);
    char key[600];
    snprintf(key, sizeof key, "%s %s", TXT(0), TXT(1));
    return !v || json_object_set_new(j, key, v) != 0 ? -1 : 0;
}
