/* The page iterator (pages.h): a list endpoint's pages, one request at a time. */
#include "run/pages.h"

#include "clock.h"
#include "lang/duration.h"
#include "model/org.h"
#include "model/url.h"
#include "run/call.h"
#include "run/oauth.h"
#include "util.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum style { LINK, NEXT_URL, NEXT_PAGE, CURSOR, PAGE, OFFSET };

static const char *const styles[] = {"link", "next_url", "next_page", "cursor", "page", "offset",
                                     NULL};

#define DEF_MAX_PAGES 1000
#define DEF_MAX_ITEMS 100000
#define DEF_RETRIES 2
#define DEF_RETRY_MS 1000

const struct sc_param sc_pages_params[] = {
    {.name = "style", .type = SC_T_ENUM, .required = true, .allowed = styles,
     .doc = "What says there is a next page, one example each: "
            "`link`, the Link header's rel=\"next\" (RFC 8288), e.g. `{style: link, items: data}`; "
            "`next_url`, a URL in the body at next, e.g. `{style: next_url, items: results, "
            "next: links.next}`; `next_page`, a page number in the body at next sent back as "
            "param, e.g. `{style: next_page, items: data, next: meta.next_page}`; `cursor`, an "
            "opaque cursor in the body at next sent back as param, e.g. `{style: cursor, items: "
            "items, next: next_cursor, param: cursor}`; `page`, a counter sent as param until a "
            "page is empty or short, e.g. `{style: page, items: data, limit_param: per_page, "
            "limit: 100}`; `offset`, param stepping by limit until a page is empty or short, "
            "e.g. `{style: offset, limit: 100}` (offset=0&limit=100, offset=100&limit=100, ...)."},
    {.name = "items", .type = SC_T_STRING,
     .doc = "Dotted path to the page's array in the body (data.items; a number indexes an "
            "array, -1 its last element); absent: the body is the array."},
    {.name = "next", .type = SC_T_STRING,
     .doc = "Dotted path in the body to the next URL (next_url), page number (next_page) or "
            "cursor (cursor); null, \"\", false or missing there ends the list."},
    {.name = "has_more", .type = SC_T_STRING,
     .doc = "Dotted path in the body to a true/false saying whether another page follows "
            "(Stripe's has_more): false or null there ends the list whatever next says, "
            "nothing there is a data error; e.g. "
            "`{style: cursor, items: data, next: data.-1.id, param: starting_after, has_more: "
            "has_more}` (-1: a list's last element)."},
    {.name = "param", .type = SC_T_STRING,
     .doc = "Query parameter carrying the page number, cursor or offset (default page, cursor, "
            "offset by style)."},
    {.name = "limit_param", .type = SC_T_STRING,
     .doc = "Query parameter carrying the page size (limit), sent on every page the engine "
            "builds (offset: default limit)."},
    {.name = "limit", .type = SC_T_INT,
     .doc = "Page size: required by offset; a page shorter than it ends page and offset lists. "
            "It must not exceed the API's own maximum page size."},
    {.name = "start", .type = SC_T_INT,
     .doc = "First page number (page: default 1) or offset (offset: default 0)."},
    {.name = "max_pages", .type = SC_T_INT,
     .doc = "Guard (default 1000): a list with more pages fails the step, naming the counts; "
            "nothing is dropped silently."},
    {.name = "max_items", .type = SC_T_INT,
     .doc = "Guard (default 100000): a list with more items fails the step, naming the counts."},
    {.name = "retries", .type = SC_T_INT,
     .doc = "Times a page that failed transiently (connection, 408, 429, 5xx) is sent again "
            "before the step fails (default 2)."},
    {.name = "retry_interval", .type = SC_T_DURATION,
     .doc = "Wait before a page is sent again (default 1s; a longer Retry-After wins)."},
    {0},
};

static int style_of(const char *s)
{
    for (int i = 0; s && styles[i]; i++)
        if (!strcmp(styles[i], s))
            return i;
    return -1;
}

static const char *default_param(int style)
{
    return style == CURSOR ? "cursor" : style == OFFSET ? "offset" : "page";
}

