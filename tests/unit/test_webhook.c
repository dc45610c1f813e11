#include "test.h"

#include "model/webhook.h"

#include <stdio.h>
#include <stdlib.h>

#include <zlib.h>

/* Headers as "name\0value\0...\0". */
static const char *header(void *ud, const char *name)
{
    for (const char *p = ud; *p; p += strlen(p) + 1) {
        const char *v = p + strlen(p) + 1;
        if (!strcmp(p, name))
            return v;
        p = v;
    }
    return NULL;
}

/* The published Standard Webhooks test vector. */
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define BODY "{\"test\": 2432232314}"
#define SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define AT 1614265330000LL

static enum sc_hook_verdict std(const char *hdrs, size_t hlen, const char *secret, const char *body,
                                int64_t now, char *why)
{
    char buf[512];
    memcpy(buf, hdrs, hlen);
    buf[hlen] = buf[hlen + 1] = '\0';
    return sc_webhook_verify("standard-webhooks", secret, header, buf, body, strlen(body), now,
                             why, 256);
}
#define H(s) s, sizeof s - 1

static void standard_webhooks(void **state)
{
    (void)state;
    char why[256];
    const char ok[] = "webhook-id\0msg_p5jXN8AQM9LWM0D4loKWxJek\0webhook-timestamp\0001614265330\0"
                      "webhook-signature\0" SIG;
    assert_int_equal(std(H(ok), SECRET, BODY, AT, why), SC_HOOK_OK);
    assert_int_equal(std(H(ok), SECRET, BODY, AT + 299000, why), SC_HOOK_OK);
    /* a tampered body, a wrong secret */
    assert_int_equal(std(H(ok), SECRET, "{\"test\": 2432232315}", AT, why), SC_HOOK_MISMATCH);
    assert_string_equal(why, "webhook-signature does not match the body (wrong secret or "
                             "altered body)");
    assert_int_equal(std(H(ok), "whsec_c2VjcmV0LXR3bw==", BODY, AT, why), SC_HOOK_MISMATCH);
    /* stale and future timestamps: a replay five minutes on fails */
    assert_int_equal(std(H(ok), SECRET, BODY, AT + 301000, why), SC_HOOK_STALE);
    assert_string_equal(why, "webhook-timestamp is 301 s old: outside the 300 s tolerance");
    assert_int_equal(std(H(ok), SECRET, BODY, AT - 400000, why), SC_HOOK_STALE);
    /* several signatures (key rotation): one matching is enough */
    const char two[] = "webhook-id\0msg_p5jXN8AQM9LWM0D4loKWxJek\0webhook-timestamp\0001614265330\0"
                       "webhook-signature\0v1,AAAA v2,xyz " SIG;
    assert_int_equal(std(H(two), SECRET, BODY, AT, why), SC_HOOK_OK);
    const char missing[] = "webhook-id\0msg_1\0webhook-timestamp\0001614265330";
    assert_int_equal(std(H(missing), SECRET, BODY, AT, why), SC_HOOK_MISSING);
    assert_string_equal(why, "missing webhook-signature header (Standard Webhooks)");
    const char junk[] = "webhook-id\0msg_1\0webhook-timestamp\0001614265330\0webhook-signature\0v1,@@@@";
    assert_int_equal(std(H(junk), SECRET, BODY, AT, why), SC_HOOK_MISMATCH);
    assert_int_equal(std(H(ok), "not-a-whsec", BODY, AT, why), SC_HOOK_CONFIG);
    /* signing gives the vector back */
    char sig[128];
    assert_int_equal(sc_webhook_sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", BODY,
                                     strlen(BODY), sig, sizeof sig), 0);
    assert_string_equal(sig, SIG);
}

static void hub_signature(void **state)
{
    (void)state;
    char why[256];
    /* GitHub's documented example */
    const char *body = "Hello, World!", *secret = "It's a Secret to Everybody";
    char hdrs[] = "x-hub-signature-256\0sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\0";
    assert_int_equal(sc_webhook_verify("hub-signature", secret, header, hdrs, body, strlen(body), 0,
                                       why, sizeof why), SC_HOOK_OK);
    assert_int_equal(sc_webhook_verify("hub-signature", secret, header, hdrs, "Hello, World?", 13, 0,
                                       why, sizeof why), SC_HOOK_MISMATCH);
    assert_int_equal(sc_webhook_verify("hub-signature", "other", header, hdrs, body, strlen(body), 0,
                                       why, sizeof why), SC_HOOK_MISMATCH);
    char bad[] = "x-hub-signature-256\0sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\0";
    assert_int_equal(sc_webhook_verify("hub-signature", secret, header, bad, body, strlen(body), 0,
                                       why, sizeof why), SC_HOOK_MISMATCH);
    char none[] = "\0";
    assert_int_equal(sc_webhook_verify("hub-signature", secret, header, none, body, strlen(body), 0,
                                       why, sizeof why), SC_HOOK_MISSING);
}

