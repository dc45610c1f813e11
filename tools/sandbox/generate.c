/* A generated organisation of N employees: the fixture's tables in the fixture's
 * proportions, with the fixture's kinds of drift planted in proportion too, and a
 * "planted" table naming each one so tests can count what a reconciliation must find.
 * Deterministic: the same N and seed give byte-identical data (splitmix64, no clock). */
#include "sandbox.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen {
    uint64_t s;
};

/* splitmix64 (Steele, Lea, Flood 2014): small, fast, and good enough for test data. */
static uint64_t next(struct gen *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in [0, n). */
static size_t pick(struct gen *g, size_t n)
{
    return n ? (size_t)(next(g) % n) : 0;
}

static const char *const first_names[] = {
    "Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "Ken",
    "Radia", "Dennis", "Margaret", "John", "Hedy", "Niklaus", "Sophie", "Tim", "Annie",
    "Claude", "Joan", "Linus", "Shafi", "Leslie", "Evelyn", "Ivan", "Mary", "Guido",
    "Carol", "Bjarne", "Jean", "Fernando", "Adele", "Robin", "Lynn", "Whitfield", "Elena",
    "Yukihiro", "Anita", "James", "Karen"};
static const char *const last_names[] = {
    "Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen",
    "Thompson", "Perlman", "Ritchie", "Hamilton", "McCarthy", "Lamarr", "Wirth", "Wilson",
    "Berners-Lee", "Easley", "Shannon", "Clarke", "Torvalds", "Goldwasser", "Lamport",
    "Berry", "Sutherland", "Keller", "van Rossum", "Shaw", "Stroustrup", "Sammet",
    "Corbato", "Goldberg", "Milner", "Conway", "Diffie", "Ochoa", "Matsumoto", "Borg",
    "Gosling", "Jones"};
static const char *const dept_names[] = {
    "Engineering", "People Operations", "Finance", "Sales", "Customer Success", "Legal",
    "Marketing", "Product", "Operations", "Facilities", "Security", "Research"};
static const char *const titles[][3] = {
    {"Software Engineer", "Senior Software Engineer", "Site Reliability Engineer"},
    {"HR Generalist", "Recruiter", "People Partner"},
    {"Accountant", "Financial Analyst", "Controller"},
    {"Account Executive", "Sales Development Rep", "Sales Engineer"},
    {"Support Specialist", "Customer Success Manager", "Support Engineer"},
    {"Paralegal", "Counsel", "Compliance Analyst"},
    {"Marketing Specialist", "Content Writer", "Brand Designer"},
    {"Product Manager", "Product Designer", "UX Researcher"},
    {"Operations Analyst", "Program Manager", "Office Coordinator"},
    {"Facilities Coordinator", "Workplace Manager", "Maintenance Technician"},
    {"Security Engineer", "Security Analyst", "IT Administrator"},
    {"Research Scientist", "Data Scientist", "Research Engineer"}};
static const char *const courses[] = {
    "Code of Conduct", "Information Security", "Privacy and Data Protection",
    "Harassment Prevention", "Anti-Bribery", "Manager Essentials", "Secure Coding",
    "Payroll Compliance"};
static const int course_hours[] = {1, 2, 2, 1, 1, 6, 4, 3};
static const char *const locations[] = {"Chicago", "Austin", "Toronto", "Remote"};

#define NB(a) (sizeof(a) / sizeof((a)[0]))

/* Days since 1970-01-01 to "YYYY-MM-DD" (H. Hinnant's civil_from_days). */
static void day_str(long z, char *out, size_t n)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, n, "%04d-%02d-%02d", (int)(y + (m <= 2)) % 10000, (int)m, (int)d);
}

/* The days the generated history spans (days since the epoch). */
enum {
    DAY_2015_01_01 = 16436,
    DAY_2025_09_01 = 20332, /* offers are accepted from here ... */
    DAY_2026_03_01 = 20513, /* ... and updates happen from here ... */
    DAY_2026_03_07 = 20519, /* ... to here */
};

