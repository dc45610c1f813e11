/* The simulated systems' REST APIs: HRIS, LMS, ATS, payroll, calendar, candidate
 * comms, the ops channel. Each handler reads and writes the data tree of the call. */
#include "sandbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_error(struct call *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->status = status;
    json_decref(c->out);
    c->out = json_pack("{s:s}", "error", msg);
}

static void ok(struct call *c, int status, json_t *out)
{
    c->status = status;
    json_decref(c->out);
    c->out = out;
}

static json_t *table(struct call *c, const char *name)
{
    json_t *t = json_object_get(c->db, name);
    if (!t) {
        t = json_array();
        json_object_set_new(c->db, name, t);
    }
    return t;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *q(struct call *c, const char *name)
{
    return str(c->query, name);
}

static json_t *find_by(json_t *arr, const char *key, const char *val)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = str(v, key);
        if (s && val && !strcmp(s, val))
            return v;
    }
    return NULL;
}

/* A page of a list: ?page=N (from 1) &per_page=M (default 25, at most 100). */
static json_t *page_of(struct call *c, json_t *items)
{
    long page = q(c, "page") ? atol(q(c, "page")) : 1, per = q(c, "per_page") ? atol(q(c, "per_page")) : 25;
    if (page < 1)
        page = 1;
    if (per < 1 || per > 100)
        per = per < 1 ? 25 : 100;
    size_t total = json_array_size(items), from = (size_t)((page - 1) * per);
    json_t *out = json_array();
    for (size_t i = from; i < total && i < from + (size_t)per; i++)
        json_array_append(out, json_array_get(items, i));
    json_t *r = json_pack("{s:o, s:i, s:i, s:i}", "items", out, "page", (int)page, "per_page",
                          (int)per, "total", (int)total);
    json_object_set_new(r, "next_page", from + (size_t)per < total ? json_integer(page + 1)
                                                                 : json_null());
    json_decref(items);
    return r;
}

/* Items whose `field` (an ISO time or date) is at or after `since` (string order). */
static json_t *since(json_t *arr, const char *field, const char *from, const char *to)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = str(v, field);
        if ((from && (!s || strcmp(s, from) < 0)) || (to && (!s || strncmp(s, to, strlen(to)) > 0)))
            continue;
        json_array_append(out, v);
    }
    return out;
}

/* Fields a write must have: a 422 naming the first missing. */
static bool need(struct call *c, const char *fields)
{
    if (!json_is_object(c->body)) {
        sb_error(c, 400, "send a JSON object");
        return false;
    }
    for (const char *f = fields; *f; f += strlen(f) + 1) {
        json_t *v = json_object_get(c->body, f);
        if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
            sb_error(c, 422, "%s is required", f);
            json_object_set_new(c->out, "field", json_string(f));
            return false;
        }
    }
    return true;
}

static json_t *copy_body(struct call *c)
{
    json_t *v = json_deep_copy(c->body);
    json_object_del(v, "sent_from"); /* scenarist's provenance fields are kept in the journal */
    json_object_del(v, "sent_to");
    return v;
}

static void next_id(struct call *c, const char *tbl, const char *prefix, int base, char *out,
                    size_t n)
{
    int max = base;
    size_t i;
    json_t *v;
    json_array_foreach(table(c, tbl), i, v) {
        const char *id = str(v, "id");
        if (id && !strncmp(id, prefix, strlen(prefix)) && atoi(id + strlen(prefix)) > max)
            max = atoi(id + strlen(prefix));
    }
    snprintf(out, n, "%s%d", prefix, max + 1);
}

/* ---- HRIS ---- */

static json_t *employee(struct call *c)
{
    json_t *e = find_by(table(c, "employees"), "id", c->params[0]);
    if (!e)
        sb_error(c, 404, "no employee %s", c->params[0]);
    return e;
}

static void hris_list(struct call *c)
{
    json_t *items = since(table(c, "employees"), "updated_at", q(c, "updated_since"), NULL);
    if (q(c, "status")) {
        json_t *f = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(items, i, v) if (!strcmp(str(v, "status"), q(c, "status")))
            json_array_append(f, v);
        json_decref(items);
        items = f;
    }
    ok(c, 200, page_of(c, items));
}

