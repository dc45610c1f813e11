#include "lang/diag.h"
#include "conninfo.h"
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SRC_LINE_SHOWN 200 /* longer lines are cut, so a minified file cannot flood a terminal */

void sc_diags_init(struct sc_diags *d) { memset(d, 0, sizeof *d); }

void sc_diags_free(struct sc_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
        free(d->v[i].src_line);
    }
    free(d->v);
    for (size_t i = 0; i < d->nsecrets; i++)
        free(d->secrets[i].file);
    free(d->secrets);
    memset(d, 0, sizeof *d);
}

/* A printable copy of one source line: invalid bytes and controls become '?'. */
static char *copy_line(const struct sc_src *src, int line)
{
    if (!src || !src->text || line < 1)
        return NULL;
    long off = sc_src_offset(src, line, 1);
    if (off < 0)
        return NULL;
    const unsigned char *p = (const unsigned char *)src->text + off;
    size_t left = src->len - (size_t)off;
    struct sc_buf b = {0};
    int chars = 0;
    while (left > 0 && *p != '\n' && *p != '\r') {
        if (chars == SRC_LINE_SHOWN) {
            sc_buf_puts(&b, "...");
            break;
        }
        size_t k = sc_utf8_seq(p, left);
        if (k == 0 || (k == 1 && *p < 0x20 && *p != '\t') || (k == 1 && *p == 0x7F)) {
            sc_buf_add(&b, "?", 1);
            k = 1;
        } else {
            sc_buf_add(&b, (const char *)p, k);
        }
        p += k;
        left -= k;
        chars++;
    }
    return sc_buf_take(&b);
}

/* A password written in a database address (the store field's, pasted by mistake) never
 * reaches the terminal: masked in the message here, in the quoted line when it is shown. */
static void mask(struct sc_diag *g)
{
    char *m = sc_conninfo_mask(g->msg, strlen(g->msg), NULL, NULL);
    free(g->msg);
    g->msg = m;
}

void sc_diag_vadd(struct sc_diags *d, enum sc_sev sev, const struct sc_src *src,
                  int line, int col, int len, const char *fmt, va_list ap)
{
    if (sev == SC_SEV_ERROR)
        d->errors++;
    else
        d->warnings++;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct sc_diag *v = sc_realloc(d->v, cap * sizeof *v);
        if (!v)
            return; /* counted above, so the exit status still says "invalid" */
        d->v = v;
        d->cap = cap;
    }
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    char *msg = n >= 0 ? sc_malloc((size_t)n + 1) : NULL;
    if (!msg)
        return;
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    struct sc_diag *g = &d->v[d->n];
    g->sev = sev;
    g->file = sc_strdup(src && src->name ? src->name : "-");
    g->line = line;
    g->col = col < 1 ? 1 : col;
    g->len = len;
    g->msg = msg;
    g->src_line = copy_line(src, line);
    g->seq = d->n;
    mask(g);
    if (!g->file || !g->msg) {
        free(g->file);
        free(g->msg);
        free(g->src_line);
        return;
    }
    d->n++;
}

/* Byte offset of the 1-based character column col in line (its end when shorter). */
static size_t col_offset(const char *line, int col)
{
    const char *p = line;
    for (int c = 1; c < col && *p; c++) {
        p++;
        while ((*p & 0xC0) == 0x80)
            p++;
    }
    return (size_t)(p - line);
}

void sc_diag_mask_last(struct sc_diags *d)
{
    const struct sc_diag *g = d->n ? &d->v[d->n - 1] : NULL;
    if (!g || g->line < 1)
        return;
    struct sc_diag_secret *v = sc_realloc(d->secrets, (d->nsecrets + 1) * sizeof *v);
    char *file = v ? sc_strdup(g->file) : NULL;
    if (v)
        d->secrets = v;
    if (!file) { /* rather no line than the secret */
        free(d->v[d->n - 1].src_line);
        d->v[d->n - 1].src_line = NULL;
        return;
    }
    v[d->nsecrets++] = (struct sc_diag_secret){file, g->line, g->col, g->len > 0 ? g->len : 1};
}

void sc_diag_add(struct sc_diags *d, enum sc_sev sev, const struct sc_src *src,
                 int line, int col, int len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sc_diag_vadd(d, sev, src, line, col, len, fmt, ap);
    va_end(ap);
}