static json_t *iso_in(struct gen *g, long from_day, long days, char *buf, size_t n)
{
    char d[24];
    day_str(from_day + (long)pick(g, (size_t)days), d, sizeof d);
    size_t m = pick(g, 24 * 60);
    snprintf(buf, n, "%sT%02zu:%02zu:00Z", d, m / 60, m % 60);
    return json_string(buf);
}

static json_t *date_in(struct gen *g, long from_day, long days)
{
    char d[24];
    day_str(from_day + (long)pick(g, (size_t)days), d, sizeof d);
    return json_string(d);
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

/* "van Rossum" -> "vanRossum": an email's local part has no spaces. */
static void squeeze(const char *in, char *out, size_t n)
{
    size_t j = 0;
    for (; *in && j + 1 < n; in++)
        if (*in != ' ')
            out[j++] = *in;
    out[j] = '\0';
}

/* Fisher-Yates over idx[0..n). */
static void shuffle(struct gen *g, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = pick(g, i), t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Per employee, what the generator decided. */
enum drift {
    D_NONE,
    D_MISSING,     /* active, no learner */
    D_TITLE,       /* learner title differs */
    D_DEPT,        /* learner department differs */
    D_EMAIL,       /* learner email differs (not only in case) */
    D_MANAGER,     /* learner manager differs */
    D_TERM_ACTIVE, /* terminated, learner still active */
};

struct emp {
    int dept, title;
    size_t manager; /* index + 1; 0: none */
    bool terminated, recent;
    enum drift drift;
    long offer; /* index of its offer, -1 */
};

static size_t at_least(size_t v, size_t min) { return v < min ? min : v; }

/* How many of each: the fixture's 56 employees have 6 departments, 2 active employees
 * without a learner, 1 learner title mismatch, 1 orphan learner, 1 terminated employee
 * with an active learner, 3 terminated, 14 candidates, 10 offers (8 accepted), 12
 * interviews, 8 courses; one drift of every other kind per 56 employees. */
struct counts {
    size_t n, depts, terminated, per56, missing, candidates, offers, accepted, no_hire,
        hire_no_offer, interviews, courses;
};

static struct counts counts_for(size_t n)
{
    struct counts k = {.n = n};
    k.depts = at_least(n / 100, 6);
    k.terminated = at_least(n / 20, 3);
    k.per56 = at_least(n / 56, 1);
    k.missing = at_least(n / 28, 2);
    k.candidates = at_least(n / 4, 14);
    k.offers = at_least(n * 10 / 56, 10);
    k.accepted = k.offers - k.offers / 5;
    k.no_hire = k.per56;
    k.hire_no_offer = k.per56;
    k.interviews = at_least(n * 12 / 56, 12);
    k.courses = 8;
    return k;
}

static void plant(json_t *planted, const char *kind, const char *fmt, ...);

/* Everything the steps share. */
struct org {
    struct gen g;
    struct counts k;
    size_t n, recent; /* employees; the last `recent` of them were hired from offers */
    struct emp *E;
    size_t *idx;      /* scratch: n positions */
    size_t next_lid;  /* the next learner number */
    json_t *depts, *emps, *cands, *offers, *learners, *courses, *comps, *events, *planted;
};

static void make_departments(struct org *o)
{
    json_t *depts = o->depts = json_array();
    for (size_t d = 0; d < o->k.depts; d++) {
        char name[64];
        if (d < NB(dept_names))
            snprintf(name, sizeof name, "%s", dept_names[d]);
        else
            snprintf(name, sizeof name, "%s %zu", dept_names[d % NB(dept_names)], d / NB(dept_names) + 1);
        json_array_append_new(depts, json_pack("{s:o, s:s}", "id", json_sprintf("D-%zu", (d + 1) * 10), "name", name));
    }
}

/* The hierarchy: employee 0 leads the organisation, the first member of every other
 * department reports to it, the m-th member of a department to member (m-1)/8. */
static void plan_hierarchy(struct org *o)
{
    struct gen *g = &o->g;
    const struct counts *k = &o->k;
    size_t n = o->n;
    struct emp *E = o->E;
    size_t *members = calloc(k->depts, sizeof *members), *first = calloc(k->depts, sizeof *first);
    for (size_t i = 0; i < n; i++) {
        size_t d = i % k->depts, m = members[d]++;
        E[i].dept = (int)d;
        E[i].offer = -1;
        if (m == 0) {
            first[d] = i;
            E[i].manager = i == 0 ? 0 : 1;
        } else {
            E[i].manager = first[d] + ((m - 1) / 8) * k->depts + 1;
        }
        E[i].title = (int)pick(g, 3);
    }
    free(members);
    free(first);
}

/* Who was hired from an offer, who is terminated, and which drift each carries. */
static void plan_drift(struct org *o)
{
    struct gen *g = &o->g;
    const struct counts *k = &o->k;
    size_t n = o->n;
    struct emp *E = o->E;
    size_t *idx = o->idx, recent = o->recent;
    /* the last `recent` employees were hired from offers; the rest long before */
    for (size_t i = n - recent; i < n; i++)
        E[i].recent = true;
    /* terminated: people nobody reports to (leaves), none of them recent */
    size_t pool = 0;
    bool *manages = calloc(n, sizeof *manages);
    for (size_t i = 0; i < n; i++)
        if (E[i].manager)
            manages[E[i].manager - 1] = true;
    for (size_t i = 1; i < n - recent; i++)
        if (!manages[i])
            idx[pool++] = i;
    free(manages);
    shuffle(g, idx, pool);
    for (size_t i = 0; i < k->terminated && i < pool; i++)
        E[idx[i]].terminated = true;
    /* the terminated ones whose learner stays active */
    qsort(idx, k->terminated, sizeof *idx, cmp_size);
    size_t *t_idx = calloc(k->terminated, sizeof *t_idx);
    memcpy(t_idx, idx, k->terminated * sizeof *idx);
    shuffle(g, t_idx, k->terminated);
    for (size_t i = 0; i < k->per56; i++)
        E[t_idx[i]].drift = D_TERM_ACTIVE;
    free(t_idx);
    /* learner drift among the active, not recent, not the head of the organisation */
    pool = 0;
    for (size_t i = 1; i < n - recent; i++)
        if (!E[i].terminated)
            idx[pool++] = i;
    shuffle(g, idx, pool);
    size_t at = 0;
    const struct { enum drift d; size_t count; } slices[] = {
        {D_MISSING, k->missing}, {D_TITLE, k->per56}, {D_DEPT, k->per56}, {D_EMAIL, k->per56},
        {D_MANAGER, k->per56}};
    for (size_t s = 0; s < NB(slices); s++)
        for (size_t j = 0; j < slices[s].count; j++)
            E[idx[at++]].drift = slices[s].d;
}

static void make_employees(struct org *o)
{
    struct gen *g = &o->g;
    size_t n = o->n;
    struct emp *E = o->E;
    json_t *depts = o->depts;
    json_t *emps = o->emps = json_array();
    char buf[160], fn_sq[64], ln_sq[64];
    for (size_t i = 0; i < n; i++) {
        const char *fn = first_names[pick(g, NB(first_names))], *ln = last_names[pick(g, NB(last_names))];
        squeeze(fn, fn_sq, sizeof fn_sq);
        squeeze(ln, ln_sq, sizeof ln_sq);
        int d = E[i].dept;
        json_t *e = json_object();
        json_object_set_new(e, "id", json_sprintf("E-%zu", 1001 + i));
        json_object_set_new(e, "first_name", json_string(fn));
        json_object_set_new(e, "last_name", json_string(ln));
        json_object_set_new(e, "preferred_name", pick(g, 4) ? json_null() : json_string(fn));
        json_object_set_new(e, "work_email", json_sprintf("%s.%s.%zu@example.com", fn_sq, ln_sq, 1001 + i));
        json_object_set_new(e, "department", json_pack("{s:o, s:o}", "id", json_sprintf("D-%d", (d + 1) * 10),
                                                       "name", json_incref(json_object_get(json_array_get(depts, (size_t)d), "name")) ));
        json_object_set_new(e, "title", json_string(titles[d % (int)NB(dept_names)][E[i].title]));
        json_object_set_new(e, "manager_id", E[i].manager ? json_sprintf("E-%zu", 1000 + E[i].manager) : json_null());
        json_object_set_new(e, "hire_date", date_in(g, DAY_2015_01_01, DAY_2025_09_01 - DAY_2015_01_01));
        json_object_set_new(e, "status", json_string(E[i].terminated ? "terminated" : "active"));
        json_object_set_new(e, "location", json_string(locations[pick(g, NB(locations))]));
        json_object_set_new(e, "employment_type", json_string(pick(g, 8) ? "full_time" : "part_time"));
        json_object_set_new(e, "updated_at", iso_in(g, DAY_2026_03_01, 7, buf, sizeof buf));
        if (E[i].terminated)
            json_object_set_new(e, "termination_date", date_in(g, DAY_2025_09_01, DAY_2026_03_07 - DAY_2025_09_01));
        json_array_append_new(emps, e);
    }

}

static void make_candidates(struct org *o)
{
    struct gen *g = &o->g;
    const struct counts *k = &o->k;
    char buf[160], fn_sq[64], ln_sq[64];
    json_t *cands = o->cands = json_array();
    for (size_t c = 0; c < k->candidates; c++) {
        const char *fn = first_names[pick(g, NB(first_names))], *ln = last_names[pick(g, NB(last_names))];
        squeeze(fn, fn_sq, sizeof fn_sq);
        squeeze(ln, ln_sq, sizeof ln_sq);
        snprintf(buf, sizeof buf, "%s.%s.%zu@mail.example.org", fn_sq, ln_sq, 301 + c);
        lower(buf);
        json_t *s = json_array();
        if (c < k->accepted) /* a screening came back for those who accepted */
            json_array_append_new(s, json_pack("{s:s, s:s, s:o}", "vendor", c % 2 ? "screening-b" : "screening-a",
                                               "result", c % 2 ? "pass" : "clear", "recorded_at",
                                               iso_in(g, DAY_2025_09_01, DAY_2026_03_07 - DAY_2025_09_01 + 1, buf + 100, 60)));
        json_array_append_new(cands, json_pack("{s:o, s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "id", json_sprintf("CAND-%zu", 301 + c),
                                               "first_name", fn, "last_name", ln, "email", buf, "phone",
                                               json_sprintf("+1-312-555-%04zu", c % 10000), "stage",
                                               c < k->offers ? "offer" : c % 3 ? "interview" : "screening", "recruiter",
                                               json_sprintf("recruiter%zu@example.com", 1 + c % 5), "screenings", s));
    }
}

/* Offers [0, accepted) are accepted: the first `no_hire` of them have no hire; the rest
 * are the recent employees in order; offers [accepted, offers) are only extended, and
 * the first `hire_no_offer` of those were hired anyway (hire without an accepted offer). */
static void make_offers(struct org *org)
{
    struct gen *g = &org->g;
    const struct counts *k = &org->k;
    size_t n = org->n, recent = org->recent;
    struct emp *E = org->E;
    json_t *emps = org->emps, *planted = org->planted, *offers = org->offers = json_array();
    size_t next_recent = n - recent;
    for (size_t o = 0; o < k->offers; o++) {
        bool accepted = o < k->accepted, hired = (accepted && o >= k->no_hire) ||
                                                (!accepted && o - k->accepted < k->hire_no_offer);
        long day = DAY_2025_09_01 + (long)pick(g, DAY_2026_03_07 - DAY_2025_09_01 + 1);
        char date[24];
        day_str(day, date, sizeof date);
        int d = (int)pick(g, k->depts), title = (int)pick(g, 3);
        size_t manager = (size_t)d + 1; /* the department's head */
        if (hired) {
            size_t i = next_recent++;
            E[i].offer = (long)o;
            d = E[i].dept;
            title = E[i].title;
            manager = E[i].manager;
            json_t *e = json_array_get(emps, i);
            json_object_set_new(e, "hire_date", json_string(date));
            json_object_set_new(e, "offer_id", json_sprintf("OFF-%zu", 701 + o));
            if (!accepted)
                plant(planted, "hire_without_accepted_offer", "{s:o, s:o, s:s}", "employee_id",
                      json_sprintf("E-%zu", 1001 + i), "offer_id", json_sprintf("OFF-%zu", 701 + o),
                      "hire_date", date);
        } else if (accepted) {
            plant(planted, "accepted_offer_without_hire", "{s:o, s:o, s:o}", "offer_id",
                  json_sprintf("OFF-%zu", 701 + o), "candidate_id", json_sprintf("CAND-%zu", 301 + o),
                  "accepted_at", json_sprintf("%sT15:00:00Z", date));
        }
        json_t *of = json_pack("{s:o, s:o, s:s, s:o, s:o, s:{s:I, s:s, s:s}, s:s, s:s, s:o}", "id",
                               json_sprintf("OFF-%zu", 701 + o), "candidate_id", json_sprintf("CAND-%zu", 301 + o),
                               "title", titles[d % (int)NB(dept_names)][title], "department_id",
                               json_sprintf("D-%d", (d + 1) * 10), "manager_id",
                               manager ? json_sprintf("E-%zu", 1000 + manager) : json_null(), "pay_rate",
                               "amount", (json_int_t)(50000 + 500 * pick(g, 261)), "currency", "USD", "period",
                               "year", "start_date", date, "status", accepted ? "accepted" : "extended",
                               "accepted_at", accepted ? json_sprintf("%sT15:00:00Z", date) : json_null());
        json_array_append_new(offers, of);
    }

}

/* Plants employee i's learner drift on its learner l (the HRIS record e). */
static void drift_learner(struct org *o, size_t i, json_t *e, json_t *l)
{
    struct emp *E = o->E;
    const char *eid = json_string_value(json_object_get(e, "id"));
    const char *lid = json_string_value(json_object_get(l, "id"));
    const char *dept = json_string_value(json_object_get(json_object_get(e, "department"), "name"));
    const char *title = json_string_value(json_object_get(e, "title"));
    json_t *mgr = json_object_get(e, "manager_id");
    char buf[160];
    switch (E[i].drift) {
    case D_TITLE:
        json_object_set_new(l, "title", json_sprintf("%s (old)", title));
        plant(o->planted, "field_mismatch", "{s:s, s:s, s:s, s:s, s:O}", "employee_id", eid, "learner_id", lid,
              "field", "title", "hris", title, "lms", json_object_get(l, "title"));
        break;
    case D_DEPT: {
        size_t other = ((size_t)E[i].dept + 1 + pick(&o->g, o->k.depts - 1)) % o->k.depts;
        json_object_set(l, "department", json_object_get(json_array_get(o->depts, other), "name"));
        plant(o->planted, "field_mismatch", "{s:s, s:s, s:s, s:s, s:O}", "employee_id", eid, "learner_id", lid,
              "field", "department", "hris", dept, "lms", json_object_get(l, "department"));
        break;
    }
    case D_EMAIL: {
        snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(l, "email")));
        char *at_sign = strchr(buf, '@');
        snprintf(at_sign, sizeof buf - (size_t)(at_sign - buf), "@old.example.com");
        json_object_set_new(l, "email", json_string(buf));
        plant(o->planted, "field_mismatch", "{s:s, s:s, s:s, s:O, s:s}", "employee_id", eid, "learner_id", lid,
              "field", "email", "hris", json_object_get(e, "work_email"), "lms", buf);
        break;
    }
    case D_MANAGER: {
        size_t n = o->n, other = 1 + pick(&o->g, n - 1); /* never itself, never its real manager */
        if (other == i + 1 || other == E[i].manager)
            other = other % n + 1;
        if (other == i + 1 || other == E[i].manager)
            other = other % n + 1;
        json_object_set_new(l, "manager_external_id", json_sprintf("E-%zu", 1000 + other));
        plant(o->planted, "field_mismatch", "{s:s, s:s, s:s, s:O, s:O}", "employee_id", eid, "learner_id", lid,
              "field", "manager", "hris", mgr, "lms", json_object_get(l, "manager_external_id"));
        break;
    }
    case D_TERM_ACTIVE:
        plant(o->planted, "active_learner_terminated", "{s:s, s:s}", "employee_id", eid, "learner_id", lid);
        break;
    default:
        break;
    }
}

