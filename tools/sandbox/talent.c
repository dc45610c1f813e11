/* The talent side of the simulated systems: skills earned in the LMS and the skills on
 * the HRIS profile, certifications with expiry dates, the LMS's enrollment rules and
 * enrollments, and performance and skill ratings (HRIS) with the learner attributes the
 * LMS keeps of them. The data is derived from the employees and learners when the
 * fixture or the generated organisation has none (sb_talent_fill), the same for the same
 * data; the endpoints page in their system's style through systems.c's list helpers. */
#include "sandbox.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Whether o's field key is the text want (a record without it is not a match). */
static bool is(json_t *o, const char *key, const char *want)
{
    const char *v = str(o, key);
    return v && want && !strcmp(v, want);
}

/* ---- dates: days since 1970-01-01 <-> YYYY-MM-DD (proleptic Gregorian, H. Hinnant's
 * civil_from_days / days_from_civil) ---- */

static long days_of(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static void date_of(long z, char *out, size_t n)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = (long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, n, "%04d-%02u-%02u", (int)((y + (m <= 2)) % 10000), m % 13, d % 32);
}

/* A stable hash of an id and a salt: the same data gives the same talent tables. */
static uint64_t mix(const char *s, uint64_t salt)
{
    uint64_t h = 1469598103934665603ULL ^ salt;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL; /* splitmix64's finaliser */
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

static const char *const skill_names[] = {"sql", "python", "negotiation", "first-aid", "forklift",
                                          "gdpr", "excel", "public-speaking"};
static const char *const cert_names[] = {"First Aid", "Forklift Licence", "CPA", "Security+",
                                         "Food Safety"};

/* The enrollment rules: everyone takes the Code of Conduct; a department or a title adds
 * courses (the fixture's courses C-101 ...). */
static json_t *rules(void)
{
    return json_pack("[{s:s, s:n, s:n, s:s}, {s:s, s:s, s:n, s:s}, {s:s, s:s, s:n, s:s},"
                     " {s:s, s:n, s:s, s:s}]",
                     "id", "R-1", "department_id", "title", "course_id", "C-101",
                     "id", "R-2", "department_id", "D-10", "title", "course_id", "C-102",
                     "id", "R-3", "department_id", "D-30", "title", "course_id", "C-104",
                     "id", "R-4", "department_id", "title", "Accountant", "course_id", "C-105");
}

static bool rule_applies(json_t *r, json_t *e)
{
    const char *dept = str(r, "department_id"), *title = str(r, "title");
    json_t *d = json_object_get(e, "department");
    const char *edept = json_is_object(d) ? str(d, "id") : str(e, "department_id");
    return (!dept || (edept && !strcmp(dept, edept))) && (!title || (str(e, "title") && !strcmp(title, str(e, "title"))));
}

void sb_talent_fill(json_t *db)
{
    if (json_object_get(db, "certifications"))
        return; /* the data brought its own */
    json_t *emps = json_object_get(db, "employees"), *learners = json_object_get(db, "learners");
    json_t *certs = json_array(), *ratings = json_array(), *skills = json_array(),
           *profile = json_array(), *enrolls = json_array(), *rl = rules();
    json_t *by_emp = json_object(); /* employee id -> employee, for the learners' rules */
    long today = days_of(2026, 3, 6);
    size_t i, nc = 0, ns = 0, ne = 0;
    json_t *e;
    json_array_foreach(emps, i, e) {
        const char *id = str(e, "id");
        if (!id)
            continue;
        json_object_set(by_emp, id, e);
        if (!is(e, "status", "active"))
            continue;
        uint64_t h = mix(id, 1);
        if (h % 4 == 0) { /* a quarter hold a certification, expiring over the coming months */
            char cid[32], issued[32], expires[32];
            snprintf(cid, sizeof cid, "CERT-%05zu", ++nc);
            long exp = today - 20 + (long)((h >> 8) % 160);
            date_of(exp - 730, issued, sizeof issued);
            date_of(exp, expires, sizeof expires);
            json_array_append_new(certs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", cid, "employee_id", id,
                                                   "name", cert_names[(h >> 20) % 5], "issued_on", issued,
                                                   "expires_on", expires, "updated_at", "2026-02-01T00:00:00Z"));
        }
        json_array_append_new(ratings, json_pack("{s:s, s:i, s:i, s:s, s:s}", "employee_id", id,
                                                 "performance_rating", (int)((h >> 12) % 5) + 1,
                                                 "skill_rating", (int)((h >> 16) % 5) + 1, "review_period",
                                                 "2025-H2", "updated_at", "2026-02-15T00:00:00Z"));
    }
    json_t *rmap = json_object();
    json_array_foreach(ratings, i, e) json_object_set(rmap, str(e, "employee_id"), e);
    json_t *l;
    json_array_foreach(learners, i, l) {
        const char *x = str(l, "external_id");
        if (!x)
            continue;
        uint64_t h = mix(x, 2);
        json_t *r = json_object_get(rmap, x);
        if (r) { /* the LMS's copy of the ratings: one in ten is behind the HRIS */
            json_int_t perf = json_integer_value(json_object_get(r, "performance_rating"));
            json_object_set_new(l, "attributes", json_pack("{s:I, s:O}", "performance_rating",
                                                           h % 10 == 0 ? perf % 5 + 1 : perf, "skill_rating",
                                                           json_object_get(r, "skill_rating")));
        }
        if (h % 3 == 0) { /* a third earned a skill this month; the HRIS has those before the 4th */
            char sid[32], at[32];
            snprintf(sid, sizeof sid, "SK-%05zu", ++ns);
            int day = 1 + (int)((h >> 8) % 6);
            snprintf(at, sizeof at, "2026-03-%02dT09:00:00Z", day);
            const char *skill = skill_names[(h >> 12) % 8];
            int level = 1 + (int)((h >> 16) % 4);
            json_array_append_new(skills, json_pack("{s:s, s:s, s:s, s:i, s:s}", "id", sid, "learner_external_id", x,
                                                    "skill", skill, "level", level, "earned_at", at));
            if (day < 4)
                json_array_append_new(profile, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "employee_id", x,
                                                         "skill", skill, "level", level, "source", "lms",
                                                         "earned_at", at, "updated_at", at));
        }
        json_t *emp = json_object_get(by_emp, x);
        json_t *r2;
        size_t k;
        json_array_foreach(rl, k, r2) { /* three in four required courses are enrolled already */
            if (!emp || !json_is_true(json_object_get(l, "active")) || !rule_applies(r2, emp) ||
                mix(x, 3 + k) % 4 == 0)
                continue;
            char eid[32];
            snprintf(eid, sizeof eid, "EN-%06zu", ++ne);
            json_array_append_new(enrolls, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", eid, "learner_external_id", x,
                                                     "course_id", str(r2, "course_id"), "enrolled_at",
                                                     "2026-01-05T00:00:00Z", "source", "rule"));
        }
    }
    json_decref(rmap);
    json_decref(by_emp);
    json_object_set_new(db, "certifications", certs);
    json_object_set_new(db, "ratings", ratings);
    json_object_set_new(db, "skills", skills);
    json_object_set_new(db, "profile_skills", profile);
    json_object_set_new(db, "enrollment_rules", rl);
    json_object_set_new(db, "enrollments", enrolls);
}

