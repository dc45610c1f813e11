/* The audit log summed up over a window (store/audit_sum.h). */
#include "store/audit_sum.h"

#include "clock.h"

#include <string.h>

/* The name of the longest prefix in systems that url starts with, at a path boundary. */
static const char *system_of(const json_t *systems, const char *url)
{
    const char *best = NULL, *name;
    size_t best_len = 0;
    json_t *v;
    json_object_foreach((json_t *)systems, name, v) {
        const char *p = json_string_value(v);
        size_t n = p ? strlen(p) : 0;
        while (n && p[n - 1] == '/')
            n--;
        if (n > best_len && !strncmp(url, p, n) && strchr("/?#", url[n]))
            best = name, best_len = n;
    }
    return best ? best : "other";
}

static void add(json_t *o, const char *key, json_int_t n)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + n));
}

static json_t *iso(int64_t ms)
{
    char buf[40];
    sc_clock_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

void sc_audit_sum_begin(struct sc_audit_sum *s, const json_t *systems)
{
    *s = (struct sc_audit_sum){.systems = systems, .writes = json_object(),
                               .totals = json_object(), .by_system = json_object()};
}

void sc_audit_sum_add(struct sc_audit_sum *s, const char *scenario, const char *url,
                      const char *outcome, int64_t n)
{
    const char *sys = system_of(s->systems, url ? url : "");
    json_t *sc = json_object_get(s->writes, scenario);
    if (!sc)
        json_object_set_new(s->writes, scenario, sc = json_object());
    json_t *one = json_object_get(sc, sys);
    if (!one)
        json_object_set_new(sc, sys, one = json_object());
    json_t *bs = json_object_get(s->by_system, sys);
    if (!bs)
        json_object_set_new(s->by_system, sys, bs = json_object());
    add(one, outcome, n);
    add(bs, outcome, n);
    add(s->totals, outcome, n);
    add(s->totals, "writes", n);
}

json_t *sc_audit_sum_end(struct sc_audit_sum *s, bool ok, int64_t since_ms, int64_t until_ms)
{
    json_t *out = ok ? json_pack("{s:o, s:o, s:o, s:o, s:o}", "since", iso(since_ms), "until",
                                 iso(until_ms), "writes", s->writes, "systems", s->by_system,
                                 "totals", s->totals)
                     : NULL;
    if (!out) {
        json_decref(s->writes);
        json_decref(s->totals);
        json_decref(s->by_system);
    }
    return out;
}