/* Learners: one per employee but the missing, with the planted drift. */
static void make_learners(struct org *o)
{
    struct emp *E = o->E;
    char buf[160];
    json_t *learners = o->learners = json_array();
    size_t lid = 5001;
    for (size_t i = 0; i < o->n; i++) {
        json_t *e = json_array_get(o->emps, i);
        const char *eid = json_string_value(json_object_get(e, "id"));
        if (E[i].drift == D_MISSING) {
            plant(o->planted, "missing_learner", "{s:s}", "employee_id", eid);
            continue;
        }
        snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(e, "work_email")));
        lower(buf);
        json_t *l = json_pack("{s:o, s:s, s:s, s:O, s:O, s:O, s:O, s:O, s:b, s:O}", "id", json_sprintf("L-%zu", lid++),
                              "external_id", eid, "email", buf, "first_name", json_object_get(e, "first_name"),
                              "last_name", json_object_get(e, "last_name"), "department",
                              json_object_get(json_object_get(e, "department"), "name"), "title",
                              json_object_get(e, "title"), "manager_external_id", json_object_get(e, "manager_id"),
                              "active", !E[i].terminated || E[i].drift == D_TERM_ACTIVE, "updated_at",
                              json_object_get(e, "updated_at"));
        drift_learner(o, i, e, l);
        json_array_append_new(learners, l);
    }
    o->next_lid = lid;
}

