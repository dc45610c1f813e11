/* The simulated systems' REST APIs: HRIS, LMS, ATS, payroll, calendar, candidate
 * comms, the ops channel. Each handler reads and writes the data tree of the call. */
#include "sandbox.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_error(struct call *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->status = status;
    json_decref(c->out);
    c->out = json_pack("{s:s}", "error", msg);
}

static void ok(struct call *c, int status, json_t *out)
{
    c->status = status;
    json_decref(c->out);
    c->out = out;
}

/* An empty table for reads of a table that does not exist: a GET runs beside other
 * GETs (under a read lock) and must not write, not even a new empty table. */
static json_t *no_table;
static pthread_once_t no_table_once = PTHREAD_ONCE_INIT;
static void no_table_make(void) { no_table = json_array(); }

static json_t *table(struct call *c, const char *name)
{
    json_t *t = json_object_get(c->db, name);
    if (!t && !strcmp(c->method, "GET")) {
        pthread_once(&no_table_once, no_table_make);
        return no_table;
    }
    if (!t) {
        t = json_array();
        json_object_set_new(c->db, name, t);
    }
    return t;
}

/* A webhook the change sends (when --emit-to is on): fields are stolen. */
static void event(struct call *c, const char *kind, json_t *fields)
{
    if (!c->events)
        c->events = json_array();
    json_array_append_new(c->events, json_pack("{s:s, s:o}", "kind", kind, "fields", fields));
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *q(struct call *c, const char *name)
{
    return str(c->query, name);
}

static json_t *find_by(json_t *arr, const char *key, const char *val)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = str(v, key);
        if (s && val && !strcmp(s, val))
            return v;
    }
    return NULL;
}

/* ---- indexes: O(1) look-ups by key and id minting over tables of 100,000s ---- */

/* A key -> first item map over a table. Tables only grow (or are replaced by a reset),
 * so an index extends itself over new items; a writer that changes a key drops it. */
static struct index {
    const char *table, *key;
    json_t *arr;  /* the table indexed (a reference: its address cannot be reused) */
    size_t n;     /* items indexed */
    json_t *map;
} indexes[] = {{.table = "employees", .key = "id"}, {.table = "employees", .key = "work_email"},
               {.table = "learners", .key = "external_id"}, {.table = "candidates", .key = "id"},
               {.table = "offers", .key = "id"}};

static void index_drop(struct index *x)
{
    json_decref(x->arr);
    json_decref(x->map);
    x->arr = x->map = NULL;
    x->n = 0;
}

static struct index *index_for(const char *tbl, const char *key)
{
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++)
        if (!strcmp(indexes[i].table, tbl) && !strcmp(indexes[i].key, key))
            return &indexes[i];
    return NULL;
}

/* GETs run together under the data's read lock: an index is extended under its own. */
static pthread_mutex_t index_mu = PTHREAD_MUTEX_INITIALIZER;

static json_t *lookup_locked(struct call *c, const char *tbl, const char *key, const char *val);

/* The first item of table `tbl` whose `key` is `val`, or NULL. */
static json_t *lookup(struct call *c, const char *tbl, const char *key, const char *val)
{
    pthread_mutex_lock(&index_mu);
    json_t *v = lookup_locked(c, tbl, key, val);
    pthread_mutex_unlock(&index_mu);
    return v;
}

static json_t *lookup_locked(struct call *c, const char *tbl, const char *key, const char *val)
{
    json_t *arr = table(c, tbl);
    struct index *x = index_for(tbl, key);
    if (!x || !val)
        return find_by(arr, key, val);
    if (x->arr != arr || json_array_size(arr) < x->n) {
        index_drop(x);
        x->arr = json_incref(arr);
        x->map = json_object();
    }
    for (; x->n < json_array_size(arr); x->n++) {
        json_t *v = json_array_get(arr, x->n);
        const char *k = str(v, key);
        if (k && !json_object_get(x->map, k))
            json_object_set(x->map, k, v);
    }
    json_t *v = json_object_get(x->map, val);
    const char *k = v ? str(v, key) : NULL;
    return k && !strcmp(k, val) ? v : NULL;
}

static void index_forget(const char *tbl, const char *key)
{
    struct index *x = index_for(tbl, key);
    pthread_mutex_lock(&index_mu);
    if (x)
        index_drop(x);
    pthread_mutex_unlock(&index_mu);
}

/* ---- lists: at most 100 items a page, in the paging style of the system ---- */

/* Which items a list keeps: `field` (an ISO time or date) at or after `from` and up to
 * `to` (a prefix compare: a date keeps its whole day), and `eq_field` equal to `eq`. */
struct filter {
    const char *field, *from, *to;
    const char *eq_field, *eq;
};

static bool keep(json_t *v, const struct filter *f)
{
    if (f->field && (f->from || f->to)) {
        const char *s = str(v, f->field);
        if (!s || (f->from && strcmp(s, f->from) < 0) || (f->to && strncmp(s, f->to, strlen(f->to)) > 0))
            return false;
    }
    if (f->eq_field && f->eq) {
        const char *s = str(v, f->eq_field);
        if (!s || strcmp(s, f->eq))
            return false;
    }
    return true;
}

static bool filtered(const struct filter *f)
{
    return (f->field && (f->from || f->to)) || (f->eq_field && f->eq);
}

enum paging { PAGE_NUMBER, PAGE_LINK, PAGE_CURSOR };

/* HRIS, payroll, calendar, comms and ops number their pages; the ATS adds RFC 8288
 * Link headers (as GitHub and Greenhouse do); the LMS gives opaque cursors. */
static enum paging paging_of(const char *system)
{
    return !strcmp(system, "ats") ? PAGE_LINK : !strcmp(system, "lms") ? PAGE_CURSOR : PAGE_NUMBER;
}

void sb_paging_print(FILE *out)
{
    fprintf(out,
            "  page    /hris, /payroll, /calendar, /comms, /ops: ?page=N (from 1) &per_page=M\n"
            "          (default 25, at most 100); the body has {items, page, per_page, total,\n"
            "          next_page} (next_page null on the last page)\n"
            "  link    /ats: the same, plus a Link: <URL>; rel=\"next\" header (RFC 8288) with\n"
            "          the absolute URL of the next page, absent on the last\n"
            "  cursor  /lms: the body also has next_cursor (null on the last page); send it\n"
            "          back as ?cursor= (with per_page=) for {items, per_page, next_cursor}\n"
            "          only; a cursor is opaque, bound to its list and filters, and stable\n");
}

