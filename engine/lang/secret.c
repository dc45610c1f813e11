#include "lang/secret.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static char nonce[17];
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void nonce_make(void)
{
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) { /* never on Linux >= 3.17 */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned long long x = (unsigned long long)ts.tv_nsec * 6364136223846793005ull ^
                               (unsigned long long)getpid() << 32 ^ (unsigned long long)ts.tv_sec;
        memcpy(r, &x, sizeof r);
    }
    for (int i = 0; i < 8; i++)
        snprintf(nonce + 2 * i, 3, "%02x", r[i]);
}

bool sc_secret_name_ok(const char *name, size_t n)
{
    if (n == 0 || n > SC_SECRET_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-'))
            return false;
    return true;
}

void sc_secret_marker(struct sc_buf *b, const char *name, size_t n)
{
    pthread_once(&nonce_once, nonce_make);
    sc_buf_puts(b, "[[secret:");
    sc_buf_add(b, name, n);
    sc_buf_printf(b, ":%s]]", nonce);
}

/* A marker at s[i]: its end, or 0. */
static size_t marker_at(const char *s, size_t len, size_t i, char *name)
{
    pthread_once(&nonce_once, nonce_make);
    if (len - i < 9 || memcmp(s + i, "[[secret:", 9))
        return 0;
    size_t p = i + 9, q = p;
    while (q < len && s[q] != ':' && q - p <= SC_SECRET_NAME_MAX)
        q++;
    if (q >= len || s[q] != ':' || !sc_secret_name_ok(s + p, q - p))
        return 0;
    if (len - q - 1 < 18 || memcmp(s + q + 1, nonce, 16) || memcmp(s + q + 17, "]]", 2))
        return 0;
    memcpy(name, s + p, q - p);
    name[q - p] = '\0';
    return q + 19;
}

static size_t spaces(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* {{ secret('NAME') }} at s[i] (s[i..] starts with "{{"): its end, 0 when it is not a
 * reference at all, or -1 (as SIZE_MAX) when it is a malformed one. */
static size_t literal_at(const char *s, size_t len, size_t i, char *name)
{
    size_t p = spaces(s, len, i + 2);
    if (len - p < 7 || memcmp(s + p, "secret(", 7))
        return 0;
    p = spaces(s, len, p + 7);
    if (p >= len || (s[p] != '\'' && s[p] != '"'))
        return (size_t)-1;
    char quote = s[p++];
    size_t q = p;
    while (q < len && s[q] != quote)
        q++;
    if (q >= len || !sc_secret_name_ok(s + p, q - p))
        return (size_t)-1;
    memcpy(name, s + p, q - p);
    name[q - p] = '\0';
    size_t r = spaces(s, len, q + 1);
    if (r >= len || s[r] != ')')
        return (size_t)-1;
    r = spaces(s, len, r + 1);
    if (len - r < 2 || memcmp(s + r, "}}", 2))
        return (size_t)-1;
    return r + 2;
}

bool sc_secret_find(const char *s, size_t len, bool literal, size_t *start, size_t *end,
                    char name[SC_SECRET_NAME_MAX + 1], long *bad)
{
    for (size_t i = 0; i + 1 < len; i++) {
        size_t e = 0;
        if (s[i] == '[' && s[i + 1] == '[')
            e = marker_at(s, len, i, name);
        else if (literal && s[i] == '{' && s[i + 1] == '{')
            e = literal_at(s, len, i, name);
        if (e == (size_t)-1) {
            if (bad)
                *bad = (long)i;
            return false;
        }
        if (e) {
            *start = i;
            *end = e;
            return true;
        }
    }
    return false;
}
