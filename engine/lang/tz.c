/* GLib is used only here, for its GTimeZone: immutable once loaded, safe to read from any
 * thread, and it reads the TZif footer so rules hold beyond 2037. */
#include "lang/tz.h"

#include "lang/diag.h"

#include <ctype.h>
#include <dirent.h>
#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct sc_tz {
    GTimeZone *g;
    char *name;
    struct sc_tz *next;
};

/* Loaded zones: a list readers walk without a lock (a node is complete before it is
 * published); loading a new zone takes the lock. */
static _Atomic(struct sc_tz *) zones;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static struct sc_tz *find(const char *name)
{
    for (struct sc_tz *z = atomic_load_explicit(&zones, memory_order_acquire); z; z = z->next)
        if (strcmp(z->name, name) == 0)
            return z;
    return NULL;
}

const struct sc_tz *sc_tz_load(const char *name)
{
    if (!name || !*name)
        name = "UTC";
    struct sc_tz *z = find(name);
    if (z)
        return z;
    /* Only names of zoneinfo files: GLib would also take POSIX TZ strings ("EST5"). */
    if (strcmp(name, "UTC") != 0 && !sc_tz_valid(name))
        return NULL;
    pthread_mutex_lock(&load_lock);
    z = find(name);
    if (!z) {
        GTimeZone *g = strcmp(name, "UTC") == 0 ? g_time_zone_new_utc()
                                                : g_time_zone_new_identifier(name);
        z = g ? malloc(sizeof *z) : NULL;
        if (z) {
            z->g = g;
            z->name = strdup(name);
            z->next = atomic_load_explicit(&zones, memory_order_relaxed);
            if (z->name)
                atomic_store_explicit(&zones, z, memory_order_release);
            else {
                free(z);
                z = NULL;
            }
        }
        if (!z && g)
            g_time_zone_unref(g);
    }
    pthread_mutex_unlock(&load_lock);
    return z;
}

static int interval(const struct sc_tz *z, int64_t t)
{
    return g_time_zone_find_interval(z->g, G_TIME_TYPE_UNIVERSAL, t);
}

int32_t sc_tz_offset(const struct sc_tz *z, int64_t t)
{
    return g_time_zone_get_offset(z->g, interval(z, t));
}

int64_t sc_tz_next_change(const struct sc_tz *z, int64_t t, int64_t limit)
{
    int i = interval(z, t);
    int64_t lo = t, hi = t, step = 86400;
    /* Intervals are numbered in time order: probe forward, then bisect to the first
     * second in another interval. */
    for (;;) {
        if (lo >= limit)
            return limit;
        hi = limit - lo > step ? lo + step : limit;
        if (interval(z, hi) != i)
            break;
        if (hi == limit)
            return limit;
        lo = hi;
        step *= 2;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (interval(z, mid) == i)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

int64_t sc_tz_from_wall(const struct sc_tz *z, int64_t w)
{
    /* Rules change at most once within a day of any wall time: the offsets a day
     * before and after are the only candidates. */
    int32_t before = sc_tz_offset(z, w - 86400), after = sc_tz_offset(z, w + 86400);
    int64_t a = w - before, b = w - after;
    bool a_ok = sc_tz_offset(z, a) == before, b_ok = sc_tz_offset(z, b) == after;
    if (a_ok && b_ok)
        return a < b ? a : b;
    if (a_ok || b_ok)
        return a_ok ? a : b;
    return w - before; /* in a gap: the old offset carries it past the change */
}

/* Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms). */
int64_t sc_tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void sc_tz_civil(int64_t w, struct sc_civil *out)
{
    int64_t days = w >= 0 ? w / 86400 : -((-w + 86399) / 86400);
    int64_t secs = w - days * 86400;
    int64_t zd = days + 719468;
    int64_t era = (zd >= 0 ? zd : zd - 146096) / 146097;
    int64_t doe = zd - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    out->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    out->year = yoe + era * 400 + (out->month <= 2);
    out->hour = (int)(secs / 3600);
    out->min = (int)(secs / 60 % 60);
    out->sec = (int)(secs % 60);
    int64_t wd = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    out->wday = (int)(wd < 0 ? wd + 7 : wd);
}

int sc_tz_month_days(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* ---- zone names: the system's zoneinfo database ---- */

static const char *zone_dir(void)
{
    const char *d = getenv("TZDIR");
    return d && *d ? d : "/usr/share/zoneinfo";
}

static bool zone_name_ok(const char *name)
{
    if (!*name || name[0] == '/' || strstr(name, "..") || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return false;
    return true;
}

bool sc_tz_valid(const char *name)
{
    if (strcmp(name, "UTC") == 0)
        return true;
    if (!zone_name_ok(name))
        return false;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", zone_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char magic[4] = {0};
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && memcmp(magic, "TZif", 4) == 0;
}

const char *sc_tz_suggest(const char *name)
{
    static char best[128];
    const char *slash = strrchr(name, '/');
    if (!slash || !zone_name_ok(name) || slash - name > 32)
        return NULL;
    char region[64], path[512];
    snprintf(region, sizeof region, "%.*s", (int)(slash - name), name);
    snprintf(path, sizeof path, "%s/%s", zone_dir(), region);
    DIR *d = opendir(path);
    if (!d)
        return NULL;
    char *cands[1024];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024)
        if (e->d_name[0] != '.')
            cands[n++] = strdup(e->d_name);
    closedir(d);
    const char *hit = sc_suggest(slash + 1, (const char *const *)cands, n);
    if (hit)
        snprintf(best, sizeof best, "%s/%s", region, hit);
    for (size_t k = 0; k < n; k++)
        free(cands[k]);
    return hit ? best : NULL;
}

/* ---- next fire time in a time zone ---- */