/* FNV-1a: a cursor carries a check of its list, its filters and its position. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL;
}

/* A hash of the list and its filters: a cursor is only good for the list that gave it. */
static uint64_t cursor_scope(struct call *c, const struct filter *f)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv(h, c->path);
    h = fnv(h, f->from);
    h = fnv(h, f->to);
    return fnv(h, f->eq);
}

static uint64_t cursor_check(uint64_t scope, uint64_t pos)
{
    char p[24];
    snprintf(p, sizeof p, "%llu", (unsigned long long)pos);
    return fnv(scope ^ 0x9e3779b97f4a7c15ULL, p);
}

/* 32 hex digits: the position masked by the scope, then a check of both. */
static void cursor_make(struct call *c, const struct filter *f, size_t pos, char *out, size_t n)
{
    uint64_t scope = cursor_scope(c, f);
    snprintf(out, n, "%016llx%016llx", (unsigned long long)(pos ^ scope),
             (unsigned long long)cursor_check(scope, pos));
}

static bool cursor_read(struct call *c, const struct filter *f, const char *cur, size_t *pos)
{
    if (strlen(cur) != 32 || strspn(cur, "0123456789abcdef") != 32)
        return false;
    char a[17], b[17];
    memcpy(a, cur, 16);
    memcpy(b, cur + 16, 16);
    a[16] = b[16] = '\0';
    uint64_t scope = cursor_scope(c, f), p = strtoull(a, NULL, 16) ^ scope;
    *pos = (size_t)p;
    return cursor_check(scope, p) == strtoull(b, NULL, 16);
}

/* RFC 3986 unreserved characters pass; everything else is %XX. */
static void url_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~')
            fputc(ch, out);
        else
            fprintf(out, "%%%02X", ch);
    }
}

/* The absolute URL of this list with page=next: the query as it came, page replaced
 * (or added last). */
static char *next_url(struct call *c, long next)
{
    char *u = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&u, &len);
    if (!f)
        return NULL;
    fprintf(f, "http://%s%s", c->host ? c->host : "127.0.0.1", c->path);
    const char *k;
    json_t *v;
    char sep = '?';
    bool paged = false;
    json_object_foreach(c->query, k, v) {
        fputc(sep, f);
        sep = '&';
        url_escape(f, k);
        fputc('=', f);
        if (!strcmp(k, "page")) {
            fprintf(f, "%ld", next);
            paged = true;
        } else {
            url_escape(f, json_string_value(v));
        }
    }
    if (!paged)
        fprintf(f, "%cpage=%ld", sep, next);
    fclose(f);
    return u;
}

/* ---- the positions a filter keeps, computed once per version of the data ---- */

/* A write bumps the data's version; a filtered list's positions are kept per table,
 * filter and version, so walking its pages costs one scan, not one a page. */
static unsigned long data_version;

void sb_data_changed(void)
{
    __atomic_add_fetch(&data_version, 1, __ATOMIC_RELAXED);
}

struct matches {
    unsigned refs;   /* the cache's and each user's (atomic) */
    json_t *arr;     /* the table (a reference) */
    unsigned long version;
    char key[512];   /* the filter */
    size_t n;
    size_t pos[];    /* the positions kept, ascending */
};

static struct matches *match_cache[8];
static size_t match_next;
static pthread_mutex_t match_mu = PTHREAD_MUTEX_INITIALIZER;

static void matches_release(struct matches *m)
{
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        json_decref(m->arr);
        free(m);
    }
}

static void matches_key(const struct filter *f, char *key, size_t n)
{
    snprintf(key, n, "%s\x1f%s\x1f%s\x1f%s\x1f%s", f->field ? f->field : "", f->from ? f->from : "",
             f->to ? f->to : "", f->eq_field ? f->eq_field : "", f->eq ? f->eq : "");
}

/* The positions of `items` that `f` keeps (a reference: matches_release it), or NULL
 * when out of memory. Called under the data lock, read or write. */
static struct matches *matches_of(json_t *items, const struct filter *f)
{
    char key[512];
    matches_key(f, key, sizeof key);
    unsigned long version = __atomic_load_n(&data_version, __ATOMIC_RELAXED);
    pthread_mutex_lock(&match_mu);
    for (size_t i = 0; i < sizeof match_cache / sizeof match_cache[0]; i++) {
        struct matches *m = match_cache[i];
        if (m && m->arr == items && m->version == version && !strcmp(m->key, key)) {
            __atomic_add_fetch(&m->refs, 1, __ATOMIC_ACQ_REL);
            pthread_mutex_unlock(&match_mu);
            return m;
        }
    }
    pthread_mutex_unlock(&match_mu);
    size_t size = json_array_size(items), n = 0;
    struct matches *m = malloc(sizeof *m + (size ? size : 1) * sizeof m->pos[0]);
    if (!m)
        return NULL;
    for (size_t i = 0; i < size; i++)
        if (keep(json_array_get(items, i), f))
            m->pos[n++] = i;
    m->refs = 2; /* the cache's and the caller's */
    m->arr = json_incref(items);
    m->version = version;
    snprintf(m->key, sizeof m->key, "%s", key);
    m->n = n;
    pthread_mutex_lock(&match_mu);
    struct matches *old = match_cache[match_next];
    match_cache[match_next] = m;
    match_next = (match_next + 1) % (sizeof match_cache / sizeof match_cache[0]);
    pthread_mutex_unlock(&match_mu);
    matches_release(old);
    return m;
}

static void matches_free(void)
{
    for (size_t i = 0; i < sizeof match_cache / sizeof match_cache[0]; i++) {
        matches_release(match_cache[i]);
        match_cache[i] = NULL;
    }
}

/* A page of `items` (an array, borrowed) that `f` keeps, in the system's style. An
 * unfiltered list pages by offset into the table; a filtered one by offset into its
 * positions; a cursor is the table position to resume from. */
