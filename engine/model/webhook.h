/* Inbound webhook checks that need no server: signatures (Standard Webhooks and
 * GitHub-style hub signatures) and the body's content type. Pure functions, so the
 * fuzzer and the unit tests drive them directly. Ownership: nothing is allocated that
 * outlives a call; header values are borrowed from the caller. */
#ifndef SC_WEBHOOK_H
#define SC_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

#define SC_WEBHOOK_TOLERANCE_S 300 /* Standard Webhooks: a timestamp within 5 minutes */

/* Why a request was turned away; also the label of the rejection metric. */
enum sc_hook_verdict {
    SC_HOOK_OK,
    SC_HOOK_MISSING,   /* no signature (or id, timestamp) header */
    SC_HOOK_MISMATCH,  /* no signature matches: tampered body or wrong secret */
    SC_HOOK_STALE,     /* timestamp outside the tolerance (a replay, or a skewed clock) */
    SC_HOOK_CONFIG,    /* our secret is unusable (not whsec_<base64>, unknown scheme) */
};

/* Reads a request header by lower-case name; NULL when absent. */
typedef const char *(*sc_hook_header_fn)(void *ud, const char *name);

/* Checks a request's signature under scheme ("standard-webhooks" or "hub-signature")
 * with the secret's value; comparisons are constant-time. why gets a message fit for
 * the 401 body (it never holds the secret or an expected signature). */
enum sc_hook_verdict sc_webhook_verify(const char *scheme, const char *secret,
                                       sc_hook_header_fn header, void *ud, const char *body,
                                       size_t len, int64_t now_ms, char *why, size_t whylen);

/* The label of a verdict for metrics and logs ("missing", "mismatch", ...). */
const char *sc_hook_verdict_name(enum sc_hook_verdict v);

/* True for application/json and any application/...+json, parameters allowed. */
bool sc_webhook_json_type(const char *content_type);

/* Standard Webhooks signature of "id.timestamp.body" under a whsec_ secret, as the
 * header carries it ("v1,<base64>"); for senders (the sandbox, tests). -1 when the
 * secret is unusable. */
int sc_webhook_sign(const char *secret, const char *id, const char *timestamp, const char *body,
                    size_t len, char *out, size_t outlen);

/* The X-Hub-Signature-256 value ("sha256=<hex>") of a body; -1 on failure. */
int sc_webhook_sign_hub(const char *secret, const char *body, size_t len, char *out, size_t outlen);

/* 0 when secret is usable under scheme: for standard-webhooks, base64 with or without the
 * whsec_ prefix (as the Standard Webhooks reference libraries take it); for hub-signature,
 * any non-empty text. -1 with why (never holding the secret) otherwise. */
int sc_webhook_secret_check(const char *scheme, const char *secret, char *why, size_t whylen);

/* True when every coding of a Content-Encoding value (RFC 9110 8.4: a comma list) is one
 * we decode: gzip (x-gzip), deflate, identity. Else false with the first other in bad. */
bool sc_webhook_encoding_ok(const char *content_encoding, char *bad, size_t badlen);

/* Undoes a Content-Encoding list (last applied first) on in[0..n): *out gets the decoded
 * body (the caller frees it with sc_buf_free). The decoded size never goes past max bytes:
 * a compression bomb stops there. 0 ok; 1 over max; 2 an encoding we do not decode; -1
 * corrupt data. why gets a message fit for the answer. */
int sc_webhook_decode(const char *content_encoding, const char *in, size_t n, size_t max,
                      struct sc_buf *out, char *why, size_t whylen);

/* A JSON parse error as the sender should read it ("malformed JSON at line L, column C:
 * the key \"status\" appears more than once in one object"), in our words, never the JSON
 * library's. */
void sc_webhook_json_error(const json_error_t *e, char *out, size_t outlen);

/* Whether the webhook listener answers path itself (GET /healthz, /readyz, /metrics,
 * /executions/ID), before any webhook: a webhook there is never reached. The validator
 * and the listener (httpd.c) ask this one rule. */
bool sc_webhook_path_reserved(const char *path);

#endif
