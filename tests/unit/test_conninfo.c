#include "test.h"

#include "conninfo.h"

#include <stdlib.h>

/* mask TEXT: the text as shown. */
static char *mask(const char *t) { return sc_conninfo_mask(t, strlen(t), NULL, NULL); }

#define SHOWN(in, out)                  \
    do {                                \
        char *m_ = mask(in);            \
        assert_string_equal(m_, out);   \
        free(m_);                       \
    } while (0)

static void passwords_masked_in_every_spelling(void **state)
{
    (void)state;
    SHOWN("postgresql://u:hunter2@db/x", "postgresql://u:***@db/x");
    SHOWN("postgres://u:p@ss@db:5432,db2/x?sslmode=require", "postgres://u:***@db:5432,db2/x?sslmode=require");
    SHOWN("postgresql://u@db/x?sslmode=require&password=hunter2&application_name=a",
          "postgresql://u@db/x?sslmode=require&password=***&application_name=a");
    SHOWN("postgresql://u@db/x?%70assword=hunter2", "postgresql://u@db/x?%70assword=***");
    SHOWN("host=db password = 'hunter 2' dbname=x", "host=db password = *** dbname=x");
    SHOWN("store: \"host=db sslpassword=k3y\"", "store: \"host=db sslpassword=***\"");
    SHOWN("store postgresql://u:pw@h/x: cannot connect: FATAL", "store postgresql://u:***@h/x: cannot connect: FATAL");
}

static void references_and_prose_stay(void **state)
{
    (void)state;
    SHOWN("postgresql://u@db/x?password=env:PGPW", "postgresql://u@db/x?password=env:PGPW");
    SHOWN("postgresql://u@db/x?password=file:/etc/pw&x=1", "postgresql://u@db/x?password=file:/etc/pw&x=1");
    SHOWN("postgresql://u@db/x?password=env%3APGPW", "postgresql://u@db/x?password=env%3APGPW");
    SHOWN("the store's password= must be a secret reference", "the store's password= must be a secret reference");
    SHOWN("http://db.example:5432/x and mypassword=1", "http://db.example:5432/x and mypassword=1");
    SHOWN("postgresql://u:@db/x", "postgresql://u:@db/x");
    SHOWN("path: \"/login?password={{ secret('pw') }}\"", "path: \"/login?password={{ secret('pw') }}\"");
}

static void kinds_found(void **state)
{
    (void)state;
    assert_int_equal(sc_conninfo_password("postgresql://u@db/x?password=env:P"), SC_CONNINFO_PW_NONE);
    assert_int_equal(sc_conninfo_password("var/org/scenarist.db"), SC_CONNINFO_PW_NONE);
    assert_int_equal(sc_conninfo_password(NULL), SC_CONNINFO_PW_NONE);
    assert_int_equal(sc_conninfo_password("postgresql://u:p@db/x"), SC_CONNINFO_PW_USERINFO);
    assert_int_equal(sc_conninfo_password("postgresql://u@db/x?password=p"), SC_CONNINFO_PW_LITERAL);
    assert_int_equal(sc_conninfo_password("postgresql://u@db/x?password=p&a=postgresql://v:q@h"),
                     SC_CONNINFO_PW_USERINFO);
}

static void caret_moves_with_the_mask(void **state)
{
    (void)state;
    const char *t = "a: \"postgresql://u:hunter2@db/x\" x";
    int col = 34, span = 1; /* the x after the quote */
    char *m = sc_conninfo_mask(t, strlen(t), &col, &span);
    assert_string_equal(m, "a: \"postgresql://u:***@db/x\" x");
    assert_int_equal(col, 30);
    assert_int_equal(span, 1);
    free(m);
    col = 22; /* inside the password: at the mask, over it */
    span = 3;
    m = sc_conninfo_mask(t, strlen(t), &col, &span);
    assert_int_equal(col, 20);
    assert_int_equal(span, 3);
    free(m);
}

static void masked_in_place_within_the_buffer(void **state)
{
    (void)state;
    char b[64] = "x postgresql://u:p@h/d?password=q y";
    sc_conninfo_mask_buf(b, sizeof b);
    assert_string_equal(b, "x postgresql://u:***@h/d?password=*** y");
    char s[12] = "password=ab";
    sc_conninfo_mask_buf(s, sizeof s);
    assert_string_equal(s, "password=**");
}

static void the_password_parameter_taken_out(void **state)
{
    (void)state;
    char *v, *rest;
    assert_int_equal(sc_conninfo_take("postgresql://u@h/d?a=1&%70assword=env%3AX&b=2", "password",
                                      &v, &rest), 0);
    assert_string_equal(v, "env:X");
    assert_string_equal(rest, "postgresql://u@h/d?a=1&b=2");
    free(v);
    free(rest);
    assert_int_equal(sc_conninfo_take("postgresql://u@h/d?password=env:X", "password", &v, &rest), 0);
    assert_string_equal(v, "env:X");
    assert_string_equal(rest, "postgresql://u@h/d");
    free(v);
    free(rest);
    assert_int_equal(sc_conninfo_take("postgresql://u@h/d", "password", &v, &rest), 0);
    assert_null(v);
    assert_string_equal(rest, "postgresql://u@h/d");
    free(rest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passwords_masked_in_every_spelling),
        cmocka_unit_test(references_and_prose_stay),
        cmocka_unit_test(kinds_found),
        cmocka_unit_test(caret_moves_with_the_mask),
        cmocka_unit_test(masked_in_place_within_the_buffer),
        cmocka_unit_test(the_password_parameter_taken_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
