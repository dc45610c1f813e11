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
    const char *payload; /* JSON; "@now" is replaced by the send time */
};

/* Vendor A and vendor B report the same thing in different shapes, on purpose. */
static const struct kind kinds[] = {
    {"employee.changed", "hris", "standard", "an employee record changed",
     "{\"type\":\"employee.changed\",\"employee_id\":\"E-1001\",\"changed_fields\":[\"title\"],"
     "\"occurred_at\":\"@now\"}"},
    {"role.changed", "hris", "standard", "a role change (title, department, manager)",
     "{\"type\":\"role.changed\",\"employee_id\":\"E-1007\",\"title\":\"Staff Engineer\","
     "\"department_id\":\"D-10\",\"manager_id\":\"E-1001\",\"effective_date\":\"2026-04-01\","
     "\"occurred_at\":\"@now\"}"},
    {"termination", "hris", "standard", "an employee was terminated",
     "{\"type\":\"employee.terminated\",\"employee_id\":\"E-1013\",\"termination_date\":"
     "\"2026-03-31\",\"reason\":\"resignation\",\"occurred_at\":\"@now\"}"},
    {"new-hire", "hris", "standard", "a new hire was created in the HRIS",
     "{\"type\":\"employee.hired\",\"employee_id\":\"E-1001\",\"offer_id\":\"OFF-701\","
     "\"occurred_at\":\"@now\"}"},
    {"completion", "lms", "standard", "a learner completed a course",
     "{\"type\":\"completion.created\",\"completion_id\":\"CP-0001\",\"learner_external_id\":"
     "\"E-1001\",\"course_id\":\"C-101\",\"score\":92,\"completed_at\":\"@now\"}"},
    {"offer.accepted", "ats", "standard", "a candidate accepted an offer",
     "{\"type\":\"offer.accepted\",\"offer_id\":\"OFF-701\",\"candidate_id\":\"CAND-301\","
     "\"accepted_at\":\"@now\"}"},
    {"screening.a", "screening-a", "hub", "vendor A's screening result (flat, hub signature)",
     "{\"report_id\":\"SA-9001\",\"candidate_ref\":\"CAND-301\",\"status\":\"CLEAR\","
     "\"package\":\"standard\",\"completed\":\"@now\"}"},
    {"screening.b", "screening-b", "standard", "vendor B's screening result (nested)",
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

long sb_emit_send(const struct emit *e, char **answer, char *err, size_t errlen)
{
    *answer = NULL;
    const struct kind *k = find(e->kind);
    if (!k) {
        snprintf(err, errlen, "unknown kind %s", e->kind);
        return 0;
    }
    time_t t = time(NULL);
    char now[32], ts[24], id[64], sig[128], h[256];
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    snprintf(ts, sizeof ts, "%lld", (long long)t);
    json_t *payload = json_loads(k->payload, 0, NULL);
    fill_now(payload, now);
    const char *key;
    json_t *val;
    json_object_foreach(e->fields, key, val) set_path(payload, key, val);
    char *body = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    if (e->id) {
        snprintf(id, sizeof id, "%s", e->id);
    } else {
        unsigned char r[8] = {0};
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            memset(r, 7, sizeof r);
        snprintf(id, sizeof id, "msg_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
                 r[4], r[5], r[6], r[7]);
    }
    const char *scheme = e->scheme ? e->scheme : k->scheme;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (e->secret && !strcmp(scheme, "hub")) {
        if (sc_webhook_sign_hub(e->secret, body, strlen(body), sig, sizeof sig) != 0) {
            snprintf(err, errlen, "signing failed");
            goto fail;
        }
        snprintf(h, sizeof h, "X-Hub-Signature-256: %s", sig);
        hdrs = curl_slist_append(hdrs, h);
    } else if (e->secret) {
        if (sc_webhook_sign(e->secret, id, ts, body, strlen(body), sig, sizeof sig) != 0) {
            snprintf(err, errlen, "the secret must be whsec_<base64> for Standard Webhooks");
            goto fail;
        }
        snprintf(h, sizeof h, "webhook-signature: %s", sig);
        hdrs = curl_slist_append(hdrs, h);
        snprintf(h, sizeof h, "webhook-timestamp: %s", ts);
        hdrs = curl_slist_append(hdrs, h);
    }
    snprintf(h, sizeof h, "webhook-id: %s", id);
    hdrs = curl_slist_append(hdrs, h);
    char *resp = NULL;
    size_t rlen = 0;
    FILE *mem = open_memstream(&resp, &rlen);
    CURL *c = curl_easy_init();
    long status = 0;
    if (!c || !mem) {
        snprintf(err, errlen, "out of memory");
    } else {
        curl_easy_setopt(c, CURLOPT_URL, e->to);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK)
            snprintf(err, errlen, "POST %s: %s", e->to, curl_easy_strerror(rc));
        else
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    if (c)
        curl_easy_cleanup(c);
    if (mem)
        fclose(mem);
    *answer = resp;
    curl_slist_free_all(hdrs);
    free(body);
    return status;
fail:
    curl_slist_free_all(hdrs);
    free(body);
    return 0;
}
