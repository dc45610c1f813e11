#!/usr/bin/env bash
# The shipped scenario library against the sandbox: each scenario's happy path with the
# exact requests the systems received (sent_from and sent_to in every write body), the
# duplicates, failures and holds that matter for it. On the test clock: retries take no time.
# usage: tests/library/run.sh SCENARIST SANDBOX
set -u
bin=$(realpath "$1")
sandbox=$(realpath "$2")
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
pid=
dpid=
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; [ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
suite=library
. tests/lib.sh
export LIB_TOKEN=library-token LIB_WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw LIB_HUB=vendor-a
export SCENARIST_CLOCK=test:2026-03-06T08:00:00Z USER=hr-ops

"$sandbox" --port 0 --port-file "$tmp/port" --fixture tools/sandbox/fixture.json 2>"$tmp/sblog" &
pid=$!
for _ in $(seq 250); do [ -s "$tmp/port" ] && break; sleep 0.02; done
u=http://127.0.0.1:$(cat "$tmp/port")
cp orgs/system-of-record.yaml "$tmp/"
sed -e "s/@PORT@/$(cat "$tmp/port")/g" -e "s|@DIR@|$tmp|" tests/library/org.yaml.in > "$tmp/org.yaml"
org=(--org "$tmp/org.yaml")
db=$tmp/store/scenarist.db

# j FILE PATH: a value of a JSON file.
j() { sqlite3 :memory: "SELECT json_extract(readfile('$1'), '$2')"; }
# journal QUERY: the sandbox's journal (into $tmp/journal.json), its count printed.
journal() { curl -s "$u/_sandbox/journal?$1" > "$tmp/journal.json"; j "$tmp/journal.json" '$.count'; }
# run NAME BODY [args]: runs the scenario with BODY as the trigger's body.
run() {
    local n=$1
    printf '%s' "$2" > "$tmp/event.json"
    shift 2
    "$bin" run "scenarios/$n.yaml" --input "$tmp/event.json" "${org[@]}" "$@"
}
fault() { curl -s -X POST -d "$1" "$u/_sandbox/faults" >/dev/null; }
reset() { curl -s -X POST "$u/_sandbox/reset" >/dev/null; }

check "every scenario validates against the test org, staging and production" \
    sh -c "'$bin' validate scenarios --org '$tmp/org.yaml' && '$bin' validate scenarios --org staging && '$bin' validate scenarios --org production"

# ---- identity-sync ----
expect_grep "identity-sync: employee -> learner" 0 "success in" -- run identity-sync '{"employee_id":"E-1003"}'
journal "system=lms&method=PUT" >/dev/null
expect "the LMS got exactly the mapped learner" 0 \
    '{"external_id":"E-1003","email":"alan.turing@example.com","department":"Finance","sent_from":"http://127.0.0.1:8080/scenarios/identity-sync/versions/draft/steps/upsert","sent_to":"'"$u"'/lms/learners/E-1003"}' \
    -- sqlite3 :memory: "SELECT json(json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body'))"
fault '{"system":"lms","error_rate":1,"status":503,"times":2}'
expect_grep "a 503 twice is ridden out by the retries" 0 "(org library, version draft)  retry 2" -- run identity-sync '{"employee_id":"E-1004"}'
journal "path=/lms/learners/E-1004" >/dev/null
expect "three PUTs with one Idempotency-Key" 0 "3|1" \
    -- sqlite3 :memory: "SELECT json_extract(readfile('$tmp/journal.json'), '\$.count'), (SELECT count(DISTINCT json_extract(value, '\$.headers.idempotency-key')) FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests')))"
fault '{"system":"lms","error_rate":1,"status":503,"times":10}'
before=$(journal "system=ops")
expect_grep "a permanent failure ends incomplete" 1 "warning in" -- run identity-sync '{"employee_id":"E-1005"}'
expect "with one message to ops" 0 "$((before + 1))" -- journal "system=ops"
expect_grep "naming the execution" 0 "identity-sync failed: PUT $u/lms/learners/E-1005: HTTP 503" -- cat "$tmp/journal.json"
expect_grep "and it waits for a person" 0 "exhausted  3/3" -- "$bin" incomplete list "${org[@]}"
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
expect_grep "a payload without the employee is a data error, not retried (nothing is sent to the list)" 1 \
    "data: {{ trigger.body.employee_id }}: the value would leave an empty path segment (another endpoint)" \
    -- run identity-sync '{"id":"E-1003"}'

# ---- role-tenure-push ----
expect_grep "role-tenure-push: title, department, manager, hire date" 0 "success in" -- run role-tenure-push '{"employee_id":"E-1007"}'
journal "path=/lms/learners/E-1007" >/dev/null
expect "pushed as the HRIS has it" 0 "Senior Software Engineer|Engineering|E-1001|2024-07-15" \
    -- sqlite3 :memory: "SELECT json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body.title'), json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body.department'), json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body.manager_external_id'), json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body.hire_date')"

# ---- completion-writeback ----
cp='{"completion_id":"CP-0005","learner_external_id":"E-1002","course_id":"C-102","score":88,"completed_at":"2026-03-05T10:00:00Z"}'
expect_grep "completion-writeback: to the HRIS learning history" 0 "success in" -- run completion-writeback "$cp"
expect_grep "the same completion again (webhook and poll) writes nothing" 0 "dedupe          ok            0 ms  0 bundles" -- run completion-writeback "$cp"
expect "one record in the HRIS" 0 "1" -- journal "path=/hris/employees/E-1002/learning-history&method=POST"
expect_grep "a terminated employee's completion goes to the admin queue" 0 "success in" \
    -- run completion-writeback '{"completion_id":"CP-0100","learner_external_id":"E-1014","course_id":"C-101","completed_at":"2026-03-05T10:00:00Z"}'
expect_grep "an unknown employee's too" 0 "success in" \
    -- run completion-writeback '{"completion_id":"CP-0101","learner_external_id":"E-7777","course_id":"C-101","completed_at":"2026-03-05T10:00:00Z"}'
curl -s "$u/_sandbox/data?table=admin_drift" > "$tmp/drift.json"
n=$(journal "path=/hris/employees/E-1014/learning-history")
expect "the drift items, nothing written to their history" 0 "terminated unknown 0" \
    -- echo "$(j "$tmp/drift.json" '$[0].employee_status') $(j "$tmp/drift.json" '$[1].employee_status') $n"

# ---- daily-reconciliation ----
reset
expect_grep "daily-reconciliation finds every drift" 0 "5 bundles" -- run daily-reconciliation '{}'
curl -s "$u/_sandbox/data?table=admin_drift" > "$tmp/drift.json"
expect "missing, orphan, mismatched and still-active learners, each to the admin queue" 0 \
    "missing_learner active_learner_terminated field_mismatch missing_learner orphan_learner" \
    -- sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.kind'), ' ') FROM json_each(readfile('$tmp/drift.json'))"
expect_grep "and to the learner-drift queue" 0 "learner-drift               5 open" -- "$bin" queue list "${org[@]}"
expect "a person resolves an item" 0 "queue item 1 resolved by hr-ops" -- "$bin" queue resolve 1 "${org[@]}"

# ---- termination-handler ----
expect_grep "termination-handler: revoke, finalise, record" 0 "success in" \
    -- run termination-handler '{"employee_id":"E-1020","termination_date":"2026-03-31","reason":"resignation"}'
journal "system=lms&method=POST" >/dev/null
expect "in that order" 0 "/lms/learners/E-1020/revoke /lms/learners/E-1020/finalise /lms/terminations" \
    -- sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.path'), ' ') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests'))"