void sc_pages_check(struct sc_check *c, const char *param, const json_t *pg)
{
    char at[128];
#define AT(f) (snprintf(at, sizeof at, "%s/%s", param, f), at)
    int style = style_of(json_string_value(json_object_get(pg, "style")));
    if (style < 0)
        return; /* the table reports it */
    const char *sname = styles[style];
    bool body_next = style == NEXT_URL || style == NEXT_PAGE || style == CURSOR;
    bool own_url = style == LINK || style == NEXT_URL;
    if (body_next && !json_object_get(pg, "next"))
        sc_check_error(c, AT("style"), "style %s needs next: the path in the body to the next "
                       "%s", sname, style == NEXT_URL ? "URL" : style == NEXT_PAGE ? "page number"
                                                                                   : "cursor");
    if (!body_next && json_object_get(pg, "next"))
        sc_check_error(c, AT("next"), "next applies to the next_url, next_page and cursor "
                       "styles: style %s %s", sname, style == LINK ? "reads the Link header"
                                                                   : "counts pages itself");
    if (own_url && json_object_get(pg, "param"))
        sc_check_error(c, AT("param"), "param does not apply to style %s: the next URL is "
                       "followed as given", sname);
    if (own_url && json_object_get(pg, "limit_param"))
        sc_check_error(c, AT("limit_param"), "limit_param does not apply to style %s: the next "
                       "URL carries its own page size (put the first page's in query)", sname);
    if (style == LINK && json_object_get(pg, "has_more"))
        sc_check_error(c, AT("has_more"), "has_more does not apply to style link: the Link "
                       "header says whether a next page follows");
    if (json_object_get(pg, "start") && style != PAGE && style != OFFSET)
        sc_check_error(c, AT("start"), "start applies to the page and offset styles only");
    if (style == OFFSET && !json_object_get(pg, "limit"))
        sc_check_error(c, AT("style"), "style offset needs limit: the page size it steps by");
    if (json_object_get(pg, "limit_param") && !json_object_get(pg, "limit"))
        sc_check_error(c, AT("limit_param"), "limit_param needs limit: the page size to send");
    if (own_url && json_object_get(pg, "limit"))
        sc_check_error(c, AT("limit"), "limit does not apply to style %s: the next URL carries "
                       "its own page size (put the first page's in query)", sname);
    static const char *const positive[] = {"limit", "max_pages", "max_items", NULL};
    for (const char *const *f = positive; *f; f++) {
        json_t *v = json_object_get(pg, *f);
        if (json_is_integer(v) && json_integer_value(v) < 1)
            sc_check_error(c, AT(*f), "%s must be 1 or more, not %" JSON_INTEGER_FORMAT, *f,
                           json_integer_value(v));
    }
    /* An empty path would read the whole body; an empty param would send "?=2". */
    static const char *const named[] = {"items", "next", "has_more", "param", "limit_param",
                                        NULL};
    for (const char *const *f = named; *f; f++) {
        const char *v = json_string_value(json_object_get(pg, *f));
        if (v && !*v)
            sc_check_error(c, AT(*f), "%s is empty: %s", *f,
                           !strcmp(*f, "items") ? "give the path to the page's array, or leave "
                                                  "items out when the body is the array"
                           : f - named < 3 ? "give the dotted path in the body"
                                           : "give the query parameter's name");
    }
    json_t *r = json_object_get(pg, "retries");
    if (json_is_integer(r) && (json_integer_value(r) < 0 || json_integer_value(r) > 10))
        sc_check_error(c, AT("retries"), "retries must be 0 to 10, not %" JSON_INTEGER_FORMAT,
                       json_integer_value(r));
#undef AT
}

/* ---- pure parts ---- */

json_t *sc_pages_at(const json_t *v, const char *path)
{
    if (!path || !*path)
        return (json_t *)v;
    const char *p = path;
    while (v) {
        size_t n = strcspn(p, ".");
        char key[256];
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_is_array(v)) {
            char *end;
            long i = strtol(key, &end, 10);
            size_t len = json_array_size(v);
            if (i < 0 && (size_t)-i <= len)
                i += (long)len; /* -1: the last element */
            v = n && !*end && key[0] != '+' && key[0] != ' ' && i >= 0
                    ? json_array_get(v, (size_t)i) : NULL;
        } else {
            v = json_object_get(v, key);
        }
        if (!p[n])
            return (json_t *)v;
        p += n + 1;
    }
    return NULL;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* A token or quoted-string (RFC 9110 5.6) into out; returns the position after it. */
