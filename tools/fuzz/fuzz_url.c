/* Outbound URLs: any path joined to a base URL gives a target in normal form (no dot
 * segment, no empty segment, escapes upper-case, normalising it again changes nothing)
 * that stays under the base unless flagged as climbing; any text encoded as a path value
 * is one segment (only unreserved characters and %XX). A request path's flaw
 * (sc_url_path_flaw) lies inside it. */
#include "fuzz.h"

#include "model/url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void check_normal(const char *p)
{
    if (p[0] != '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
        abort();
    size_t n = strlen(p);
    if ((n >= 2 && !strcmp(p + n - 2, "/.")) || (n >= 3 && !strcmp(p + n - 3, "/..")))
        abort();
    for (const char *s = p; *s; s++)
        if (*s == '%' && (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]) ||
                          islower((unsigned char)s[1]) || islower((unsigned char)s[2])))
            abort();
    struct sc_buf again = {0};
    unsigned flags = 0;
    sc_url_norm_path(p, n, &again, &flags);
    if (!again.oom && (again.len != n || memcmp(again.data, p, n)))
        abort(); /* the normal form is a fixed point */
    sc_buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct sc_url base, t;
    struct sc_url_flaw f;
    char err[512];
    size_t n = strlen(s); /* a request path's flaw lies inside it; none: no '%' at all */
    enum sc_url_flaw_kind k = sc_url_path_flaw(s, n, &f);
    if (f.off + f.len > n || (k != SC_URL_FLAW_NONE && !f.len) ||
        (k == SC_URL_FLAW_NONE && strchr(s, '%')))
        abort();
    if (sc_url_parse("http://127.0.0.1:8900/lms", &base, err, sizeof err) == 0) {
        if (sc_url_join(&base, s, NULL, &t, err, sizeof err) == 0) {
            check_normal(t.path);
            if (sc_url_path_flaw(t.path, strlen(t.path), &f) == SC_URL_FLAW_DOT)
                abort(); /* the normal form has no dot segment, as the listener reads one */
            if (!(t.flags & SC_URL_CLIMB) && strncmp(t.path, "/", 1))
                abort();
            if (!t.full || strncmp(t.full, "http://127.0.0.1:8900/", 22))
                abort(); /* a path never changes the origin */
            sc_url_free(&t);
        }
        sc_url_free(&base);
    }
    json_t *v = json_stringn(s, size);
    if (v) {
        struct sc_buf out = {0};
        sc_buf_puts(&out, "/e/");
        if (sc_url_path_value(&out, v, err, sizeof err) == SC_OK && !out.oom)
            for (size_t i = 3; i < out.len; i++) {
                unsigned char c = (unsigned char)out.data[i];
                if (!isalnum(c) && !strchr("-._~%", c))
                    abort(); /* one segment: nothing but unreserved characters and escapes */
            }
        sc_buf_free(&out);
        json_decref(v);
    }
    free(s);
    return 0;
}