static void hris_get(struct call *c)
{
    json_t *e = employee(c);
    if (e)
        ok(c, 200, json_incref(e));
}

static void set_department(struct call *c, json_t *e, const char *dept)
{
    json_t *d = find_by(table(c, "departments"), "id", dept);
    if (d)
        json_object_set_new(e, "department", json_pack("{s:s, s:s}", "id", dept, "name", str(d, "name")));
}

static void hris_create(struct call *c)
{
    if (!need(c, "first_name\0last_name\0work_email\0start_date\0title\0department_id\0"))
        return;
    if (find_by(table(c, "employees"), "work_email", str(c->body, "work_email"))) {
        sb_error(c, 409, "an employee with work_email %s exists", str(c->body, "work_email"));
        return;
    }
    if (!find_by(table(c, "departments"), "id", str(c->body, "department_id"))) {
        sb_error(c, 422, "no department %s", str(c->body, "department_id"));
        return;
    }
    char id[32];
    next_id(c, "employees", "E-", 1000, id, sizeof id);
    json_t *e = copy_body(c);
    json_object_set_new(e, "id", json_string(id));
    json_object_set_new(e, "hire_date", json_string(str(c->body, "start_date")));
    json_object_del(e, "start_date");
    json_object_del(e, "department_id");
    set_department(c, e, str(c->body, "department_id"));
    json_object_set_new(e, "status", json_string("active"));
    json_object_set_new(e, "updated_at", json_string(c->now));
    json_array_append_new(table(c, "employees"), e);
    ok(c, 201, json_incref(e));
}

