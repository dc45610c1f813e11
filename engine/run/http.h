/* Outbound HTTP: one reused curl handle per worker, requests to an org's connections
 * with their auth, and the classification of DESIGN.md section 8 (4xx data error;
 * 408, 5xx server; 429 rate limit with Retry-After; connect, reset, timeout connection).
 * Ownership: sc_http_new returns a client freed by sc_http_free; a response owns its
 * headers and body until sc_http_resp_free; request fields are borrowed. */
#ifndef SC_HTTP_H
#define SC_HTTP_H

#include "module.h"
#include "util.h"

#include <stdint.h>
#include <jansson.h>

#define SC_HTTP_MAX_BODY (16u * 1024 * 1024) /* largest response body read */

struct sc_http;

struct sc_http_req {
    const char *method;
    const char *url;
    const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
    const char *username, *password; /* basic auth, or NULL */
    const char *body;           /* NULL: no body */
    size_t body_len;
    int64_t timeout_ms;         /* whole request; 0: none */
    /* Called once, when the connection is made and just before the request is first
     * sent (a write's write-ahead audit row); nonzero stops it unsent. May be NULL. */
    int (*before_send)(void *ud);
    void *before_ud;
    int max_redirects;          /* same-origin redirects a read follows; 0: none */
    /* mutual TLS (CURLOPT_SSLCERT, SSLKEY or SSLKEY_BLOB, CAINFO); each may be NULL */
    const char *tls_cert, *tls_key, *tls_ca;
    const char *tls_key_pem;    /* the key's PEM itself, instead of tls_key */
};

struct sc_http_resp {
    long status;                /* 0 when no answer came */
    json_t *headers;            /* lower-cased name -> value, or an array of the values in
                                   arrival order when the header came more than once */
    char *location;             /* the absolute Location of a 3xx answer, or NULL */
    struct sc_buf body;
    int64_t retry_after_ms;     /* -1 when the answer had no Retry-After */
    int64_t duration_ms;
};

struct sc_http *sc_http_new(void);
void sc_http_free(struct sc_http *h);

/* Sends one request. SC_OK for 1xx, 2xx and 304; otherwise the classification, with err
 * naming the method, URL and what happened. A read (GET, HEAD) answered 301, 302, 303,
 * 307 or 308 is sent again to the Location when it has the same origin (RFC 6454), up
 * to max_redirects times; any other 3xx (a write's, another origin's, one too many) is
 * a data error naming the Location. resp is filled whenever an answer came (the last).
 * A write is sent at most once: libcurl's silent re-send on a new connection (a
 * kept-alive one found closed) is stopped, a connection error. before_send refusing:
 * SC_ERR_RUNTIME. */
enum sc_status sc_http_send(struct sc_http *h, const struct sc_http_req *req,
                            struct sc_http_resp *resp, char *err, size_t errlen);
void sc_http_resp_free(struct sc_http_resp *r);

/* Concurrent reads (daemon/workers.c): with on, a read (GET, HEAD, no before_send) sent
 * from a fiber (fiber.h) waits on the client's curl multi handle, its own easy handle and
 * the multi's shared connections, and yields; sc_http_wait drives the transfers in flight
 * for up to max_ms (capped at a second), marking the fibers whose transfers ended ready,
 * and answers how many still run. Writes and anything sent off a fiber go as before, one
 * at a time on the client's own handle. A fiber that cannot yield drives the multi in
 * place. Every fiber must have come back out of sc_http_send before sc_http_free. */
void sc_http_concurrent(struct sc_http *h, bool on);
int sc_http_wait(struct sc_http *h, int64_t max_ms);
/* Transfers on the multi now. */
int sc_http_inflight(const struct sc_http *h);

/* The transport seam `scenarist test` uses. send, when set, answers every request in
 * place of the network: it fills resp (status, headers, body) and returns 0, or returns
 * -1 with err saying why there is no answer (a connection error); the status is then
 * classified as a network answer's. seen, when set, is told each request and its answer
 * after a real exchange (recording). Both borrow their arguments; ud is the caller's.
 * The transport is copied; NULL restores the network alone. */
struct sc_http_transport {
    int (*send)(void *ud, const struct sc_http_req *req, struct sc_http_resp *resp,
                char *err, size_t errlen);
    void (*seen)(void *ud, const struct sc_http_req *req, const struct sc_http_resp *resp);
    void *ud;
};
void sc_http_set_transport(struct sc_http *h, const struct sc_http_transport *t);

/* Borrowed: the value of a response header (name lower-cased; the last one when it
 * came several times, as the header used to keep), or NULL. */
const char *sc_http_header(const json_t *headers, const char *name);

/* True for POST, PUT, PATCH and DELETE. */
bool sc_http_is_write(const char *method);

/* Appends s percent-encoded for a URL query or form (RFC 3986 unreserved kept). */
void sc_http_escape(struct sc_buf *b, const char *s, size_t n);

#endif