/* ---- the endpoints ---- */

static json_t *employee(struct call *c, const char *id)
{
    json_t *e = sb_lookup(c, "employees", "id", id);
    if (!e)
        sb_error(c, 404, "no employee %s", id);
    return e;
}

static void answer(struct call *c, int status, json_t *out)
{
    c->status = status;
    json_decref(c->out);
    c->out = out;
}

static void hris_skills(struct call *c)
{
    if (employee(c, c->params[0]))
        sb_list(c, "profile_skills", (struct sb_filter){.eq_field = "employee_id", .eq = c->params[0]});
}

/* The profile keeps one entry per skill: a new level replaces the old one. */
static void hris_skill_put(struct call *c)
{
    if (!sb_need(c, "level\0") || !employee(c, c->params[0]))
        return;
    json_t *t = sb_table(c, "profile_skills"), *v, *found = NULL;
    size_t i;
    json_array_foreach(t, i, v) if (is(v, "employee_id", c->params[0]) && is(v, "skill", c->params[1])) found = v;
    bool fresh = !found;
    if (fresh) {
        found = json_pack("{s:s, s:s}", "employee_id", c->params[0], "skill", c->params[1]);
        json_array_append_new(t, found);
    }
    json_object_set(found, "level", json_object_get(c->body, "level"));
    json_object_set_new(found, "source", json_string(str(c->body, "source") ? str(c->body, "source") : "api"));
    if (json_object_get(c->body, "earned_at"))
        json_object_set(found, "earned_at", json_object_get(c->body, "earned_at"));
    json_object_set_new(found, "updated_at", json_string(c->now));
    answer(c, fresh ? 201 : 200, json_incref(found));
}