expect "the body-less revoke carries sent_from and sent_to as headers" 0 \
    "http://127.0.0.1:8080/scenarios/termination-handler/versions/draft/steps/revoke|$u/lms/learners/E-1020/revoke" \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.headers.scenarist-sent-from') || '|' || json_extract(value, '\$.headers.scenarist-sent-to') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests')) WHERE json_extract(value, '\$.path') LIKE '%/revoke'"
curl -s "$u/_sandbox/data?table=learners" > "$tmp/l.json"
expect "the learner can no longer sign in" 0 "0" -- sqlite3 :memory: "SELECT json_extract(value, '\$.active') FROM json_each(readfile('$tmp/l.json')) WHERE json_extract(value, '\$.external_id') = 'E-1020'"

# ---- offer-accepted-to-hris ----
expect_grep "offer-accepted-to-hris: the new hire from the offer and candidate" 0 "success in" -- run offer-accepted-to-hris '{"offer_id":"OFF-702"}'
journal "path=/hris/employees&method=POST" >/dev/null
expect "names, dates, manager of record, pay rate" 0 "Niklaus|Clarke|2026-04-03|E-1002|98000|OFF-702" \
    -- sqlite3 :memory: "SELECT json_extract(b, '\$.first_name'), json_extract(b, '\$.last_name'), json_extract(b, '\$.start_date'), json_extract(b, '\$.manager_id'), json_extract(b, '\$.pay_rate.amount'), json_extract(b, '\$.offer_id') FROM (SELECT json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body') AS b)"
