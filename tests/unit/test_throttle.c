/* The throttle on exact timestamps: the backlog (1,000 requests queued at once
 * against a connection of 50 per 10 s) drains at one request every 200 ms, in arrival
 * order, each parked once, no 10 s window holding more than 50; a realtime request takes
 * the next slot ahead of the routine backlog; a request sent late pushes the next one
 * back; the concurrency cap; two connections throttled independently. The time is the
 * caller's (the engine passes its clock), so these are exact. */
#include "test.h"

#include "run/throttle.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>

#define T0 1772956740000LL /* 2026-03-08T07:59:00Z */

static struct sc_org_conn conn(const char *name, long n, int64_t per, int cap)
{
    return (struct sc_org_conn){.name = name, .rate_requests = n, .rate_per_ms = per,
                                .concurrency = cap};
}

static void key(char *b, size_t n, int i) { snprintf(b, n, "e-%04d:send:1", i); }

/* 1,000 requests asking at T0, each woken at the slot it was given (as the daemon parks
 * them): a discrete-event run over the wake times. */
static void backlog_drains_at_the_rate(void **state)
{
    (void)state;
    sc_throttle_reset();
    struct sc_org_conn c = conn("hris", 50, 10000, 0);
    assert_int_equal(sc_throttle_spacing_ms(&c), 200);
    enum { N = 1000 };
    int64_t wake[N], sent[N];
    int takes = 0;
    char k[64];
    for (int i = 0; i < N; i++) {
        int64_t w = -1;
        key(k, sizeof k, i);
        enum sc_throttle_verdict v = sc_throttle_take(NULL, "org", &c, k, false, T0, &w);
        takes++;
        if (v == SC_THROTTLE_GO) {
            sent[i] = T0, wake[i] = -1;
            sc_throttle_done(NULL, "org", &c);
        } else {
            assert_int_equal(v, SC_THROTTLE_WAIT);
            wake[i] = T0 + w, sent[i] = -1;
        }
    }
    for (int left = N - 1, guard = 0; left > 0 && guard < 10 * N; guard++) {
        int j = -1;
        for (int i = 0; i < N; i++)
            if (wake[i] >= 0 && (j < 0 || wake[i] < wake[j]))
                j = i;
        int64_t w = -1;
        key(k, sizeof k, j);
        enum sc_throttle_verdict v = sc_throttle_take(NULL, "org", &c, k, false, wake[j], &w);
        takes++;
        if (v == SC_THROTTLE_GO) {
            sent[j] = wake[j], wake[j] = -1, left--;
            sc_throttle_done(NULL, "org", &c);
        } else {
            wake[j] += w;
        }
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(sent[i], T0 + 200LL * i); /* arrival order, 200 ms apart */
    assert_int_equal(takes, 2 * N - 1);              /* each parked once, the first none */
    int most = 0;
    for (int i = 0; i < N; i++) { /* the windows [sent[i], sent[i] + 10 s) */
        int in = 0;
        for (int j = i; j < N && sent[j] < sent[i] + 10000; j++)
            in++;
        most = in > most ? in : most;
    }
    assert_int_equal(most, 50);
    assert_int_equal(sent[N - 1] - sent[0], 199800);
}

/* Ten routine requests promised 0, 200, ... 1800 ms; three are sent; a realtime request at
 * 500 ms is given 600, ahead of the routine one promised 600, which moves to the tail. */
static void realtime_goes_first(void **state)
{
    (void)state;
    sc_throttle_reset();
    struct sc_org_conn c = conn("hris", 50, 10000, 0);
    char k[64];
    int64_t w;
    for (int i = 0; i < 10; i++) {
        key(k, sizeof k, i);
        assert_int_equal(sc_throttle_take(NULL, "org", &c, k, false, T0, &w),
                         i ? SC_THROTTLE_WAIT : SC_THROTTLE_GO);
        assert_int_equal(w, 200 * i);
    }
    for (int i = 1; i < 3; i++) {
        key(k, sizeof k, i);
        assert_int_equal(sc_throttle_take(NULL, "org", &c, k, false, T0 + 200 * i, &w), SC_THROTTLE_GO);
    }
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "rt:send:1", true, T0 + 500, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 100);
    key(k, sizeof k, 3); /* both wake at 600: the realtime one goes */
    assert_int_equal(sc_throttle_take(NULL, "org", &c, k, false, T0 + 600, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 2000 - 600); /* displaced to the tail, after 1800 */
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "rt:send:1", true, T0 + 600, &w), SC_THROTTLE_GO);
    for (int i = 4; i < 10; i++) { /* the rest keep their slots */
        key(k, sizeof k, i);
        assert_int_equal(sc_throttle_take(NULL, "org", &c, k, false, T0 + 200 * i, &w), SC_THROTTLE_GO);
    }
    key(k, sizeof k, 3);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, k, false, T0 + 2000, &w), SC_THROTTLE_GO);
    /* a new routine request now queues after it */
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "new:send:1", false, T0 + 2000, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 200);
}