static void hris_certs(struct call *c)
{
    sb_list(c, "certifications", (struct sb_filter){"expires_on", sb_query(c, "expires_from"),
                                                     sb_query(c, "expires_to"), "employee_id",
                                                     sb_query(c, "employee_id")});
}

static void hris_ratings(struct call *c)
{
    sb_list(c, "ratings", (struct sb_filter){"updated_at", sb_query(c, "updated_since"), NULL, NULL, NULL});
}

static void lms_skills(struct call *c)
{
    sb_list(c, "skills", (struct sb_filter){"earned_at", sb_query(c, "since"), NULL, "learner_external_id",
                                            sb_query(c, "learner_external_id")});
}

static void lms_rules(struct call *c) { sb_list(c, "enrollment_rules", (struct sb_filter){0}); }

static void lms_enrollments(struct call *c)
{
    sb_list(c, "enrollments", (struct sb_filter){NULL, NULL, NULL, "learner_external_id",
                                                 sb_query(c, "learner_external_id")});
}

/* One enrollment per learner and course: a second is 409, and writes nothing. */
static void lms_enroll(struct call *c)
{
    if (!sb_need(c, "learner_external_id\0course_id\0"))
        return;
    const char *who = str(c->body, "learner_external_id"), *course = str(c->body, "course_id");
    if (!who || !course) {
        sb_error(c, 422, "learner_external_id and course_id are texts");
        return;
    }
    if (!sb_lookup(c, "learners", "external_id", who)) {
        sb_error(c, 404, "no learner with external_id %s", who);
        return;
    }
    json_t *v, *t = sb_table(c, "courses");
    size_t i;
    bool known = false;
    json_array_foreach(t, i, v) known |= is(v, "id", course);
    if (!known) {
        sb_error(c, 422, "course_id must be a course");
        json_object_set_new(c->out, "field", json_string("course_id"));
        return;
    }
    t = sb_table(c, "enrollments");
    json_array_foreach(t, i, v) if (is(v, "learner_external_id", who) && is(v, "course_id", course)) {
        sb_error(c, 409, "%s is already enrolled in %s (%s)", who, course, str(v, "id"));
        return;
    }
    char id[32];
    snprintf(id, sizeof id, "EN-%06zu", json_array_size(t) + 1);
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "learner_external_id", who, "course_id", course,
                          "enrolled_at", c->now, "source", str(c->body, "source") ? str(c->body, "source") : "api");
    json_array_append(t, r);
    answer(c, 201, r);
}

/* The LMS's copy of the routine attributes (ratings) on the learner. */
static void lms_attributes(struct call *c)
{
    if (!json_is_object(c->body)) {
        sb_error(c, 400, "send a JSON object");
        return;
    }
    json_t *l = sb_lookup(c, "learners", "external_id", c->params[0]);
    if (!l) {
        sb_error(c, 404, "no learner with external_id %s", c->params[0]);
        return;
    }
    json_t *a = json_object_get(l, "attributes");
    if (!json_is_object(a)) {
        a = json_object();
        json_object_set_new(l, "attributes", a);
    }
    static const char *const fields[] = {"performance_rating", "skill_rating"};
    for (size_t i = 0; i < 2; i++)
        if (json_object_get(c->body, fields[i]))
            json_object_set(a, fields[i], json_object_get(c->body, fields[i]));
    json_object_set_new(l, "updated_at", json_string(c->now));
    answer(c, 200, json_incref(l));
}

