/* The webhooks the simulated systems send, signed as real senders sign them. */
#include "sandbox.h"

#include "model/webhook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct kind {
    const char *name, *system, *scheme, *about;
    const char *path; /* where --emit-to sends it (the shipped scenarios' webhook paths) */
    const char *payload; /* JSON; "@now" is replaced by the send time */
};

/* Vendor A and vendor B report the same thing in different shapes, on purpose. */
static const struct kind kinds[] = {
    {"employee.changed", "hris", "standard", "an employee record changed", "/hooks/hris/employee-changed",
     "{\"type\":\"employee.changed\",\"employee_id\":\"E-1001\",\"changed_fields\":[\"title\"],"
     "\"occurred_at\":\"@now\"}"},
    {"role.changed", "hris", "standard", "a role change (title, department, manager)", "/hooks/hris/role-changed",
     "{\"type\":\"role.changed\",\"employee_id\":\"E-1007\",\"title\":\"Staff Engineer\","
     "\"department_id\":\"D-10\",\"manager_id\":\"E-1001\",\"effective_date\":\"2026-04-01\","
     "\"occurred_at\":\"@now\"}"},
    {"termination", "hris", "standard", "an employee was terminated", "/hooks/hris/terminated",
     "{\"type\":\"employee.terminated\",\"employee_id\":\"E-1013\",\"termination_date\":"
     "\"2026-03-31\",\"reason\":\"resignation\",\"occurred_at\":\"@now\"}"},
    {"new-hire", "hris", "standard", "a new hire was created in the HRIS", "/hooks/hris/new-hire",
     "{\"type\":\"employee.hired\",\"employee_id\":\"E-1001\",\"offer_id\":\"OFF-701\","
     "\"occurred_at\":\"@now\"}"},
    {"completion", "lms", "standard", "a learner completed a course", "/hooks/lms/completion",
     "{\"type\":\"completion.created\",\"completion_id\":\"CP-0001\",\"learner_external_id\":"
     "\"E-1001\",\"course_id\":\"C-101\",\"score\":92,\"completed_at\":\"@now\"}"},
    {"offer.accepted", "ats", "standard", "a candidate accepted an offer", "/hooks/ats/offer-accepted",
     "{\"type\":\"offer.accepted\",\"offer_id\":\"OFF-701\",\"candidate_id\":\"CAND-301\","
     "\"accepted_at\":\"@now\"}"},
    {"screening.a", "screening-a", "hub", "vendor A's screening result (flat, hub signature)", "/hooks/screening/vendor-a",
     "{\"report_id\":\"SA-9001\",\"candidate_ref\":\"CAND-301\",\"status\":\"CLEAR\","
     "\"package\":\"standard\",\"completed\":\"@now\"}"},
    {"screening.b", "screening-b", "standard", "vendor B's screening result (nested)", "/hooks/screening/vendor-b",
     "{\"event\":\"screening.completed\",\"data\":{\"screening\":{\"id\":\"SB-4401\","
     "\"candidate\":{\"external_id\":\"CAND-302\"},\"result\":{\"outcome\":\"pass\","
     "\"adjudication\":\"auto\"},\"finished_at\":\"@now\"}}}"},
};

void sb_emit_kinds(FILE *out)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        fprintf(out, "  %-17s %-12s %s\n", kinds[i].name, kinds[i].system, kinds[i].about);
}

static const struct kind *find(const char *name)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].name, name))
            return &kinds[i];
    return NULL;
}

const char *sb_emit_system(const char *kind)
{
    const struct kind *k = find(kind);
    return k ? k->system : NULL;
}

const char *sb_emit_path(const char *kind)
{
    const struct kind *k = find(kind);
    return k ? k->path : NULL;
}

const char *sb_emit_kind_at(size_t i)
{
    return i < sizeof kinds / sizeof kinds[0] ? kinds[i].name : NULL;
}

/* Sets a dotted key ("data.screening.id") in v, making objects on the way. */
static int set_path(json_t *v, const char *path, json_t *val)
{
    char key[128];
    const char *dot = strchr(path, '.');
    if (!dot)
        return json_object_set(v, path, val);
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    json_t *next = json_object_get(v, key);
    if (!json_is_object(next)) {
        next = json_object();
        if (json_object_set_new(v, key, next) != 0)
            return -1;
    }
    return set_path(next, dot + 1, val);
}

