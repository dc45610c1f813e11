/* Reconciliation at scale: N HRIS employees against N LMS learners as JSON records (as
 * the engine holds lists it fetched), diffed compare-style: learners indexed by the
 * employee id, each employee looked up once, then the learners no employee claimed.
 * Prints N, the diff's time, the time to build the lists, the drift found and the peak
 * resident memory. usage: recon N */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    double t0 = ms();
    json_t *emps = json_array(), *lrns = json_array();
    char id[32], email[64];
    for (long i = 0; i < n; i++) {
        snprintf(id, sizeof id, "E-%ld", 100000 + i);
        snprintf(email, sizeof email, "person.%ld@example.com", i);
        json_array_append_new(emps, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "work_email", email,
                                              "title", i % 97 ? "Engineer" : "Manager", "status",
                                              i % 50 ? "active" : "terminated"));
        if (i % 100 == 7) /* a missing learner */
            continue;
        if (i % 100 == 8) /* an orphan: an id no employee has */
            snprintf(id, sizeof id, "X-%ld", i);
        json_array_append_new(lrns, json_pack("{s:s, s:s, s:s, s:b}", "external_id", id, "email",
                                              email, "title", i % 89 ? (i % 97 ? "Engineer" : "Manager")
                                                                     : "Old Title", "active", 1));
    }
    double t1 = ms();
    json_t *by = json_object(), *seen = json_object(), *drift = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(lrns, i, v)
        json_object_set(by, json_string_value(json_object_get(v, "external_id")), v);
    json_array_foreach(emps, i, v) {
        const char *eid = json_string_value(json_object_get(v, "id"));
        json_t *l = json_object_get(by, eid);
        bool active = !strcmp(json_string_value(json_object_get(v, "status")), "active");
        if (l)
            json_object_set_new(seen, eid, json_true());
        if (active && !l)
            json_array_append_new(drift, json_pack("{s:s, s:s}", "kind", "missing_learner", "employee_id", eid));
        else if (!active && l && json_is_true(json_object_get(l, "active")))
            json_array_append_new(drift, json_pack("{s:s, s:s}", "kind", "active_learner_terminated", "employee_id", eid));
        else if (l && active && !json_equal(json_object_get(l, "title"), json_object_get(v, "title")))
            json_array_append_new(drift, json_pack("{s:s, s:s}", "kind", "field_mismatch", "employee_id", eid));
    }
    json_array_foreach(lrns, i, v) {
        const char *ext = json_string_value(json_object_get(v, "external_id"));
        if (!json_object_get(seen, ext))
            json_array_append_new(drift, json_pack("{s:s, s:s}", "kind", "orphan_learner", "external_id", ext));
    }
    double t2 = ms();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%ld %.0f %.0f %zu %.0f\n", n, t2 - t1, t1 - t0, json_array_size(drift), ru.ru_maxrss / 1024.0);
    return 0;
}