/* Query parameter name as a whole number from 1 to 10^9 in *v (absent: def): false when
 * it is something else (-1, abc, 1e3, a number past any page), as a real API answers 400. */
static bool paging_number(struct call *c, const char *name, long def, long *v)
{
    const char *s = q(c, name);
    *v = def;
    if (!s)
        return true;
    size_t n = strspn(s, "0123456789");
    if (!n || s[n] || n > 10 || (*v = atol(s)) < 1 || *v > 1000000000L) {
        *v = def;
        return false;
    }
    return true;
}

static json_t *list_of(struct call *c, json_t *items, const struct filter *f)
{
    enum paging style = paging_of(c->system);
    long per, page = 1;
    if (!paging_number(c, "per_page", 25, &per)) {
        sb_error(c, 400, "per_page must be a whole number from 1 (at most 100 are given)");
        return NULL;
    }
    if (per > 100)
        per = 100;
    size_t size = json_array_size(items), pos = 0;
    bool by_cursor = style == PAGE_CURSOR && q(c, "cursor");
    if (by_cursor) {
        if (!cursor_read(c, f, q(c, "cursor"), &pos) || pos > size) {
            sb_error(c, 400, "cursor is not one this list gave (it belongs to another list or "
                             "other filters, or was altered)");
            return NULL;
        }
    } else {
        if (!paging_number(c, "page", 1, &page)) {
            sb_error(c, 400, "page must be a whole number from 1");
            return NULL;
        }
    }
    struct matches *m = filtered(f) ? matches_of(items, f) : NULL;
    if (filtered(f) && !m) {
        sb_error(c, 503, "out of memory");
        return NULL;
    }
    size_t count = m ? m->n : size, from; /* from: the first kept item's rank */
    if (by_cursor) { /* the first kept position at or after the cursor's */
        size_t lo = 0, hi = count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if ((m ? m->pos[mid] : mid) < pos)
                lo = mid + 1;
            else
                hi = mid;
        }
        from = lo;
    } else {
        from = (size_t)(page - 1) * (size_t)per;
        if (from > count)
            from = count;
    }
    size_t to = from + (size_t)per < count ? from + (size_t)per : count;
    json_t *out = json_array();
    for (size_t k = from; k < to; k++)
        json_array_append(out, json_array_get(items, m ? m->pos[k] : k));
    bool more = to < count;
    size_t after = to ? (m ? m->pos[to - 1] : to - 1) + 1 : 0; /* past the page's last item */
    if (to == from && by_cursor)
        after = pos;
    matches_release(m);
    char cur[64];
    cursor_make(c, f, after, cur, sizeof cur);
    json_t *r;
    if (by_cursor) {
        r = json_pack("{s:o, s:i, s:o}", "items", out, "per_page", (int)per, "next_cursor",
                      more ? json_string(cur) : json_null());
        return r;
    }
    r = json_pack("{s:o, s:i, s:i, s:i}", "items", out, "page", (int)page, "per_page", (int)per,
                  "total", (int)count);
    json_object_set_new(r, "next_page", more ? json_integer(page + 1) : json_null());
    if (style == PAGE_CURSOR)
        json_object_set_new(r, "next_cursor", more ? json_string(cur) : json_null());
    if (style == PAGE_LINK && more) {
        char *u = next_url(c, page + 1);
        free(c->link);
        c->link = NULL;
        size_t len = u ? strlen(u) + 16 : 0;
        c->link = u ? malloc(len) : NULL;
        if (c->link)
            snprintf(c->link, len, "<%s>; rel=\"next\"", u);
        free(u);
    }
    return r;
}

/* Answers a page of a list, or the error list_of set. */
static void answer_list(struct call *c, json_t *items, struct filter f)
{
    json_t *r = list_of(c, items, &f);
    if (r) {
        c->status = 200;
        json_decref(c->out);
        c->out = r;
    }
}

/* Fields a write must have: a 422 naming the first missing. */
static bool need(struct call *c, const char *fields)
{
    if (!json_is_object(c->body)) {
        sb_error(c, 400, "send a JSON object");
        return false;
    }
    for (const char *f = fields; *f; f += strlen(f) + 1) {
        json_t *v = json_object_get(c->body, f);
        if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
            sb_error(c, 422, "%s is required", f);
            json_object_set_new(c->out, "field", json_string(f));
            return false;
        }
    }
    return true;
}

static json_t *copy_body(struct call *c)
{
    json_t *v = json_deep_copy(c->body);
    json_object_del(v, "sent_from"); /* scenarist's provenance fields are kept in the journal */
    json_object_del(v, "sent_to");
    return v;
}

/* ---- for the talent systems (talent.c) ---- */
json_t *sb_table(struct call *c, const char *name) { return table(c, name); }
void sb_list(struct call *c, const char *name, struct sb_filter f)
{
    answer_list(c, table(c, name), (struct filter){f.field, f.from, f.to, f.eq_field, f.eq});
}
json_t *sb_lookup(struct call *c, const char *tbl, const char *key, const char *val) { return lookup(c, tbl, key, val); }
bool sb_need(struct call *c, const char *fields) { return need(c, fields); }
const char *sb_query(struct call *c, const char *name) { return q(c, name); }
void sb_event(struct call *c, const char *kind, json_t *fields) { event(c, kind, fields); }

/* The highest id number seen per table, extended over new items as the table grows
 * (ids never change), so minting an id is not a scan of 100,000 records. */
static struct id_max {
    const char *table, *prefix; /* one per prefix minted in the table (screening reports: SA-, SB-) */
    json_t *arr;
    size_t n;
    long max;
} id_maxes[] = {{.table = "employees"}, {.table = "learners"}, {.table = "completions"},
                {.table = "screening_reports", .prefix = "SA-"}, {.table = "screening_reports", .prefix = "SB-"}};