static const struct route {
    const char *method, *pattern;
    void (*fn)(struct call *);
    const char *about;
} routes[] = {
    {"GET", "/hris/employees/:id/skills", hris_skills, "skills on the employee's profile (paging: page)"},
    {"PUT", "/hris/employees/:id/skills/:skill", hris_skill_put, "set a profile skill (level, source?, earned_at?): 201 new, 200 replaced"},
    {"GET", "/hris/certifications", hris_certs, "certifications ?expires_from=DATE&expires_to=DATE &employee_id= (paging: page)"},
    {"GET", "/hris/ratings", hris_ratings, "performance and skill ratings ?updated_since=ISO (paging: page)"},
    {"GET", "/lms/skills", lms_skills, "skills earned ?since=ISO &learner_external_id= (paging: cursor)"},
    {"GET", "/lms/enrollment-rules", lms_rules, "enrollment rules: department_id and/or title -> course_id (paging: cursor)"},
    {"GET", "/lms/enrollments", lms_enrollments, "enrollments ?learner_external_id= (paging: cursor)"},
    {"POST", "/lms/enrollments", lms_enroll, "enroll (learner_external_id, course_id): 201; 409 when enrolled already"},
    {"PATCH", "/lms/learners/:external_id/attributes", lms_attributes, "set the learner's routine attributes (performance_rating, skill_rating)"},
};

static bool match(const char *pattern, const char *path, struct call *c, char bufs[4][128])
{
    int n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
        if (*p == ':') {
            if (!sl || n == 4 || sl >= 128)
                return false;
            snprintf(bufs[n], 128, "%.*s", (int)sl, s);
            c->params[n] = bufs[n];
            n++;
        } else if (pl != sl || strncmp(p, s, pl) != 0) {
            return false;
        }
        p += pl;
        s += sl;
    }
    return !*p && !*s;
}

bool sb_talent_route(struct call *c)
{
    static _Thread_local char bufs[4][128];
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].pattern, c->path, c, bufs))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, c->method) != 0)
            continue;
        if (!c->authorised) {
            sb_error(c, 401, "credentials required (Authorization or X-API-Key)");
            return true;
        }
        routes[i].fn(c);
        return true;
    }
    if (path_known)
        sb_error(c, 405, "%s is not allowed on %s", c->method, c->path);
    return path_known;
}

void sb_talent_routes_print(FILE *out)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        fprintf(out, "  %-6s %-42s %s\n", routes[i].method, routes[i].pattern, routes[i].about);
}

/* ---- business changes for a simulator (POST /_sandbox/change) ---- */

/* A learner earns a skill in the LMS, which says so (skill.earned). */
static void change_skill(struct call *c)
{
    const char *who = str(c->body, "learner_external_id"), *skill = str(c->body, "skill");
    if (!who || !skill || !sb_lookup(c, "learners", "external_id", who)) {
        sb_error(c, 422, !who || !skill ? "learner_external_id and skill are required" : "no learner with external_id %s", who);
        return;
    }
    json_t *t = sb_table(c, "skills");
    char id[32];
    snprintf(id, sizeof id, "SK-%05zu", json_array_size(t) + 1);
    json_t *lv = json_object_get(c->body, "level");
    json_int_t level = json_is_integer(lv) ? json_integer_value(lv) : 1;
    json_t *r = json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", id, "learner_external_id", who, "skill", skill,
                          "level", level, "earned_at", c->now);
    json_array_append(t, r);
    sb_event(c, "skill.earned", json_pack("{s:s, s:s, s:s, s:I, s:s}", "skill_id", id, "learner_external_id", who,
                                          "skill", skill, "level", level, "earned_at", c->now));
    answer(c, 201, r);
}

/* A certification is issued or renewed in the HRIS (no webhook: the daily check reads them). */
static void change_certify(struct call *c)
{
    const char *who = str(c->body, "employee_id"), *name = str(c->body, "name"), *exp = str(c->body, "expires_on");
    if (!who || !name || !exp || strlen(exp) != 10) {
        sb_error(c, 422, "employee_id, name and expires_on (YYYY-MM-DD) are required");
        return;
    }
    if (!employee(c, who))
        return;
    json_t *t = sb_table(c, "certifications"), *v, *found = NULL;
    size_t i;
    json_array_foreach(t, i, v) if (is(v, "employee_id", who) && is(v, "name", name)) found = v;
    int status = 200;
    if (!found) {
        char id[32];
        snprintf(id, sizeof id, "CERT-%05zu", json_array_size(t) + 1);
        found = json_pack("{s:s, s:s, s:s}", "id", id, "employee_id", who, "name", name);
        json_array_append_new(t, found);
        status = 201;
    }
    char today[11];
    snprintf(today, sizeof today, "%.10s", c->now);
    json_object_set_new(found, "issued_on", json_string(str(c->body, "issued_on") ? str(c->body, "issued_on") : today));
    json_object_set_new(found, "expires_on", json_string(exp));
    json_object_set_new(found, "updated_at", json_string(c->now));
    answer(c, status, json_incref(found));
}

