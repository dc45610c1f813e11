/* SHA-256, HMAC-SHA256 and AES-256-GCM sealing over libcrypto (see crypto.h). */
#include "crypto.h"

#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

static const char seal_magic[4] = "SC1";

void sc_crypto_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void sc_crypto_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        memset(md, 0, sizeof md);
    sc_crypto_hex(md, 32, out);
}

int sc_crypto_hmac_hex(const void *key, size_t klen, const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    size_t len = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    bool ok = c && EVP_MAC_init(c, key, klen, params) == 1 && EVP_MAC_update(c, data, n) == 1 &&
              EVP_MAC_final(c, md, &len, sizeof md) == 1 && len == 32;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(mac);
    if (!ok)
        memset(md, 0, sizeof md);
    sc_crypto_hex(md, 32, out);
    return ok ? 0 : -1;
}

bool sc_crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool sc_crypto_is_sealed(const void *b, size_t n)
{
    return b && n >= 4 && !memcmp(b, seal_magic, 4);
}

void *sc_crypto_seal(const unsigned char key[32], const void *plain, size_t n, size_t *out_n)
{
    unsigned char *out = n <= (size_t)INT_MAX - SC_CRYPTO_SEAL_OVERHEAD ? sc_malloc(SC_CRYPTO_SEAL_OVERHEAD + n) : NULL;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    bool ok = out && c && getrandom(out + 4, 12, 0) == 12 &&
              EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out + 4) == 1 &&
              EVP_EncryptUpdate(c, out + 16, &l1, plain, (int)n) == 1 &&
              EVP_EncryptFinal_ex(c, out + 16 + l1, &l2) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 16 + l1 + l2) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        free(out);
        return NULL;
    }
    memcpy(out, seal_magic, 4);
    *out_n = 16 + (size_t)(l1 + l2) + 16;
    return out;
}

char *sc_crypto_open(const unsigned char key[32], const void *blob, size_t n, size_t *out_n)
{
    const unsigned char *b = blob;
    if (n < SC_CRYPTO_SEAL_OVERHEAD || !sc_crypto_is_sealed(b, n) || n > (size_t)INT_MAX - SC_CRYPTO_SEAL_OVERHEAD)
        return NULL;
    size_t len = n - SC_CRYPTO_SEAL_OVERHEAD;
    char *text = sc_malloc(len + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    bool ok = text && c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, b + 4) == 1 &&
              EVP_DecryptUpdate(c, (unsigned char *)text, &l1, b + 16, (int)len) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(b + n - 16)) == 1 &&
              EVP_DecryptFinal_ex(c, (unsigned char *)text + l1, &l2) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        free(text);
        return NULL;
    }
    text[l1 + l2] = '\0';
    *out_n = (size_t)(l1 + l2);
    return text;
}