static const char *param_value(const char *s, struct sc_buf *out)
{
    if (*s != '"') {
        size_t n = strcspn(s, ";, \t");
        sc_buf_add(out, s, n);
        return s + n;
    }
    for (s++; *s && *s != '"'; s++) {
        if (*s == '\\' && s[1])
            s++;
        sc_buf_add(out, s, 1);
    }
    return *s ? s + 1 : s;
}

/* True when the space-separated relation types in rels include rel (no case). */
static bool has_rel(const char *rels, const char *rel)
{
    size_t n = strlen(rel);
    for (const char *p = rels; *p;) {
        p += strspn(p, " \t");
        size_t k = strcspn(p, " \t");
        if (k == n && !strncasecmp(p, rel, n))
            return true;
        p += k;
    }
    return false;
}

/* One Link field value: the target of its first link of relation rel, or NULL. */
static char *link_in(const char *s, const char *rel)
{
    while (*s) {
        s = skip_ows(s);
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s != '<') { /* not a link: skip to the next one */
            s += strcspn(s, ",");
            continue;
        }
        const char *uri = s + 1, *close = strchr(uri, '>');
        if (!close)
            return NULL;
        s = close + 1;
        bool match = false, rel_seen = false;
        for (;;) {
            s = skip_ows(s);
            if (*s != ';')
                break;
            s = skip_ows(s + 1);
            size_t n = strcspn(s, "=;, \t");
            bool is_rel = n == 3 && !strncasecmp(s, "rel", 3);
            s = skip_ows(s + n);
            struct sc_buf v = {0};
            if (*s == '=')
                s = param_value(skip_ows(s + 1), &v);
            if (is_rel && !rel_seen) { /* 8288 3.3: a later rel is ignored */
                rel_seen = true;
                sc_buf_add(&v, "", 1);
                match = v.data && has_rel(v.data, rel);
            }
            sc_buf_free(&v);
        }
        if (match)
            return strndup(uri, (size_t)(close - uri));
        s += strcspn(s, ","); /* past anything malformed to the next link */
    }
    return NULL;
}

char *sc_pages_link(const json_t *h, const char *rel)
{
    if (json_is_string(h))
        return link_in(json_string_value(h), rel);
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)h, i, e) {
        char *t = json_is_string(e) ? link_in(json_string_value(e), rel) : NULL;
        if (t)
            return t;
    }
    return NULL;
}

/* ---- the iterator ---- */

