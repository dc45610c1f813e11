#!/usr/bin/env bash
# The five talent scenarios of the library (seed 000's "mature deployment" list and seed
# 002's daily batch) against the sandbox: the exact writes each system received, the
# queue items, the messages, and what a rerun writes (nothing). On the test clock.
# usage: tests/library/new.sh SCENARIST SANDBOX
set -u
bin=$(realpath "$1")
sandbox=$(realpath "$2")
cd "$(dirname "$0")/../.."
suite=library/new
. tests/lib.sh
suite_tmp sbpid
export LIB_TOKEN=library-token LIB_WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw LIB_HUB=vendor-a
export SCENARIST_CLOCK=test:2026-03-06T08:00:00Z USER=hr-ops

start_sandbox "$tmp/port" "$tmp/sblog" --fixture tools/sandbox/fixture.json
u=$sb
cp orgs/system-of-record.yaml "$tmp/"
sed -e "s/@PORT@/$(cat "$tmp/port")/g" -e "s|@DIR@|$tmp|" tests/library/org.yaml.in > "$tmp/org.yaml"
org=(--org "$tmp/org.yaml")

# sql QUERY: sqlite over the files of $tmp (readfile).
sql() { sqlite3 :memory: "$1"; }
# journal QUERY: the sandbox's journal into $tmp/journal.json, its count printed.
journal() { curl -s "$u/_sandbox/journal?$1" > "$tmp/journal.json"; sql "SELECT json_extract(readfile('$tmp/journal.json'), '\$.count')"; }
# writes: "METHOD PATH" of every request in $tmp/journal.json, one a line.
writes() { sql "SELECT json_extract(value, '\$.method') || ' ' || json_extract(value, '\$.path') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests'))"; }
# run NAME BODY [args]: runs the scenario with BODY as the trigger's body.
run() {
    local n=$1
    printf '%s' "$2" > "$tmp/event.json"
    shift 2
    "$bin" run "scenarios/$n.yaml" --input "$tmp/event.json" "${org[@]}" "$@"
}
change() { curl -s -X POST -d "$1" "$u/_sandbox/change"; }
data() { curl -s "$u/_sandbox/data?table=$1" > "$tmp/$1.json"; }

check "the five validate against the test org, staging and production" \
    sh -c "for o in '$tmp/org.yaml' staging production; do '$bin' validate scenarios/skill-signal-push.yaml scenarios/enrollment-rules.yaml scenarios/credential-expiry-alerts.yaml scenarios/audit-report.yaml scenarios/routine-attributes-batch.yaml --org \$o || exit 1; done"

# ---- skill-signal-push: LMS skill earned -> HRIS profile ----
sk='{"type":"skill.earned","skill_id":"SK-00001","learner_external_id":"E-1012","skill":"sql","level":2,"earned_at":"2026-03-04T09:00:00Z"}'
expect_grep "skill-signal-push: a skill earned reaches the profile" 0 "success in" -- run skill-signal-push "$sk"
journal "system=hris&method=PUT" >/dev/null
expect "one PUT of the skill, with its level and provenance" 0 \
    '{"level":2,"source":"lms","earned_at":"2026-03-04T09:00:00Z","skill_id":"SK-00001","sent_from":"http://127.0.0.1:8080/scenarios/skill-signal-push/versions/draft/steps/write","sent_to":"'"$u"'/hris/employees/E-1012/skills/sql"}' \
    -- sql "SELECT json(json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body'))"
expect_grep "the same signal again (webhook and poll) writes nothing" 0 "dedupe          ok            0 ms  0 bundles" -- run skill-signal-push "$sk"
expect "still one PUT" 0 "1" -- journal "system=hris&method=PUT"
# E-1019 holds first-aid at level 3 on the profile already (fixture day 1 skill): an older level-2 signal lowers nothing
curl -s -X PUT -H 'Authorization: x' -d '{"level":3,"source":"lms"}' "$u/hris/employees/E-1019/skills/first-aid" >/dev/null
expect_grep "a lower level than the profile's is not written" 0 "needed                 lua             ok            0 ms  false" \
    -- run skill-signal-push '{"skill_id":"SK-00003","learner_external_id":"E-1019","skill":"first-aid","level":2,"earned_at":"2026-03-01T09:00:00Z"}'
