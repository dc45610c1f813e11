/* The crypto unit against the standards' own vectors: SHA-256 (FIPS 180-4 examples),
 * HMAC-SHA256 (RFC 4231 test cases 1 and 2), and AES-256-GCM sealing that opens only
 * untouched and only under its key. */
#include "test.h"

#include <stdbool.h>
#include <stdlib.h>

#include "crypto.h"

static void sha256_is_fips_180_4(void **state)
{
    (void)state;
    char hex[65];
    sc_crypto_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sc_crypto_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void hmac_is_rfc_4231(void **state)
{
    (void)state;
    unsigned char key[20];
    memset(key, 0x0b, sizeof key);
    char hex[65];
    assert_int_equal(sc_crypto_hmac_hex(key, sizeof key, "Hi There", 8, hex), 0);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    const char *msg = "what do ya want for nothing?";
    assert_int_equal(sc_crypto_hmac_hex("Jefe", 4, msg, strlen(msg), hex), 0);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_true(sc_crypto_equal(hex, "5bdcc146", 8));
    assert_false(sc_crypto_equal(hex, "5bdcc147", 8));
}

static bool contains(const unsigned char *b, size_t n, const char *what)
{
    size_t k = strlen(what);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(b + i, what, k))
            return true;
    return false;
}

static void a_seal_opens_only_untouched_and_under_its_key(void **state)
{
    (void)state;
    unsigned char key[32], other[32];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    const char *text = "{\"ssn\":\"123-45-6789\"}";
    size_t n = 0, m = 0;
    unsigned char *blob = sc_crypto_seal(key, text, strlen(text), &n);
    assert_non_null(blob);
    assert_int_equal(n, strlen(text) + SC_CRYPTO_SEAL_OVERHEAD);
    assert_true(sc_crypto_is_sealed(blob, n));
    assert_false(sc_crypto_is_sealed(text, strlen(text)));
    assert_false(contains(blob, n, "123-45")); /* nothing of it in the clear */
    char *back = sc_crypto_open(key, blob, n, &m);
    assert_non_null(back);
    assert_int_equal(m, strlen(text));
    assert_string_equal(back, text);
    free(back);
    assert_null(sc_crypto_open(other, blob, n, &m)); /* another key */
    blob[20] ^= 1;
    assert_null(sc_crypto_open(key, blob, n, &m)); /* one bit changed */
    assert_null(sc_crypto_open(key, blob, 10, &m)); /* cut short */
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_is_fips_180_4),
        cmocka_unit_test(hmac_is_rfc_4231),
        cmocka_unit_test(a_seal_opens_only_untouched_and_under_its_key),
    };
    return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