/* Learners whose external_id is no employee. */
static void make_orphans(struct org *org)
{
    struct gen *g = &org->g;
    const struct counts *k = &org->k;
    json_t *learners = org->learners, *planted = org->planted;
    size_t lid = org->next_lid;
    char buf[160], fn_sq[64], ln_sq[64];
    for (size_t o = 0; o < k->per56; o++) {
        const char *fn = first_names[pick(g, NB(first_names))], *ln = last_names[pick(g, NB(last_names))];
        squeeze(fn, fn_sq, sizeof fn_sq);
        squeeze(ln, ln_sq, sizeof ln_sq);
        snprintf(buf, sizeof buf, "%s.%s@example.com", fn_sq, ln_sq);
        lower(buf);
        char ext[32], lidv[32];
        snprintf(ext, sizeof ext, "E-0%04zu", o + 1);
        snprintf(lidv, sizeof lidv, "L-%zu", lid++);
        const char *dept = dept_names[pick(g, 6)];
        char upd[40];
        json_t *when = iso_in(g, DAY_2026_03_01, 7, upd, sizeof upd);
        json_array_append_new(learners, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:b, s:o}", "id", lidv,
                                                  "external_id", ext, "email", buf, "first_name", fn, "last_name", ln,
                                                  "department", dept, "title", "Contractor",
                                                  "manager_external_id", "active", 1, "updated_at", when));
        plant(planted, "orphan_learner", "{s:s, s:s}", "learner_id", lidv, "external_id", ext);
    }

}

