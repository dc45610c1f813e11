/* The reconcile engine (run/recon.c) through its source seam: a source that fails
 * mid-list hands its status through, a confidential run names a bad record by position
 * only, duplicates on the streamed side are found as on the indexed one, and integer and
 * text keys are one key. Exact values. */
#include "test.h"

#include "run/recon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A source of the array's records, failing with status after fail_at of them (0: never). */
struct failing {
    struct sc_recon_source src;
    struct sc_recon_items items;
    size_t fail_at, n;
    enum sc_status status;
};

static int failing_next(struct sc_recon_source *src, const json_t **rec, enum sc_status *status,
                        char *err, size_t errlen)
{
    struct failing *f = (struct failing *)src;
    if (f->fail_at && f->n++ == f->fail_at) {
        *status = f->status;
        snprintf(err, errlen, "paginate: page 3: connection refused");
        return -1;
    }
    return f->items.src.next(&f->items.src, rec, status, err, errlen);
}

static json_t *run(json_t *left, json_t *right, bool index_right, bool confidential,
                   enum sc_status *st, struct sc_recon_counts *c, char *err, size_t errlen,
                   size_t fail_at)
{
    struct sc_rules_field fields[] = {{.name = "email", .left = "email", .rule = "ci"}};
    struct sc_recon_spec spec = {.fields = fields, .nfields = 1, .left_key = "id",
                                 .right_key = "id", .index_right = index_right,
                                 .confidential = confidential};
    struct failing l = {.src = {.next = failing_next}}, r = {.src = {.next = failing_next}};
    sc_recon_items_init(&l.items, left);
    sc_recon_items_init(&r.items, right);
    r.fail_at = fail_at;
    r.status = SC_ERR_CONNECTION;
    json_t *drifts = NULL;
    *st = sc_recon_run(&spec, &l.src, &r.src, &drifts, c, err, errlen);
    json_decref(left);
    json_decref(right);
    return drifts;
}

static void a_failing_source_fails_the_run_with_its_status(void **state)
{
    (void)state;
    enum sc_status st;
    struct sc_recon_counts c;
    char err[256];
    json_t *d = run(json_pack("[{s:s}]", "id", "a"), json_pack("[{s:s}, {s:s}, {s:s}]", "id", "a",
                                                             "id", "b", "id", "c"),
                    false, false, &st, &c, err, sizeof err, 2);
    assert_null(d);
    assert_int_equal(st, SC_ERR_CONNECTION);
    assert_string_equal(err, "paginate: page 3: connection refused");
}

static void a_confidential_run_names_the_record_by_position_only(void **state)
{
    (void)state;
    enum sc_status st;
    struct sc_recon_counts c;
    char err[256];
    json_t *d = run(json_pack("[{s:s}, {s:s}]", "id", "a", "email", "secret@example.com"),
                    json_pack("[]"), false, true, &st, &c, err, sizeof err, 0);
    assert_null(d);
    assert_int_equal(st, SC_ERR_DATA);
    assert_string_equal(err, "left record 2 has no key at id (absent)");
}

static void streamed_duplicates_and_integer_keys(void **state)
{
    (void)state;
    enum sc_status st;
    struct sc_recon_counts c;
    char err[256];
    /* the right side indexed: the left one streamed, with "7" twice */
    json_t *d = run(json_pack("[{s:s, s:s}, {s:s, s:s}, {s:i, s:s}]", "id", "7", "email", "a@x",
                              "id", "7", "email", "b@x", "id", 8, "email", "C@X"),
                    json_pack("[{s:i, s:s}, {s:s, s:s}]", "id", 7, "email", "a@x", "id", "8",
                              "email", "c@x"),
                    true, false, &st, &c, err, sizeof err, 0);
    assert_int_equal(st, SC_OK);
    char *text = json_dumps(d, JSON_COMPACT);
    assert_string_equal(text, "[{\"kind\":\"duplicate\",\"key\":\"7\",\"side\":\"left\",\"count\":2}]");
    free(text);
    assert_true(c.left == 3 && c.right == 2 && c.same == 1 && c.duplicate == 1 && c.changed == 0 &&
                c.only_left == 0 && c.only_right == 0);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_failing_source_fails_the_run_with_its_status),
        cmocka_unit_test(a_confidential_run_names_the_record_by_position_only),
        cmocka_unit_test(streamed_duplicates_and_integer_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