static void next_id(struct call *c, const char *tbl, const char *prefix, int base, char *out,
                    size_t n)
{
    json_t *arr = table(c, tbl);
    struct id_max *m = &id_maxes[0];
    while ((strcmp(m->table, tbl) || (m->prefix && strcmp(m->prefix, prefix))) &&
           m + 1 < id_maxes + sizeof id_maxes / sizeof id_maxes[0])
        m++;
    if (m->arr != arr || json_array_size(arr) < m->n) {
        json_decref(m->arr);
        m->arr = json_incref(arr);
        m->n = 0;
        m->max = 0;
    }
    for (; m->n < json_array_size(arr); m->n++) {
        const char *id = str(json_array_get(arr, m->n), "id");
        if (id && !strncmp(id, prefix, strlen(prefix)) && atol(id + strlen(prefix)) > m->max)
            m->max = atol(id + strlen(prefix));
    }
    snprintf(out, n, "%s%04ld", prefix, (m->max > base ? m->max : base) + 1);
}

void sb_systems_free(void)
{
    matches_free();
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++)
        index_drop(&indexes[i]);
    for (size_t i = 0; i < sizeof id_maxes / sizeof id_maxes[0]; i++) {
        json_decref(id_maxes[i].arr);
        id_maxes[i].arr = NULL;
    }
}

/* ---- HRIS ---- */

static json_t *employee(struct call *c)
{
    json_t *e = lookup(c, "employees", "id", c->params[0]);
    if (!e)
        sb_error(c, 404, "no employee %s", c->params[0]);
    return e;
}

static void hris_list(struct call *c)
{
    answer_list(c, table(c, "employees"), (struct filter){"updated_at", q(c, "updated_since"), NULL,
                                                          "status", q(c, "status")});
}

static void hris_get(struct call *c)
{
    json_t *e = employee(c);
    if (e)
        ok(c, 200, json_incref(e));
}

static void set_department(struct call *c, json_t *e, const char *dept)
{
    json_t *d = find_by(table(c, "departments"), "id", dept);
    if (d)
        json_object_set_new(e, "department", json_pack("{s:s, s:s}", "id", dept, "name", str(d, "name")));
}

static void hris_create(struct call *c)
{
    if (!need(c, "first_name\0last_name\0work_email\0start_date\0title\0department_id\0"))
        return;
    if (lookup(c, "employees", "work_email", str(c->body, "work_email"))) {
        sb_error(c, 409, "an employee with work_email %s exists", str(c->body, "work_email"));
        return;
    }
    if (!find_by(table(c, "departments"), "id", str(c->body, "department_id"))) {
        sb_error(c, 422, "no department %s", str(c->body, "department_id"));
        return;
    }
    char id[32];
    next_id(c, "employees", "E-", 1000, id, sizeof id);
    json_t *e = copy_body(c);
    json_object_set_new(e, "id", json_string(id));
    json_object_set_new(e, "hire_date", json_string(str(c->body, "start_date")));
    json_object_del(e, "start_date");
    json_object_del(e, "department_id");
    set_department(c, e, str(c->body, "department_id"));
    json_object_set_new(e, "status", json_string("active"));
    json_object_set_new(e, "updated_at", json_string(c->now));
    json_array_append_new(table(c, "employees"), e);
    event(c, "new-hire", json_pack("{s:s, s:O?, s:s}", "employee_id", id, "offer_id",
                                   json_object_get(e, "offer_id"), "occurred_at", c->now));
    ok(c, 201, json_incref(e));
}