struct sc_pages {
    struct sc_step_ctx *ctx;
    struct sc_call call;        /* its strings and JSON owned below */
    char *connection, *path, *parse;
    json_t *query, *headers;
    int style;
    char *items_path, *next_path, *more_path, *param, *limit_param;
    json_int_t limit, counter, max_pages, max_items, retries;
    int64_t retry_ms;
    size_t pages, items;
    char *next_url;             /* link, next_url: the next page's URL; NULL: the call's */
    json_t *cursor;             /* next_page, cursor: the value to send back, or NULL */
    json_t *seen;               /* normal form of each fetched URL -> its page number */
    uint64_t last_body;         /* FNV-1a of the last non-empty page's body; 0: none yet */
    bool done;
    enum sc_status failed;
    char *why;                  /* the failure's message, repeated by later calls */
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *str(const json_t *pg, const char *k)
{
    return json_string_value(json_object_get(pg, k));
}

static json_int_t int_or(const json_t *pg, const char *k, json_int_t def)
{
    json_t *v = json_object_get(pg, k);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

struct sc_pages *sc_pages_open(struct sc_step_ctx *ctx, const struct sc_call *c,
                               const json_t *pg, char *err, size_t errlen)
{
    int style = style_of(str(pg, "style"));
    if (style < 0) {
        snprintf(err, errlen, "paginate: style must be one of link, next_url, next_page, "
                 "cursor, page, offset");
        return NULL;
    }
    if ((style == NEXT_URL || style == NEXT_PAGE || style == CURSOR) && !str(pg, "next")) {
        snprintf(err, errlen, "paginate: style %s needs next", styles[style]);
        return NULL;
    }
    if (style == OFFSET && int_or(pg, "limit", 0) < 1) {
        snprintf(err, errlen, "paginate: style offset needs a limit of 1 or more");
        return NULL;
    }
    struct sc_pages *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->ctx = ctx;
    p->call = *c;
    p->call.connection = p->connection = dup_or_null(c->connection);
    p->call.path = p->path = dup_or_null(c->path ? c->path : "");
    p->call.parse = p->parse = dup_or_null(c->parse ? c->parse : "auto");
    p->call.method = "GET";
    p->call.json = p->call.form = NULL;
    p->call.body = p->call.content_type = NULL;
    p->query = c->query ? json_deep_copy(c->query) : json_object();
    p->call.headers = p->headers = c->headers ? json_deep_copy(c->headers) : NULL;
    p->style = style;
    p->items_path = dup_or_null(str(pg, "items"));
    p->next_path = dup_or_null(str(pg, "next"));
    p->more_path = dup_or_null(str(pg, "has_more"));
    p->param = strdup(str(pg, "param") ? str(pg, "param") : default_param(style));
    p->limit_param = dup_or_null(str(pg, "limit_param") ? str(pg, "limit_param")
                                 : style == OFFSET ? "limit" : NULL);
    p->limit = int_or(pg, "limit", 0);
    p->counter = int_or(pg, "start", style == OFFSET ? 0 : 1);
    p->max_pages = int_or(pg, "max_pages", DEF_MAX_PAGES);
    p->max_items = int_or(pg, "max_items", DEF_MAX_ITEMS);
    p->retries = int_or(pg, "retries", DEF_RETRIES);
    p->retry_ms = sc_duration_or(str(pg, "retry_interval"), DEF_RETRY_MS);
    p->seen = json_object();
    if (!p->connection || !p->path || !p->parse || !p->query || !p->param || !p->seen ||
        (c->headers && !p->headers) || (str(pg, "items") && !p->items_path) ||
        (str(pg, "next") && !p->next_path) || (str(pg, "has_more") && !p->more_path)) {
        sc_pages_close(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return p;
}

void sc_pages_close(struct sc_pages *p)
{
    if (!p)
        return;
    free(p->connection);
    free(p->path);
    free(p->parse);
    json_decref(p->query);
    json_decref(p->headers);
    free(p->items_path);
    free(p->next_path);
    free(p->more_path);
    free(p->param);
    free(p->limit_param);
    free(p->next_url);
    json_decref(p->cursor);
    json_decref(p->seen);
    free(p->why);
    free(p);
}

size_t sc_pages_count(const struct sc_pages *p)
{
    return p->pages;
}

size_t sc_pages_items(const struct sc_pages *p)
{
    return p->items;
}

/* Ends the iteration with st; later calls repeat it. */
static enum sc_status fail(struct sc_pages *p, enum sc_status st, char *err, size_t errlen,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum sc_status fail(struct sc_pages *p, enum sc_status st, char *err, size_t errlen,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    p->failed = st;
    free(p->why);
    p->why = strdup(err);
    return st;
}

/* The query of the next page the engine builds: the step's, plus the style's own. */
static int page_query(struct sc_pages *p, json_t **q)
{
    *q = json_deep_copy(p->query);
    if (!*q)
        return -1;
    int rc = 0;
    if (p->style == PAGE || p->style == OFFSET)
        rc |= json_object_set_new(*q, p->param, json_integer(p->counter));
    else if (p->cursor && (p->style == NEXT_PAGE || p->style == CURSOR))
        rc |= json_object_set(*q, p->param, p->cursor);
    if (p->limit_param && p->limit > 0)
        rc |= json_object_set_new(*q, p->limit_param, json_integer(p->limit));
    return rc;
}

/* The URL in RFC 3986 normal form (url.h), as the key of the loop check. */
static char *url_key(const char *url)
{
    struct sc_url u = {0};
    char e[128];
    if (sc_url_parse(url, &u, e, sizeof e) != 0)
        return strdup(url);
    struct sc_buf k = {0};
    sc_buf_printf(&k, "%s://%s:%ld%s?%s", u.scheme, u.host, u.port, u.path,
                  u.query ? u.query : "");
    sc_url_free(&u);
    return sc_buf_take(&k);
}

/* Resolves the next link against the page's URL (RFC 3986 5.2, by curl_url); it must
 * stay under the connection's base URL, as it will carry the connection's credentials. */
static enum sc_status next_target(struct sc_pages *p, const char *page_url, const char *link,
                                  char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *abs = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, page_url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, link, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &abs, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return fail(p, SC_ERR_DATA, err, errlen, "paginate: page %zu's next %s '%s' is not a "
                    "usable URL", p->pages, p->style == LINK ? "link" : "URL", link);
    }
    curl_url_cleanup(u);
    const struct sc_org_conn *conn = sc_org_connection(sc_step_org(p->ctx), p->connection);
    struct sc_url t = {0};
    char e[256];
    bool under = conn && sc_url_parse(abs, &t, e, sizeof e) == 0 && sc_url_under(&conn->url, &t);
    sc_url_free(&t);
    if (!under) {
        enum sc_status st = fail(p, SC_ERR_DATA, err, errlen, "paginate: page %zu's next %s %s "
                                 "leaves connection %s (%s): not followed, it would carry the "
                                 "connection's credentials", p->pages,
                                 p->style == LINK ? "link" : "URL", abs, p->connection,
                                 conn ? conn->base_url : "unknown");
        curl_free(abs);
        return st;
    }
    free(p->next_url);
    p->next_url = strdup(abs);
    curl_free(abs);
    return p->next_url ? SC_OK : fail(p, SC_ERR_RUNTIME, err, errlen, "out of memory");
}

/* Reads what the page says about the next one; sets p->done at the end of the list. */
static enum sc_status read_next(struct sc_pages *p, const char *page_url, const json_t *out,
                                size_t n, char *err, size_t errlen)
{
    const json_t *body = json_object_get(out, "body");
    const json_t *more = p->more_path ? sc_pages_at(body, p->more_path) : NULL;
    if (p->more_path && !json_is_boolean(more) && !json_is_null(more))
        return fail(p, SC_ERR_DATA, err, errlen, "paginate: page %zu of GET %s: %s at '%s', "
                    "not true or false", p->pages, page_url, more ? "the body has another type"
                                                                  : "the body has nothing",
                    p->more_path);
    if (n == 0 || (p->more_path && !json_is_true(more))) {
        p->done = true;
        return SC_OK;
    }
    if (p->style == PAGE || p->style == OFFSET) {
        p->done = p->limit > 0 && (json_int_t)n < p->limit;
        p->counter += p->style == OFFSET ? p->limit : 1;
        return SC_OK;
    }
    if (p->style == LINK) {
        char *l = sc_pages_link(json_object_get(json_object_get(out, "headers"), "link"),
                                "next");
        p->done = !l;
        enum sc_status st = l ? next_target(p, page_url, l, err, errlen) : SC_OK;
        free(l);
        return st;
    }
    json_t *v = sc_pages_at(body, p->next_path);
    if (!v || json_is_null(v) || json_is_false(v) ||
        (json_is_string(v) && !json_string_length(v))) {
        p->done = true;
        return SC_OK;
    }
    if (p->style == NEXT_URL && json_is_string(v))
        return next_target(p, page_url, json_string_value(v), err, errlen);
    bool ok = p->style == CURSOR ? json_is_string(v) || json_is_integer(v)
                                 : json_is_integer(v) || json_is_string(v);
    if (!ok)
        return fail(p, SC_ERR_DATA, err, errlen, "paginate: page %zu's %s at '%s' is %s, not %s",
                    p->pages, p->style == NEXT_URL ? "next URL" : p->style == CURSOR ? "cursor"
                                                                                    : "next page",
                    p->next_path, json_is_object(v) ? "an object" : json_is_array(v) ? "a list"
                                                                                      : "a scalar",
                    p->style == NEXT_URL ? "a URL" : p->style == CURSOR ? "text"
                                                                        : "a page number");
    json_decref(p->cursor);
    p->cursor = json_incref(v);
    return SC_OK;
}

static bool transient(enum sc_status st)
{
    return st == SC_ERR_CONNECTION || st == SC_ERR_SERVER || st == SC_ERR_RATE_LIMIT;
}

/* How long to wait before sending a page again: the interval, or a longer Retry-After
 * given in seconds. */
static int64_t retry_wait(const struct sc_pages *p, const json_t *out)
{
    const char *ra = sc_http_header(json_object_get(out, "headers"), "retry-after");
    int64_t ms = p->retry_ms;
    if (ra && *ra && strspn(ra, "0123456789") == strlen(ra) && strlen(ra) < 9)
        ms = atoll(ra) * 1000 > ms ? atoll(ra) * 1000 : ms;
    return ms;
}

/* Sends the page's request, again after a transient failure while retries and the
 * step's time allow. */
static enum sc_status send_page(struct sc_pages *p, struct sc_request *rq, json_t **out,
                                char *err, size_t errlen)
{
    int max_redirects = p->call.no_redirects ? 0 : SC_CALL_MAX_REDIRECTS;
    bool renewed = false; /* an oauth2 connection's 401: a fresh token, sent again once */
    for (json_int_t attempt = 0;; attempt++) {
        enum sc_status st = sc_call_send(p->ctx, rq, max_redirects, p->parse, out, err, errlen);
        int rn = st != SC_OK && !renewed ? sc_call_renew(p->ctx, rq, *out, &st, err, errlen) : 0;
        if (rn < 0) {
            char was[768];
            snprintf(was, sizeof was, "%s", err);
            return fail(p, st, err, errlen, "paginate: page %zu: %s", p->pages + 1, was);
        }
        if (rn > 0) {
            renewed = true;
            json_decref(*out);
            *out = NULL;
            attempt--;
            continue;
        }
        if (st != SC_OK && renewed && json_integer_value(json_object_get(*out, "status")) == 401)
            return fail(p, SC_ERR_CONFIG, err, errlen, "paginate: page %zu: connection '%s' "
                        "refused a fresh OAuth2 access token (HTTP 401 twice)", p->pages + 1,
                        p->call.connection);
        if (st == SC_OK && attempt) /* the failed sending's answer is not the step's error */
            for (const char *k = "status\0location\0body\0retry_after_ms\0"; *k; k += strlen(k) + 1)
                sc_step_error_detail(p->ctx, k, json_null());
        if (st == SC_OK)
            return SC_OK;
        int64_t wait = retry_wait(p, *out);
        if (!transient(st) || attempt >= p->retries || wait >= sc_step_time_left_ms(p->ctx)) {
            char was[768];
            snprintf(was, sizeof was, "%s", err);
            if (attempt)
                return fail(p, st, err, errlen, "paginate: page %zu: %s (sent %d times)",
                            p->pages + 1, was, (int)attempt + 1);
            return fail(p, st, err, errlen, "paginate: page %zu: %s", p->pages + 1, was);
        }
        json_decref(*out);
        *out = NULL;
        sc_clock_sleep_ms(wait);
    }
}

/* FNV-1a 64 of body's compact JSON with sorted keys; 0 out of memory (never compared). */
static uint64_t body_hash(const json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = s; c && *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
    bool ok = s != NULL;
    free(s);
    return ok ? (h ? h : 1) : 0;
}

/* The next page's request in *rq (sc_request_free after, also on an error): the call's
 * with the page's query or the server's next URL, its token; a URL already fetched is a
 * loop. SC_OK, or the failure also kept in p. */
static enum sc_status page_request(struct sc_pages *p, struct sc_request *rq, char *err,
                                   size_t errlen)
{
    memset(rq, 0, sizeof *rq);
    json_t *q = NULL;
    if (page_query(p, &q) != 0) {
        json_decref(q);
        return fail(p, SC_ERR_RUNTIME, err, errlen, "out of memory");
    }
    struct sc_call c = p->call;
    c.query = q;
    char *token = NULL; /* an oauth2 connection's access token, copied into rq's header */
    enum sc_status st = sc_call_token(p->ctx, c.connection, &token, err, errlen);
    c.bearer = token;
    if (st == SC_OK)
        st = sc_request_build(sc_step_org(p->ctx), &c, NULL, NULL, rq, err, errlen);
    sc_oauth_free(token);
    json_decref(q);
    if (st == SC_OK && p->next_url) { /* link, next_url: the same request, to the next URL */
        free(rq->url);
        free(rq->send_url); /* the first page's query: the next URL is the server's */
        rq->send_url = NULL;
        rq->url = strdup(p->next_url);
        if (!rq->url)
            st = fail(p, SC_ERR_RUNTIME, err, errlen, "out of memory");
    }
    if (st != SC_OK) {
        if (!p->failed) {
            p->failed = st;
            p->why = strdup(err);
        }
        return st;
    }
    char *key = url_key(rq->url);
    json_t *before = key ? json_object_get(p->seen, key) : NULL;
    if (!key || before) {
        st = key ? fail(p, SC_ERR_DATA, err, errlen, "paginate: page %zu's next page %s was "
                        "already fetched as page %" JSON_INTEGER_FORMAT ": the API's pages "
                        "loop", p->pages, rq->url, json_integer_value(before))
                 : fail(p, SC_ERR_RUNTIME, err, errlen, "out of memory");
        free(key);
        return st;
    }
    json_object_set_new(p->seen, key, json_integer((json_int_t)p->pages + 1));
    free(key);
    return SC_OK;
}

enum sc_status sc_pages_next(struct sc_pages *p, json_t **items, char *err, size_t errlen)
{
    *items = NULL;
    if (p->failed) {
        snprintf(err, errlen, "%s", p->why ? p->why : "out of memory");
        return p->failed;
    }
    if (p->done)
        return SC_OK;
    if ((json_int_t)p->pages >= p->max_pages)
        return fail(p, SC_ERR_LIMIT, err, errlen, "paginate: max_pages %" JSON_INTEGER_FORMAT
                    " passed: the list goes on after %zu pages (%zu items so far); raise "
                    "max_pages or narrow the request", p->max_pages, p->pages, p->items);
    struct sc_request rq;
    enum sc_status st = page_request(p, &rq, err, errlen);
    if (st != SC_OK) {
        sc_request_free(&rq);
        return st;
    }
    json_t *out = NULL;
    st = send_page(p, &rq, &out, err, errlen);
    if (st != SC_OK) {
        json_decref(out);
        sc_request_free(&rq);
        return st;
    }
    p->pages++;
    json_t *arr = sc_pages_at(json_object_get(out, "body"), p->items_path);
    if (json_is_null(arr) && p->items_path)
        arr = NULL; /* "items": null on an empty last page */
    else if (!json_is_array(arr)) {
        st = fail(p, SC_ERR_DATA, err, errlen, "paginate: page %zu of GET %s: %s %s", p->pages,
                  rq.url, p->items_path ? "the body has no list at" : "the body is not a list",
                  p->items_path ? p->items_path : "(give items: the path to it)");
        json_decref(out);
        sc_request_free(&rq);
        return st;
    }
    size_t n = json_array_size(arr);
    if ((json_int_t)(p->items + n) > p->max_items) {
        st = fail(p, SC_ERR_LIMIT, err, errlen, "paginate: max_items %" JSON_INTEGER_FORMAT
                  " passed: page %zu brings the list to %zu items; raise max_items or narrow "
                  "the request", p->max_items, p->pages, p->items + n);
        json_decref(out);
        sc_request_free(&rq);
        return st;
    }
    /* a page just like the one before: the API ignores how we ask for the next one (a
     * wrong param), and would answer it max_pages times before a misleading guard */
    uint64_t h = n ? body_hash(json_object_get(out, "body")) : 0;
    if (h && h == p->last_body) {
        st = fail(p, SC_ERR_DATA, err, errlen, "paginate: page %zu (GET %s) is page %zu again, "
                  "item for item: the API does not move on (does it read %s?)", p->pages,
                  rq.url, p->pages - 1, p->next_url || p->style == LINK || p->style == NEXT_URL
                                            ? "its own next link" : p->param);
        json_decref(out);
        sc_request_free(&rq);
        return st;
    }
    if (h)
        p->last_body = h;
    p->items += n;
    st = read_next(p, rq.url, out, n, err, errlen);
    if (st == SC_OK && n)
        *items = json_incref(arr);
    json_decref(out);
    sc_request_free(&rq);
    return st;
}
