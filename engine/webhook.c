#include "webhook.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

/* The key of a whsec_<base64> secret. */
static int whsec_key(const char *secret, unsigned char *key, size_t cap)
{
    if (strncmp(secret, "whsec_", 6) != 0)
        return -1;
    return b64_decode(secret + 6, strlen(secret + 6), key, cap);
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
        snprintf(why, whylen, "the org's secret for this webhook is not whsec_<base64>");
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