expect "the profile keeps level 3" 0 "3" -- sh -c "curl -s -H 'Authorization: x' '$u/hris/employees/E-1019/skills' | jq -r '.items[] | select(.skill == \"first-aid\") | .level'"
expect_grep "a terminated employee's skill goes to a queue, not the profile" 0 "success in" \
    -- run skill-signal-push '{"skill_id":"SK-09001","learner_external_id":"E-1014","skill":"gdpr","level":1,"earned_at":"2026-03-05T09:00:00Z"}'
expect_grep "the unmatched queue names it" 0 "skill-signals-unmatched     1 open" -- "$bin" queue list "${org[@]}"
expect "and nothing was written for E-1014" 0 "0" -- journal "path=/hris/employees/E-1014/skills&method=PUT"

# ---- enrollment-rules: rules -> missing enrollments only ----
curl -s -H 'Authorization: x' "$u/lms/enrollment-rules" > "$tmp/rules.json"
expect "the LMS's rules: everyone, two departments, one title" 0 \
    "R-1 * * C-101|R-2 D-10 * C-102|R-3 D-30 * C-104|R-4 * Accountant C-105" \
    -- sql "SELECT group_concat(json_extract(value, '\$.id') || ' ' || ifnull(json_extract(value, '\$.department_id'), '*') || ' ' || ifnull(json_extract(value, '\$.title'), '*') || ' ' || json_extract(value, '\$.course_id'), '|') FROM json_each(json_extract(readfile('$tmp/rules.json'), '\$.items'))"
# what the rules require and the LMS lacks, computed here from the sandbox's own tables
data employees; data learners; data enrollments
want=$(python3 - "$tmp" <<'EOF'
import json, sys
t = sys.argv[1]
emps = json.load(open(t + "/employees.json")); ls = json.load(open(t + "/learners.json"))
ens = json.load(open(t + "/enrollments.json"))
rules = json.load(open(t + "/rules.json"))["items"]
active = {l["external_id"] for l in ls if l.get("active")}
have = {(e["learner_external_id"], e["course_id"]) for e in ens}
out = []
for e in emps:
    if e["status"] != "active" or e["id"] not in active:
        continue
    for r in rules:
        if (r["department_id"] in (None, e["department"]["id"])) and (r["title"] in (None, e["title"])) \
                and (e["id"], r["course_id"]) not in have:
            have.add((e["id"], r["course_id"]))
            out.append("POST /lms/enrollments %s %s %s" % (e["id"], r["course_id"], r["id"]))
print("\n".join(out))
EOF
)
expect "the fixture lacks 21 required enrollments" 0 "21" -- sh -c "printf '%s\n' '$want' | wc -l"
expect_grep "enrollment-rules: one run" 0 "success in" -- run enrollment-rules '{}'
journal "system=lms&method=POST" >/dev/null
expect "exactly the missing enrollments were posted, in employee then rule order" 0 "$want" \
    -- sql "SELECT json_extract(value, '\$.method') || ' ' || json_extract(value, '\$.path') || ' ' || json_extract(value, '\$.body.learner_external_id') || ' ' || json_extract(value, '\$.body.course_id') || ' ' || json_extract(value, '\$.body.rule_id') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests'))"
expect_grep "a rerun finds nothing missing: no write" 0 "each                   iterator        ok            0 ms  0 bundles" -- run enrollment-rules '{}'
expect "still 21 POSTs" 0 "21" -- journal "system=lms&method=POST"
change '{"kind":"role","employee_id":"E-1040","title":"Accountant","department_id":"D-30"}' >/dev/null
expect_grep "a role change to Accountant in D-30 adds that role's courses" 0 "success in" -- run enrollment-rules '{}'
journal "system=lms&method=POST" >/dev/null
expect "C-104 (department) and C-105 (title) for E-1040, nothing else" 0 "E-1040 C-104 R-3|E-1040 C-105 R-4" \
    -- sql "SELECT group_concat(json_extract(value, '\$.body.learner_external_id') || ' ' || json_extract(value, '\$.body.course_id') || ' ' || json_extract(value, '\$.body.rule_id'), '|') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests')) WHERE json_extract(value, '\$.seq') > (SELECT max(json_extract(value, '\$.seq')) - 2 FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests')))"