expect "a confidential scenario keeps pay out of the log" 1 "0" -- grep -c 98000 <("$bin" executions --json "${org[@]}"; "$bin" execution "$(sqlite3 "$db" "SELECT id FROM executions WHERE scenario = 'offer-accepted-to-hris'")" --json "${org[@]}")

# ---- screening-writeback, both vendors ----
expect_grep "vendor A's flat result" 0 "success in" \
    -- run screening-writeback '{"report_id":"SA-1","candidate_ref":"CAND-303","status":"CONSIDER","completed":"2026-03-05T09:00:00Z"}'
expect_grep "vendor B's nested result" 0 "success in" \
    -- run screening-writeback-b '{"event":"screening.completed","data":{"screening":{"id":"SB-1","candidate":{"external_id":"CAND-303"},"result":{"outcome":"pass"},"finished_at":"2026-03-05T10:00:00Z"}}}'
curl -s "$u/ats/candidates/CAND-303/screenings" -H 'Authorization: x' > "$tmp/s.json"
expect "one canonical schema, appended, never overwritten" 0 "screening-a|review|SA-1|screening-b|clear|SB-1" \
    -- sqlite3 :memory: "SELECT json_extract(readfile('$tmp/s.json'), '\$.items[0].vendor'), json_extract(readfile('$tmp/s.json'), '\$.items[0].result'), json_extract(readfile('$tmp/s.json'), '\$.items[0].report_id'), json_extract(readfile('$tmp/s.json'), '\$.items[1].vendor'), json_extract(readfile('$tmp/s.json'), '\$.items[1].result'), json_extract(readfile('$tmp/s.json'), '\$.items[1].report_id')"
expect_grep "an audit row per event, naming the candidate" 0 "/ats/candidates/CAND-303/screenings" -- "$bin" audit "${org[@]}" --scenario screening-writeback-b
expect_grep "a payload vendor B never sends is a runtime error, not written" 1 "vendor B payload has no data.screening" \
    -- run screening-writeback-b '{"report":"x"}'

# ---- hire-to-payroll: the $130,000 offer keyed as $103,000 is held ----
new_hire() {
    curl -s -X POST "$u/hris/employees" -H 'Authorization: x' -d "$1" > "$tmp/h.json"
    j "$tmp/h.json" '$.id'
}
bad=$(new_hire '{"first_name":"Ivan","last_name":"Godel","work_email":"ivan.godel@example.com","start_date":"2026-04-01","title":"Software Engineer","department_id":"D-10","manager_id":"E-1001","offer_id":"OFF-701","pay_rate":{"amount":103000,"currency":"USD"}}')
expect_grep "a pay rate that differs from the offer holds the execution" 1 "held in" -- run hire-to-payroll "{\"employee_id\":\"$bad\",\"offer_id\":\"OFF-701\"}"
expect "nothing reached payroll" 0 "0" -- journal "system=payroll"
expect_grep "HR ops is alerted" 0 "Payroll HOLD for $bad" -- sh -c "curl -s '$u/_sandbox/journal?system=ops'"
expect_grep "holds list shows the diff" 0 "pay_rate         103000 -> 130000  (number)" -- "$bin" holds list "${org[@]}"
expect_grep "it is never retried by itself" 0 "held" -- "$bin" incomplete list "${org[@]}"
expect_grep "a person rejects it: the execution ends" 0 "hold 1 rejected by hr-ops" -- "$bin" holds reject 1 "${org[@]}" -m "fix the pay rate in the HRIS"
expect "and payroll still got nothing" 0 "0" -- journal "system=payroll"
good=$(new_hire '{"first_name":"Ann","last_name":"Right","work_email":"ann.right@example.com","start_date":"2026-04-03","title":"HR Generalist","department_id":"D-20","manager_id":"E-1002","offer_id":"OFF-702","pay_rate":{"amount":98000,"currency":"USD"}}')
expect_grep "a hire that matches its offer goes to payroll" 0 "success in" -- run hire-to-payroll "{\"employee_id\":\"$good\",\"offer_id\":\"OFF-702\"}"
n=$(journal "system=payroll")
expect "with the offer's pay rate" 0 "1 98000" -- echo "$n $(j "$tmp/journal.json" '$.requests[0].body.pay_rate.amount')"
late=$(new_hire '{"first_name":"Kay","last_name":"Late","work_email":"kay.late@example.com","start_date":"2026-04-20","title":"Accountant","department_id":"D-30","manager_id":"E-1003","offer_id":"OFF-703","pay_rate":{"amount":87500,"currency":"USD"}}')
expect_grep "a start date that differs is held too" 1 "held in" -- run hire-to-payroll "{\"employee_id\":\"$late\",\"offer_id\":\"OFF-703\"}"
expect_grep "approved, the execution goes on from the hold and dispatches" 0 "hold 2 approved by hr-ops" -- "$bin" holds approve 2 --here "${org[@]}"
n=$(journal "system=payroll")
expect "payroll got it once, marked approved" 0 "2 1" -- echo "$n $(j "$tmp/journal.json" '$.requests[1].body.approved_hold')"
expect_grep "metrics show the hold rate" 0 "hire-to-payroll" -- "$bin" metrics "${org[@]}"

