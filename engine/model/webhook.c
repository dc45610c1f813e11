#include "model/webhook.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

const char *sc_hook_verdict_name(enum sc_hook_verdict v)
{
    switch (v) {
    case SC_HOOK_OK: return "ok";
    case SC_HOOK_MISSING: return "missing_signature";
    case SC_HOOK_MISMATCH: return "bad_signature";
    case SC_HOOK_STALE: return "stale_timestamp";
    case SC_HOOK_CONFIG: return "secret_unusable";
    }
    return "unknown";
}

bool sc_webhook_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ')
        n--;
    if (n == 16 && !strncasecmp(ct, "application/json", 16))
        return true;
    return n > 17 && !strncasecmp(ct, "application/", 12) && !strncasecmp(ct + n - 5, "+json", 5);
}

/* Decodes standard base64 (padding required as the scheme sends it). -1 when invalid. */
static int b64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    if (n == 0 || n % 4 || n / 4 * 3 > cap)
        return -1;
    int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -1;
    for (size_t i = n; i > 0 && in[i - 1] == '='; i--)
        len--; /* EVP_DecodeBlock counts padding as zero bytes */
    return len;
}

/* The key of a Standard Webhooks secret: base64, with or without the whsec_ prefix, as
 * the reference libraries take it. -1 when it is not base64 or decodes to nothing. */
static int whsec_key(const char *secret, unsigned char *key, size_t cap)
{
    if (!strncmp(secret, "whsec_", 6))
        secret += 6;
    size_t n = strlen(secret);
    for (size_t i = 0; i < n; i++) /* EVP_DecodeBlock skips blanks the reference refuses */
        if (!isalnum((unsigned char)secret[i]) && !strchr("+/=", secret[i]))
            return -1;
    return b64_decode(secret, n, key, cap);
}

int sc_webhook_secret_check(const char *scheme, const char *secret, char *why, size_t whylen)
{
    if (!secret || !*secret) {
        snprintf(why, whylen, "the secret is empty");
        return -1;
    }
    if (!strcmp(scheme, "standard-webhooks")) {
        unsigned char key[256];
        int klen = whsec_key(secret, key, sizeof key);
        OPENSSL_cleanse(key, sizeof key);
        if (klen <= 0) {
            snprintf(why, whylen, "a standard-webhooks secret is base64 (whsec_<base64> or "
                                  "bare), padded to a multiple of 4 characters, at most 256 bytes once decoded");
            return -1;
        }
        return 0;
    }
    if (!strcmp(scheme, "hub-signature"))
        return 0;
    snprintf(why, whylen, "unknown signature scheme %s", scheme);
    return -1;
}

static int hmac(const unsigned char *key, size_t klen, const char *parts[], const size_t lens[],
                size_t nparts, unsigned char md[32])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_END};
    size_t out = 0;
    bool ok = c && EVP_MAC_init(c, key, klen, params) == 1;
    for (size_t i = 0; ok && i < nparts; i++)
        ok = EVP_MAC_update(c, (const unsigned char *)parts[i], lens[i]) == 1;
    ok = ok && EVP_MAC_final(c, md, &out, 32) == 1 && out == 32;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

static int standard_mac(const unsigned char *key, size_t klen, const char *id, const char *ts,
                        const char *body, size_t len, unsigned char md[32])
{
    const char *parts[] = {id, ".", ts, ".", body};
    const size_t lens[] = {strlen(id), 1, strlen(ts), 1, len};
    return hmac(key, klen, parts, lens, 5, md);
}

int sc_webhook_sign(const char *secret, const char *id, const char *timestamp, const char *body,
                    size_t len, char *out, size_t outlen)
{
    unsigned char key[256], md[32];
    int klen = whsec_key(secret, key, sizeof key);
    if (klen <= 0 || outlen < 48 || standard_mac(key, (size_t)klen, id, timestamp, body, len, md))
        return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, md, 32);
    OPENSSL_cleanse(key, sizeof key);
    return 0;
}