static int diag_cmp(const void *a, const void *b)
{
    const struct sc_diag *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Moves a 0-based character position p past the span [a, a + n) become "***" (inside: to
 * its start, or its end for an end). */
static int past(int p, int a, int n, bool end)
{
    return p >= a + n ? p + 3 - n : p > a ? a + (end ? 3 : 0) : p;
}

/* g's quoted line as shown: the secrets written on it (sc_diag_mask_last) as "***", right
 * to left so that the columns left of each stay, then any password in a database address
 * (conninfo.h); *col and *len (the caret) moved along. New string, or NULL when out of
 * memory. */
static char *shown_line(const struct sc_diags *d, const struct sc_diag *g, int *col, int *len)
{
    char *line = sc_strdup(g->src_line);
    int c = g->col - 1, e = c + (g->len > 0 ? g->len : 1);
    for (int right = INT_MAX; line;) {
        const struct sc_diag_secret *k = NULL;
        for (size_t i = 0; i < d->nsecrets; i++) {
            const struct sc_diag_secret *x = &d->secrets[i];
            if (x->line == g->line && x->col < right && (!k || x->col > k->col) &&
                !strcmp(x->file, g->file))
                k = x;
        }
        if (!k)
            break;
        right = k->col;
        size_t a = col_offset(line, k->col), b = a + col_offset(line + a, k->len + 1);
        char *m = sc_asprintf("%.*s***%s", (int)a, line, line + b);
        free(line);
        line = m;
        c = past(c, k->col - 1, k->len, false);
        e = past(e, k->col - 1, k->len, true);
    }
    *col = c + 1;
    *len = g->len > 0 || e - c > 1 ? e - c : 0;
    char *m = line ? sc_conninfo_mask_source(line, strlen(line), col, len) : NULL; /* passwords */
    free(line);
    return m;
}

static void print_one(const struct sc_diags *d, const struct sc_diag *g, FILE *out)
{
    const char *sev = g->sev == SC_SEV_ERROR ? "error" : "warning";
    if (g->line < 1) {
        fprintf(out, "%s: %s: %s\n", g->file, sev, g->msg);
        return;
    }
    fprintf(out, "%s:%d:%d: %s: %s\n", g->file, g->line, g->col, sev, g->msg);
    int col, len;
    char *line = g->src_line ? shown_line(d, g, &col, &len) : NULL;
    if (!line)
        return;
    fprintf(out, "%5d | %s\n      | ", g->line, line);
    /* Walk the line's characters up to the column, keeping tabs so the caret lines up. */
    const char *p = line;
    for (int c = 1; c < col && *p; c++) {
        fputc(*p == '\t' ? '\t' : ' ', out);
        p++;
        while ((*p & 0xC0) == 0x80)
            p++;
    }
    fputc('^', out);
    for (int i = 1; i < len; i++)
        fputc('~', out);
    fputc('\n', out);
    free(line);
}

void sc_diags_print(struct sc_diags *d, FILE *out)
{
    if (d->n > 1)
        qsort(d->v, d->n, sizeof *d->v, diag_cmp);
    for (size_t i = 0; i < d->n; i++)
        print_one(d, &d->v[i], out);
}

json_t *sc_diags_json(struct sc_diags *d)
{
    if (d->n > 1)
        qsort(d->v, d->n, sizeof *d->v, diag_cmp);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < d->n; i++) {
        const struct sc_diag *g = &d->v[i];
        json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:s}", "file", g->file, "line", g->line,
                              "column", g->line < 1 ? 0 : g->col, "severity",
                              g->sev == SC_SEV_ERROR ? "error" : "warning", "message", g->msg);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

#define SUGGEST_MAX 64

/* Optimal string alignment distance, case-insensitive. */
static int edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > SUGGEST_MAX || m > SUGGEST_MAX)
        return 1 << 20;
    int d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[n][m];
}

const char *sc_suggest(const char *word, const char *const *cands, size_t n)
{
    size_t len = strlen(word);
    int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    const char *best = NULL;
    int best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i] || strcmp(cands[i], word) == 0)
            continue;
        int dist = edit_distance(word, cands[i]);
        if (dist < best_d) {
            best_d = dist;
            best = cands[i];
        }
    }
    /* "mapper" for map, "lowercase" for lower: one name begins with the other */
    size_t best_n = 0;
    for (size_t i = 0; i < n && !best; i++) {
        size_t cn = cands[i] ? strlen(cands[i]) : 0;
        size_t shorter = cn < len ? cn : len;
        if (shorter >= 3 && strncmp(word, cands[i], shorter) == 0 && cn != len && shorter > best_n)
            best_n = shorter;
    }
    for (size_t i = 0; i < n && !best && best_n; i++)
        if (cands[i] && strlen(cands[i]) >= best_n && strncmp(word, cands[i], best_n) == 0 &&
            (strlen(cands[i]) == best_n || len == best_n))
            best = cands[i];
    return best;
}

long sc_src_offset(const struct sc_src *src, int line, int col)
{
    size_t i = 0;
    for (int l = 1; l < line; l++) {
        const char *nl = memchr(src->text + i, '\n', src->len - i);
        if (!nl)
            return -1;
        i = (size_t)(nl - src->text) + 1;
    }
    for (int c = 1; c < col && i < src->len && src->text[i] != '\n'; c++) {
        i++;
        while (i < src->len && ((unsigned char)src->text[i] & 0xC0) == 0x80)
            i++;
    }
    return (long)i;
}

void sc_src_linecol(const struct sc_src *src, size_t off, int *line, int *col)
{
    int l = 1;
    size_t start = 0;
    for (size_t i = 0; i < off && i < src->len; i++) {
        if (src->text[i] == '\n') {
            l++;
            start = i + 1;
        }
    }
    *line = l;
    *col = 1 + sc_utf8_chars(src->text + start, off > start ? off - start : 0);
}