/* A review changes an employee's ratings in the HRIS (no webhook: routine, the daily batch). */
static void change_rate(struct call *c)
{
    const char *who = str(c->body, "employee_id");
    if (!who || !employee(c, who)) {
        if (!who)
            sb_error(c, 422, "employee_id is required");
        return;
    }
    json_t *t = sb_table(c, "ratings"), *v, *found = NULL;
    size_t i;
    json_array_foreach(t, i, v) if (is(v, "employee_id", who)) found = v;
    if (!found) {
        found = json_pack("{s:s, s:s}", "employee_id", who, "review_period", "2026-H1");
        json_array_append_new(t, found);
    }
    static const char *const fields[] = {"performance_rating", "skill_rating"};
    for (size_t k = 0; k < 2; k++)
        if (json_is_integer(json_object_get(c->body, fields[k])))
            json_object_set(found, fields[k], json_object_get(c->body, fields[k]));
    json_object_set_new(found, "updated_at", json_string(c->now));
    answer(c, 200, json_incref(found));
}

/* A recruiter books an interview: a confirmed calendar event for the candidate (no
 * webhook: the calendar is polled). */
static void change_interview(struct call *c)
{
    const char *cand = str(c->body, "candidate_id");
    json_t *who = cand ? sb_lookup(c, "candidates", "id", cand) : NULL;
    const char *start = str(c->body, "start"), *end = str(c->body, "end");
    if (!who || !start || !end) {
        sb_error(c, 422, !cand || !start || !end ? "candidate_id, start and end are required" : "no candidate %s", cand);
        return;
    }
    json_t *t = sb_table(c, "calendar_events");
    char id[32], title[200];
    snprintf(id, sizeof id, "EV-%05zu", json_array_size(t) + 9001);
    snprintf(title, sizeof title, "Interview: %s %s", str(who, "first_name") ? str(who, "first_name") : "",
             str(who, "last_name") ? str(who, "last_name") : "");
    json_t *iv = json_object_get(c->body, "interviewers");
    json_t *r = json_pack("{s:s, s:s, s:O?, s:s, s:s, s:o, s:s, s:s, s:s}", "id", id, "title", title,
                          "candidate_email", json_object_get(who, "email"), "start", start, "end", end,
                          "interviewers", json_is_array(iv) ? json_incref(iv) : json_array(), "location",
                          "Zoom", "status", "confirmed", "updated_at", c->now);
    json_array_append(t, r);
    answer(c, 201, r);
}

static const struct change {
    const char *kind;
    void (*fn)(struct call *);
    const char *about;
} changes[] = {
    {"skill", change_skill, "{learner_external_id, skill, level?}: a skill earned in the LMS (skill.earned)"},
    {"certify", change_certify, "{employee_id, name, expires_on, issued_on?}: a certification issued or renewed (none)"},
    {"interview", change_interview, "{candidate_id, start, end, interviewers?}: a confirmed interview in the calendar (none)"},
    {"rate", change_rate, "{employee_id, performance_rating?, skill_rating?}: a review's ratings in the HRIS (none)"},
};

bool sb_talent_change(struct call *c)
{
    const char *kind = str(c->body, "kind");
    for (size_t i = 0; kind && i < sizeof changes / sizeof changes[0]; i++)
        if (!strcmp(changes[i].kind, kind)) {
            changes[i].fn(c);
            return true;
        }
    return false;
}

void sb_talent_changes_print(FILE *out)
{
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++)
        fprintf(out, "  %-13s %s\n", changes[i].kind, changes[i].about);
}