static void hris_update(struct call *c)
{
    json_t *e = employee(c);
    if (!e || !need(c, ""))
        return;
    static const char *const allowed[] = {"first_name", "last_name", "preferred_name",
                                          "work_email", "title", "manager_id", "location",
                                          "employment_type", "pay_rate", "hire_date", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(c->body, k, v) {
        bool known = !strcmp(k, "department_id") || !strcmp(k, "sent_from") || !strcmp(k, "sent_to");
        for (size_t i = 0; allowed[i]; i++)
            known |= !strcmp(k, allowed[i]);
        if (!known) {
            sb_error(c, 422, "%s cannot be changed here", k);
            return;
        }
        /* refused as the HRIS refuses it, before anything changes: no half-applied patch */
        bool text = strcmp(k, "preferred_name") && strcmp(k, "manager_id") &&
                    strcmp(k, "pay_rate") && strcmp(k, "sent_from") && strcmp(k, "sent_to");
        if (text && (!json_is_string(v) || !*json_string_value(v))) {
            sb_error(c, 422, "%s must be a non-empty text", k);
            return;
        }
        if (!strcmp(k, "preferred_name") && !json_is_string(v) && !json_is_null(v)) {
            sb_error(c, 422, "preferred_name must be a text or null");
            return;
        }
        if (!strcmp(k, "manager_id") && !json_is_null(v) &&
            (!json_is_string(v) || !strcmp(json_string_value(v), c->params[0]) ||
             !lookup(c, "employees", "id", json_string_value(v)))) {
            sb_error(c, 422, "manager_id must be another employee's id, or null");
            return;
        }
        if (!strcmp(k, "department_id") &&
            !find_by(table(c, "departments"), "id", json_string_value(v))) {
            sb_error(c, 422, "no department %s", json_string_value(v));
            return;
        }
    }
    json_t *changed = json_array();
    json_object_foreach(c->body, k, v) {
        if (strcmp(k, "sent_from") && strcmp(k, "sent_to"))
            json_array_append_new(changed, json_string(k));
        if (!strcmp(k, "work_email"))
            index_forget("employees", "work_email");
        if (!strcmp(k, "department_id"))
            set_department(c, e, json_string_value(v));
        else if (strcmp(k, "sent_from") && strcmp(k, "sent_to"))
            json_object_set(e, k, v);
    }
    json_object_set_new(e, "updated_at", json_string(c->now));
    event(c, "employee.changed", json_pack("{s:s, s:o, s:s}", "employee_id", c->params[0],
                                           "changed_fields", changed, "occurred_at", c->now));
    ok(c, 200, json_incref(e));
}

static void hris_role(struct call *c)
{
    json_t *e = employee(c);
    if (!e || !need(c, "title\0effective_date\0"))
        return;
    json_object_set(e, "title", json_object_get(c->body, "title"));
    if (str(c->body, "department_id"))
        set_department(c, e, str(c->body, "department_id"));
    if (str(c->body, "manager_id"))
        json_object_set(e, "manager_id", json_object_get(c->body, "manager_id"));
    json_object_set_new(e, "updated_at", json_string(c->now));
    json_t *r = copy_body(c);
    json_object_set_new(r, "employee_id", json_string(c->params[0]));
    json_array_append_new(table(c, "role_changes"), r);
    event(c, "role.changed", json_pack("{s:s, s:O, s:O?, s:O?, s:O, s:s}", "employee_id", c->params[0],
                                       "title", json_object_get(e, "title"), "department_id",
                                       json_object_get(json_object_get(e, "department"), "id"),
                                       "manager_id", json_object_get(e, "manager_id"), "effective_date",
                                       json_object_get(c->body, "effective_date"), "occurred_at", c->now));
    ok(c, 201, json_incref(r));
}

static void hris_terminate(struct call *c)
{
    json_t *e = employee(c);
    if (!e || !need(c, "termination_date\0"))
        return;
    /* a termination already on record (the LMS side reporting back) changes nothing: no webhook */
    bool again = !strcmp(str(e, "status"), "terminated") &&
                 json_equal(json_object_get(e, "termination_date"), json_object_get(c->body, "termination_date"));
    json_object_set_new(e, "status", json_string("terminated"));
    json_object_set(e, "termination_date", json_object_get(c->body, "termination_date"));
    if (!again)
        json_object_set_new(e, "updated_at", json_string(c->now));
    json_t *r = copy_body(c);
    json_object_set_new(r, "employee_id", json_string(c->params[0]));
    json_object_set_new(r, "system", json_string("hris"));
    json_array_append_new(table(c, "terminations"), r);
    if (!again)
        event(c, "termination", json_pack("{s:s, s:O, s:O?, s:s}", "employee_id", c->params[0],
                                      "termination_date", json_object_get(c->body, "termination_date"),
                                      "reason", json_object_get(c->body, "reason"), "occurred_at", c->now));
    ok(c, 201, json_incref(r));
}

static void hris_history(struct call *c)
{
    if (!employee(c))
        return;
    json_t *h = json_object_get(table(c, "learning_history"), c->params[0]);
    json_t *none = json_array();
    answer_list(c, json_is_array(h) ? h : none, (struct filter){0});
    json_decref(none);
}

/* Learning history is appended, never overwritten; a terminated employee takes none. */
static void hris_history_add(struct call *c)
{
    json_t *e = employee(c);
    if (!e || !need(c, "course_id\0completed_at\0"))
        return;
    if (!strcmp(str(e, "status"), "terminated")) {
        sb_error(c, 409, "employee %s is terminated: learning history is closed", c->params[0]);
        return;
    }
    json_t *all = json_object_get(c->db, "learning_history");
    if (!json_is_object(all)) {
        all = json_object();
        json_object_set_new(c->db, "learning_history", all);
    }
    json_t *h = json_object_get(all, c->params[0]);
    if (!h) {
        h = json_array();
        json_object_set_new(all, c->params[0], h);
    }
    json_t *r = copy_body(c);
    json_object_set_new(r, "recorded_at", json_string(c->now));
    json_array_append_new(h, r);
    ok(c, 201, json_incref(r));
}

static void list_table(struct call *c, const char *name)
{
    answer_list(c, table(c, name), (struct filter){0});
}

static void append(struct call *c, const char *name, const char *fields)
{
    if (!need(c, fields))
        return;
    json_t *r = copy_body(c);
    json_object_set_new(r, "received_at", json_string(c->now));
    json_array_append_new(table(c, name), r);
    ok(c, 201, json_incref(r));
}

static void hris_drift(struct call *c) { list_table(c, "admin_drift"); }
static void hris_drift_add(struct call *c) { append(c, "admin_drift", "kind\0"); }

static void hris_hires(struct call *c)
{
    if (!q(c, "from") || !q(c, "to")) {
        sb_error(c, 400, "give from and to (YYYY-MM-DD)");
        return;
    }
    answer_list(c, table(c, "employees"), (struct filter){"hire_date", q(c, "from"), q(c, "to"), NULL, NULL});
}

/* ---- LMS ---- */

static json_t *learner(struct call *c)
{
    json_t *l = lookup(c, "learners", "external_id", c->params[0]);
    if (!l)
        sb_error(c, 404, "no learner with external_id %s", c->params[0]);
    return l;
}

static void lms_list(struct call *c)
{
    answer_list(c, table(c, "learners"), (struct filter){"updated_at", q(c, "updated_since"), NULL, NULL, NULL});
}

static void lms_get(struct call *c)
{
    json_t *l = learner(c);
    if (l)
        ok(c, 200, json_incref(l));
}

static void lms_upsert(struct call *c)
{
    if (!need(c, "email\0"))
        return;
    json_t *l = lookup(c, "learners", "external_id", c->params[0]);
    bool fresh = !l;
    if (fresh) {
        char id[32];
        next_id(c, "learners", "L-", 9100, id, sizeof id);
        l = json_pack("{s:s, s:s, s:b}", "id", id, "external_id", c->params[0], "active", 1);
        json_array_append_new(table(c, "learners"), l);
    }
    const char *k;
    json_t *v;
    json_object_foreach(c->body, k, v) if (strcmp(k, "sent_from") && strcmp(k, "sent_to") &&
                                           strcmp(k, "id") && strcmp(k, "external_id"))
        json_object_set(l, k, v);
    json_object_set_new(l, "updated_at", json_string(c->now));
    ok(c, fresh ? 201 : 200, json_incref(l));
}

static void lms_revoke(struct call *c)
{
    json_t *l = learner(c);
    if (!l)
        return;
    json_object_set_new(l, "active", json_false());
    json_object_set_new(l, "revoked_at", json_string(c->now));
    ok(c, 200, json_incref(l));
}

static void lms_finalise(struct call *c)
{
    json_t *l = learner(c);
    if (!l)
        return;
    int n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(table(c, "completions"), i, v)
        n += !strcmp(str(v, "learner_external_id"), c->params[0]);
    json_t *rec = json_pack("{s:s, s:s, s:i}", "external_id", c->params[0], "finalised_at", c->now,
                            "completions", n);
    json_object_set(l, "record", rec);
    ok(c, 200, rec);
}

static void lms_terminations(struct call *c)
{
    if (!need(c, "external_id\0termination_date\0"))
        return;
    json_t *r = copy_body(c);
    json_object_set_new(r, "system", json_string("lms"));
    json_object_set_new(r, "received_at", json_string(c->now));
    json_array_append_new(table(c, "terminations"), r);
    ok(c, 201, json_incref(r));
}

static void lms_completions(struct call *c)
{
    answer_list(c, table(c, "completions"), (struct filter){"completed_at", q(c, "since"), NULL, NULL, NULL});
}

static void lms_courses(struct call *c) { list_table(c, "courses"); }

/* ---- ATS ---- */

static void ats_candidates(struct call *c)
{
    answer_list(c, table(c, "candidates"), (struct filter){NULL, NULL, NULL, "email", q(c, "email")});
}

static void ats_candidate(struct call *c)
{
    json_t *v = lookup(c, "candidates", "id", c->params[0]);
    if (v)
        ok(c, 200, json_incref(v));
    else
        sb_error(c, 404, "no candidate %s", c->params[0]);
}

static void ats_offers(struct call *c)
{
    answer_list(c, table(c, "offers"), (struct filter){NULL, NULL, NULL, "candidate_id", q(c, "candidate_id")});
}

static void ats_offer(struct call *c)
{
    json_t *v = lookup(c, "offers", "id", c->params[0]);
    if (v)
        ok(c, 200, json_incref(v));
    else
        sb_error(c, 404, "no offer %s", c->params[0]);
}

static void ats_accepted(struct call *c)
{
    if (!q(c, "from") || !q(c, "to")) {
        sb_error(c, 400, "give from and to (YYYY-MM-DD)");
        return;
    }
    answer_list(c, table(c, "offers"), (struct filter){"accepted_at", q(c, "from"), q(c, "to"), NULL, NULL});
}

static void ats_screenings(struct call *c)
{
    json_t *v = lookup(c, "candidates", "id", c->params[0]);
    if (v)
        answer_list(c, json_object_get(v, "screenings"), (struct filter){0});
    else
        sb_error(c, 404, "no candidate %s", c->params[0]);
}

/* Screening history is appended, never overwritten. */
static void ats_screening_add(struct call *c)
{
    json_t *v = lookup(c, "candidates", "id", c->params[0]);
    if (!v) {
        sb_error(c, 404, "no candidate %s", c->params[0]);
        return;
    }
    if (!need(c, "vendor\0result\0"))
        return;
    json_t *h = json_object_get(v, "screenings");
    if (!json_is_array(h)) {
        h = json_array();
        json_object_set_new(v, "screenings", h);
    }
    json_t *r = copy_body(c);
    json_object_set_new(r, "recorded_at", json_string(c->now));
    json_array_append_new(h, r);
    ok(c, 201, json_incref(r));
}

/* ---- payroll, calendar, comms, ops ---- */

static void payroll_add(struct call *c) { append(c, "payroll_new_hires", "employee_id\0pay_rate\0start_date\0"); }
static void payroll_list(struct call *c) { list_table(c, "payroll_new_hires"); }

static void calendar_events(struct call *c)
{
    answer_list(c, table(c, "calendar_events"), (struct filter){"updated_at", q(c, "updated_since"), NULL, NULL, NULL});
}

static void comms_add(struct call *c) { append(c, "messages", "to\0template\0"); }
static void comms_list(struct call *c) { list_table(c, "messages"); }

/* Slack's incoming webhooks answer "ok" as text. */
static void ops_post(struct call *c)
{
    if (!json_is_object(c->body) || !str(c->body, "text")) {
        c->status = 400;
        c->text = "invalid_payload";
        return;
    }
    json_t *r = json_pack("{s:s, s:O, s:s}", "channel", c->params[0], "text",
                          json_object_get(c->body, "text"), "received_at", c->now);
    json_array_append_new(table(c, "ops_messages"), r);
    c->status = 200;
    c->text = "ok";
}

static void ops_list(struct call *c)
{
    answer_list(c, table(c, "ops_messages"), (struct filter){NULL, NULL, NULL, "channel", q(c, "channel")});
}

/* ---- business changes a simulator makes happen: POST /_sandbox/change ---- */

/* Runs a system's handler on `body` (stolen) as if it had been sent to the API. */
static void as_api(struct call *c, void (*fn)(struct call *), json_t *body, const char *id)
{
    json_t *was = c->body;
    const char *p0 = c->params[0];
    c->body = body;
    c->params[0] = id;
    fn(c);
    c->body = was;
    c->params[0] = p0;
    json_decref(body);
}

/* The body without `kind` and `employee_id`: the fields of the change. */
static json_t *fields_of(struct call *c)
{
    json_t *b = json_deep_copy(c->body);
    json_object_del(b, "kind");
    json_object_del(b, "employee_id");
    return b;
}

static void set_default(json_t *o, const char *key, json_t *v)
{
    if (!json_object_get(o, key) || json_is_null(json_object_get(o, key)))
        json_object_set(o, key, v);
    json_decref(v);
}

/* A hire: from an offer (names from its candidate, title, department, manager, start
 * date) when offer_id is given; every field can be given too. */
static void change_hire(struct call *c)
{
    json_t *b = fields_of(c);
    const char *offer_id = str(b, "offer_id");
    if (offer_id) {
        json_t *o = lookup(c, "offers", "id", offer_id);
        json_t *cand = o ? lookup(c, "candidates", "id", str(o, "candidate_id")) : NULL;
        if (!o || !cand) {
            sb_error(c, 404, o ? "no candidate %s for offer %s" : "no offer %s", o ? str(o, "candidate_id") : offer_id, offer_id);
            json_decref(b);
            return;
        }
        set_default(b, "first_name", json_incref(json_object_get(cand, "first_name")));
        set_default(b, "last_name", json_incref(json_object_get(cand, "last_name")));
        set_default(b, "title", json_incref(json_object_get(o, "title")));
        set_default(b, "department_id", json_incref(json_object_get(o, "department_id")));
        set_default(b, "manager_id", json_incref(json_object_get(o, "manager_id")));
        set_default(b, "start_date", json_incref(json_object_get(o, "start_date")));
        char mail[200];
        snprintf(mail, sizeof mail, "%s.%s.%s@example.com", str(cand, "first_name"), str(cand, "last_name"),
                 str(cand, "id"));
        for (char *m = mail; *m; m++)
            *m = *m == ' ' ? '-' : (char)(*m >= 'A' && *m <= 'Z' ? *m + 32 : *m);
        set_default(b, "work_email", json_string(mail));
    }
    as_api(c, hris_create, b, NULL);
}

static void change_employee(struct call *c, void (*fn)(struct call *), const char *date_field)
{
    const char *id = str(c->body, "employee_id");
    if (!id) {
        sb_error(c, 422, "employee_id is required");
        return;
    }
    json_t *b = fields_of(c);
    if (date_field) {
        char today[16];
        snprintf(today, sizeof today, "%.10s", c->now);
        set_default(b, date_field, json_string(today));
    }
    as_api(c, fn, b, id);
}

/* The LMS records a completion, and says so. */
static void change_complete(struct call *c)
{
    const char *who = str(c->body, "learner_external_id") ? str(c->body, "learner_external_id")
                                                          : str(c->body, "employee_id");
    const char *course = str(c->body, "course_id");
    json_t *crs = course ? find_by(table(c, "courses"), "id", course) : NULL;
    if (!who || !lookup(c, "learners", "external_id", who) || !crs) {
        sb_error(c, 422, !who ? "learner_external_id is required" : !crs ? "course_id must be a course" : "no learner with external_id %s", who);
        return;
    }
    char id[32];
    next_id(c, "completions", "CP-", 0, id, sizeof id);
    json_t *score = json_object_get(c->body, "score");
    json_t *r = json_pack("{s:s, s:s, s:s, s:O, s:O, s:s}", "id", id, "learner_external_id", who,
                          "course_id", course, "course_title", json_object_get(crs, "title"), "score",
                          score ? score : json_null(), "completed_at", c->now);
    json_array_append(table(c, "completions"), r);
    event(c, "completion", json_pack("{s:s, s:s, s:s, s:O, s:s}", "completion_id", id, "learner_external_id",
                                     who, "course_id", course, "score", score ? score : json_null(),
                                     "completed_at", c->now));
    ok(c, 201, r);
}

/* The candidate accepts: the ATS marks the offer and says so. */
static void change_accept(struct call *c)
{
    const char *id = str(c->body, "offer_id");
    json_t *o = id ? lookup(c, "offers", "id", id) : NULL;
    if (!o) {
        sb_error(c, id ? 404 : 422, id ? "no offer %s" : "offer_id is required", id);
        return;
    }
    if (!strcmp(str(o, "status") ? str(o, "status") : "", "accepted")) {
        sb_error(c, 409, "offer %s is already accepted", id);
        return;
    }
    json_object_set_new(o, "status", json_string("accepted"));
    json_object_set_new(o, "accepted_at", json_string(c->now));
    event(c, "offer.accepted", json_pack("{s:s, s:O, s:s}", "offer_id", id, "candidate_id",
                                         json_object_get(o, "candidate_id"), "accepted_at", c->now));
    ok(c, 200, json_incref(o));
}

/* A screening vendor finishes a screening and sends its result, each in its own shape. */
static void change_screening(struct call *c)
{
    const char *cand = str(c->body, "candidate_id");
    const char *vendor = str(c->body, "vendor") ? str(c->body, "vendor") : "screening-a";
    bool a = !strcmp(vendor, "screening-a");
    if (!cand || !lookup(c, "candidates", "id", cand) || (!a && strcmp(vendor, "screening-b"))) {
        sb_error(c, 422, !cand ? "candidate_id is required" : (a || !strcmp(vendor, "screening-b"))
                                                                  ? "no candidate %s" : "vendor must be screening-a or screening-b",
                 cand);
        return;
    }
    const char *result = str(c->body, "result") ? str(c->body, "result") : a ? "CLEAR" : "pass";
    char id[32];
    next_id(c, "screening_reports", a ? "SA-" : "SB-", 9000, id, sizeof id);
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "vendor", vendor, "candidate_id", cand,
                          "result", result, "completed_at", c->now);
    json_array_append(table(c, "screening_reports"), r);
    if (a)
        event(c, "screening.a", json_pack("{s:s, s:s, s:s, s:s}", "report_id", id, "candidate_ref", cand,
                                          "status", result, "completed", c->now));
    else
        event(c, "screening.b", json_pack("{s:s, s:s, s:s, s:s}", "data.screening.id", id,
                                          "data.screening.candidate.external_id", cand,
                                          "data.screening.result.outcome", result,
                                          "data.screening.finished_at", c->now));
    ok(c, 201, r);
}