static enum sc_hook_verdict verify_standard(const char *secret, sc_hook_header_fn header,
                                            void *ud, const char *body, size_t len,
                                            int64_t now_ms, char *why, size_t whylen)
{
    const char *id = header(ud, "webhook-id"), *ts = header(ud, "webhook-timestamp"),
               *sigs = header(ud, "webhook-signature");
    if (!id || !ts || !sigs) {
        snprintf(why, whylen, "missing %s header (Standard Webhooks)",
                 !id ? "webhook-id" : !ts ? "webhook-timestamp" : "webhook-signature");
        return SC_HOOK_MISSING;
    }
    char *end;
    long long t = strtoll(ts, &end, 10);
    if (!*ts || *end || end - ts > 12) {
        snprintf(why, whylen, "webhook-timestamp is not a number of seconds");
        return SC_HOOK_STALE;
    }
    long long skew = t - now_ms / 1000;
    if (skew > SC_WEBHOOK_TOLERANCE_S || skew < -SC_WEBHOOK_TOLERANCE_S) {
        snprintf(why, whylen, "webhook-timestamp is %lld s %s: outside the %d s tolerance",
                 skew < 0 ? -skew : skew, skew < 0 ? "old" : "ahead", SC_WEBHOOK_TOLERANCE_S);
        return SC_HOOK_STALE;
    }
    unsigned char key[256], md[32], got[64];
    int klen = whsec_key(secret, key, sizeof key);
    if (klen <= 0 || standard_mac(key, (size_t)klen, id, ts, body, len, md) != 0) {
        OPENSSL_cleanse(key, sizeof key);
        snprintf(why, whylen, "the org's secret for this webhook is not base64 (whsec_<base64>)");
        return SC_HOOK_CONFIG;
    }
    OPENSSL_cleanse(key, sizeof key);
    /* space-separated "v1,<base64>" entries: any one matching passes (key rotation) */
    bool match = false;
    for (const char *p = sigs; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n > 3 && !strncmp(p, "v1,", 3)) {
            int glen = b64_decode(p + 3, n - 3, got, sizeof got);
            match |= glen == 32 && CRYPTO_memcmp(got, md, 32) == 0;
        }
        p += n;
    }
    if (!match) {
        snprintf(why, whylen, "webhook-signature does not match the body (wrong secret or "
                              "altered body)");
        return SC_HOOK_MISMATCH;
    }
    return SC_HOOK_OK;
}

static enum sc_hook_verdict verify_hub(const char *secret, sc_hook_header_fn header, void *ud,
                                       const char *body, size_t len, char *why, size_t whylen)
{
    const char *sig = header(ud, "x-hub-signature-256");
    if (!sig) {
        snprintf(why, whylen, "missing X-Hub-Signature-256 header");
        return SC_HOOK_MISSING;
    }
    unsigned char md[32], got[32];
    const char *parts[] = {body};
    const size_t lens[] = {len};
    if (hmac((const unsigned char *)secret, strlen(secret), parts, lens, 1, md) != 0) {
        snprintf(why, whylen, "HMAC failed");
        return SC_HOOK_CONFIG;
    }
    bool ok = strncmp(sig, "sha256=", 7) == 0 && strlen(sig + 7) == 64;
    for (int i = 0; ok && i < 32; i++) {
        unsigned v = 0;
        ok = isxdigit((unsigned char)sig[7 + 2 * i]) && isxdigit((unsigned char)sig[8 + 2 * i]) &&
             sscanf(sig + 7 + 2 * i, "%2x", &v) == 1;
        got[i] = (unsigned char)v;
    }
    if (!ok || CRYPTO_memcmp(got, md, 32) != 0) {
        snprintf(why, whylen, "X-Hub-Signature-256 does not match the body (wrong secret or "
                              "altered body)");
        return SC_HOOK_MISMATCH;
    }
    return SC_HOOK_OK;
}

enum sc_hook_verdict sc_webhook_verify(const char *scheme, const char *secret,
                                       sc_hook_header_fn header, void *ud, const char *body,
                                       size_t len, int64_t now_ms, char *why, size_t whylen)
{
    if (!strcmp(scheme, "standard-webhooks"))
        return verify_standard(secret, header, ud, body, len, now_ms, why, whylen);
    if (!strcmp(scheme, "hub-signature"))
        return verify_hub(secret, header, ud, body, len, why, whylen);
    snprintf(why, whylen, "unknown signature scheme %s", scheme);
    return SC_HOOK_CONFIG;
}

