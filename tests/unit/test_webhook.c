#include "test.h"

#include "../../engine/webhook.h"

#include <stdio.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_webhooks),
        cmocka_unit_test(hub_signature),
        cmocka_unit_test(content_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