static void change_role(struct call *c) { change_employee(c, hris_role, "effective_date"); }
static void change_terminate(struct call *c) { change_employee(c, hris_terminate, "termination_date"); }
static void change_fields(struct call *c) { change_employee(c, hris_update, NULL); }

static const struct change {
    const char *kind;
    void (*fn)(struct call *);
    const char *about;
} changes[] = {
    {"hire", change_hire, "{offer_id?, first_name?, ...}: a new hire in the HRIS (new-hire)"},
    {"change", change_fields, "{employee_id, FIELD: VALUE...}: an employee's fields change (employee.changed)"},
    {"role", change_role, "{employee_id, title, effective_date?, department_id?, manager_id?} (role.changed)"},
    {"terminate", change_terminate, "{employee_id, termination_date?, reason?} (termination)"},
    {"complete", change_complete, "{learner_external_id, course_id, score?}: a completion in the LMS (completion)"},
    {"accept-offer", change_accept, "{offer_id}: the candidate accepts (offer.accepted)"},
    {"screening", change_screening, "{candidate_id, vendor?: screening-a|screening-b, result?} (screening.a/.b)"},
};

void sb_change(struct call *c)
{
    if (!json_is_object(c->body)) {
        sb_error(c, 400, "the body must be a JSON object: {kind, ...}");
        return;
    }
    const char *kind = str(c->body, "kind");
    for (size_t i = 0; kind && i < sizeof changes / sizeof changes[0]; i++)
        if (!strcmp(changes[i].kind, kind)) {
            changes[i].fn(c);
            return;
        }
    if (sb_talent_change(c))
        return;
    sb_error(c, 422, "kind must be one of hire, change, role, terminate, complete, accept-offer, screening, skill, certify, interview, rate");
}