int sc_webhook_sign_hub(const char *secret, const char *body, size_t len, char *out, size_t outlen)
{
    unsigned char md[32];
    const char *parts[] = {body};
    const size_t lens[] = {len};
    if (outlen < 72 || hmac((const unsigned char *)secret, strlen(secret), parts, lens, 1, md))
        return -1;
    memcpy(out, "sha256=", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- Content-Encoding ---- */

/* The next coding of a Content-Encoding list: its name in name (lower-cased); NULL at the end. */
static const char *next_coding(const char *p, char *name, size_t cap)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (!*p)
        return NULL;
    size_t n = strcspn(p, ", \t");
    snprintf(name, cap, "%.*s", (int)n, p);
    for (char *c = name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return p + n;
}

static bool known_coding(const char *name)
{
    return !strcmp(name, "gzip") || !strcmp(name, "x-gzip") || !strcmp(name, "deflate") ||
           !strcmp(name, "identity");
}

bool sc_webhook_encoding_ok(const char *ce, char *bad, size_t badlen)
{
    char name[64];
    for (const char *p = ce; p && (p = next_coding(p, name, sizeof name));)
        if (!known_coding(name)) {
            snprintf(bad, badlen, "%s", name);
            return false;
        }
    return true;
}

/* Inflates in (gzip, every member of a multi-member one; or zlib-wrapped deflate; raw deflate
 * as some senders send it) into out, never past max bytes in all. 0, 1 over max, -1 corrupt. */
static int inflate_to(const char *in, size_t n, bool gzip, size_t max, struct sc_buf *out)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        z_stream z = {0};
        int bits = gzip ? 15 + 16 : attempt == 0 ? 15 : -15;
        if (inflateInit2(&z, bits) != Z_OK)
            return -1;
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        out->len = 0;
        int rc = Z_OK;
        unsigned char chunk[16384];
        while (rc == Z_OK) {
            z.next_out = chunk;
            z.avail_out = sizeof chunk;
            rc = inflate(&z, Z_NO_FLUSH);
            size_t got = sizeof chunk - z.avail_out;
            if (out->len + got > max) {
                inflateEnd(&z);
                return 1;
            }
            sc_buf_add(out, (const char *)chunk, got);
            if (rc == Z_BUF_ERROR && got)
                rc = Z_OK; /* the output was full: go on */
            if (rc == Z_STREAM_END && gzip && z.avail_in > 0)
                rc = inflateReset(&z); /* another member follows (RFC 1952 2.2) */
        }
        bool done = rc == Z_STREAM_END && z.avail_in == 0;
        inflateEnd(&z);
        if (out->oom)
            return -1;
        if (done)
            return 0;
        if (gzip || attempt == 1)
            return -1;
    }
    return -1;
}

