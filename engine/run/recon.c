/* Reconciliation of two lists by key: one side indexed compactly, the other streamed
 * (recon.h). The index is an open-addressing table of entry numbers over entries whose
 * bytes (key, then each declared field as a tagged value) live in an arena of 4 MB
 * blocks that never move, so it costs a few dozen bytes per record plus its key and
 * compared fields, and no JSON object is kept per record. */
#include "run/recon.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- an arena of blocks that never move ---- */

#define BLOCK ((size_t)4 << 20)

struct block {
    struct block *next;
    size_t used, cap;
    char data[];
};

static char *arena_alloc(struct block **head, size_t n)
{
    struct block *b = *head;
    if (b && b->cap - b->used >= n) {
        char *p = b->data + b->used;
        b->used += n;
        return p;
    }
    size_t cap = n > BLOCK / 4 ? n : BLOCK;
    struct block *nb = malloc(sizeof *nb + cap);
    if (!nb)
        return NULL;
    nb->used = n;
    nb->cap = cap;
    if (cap == n && b) { /* a big record gets a block of its own; the current one goes on */
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        *head = nb;
    }
    return nb->data;
}

static void arena_free(struct block *b)
{
    while (b) {
        struct block *n = b->next;
        free(b);
        b = n;
    }
}

/* ---- a growable scratch buffer ---- */

struct buf {
    char *p;
    size_t n, cap;
};

static int buf_put(struct buf *b, const void *v, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
    return 0;
}

/* A value as tagged bytes: a(bsent) n(ull) t(rue) f(alse), i(nteger) and r(eal) with 8
 * bytes, s(tring) and j(son text of an object or array) with a 4-byte length. */
static int encode(struct buf *b, const json_t *v)
{
    char tag = !v ? 'a' : json_is_null(v) ? 'n' : json_is_true(v) ? 't' : json_is_false(v) ? 'f'
             : json_is_integer(v) ? 'i' : json_is_real(v) ? 'r' : json_is_string(v) ? 's' : 'j';
    if (buf_put(b, &tag, 1) != 0)
        return -1;
    if (tag == 'i') {
        json_int_t i = json_integer_value(v);
        return buf_put(b, &i, sizeof i);
    }
    if (tag == 'r') {
        double d = json_real_value(v);
        return buf_put(b, &d, sizeof d);
    }
    if (tag != 's' && tag != 'j')
        return 0;
    char *text = tag == 'j' ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *s = tag == 's' ? json_string_value(v) : text;
    size_t n = tag == 's' ? json_string_length(v) : s ? strlen(s) : 0;
    uint32_t len = (uint32_t)n;
    int rc = (tag == 'j' && !text) || n > UINT32_MAX || buf_put(b, &len, sizeof len) != 0 ||
             buf_put(b, s, n) != 0 ? -1 : 0;
    free(text);
    return rc;
}

/* The value at *p (new; NULL when absent), *p moved past it; *ok false when memory ran out. */
static json_t *decode(const char **p, bool *ok)
{
    char tag = *(*p)++;
    json_t *v = NULL;
    json_int_t i;
    double d;
    uint32_t len = 0;
    switch (tag) {
    case 'a':
        return NULL;
    case 'n':
        v = json_null();
        break;
    case 't':
        v = json_true();
        break;
    case 'f':
        v = json_false();
        break;
    case 'i':
        memcpy(&i, *p, sizeof i);
        *p += sizeof i;
        v = json_integer(i);
        break;
    case 'r':
        memcpy(&d, *p, sizeof d);
        *p += sizeof d;
        v = json_real(d);
        break;
    default:
        memcpy(&len, *p, sizeof len);
        *p += sizeof len;
        v = tag == 's' ? json_stringn_nocheck(*p, len)
                       : json_loadb(*p, len, JSON_DECODE_ANY, NULL);
        *p += len;
    }
    if (!v)
        *ok = false;
    return v;
}

/* ---- the index ---- */

/* One key: its bytes (4-byte length, the key, then the fields' values as one side holds
 * them) and how many records of each side carry it. */
struct ent {
    const char *data;
    uint32_t hash;
    uint32_t nidx, nstr; /* records of the indexed and of the streamed side */
    uint32_t drift;      /* 1 + its index in changed, 0: none */
};

