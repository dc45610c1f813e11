/* The pager: a PagerDuty-style incident system (Events API v2, the enqueue endpoint), so
 * that a scenario can page an operator (seed 002: a failed nightly batch reruns, then
 * pages). Source: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
 * (body {routing_key, event_action, dedup_key?, payload: {summary, source, severity}};
 * answer 202 {status, message, dedup_key}; an invalid event 400 {status, message, errors}).
 * Incidents are kept in the data's "pager_incidents" table, one per dedup_key. */
#include "sandbox.h"

#include <stdio.h>
#include <string.h>

static const char *text(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void invalid(struct call *c, const char *why)
{
    c->status = 400;
    json_decref(c->out);
    c->out = json_pack("{s:s, s:s, s:[s]}", "status", "invalid event", "message",
                       "Event object is invalid", "errors", why);
}

static bool one_of(const char *v, const char *const *set)
{
    for (size_t i = 0; v && set[i]; i++)
        if (!strcmp(v, set[i]))
            return true;
    return false;
}

static json_t *incidents(struct call *c)
{
    json_t *t = json_object_get(c->db, "pager_incidents");
    if (!t) {
        t = json_array();
        json_object_set_new(c->db, "pager_incidents", t);
    }
    return t;
}

/* Why an event is invalid (PagerDuty's checks), or NULL. */
static const char *invalid_why(json_t *b)
{
    static const char *const actions[] = {"trigger", "acknowledge", "resolve", NULL};
    static const char *const severities[] = {"critical", "error", "warning", "info", NULL};
    json_t *payload = json_object_get(b, "payload");
    const char *key = text(b, "routing_key"), *action = text(b, "event_action");
    if (!json_is_object(b))
        return "the body must be a JSON object";
    if (!key || strlen(key) != 32)
        return "routing_key must be a 32-character integration key";
    if (!one_of(action, actions))
        return "event_action must be trigger, acknowledge or resolve";
    if (strcmp(action, "trigger"))
        return text(b, "dedup_key") ? NULL : "dedup_key is required to acknowledge or resolve";
    if (!text(payload, "summary") || !*text(payload, "summary"))
        return "payload.summary is required";
    if (!text(payload, "source") || !*text(payload, "source"))
        return "payload.source is required";
    if (!one_of(text(payload, "severity"), severities))
        return "payload.severity must be critical, error, warning or info";
    return NULL;
}

/* The open (not resolved) incident of dedup, or NULL. */
static json_t *open_incident(json_t *t, const char *dedup)
{
    size_t i;
    json_t *v, *found = NULL;
    json_array_foreach(t, i, v) {
        if (!strcmp(text(v, "dedup_key"), dedup) && strcmp(text(v, "status"), "resolved"))
            found = v;
    }
    return found;
}

/* POST /pager/v2/enqueue: trigger opens (or adds an event to) the incident of its
 * dedup_key (a new one is minted when none is given); acknowledge and resolve change
 * an open one's status (nothing open: accepted and ignored, as PagerDuty does). */
void sb_pager_enqueue(struct call *c)
{
    const char *why = invalid_why(c->body);
    if (why) {
        invalid(c, why);
        return;
    }
    json_t *b = c->body, *payload = json_object_get(b, "payload"), *t = incidents(c);
    const char *action = text(b, "event_action"), *dedup = text(b, "dedup_key");
    char minted[40];
    if (!dedup) {
        snprintf(minted, sizeof minted, "pd-%zu", json_array_size(t) + 1);
        dedup = minted;
    }
    json_t *found = open_incident(t, dedup);
    if (!strcmp(action, "trigger") && found) {
        json_int_t n = json_integer_value(json_object_get(found, "events"));
        json_object_set_new(found, "events", json_integer(n + 1));
    } else if (!strcmp(action, "trigger")) {
        json_array_append_new(t, json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O?, s:i, s:s}", "dedup_key", dedup,
                                           "routing_key", text(b, "routing_key"), "status", "triggered",
                                           "summary", json_object_get(payload, "summary"), "source",
                                           json_object_get(payload, "source"), "severity",
                                           json_object_get(payload, "severity"), "custom_details",
                                           json_object_get(payload, "custom_details"), "events", 1,
                                           "triggered_at", c->now));
    } else if (found) {
        const char *status = !strcmp(action, "resolve") ? "resolved" : "acknowledged";
        json_object_set_new(found, "status", json_string(status));
    }
    c->status = 202;
    json_decref(c->out);
    c->out = json_pack("{s:s, s:s, s:s}", "status", "success", "message", "Event processed", "dedup_key", dedup);
}