int sc_webhook_decode(const char *ce, const char *in, size_t n, size_t max, struct sc_buf *out,
                      char *why, size_t whylen)
{
    char names[8][64];
    int k = 0;
    char name[64];
    for (const char *p = ce; p && (p = next_coding(p, name, sizeof name));) {
        if (!known_coding(name)) {
            snprintf(why, whylen, "content encoding %s is not supported", name);
            return 2;
        }
        if (strcmp(name, "identity") && k == 8) {
            snprintf(why, whylen, "more than 8 content encodings");
            return -1;
        }
        if (strcmp(name, "identity"))
            snprintf(names[k++], sizeof names[0], "%s", name);
    }
    struct sc_buf cur = {0};
    sc_buf_add(&cur, in, n);
    for (int i = k - 1; i >= 0; i--) { /* the last applied is undone first */
        struct sc_buf next = {0};
        int rc = inflate_to(cur.data ? cur.data : "", cur.len, strcmp(names[i], "deflate") != 0,
                            max, &next);
        sc_buf_free(&cur);
        if (rc != 0) {
            sc_buf_free(&next);
            if (rc == 1)
                snprintf(why, whylen, "body over the %zu-byte limit once decoded (%s)", max,
                         names[i]);
            else
                snprintf(why, whylen, "the body is not valid %s data", names[i]);
            return rc;
        }
        cur = next;
    }
    if (cur.len > max) {
        sc_buf_free(&cur);
        snprintf(why, whylen, "body over the %zu-byte limit", max);
        return 1;
    }
    if (cur.oom) {
        sc_buf_free(&cur);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    *out = cur;
    return 0;
}

/* ---- JSON errors in the sender's terms ---- */

/* jansson's wording (by prefix) -> ours; %s is what was found there. */
static const struct {
    const char *theirs, *ours, *at_end;
} json_words[] = {
    {"duplicate object key", "the key %s appears more than once in one object", NULL},
    {"\\u0000 is not allowed", "a string holds \\u0000 (a NUL character), which is not accepted",
     NULL},
    {"unexpected token", "unexpected %s", "the body ends before the JSON is complete"},
    {"invalid token", "unexpected %s", "the body ends before the JSON is complete"},
    {"premature end of input", "the body ends before the JSON is complete", NULL},
    {"end of file expected", "more text after the JSON value: %s", NULL},
    {"'[' or '{' expected", "the body must be a JSON object or array, not %s",
     "the body is empty: send a JSON object"},
    {"string or '}' expected", "expected a quoted key or '}', found %s",
     "the body ends before the JSON is complete"},
    {"':' expected", "expected ':' after a key, found %s",
     "the body ends before the JSON is complete"},
    {"',' or '}' expected", "expected ',' or '}', found %s",
     "the body ends before the JSON is complete"},
    {"'}' expected", "expected ',' or '}', found %s", "the body ends before the JSON is complete"},
    {"',' or ']' expected", "expected ',' or ']', found %s",
     "the body ends before the JSON is complete"},
    {"']' expected", "expected ',' or ']', found %s", "the body ends before the JSON is complete"},
    {"unexpected newline", "a line break inside a string: write it as \\n", NULL},
    {"control character", "a control character inside a string: escape it (\\u00XX)", NULL},
    {"invalid escape", "an invalid escape in a string: %s", NULL},
    {"invalid Unicode", "an invalid \\u escape in a string: %s", NULL},
    {"unable to decode byte", "the body is not valid UTF-8", NULL},
    {"invalid UTF-8", "the body is not valid UTF-8", NULL},
    {"too big integer", "a number too large", NULL},
    {"real number overflow", "a number too large: %s", NULL},
    {"maximum parsing depth", "objects and arrays nested too deeply", NULL},
    {"string too long", "a string too long", NULL},
};

void sc_webhook_json_error(const json_error_t *e, char *out, size_t outlen)
{
    const char *near = strstr(e->text, " near ");
    char found[64] = "the end of the body";
    bool at_end = near && !strcmp(near, " near end of file");
    if (near && !at_end && near[6] == '\'') {
        const char *tok = near + 7;
        size_t n = strlen(tok);
        if (n && tok[n - 1] == '\'')
            n--;
        const char *q = *tok == '"' ? "" : "'"; /* a string shows its own quotes */
        snprintf(found, sizeof found, "%s%.*s%s%s", q, (int)(n > 40 ? 40 : n), tok,
                 n > 40 ? "..." : "", q);
    }
    const char *what = "not valid JSON", *fmt = NULL;
    char buf[160];
    for (size_t i = 0; i < sizeof json_words / sizeof json_words[0]; i++)
        if (!strncasecmp(e->text, json_words[i].theirs, strlen(json_words[i].theirs))) {
            fmt = at_end && json_words[i].at_end ? json_words[i].at_end : json_words[i].ours;
            break;
        }
    if (fmt) {
        if (strstr(fmt, "%s")) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
            snprintf(buf, sizeof buf, fmt, found);
#pragma GCC diagnostic pop
            what = buf;
        } else {
            what = fmt;
        }
    }
    snprintf(out, outlen, "malformed JSON at line %d, column %d: %s", e->line, e->column, what);
}

bool sc_webhook_path_reserved(const char *path)
{
    return !strcmp(path, "/healthz") || !strcmp(path, "/readyz") || !strcmp(path, "/metrics") ||
           (!strncmp(path, "/executions/", 12) && path[12] && !strchr(path + 12, '/'));
}
