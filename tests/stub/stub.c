/* A loopback HTTP server for the golden tests: answers from a list of canned replies
 * and journals every request it receives, so tests assert the exact traffic.
 *
 *   stub --replies FILE --port-file FILE --journal FILE
 *
 * replies: [{"method": "GET", "path": "/hris/employees/17", "status": 200,
 *            "headers": {...}, "body": <JSON> | "text": "...", "delay_ms": 0,
 *            "times": N, "drop": false}]   first match wins; "times" uses a reply up to
 * N times; "drop" closes the connection after reading the request, answering nothing;
 * a path ending in '*' matches by prefix; "query": {"page": "2"} matches only a request
 * whose query has these values (the others may be there too). Unmatched requests get 404.
 * The journal has one JSON line per request: method, path (decoded), query, headers
 * (without host, user-agent, content-length, connection; a repeated one as an array of
 * its values), body (JSON when it parses), and raw_path, the path as sent, when it
 * differs from the decoded one, and raw_query, the query as sent, when a part of it decodes to
 * bytes that are not UTF-8 (that part is missing from query). A reply's header given as an array is sent once per value.
 * "latin1": true writes the reply's text and header values in ISO-8859-1 (characters up to
 * U+00FF, one byte each), as an old server does.
 * "gather": K holds each request of a gather reply until K such requests have been open at
 * once (or 10 s passed), then answers, journaling a second line then: {"released": path,
 * "open_at_once": the most open at once so far}, so a test asserts how many a client had
 * in flight. */
#define _GNU_SOURCE
#include "util.h"

#include <jansson.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static json_t *replies;
static FILE *journal;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gathered = PTHREAD_COND_INITIALIZER;

static long gather_open, gather_peak; /* requests of "gather" replies: open now, at most */

/* A "gather" reply: this request waits until K requests of "gather" replies (any of them)
 * were open at once, or 10 s (a bound a client keeping them in flight never meets). Under
 * lock. */
static void gather(json_t *r, const char *path)
{
    long k = (long)json_integer_value(json_object_get(r, "gather"));
    if (k <= 0)
        return;
    if (++gather_open > gather_peak)
        gather_peak = gather_open;
    pthread_cond_broadcast(&gathered);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    while (gather_peak < k)
        if (pthread_cond_timedwait(&gathered, &lock, &until) != 0)
            break;
    json_t *line = json_pack("{s:s, s:I}", "released", path, "open_at_once", (json_int_t)gather_peak);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    fprintf(journal, "%s\n", text ? text : "{}");
    fflush(journal);
    free(text);
    json_decref(line);
    gather_open--;
}

static volatile sig_atomic_t stop;

struct req {
    char *body;
    size_t len;
    char *raw; /* the request target as received, before any decoding */
    bool started;
};

/* MHD_OPTION_URI_LOG_CALLBACK: sees the target before MHD decodes it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    struct req *rq = calloc(1, sizeof *rq);
    if (rq)
        rq->raw = strdup(uri ? uri : "");
    return rq;
}

static void reply_header(struct MHD_Response *resp, const char *k, const char *v, bool latin1)
{
    char *t = strdup(v ? v : "");
    if (t)
        MHD_add_response_header(resp, k, latin1 ? sc_latin1_bytes(t) : t);
    free(t);
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *k,
                                  const char *v)
{
    (void)kind;
    static const char *const skip[] = {"host", "user-agent", "content-length", "connection",
                                       "accept-encoding", "expect", NULL};
    char low[128];
    size_t n = strlen(k);
    if (n >= sizeof low)
        return MHD_YES;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]);
    for (const char *const *s = skip; *s; s++)
        if (!strcmp(low, *s))
            return MHD_YES;
    json_t *old = json_object_get(cls, low), *val = json_string(v ? v : "");
    if (json_is_array(old))
        json_array_append_new(old, val);
    else if (old) /* a repeated header: every value, in order */
        json_object_set_new(cls, low, json_pack("[O, o]", old, val));
    else
        json_object_set_new(cls, low, val);
    return MHD_YES;
}

static _Thread_local bool arg_lost; /* a query part JSON cannot hold (not UTF-8) */

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    json_t *old = json_object_get(cls, k), *val = json_string(v ? v : "");
    json_t *key = json_string(k);
    arg_lost |= !val || !key;
    json_decref(key);
    if (json_is_array(old)) {
        json_array_append_new(old, val);
    } else if (old) { /* a repeated key: keep every value, in order */
        json_object_set_new(cls, k, json_pack("[O, o]", old, val));
    } else {
        json_object_set_new(cls, k, val);
    }
    return MHD_YES;
}

static bool path_matches(const char *pattern, const char *path)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return !strncmp(pattern, path, n - 1);
    return !strcmp(pattern, path);
}

/* Every pair of want is in the request's query (a repeated key: its last value). */
static bool query_matches(const json_t *want, const json_t *query)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v) {
        json_t *got = json_object_get(query, k);
        if (json_is_array(got))
            got = json_array_get(got, json_array_size(got) - 1);
        if (!json_is_string(got) || !json_is_string(v) ||
            strcmp(json_string_value(got), json_string_value(v)))
            return false;
    }
    return true;
}