void sb_changes_print(FILE *out)
{
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++)
        fprintf(out, "  %-13s %s\n", changes[i].kind, changes[i].about);
    sb_talent_changes_print(out);
}

/* ---- the route table ---- */

static const struct route {
    const char *method, *pattern;
    void (*fn)(struct call *);
    bool auth;
    const char *about;
} routes[] = {
    {"GET", "/hris/employees", hris_list, true, "employees: ?updated_since=ISO &status= (paging: page)"},
    {"POST", "/hris/employees", hris_create, true, "create a new hire (first_name, last_name, work_email, start_date, title, department_id, manager_id)"},
    {"GET", "/hris/employees/:id", hris_get, true, "one employee"},
    {"PATCH", "/hris/employees/:id", hris_update, true, "update fields (names, work_email, title, department_id, manager_id, location)"},
    {"PUT", "/hris/employees/:id", hris_update, true, "same as PATCH"},
    {"POST", "/hris/employees/:id/role-changes", hris_role, true, "a role change (title, effective_date, department_id?, manager_id?)"},
    {"POST", "/hris/employees/:id/terminations", hris_terminate, true, "terminate (termination_date, reason)"},
    {"GET", "/hris/employees/:id/learning-history", hris_history, true, "learning-history records (paging: page)"},
    {"POST", "/hris/employees/:id/learning-history", hris_history_add, true, "append a record (course_id, completed_at); 409 for a terminated employee"},
    {"GET", "/hris/new-hires", hris_hires, true, "employees hired ?from=DATE&to=DATE (paging: page)"},
    {"GET", "/hris/admin/drift", hris_drift, true, "the admin drift queue (paging: page)"},
    {"POST", "/hris/admin/drift", hris_drift_add, true, "add a drift item (kind, ...)"},
    {"GET", "/lms/learners", lms_list, true, "learners: ?updated_since= (paging: cursor)"},
    {"GET", "/lms/learners/:external_id", lms_get, true, "one learner by the HRIS employee id"},
    {"PUT", "/lms/learners/:external_id", lms_upsert, true, "upsert a learner (email, ...): 201 created, 200 updated"},
    {"POST", "/lms/learners/:external_id/revoke", lms_revoke, true, "revoke access"},
    {"POST", "/lms/learners/:external_id/finalise", lms_finalise, true, "finalise the learning record"},
    {"POST", "/lms/terminations", lms_terminations, true, "a termination event (external_id, termination_date)"},
    {"GET", "/lms/completions", lms_completions, true, "completions ?since=ISO (paging: cursor)"},
    {"GET", "/lms/courses", lms_courses, true, "courses (paging: cursor)"},
    {"GET", "/ats/candidates", ats_candidates, true, "candidates ?email= (paging: link)"},
    {"GET", "/ats/candidates/:id", ats_candidate, true, "one candidate"},
    {"GET", "/ats/candidates/:id/screenings", ats_screenings, true, "screening history (paging: link)"},
    {"POST", "/ats/candidates/:id/screenings", ats_screening_add, true, "append a screening result (vendor, result); never overwrites"},
    {"GET", "/ats/offers", ats_offers, true, "offers ?candidate_id= (paging: link)"},
    {"GET", "/ats/offers/accepted", ats_accepted, true, "offers accepted ?from=DATE&to=DATE (paging: link)"},
    {"GET", "/ats/offers/:id", ats_offer, true, "one offer (pay_rate, start_date, manager_id)"},
    {"POST", "/payroll/new-hires", payroll_add, true, "dispatch a new hire (employee_id, pay_rate, start_date)"},
    {"GET", "/payroll/new-hires", payroll_list, true, "new hires dispatched (paging: page)"},
    {"GET", "/calendar/events", calendar_events, true, "interview events ?updated_since=ISO (paging: page)"},
    {"POST", "/comms/messages", comms_add, true, "send a candidate message (to, template)"},
    {"GET", "/comms/messages", comms_list, true, "messages sent (paging: page)"},
    {"POST", "/ops/hooks/:channel", ops_post, false, "Slack-style incoming webhook ({text}); answers ok"},
    {"GET", "/ops/messages", ops_list, false, "messages posted ?channel= (paging: page)"},
    {"POST", "/pager/v2/enqueue", sb_pager_enqueue, false, "a PagerDuty-style event (routing_key, event_action, payload)"},
};