/* Courses, and about three completions for every two learners, in time order. */
static void make_completions(struct org *o)
{
    struct gen *g = &o->g;
    const struct counts *k = &o->k;
    json_t *learners = o->learners;
    json_t *crs = o->courses = json_array();
    for (size_t c = 0; c < k->courses; c++)
        json_array_append_new(crs, json_pack("{s:o, s:s, s:i}", "id", json_sprintf("C-%zu", 101 + c), "title",
                                             courses[c], "hours", course_hours[c]));
    size_t active_learners = json_array_size(learners) - k->per56, ncomp = active_learners * 3 / 2;
    struct comp { uint32_t learner, course, score, minute; } *cp = calloc(ncomp ? ncomp : 1, sizeof *cp);
    for (size_t c = 0; c < ncomp; c++) { /* one draw per statement: a fixed order */
        cp[c].learner = (uint32_t)pick(g, active_learners);
        cp[c].course = (uint32_t)pick(g, k->courses);
        cp[c].score = (uint32_t)(60 + pick(g, 41));
        cp[c].minute = (uint32_t)pick(g, 7 * 24 * 60);
    }
    /* counting sort by minute keeps it stable and O(n) */
    size_t *bucket = calloc(7 * 24 * 60 + 1, sizeof *bucket);
    for (size_t c = 0; c < ncomp; c++)
        bucket[cp[c].minute + 1]++;
    for (size_t m = 1; m <= 7 * 24 * 60; m++)
        bucket[m] += bucket[m - 1];
    size_t *order = calloc(ncomp ? ncomp : 1, sizeof *order);
    for (size_t c = 0; c < ncomp; c++)
        order[bucket[cp[c].minute]++] = c;
    free(bucket);
    json_t *comps = o->comps = json_array();
    for (size_t r = 0; r < ncomp; r++) {
        struct comp *x = &cp[order[r]];
        char d[24];
        day_str(DAY_2026_03_01 + x->minute / (24 * 60), d, sizeof d);
        json_array_append_new(comps, json_pack("{s:o, s:O, s:o, s:s, s:i, s:o}", "id", json_sprintf("CP-%04zu", r + 1),
                                               "learner_external_id",
                                               json_object_get(json_array_get(learners, x->learner), "external_id"),
                                               "course_id", json_sprintf("C-%u", 101 + x->course), "course_title",
                                               courses[x->course], "score", (int)x->score, "completed_at",
                                               json_sprintf("%sT%02u:%02u:00Z", d, x->minute / 60 % 24, x->minute % 60)));
    }
    free(cp);
    free(order);

}