static void content_types(void **state)
{
    (void)state;
    assert_true(sc_webhook_json_type("application/json"));
    assert_true(sc_webhook_json_type("Application/JSON; charset=utf-8"));
    assert_true(sc_webhook_json_type("application/cloudevents+json"));
    assert_false(sc_webhook_json_type("text/plain"));
    assert_false(sc_webhook_json_type("application/x-www-form-urlencoded"));
    assert_false(sc_webhook_json_type("application/jsonp"));
    assert_false(sc_webhook_json_type("application/+json"));
    assert_false(sc_webhook_json_type(NULL));
}


/* The reference libraries take the secret with or without whsec_; anything not base64 is a
 * start-up error, said without the secret. */
static void secret_forms(void **state)
{
    (void)state;
    char why[256];
    const char ok[] = "webhook-id\0msg_p5jXN8AQM9LWM0D4loKWxJek\0webhook-timestamp\0001614265330\0"
                      "webhook-signature\0" SIG;
    assert_int_equal(std(H(ok), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", BODY, AT, why), SC_HOOK_OK);
    char sig[128];
    assert_int_equal(sc_webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                     "1614265330", BODY, strlen(BODY), sig, sizeof sig), 0);
    assert_string_equal(sig, SIG);
    assert_int_equal(sc_webhook_secret_check("standard-webhooks", SECRET, why, sizeof why), 0);
    assert_int_equal(sc_webhook_secret_check("standard-webhooks", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                             why, sizeof why), 0);
    const char *bad[] = {"whsec_", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "MfKQ 9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                         "not-a-whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sc_webhook_secret_check("standard-webhooks", bad[i], why, sizeof why), -1);
        assert_string_equal(why, "a standard-webhooks secret is base64 (whsec_<base64> or bare), "
                                 "padded to a multiple of 4 characters, at most 256 bytes once decoded");
    }
    assert_int_equal(sc_webhook_secret_check("standard-webhooks", "", why, sizeof why), -1);
    assert_string_equal(why, "the secret is empty");
    assert_int_equal(sc_webhook_secret_check("hub-signature", "It's a Secret", why, sizeof why), 0);
}

/* gzip (windowBits 31) or zlib (15) or raw deflate (-15) of text. */
static size_t squeeze(const char *text, size_t n, int bits, unsigned char *out, size_t cap)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)text;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

static void encodings(void **state)
{
    (void)state;
    const char *json = "{\"employee_id\":\"E-1\"}";
    unsigned char packed[4096];
    char why[256], bad[64];
    struct sc_buf out = {0};
    int kinds[] = {31, 15, -15};
    const char *names[] = {"gzip", "deflate", "deflate"};
    for (int i = 0; i < 3; i++) {
        size_t n = squeeze(json, strlen(json), kinds[i], packed, sizeof packed);
        assert_int_equal(sc_webhook_decode(names[i], (char *)packed, n, 1024, &out, why, sizeof why), 0);
        assert_int_equal(out.len, strlen(json));
        assert_memory_equal(out.data, json, out.len);
        sc_buf_free(&out);
    }
    /* two codings: the last applied is undone first; identity is nothing */
    size_t n1 = squeeze(json, strlen(json), 15, packed, sizeof packed);
    unsigned char twice[4096];
    size_t n2 = squeeze((char *)packed, n1, 31, twice, sizeof twice);
    assert_int_equal(sc_webhook_decode("deflate, identity, GZIP", (char *)twice, n2, 1024, &out, why,
                                       sizeof why), 0);
    assert_int_equal(out.len, strlen(json));
    sc_buf_free(&out);
    /* a bomb: 10 MB of zeros in about 10 KB stops at the limit */
    size_t big = 10 * 1024 * 1024;
    char *zeros = calloc(1, big);
    unsigned char *bomb = malloc(64 * 1024);
    size_t nb = squeeze(zeros, big, 31, bomb, 64 * 1024);
    assert_true(nb < 20000);
    assert_int_equal(sc_webhook_decode("gzip", (char *)bomb, nb, 1048576, &out, why, sizeof why), 1);
    assert_string_equal(why, "body over the 1048576-byte limit once decoded (gzip)");
    assert_null(out.data);
    free(zeros);
    free(bomb);
    /* not what it says, an unknown coding */
    assert_int_equal(sc_webhook_decode("gzip", json, strlen(json), 1024, &out, why, sizeof why), -1);
    assert_string_equal(why, "the body is not valid gzip data");
    assert_int_equal(sc_webhook_decode("gzip, br", json, strlen(json), 1024, &out, why, sizeof why), 2);
    assert_string_equal(why, "content encoding br is not supported");
    assert_false(sc_webhook_encoding_ok("gzip, zstd", bad, sizeof bad));
    assert_string_equal(bad, "zstd");
    assert_true(sc_webhook_encoding_ok("x-gzip,deflate , identity", bad, sizeof bad));
}

