#include "test.h"

#include "conninfo.h"

#include <stdio.h>
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
    SHOWN("postgres://u:p@ss@db:5432,db2/x?sslmode=require", "postgres://u:***@db:5432,db2/x?sslmode=***"); /* libpq cannot parse it */
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
    SHOWN("postgresql://u@db/x?password=file:/etc/pw&application_name=1",
          "postgresql://u@db/x?password=file:/etc/pw&application_name=1");
    SHOWN("postgresql://u@db/x?password=env%3APGPW", "postgresql://u@db/x?password=env%3APGPW");
    SHOWN("the store's password must be a secret reference, password=env:NAME or password=file:PATH",
          "the store's password must be a secret reference, password=env:NAME or password=file:PATH");
    SHOWN("http://db.example:5432/x and postgresql://localhost:5432", "http://db.example:5432/x and postgresql://localhost:5432");
    SHOWN("store postgresql://h:5432: cannot connect: at \"h\", port 5432 failed\n\tIs the server running?",
          "store postgresql://h:5432: cannot connect: at \"h\", port 5432 failed\n\tIs the server running?");
    SHOWN("postgresql://u:@db/x", "postgresql://u:@db/x");
    SHOWN("path: \"/login?password={{ secret('pw') }}\"", "path: \"/login?password={{ secret('pw') }}\"");
}

/* The newcomer's spellings (issue 23): whitespace, YAML escapes and cut lines, encoded keys
 * and '=', passwords nested in other parameters. */
static void every_spelling_of_issue_23(void **state)
{
    (void)state;
    SHOWN("store: \"postgresql://postgres:Hunter SECRETX@localhost/sc1\"", "store: \"postgresql://postgres:***@localhost/sc1\"");
    SHOWN("store: \"postgresql://postgres:Hunter\tSECRETX@localhost/sc1\"", "store: \"postgresql://postgres:***@localhost/sc1\"");
    SHOWN("store postgresql://postgres:Hunter SECRETX@localhost/sc1: cannot connect: x",
          "store postgresql://postgres:***@localhost/sc1: cannot connect: x");
    SHOWN("store: \"postgresql:\\/\\/postgres:Hunter2Pw@localhost/sc1\"", "store: \"postgresql:\\/\\/postgres:***@localhost/sc1\"");
    SHOWN("store: \"postgresql://postgres:Hunter\\", "store: \"postgresql://postgres:***");
    SHOWN("store: \"postgresql://postgres:Hunter", "store: \"postgresql://postgres:***");
    SHOWN("store: \"postgresql://u@localhost/sc1?password=Hunter SECRETX\"", "store: \"postgresql://u@localhost/sc1?password=***\"");
    SHOWN("store: \"postgresql://u@localhost/sc1?password= HunterX\"", "store: \"postgresql://u@localhost/sc1?password=***\"");
    SHOWN("postgresql://u@h/sc1?password%3DHunter2Pw", "postgresql://u@h/sc1?password%3D***");
    SHOWN("postgresql://u@h/sc1?options=-c%20password=Hunter2Pw&sslmode=disable",
          "postgresql://u@h/sc1?options=***&sslmode=***"); /* libpq cannot parse it: all masked */
    SHOWN("postgresql://u@h/sc1?dbname=host%3D/tmp%20password%3DHunter2Pw", "postgresql://u@h/sc1?dbname=host%3D/tmp%20password%3D***");
    SHOWN("postgresql://u@h/host=/tmp%20password=Hunter2Pw", "postgresql://u@h/host=/tmp%20password=***");
    SHOWN("store: 'host=db password=hunter2' # x", "store: 'host=db password=***' # x");
}

static void kinds_of_issue_23(void **state)
{
    (void)state;
    assert_int_equal(sc_conninfo_password("postgresql://postgres:Hunter SECRETX@localhost/sc1"), SC_CONNINFO_PW_USERINFO);
    assert_int_equal(sc_conninfo_password("postgresql://postgres:Hunter\tSECRETX@localhost/sc1"), SC_CONNINFO_PW_USERINFO);
    assert_int_equal(sc_conninfo_password("postgresql://postgres:Hunter\nSECRETX@localhost/sc1"), SC_CONNINFO_PW_USERINFO);
    assert_int_equal(sc_conninfo_password("postgresql://u@localhost/sc1?password=%20HunterX"), SC_CONNINFO_PW_LITERAL);
    assert_int_equal(sc_conninfo_password("postgresql://u@localhost/sc1?password= HunterX"), SC_CONNINFO_PW_LITERAL);
    assert_int_equal(sc_conninfo_password("postgresql://u@localhost/sc1?password=env:PG%20PW"), SC_CONNINFO_PW_LITERAL);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?password%3DHunter2Pw"), SC_CONNINFO_PW_LITERAL);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?options=-c%20password=Hunter2Pw"), SC_CONNINFO_PW_LITERAL);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?dbname=host%3D/tmp%20password%3DHunter2Pw"), SC_CONNINFO_PW_LITERAL);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/host=/tmp%20password=Hunter2Pw"), SC_CONNINFO_PW_LITERAL);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?dbname=postgresql://v:q@h2/x"), SC_CONNINFO_PW_USERINFO);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?password="), SC_CONNINFO_PW_EMPTY);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?password=file:"), SC_CONNINFO_PW_EMPTY);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?password=env:"), SC_CONNINFO_PW_EMPTY);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?host=/tmp/s&password=env:PGPW"), SC_CONNINFO_PW_NONE);
    assert_int_equal(sc_conninfo_password("postgresql://u@h/sc1?password=file:/etc/pw"), SC_CONNINFO_PW_NONE);
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
    assert_string_equal(b, "x postgresql://u:***@h/d?password=***"); /* to the end: spaces too */
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