/* Interviews on the calendar. */
static void make_events(struct org *o)
{
    struct gen *g = &o->g;
    const struct counts *k = &o->k;
    size_t n = o->n;
    json_t *cands = o->cands, *emps = o->emps;
    char buf[160];
    json_t *events = o->events = json_array();
    for (size_t v = 0; v < k->interviews; v++) {
        json_t *c = json_array_get(cands, v % k->candidates);
        json_t *boss = json_array_get(emps, 1 + pick(g, k->depts - 1 < n - 1 ? k->depts - 1 : n - 1));
        snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(boss, "work_email")));
        lower(buf);
        char d[24], upd[40];
        day_str(DAY_2026_03_07 + 2 + (long)pick(g, 14), d, sizeof d);
        size_t h = 9 + pick(g, 8);
        const char *status = pick(g, 3) ? "confirmed" : "tentative";
        json_t *when = iso_in(g, DAY_2026_03_01, 7, upd, sizeof upd);
        json_array_append_new(events, json_pack("{s:o, s:o, s:O, s:o, s:o, s:[s], s:s, s:s, s:o}", "id",
                                                json_sprintf("EV-%zu", 801 + v), "title",
                                                json_sprintf("Interview: %s %s", json_string_value(json_object_get(c, "first_name")),
                                                             json_string_value(json_object_get(c, "last_name"))),
                                                "candidate_email", json_object_get(c, "email"), "start",
                                                json_sprintf("%sT%02zu:00:00Z", d, h), "end", json_sprintf("%sT%02zu:45:00Z", d, h),
                                                "interviewers", buf, "location", "Zoom", "status", status,
                                                "updated_at", when));
    }

}

