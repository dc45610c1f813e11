/* The reconcile module's engine at scale (run/recon.c): N HRIS employees against N LMS
 * learners, each generated one record at a time and freed once read (as a paged source
 * hands them out), the learners indexed (key and 3 compared fields), the employees
 * streamed; about 3% drift planted (a missing learner, an orphan and a title mismatch
 * in each hundred). Prints N, the seconds taken (wall clock, then CPU: user + system),
 * the drift found, the peak resident memory (getrusage ru_maxrss) in MB, and the changed,
 * only-left and only-right counts. usage: reconcile N */
#include "run/recon.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

struct gen {
    struct sc_recon_source src;
    long i, n;
    bool learners;
    json_t *cur;
};

static int gen_next(struct sc_recon_source *src, const json_t **rec, enum sc_status *status,
                    char *err, size_t errlen)
{
    (void)status;
    (void)err;
    (void)errlen;
    struct gen *g = (struct gen *)src;
    json_decref(g->cur);
    g->cur = NULL;
    if (g->learners && g->i < g->n && g->i % 100 == 7)
        g->i++; /* a missing learner */
    if (g->i >= g->n)
        return 0;
    long i = g->i++;
    char id[32], email[64], phone[32];
    snprintf(id, sizeof id, "%s-%07ld", g->learners && i % 100 == 8 ? "X" : "E", i);
    snprintf(email, sizeof email, "%s.%ld@example.com", g->learners ? "Person" : "person", i);
    snprintf(phone, sizeof phone, "+1-555-%07ld", i);
    const char *title = i % 97 ? "Engineer" : "Manager";
    if (g->learners && i % 89 == 0)
        title = "Old Title";
    g->cur = g->learners
                 ? json_pack("{s:s, s:s, s:s, s:f, s:b, s:s}", "external_id", id, "email", email,
                             "title", title, "hours", 40.0, "active", 1, "locale", "en_US")
                 : json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:{s:s, s:s}}", "id", id, "work_email",
                             email, "title", title, "hours", 40, "phone", phone, "status",
                             "active", "department", "name", "Engineering", "cost_center",
                             "CC-100");
    *rec = g->cur;
    return g->cur ? 1 : -1;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    struct sc_rules_field fields[] = {
        {.name = "email", .left = "work_email", .right = "email", .rule = "ci"},
        {.name = "title", .left = "title", .rule = "exact"},
        {.name = "hours", .left = "hours", .rule = "number"},
    };
    struct sc_recon_spec spec = {.fields = fields, .nfields = 3, .left_key = "id",
                                 .right_key = "external_id", .index_right = true};
    struct gen left = {.src = {.next = gen_next}, .n = n};
    struct gen right = {.src = {.next = gen_next}, .n = n, .learners = true};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *drifts;
    struct sc_recon_counts c;
    char err[512];
    enum sc_status st = sc_recon_run(&spec, &left.src, &right.src, &drifts, &c, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != SC_OK) {
        fprintf(stderr, "reconcile: %s\n", err);
        return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%ld %.2f %.2f %zu %.0f %lld %lld %lld\n", n,
           (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
           ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
           json_array_size(drifts),
           ru.ru_maxrss / 1024.0, (long long)c.changed, (long long)c.only_left,
           (long long)c.only_right);
    json_decref(drifts);
    return 0;
}