static json_t *find_reply(const char *method, const char *path, const json_t *query)
{
    size_t i;
    json_t *r;
    json_array_foreach(replies, i, r) {
        const char *m = json_string_value(json_object_get(r, "method"));
        const char *p = json_string_value(json_object_get(r, "path"));
        json_t *times = json_object_get(r, "times");
        if ((m && strcmp(m, method)) || !p || !path_matches(p, path) ||
            !query_matches(json_object_get(r, "query"), query))
            continue;
        if (times && json_integer_value(times) <= 0)
            continue;
        if (times)
            json_object_set_new(r, "times", json_integer(json_integer_value(times) - 1));
        return r;
    }
    return NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct req *rq = *con_cls;
    if (!rq)
        return MHD_NO;
    if (!rq->started) {
        rq->started = true;
        return MHD_YES;
    }
    if (*size) {
        char *nb = realloc(rq->body, rq->len + *size + 1);
        if (!nb)
            return MHD_NO;
        memcpy(nb + rq->len, data, *size);
        rq->body = nb;
        rq->len += *size;
        rq->body[rq->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    json_t *headers = json_object(), *query = json_object();
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, headers);
    arg_lost = false;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, query);
    json_t *body = json_null();
    if (rq->len) {
        body = json_loadb(rq->body, rq->len, JSON_DECODE_ANY, NULL);
        if (!body)
            body = json_stringn(rq->body, rq->len);
    }
    pthread_mutex_lock(&lock);
    json_t *entry = json_pack("{s:s, s:s, s:O, s:o, s:o}", "method", method, "path", url,
                              "query", query, "headers", headers, "body", body);
    size_t rawlen = rq->raw ? strcspn(rq->raw, "?") : 0;
    if (rq->raw && (rawlen != strlen(url) || strncmp(rq->raw, url, rawlen)))
        json_object_set_new(entry, "raw_path", json_stringn(rq->raw, rawlen)); /* as sent */
    if (rq->raw && arg_lost && rq->raw[rawlen]) /* its bytes as they were sent */
        json_object_set_new(entry, "raw_query", json_string(rq->raw + rawlen + 1));
    char *line = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
    fprintf(journal, "%s\n", line ? line : "{}");
    fflush(journal);
    free(line);
    json_decref(entry);
    json_t *r = json_incref(find_reply(method, url, query));
    gather(r, url);
    json_decref(query);
    pthread_mutex_unlock(&lock);

    long delay = (long)json_integer_value(json_object_get(r, "delay_ms"));
    if (delay > 0) { /* real time on purpose: it exercises the client's real timeout */
        struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (json_is_true(json_object_get(r, "drop"))) { /* read, journaled, never answered */
        json_decref(r);
        return MHD_NO;
    }
    int status = r ? (int)json_integer_value(json_object_get(r, "status")) : 404;
    if (!status)
        status = 200;
    bool latin1 = json_is_true(json_object_get(r, "latin1"));
    char *text = NULL;
    const char *ctype = "application/json";
    json_t *rb = json_object_get(r, "body");
    if (!r) {
        text = strdup("{\"error\":\"no canned reply\"}");
    } else if (json_object_get(r, "text")) {
        text = strdup(json_string_value(json_object_get(r, "text")));
        if (latin1)
            sc_latin1_bytes(text);
        ctype = "text/plain";
    } else if (rb) {
        text = json_dumps(rb, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    } else {
        text = strdup("");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    bool own_type = false; /* the reply's own Content-Type replaces the default */
    const char *hk;
    json_t *hv;
    json_object_foreach(json_object_get(r, "headers"), hk, hv) own_type |= !strcasecmp(hk, "content-type");
    if (*text && !own_type)
        MHD_add_response_header(resp, "Content-Type", ctype);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "headers"), k, v) {
        size_t i;
        json_t *e;
        if (json_is_array(v)) /* a header sent several times */
            json_array_foreach(v, i, e) reply_header(resp, k, json_string_value(e), latin1);
        else
            reply_header(resp, k, json_string_value(v), latin1);
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    json_decref(r);
    return ret;
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct req *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq->raw);
        free(rq);
    }
    *con_cls = NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *rfile = NULL, *pfile = NULL, *jfile = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--replies"))
            rfile = argv[i + 1];
        else if (!strcmp(argv[i], "--port-file"))
            pfile = argv[i + 1];
        else if (!strcmp(argv[i], "--journal"))
            jfile = argv[i + 1];
    }
    if (!pfile || !jfile) {
        fprintf(stderr, "usage: stub [--replies FILE] --port-file FILE --journal FILE\n");
        return 2;
    }
    json_error_t je;
    replies = rfile ? json_load_file(rfile, 0, &je) : json_array();
    if (!json_is_array(replies)) {
        fprintf(stderr, "stub: %s:%d: %s\n", rfile, je.line, rfile ? je.text : "");
        return 2;
    }
    journal = fopen(jfile, "w");
    if (!journal) {
        perror(jfile);
        return 2;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* the server's threads never take them */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "stub: cannot start the server\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    FILE *pf = fopen(pfile, "w");
    if (!pf || !info) {
        MHD_stop_daemon(d);
        return 1;
    }
    fprintf(pf, "%u\n", (unsigned)info->port);
    fclose(pf);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop)
        sigsuspend(&old); /* atomically unblocks and waits: no lost signal */
    MHD_stop_daemon(d);
    fclose(journal);
    json_decref(replies);
    return 0;
}