json_t *sb_generate(size_t n, unsigned long long seed, char *err, size_t errlen)
{
    if (n < 40 || n > 10000000) {
        snprintf(err, errlen, "--employees must be from 40 to 10000000 (got %zu)", n);
        return NULL;
    }
    struct org o = {.g = {.s = seed}, .k = counts_for(n), .n = n};
    o.recent = o.k.accepted - o.k.no_hire + o.k.hire_no_offer; /* employees hired from offers */
    if (o.recent + o.k.terminated + o.k.missing + 5 * o.k.per56 + o.k.per56 >= n) {
        snprintf(err, errlen, "--employees %zu is too few for the planted drift", n);
        return NULL;
    }
    o.E = calloc(n, sizeof *o.E);
    o.idx = calloc(n, sizeof *o.idx);
    if (!o.E || !o.idx) {
        free(o.E);
        free(o.idx);
        snprintf(err, errlen, "out of memory for %zu employees", n);
        return NULL;
    }
    /* the order of the steps is the order of the draws: keep it, or the data changes */
    make_departments(&o);
    plan_hierarchy(&o);
    plan_drift(&o);
    o.planted = json_array();
    make_employees(&o);
    make_candidates(&o);
    make_offers(&o);
    make_learners(&o);
    make_orphans(&o);
    make_completions(&o);
    make_events(&o);
    free(o.E);
    free(o.idx);
    json_t *db = json_object();
    json_object_set_new(db, "_about", json_sprintf("Generated by sandbox --employees %zu --seed %llu", n, seed));
    json_object_set_new(db, "departments", o.depts);
    json_object_set_new(db, "employees", o.emps);
    json_object_set_new(db, "courses", o.courses);
    json_object_set_new(db, "learners", o.learners);
    json_object_set_new(db, "completions", o.comps);
    json_object_set_new(db, "candidates", o.cands);
    json_object_set_new(db, "offers", o.offers);
    json_object_set_new(db, "calendar_events", o.events);
    json_object_set_new(db, "learning_history", json_object());
    json_object_set_new(db, "admin_drift", json_array());
    json_object_set_new(db, "payroll_new_hires", json_array());
    json_object_set_new(db, "messages", json_array());
    json_object_set_new(db, "terminations", json_array());
    json_object_set_new(db, "planted", o.planted);
    return db;
}