struct index {
    struct ent *v;
    size_t n, cap;
    uint32_t *slot;      /* 1 + entry number, 0: free */
    size_t nslot;        /* a power of two, at least twice n */
    struct block *arena;
};

static uint32_t hash_of(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return (uint32_t)(h ^ (h >> 32));
}

static const char *ent_key(const struct ent *e, uint32_t *len)
{
    memcpy(len, e->data, sizeof *len);
    return e->data + sizeof *len;
}

/* The slot of key (its entry, or the free slot where it goes). */
static size_t find(const struct index *ix, const char *k, uint32_t n, uint32_t h)
{
    size_t mask = ix->nslot - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t s = ix->slot[i];
        if (!s)
            return i;
        const struct ent *e = &ix->v[s - 1];
        uint32_t len;
        const char *key = ent_key(e, &len);
        if (e->hash == h && len == n && !memcmp(key, k, n))
            return i;
    }
}

static int grow(struct index *ix)
{
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 1024;
        struct ent *v = realloc(ix->v, cap * sizeof *v);
        if (!v)
            return -1;
        ix->v = v;
        ix->cap = cap;
    }
    if ((ix->n + 1) * 2 <= ix->nslot)
        return 0;
    size_t nslot = ix->nslot ? ix->nslot * 2 : 2048;
    uint32_t *slot = calloc(nslot, sizeof *slot);
    if (!slot || ix->n >= UINT32_MAX - 1) {
        free(slot);
        return -1;
    }
    free(ix->slot);
    ix->slot = slot;
    ix->nslot = nslot;
    for (size_t i = 0; i < ix->n; i++) {
        uint32_t len;
        const char *k = ent_key(&ix->v[i], &len);
        slot[find(ix, k, len, ix->v[i].hash)] = (uint32_t)i + 1;
    }
    return 0;
}

/* ---- one run ---- */

struct run {
    const struct sc_recon_spec *sp;
    struct index ix;
    struct buf scratch;
    json_t **changed;    /* changed drifts found while streaming */
    size_t nchanged, capchanged;
    bool left_indexed;
    char *err;
    size_t errlen;
};

static const char *field_path(const struct sc_rules_field *f, bool left)
{
    return left || !f->right ? f->left : f->right;
}

static enum sc_status oom(struct run *r)
{
    snprintf(r->err, r->errlen, "reconcile: out of memory");
    return SC_ERR_LIMIT;
}

/* The record named for an error: its side and position, and its start unless confidential. */
static void bad_record(struct run *r, bool left, int64_t no, const json_t *rec, const char *why)
{
    char *text = r->sp->confidential ? NULL : json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text && strlen(text) > 120)
        strcpy(text + 117, "...");
    snprintf(r->err, r->errlen, "%s record %lld %s%s%s", left ? "left" : "right", (long long)no,
             why, text ? ": " : "", text ? text : "");
    free(text);
}

/* The record's key as text in *k (*n bytes; num holds an integer's digits): SC_OK, or a
 * data error naming the record. */