# ---- ats-hris-reconciliation ----
expect_grep "ats-hris-reconciliation queues the orphans and tells ops how many" 0 "success in" -- run ats-hris-reconciliation '{}'
expect_grep "accepted offers with no hire" 0 '"kind":"accepted_offer_without_hire","offer_id":"OFF-704"' -- "$bin" queue list ats-hris-reconciliation "${org[@]}"
expect_grep "ops hears the queue length" 0 "orphan(s) queued (scenarist queue list ats-hris-reconciliation)" -- curl -s "$u/_sandbox/journal?system=ops"

# ---- interview-confirmations ----
expect_grep "a confirmed interview sends the confirmation" 0 "success in" \
    -- run interview-confirmations '{"id":"EV-802","candidate_email":"a@b.example","start":"2026-03-10T15:00:00Z","location":"Zoom","status":"confirmed"}'
expect_grep "a tentative one sends nothing" 0 "filtered" \
    -- run interview-confirmations '{"id":"EV-801","candidate_email":"a@b.example","status":"tentative"}'
fault '{"system":"comms","error_rate":1,"status":502,"times":5}'
expect_grep "after 2 failed dispatches the recruiters hear of it" 1 "warning in" \
    -- run interview-confirmations '{"id":"EV-803","candidate_email":"c@d.example","start":"2026-03-11T15:00:00Z","location":"Zoom","status":"confirmed"}'
expect "once" 0 "1" -- journal "path=/ops/hooks/recruiters"

# ---- every webhook scenario: a transient failure ridden out, a permanent one told once ----
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
# NAME SYSTEM-WRITTEN BODY
cases=(
  "role-tenure-push lms {\"employee_id\":\"E-1011\"}"
  "completion-writeback hris {\"completion_id\":\"CP-7001\",\"learner_external_id\":\"E-1012\",\"course_id\":\"C-101\",\"completed_at\":\"2026-03-05T10:00:00Z\"}"
  "termination-handler lms {\"employee_id\":\"E-1030\",\"termination_date\":\"2026-03-31\"}"
  "offer-accepted-to-hris hris {\"offer_id\":\"OFF-704\"}"
  "screening-writeback ats {\"report_id\":\"SA-7\",\"candidate_ref\":\"CAND-304\",\"status\":\"CLEAR\"}"
  "screening-writeback-b ats {\"data\":{\"screening\":{\"id\":\"SB-7\",\"candidate\":{\"external_id\":\"CAND-304\"},\"result\":{\"outcome\":\"pass\"}}}}"
)
for c in "${cases[@]}"; do
    read -r name system body <<<"$c"
    fault "{\"system\":\"$system\",\"error_rate\":1,\"status\":503,\"times\":2}"
    expect_grep "$name: two 503s from $system are ridden out" 0 "(org library, version draft)  retry 2" -- run "$name" "$body"