expect "the LMS answers a second enrollment 409 (nothing written)" 0 "409" \
    -- sh -c "curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: x' -d '{\"learner_external_id\":\"E-1040\",\"course_id\":\"C-105\"}' '$u/lms/enrollments'"

# ---- credential-expiry-alerts: within 30 days -> the manager, and a keyed queue ----
change '{"kind":"certify","employee_id":"E-1007","name":"Security+","expires_on":"2026-03-20"}' >/dev/null
change '{"kind":"certify","employee_id":"E-1001","name":"CPA","expires_on":"2026-04-01"}' >/dev/null
change '{"kind":"certify","employee_id":"E-1009","name":"First Aid","expires_on":"2026-04-10"}' >/dev/null
curl -s -H 'Authorization: x' "$u/hris/certifications?expires_from=2026-03-06&expires_to=2026-04-05" > "$tmp/certs.json"
expect "three certifications expire within 30 days (2026-04-10 is past them)" 0 \
    "CERT-00007 E-1036 2026-03-14|CERT-00010 E-1007 2026-03-20|CERT-00011 E-1001 2026-04-01" \
    -- sql "SELECT group_concat(json_extract(value, '\$.id') || ' ' || json_extract(value, '\$.employee_id') || ' ' || json_extract(value, '\$.expires_on'), '|') FROM json_each(json_extract(readfile('$tmp/certs.json'), '\$.items'))"