static void fill_now(json_t *v, const char *now)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x) {
            if (json_is_string(x) && !strcmp(json_string_value(x), "@now"))
                json_string_set(x, now);
            else
                fill_now(x, now);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) fill_now(x, now);
    }
}

static size_t gather(char *p, size_t size, size_t n, void *ud)
{
    FILE *f = ud;
    return fwrite(p, size, n, f);
}

char *sb_emit_body(const char *kind, json_t *fields, const char *now)
{
    const struct kind *k = find(kind);
    if (!k)
        return NULL;
    json_t *payload = json_loads(k->payload, 0, NULL);
    fill_now(payload, now);
    const char *key;
    json_t *val;
    json_object_foreach(fields, key, val) set_path(payload, key, val);
    char *body = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    return body;
}

void sb_emit_new_id(char *id, size_t n)
{
    unsigned char r[8] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        memset(r, 7, sizeof r);
    snprintf(id, n, "msg_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
}

long sb_emit_post(void *curl, const struct emit_post *p, char **answer, char *err, size_t errlen)
{
    *answer = NULL;
    const struct kind *k = find(p->kind);
    if (!k) {
        snprintf(err, errlen, "unknown kind %s", p->kind);
        return 0;
    }
    time_t t = time(NULL);
    char ts[24], sig[128], h[256];
    snprintf(ts, sizeof ts, "%lld", (long long)t);
    const char *scheme = p->scheme ? p->scheme : k->scheme;
    size_t blen = strlen(p->body);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (p->secret && !strcmp(scheme, "hub")) {
        if (sc_webhook_sign_hub(p->secret, p->body, blen, sig, sizeof sig) != 0) {
            snprintf(err, errlen, "signing failed");
            curl_slist_free_all(hdrs);
            return 0;
        }
        snprintf(h, sizeof h, "X-Hub-Signature-256: %s", sig);
        hdrs = curl_slist_append(hdrs, h);
    } else if (p->secret) {
        if (sc_webhook_sign(p->secret, p->id, ts, p->body, blen, sig, sizeof sig) != 0) {
            snprintf(err, errlen, "the secret must be whsec_<base64> for Standard Webhooks");
            curl_slist_free_all(hdrs);
            return 0;
        }
        snprintf(h, sizeof h, "webhook-signature: %s", sig);
        hdrs = curl_slist_append(hdrs, h);
        snprintf(h, sizeof h, "webhook-timestamp: %s", ts);
        hdrs = curl_slist_append(hdrs, h);
    }
    snprintf(h, sizeof h, "webhook-id: %s", p->id);
    hdrs = curl_slist_append(hdrs, h);
    char *resp = NULL;
    size_t rlen = 0;
    FILE *mem = open_memstream(&resp, &rlen);
    CURL *c = curl ? curl : curl_easy_init();
    long status = 0;
    if (!c || !mem) {
        snprintf(err, errlen, "out of memory");
    } else {
        curl_easy_setopt(c, CURLOPT_URL, p->to);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK)
            snprintf(err, errlen, "POST %s: %s", p->to, curl_easy_strerror(rc));
        else
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    if (c && c != curl)
        curl_easy_cleanup(c);
    if (mem)
        fclose(mem);
    *answer = resp;
    curl_slist_free_all(hdrs);
    return status;
}

long sb_emit_send(const struct emit *e, char **answer, char *err, size_t errlen)
{
    *answer = NULL;
    if (!find(e->kind)) {
        snprintf(err, errlen, "unknown kind %s", e->kind);
        return 0;
    }
    time_t t = time(NULL);
    char now[32], id[64];
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    char *body = sb_emit_body(e->kind, e->fields, now);
    if (e->id)
        snprintf(id, sizeof id, "%s", e->id);
    else
        sb_emit_new_id(id, sizeof id);
    struct emit_post p = {.kind = e->kind, .to = e->to, .body = body, .id = id, .secret = e->secret,
                          .scheme = e->scheme};
    long status = body ? sb_emit_post(NULL, &p, answer, err, errlen) : 0;
    free(body);
    return status;
}