static bool match(const char *pattern, const char *path, struct call *c, char bufs[4][128])
{
    int n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (*p == ':') {
            if (!sl || n == 4 || sl >= 128)
                return false;
            snprintf(bufs[n], 128, "%.*s", (int)sl, s);
            c->params[n] = bufs[n];
            n++;
        } else if (pl != sl || strncmp(p, s, pl) != 0) {
            return false;
        }
        p += pl;
        s += sl;
    }
    return !*p && !*s;
}

bool sb_route(struct call *c)
{
    static _Thread_local char bufs[4][128];
    bool path_known = false;
    if (sb_talent_route(c))
        return true;
    if (sb_oauth_route(c, false)) /* the token endpoint of a system in OAuth mode */
        return true;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].pattern, c->path, c, bufs))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, c->method) != 0)
            continue;
        if (routes[i].auth && sb_oauth_route(c, true))
            return true;
        if (routes[i].auth && !c->authorised) {
            sb_error(c, 401, "credentials required (Authorization or X-API-Key)");
            return true;
        }
        routes[i].fn(c);
        return true;
    }
    if (path_known) {
        sb_error(c, 405, "%s is not allowed on %s", c->method, c->path);
        return true;
    }
    return false;
}

void sb_routes_print(FILE *out)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        fprintf(out, "  %-6s %-42s %s\n", routes[i].method, routes[i].pattern, routes[i].about);
    sb_talent_routes_print(out);
}