expect_grep "credential-expiry-alerts: a daily run" 0 "success in" -- run credential-expiry-alerts '{}'
journal "system=comms&method=POST" >/dev/null
expect "each manager is told once (E-1001 heads the org: no manager, no message)" 0 \
    "$(for x in "E-1036 CERT-00007 Forklift Licence 2026-03-14" "E-1007 CERT-00010 Security+ 2026-03-20"; do set -- $x; m=$(curl -s -H 'Authorization: x' "$u/hris/employees/$1" | jq -r .manager_id); printf '%s|credential-expiry|%s|%s|%s\n' "$(curl -s -H 'Authorization: x' "$u/hris/employees/$m" | jq -r '.work_email | ascii_downcase')" "$1" "$2" "${x##* }"; done)" \
    -- sql "SELECT json_extract(value, '\$.body.to') || '|' || json_extract(value, '\$.body.template') || '|' || json_extract(value, '\$.body.employee_id') || '|' || json_extract(value, '\$.body.cert_id') || '|' || json_extract(value, '\$.body.expires_on') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests'))"
expect_grep "all three are on the queue" 0 "credential-expiry           3 open" -- "$bin" queue list "${org[@]}"
SCENARIST_CLOCK=test:2026-03-07T13:00:00Z
expect_grep "the next day's run" 0 "success in" -- run credential-expiry-alerts '{}'
expect "tells no manager again" 0 "2" -- journal "system=comms&method=POST"
expect_grep "and adds no queue item (each one seen twice)" 0 "credential-expiry           3 open" -- "$bin" queue list "${org[@]}"
expect "the item keeps how often it was seen" 0 "2|2|2" \
    -- sqlite3 "$tmp/store/scenarist.db" "SELECT group_concat(times_seen, '|') FROM queue_items WHERE queue = 'credential-expiry'"
change '{"kind":"certify","employee_id":"E-1007","name":"Security+","expires_on":"2026-03-25"}' >/dev/null
expect_grep "a new expiry date of the same certification is a new alert" 0 "success in" -- run credential-expiry-alerts '{}'
journal "system=comms&method=POST" >/dev/null
expect "to E-1007's manager, for 2026-03-25" 0 "3 CERT-00010 2026-03-25" \
    -- sql "SELECT json_extract(readfile('$tmp/journal.json'), '\$.count') || ' ' || json_extract(readfile('$tmp/journal.json'), '\$.requests[2].body.cert_id') || ' ' || json_extract(readfile('$tmp/journal.json'), '\$.requests[2].body.expires_on')"
SCENARIST_CLOCK=test:2026-03-06T08:00:00Z

# ---- routine-attributes-batch: ratings HRIS -> LMS, only what changed ----
curl -s -X DELETE "$u/_sandbox/journal" >/dev/null
data ratings; data learners
behind=$(sql "SELECT group_concat(r.k, ' ') FROM (SELECT json_extract(value, '\$.employee_id') AS k, json_extract(value, '\$.performance_rating') AS p, json_extract(value, '\$.skill_rating') AS s FROM json_each(readfile('$tmp/ratings.json'))) r JOIN (SELECT json_extract(value, '\$.external_id') AS k, json_extract(value, '\$.attributes.performance_rating') AS p, json_extract(value, '\$.attributes.skill_rating') AS s FROM json_each(readfile('$tmp/learners.json'))) l ON l.k = r.k WHERE l.p != r.p OR l.s != r.s ORDER BY r.k")
expect "the fixture's LMS is behind the HRIS for five learners" 0 "5" -- sh -c "echo $behind | wc -w"
expect_grep "routine-attributes-batch: one run" 0 "success in" -- run routine-attributes-batch '{}'
journal "system=lms&method=PATCH" >/dev/null
expect "exactly those five are patched" 0 "$(for k in $behind; do echo "PATCH /lms/learners/$k/attributes"; done)" -- writes
expect "with the HRIS's ratings" 0 "$(sql "SELECT group_concat(json_extract(value, '\$.performance_rating') || '/' || json_extract(value, '\$.skill_rating'), ' ') FROM json_each(readfile('$tmp/ratings.json')) WHERE instr(' $behind ', ' ' || json_extract(value, '\$.employee_id') || ' ') > 0 ORDER BY json_extract(value, '\$.employee_id')")" \
    -- sql "SELECT group_concat(json_extract(value, '\$.body.performance_rating') || '/' || json_extract(value, '\$.body.skill_rating'), ' ') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests'))"
expect_grep "a rerun writes nothing" 0 "success in" -- run routine-attributes-batch '{}'
expect "still five PATCHes" 0 "5" -- journal "system=lms&method=PATCH"
change '{"kind":"rate","employee_id":"E-1003","performance_rating":5,"skill_rating":1}' >/dev/null
expect_grep "one review changes" 0 "success in" -- run routine-attributes-batch '{}'
journal "system=lms&method=PATCH" >/dev/null
expect "and only that learner is written" 0 "6 /lms/learners/E-1003/attributes 5/1" \
    -- sql "SELECT json_extract(readfile('$tmp/journal.json'), '\$.count') || ' ' || json_extract(readfile('$tmp/journal.json'), '\$.requests[5].path') || ' ' || json_extract(readfile('$tmp/journal.json'), '\$.requests[5].body.performance_rating') || '/' || json_extract(readfile('$tmp/journal.json'), '\$.requests[5].body.skill_rating')"
expect "each run read both whole lists, 100 a page" 0 "3 3" \
    -- sh -c "echo \$(curl -s '$u/_sandbox/journal?path=/hris/ratings' | jq '[.requests[] | select(.query.per_page == \"100\")] | length') \$(curl -s '$u/_sandbox/journal?path=/lms/learners&method=GET' | jq '[.requests[] | select(.query.per_page == \"100\")] | length')"
expect "it runs at 01:00 in Chicago" 0 "0 1 * * *|America/Chicago" \
    -- sh -c "grep -o 'cron: \"[^\"]*\", tz: [A-Za-z/]*' scenarios/routine-attributes-batch.yaml | sed 's/cron: \"\\(.*\\)\", tz: /\\1|/'"

# ---- audit-report: the week from the audit log -> ops and a file ----
SCENARIST_CLOCK=test:2026-03-09T12:00:00Z
expect_grep "audit-report: the week's report" 0 "success in" -- run audit-report '{}'
report=$tmp/store/reports/audit-2026-03-09.json
expect "the file: writes per scenario and system, by outcome" 0 \
    '{"credential-expiry-alerts":{"comms":{"ok":3}},"enrollment-rules":{"lms":{"ok":23}},"routine-attributes-batch":{"lms":{"ok":6}},"skill-signal-push":{"hris":{"ok":1}}}' \
    -- sql "SELECT json(json_extract(readfile('$report'), '\$.writes'))"
expect "totals, executions, failures and holds" 0 '33|{"failures":0,"holds":0,"total":14}|{"credential-expiry":4,"skill-signals-unmatched":1}' \
    -- sql "SELECT json_extract(readfile('$report'), '\$.totals.writes') || '|' || json(json_extract(readfile('$report'), '\$.executions')) || '|' || json(json_extract(readfile('$report'), '\$.queues'))"
journal "path=/ops/hooks/library" >/dev/null
expect "ops got the summary" 0 "Audit report 2026-03-02 .. 2026-03-09: 33 writes, 14 executions, 0 failed, 0 holds (0 pending)
  comms: ok 3
  hris: ok 1
  lms: ok 29
  credential-expiry-alerts: comms (ok 3)
  enrollment-rules: lms (ok 23)
  routine-attributes-batch: lms (ok 6)
  skill-signal-push: hris (ok 1)
  report: $report" \
    -- sql "SELECT json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body.text')"
fault() { curl -s -X POST -d "$1" "$u/_sandbox/faults" >/dev/null; }
fault '{"system":"comms","error_rate":1,"status":503,"times":10}'
SCENARIST_CLOCK=test:2026-03-10T12:00:00Z
change '{"kind":"certify","employee_id":"E-1008","name":"First Aid","expires_on":"2026-03-31"}' >/dev/null
expect_grep "a message comms keeps refusing" 1 "warning in" -- run credential-expiry-alerts '{}'
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
SCENARIST_CLOCK=test:2026-03-10T13:00:00Z   # after the retries (60 s apart)
expect_grep "the next report counts the failure" 0 "success in" -- run audit-report '{}'
# two new alerts that day (E-1008's, and E-1049's 2026-04-09 entering the window), each tried 4 times
expect "as eight failed writes to comms, two ops alerts, one failed execution" 0 '{"comms":{"failed":8,"ok":3},"ops":{"ok":2}}|1' \
    -- sql "SELECT json(json_extract(readfile('$tmp/store/reports/audit-2026-03-10.json'), '\$.writes.credential-expiry-alerts')) || '|' || json_extract(readfile('$tmp/store/reports/audit-2026-03-10.json'), '\$.scenarios.credential-expiry-alerts.failures')"
sed 's|file: "audit-.*"|file: "{{ trigger.body.name }}"|' scenarios/audit-report.yaml > "$tmp/ar.yaml"
printf '{"name":"../x.json"}' > "$tmp/bad.json"
expect_grep "a report file name with a slash is refused, nothing written" 1 "file must be a file name without '/' (got \"../x.json\")" \
    -- "$bin" run "$tmp/ar.yaml" --input "$tmp/bad.json" "${org[@]}"
check "nothing outside reports/" test ! -e "$tmp/store/x.json"

# ---- skill-signal-push's hourly poll: a skill whose webhook never came ----
mkdir -p "$tmp/poll"
cp scenarios/skill-signal-push.yaml "$tmp/poll/"
SCENARIST_CLOCK=test:2026-03-06T10:00:00Z
curl -s -X POST -H 'X-Test-Clock: 1772791200000' -d '{"kind":"skill","learner_external_id":"E-1033","skill":"excel","level":3}' "$u/_sandbox/change" > "$tmp/sk.json"
expect "the LMS records it at 10:00 (the sandbox sends no webhook here)" 0 "E-1033 excel 3 2026-03-06T10:00:00.000Z" \
    -- jq -r '"\(.learner_external_id) \(.skill) \(.level) \(.earned_at)"' "$tmp/sk.json"
curl -s -X DELETE "$u/_sandbox/journal" >/dev/null
check "the daemon runs to 11:00 on the test clock" "$bin" serve "$tmp/poll" "${org[@]}" --listen 127.0.0.1:0 --until 2026-03-06T11:00:00Z
journal "system=hris&method=PUT" >/dev/null
expect "the 11:00 poll (since 09:30) found it: one PUT, that skill only" 0 "PUT /hris/employees/E-1033/skills/excel" -- writes
expect "the poll asked the LMS from 09:30" 0 "2026-03-06T09:30:00Z" \
    -- sh -c "curl -s '$u/_sandbox/journal?path=/lms/skills' | jq -r '.requests[0].query.since' | cut -c1-19 | sed 's/\$/Z/'"