/* A request sent late (woken at 250 for its 200 slot) pushes the next one to 450: two
 * requests are never closer than the spacing, so no window can hold one too many. */
static void a_late_request_pushes_the_next(void **state)
{
    (void)state;
    sc_throttle_reset();
    struct sc_org_conn c = conn("hris", 50, 10000, 0);
    int64_t w;
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "a", false, T0, &w), SC_THROTTLE_GO);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "b", false, T0, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 200);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "c", false, T0, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 400);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "b", false, T0 + 250, &w), SC_THROTTLE_GO);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "c", false, T0 + 400, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 50);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "c", false, T0 + 450, &w), SC_THROTTLE_GO);
    /* 3 per 10 s: the spacing is rounded up, never down */
    struct sc_org_conn odd = conn("odd", 3, 10000, 0);
    assert_int_equal(sc_throttle_spacing_ms(&odd), 3334);
}

/* SC_THROTTLE_CLOCK: the time is read when the slot is decided. b's caller asked at 200
 * but got the connection's lock at 350 (another decision, a preemption): b goes at 350,
 * so c at 450 waits 100 ms; on the time read before asking c would go 250 ms after a. */
static void the_clock_is_read_at_the_decision(void **state)
{
    (void)state;
    sc_throttle_reset();
    sc_clock_use_test(T0);
    struct sc_org_conn c = conn("hris", 50, 10000, 0);
    int64_t w = -1;
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "a", false, SC_THROTTLE_CLOCK, &w), SC_THROTTLE_GO);
    sc_clock_advance_ms(350);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "b", false, SC_THROTTLE_CLOCK, &w), SC_THROTTLE_GO);
    sc_clock_advance_ms(100);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "c", false, SC_THROTTLE_CLOCK, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 100);
    sc_throttle_reset();
}

static void concurrency_cap(void **state)
{
    (void)state;
    sc_throttle_reset();
    struct sc_org_conn c = conn("lms", 0, 0, 2);
    int64_t w;
    assert_true(sc_throttle_applies(&c));
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "a", false, T0, &w), SC_THROTTLE_GO);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "b", false, T0, &w), SC_THROTTLE_GO);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "c", false, T0, &w), SC_THROTTLE_BUSY);
    sc_throttle_wait_free("org", &c, 10); /* still full: it returns after 10 ms */
    sc_throttle_done(NULL, "org", &c);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "c", false, T0, &w), SC_THROTTLE_GO);
    assert_int_equal(sc_throttle_take(NULL, "org", &c, "d", false, T0, &w), SC_THROTTLE_BUSY);
    struct sc_org_conn none = conn("ops", 0, 0, 0);
    assert_false(sc_throttle_applies(&none));
}

/* hris (50 per 10 s) and lms (10 per 1 s) at the same instants: each keeps its own line. */
static void connections_are_independent(void **state)
{
    (void)state;
    sc_throttle_reset();
    struct sc_org_conn h = conn("hris", 50, 10000, 0), l = conn("lms", 10, 1000, 0);
    int64_t w;
    assert_int_equal(sc_throttle_take(NULL, "org", &h, "h1", false, T0, &w), SC_THROTTLE_GO);
    assert_int_equal(sc_throttle_take(NULL, "org", &l, "l1", false, T0, &w), SC_THROTTLE_GO);
    assert_int_equal(sc_throttle_take(NULL, "org", &h, "h2", false, T0, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 200);
    assert_int_equal(sc_throttle_take(NULL, "org", &l, "l2", false, T0, &w), SC_THROTTLE_WAIT);
    assert_int_equal(w, 100);
    /* the same connection name in another org is another line */
    assert_int_equal(sc_throttle_take(NULL, "other", &h, "h2", false, T0, &w), SC_THROTTLE_GO);
    sc_throttle_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backlog_drains_at_the_rate),
        cmocka_unit_test(realtime_goes_first),
        cmocka_unit_test(a_late_request_pushes_the_next),
        cmocka_unit_test(the_clock_is_read_at_the_decision),
        cmocka_unit_test(concurrency_cap),
        cmocka_unit_test(connections_are_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
