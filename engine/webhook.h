/* Inbound webhook checks that need no server: signatures (Standard Webhooks and
 * GitHub-style hub signatures) and the body's content type. Pure functions, so the
 * fuzzer and the unit tests drive them directly. Ownership: nothing is allocated that
 * outlives a call; header values are borrowed from the caller. */
#ifndef SC_WEBHOOK_H
#define SC_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