static enum sc_status key_of(struct run *r, bool left, int64_t no, const json_t *rec, char num[24],
                             const char **k, size_t *n)
{
    const char *path = left ? r->sp->left_key : r->sp->right_key;
    const json_t *v = json_is_object(rec) ? sc_rules_at(rec, path) : NULL;
    char why[200];
    if (!json_is_object(rec)) {
        bad_record(r, left, no, rec, "is not an object");
        return SC_ERR_DATA;
    }
    if (json_is_integer(v)) {
        *n = (size_t)snprintf(num, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *k = num;
        return SC_OK;
    }
    if (json_is_string(v) && json_string_length(v) > 0) {
        *k = json_string_value(v);
        *n = json_string_length(v);
        return SC_OK;
    }
    if (!v || json_is_null(v) || json_is_string(v))
        snprintf(why, sizeof why, "has no key at %s (%s)", path,
                 !v ? "absent" : json_is_null(v) ? "null" : "empty");
    else
        snprintf(why, sizeof why, "has a key at %s that is %s, not a text or an integer", path,
                 json_is_object(v) ? "an object" : json_is_array(v) ? "an array"
                 : json_is_real(v) ? "a fraction" : "true or false");
    bad_record(r, left, no, rec, why);
    return SC_ERR_DATA;
}

/* A new entry for key with rec's fields (as side left holds them); its number, or -1. */
static int64_t add(struct run *r, const char *k, size_t n, uint32_t h, size_t slot,
                   const json_t *rec, bool left)
{
    struct buf *b = &r->scratch;
    uint32_t len = (uint32_t)n;
    b->n = 0;
    if (n > UINT32_MAX || buf_put(b, &len, sizeof len) != 0 || buf_put(b, k, n) != 0)
        return -1;
    for (size_t i = 0; i < r->sp->nfields; i++)
        if (encode(b, sc_rules_at(rec, field_path(&r->sp->fields[i], left))) != 0)
            return -1;
    char *data = arena_alloc(&r->ix.arena, b->n);
    if (!data)
        return -1;
    memcpy(data, b->p, b->n);
    struct ent *e = &r->ix.v[r->ix.n];
    *e = (struct ent){.data = data, .hash = h};
    r->ix.slot[slot] = (uint32_t)++r->ix.n;
    return (int64_t)r->ix.n - 1;
}

/* The entry of key, added (with rec's fields) when new; NULL when memory ran out. */
static struct ent *lookup(struct run *r, const char *k, size_t n, const json_t *rec, bool left,
                          bool *added)
{
    if (grow(&r->ix) != 0)
        return NULL;
    uint32_t h = hash_of(k, n);
    size_t s = find(&r->ix, k, (uint32_t)n, h);
    *added = !r->ix.slot[s];
    if (!*added)
        return &r->ix.v[r->ix.slot[s] - 1];
    int64_t at = add(r, k, n, h, s, rec, left);
    return at < 0 ? NULL : &r->ix.v[at];
}

/* An entry's fields by name (new object; absent ones left out). */
static json_t *stored_fields(const struct run *r, const struct ent *e)
{
    uint32_t len;
    const char *p = ent_key(e, &len) + len;
    json_t *o = json_object();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < r->sp->nfields; i++) {
        json_t *v = decode(&p, &ok);
        if (v)
            json_object_set_new(o, r->sp->fields[i].name, v);
    }
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

/* A record's fields by name (new object, values copied). */
static json_t *record_fields(const struct run *r, const json_t *rec, bool left)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < r->sp->nfields; i++) {
        json_t *v = sc_rules_at(rec, field_path(&r->sp->fields[i], left));
        if (v && json_object_set_new(o, r->sp->fields[i].name, json_deep_copy(v)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Compares a streamed record with its entry; a changed drift when a field differs. */
static enum sc_status pair(struct run *r, struct ent *e, const json_t *rec, const char *k, size_t n)
{
    json_t *stored = stored_fields(r, e), *diff = json_array();
    if (!stored || !diff) {
        json_decref(stored);
        json_decref(diff);
        return oom(r);
    }
    bool lsv = r->left_indexed; /* the stored side is the left one */
    for (size_t i = 0; i < r->sp->nfields; i++) {
        const struct sc_rules_field *f = &r->sp->fields[i];
        int rule = sc_rules_parse(f->rule);
        json_t *s = json_object_get(stored, f->name), *t = sc_rules_at(rec, field_path(f, !lsv));
        json_t *l = lsv ? s : t, *rt = lsv ? t : s;
        if (!sc_rules_same(l, rt, rule < 0 ? SC_RULE_EXACT : (enum sc_rule)rule, f->tolerance))
            json_array_append_new(diff, json_pack("{s:s, s:O?, s:O?, s:s}", "field", f->name,
                                                  "left", l, "right", rt, "rule",
                                                  sc_rules_names[rule < 0 ? 0 : rule]));
    }
    if (!json_array_size(diff) ||
        (r->sp->max_drifts && r->nchanged >= r->sp->max_drifts + 1)) { /* counted, not kept */
        e->drift = json_array_size(diff) ? UINT32_MAX : 0;
        json_decref(stored);
        json_decref(diff);
        return SC_OK;
    }
    json_t *mine = record_fields(r, rec, !lsv);
    json_t *d = mine ? json_pack("{s:s, s:s%, s:o, s:o, s:o}", "kind", "changed", "key", k, n,
                                 "left", lsv ? stored : mine, "right", lsv ? mine : stored,
                                 "diff", diff)
                     : NULL;
    if (!mine) {
        json_decref(stored);
        json_decref(diff);
    }
    if (!d)
        return oom(r);
    if (r->nchanged == r->capchanged) {
        size_t cap = r->capchanged ? r->capchanged * 2 : 64;
        json_t **v = realloc(r->changed, cap * sizeof *v);
        if (!v) {
            json_decref(d);
            return oom(r);
        }
        r->changed = v;
        r->capchanged = cap;
    }
    r->changed[r->nchanged++] = d;
    e->drift = (uint32_t)r->nchanged;
    return SC_OK;
}

/* Reads one side to its end: indexing it (first) or streaming it against the index. */
static enum sc_status read_side(struct run *r, struct sc_recon_source *src, bool left,
                                bool indexing, int64_t *count)
{
    const json_t *rec;
    enum sc_status st = SC_OK;
    char num[24];
    int got;
    while ((got = src->next(src, &rec, &st, r->err, r->errlen)) == 1) {
        const char *k;
        size_t n;
        bool added;
        ++*count;
        if ((st = key_of(r, left, *count, rec, num, &k, &n)) != SC_OK)
            return st;
        struct ent *e = lookup(r, k, n, rec, left, &added);
        if (!e)
            return oom(r);
        uint32_t *c = indexing ? &e->nidx : &e->nstr;
        if (*c < UINT32_MAX)
            ++*c;
        if (!indexing && e->nidx == 1 && e->nstr == 1 && (st = pair(r, e, rec, k, n)) != SC_OK)
            return st;
    }
    if (got < 0 && st == SC_OK)
        st = SC_ERR_RUNTIME;
    return got < 0 ? st : SC_OK;
}

/* ---- the drifts, by key ---- */

struct drift {
    const char *key;
    uint32_t len;
    int order;           /* only-left, only-right, changed, duplicate left, duplicate right */
    json_t *v;
};

static int by_key(const void *a, const void *b)
{
    const struct drift *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    if (!c)
        c = x->len < y->len ? -1 : x->len > y->len;
    return c ? c : x->order - y->order;
}

static json_t *duplicate(const char *k, uint32_t n, bool left, uint32_t count)
{
    return json_pack("{s:s, s:s%, s:s, s:I}", "kind", "duplicate", "key", k, (size_t)n, "side",
                     left ? "left" : "right", "count", (json_int_t)count);
}

/* The drifts of one entry, added to v (*nv of them), and counted. */
static int entry_drifts(struct run *r, struct ent *e, struct drift *v, size_t *nv,
                        struct sc_recon_counts *c, bool keep)
{
    uint32_t n;
    const char *k = ent_key(e, &n);
    bool li = r->left_indexed;
    uint32_t nl = li ? e->nidx : e->nstr, nr = li ? e->nstr : e->nidx;
    json_t *d[2] = {NULL, NULL};
    int order[2] = {0, 0}, m = 0;
    if (nl > 1 || nr > 1) {
        c->duplicate += (nl > 1) + (nr > 1);
        if (keep && nl > 1)
            order[m] = 3, d[m++] = duplicate(k, n, true, nl);
        if (keep && nr > 1)
            order[m] = 4, d[m++] = duplicate(k, n, false, nr);
    } else if (nl == 1 && nr == 1) {
        if (!e->drift) {
            c->same++;
            return 0;
        }
        c->changed++;
        if (keep && e->drift != UINT32_MAX) {
            order[m] = 2, d[m++] = r->changed[e->drift - 1];
            r->changed[e->drift - 1] = NULL;
        }
    } else {
        bool left = nl == 1;
        if (left)
            c->only_left++;
        else
            c->only_right++;
        json_t *f = keep ? stored_fields(r, e) : NULL;
        if (keep && !f)
            return -1;
        if (keep) {
            order[m] = left ? 0 : 1;
            d[m++] = json_pack("{s:s, s:s%, s:o}", "kind", left ? "only-left" : "only-right",
                               "key", k, (size_t)n, left ? "left" : "right", f);
        }
    }
    for (int i = 0; i < m; i++) {
        if (!d[i])
            return -1;
        v[(*nv)++] = (struct drift){.key = k, .len = n, .order = order[i], .v = d[i]};
    }
    return 0;
}

static void run_free(struct run *r)
{
    for (size_t i = 0; i < r->nchanged; i++)
        json_decref(r->changed[i]);
    free(r->changed);
    free(r->ix.v);
    free(r->ix.slot);
    free(r->scratch.p);
    arena_free(r->ix.arena);
}

/* Every drift, by key, into a new array (counts filled); SC_ERR_LIMIT past max_drifts. */
static enum sc_status collect(struct run *r, struct sc_recon_counts *c, json_t **out)
{
    size_t cap = 1024, nv = 0;
    struct drift *v = malloc(cap * sizeof *v);
    bool keep = true;
    enum sc_status st = SC_OK;
    for (size_t i = 0; v && st == SC_OK && i < r->ix.n; i++) {
        if (nv + 2 > cap) {
            struct drift *w = realloc(v, (cap *= 2) * sizeof *v);
            if (!w) {
                st = oom(r);
                break;
            }
            v = w;
        }
        if (entry_drifts(r, &r->ix.v[i], v, &nv, c, keep) != 0)
            st = oom(r);
        keep = !r->sp->max_drifts || nv <= r->sp->max_drifts;
    }
    int64_t total = c->changed + c->only_left + c->only_right + c->duplicate;
    if (st == SC_OK && !v)
        st = oom(r);
    else if (st == SC_OK && r->sp->max_drifts && total > (int64_t)r->sp->max_drifts) {
        snprintf(r->err, r->errlen, "reconcile found %lld drifts, more than max_drifts (%zu): "
                 "%lld changed, %lld only left, %lld only right, %lld duplicate keys",
                 (long long)total, r->sp->max_drifts, (long long)c->changed,
                 (long long)c->only_left, (long long)c->only_right, (long long)c->duplicate);
        st = SC_ERR_LIMIT;
    }
    if (st == SC_OK) {
        qsort(v, nv, sizeof *v, by_key);
        *out = json_array();
        for (size_t i = 0; *out && i < nv; i++)
            if (json_array_append(*out, v[i].v) != 0) {
                json_decref(*out);
                *out = NULL;
            }
        if (!*out)
            st = oom(r);
    }
    for (size_t i = 0; v && i < nv; i++)
        json_decref(v[i].v);
    free(v);
    return st;
}

enum sc_status sc_recon_run(const struct sc_recon_spec *spec, struct sc_recon_source *left,
                            struct sc_recon_source *right, json_t **drifts,
                            struct sc_recon_counts *counts, char *err, size_t errlen)
{
    struct run r = {.sp = spec, .left_indexed = !spec->index_right, .err = err, .errlen = errlen};
    *drifts = NULL;
    *counts = (struct sc_recon_counts){0};
    bool li = r.left_indexed;
    enum sc_status st = read_side(&r, li ? left : right, li, true, li ? &counts->left : &counts->right);
    if (st == SC_OK)
        st = read_side(&r, li ? right : left, !li, false, li ? &counts->right : &counts->left);
    if (st == SC_OK)
        st = collect(&r, counts, drifts);
    run_free(&r);
    return st;
}

json_t *sc_recon_counts_json(const struct sc_recon_counts *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "left", (json_int_t)c->left, "right",
                     (json_int_t)c->right, "same", (json_int_t)c->same, "changed",
                     (json_int_t)c->changed, "only_left", (json_int_t)c->only_left, "only_right",
                     (json_int_t)c->only_right, "duplicate", (json_int_t)c->duplicate);
}

static int items_next(struct sc_recon_source *src, const json_t **rec, enum sc_status *status,
                      char *err, size_t errlen)
{
    (void)status;
    (void)err;
    (void)errlen;
    struct sc_recon_items *it = (struct sc_recon_items *)src;
    if (it->at >= json_array_size(it->arr))
        return 0;
    *rec = json_array_get(it->arr, it->at++);
    return 1;
}

void sc_recon_items_init(struct sc_recon_items *it, const json_t *arr)
{
    *it = (struct sc_recon_items){.src = {.next = items_next}, .arr = arr};
}