static void hris_update(struct call *c)
{
    json_t *e = employee(c);
    if (!e || !need(c, ""))
        return;
    static const char *const allowed[] = {"first_name", "last_name", "preferred_name",
                                          "work_email", "title", "manager_id", "location",
                                          "employment_type", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(c->body, k, v) {
        bool known = !strcmp(k, "department_id") || !strcmp(k, "sent_from") || !strcmp(k, "sent_to");
        for (size_t i = 0; allowed[i]; i++)
            known |= !strcmp(k, allowed[i]);
        if (!known) {
            sb_error(c, 422, "%s cannot be changed here", k);
            return;
        }
    }
    json_object_foreach(c->body, k, v) {
        if (!strcmp(k, "department_id"))
            set_department(c, e, json_string_value(v));
        else if (strcmp(k, "sent_from") && strcmp(k, "sent_to"))
            json_object_set(e, k, v);
    }
    json_object_set_new(e, "updated_at", json_string(c->now));
    ok(c, 200, json_incref(e));
}

static void hris_role(struct call *c)
{
    json_t *e = employee(c);
    if (!e || !need(c, "title\0effective_date\0"))
        return;
    json_object_set(e, "title", json_object_get(c->body, "title"));
    if (str(c->body, "department_id"))
        set_department(c, e, str(c->body, "department_id"));
    if (str(c->body, "manager_id"))
        json_object_set(e, "manager_id", json_object_get(c->body, "manager_id"));
    json_object_set_new(e, "updated_at", json_string(c->now));
    json_t *r = copy_body(c);
    json_object_set_new(r, "employee_id", json_string(c->params[0]));
    json_array_append_new(table(c, "role_changes"), r);
    ok(c, 201, json_incref(r));
}

static void hris_terminate(struct call *c)
{
    json_t *e = employee(c);
    if (!e || !need(c, "termination_date\0"))
        return;
    json_object_set_new(e, "status", json_string("terminated"));
    json_object_set(e, "termination_date", json_object_get(c->body, "termination_date"));
    json_object_set_new(e, "updated_at", json_string(c->now));
    json_t *r = copy_body(c);
    json_object_set_new(r, "employee_id", json_string(c->params[0]));
    json_object_set_new(r, "system", json_string("hris"));
    json_array_append_new(table(c, "terminations"), r);
    ok(c, 201, json_incref(r));
}

static void hris_history(struct call *c)
{
    if (!employee(c))
        return;
    json_t *h = json_object_get(table(c, "learning_history"), c->params[0]);
    ok(c, 200, json_pack("{s:O}", "items", h ? h : json_array()));
}

/* Learning history is appended, never overwritten; a terminated employee takes none. */
static void hris_history_add(struct call *c)
{
    json_t *e = employee(c);
    if (!e || !need(c, "course_id\0completed_at\0"))
        return;
    if (!strcmp(str(e, "status"), "terminated")) {
        sb_error(c, 409, "employee %s is terminated: learning history is closed", c->params[0]);
        return;
    }
    json_t *all = json_object_get(c->db, "learning_history");
    if (!json_is_object(all)) {
        all = json_object();
        json_object_set_new(c->db, "learning_history", all);
    }
    json_t *h = json_object_get(all, c->params[0]);
    if (!h) {
        h = json_array();
        json_object_set_new(all, c->params[0], h);
    }
    json_t *r = copy_body(c);
    json_object_set_new(r, "recorded_at", json_string(c->now));
    json_array_append_new(h, r);
    ok(c, 201, json_incref(r));
}

static void list_table(struct call *c, const char *name)
{
    ok(c, 200, page_of(c, json_incref(table(c, name))));
}

static void append(struct call *c, const char *name, const char *fields)
{
    if (!need(c, fields))
        return;
    json_t *r = copy_body(c);
    json_object_set_new(r, "received_at", json_string(c->now));
    json_array_append_new(table(c, name), r);
    ok(c, 201, json_incref(r));
}

static void hris_drift(struct call *c) { list_table(c, "admin_drift"); }
static void hris_drift_add(struct call *c) { append(c, "admin_drift", "kind\0"); }

static void hris_hires(struct call *c)
{
    if (!q(c, "from") || !q(c, "to")) {
        sb_error(c, 400, "give from and to (YYYY-MM-DD)");
        return;
    }
    ok(c, 200, page_of(c, since(table(c, "employees"), "hire_date", q(c, "from"), q(c, "to"))));
}

/* ---- LMS ---- */

static json_t *learner(struct call *c)
{
    json_t *l = find_by(table(c, "learners"), "external_id", c->params[0]);
    if (!l)
        sb_error(c, 404, "no learner with external_id %s", c->params[0]);
    return l;
}

static void lms_list(struct call *c)
{
    ok(c, 200, page_of(c, since(table(c, "learners"), "updated_at", q(c, "updated_since"), NULL)));
}

static void lms_get(struct call *c)
{
    json_t *l = learner(c);
    if (l)
        ok(c, 200, json_incref(l));
}

static void lms_upsert(struct call *c)
{
    if (!need(c, "email\0"))
        return;
    json_t *l = find_by(table(c, "learners"), "external_id", c->params[0]);
    bool fresh = !l;
    if (fresh) {
        char id[32];
        next_id(c, "learners", "L-", 9100, id, sizeof id);
        l = json_pack("{s:s, s:s, s:b}", "id", id, "external_id", c->params[0], "active", 1);
        json_array_append_new(table(c, "learners"), l);
    }
    const char *k;
    json_t *v;
    json_object_foreach(c->body, k, v) if (strcmp(k, "sent_from") && strcmp(k, "sent_to") &&
                                           strcmp(k, "id") && strcmp(k, "external_id"))
        json_object_set(l, k, v);
    json_object_set_new(l, "updated_at", json_string(c->now));
    ok(c, fresh ? 201 : 200, json_incref(l));
}

static void lms_revoke(struct call *c)
{
    json_t *l = learner(c);
    if (!l)
        return;
    json_object_set_new(l, "active", json_false());
    json_object_set_new(l, "revoked_at", json_string(c->now));
    ok(c, 200, json_incref(l));
}

static void lms_finalise(struct call *c)
{
    json_t *l = learner(c);
    if (!l)
        return;
    int n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(table(c, "completions"), i, v)
        n += !strcmp(str(v, "learner_external_id"), c->params[0]);
    json_t *rec = json_pack("{s:s, s:s, s:i}", "external_id", c->params[0], "finalised_at", c->now,
                            "completions", n);
    json_object_set(l, "record", rec);
    ok(c, 200, rec);
}

static void lms_terminations(struct call *c)
{
    if (!need(c, "external_id\0termination_date\0"))
        return;
    json_t *r = copy_body(c);
    json_object_set_new(r, "system", json_string("lms"));
    json_object_set_new(r, "received_at", json_string(c->now));
    json_array_append_new(table(c, "terminations"), r);
    ok(c, 201, json_incref(r));
}

static void lms_completions(struct call *c)
{
    ok(c, 200, page_of(c, since(table(c, "completions"), "completed_at", q(c, "since"), NULL)));
}

static void lms_courses(struct call *c) { list_table(c, "courses"); }

/* ---- ATS ---- */

static void ats_candidates(struct call *c) { list_table(c, "candidates"); }

static void ats_candidate(struct call *c)
{
    json_t *v = find_by(table(c, "candidates"), "id", c->params[0]);
    if (v)
        ok(c, 200, json_incref(v));
    else
        sb_error(c, 404, "no candidate %s", c->params[0]);
}

static void ats_offers(struct call *c)
{
    json_t *items = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(table(c, "offers"), i, v) if (!q(c, "candidate_id") ||
                                                     !strcmp(str(v, "candidate_id"), q(c, "candidate_id")))
        json_array_append(items, v);
    ok(c, 200, page_of(c, items));
}

static void ats_offer(struct call *c)
{
    json_t *v = find_by(table(c, "offers"), "id", c->params[0]);
    if (v)
        ok(c, 200, json_incref(v));
    else
        sb_error(c, 404, "no offer %s", c->params[0]);
}

static void ats_accepted(struct call *c)
{
    if (!q(c, "from") || !q(c, "to")) {
        sb_error(c, 400, "give from and to (YYYY-MM-DD)");
        return;
    }
    ok(c, 200, page_of(c, since(table(c, "offers"), "accepted_at", q(c, "from"), q(c, "to"))));
}

static void ats_screenings(struct call *c)
{
    json_t *v = find_by(table(c, "candidates"), "id", c->params[0]);
    if (v)
        ok(c, 200, json_pack("{s:O}", "items", json_object_get(v, "screenings")));
    else
        sb_error(c, 404, "no candidate %s", c->params[0]);
}

/* Screening history is appended, never overwritten. */
static void ats_screening_add(struct call *c)
{
    json_t *v = find_by(table(c, "candidates"), "id", c->params[0]);
    if (!v) {
        sb_error(c, 404, "no candidate %s", c->params[0]);
        return;
    }
    if (!need(c, "vendor\0result\0"))
        return;
    json_t *h = json_object_get(v, "screenings");
    if (!json_is_array(h)) {
        h = json_array();
        json_object_set_new(v, "screenings", h);
    }
    json_t *r = copy_body(c);
    json_object_set_new(r, "recorded_at", json_string(c->now));
    json_array_append_new(h, r);
    ok(c, 201, json_incref(r));
}

/* ---- payroll, calendar, comms, ops ---- */

static void payroll_add(struct call *c) { append(c, "payroll_new_hires", "employee_id\0pay_rate\0start_date\0"); }
static void payroll_list(struct call *c) { list_table(c, "payroll_new_hires"); }

static void calendar_events(struct call *c)
{
    ok(c, 200, page_of(c, since(table(c, "calendar_events"), "updated_at", q(c, "updated_since"), NULL)));
}

static void comms_add(struct call *c) { append(c, "messages", "to\0template\0"); }
static void comms_list(struct call *c) { list_table(c, "messages"); }

/* Slack's incoming webhooks answer "ok" as text. */
static void ops_post(struct call *c)
{
    if (!json_is_object(c->body) || !str(c->body, "text")) {
        c->status = 400;
        c->text = "invalid_payload";
        return;
    }
    json_t *r = json_pack("{s:s, s:O, s:s}", "channel", c->params[0], "text",
                          json_object_get(c->body, "text"), "received_at", c->now);
    json_array_append_new(table(c, "ops_messages"), r);
    c->status = 200;
    c->text = "ok";
}

static void ops_list(struct call *c)
{
    json_t *items = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(table(c, "ops_messages"), i, v) if (!q(c, "channel") ||
                                                           !strcmp(str(v, "channel"), q(c, "channel")))
        json_array_append(items, v);
    ok(c, 200, page_of(c, items));
}

/* ---- the route table ---- */

static const struct route {
    const char *method, *pattern;
    void (*fn)(struct call *);
    bool auth;
    const char *about;
} routes[] = {
    {"GET", "/hris/employees", hris_list, true, "employees: ?updated_since=ISO &status= &page= &per_page="},
    {"POST", "/hris/employees", hris_create, true, "create a new hire (first_name, last_name, work_email, start_date, title, department_id, manager_id)"},
    {"GET", "/hris/employees/:id", hris_get, true, "one employee"},
    {"PATCH", "/hris/employees/:id", hris_update, true, "update fields (names, work_email, title, department_id, manager_id, location)"},
    {"PUT", "/hris/employees/:id", hris_update, true, "same as PATCH"},
    {"POST", "/hris/employees/:id/role-changes", hris_role, true, "a role change (title, effective_date, department_id?, manager_id?)"},
    {"POST", "/hris/employees/:id/terminations", hris_terminate, true, "terminate (termination_date, reason)"},
    {"GET", "/hris/employees/:id/learning-history", hris_history, true, "learning-history records"},
    {"POST", "/hris/employees/:id/learning-history", hris_history_add, true, "append a record (course_id, completed_at); 409 for a terminated employee"},
    {"GET", "/hris/new-hires", hris_hires, true, "employees hired ?from=DATE&to=DATE"},
    {"GET", "/hris/admin/drift", hris_drift, true, "the admin drift queue"},
    {"POST", "/hris/admin/drift", hris_drift_add, true, "add a drift item (kind, ...)"},
    {"GET", "/lms/learners", lms_list, true, "learners: ?updated_since= &page= &per_page="},
    {"GET", "/lms/learners/:external_id", lms_get, true, "one learner by the HRIS employee id"},
    {"PUT", "/lms/learners/:external_id", lms_upsert, true, "upsert a learner (email, ...): 201 created, 200 updated"},
    {"POST", "/lms/learners/:external_id/revoke", lms_revoke, true, "revoke access"},
    {"POST", "/lms/learners/:external_id/finalise", lms_finalise, true, "finalise the learning record"},
    {"POST", "/lms/terminations", lms_terminations, true, "a termination event (external_id, termination_date)"},
    {"GET", "/lms/completions", lms_completions, true, "completions ?since=ISO &page= &per_page="},
    {"GET", "/lms/courses", lms_courses, true, "courses"},
    {"GET", "/ats/candidates", ats_candidates, true, "candidates"},
    {"GET", "/ats/candidates/:id", ats_candidate, true, "one candidate"},
    {"GET", "/ats/candidates/:id/screenings", ats_screenings, true, "screening history"},
    {"POST", "/ats/candidates/:id/screenings", ats_screening_add, true, "append a screening result (vendor, result); never overwrites"},
    {"GET", "/ats/offers", ats_offers, true, "offers ?candidate_id="},
    {"GET", "/ats/offers/accepted", ats_accepted, true, "offers accepted ?from=DATE&to=DATE"},
    {"GET", "/ats/offers/:id", ats_offer, true, "one offer (pay_rate, start_date, manager_id)"},
    {"POST", "/payroll/new-hires", payroll_add, true, "dispatch a new hire (employee_id, pay_rate, start_date)"},
    {"GET", "/payroll/new-hires", payroll_list, true, "new hires dispatched"},
    {"GET", "/calendar/events", calendar_events, true, "interview events ?updated_since=ISO"},
    {"POST", "/comms/messages", comms_add, true, "send a candidate message (to, template)"},
    {"GET", "/comms/messages", comms_list, true, "messages sent"},
    {"POST", "/ops/hooks/:channel", ops_post, false, "Slack-style incoming webhook ({text}); answers ok"},
    {"GET", "/ops/messages", ops_list, false, "messages posted ?channel="},
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

bool sb_route(struct call *c)
{
    static _Thread_local char bufs[4][128];
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].pattern, c->path, c, bufs))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, c->method) != 0)
            continue;
        if (routes[i].auth && !c->authorised) {
            sb_error(c, 401, "credentials required (Authorization or X-API-Key)");
            return true;
        }
        routes[i].fn(c);
        return true;
    }
    if (path_known) {
        sb_error(c, 405, "%s is not allowed on %s", c->method, c->path);
        return true;
    }
    return false;
}

void sb_routes_print(FILE *out)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        fprintf(out, "  %-6s %-42s %s\n", routes[i].method, routes[i].pattern, routes[i].about);
}
