/* The cryptography scenarist uses, on OpenSSL's libcrypto: SHA-256 (FIPS 180-4),
 * HMAC-SHA256 (RFC 2104) and sealing by AES-256-GCM (NIST SP 800-38D), so that no other
 * unit names a cipher. Buffers are borrowed; results are new (free) or written into the
 * caller's buffer, as each function says. */
#ifndef SC_CRYPTO_H
#define SC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

/* SHA-256 of n bytes as 64 lower-case hex digits and a NUL (out: 65 bytes). */
void sc_crypto_sha256_hex(const void *data, size_t n, char out[65]);
/* HMAC-SHA256 of n bytes under key (klen bytes) as 64 hex digits and a NUL. 0; -1 when
 * libcrypto fails, out then 64 zeros (a MAC nothing was ever written with). */
int sc_crypto_hmac_hex(const void *key, size_t klen, const void *data, size_t n, char out[65]);
/* n bytes as 2n lower-case hex digits and a NUL (out: 2n + 1 bytes). */
void sc_crypto_hex(const unsigned char *b, size_t n, char *out);
/* True when a and b (n bytes each) are equal, in time independent of where they differ. */
bool sc_crypto_equal(const void *a, const void *b, size_t n);

/* A sealed blob: the magic "SC1\0", a 12-byte random nonce, the ciphertext, the 16-byte
 * GCM tag. */
#define SC_CRYPTO_SEAL_OVERHEAD 32
/* True when b (n bytes) starts as a sealed blob does. */
bool sc_crypto_is_sealed(const void *b, size_t n);
/* Seals n bytes under a 256-bit key: a new buffer (free it), its length in *out_n; NULL
 * when memory, randomness or libcrypto fail. */
void *sc_crypto_seal(const unsigned char key[32], const void *plain, size_t n, size_t *out_n);
/* Opens a sealed blob: the plaintext in a new NUL-ended buffer (free it), its length in
 * *out_n; NULL when it is not a sealed blob or does not open with key (changed, or
 * sealed under another key). */
char *sc_crypto_open(const unsigned char key[32], const void *blob, size_t n, size_t *out_n);

#endif