/* Two gzip members one after the other are one body (RFC 1952 2.2), the limit on their sum. */
static void gzip_members(void **state)
{
    (void)state;
    const char *a = "{\"employee_id\":", *b = "\"E-7\"}";
    unsigned char packed[4096];
    char why[256];
    struct sc_buf out = {0};
    size_t n = squeeze(a, strlen(a), 31, packed, sizeof packed);
    n += squeeze(b, strlen(b), 31, packed + n, sizeof packed - n);
    assert_int_equal(sc_webhook_decode("gzip", (char *)packed, n, 1024, &out, why, sizeof why), 0);
    assert_int_equal(out.len, 21);
    assert_memory_equal(out.data, "{\"employee_id\":\"E-7\"}", 21);
    sc_buf_free(&out);
    /* each member fits, together they do not: 413 by the total */
    assert_int_equal(sc_webhook_decode("gzip", (char *)packed, n, 20, &out, why, sizeof why), 1);
    assert_string_equal(why, "body over the 20-byte limit once decoded (gzip)");
    assert_null(out.data);
    /* a second member cut short, or bytes after the first that are not gzip, are refused */
    assert_int_equal(sc_webhook_decode("gzip", (char *)packed, n - 4, 1024, &out, why, sizeof why), -1);
    assert_string_equal(why, "the body is not valid gzip data");
    size_t first = squeeze(a, strlen(a), 31, packed, sizeof packed);
    memcpy(packed + first, "garbage!", 8);
    assert_int_equal(sc_webhook_decode("gzip", (char *)packed, first + 8, 1024, &out, why, sizeof why), -1);
    assert_string_equal(why, "the body is not valid gzip data");
    assert_null(out.data);
}

/* Each parse error in the sender's terms, never the JSON library's. */
static void json_errors(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"status\":\"active\",\"status\":\"terminated\"}",
         "malformed JSON at line 1, column 27: the key \"status\" appears more than once in one object"},
        {"{\"a\":\"\\u0000\"}",
         "malformed JSON at line 1, column 13: a string holds \\u0000 (a NUL character), which is not accepted"},
        {"{\"employee_id\":", "malformed JSON at line 1, column 15: the body ends before the JSON is complete"},
        {"[1,2", "malformed JSON at line 1, column 4: the body ends before the JSON is complete"},
        {"{\"a\" 1}", "malformed JSON at line 1, column 6: expected ':' after a key, found '1'"},
        {"{\"a\":1,}", "malformed JSON at line 1, column 8: expected a quoted key or '}', found '}'"},
        {"{\"a\":tru}", "malformed JSON at line 1, column 8: unexpected 'tru'"},
        {"{\"a\":1} x", "malformed JSON at line 1, column 9: more text after the JSON value: 'x'"},
        {"\"str\"", "malformed JSON at line 1, column 5: the body must be a JSON object or array, not \"str\""},
        {"", "malformed JSON at line 1, column 0: the body is empty: send a JSON object"},
        {"{\"a\":\"x\ny\"}",
         "malformed JSON at line 1, column 7: a line break inside a string: write it as \\n"},
        {"{\"a\":1 2}", "malformed JSON at line 1, column 8: expected ',' or '}', found '2'"},
        {"[1 2]", "malformed JSON at line 1, column 4: expected ',' or ']', found '2'"},
        {"{\"a\":\"\xff\"}", "malformed JSON at line 1, column 6: the body is not valid UTF-8"},
        {"{\"a\":99999999999999999999999}", "malformed JSON at line 1, column 28: a number too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_error_t e;
        json_t *v = json_loadb(cases[i][0], strlen(cases[i][0]), JSON_REJECT_DUPLICATES, &e);
        assert_null(v);
        char msg[300];
        sc_webhook_json_error(&e, msg, sizeof msg);
        assert_string_equal(msg, cases[i][1]);
        assert_null(strstr(msg, "JSON_"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_webhooks),
        cmocka_unit_test(hub_signature),
        cmocka_unit_test(content_types),
        cmocka_unit_test(secret_forms),
        cmocka_unit_test(encodings),
        cmocka_unit_test(gzip_members),
        cmocka_unit_test(json_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