/* Only a well-formed reference is left visible: env: and a variable name, file: and a
 * path with no whitespace nor control character (decoded); anything else is masked. */
static void badly_written_references_masked(void **state)
{
    (void)state;
    static const char *const bad[] = {"ENV:hunter2", "Env:hunter2", "FILE:hunter2", "env: hunter2",
                                      "env:hunter2 x", "env:%20hunter2", "env:hunter2%09",
                                      "file:hunter2%0a", "env:hunter2%00x", "env:9x", "file: x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char in[128], *m;
        snprintf(in, sizeof in, "store: \"postgresql://u@h/d?password=%s\"", bad[i]);
        m = sc_conninfo_mask_source(in, strlen(in), NULL, NULL);
        assert_string_equal(m, "store: \"postgresql://u@h/d?password=***\"");
        free(m);
        snprintf(in, sizeof in, "postgresql://u@h/d?password=%s", bad[i]);
        assert_int_equal(sc_conninfo_password(in), SC_CONNINFO_PW_LITERAL);
    }
    SHOWN("store: \"postgresql://u@h/d?password=env:PG_PW1\"", "store: \"postgresql://u@h/d?password=env:PG_PW1\"");
    char *p = sc_conninfo_mask("name it: postgresql://U@H/DB?password=env:NAME (or file:PATH)", 61, NULL, NULL);
    assert_string_equal(p, "name it: postgresql://U@H/DB?password=env:NAME (or file:PATH)"); /* prose */
    free(p);
    SHOWN("store: \"postgresql://u@h/d?password=file:/run/pw%2Dx\"", "store: \"postgresql://u@h/d?password=file:/run/pw%2Dx\"");
    assert_int_equal(sc_conninfo_password("postgresql://u@h/d?password=env:PG_PW1"), SC_CONNINFO_PW_NONE);
}

/* An address libpq cannot parse: every query value masked, its keys unknown. */
static void unparsable_addresses_masked(void **state)
{
    (void)state;
    assert_true(sc_conninfo_unreadable("postgresql://u@127.0.0.1:1/db?%2570assword=hunter2"));
    assert_true(sc_conninfo_unreadable("postgresql://u@127.0.0.1:1/db?pass%00word=hunter2"));
    assert_false(sc_conninfo_unreadable("postgresql://u@127.0.0.1:1/db?host=u:hunter2@h"));
    assert_int_equal(sc_conninfo_password("postgresql://u@127.0.0.1:1/db?host=u:hunter2@h"),
                     SC_CONNINFO_PW_USERINFO); /* parsed, but a userinfo in the host */
    assert_false(sc_conninfo_unreadable("postgresql://u@127.0.0.1:1/db?password=env:X"));
    assert_false(sc_conninfo_unreadable("POSTGRESQL://u@127.0.0.1:1/db?password=env:X"));
    assert_false(sc_conninfo_unreadable("var/x.db"));
    char *m = sc_conninfo_mask_query("postgresql://u@127.0.0.1:1/db?%2570assword=hunter2&sslmode=x");
    assert_string_equal(m, "postgresql://u@127.0.0.1:1/db?%2570assword=***&sslmode=***");
    free(m);
    SHOWN("store: \"postgresql://u@127.0.0.1:1/db?%2570assword=hunter2\"",
          "store: \"postgresql://u@127.0.0.1:1/db?%2570assword=***\"");
    SHOWN("store: \"postgresql://u@127.0.0.1:1/db?pass%00word=hunter2&a=b\"",
          "store: \"postgresql://u@127.0.0.1:1/db?pass%00word=***&a=***\"");
    SHOWN("store: \"Postgres://u@127.0.0.1:1/db?host=u:hunter2@h\"",
          "store: \"Postgres://u@127.0.0.1:1/db?host=***\"");
}

/* The scheme without case (RFC 3986 3.1); any other scheme is foreign, never a file. */
static void schemes_told_apart(void **state)
{
    (void)state;
    static const char *const pg[] = {"postgresql://h/d", "POSTGRESQL:///d?host=/tmp",
                                     "Postgresql://h/d", "POSTGRES://h/d", "postgres://h"};
    for (size_t i = 0; i < sizeof pg / sizeof *pg; i++) {
        assert_true(sc_conninfo_is_pg(pg[i]));
        assert_false(sc_conninfo_foreign(pg[i]));
    }
    static const char *const other[] = {"mysql://h/d", "http://h/d", "sqlite+x.y://a"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        assert_false(sc_conninfo_is_pg(other[i]));
        assert_true(sc_conninfo_foreign(other[i]));
    }
    assert_false(sc_conninfo_is_pg("st/postgresql.db"));
    assert_false(sc_conninfo_foreign("st/x://y"));
    assert_false(sc_conninfo_foreign("/var/x.db"));
    char *v, *rest;
    assert_int_equal(sc_conninfo_take("POSTGRESQL://u@h/d?password=env:X", "password", &v, &rest), 0);
    assert_string_equal(rest, "postgresql://u@h/d");
    free(v);
    free(rest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passwords_masked_in_every_spelling),
        cmocka_unit_test(references_and_prose_stay),
        cmocka_unit_test(kinds_found),
        cmocka_unit_test(every_spelling_of_issue_23),
        cmocka_unit_test(kinds_of_issue_23),
        cmocka_unit_test(caret_moves_with_the_mask),
        cmocka_unit_test(masked_in_place_within_the_buffer),
        cmocka_unit_test(the_password_parameter_taken_out),
        cmocka_unit_test(badly_written_references_masked),
        cmocka_unit_test(unparsable_addresses_masked),
        cmocka_unit_test(schemes_told_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