done
for c in "${cases[@]}"; do
    read -r name system body <<<"$c"
    body=${body//7/8}
    fault "{\"system\":\"$system\",\"error_rate\":1,\"status\":503,\"times\":20}"
    before=$(journal "system=ops")
    expect_grep "$name: $system down for good ends incomplete" 1 "warning in" -- run "$name" "$body"
    expect "$name: with one message to ops" 0 "$((before + 1))" -- journal "system=ops"
    curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
done
fault '{"system":"payroll","error_rate":1,"status":503,"times":5}'
ann=$(new_hire '{"first_name":"Bea","last_name":"Once","work_email":"bea.once@example.com","start_date":"2026-04-11","title":"Counsel","department_id":"D-60","manager_id":"E-1006","offer_id":"OFF-706","pay_rate":{"amount":145000,"currency":"USD"}}')
before=$(journal "system=payroll")
expect_grep "hire-to-payroll: a payroll failure is never retried by itself" 1 "warning in" \
    -- run hire-to-payroll "{\"employee_id\":\"$ann\",\"offer_id\":\"OFF-706\"}"
expect "one dispatch attempt, left to a person" 0 "$((before + 1))" -- journal "system=payroll"
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null

# ---- through the daemon: duplicates and malformed payloads, for every webhook ----
env -u SCENARIST_CLOCK "$bin" serve scenarios "${org[@]}" --listen 127.0.0.1:0 --workers 2 2>"$tmp/dlog" &
dpid=$!
d=$(daemon_url "$tmp/dlog")
hooks=("employee.changed /hooks/hris/employee-changed $LIB_WHSEC" "role.changed /hooks/hris/role-changed $LIB_WHSEC"
       "completion /hooks/lms/completion $LIB_WHSEC" "termination /hooks/hris/terminated $LIB_WHSEC"
       "offer.accepted /hooks/ats/offer-accepted $LIB_WHSEC" "new-hire /hooks/hris/new-hire $LIB_WHSEC"
       "screening.a /hooks/screening/vendor-a $LIB_HUB" "screening.b /hooks/screening/vendor-b $LIB_WHSEC")
for h in "${hooks[@]}"; do
    read -r kind path secret <<<"$h"
    "$sandbox" emit "$kind" --to "$d$path" --secret "$secret" --id "msg_dup_$kind" >/dev/null 2>&1
    expect_grep "$path: a repeated delivery runs once" 0 '"duplicate":true' \
        -- "$sandbox" emit "$kind" --to "$d$path" --secret "$secret" --id "msg_dup_$kind"
    bad='{"employee_id": E-1}'
    ts=$(date +%s)
    if [ "$kind" = screening.a ]; then
        sig=(-H "X-Hub-Signature-256: $(hub_secret=$LIB_HUB hub_sign "$bad")")
    else
        sig=(-H "webhook-id: msg_bad_$kind" -H "webhook-timestamp: $ts" -H "webhook-signature: $(std_secret=$LIB_WHSEC std_sign "msg_bad_$kind" "$ts" "$bad")")
    fi
    expect_grep "$path: a signed but malformed payload is 400 and not stored" 0 '"reason":"malformed_json"' \
        -- curl -s -X POST -H 'Content-Type: application/json' "${sig[@]}" --data-binary "$bad" "$d$path"
done
kill -TERM $dpid
wait $dpid
dpid=
# what the daemon said besides starting and stopping, for whoever reads a failure here
grep -v "listening on\|serving\|SIGTERM\|stopped;" "$tmp/dlog" | head -20 | sed 's/^/# daemon: /'
expect "none of the malformed ones was stored" 0 "0" \
    -- sqlite3 "$db" "SELECT count(*) FROM executions WHERE CAST(trigger AS TEXT) LIKE '%E-1}%'"

# ---- the schedules' failures, and every write's provenance ----
export SCENARIST_CLOCK=test:2026-03-07T08:00:00Z
fault '{"system":"hris","error_rate":1,"status":503,"times":1}'
expect_grep "daily-reconciliation: a failed night is retried an hour later" 0 "retry 1 of 2 in 3600 s" -- run daily-reconciliation '{}'
fault '{"system":"ats","error_rate":1,"status":503,"times":1}'
expect_grep "ats-hris-reconciliation too" 0 "retry 1 of 2 in 3600 s" -- run ats-hris-reconciliation '{}'
fault '{"system":"comms","error_rate":1,"status":502,"times":1}'
expect_grep "interview-confirmations: one failed send is retried" 0 "retry 1 of 1 in 120 s" \
    -- run interview-confirmations '{"id":"EV-804","candidate_email":"e@f.example","start":"2026-03-12T15:00:00Z","location":"Zoom","status":"confirmed"}'
curl -s "$u/_sandbox/journal" > "$tmp/all.json"
expect "every write body carries sent_from (its scenario and step) and sent_to (itself)" 0 "0" \
    -- sqlite3 :memory: "SELECT count(*) FROM json_each(json_extract(readfile('$tmp/all.json'), '\$.requests'))
        WHERE json_extract(value, '\$.method') IN ('POST', 'PUT', 'PATCH')
          AND json_type(value, '\$.body') = 'object' AND json_extract(value, '\$.system') != 'ops'
          AND (json_extract(value, '\$.body.sent_from') NOT LIKE 'http://127.0.0.1:8080/scenarios/%/steps/%'
               OR json_extract(value, '\$.body.sent_to') != '$u' || json_extract(value, '\$.path'))"
n=$(sqlite3 :memory: "SELECT count(*) FROM json_each(json_extract(readfile('$tmp/all.json'), '\$.requests'))
        WHERE json_extract(value, '\$.method') IN ('POST', 'PUT', 'PATCH') AND json_type(value, '\$.body') = 'object'
          AND json_extract(value, '\$.system') != 'ops'")
check "over the write bodies of every scenario ($n)" test "$n" -ge 40

# ---- staging: read-only HRIS credentials with its writes shadowed (seed 000) ----
# The shipped staging org at this sandbox: the scenarios that write to the HRIS run end to
# end; the HRIS gets their reads and none of their writes, each write is recorded and
# audited as shadowed. Production keeps a read-write HRIS.
reset
st=$tmp/staging
mkdir -p "$st"
cp orgs/system-of-record.yaml "$st/"
sed -e "s|127.0.0.1:8900|127.0.0.1:$(cat "$tmp/port")|g" -e "s|^store: .*|store: $st/scenarist.db|" \
    orgs/staging.yaml > "$st/staging.yaml"
for s in HRIS_TOKEN LMS_TOKEN ATS_KEY PAYROLL_PASSWORD CALENDAR_TOKEN COMMS_TOKEN; do
    export "STAGING_$s=staging-${s,,}-Vq81x"
done
export STAGING_AUDIT_KEY=staging-audit-key-0123456789abcdef0123456789
sorg=(--org "$st/staging.yaml")
srun() { printf '%s' "$2" > "$tmp/event.json"; "$bin" run "scenarios/$1.yaml" --input "$tmp/event.json" "${sorg[@]}"; }
expect_grep "staging: offer-accepted-to-hris creates the hire, shadowed" 0 "success in" \
    -- srun offer-accepted-to-hris '{"offer_id":"OFF-702"}'
expect_grep "staging: completion-writeback writes the history, shadowed" 0 'HTTP 201 {"recorded":true}' \
    -- srun completion-writeback '{"completion_id":"CP-0005","learner_external_id":"E-1002","course_id":"C-102","score":88,"completed_at":"2026-03-05T10:00:00Z"}'
expect_grep "staging: an unknown employee's completion goes to the drift queue, shadowed" 0 'HTTP 201 {"queued":true}' \
    -- srun completion-writeback '{"completion_id":"CP-0101","learner_external_id":"E-7777","course_id":"C-101","completed_at":"2026-03-05T10:00:00Z"}'
expect_grep "staging: daily-reconciliation reports every drift, shadowed" 0 "5 bundles" -- srun daily-reconciliation '{}'
curl -s "$u/_sandbox/journal?system=hris" > "$tmp/hris.json"
expect "staging: the HRIS got only reads" 0 \
"GET /hris/employees/E-1002
GET /hris/employees/E-7777
GET /hris/employees" \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.method') || ' ' || json_extract(value, '\$.path') FROM json_each(json_extract(readfile('$tmp/hris.json'), '\$.requests'))"
expect "staging: shadow list shows every HRIS write" 0 \
"POST /hris/employees offer-accepted-to-hris create 201 (confidential scenario)
POST /hris/employees/E-1002/learning-history completion-writeback write 201 {\"course_id\":\"C-102\",\"completed_at\":\"2026-03-05T10:00:00Z\",\"...
POST /hris/admin/drift completion-writeback drift 201 {\"kind\":\"completion_for_unknown_or_terminated\",\"employee_id\"...
POST /hris/admin/drift daily-reconciliation report 201 {\"employee_id\":\"E-1006\",\"kind\":\"missing_learner\",\"sent_from\"...
POST /hris/admin/drift daily-reconciliation report 201 {\"employee_id\":\"E-1014\",\"kind\":\"active_learner_terminated\",\"...
POST /hris/admin/drift daily-reconciliation report 201 {\"employee_id\":\"E-1021\",\"field\":\"title\",\"hris\":\"CFO\",\"kind\":...
POST /hris/admin/drift daily-reconciliation report 201 {\"employee_id\":\"E-1034\",\"kind\":\"missing_learner\",\"sent_from\"...
POST /hris/admin/drift daily-reconciliation report 201 {\"external_id\":\"E-0999\",\"kind\":\"orphan_learner\",\"learner_id\"..." \
    -- sh -c "'$bin' shadow list --org '$st/staging.yaml' | awk '{ sub(\"http://127.0.0.1:[0-9]*\", \"\", \$6); printf \"%s %s %s %s %s\", \$5, \$6, \$2, \$4, \$7; for (i = 8; i <= NF; i++) printf \" %s\", \$i; print \"\" }'"
"$bin" audit --json "${sorg[@]}" > "$tmp/saudit.json"
expect "staging: an audit row per HRIS write, each shadowed" 0 "8|8" \
    -- sqlite3 :memory: "SELECT count(*), sum(json_extract(value, '\$.outcome') = 'shadowed') FROM json_each(readfile('$tmp/saudit.json')) WHERE json_extract(value, '\$.sent_to') LIKE '%/hris/%'"
expect "staging: the audit log verifies" 0 "audit log of org staging: every row intact" -- "$bin" audit verify "${sorg[@]}"
expect "staging: the HRIS token and the confidential pay rate are nowhere in the store" 1 "0" \
    -- sh -c "cat '$st/'scenarist.db* | grep -c -a -e '$STAGING_HRIS_TOKEN' -e 98000"
expect "production keeps a read-write HRIS" 1 "0" \
    -- sh -c "sed -n '/^  hris:/,/^  [a-z]*:\$/p' orgs/production.yaml | grep -c 'read-only\|shadow'"
# the same through the daemon: a completion webhook's HRIS write is shadowed there too
for s in HRIS_WEBHOOK_SECRET LMS_WEBHOOK_SECRET ATS_WEBHOOK_SECRET SCREENING_B_SECRET; do export "STAGING_$s=$LIB_WHSEC"; done
export STAGING_SCREENING_A_SECRET=$LIB_HUB
env -u SCENARIST_CLOCK "$bin" serve scenarios "${sorg[@]}" --listen 127.0.0.1:0 --workers 2 2>"$tmp/sdlog" &
dpid=$!
d=$(daemon_url "$tmp/sdlog")
"$sandbox" emit completion --to "$d/hooks/lms/completion" --secret "$LIB_WHSEC" --id msg_staging_1 >/dev/null 2>&1
for _ in $(seq 250); do
    "$bin" shadow list --scenario completion-writeback --json "${sorg[@]}" > "$tmp/sl.json" 2>/dev/null
    grep -q E-1001 "$tmp/sl.json" && break
    sleep 0.04
done
kill -TERM $dpid
wait $dpid
dpid=
curl -s "$u/_sandbox/journal?system=hris" > "$tmp/hris.json"
expect "staging, through the daemon: the webhook's HRIS write is shadowed, not sent" 0 \
    "POST /hris/employees/E-1001/learning-history 201 write|0" \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.method') || ' ' || substr(json_extract(value, '\$.url'), length('$u') + 1) || ' ' || json_extract(value, '\$.status') || ' ' || json_extract(value, '\$.step'), (SELECT count(*) FROM json_each(json_extract(readfile('$tmp/hris.json'), '\$.requests')) WHERE json_extract(value, '\$.method') != 'GET') FROM json_each(readfile('$tmp/sl.json')) WHERE json_extract(value, '\$.url') LIKE '%E-1001%'"