/* One planted drift: {kind, ...keys}. */
static void plant(json_t *planted, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *keys = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    json_t *p = json_pack("{s:s}", "kind", kind);
    json_object_update(p, keys);
    json_decref(keys);
    json_array_append_new(planted, p);
}

void sb_summary(json_t *db, char *out, size_t n)
{
    size_t used = 0;
    static const char *const tables[] = {"departments", "employees", "learners", "courses", "completions",
                                         "candidates", "offers", "calendar_events", NULL};
    for (size_t i = 0; tables[i] && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%zu %s", i ? ", " : "",
                                 json_array_size(json_object_get(db, tables[i])), tables[i]);
    json_t *planted = json_object_get(db, "planted");
    json_t *by = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(planted, i, p) {
        const char *kind = json_string_value(json_object_get(p, "kind"));
        const char *field = json_string_value(json_object_get(p, "field"));
        char key[80];
        snprintf(key, sizeof key, "%s%s%s", kind ? kind : "?", field ? ":" : "", field ? field : "");
        json_object_set_new(by, key, json_integer(json_integer_value(json_object_get(by, key)) + 1));
    }
    if (used < n)
        used += (size_t)snprintf(out + used, n - used, "; planted %zu drift", json_array_size(planted));
    const char *key;
    json_t *v;
    bool firstk = true;
    json_object_foreach(by, key, v) {
        if (used >= n)
            break;
        used += (size_t)snprintf(out + used, n - used, "%s%lld %s", firstk ? ": " : ", ",
                                 (long long)json_integer_value(v), key);
        firstk = false;
    }
    json_decref(by);
}
