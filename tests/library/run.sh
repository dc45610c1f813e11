#!/usr/bin/env bash
# The shipped scenario library against the sandbox: each scenario's happy path with the
# exact requests the systems received (sent_from and sent_to in every write body), the
# duplicates, failures and holds that matter for it. On the test clock: retries take no time.
# usage: tests/library/run.sh SCENARIST SANDBOX
set -u
bin=$(realpath "$1")
sandbox=$(realpath "$2")
cd "$(dirname "$0")/../.."
suite=library
. tests/lib.sh
suite_tmp dpid gpid sbpid
export LIB_TOKEN=library-token LIB_WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw LIB_HUB=vendor-a
export SCENARIST_CLOCK=test:2026-03-06T08:00:00Z USER=hr-ops

# The shipped fixture, plus two candidates of the mapping-table tests (P1): a name no
# email rule built from names survives, and a null first name.
sqlite3 :memory: "SELECT writefile('$tmp/fixture.json', json_insert(json_insert(readfile('tools/sandbox/fixture.json'),
    '\$.candidates[#]', json('{\"id\":\"CAND-390\",\"first_name\":\"mary ann\",\"last_name\":\"o''brien-núñez\",\"email\":\"MaryAnn@mail.example.org\",\"stage\":\"offer\",\"screenings\":[]}'),
    '\$.candidates[#]', json('{\"id\":\"CAND-391\",\"first_name\":null,\"last_name\":\"Nobody\",\"email\":\"nobody@mail.example.org\",\"stage\":\"offer\",\"screenings\":[]}')),
    '\$.offers[#]', json('{\"id\":\"OFF-790\",\"candidate_id\":\"CAND-390\",\"title\":\"Analyst\",\"department_id\":\"D-30\",\"manager_id\":\"E-1003\",\"pay_rate\":{\"amount\":70000,\"currency\":\"USD\",\"period\":\"year\"},\"start_date\":\"2026-04-20\",\"status\":\"extended\",\"accepted_at\":null}'),
    '\$.offers[#]', json('{\"id\":\"OFF-791\",\"candidate_id\":\"CAND-391\",\"title\":\"Analyst\",\"department_id\":\"D-30\",\"manager_id\":\"E-1003\",\"pay_rate\":{\"amount\":70000,\"currency\":\"USD\",\"period\":\"year\"},\"start_date\":\"2026-04-21\",\"status\":\"extended\",\"accepted_at\":null}')))" >/dev/null
start_sandbox "$tmp/port" "$tmp/sblog" --fixture "$tmp/fixture.json"
u=$sb
cp orgs/system-of-record.yaml "$tmp/"
sed -e "s/@PORT@/$(cat "$tmp/port")/g" -e "s|@DIR@|$tmp|" tests/library/org.yaml.in > "$tmp/org.yaml"
org=(--org "$tmp/org.yaml")
db=$tmp/store/scenarist.db

# j FILE PATH: a value of a JSON file.
j() { sqlite3 :memory: "SELECT json_extract(readfile('$1'), '$2')"; }
# journal QUERY: the sandbox's journal (into $tmp/journal.json), its count printed.
journal() { curl -s "$u/_sandbox/journal?$1" > "$tmp/journal.json"; j "$tmp/journal.json" '$.count'; }
# run NAME BODY [args]: runs the scenario with BODY as the trigger's body.
# run_at ISO NAME BODY [args]: run, with the test clock at ISO.
run_at() { local SCENARIST_CLOCK=test:$1; export SCENARIST_CLOCK; shift; run "$@"; }
run() {
    local n=$1
    printf '%s' "$2" > "$tmp/event.json"
    shift 2
    "$bin" run "scenarios/$n.yaml" --input "$tmp/event.json" "${org[@]}" "$@"
}
fault() { curl -s -X POST -d "$1" "$u/_sandbox/faults" >/dev/null; }
# get PATH FIELD...: fields (JSON paths) of the answer of a GET, joined by '|'.
get() {
    curl -s -H 'Authorization: x' "$u$1" > "$tmp/get.json"
    shift
    local f out=
    for f in "$@"; do out="$out${out:+|}$(j "$tmp/get.json" "$f")"; done
    echo "$out"
}
# new_hire BODY: creates an HRIS employee through its API (no webhook is sent), prints its id.
new_hire() {
    curl -s -X POST "$u/hris/employees" -H 'Authorization: x' -d "$1" > "$tmp/h.json"
    j "$tmp/h.json" '$.id'
}
reset() { curl -s -X POST "$u/_sandbox/reset" >/dev/null; }

check "every scenario validates against the test org, staging and production" \
    sh -c "'$bin' validate scenarios --org '$tmp/org.yaml' && '$bin' validate scenarios --org staging && '$bin' validate scenarios --org production"

# ---- identity-sync ----
expect_grep "identity-sync: employee -> learner" 0 "success in" -- run identity-sync '{"employee_id":"E-1003"}'
journal "system=lms&method=PUT" >/dev/null
expect "the LMS got exactly the mapped learner" 0 \
    '{"external_id":"E-1003","email":"alan.turing@example.com","first_name":"Alan","last_name":"Turing","title":"Accountant","department":"Finance","manager_external_id":null,"active":true,"sent_from":"http://127.0.0.1:8080/scenarios/identity-sync/versions/draft/steps/upsert","sent_to":"'"$u"'/lms/learners/E-1003"}' \
    -- sqlite3 :memory: "SELECT json(json_extract(readfile('$tmp/journal.json'), '\$.requests[0].body'))"
fault '{"system":"lms","error_rate":1,"status":503,"times":2}'
expect_grep "a 503 twice is ridden out by the retries" 0 "(org library, version draft)  retry 2" -- run identity-sync '{"employee_id":"E-1004"}'
journal "path=/lms/learners/E-1004" >/dev/null
expect "the learner's lookup is retried, then one PUT" 0 "GET GET GET PUT|1" \
    -- sqlite3 :memory: "SELECT (SELECT group_concat(json_extract(value, '\$.method'), ' ') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests'))), (SELECT count(DISTINCT json_extract(value, '\$.headers.idempotency-key')) FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests')) WHERE json_extract(value, '\$.method') = 'PUT')"
fault '{"system":"lms","error_rate":1,"status":503,"times":10}'
before=$(journal "system=ops")
expect_grep "a permanent failure ends incomplete" 1 "warning in" -- run identity-sync '{"employee_id":"E-1005"}'
expect "with one message to ops" 0 "$((before + 1))" -- journal "system=ops"
expect_grep "naming the execution" 0 "identity-sync failed: GET $u/lms/learners/E-1005: HTTP 503" -- cat "$tmp/journal.json"
expect_grep "and it waits for a person" 0 "exhausted  3/3" -- "$bin" incomplete list "${org[@]}"
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
expect_grep "a payload without the employee is a data error, not retried (nothing is sent to the list)" 1 \
    "{{ ifempty(trigger.body.employee_id, trigger.body.id) }}: the value would leave an empty path segment (another endpoint) (not retried: the data was refused" \
    -- run identity-sync '{"employee":"E-1003"}'
# Someone who has left never gets access back: a change webhook for a terminated
# employee with no learner creates nothing; one whose learner is still active (E-1014)
# has it turned off, as the HRIS says.
gone=E-1028   # terminated, never had a learner
expect_grep "identity-sync: a terminated employee without a learner gets none" 0 "mapped                 map             filtered" \
    -- run identity-sync "{\"employee_id\":\"$gone\"}"
expect "nothing was written to the LMS for them, and no learner exists" 0 "0 404" \
    -- sh -c "echo \$(curl -s '$u/_sandbox/journal?path=/lms/learners/$gone&method=PUT' | grep -o '\"count\":[0-9]*' | cut -d: -f2) \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: x' '$u/lms/learners/$gone')"
expect_grep "a terminated employee with a learner: updated" 0 "success in" -- run identity-sync '{"employee_id":"E-1014"}'
expect "and the learner is inactive" 0 "0" -- get /lms/learners/E-1014 '$.active'
expect_grep "a new learner (E-1006 has none)" 0 "success in" -- run identity-sync '{"employee_id":"E-1006"}'
expect "is created with first name, last name and title" 0 "Donald|Knuth|Paralegal|1" \
    -- get /lms/learners/E-1006 '$.first_name' '$.last_name' '$.title' '$.active'

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
expect_grep "daily-reconciliation compares every employee with every learner" 0 "drift                  reconcile       ok            0 ms  7 bundles" \
    -- run daily-reconciliation '{}'
curl -s "$u/_sandbox/data?table=admin_drift" > "$tmp/drift.json"
expect "orphan, missing, still-active and mismatched learners, each to the admin queue" 0 \
    "orphan_learner missing_learner active_learner_terminated field_mismatch missing_learner" \
    -- sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.kind'), ' ') FROM json_each(readfile('$tmp/drift.json'))"
expect "a mismatch names the field and both values" 0 '[{"field":"title","hris":"CFO","lms":"Old Title"}]' \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.fields') FROM json_each(readfile('$tmp/drift.json')) WHERE json_extract(value, '\$.kind') = 'field_mismatch'"
expect_grep "and to the learner-drift queue" 0 "learner-drift               5 open" -- "$bin" queue list "${org[@]}"
expect_grep "ops hears the queue's length" 0 "Learner drift: 5 open in the learner-drift queue (0 resolved tonight; scenarist queue list learner-drift)" \
    -- curl -s "$u/_sandbox/journal?system=ops"
expect_grep "the next night: the same drift" 0 "sweep                  queue.sweep     ok            0 ms  {\"closed\":0,\"open\":5,\"queue\":\"learner-drift\"}" \
    -- run_at 2026-03-07T08:00:00Z daily-reconciliation '{}'
expect "is not queued again: the admin queue still has 5, each queue item seen twice" 0 "5 5" \
    -- sh -c "echo \$(curl -s '$u/_sandbox/data?table=admin_drift' | grep -o '\"kind\"' | wc -l) \$('$bin' queue list learner-drift --org '$tmp/org.yaml' | grep -c 'seen 2 times')"
curl -s -X PUT "$u/lms/learners/E-1021" -H 'Authorization: x' -d '{"email":"ivan.sutherland@example.com","title":"CFO"}' >/dev/null
run_at 2026-03-08T08:00:00Z daily-reconciliation '{}' >/dev/null 2>&1
expect_grep "a drift repaired in the LMS is closed by the next night" 0 "Learner drift: 4 open in the learner-drift queue (1 resolved tonight; scenarist queue list learner-drift)" \
    -- curl -s "$u/_sandbox/journal?system=ops"
expect_grep "the closed item says why" 0 "resolved: the drift is gone (a full reconciliation no longer finds it)" \
    -- "$bin" queue show 4 "${org[@]}"
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
journal "system=hris&method=POST" >/dev/null
expect "the termination event is written to the HRIS too (seed 000: both sides)" 0 \
    "/hris/employees/E-1020/terminations|2026-03-31|resignation|revoked|E-1020" \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.path') || '|' || json_extract(value, '\$.body.termination_date') || '|' || json_extract(value, '\$.body.reason') || '|' || json_extract(value, '\$.body.lms_access') || '|' || json_extract(value, '\$.body.learning_record.external_id') FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests')) WHERE json_extract(value, '\$.path') LIKE '%/terminations'"
expect_grep "the same termination again (webhook and poll) writes nothing" 0 "once                   dedupe          ok            0 ms  0 bundles" \
    -- run termination-handler '{"employee_id":"E-1020","termination_date":"2026-03-31","reason":"resignation"}'
# A termination whose webhook never came (the sandbox sends none here) is repaired by
# the hourly HRIS fallback poll (seed 002: 90-minute window), on the test clock.
curl -s -X POST "$u/hris/employees/E-1031/terminations" -H 'Authorization: x' -d '{"termination_date":"2026-03-06","reason":"layoff"}' >/dev/null
curl -s -X PATCH "$u/hris/employees/E-1009" -H 'Authorization: x' -d '{"title":"Staff Engineer"}' >/dev/null   # a change whose webhook never came
SCENARIST_CLOCK=test:2026-03-06T10:10:00Z "$bin" serve scenarios/termination-handler.yaml scenarios/identity-sync.yaml "${org[@]}" --listen 127.0.0.1:0 \
    --until 2026-03-06T11:10:00Z 2>"$tmp/plog" >/dev/null
expect "the dropped termination is repaired within the hour: access revoked, the event on both sides" 0 "0|1|1" \
    -- sh -c "echo \"\$(curl -s -H 'Authorization: x' '$u/lms/learners/E-1031' | grep -o '\"active\":[a-z]*' | sed 's/.*://; s/false/0/; s/true/1/')|\$(curl -s '$u/_sandbox/journal?path=/lms/terminations' | grep -o '\"external_id\":\"E-1031\"' | wc -l)|\$(curl -s '$u/_sandbox/journal?path=/hris/employees/E-1031/terminations' | grep -c 'termination-handler')\""
expect "a missed employee change is repaired by identity-sync's hourly poll too" 0 "Staff Engineer" -- get /lms/learners/E-1009 '$.title'
expect "by the poll, no later than the first hour after" 0 "poll" \
    -- sqlite3 "$db" "SELECT json_extract(CAST(trigger AS TEXT), '\$.kind') FROM executions WHERE scenario = 'termination-handler' AND CAST(trigger AS TEXT) LIKE '%E-1031%' AND started_at <= strftime('%s', '2026-03-06T11:10:00') * 1000"

# A busy hour: 120 completions and 120 interviews whose webhooks never came (more than
# one page of the LMS and the calendar) are all repaired by the polls, every page read.
fault '{"system":"lms","drop_webhooks":true}'
busy=$(date -u -d 2026-03-06T12:00:00Z +%s)000
for i in $(seq 120); do
    curl -s -X POST "$u/_sandbox/change" -H 'Authorization: x' -H "X-Test-Clock: $busy" \
        -d '{"kind":"complete","learner_external_id":"E-1002","course_id":"C-101","score":70}' | grep -o '"id":"CP-[0-9]*"' | grep -o 'CP-[0-9]*' >> "$tmp/busy-cp"
    curl -s -X POST "$u/_sandbox/change" -H 'Authorization: x' -H "X-Test-Clock: $busy" \
        -d '{"kind":"interview","candidate_id":"CAND-301","start":"2026-03-10T15:00:00Z","end":"2026-03-10T15:45:00Z"}' | grep -o '"id":"EV-[0-9]*"' | grep -o 'EV-[0-9]*' >> "$tmp/busy-ev"
done
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
SCENARIST_CLOCK=test:2026-03-06T12:00:00Z "$bin" serve scenarios/completion-writeback.yaml scenarios/interview-confirmations.yaml "${org[@]}" \
    --listen 127.0.0.1:0 --until 2026-03-06T13:10:00Z 2>"$tmp/plog2" >/dev/null
expect "a busy hour's 120 dropped completions all reach the HRIS history (every page polled)" 0 "120|120" \
    -- sh -c "echo \"\$(sort -u '$tmp/busy-cp' | wc -l)|\$(curl -s '$u/_sandbox/journal?path=/hris/employees/E-1002/learning-history&method=POST' | grep -o '\"completion_id\":\"CP-[0-9]*\"' | grep -o 'CP-[0-9]*' | sort -u | grep -c -x -F -f '$tmp/busy-cp')\""
expect "and the 120 interviews all get their confirmation (every page polled)" 0 "120|120" \
    -- sh -c "echo \"\$(sort -u '$tmp/busy-ev' | wc -l)|\$(curl -s '$u/_sandbox/data?table=messages' | grep -o '\"event_id\":\"EV-[0-9]*\"' | grep -o 'EV-[0-9]*' | sort -u | grep -c -x -F -f '$tmp/busy-ev')\""

# ---- offer-accepted-to-hris: the field-mapping table of seed 001 ----
expect_grep "offer-accepted-to-hris: the new hire from the offer and candidate" 0 "success in" -- run offer-accepted-to-hris '{"offer_id":"OFF-702"}'
# hire BODY FIELD...: fields of the new hires the HRIS received (POST /hris/employees), one line each
hires() {
    curl -s "$u/_sandbox/journal?path=/hris/employees&method=POST" > "$tmp/journal.json"
    local f sel=""
    for f in "$@"; do sel="$sel${sel:+ || '|' || }ifnull(json_extract(value, '\$.body.$f'), '')"; done
    sqlite3 :memory: "SELECT $sel FROM json_each(json_extract(readfile('$tmp/journal.json'), '\$.requests')) WHERE json_extract(value, '\$.path') = '/hris/employees'"
}
expect "names, work email, dates, manager of record, pay rate, by the mapping table" 0 \
    "Niklaus|Clarke|niklaus.clarke@example.com|niklaus.clarke@mail.example.org|2026-04-03|E-1002|98000|USD|year|OFF-702|CAND-302" \
    -- hires first_name last_name work_email personal_email start_date manager_id pay_rate.amount pay_rate.currency pay_rate.period offer_id candidate_id
expect "a confidential scenario keeps pay out of the log" 1 "0" -- grep -c 98000 <("$bin" executions --json "${org[@]}"; "$bin" execution "$(sqlite3 "$db" "SELECT id FROM executions WHERE scenario = 'offer-accepted-to-hris'")" --json "${org[@]}")
expect_grep "a name no name-built address survives (mary ann o'brien-núñez)" 0 "success in" -- run offer-accepted-to-hris '{"offer_id":"OFF-790"}'
expect "gets a valid work email by the rule (accents folded, spaces and apostrophes dropped)" 0 \
    "mary ann|o'brien-núñez|maryann.obrien-nunez@example.com" -- sh -c "$(declare -f hires); u='$u' tmp='$tmp' hires first_name last_name work_email | tail -1"
before=$(journal "path=/hris/employees&method=POST")
expect_grep "a null first name is a data error naming the field and its rule, not a crash" 1 \
    "incomplete: step hire, bundle 1: field 'first_name' is null (from 'candidate.first_name') and its rule is null: reject (not retried" \
    -- run offer-accepted-to-hris '{"offer_id":"OFF-791"}'
expect "nothing is created for it; ops is told" 0 "$before offer-accepted-to-hris failed for offer OFF-791: field 'first_name' is null (from 'candidate.first_name') and its rule is null: reject" \
    -- sh -c "echo \"\$(curl -s '$u/_sandbox/journal?path=/hris/employees&method=POST' | grep -o '\"count\":[0-9]*' | cut -d: -f2) \$(curl -s '$u/_sandbox/journal?system=ops' | grep -o 'offer-accepted-to-hris failed for offer OFF-791: [^h]*reject')\""

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
bad=$(new_hire '{"first_name":"Ivan","last_name":"Godel","work_email":"ivan.godel@example.com","start_date":"2026-04-01","title":"Software Engineer","department_id":"D-10","manager_id":"E-1001","offer_id":"OFF-701","pay_rate":{"amount":103000,"currency":"USD","period":"year"}}')
expect_grep "a pay rate that differs from the offer holds the execution" 1 "held in" -- run hire-to-payroll "{\"employee_id\":\"$bad\",\"offer_id\":\"OFF-701\"}"
expect "nothing reached payroll" 0 "0" -- journal "system=payroll"
expect_grep "HR ops is alerted with the diff: field, HRIS value, offer value" 0 \
    "Payroll HOLD for $bad: the HRIS does not match offer OFF-701: pay_rate.amount: HRIS 103000, offer 130000. Approving writes the offer's values to the HRIS, then dispatches" \
    -- curl -s "$u/_sandbox/journal?system=ops"
expect_grep "holds list shows the diff" 0 "pay_rate.amount  103000 -> 130000  (number)" -- "$bin" holds list "${org[@]}"
expect_grep "it is never retried by itself" 0 "held" -- "$bin" incomplete list "${org[@]}"
expect_grep "a person rejects it: the execution ends" 0 "hold 1 rejected by hr-ops" -- "$bin" holds reject 1 "${org[@]}" -m "fix the pay rate in the HRIS"
expect "and payroll still got nothing" 0 "0" -- journal "system=payroll"
cad=$(new_hire '{"first_name":"Ivan","last_name":"Godel","work_email":"ivan.godel2@example.com","start_date":"2026-04-01","title":"Software Engineer","department_id":"D-10","manager_id":"E-1001","offer_id":"OFF-701","pay_rate":{"amount":130000,"currency":"CAD","period":"hour"}}')
expect_grep "130,000 CAD an hour is not 130,000 USD a year: held" 1 "held in" -- run hire-to-payroll "{\"employee_id\":\"$cad\",\"offer_id\":\"OFF-701\"}"
expect_grep "the alert names currency and period" 0 \
    "Payroll HOLD for $cad: the HRIS does not match offer OFF-701: pay_rate.currency: HRIS CAD, offer USD; pay_rate.period: HRIS hour, offer year." \
    -- curl -s "$u/_sandbox/journal?system=ops"
"$bin" holds reject 2 "${org[@]}" -m "keyed in the wrong currency" >/dev/null 2>&1
good=$(new_hire '{"first_name":"Ann","last_name":"Right","work_email":"ann.right@example.com","start_date":"2026-04-03","title":"HR Generalist","department_id":"D-20","manager_id":"E-1002","offer_id":"OFF-702","pay_rate":{"amount":98000,"currency":"USD","period":"year"}}')
expect_grep "a hire that matches its offer goes to payroll" 0 "success in" -- run hire-to-payroll "{\"employee_id\":\"$good\",\"offer_id\":\"OFF-702\"}"
n=$(journal "system=payroll")
expect "with the offer's pay rate" 0 "1 98000 USD year OFF-702" -- echo "$n $(j "$tmp/journal.json" '$.requests[0].body.pay_rate.amount') $(j "$tmp/journal.json" '$.requests[0].body.pay_rate.currency') $(j "$tmp/journal.json" '$.requests[0].body.pay_rate.period') $(j "$tmp/journal.json" '$.requests[0].body.offer_id')"
expect_grep "a second delivery of the same hire (another webhook id) stops at the business key" 0 "once                   dedupe          ok            0 ms  " \
    -- run hire-to-payroll "{\"employee_id\":\"$good\",\"offer_id\":\"OFF-702\"}"
expect "one payroll record" 0 "1" -- journal "system=payroll"
late=$(new_hire '{"first_name":"Kay","last_name":"Late","work_email":"kay.late@example.com","start_date":"2026-04-20","title":"Accountant","department_id":"D-30","manager_id":"E-1003","offer_id":"OFF-703","pay_rate":{"amount":87500,"currency":"USD","period":"year"}}')
expect_grep "a start date that differs is held too" 1 "held in" -- run hire-to-payroll "{\"employee_id\":\"$late\",\"offer_id\":\"OFF-703\"}"
expect_grep "approved, the execution goes on from the hold" 0 "hold 3 approved by hr-ops" -- "$bin" holds approve 3 --here "${org[@]}"
journal "path=/hris/employees/$late&method=PATCH" >/dev/null
expect "the HRIS takes the approved (offer's) values first" 0 "2026-04-05|87500|USD|year|E-1003" \
    -- sh -c "echo \"$(j "$tmp/journal.json" '$.requests[0].body.hire_date')|$(j "$tmp/journal.json" '$.requests[0].body.pay_rate.amount')|$(j "$tmp/journal.json" '$.requests[0].body.pay_rate.currency')|$(j "$tmp/journal.json" '$.requests[0].body.pay_rate.period')|$(j "$tmp/journal.json" '$.requests[0].body.manager_id')\""
expect "so both systems agree: the HRIS record now matches the offer" 0 "2026-04-05|87500" -- get "/hris/employees/$late" '$.hire_date' '$.pay_rate.amount'
n=$(journal "system=payroll")
expect "and payroll got it once, marked approved" 0 "2 1 2026-04-05" -- echo "$n $(j "$tmp/journal.json" '$.requests[1].body.approved_hold') $(j "$tmp/journal.json" '$.requests[1].body.start_date')"
fail=$(new_hire '{"first_name":"Fay","last_name":"Lure","work_email":"fay.lure@example.com","start_date":"2026-04-30","title":"Account Executive","department_id":"D-40","manager_id":"E-1004","offer_id":"OFF-704","pay_rate":{"amount":112000,"currency":"USD","period":"year"}}')
run hire-to-payroll "{\"employee_id\":\"$fail\",\"offer_id\":\"OFF-704\"}" >/dev/null 2>&1
fault '{"system":"payroll","error_rate":1,"status":503,"times":5}'
"$bin" holds approve 4 --here "${org[@]}" >/dev/null 2>&1
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
expect_grep "a dispatch that fails after approval is told to ops" 0 \
    "payroll dispatch failed after approval for $fail (the HRIS was corrected): POST $u/payroll/new-hires: HTTP 503 (body withheld: confidential scenario)" \
    -- curl -s "$u/_sandbox/journal?system=ops"
expect_grep "metrics show the hold rate" 0 "hire-to-payroll" -- "$bin" metrics "${org[@]}"

# ---- the hire chain's fallback polls (issue 22): a dropped webhook is repaired within the hour ----
fault '{"system":"ats","drop_webhooks":true}'
fault '{"system":"hris","drop_webhooks":true}'
# emp_of OFFER: the HRIS employees carrying the offer, "id|work_email" each, by email
emp_of() { curl -s "$u/_sandbox/data?table=employees" > "$tmp/emps.json"; sqlite3 :memory: "SELECT json_extract(value, '\$.id') || '|' || json_extract(value, '\$.work_email') FROM json_each(readfile('$tmp/emps.json')) WHERE json_extract(value, '\$.offer_id') = '$1' ORDER BY 1"; }
curl -s -X POST "$u/_sandbox/change" -H 'Authorization: x' -H "X-Test-Clock: $(date -u -d 2026-03-09T10:20:00Z +%s)000" \
    -d '{"kind":"accept-offer","offer_id":"OFF-709"}' >/dev/null
SCENARIST_CLOCK=test:2026-03-09T10:30:00Z "$bin" serve scenarios/offer-accepted-to-hris.yaml "${org[@]}" --listen 127.0.0.1:0 \
    --until 2026-03-09T11:10:00Z 2>"$tmp/plog3" >/dev/null
expect "a dropped offer.accepted webhook is repaired by the hourly ATS poll: one hire, from the offer" 0 \
    "Lynn|Kernighan|lynn.kernighan@example.com|2026-04-17|OFF-709|CAND-309" \
    -- sh -c "$(declare -f hires); u='$u' tmp='$tmp' hires first_name last_name work_email start_date offer_id candidate_id | grep OFF-709"
curl -s "$u/_sandbox/journal?path=/ats/offers/accepted" > "$tmp/acc.json"
expect "the 11:00 poll read the ATS's accepted offers of its 90-minute window" 0 "2026-03-09T09:30:00.000Z..2026-03-09T11:00:00.000Z" \
    -- sqlite3 :memory: "SELECT group_concat(json_extract(value, '\$.query.from') || '..' || json_extract(value, '\$.query.to'), ' ') FROM json_each(json_extract(readfile('$tmp/acc.json'), '\$.requests'))"
expect_grep "the late webhook of the same offer creates nothing (the offer id, deduplicated)" 0 "once                   dedupe          ok            0 ms  0 bundles" \
    -- run offer-accepted-to-hris '{"offer_id":"OFF-709"}'
expect "one hire for the offer, webhook and poll together" 0 "1" -- sh -c "$(declare -f emp_of); u='$u' tmp='$tmp' emp_of OFF-709 | wc -l"
new_hire '{"first_name":"Mary","last_name":"Matsumoto","work_email":"mary.m@example.com","start_date":"2026-04-13","title":"Analyst","department_id":"D-30","manager_id":"E-1003","offer_id":"OFF-707"}' >/dev/null
before=$(journal "path=/hris/employees&method=POST")
expect_grep "an offer HR hired by hand already (the HRIS hire carries its id) is not hired again" 0 "hire                   map             filtered" \
    -- run offer-accepted-to-hris '{"offer_id":"OFF-707"}'
expect "no POST to the HRIS for it" 0 "$before" -- journal "path=/hris/employees&method=POST"
# Two people of one name: another Anita Gosling works here already.
new_hire '{"first_name":"Anita","last_name":"Gosling","work_email":"anita.gosling@example.com","start_date":"2025-01-06","title":"Engineer","department_id":"D-30","manager_id":"E-1003"}' >/dev/null
expect_grep "a candidate whose first.last address is taken is hired all the same" 0 "success in" -- run offer-accepted-to-hris '{"offer_id":"OFF-708"}'
expect "the HRIS said 409, so the hire takes first.last.NUMBER (the candidate number)" 0 \
    "Anita|Gosling|anita.gosling@example.com|OFF-708
Anita|Gosling|anita.gosling.308@example.com|OFF-708" \
    -- sh -c "$(declare -f hires); u='$u' tmp='$tmp' hires first_name last_name work_email offer_id | grep OFF-708"
curl -s "$u/_sandbox/data?table=employees" > "$tmp/emps.json"
expect "both Anita Goslings are employees, with distinct valid addresses" 0 "anita.gosling.308@example.com|anita.gosling@example.com" \
    -- sqlite3 :memory: "SELECT group_concat(m, '|') FROM (SELECT json_extract(value, '\$.work_email') m FROM json_each(readfile('$tmp/emps.json')) WHERE json_extract(value, '\$.last_name') = 'Gosling' AND json_extract(value, '\$.first_name') = 'Anita' ORDER BY 1)"
before=$(journal "path=/hris/employees&method=POST")
expect_grep "the same offer delivered again makes no second employee under the new address" 0 "once                   dedupe          ok            0 ms  0 bundles" \
    -- run offer-accepted-to-hris '{"offer_id":"OFF-708"}'
expect "no POST to the HRIS for it" 0 "$before" -- journal "path=/hris/employees&method=POST"
# The hire the poll made sent its new-hire webhook into the void (dropped): payroll's poll.
e709=$(emp_of OFF-709 | cut -d'|' -f1)
SCENARIST_CLOCK=test:2026-03-09T11:10:00Z "$bin" serve scenarios/hire-to-payroll.yaml "${org[@]}" --listen 127.0.0.1:0 \
    --until 2026-03-09T12:10:00Z 2>"$tmp/plog4" >/dev/null
curl -s "$u/_sandbox/journal?path=/payroll/new-hires&method=POST" > "$tmp/pay.json"
expect "a dropped new-hire webhook is repaired by the hourly HRIS poll: dispatched to payroll, once" 0 "$e709|OFF-709|2026-04-17|120000" \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.body.employee_id') || '|' || json_extract(value, '\$.body.offer_id') || '|' || json_extract(value, '\$.body.start_date') || '|' || json_extract(value, '\$.body.pay_rate.amount') FROM json_each(json_extract(readfile('$tmp/pay.json'), '\$.requests')) WHERE json_extract(value, '\$.body.offer_id') = 'OFF-709'"
curl -s "$u/_sandbox/journal?path=/hris/employees&method=GET" > "$tmp/nh.json"
expect "the 12:00 poll read the HRIS's employees changed since 10:30 (its 90-minute window)" 0 "2026-03-09T10:30:00.000Z" \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.query.updated_since') FROM json_each(json_extract(readfile('$tmp/nh.json'), '\$.requests')) WHERE json_extract(value, '\$.path') = '/hris/employees' ORDER BY json_extract(value, '\$.seq') DESC LIMIT 1"
expect_grep "the webhook coming late dispatches nothing more (employee + offer, deduplicated)" 0 "once                   dedupe          ok            0 ms  0 bundles" \
    -- run hire-to-payroll "{\"employee_id\":\"$e709\",\"offer_id\":\"OFF-709\"}"
expect "payroll got one dispatch for the hire" 0 "1" -- sh -c "curl -s '$u/_sandbox/journal?path=/payroll/new-hires&method=POST' | grep -o '\"offer_id\":\"OFF-709\"' | wc -l"
# An employee hired from an offer accepted long ago gets a new manager: the poll sees the change, no new hire.
old=$(new_hire '{"first_name":"Olde","last_name":"Hand","work_email":"olde.hand@example.com","start_date":"2026-04-09","title":"Analyst","department_id":"D-30","manager_id":"E-1003","offer_id":"OFF-705"}')
curl -s -X PATCH "$u/hris/employees/$old" -H 'Authorization: x' -H "X-Test-Clock: $(date -u -d 2026-04-20T11:30:00Z +%s)000" -d '{"manager_id":"E-1004"}' >/dev/null
SCENARIST_CLOCK=test:2026-04-20T11:10:00Z "$bin" serve scenarios/hire-to-payroll.yaml "${org[@]}" --listen 127.0.0.1:0 \
    --until 2026-04-20T12:10:00Z 2>"$tmp/plog5" >/dev/null
expect "a month after its offer was accepted, an employee's change is no new hire: no dispatch, no hold" 0 "0|0" \
    -- sh -c "echo \"\$(curl -s '$u/_sandbox/journal?path=/payroll/new-hires&method=POST' | grep -c '\"employee_id\":\"$old\"')|\$('$bin' holds list ${org[*]} | grep -c '$old')\""
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null

# ---- ats-hris-reconciliation (pattern 5): offers and hires linked by offer id, then candidate ----
reset
ops_last() { curl -s "$u/_sandbox/journal?system=ops" > "$tmp/ops.json"; sqlite3 :memory: "SELECT json_extract(value, '\$.body.text') FROM json_each(json_extract(readfile('$tmp/ops.json'), '\$.requests')) ORDER BY json_extract(value, '\$.seq') DESC LIMIT 1"; }
open_keys() { "$bin" queue list ats-hris-reconciliation "${org[@]}" | awk '{ print $3 }' | tr '\n' ' '; }
expect_grep "night 1: the 8 accepted offers have no hire yet" 0 "sweep                  queue.sweep     ok            0 ms  {\"closed\":0,\"open\":8,\"queue\":\"ats-hris-reconciliation\"}" \
    -- run ats-hris-reconciliation '{}'
expect "ops hears the queue's length (seed 001)" 0 \
    "ATS/HRIS reconciliation: 8 open in the reconciliation queue (0 resolved tonight; scenarist queue list ats-hris-reconciliation)" -- ops_last
run offer-accepted-to-hris '{"offer_id":"OFF-701"}' >/dev/null 2>&1          # a hire carrying its offer id
new_hire '{"first_name":"Niklaus","last_name":"Clarke","work_email":"nik.clarke@example.com","start_date":"2026-04-03","title":"HR Generalist","department_id":"D-20","manager_id":"E-1002","candidate_id":"CAND-302"}' >/dev/null   # only the candidate
stray=$(new_hire '{"first_name":"Ext","last_name":"Ended","work_email":"ext.ended@example.com","start_date":"2026-04-17","title":"Analyst","department_id":"D-30","manager_id":"E-1003","offer_id":"OFF-709"}')   # an offer never accepted
run_at 2026-03-07T08:00:00Z ats-hris-reconciliation '{}' >/dev/null 2>&1
expect "night 2: the hires close their offers' items (by offer id, and by candidate); the hire of an unaccepted offer is queued" 0 \
    "ATS/HRIS reconciliation: 7 open in the reconciliation queue (2 resolved tonight; scenarist queue list ats-hris-reconciliation)" -- ops_last
expect "the open items" 0 "accepted_offer_without_hire:OFF-703 accepted_offer_without_hire:OFF-704 accepted_offer_without_hire:OFF-705 accepted_offer_without_hire:OFF-706 accepted_offer_without_hire:OFF-707 accepted_offer_without_hire:OFF-708 hire_without_accepted_offer:OFF-709 " \
    -- open_keys
expect_grep "naming the stray hire" 0 "\"employee_id\":\"$stray\",\"hire_date\":\"2026-04-17\",\"kind\":\"hire_without_accepted_offer\",\"offer_id\":\"OFF-709\"" \
    -- "$bin" queue list ats-hris-reconciliation "${org[@]}"
run_at 2026-04-10T08:00:00Z ats-hris-reconciliation '{}' >/dev/null 2>&1
expect "a month later, once the hires have started: the same 7, the synced hires are not flagged" 0 \
    "ATS/HRIS reconciliation: 7 open in the reconciliation queue (0 resolved tonight; scenarist queue list ats-hris-reconciliation)" -- ops_last
expect "and no item was added" 0 "accepted_offer_without_hire:OFF-703 accepted_offer_without_hire:OFF-704 accepted_offer_without_hire:OFF-705 accepted_offer_without_hire:OFF-706 accepted_offer_without_hire:OFF-707 accepted_offer_without_hire:OFF-708 hire_without_accepted_offer:OFF-709 " \
    -- open_keys
curl -s "$u/_sandbox/journal?system=ats&method=GET" > "$tmp/ats.json"
expect "the ATS list is read with its own paging (Link) over the comparable window" 0 "/ats/offers/accepted|2025-01-09|2026-04-10" \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.path') || '|' || json_extract(value, '\$.query.from') || '|' || json_extract(value, '\$.query.to') FROM json_each(json_extract(readfile('$tmp/ats.json'), '\$.requests')) WHERE json_extract(value, '\$.path') = '/ats/offers/accepted' ORDER BY json_extract(value, '\$.seq') DESC LIMIT 1"

# ---- interview-confirmations (pattern 2) ----
expect_grep "a confirmed interview is matched to its candidate in the ATS, then confirmed" 0 "success in" \
    -- run interview-confirmations '{"id":"EV-802","candidate_email":"niklaus.clarke@mail.example.org","start":"2026-03-10T15:00:00Z","end":"2026-03-10T15:45:00Z","time_zone":"America/Chicago","interviewers":["grace@example.com","alan@example.com"],"location":"Zoom","status":"confirmed"}'
expect "the ATS was asked by the event's email" 0 "niklaus.clarke@mail.example.org" \
    -- sh -c "curl -s '$u/_sandbox/journal?path=/ats/candidates&method=GET' | grep -o '\"email\":\"[^\"]*\"' | tail -1 | cut -d'\"' -f4"
journal "path=/comms/messages&method=POST" >/dev/null
expect "the confirmation keeps the candidate, time, end, time zone, location and panelists" 0 \
    'niklaus.clarke@mail.example.org|CAND-302|2026-03-10T15:00:00Z|2026-03-10T15:45:00Z|America/Chicago|Zoom|["grace@example.com","alan@example.com"]' \
    -- sqlite3 :memory: "SELECT json_extract(b, '\$.to') || '|' || json_extract(b, '\$.candidate_id') || '|' || json_extract(b, '\$.start') || '|' || json_extract(b, '\$.end') || '|' || json_extract(b, '\$.time_zone') || '|' || json_extract(b, '\$.location') || '|' || json_extract(b, '\$.panelists') FROM (SELECT json_extract(readfile('$tmp/journal.json'), '\$.requests[#-1].body') AS b)"
before=$(journal "path=/comms/messages&method=POST")
expect_grep "an event for someone who is not a candidate" 0 "unmatched              queue.push      ok" \
    -- run interview-confirmations '{"id":"EV-890","candidate_email":"a@b.example","start":"2026-03-10T15:00:00Z","location":"Zoom","status":"confirmed"}'
expect "gets no confirmation" 0 "$before" -- journal "path=/comms/messages&method=POST"
expect_grep "but a queue item" 0 '{"event_id":"EV-890","candidate_email":"a@b.example","candidates_found":0,"start":"2026-03-10T15:00:00Z"}' \
    -- "$bin" queue list interview-unmatched "${org[@]}"
expect_grep "a tentative one sends nothing" 0 "filtered" \
    -- run interview-confirmations '{"id":"EV-801","candidate_email":"ivan.godel@mail.example.org","status":"tentative"}'
fault '{"system":"comms","error_rate":1,"status":502,"times":5}'
expect_grep "after 2 failed dispatches the recruiters hear of it" 1 "warning in" \
    -- run interview-confirmations '{"id":"EV-803","candidate_email":"adele.teitelbaum@mail.example.org","start":"2026-03-11T15:00:00Z","location":"Zoom","status":"confirmed"}'
expect "once" 0 "1" -- journal "path=/ops/hooks/recruiters"

# ---- every webhook scenario: a transient failure ridden out, a permanent one told once ----
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
# NAME SYSTEM-WRITTEN BODY
cases=(
  "role-tenure-push lms {\"employee_id\":\"E-1011\"}"
  "completion-writeback hris {\"completion_id\":\"CP-7001\",\"learner_external_id\":\"E-1012\",\"course_id\":\"C-101\",\"completed_at\":\"2026-03-05T10:00:00Z\"}"
  "termination-handler lms {\"employee_id\":\"E-1017\",\"termination_date\":\"2026-03-31\"}"
  "offer-accepted-to-hris hris {\"offer_id\":\"OFF-704\"}"
  "screening-writeback ats {\"report_id\":\"SA-7\",\"candidate_ref\":\"CAND-304\",\"status\":\"CLEAR\"}"
  "screening-writeback-b ats {\"data\":{\"screening\":{\"id\":\"SB-7\",\"candidate\":{\"external_id\":\"CAND-304\"},\"result\":{\"outcome\":\"pass\"}}}}"
)
for c in "${cases[@]}"; do
    read -r name system body <<<"$c"
    # offer-accepted-to-hris reads the HRIS first (its hires of the start date): that page is
    # tried 3 times per run, so 6 failures make the runs fail twice, as 2 fail the others.
    times=2; [ "$name" = offer-accepted-to-hris ] && times=6
    fault "{\"system\":\"$system\",\"error_rate\":1,\"status\":503,\"times\":$times}"
    expect_grep "$name: two 503s from $system are ridden out by the seeds' retries (3 at 60 s)" 0 "; retry 2 of 3 in 60 s" -- run "$name" "$body"
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
ann=$(new_hire '{"first_name":"Bea","last_name":"Once","work_email":"bea.once@example.com","start_date":"2026-04-11","title":"Counsel","department_id":"D-60","manager_id":"E-1006","offer_id":"OFF-706","pay_rate":{"amount":145000,"currency":"USD","period":"year"}}')
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
# Screening (P3): a vendor's updated result for one report (pending, then complete) is
# appended; only a true repeat (same report, same status) is a duplicate.
for st in SUSPENDED CLEAR; do
    "$sandbox" emit screening.a --to "$d/hooks/screening/vendor-a" --secret "$LIB_HUB" --id "msg_sa77_$st" \
        --report_id SA-77 --candidate_ref CAND-305 --status "$st" >/dev/null 2>&1
done
expect_grep "screening A: the same report and status again (another delivery) is a duplicate" 0 '"duplicate":true' \
    -- "$sandbox" emit screening.a --to "$d/hooks/screening/vendor-a" --secret "$LIB_HUB" --id msg_sa77_again --report_id SA-77 --candidate_ref CAND-305 --status CLEAR
for o in pending pass; do
    "$sandbox" emit screening.b --to "$d/hooks/screening/vendor-b" --secret "$LIB_WHSEC" --id "msg_sb77_$o" \
        --data.screening.id SB-77 --data.screening.candidate.external_id CAND-305 --data.screening.result.outcome "$o" >/dev/null 2>&1
done
expect_grep "screening B: likewise" 0 '"duplicate":true' \
    -- "$sandbox" emit screening.b --to "$d/hooks/screening/vendor-b" --secret "$LIB_WHSEC" --id msg_sb77_again --data.screening.id SB-77 --data.screening.candidate.external_id CAND-305 --data.screening.result.outcome pass
for _ in $(seq 1500); do
    [ "$(get /ats/candidates/CAND-305/screenings '$.total')" = 4 ] && break
    sleep 0.04
done
expect "each new status is appended, the repeats are not" 0 "SA-77 clear,SA-77 pending,SB-77 clear,SB-77 pending" \
    -- sh -c "curl -s -H 'Authorization: x' '$u/ats/candidates/CAND-305/screenings' > '$tmp/s5.json'; sqlite3 :memory: \"SELECT group_concat(r, ',') FROM (SELECT json_extract(value, '\\\$.report_id') || ' ' || json_extract(value, '\\\$.result') AS r FROM json_each(json_extract(readfile('$tmp/s5.json'), '\\\$.items')) ORDER BY r)\""
kill -TERM $dpid
wait $dpid
dpid=
# what the daemon said besides starting and stopping, for whoever reads a failure here
grep -v "listening on\|serving\|SIGTERM\|stopped;\|ended success" "$tmp/dlog" | head -20 | sed 's/^/# daemon: /'
expect "none of the malformed ones was stored" 0 "0" \
    -- sqlite3 "$db" "SELECT count(*) FROM executions WHERE CAST(trigger AS TEXT) LIKE '%E-1}%'"

# ---- the schedules' failures, and every write's provenance ----
export SCENARIST_CLOCK=test:2026-03-07T08:00:00Z
# Seed 002: a failed batch reruns at 03:00, then pages an operator (not a 04:00 rerun).
fault '{"system":"hris","error_rate":1,"status":503,"times":1}'
expect_grep "daily-reconciliation: one failed page is sent again, the night goes on" 0 "success in" -- run daily-reconciliation '{}'
fault '{"system":"hris","error_rate":1,"status":503,"times":50}'
expect_grep "daily-reconciliation: a failed night reruns an hour later (03:00), once" 1 "retry 1 of 1 in 3600 s" -- run daily-reconciliation '{}'
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
pages() { curl -s "$u/_sandbox/journal?system=pager" > "$tmp/pager.json"; sqlite3 :memory: "SELECT json_extract(value, '\$.method') || ' ' || json_extract(value, '\$.path') || ' ' || json_extract(value, '\$.status') || '|' || json_extract(value, '\$.body.routing_key') || '|' || json_extract(value, '\$.body.event_action') || '|' || json_extract(value, '\$.body.payload.severity') || '|' || json_extract(value, '\$.body.payload.summary') FROM json_each(json_extract(readfile('$tmp/pager.json'), '\$.requests'))"; }
expect_grep "then the operator is paged (PagerDuty events v2)" 0 \
    "POST /pager/v2/enqueue 202|R0L1BRARYTESTPAGERR0UT1NGKEY0001|trigger|error|daily-reconciliation failed twice (02:00 and the 03:00 rerun): paginate: page 1: GET $u/hris/employees?per_page=100: HTTP 503" \
    -- pages
expect "once" 0 "1" -- sh -c "$(declare -f pages j); u='$u' tmp='$tmp' pages | wc -l"
expect "the pager has one open incident" 0 "triggered 1" \
    -- sh -c "curl -s '$u/_sandbox/data?table=pager_incidents' > '$tmp/inc.json'; sqlite3 :memory: \"SELECT group_concat(json_extract(value, '\\\$.status') || ' ' || json_extract(value, '\\\$.events'), ',') FROM json_each(readfile('$tmp/inc.json'))\""
expect "the sandbox's pager refuses an event PagerDuty would refuse" 0 \
    '400 {"status":"invalid event","message":"Event object is invalid","errors":["routing_key must be a 32-character integration key"]}' \
    -- sh -c "curl -s -w '%{http_code} ' -o '$tmp/pd.json' -X POST -d '{\"routing_key\":\"short\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"x\",\"source\":\"y\",\"severity\":\"error\"}}' '$u/pager/v2/enqueue'; cat '$tmp/pd.json'"
expect_grep "and ops hears that it was paged" 0 "daily-reconciliation failed after its 03:00 rerun, operator paged:" -- curl -s "$u/_sandbox/journal?system=ops"
fault '{"system":"ats","error_rate":1,"status":503,"times":50}'
expect_grep "ats-hris-reconciliation too: one rerun" 1 "retry 1 of 1 in 3600 s" -- run ats-hris-reconciliation '{}'
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
expect_grep "then a page" 0 "|trigger|error|ats-hris-reconciliation failed twice (02:00 and the 03:00 rerun): paginate: page 1: GET $u/ats/offers/accepted" -- pages
fault '{"system":"comms","error_rate":1,"status":502,"times":1}'
expect_grep "interview-confirmations: one failed send is retried" 0 "retry 1 of 1 in 120 s" \
    -- run interview-confirmations '{"id":"EV-804","candidate_email":"ivan.godel@mail.example.org","start":"2026-03-12T15:00:00Z","location":"Zoom","status":"confirmed"}'
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

# ---- both reconciliations at a generated size: three nights, the queues are the planted drift ----
# 500 generated employees (tools/sandbox --employees), every list read page by page in
# its system's style; each night the open items are exactly the drift the sandbox
# planted, nothing is queued or reported twice, and a repaired drift is closed.
g=$tmp/gen
mkdir -p "$g"
"$sandbox" --port 0 --port-file "$g/port" --employees 500 --seed 3 2>"$g/sblog" &
gpid=$!
for _ in $(seq 3000); do [ -s "$g/port" ] && break; sleep 0.02; done
gu=http://127.0.0.1:$(cat "$g/port")
cp orgs/system-of-record.yaml "$g/"
sed -e "s/@PORT@/$(cat "$g/port")/g" -e "s|@DIR@|$g|" tests/library/org.yaml.in > "$g/org.yaml"
gorg=(--org "$g/org.yaml")
printf '{}' > "$g/event.json"
curl -s "$gu/_sandbox/data?table=planted" > "$g/planted.json"
# planted KIND...: the planted drift of those kinds as queue keys, sorted, one line
planted() {
    local kinds
    kinds=$(printf "'%s'," "$@")
    sqlite3 :memory: "SELECT group_concat(k, ' ') FROM (SELECT json_extract(value, '\$.kind') || ':' || coalesce(json_extract(value, '\$.offer_id'), json_extract(value, '\$.employee_id'), json_extract(value, '\$.external_id')) AS k FROM json_each(readfile('$g/planted.json')) WHERE json_extract(value, '\$.kind') IN (${kinds%,}) ORDER BY k)"
}
queued() { "$bin" queue list "$1" "${gorg[@]}" | awk '{ print $3 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
learner_kinds=(missing_learner active_learner_terminated field_mismatch orphan_learner)
offer_kinds=(accepted_offer_without_hire hire_without_accepted_offer)
for night in 7 8 9; do
    [ "$night" = 9 ] && curl -s -X PUT "$gu/lms/learners/$fixed" -H 'Authorization: x' -d "$fix" >/dev/null
    curl -s -X DELETE "$gu/_sandbox/journal" >/dev/null
    for sc in daily-reconciliation ats-hris-reconciliation; do
        SCENARIST_CLOCK=test:2026-03-0${night}T08:00:00Z "$bin" run "scenarios/$sc.yaml" --input "$g/event.json" "${gorg[@]}" >"$g/run.log" 2>&1 \
            || { echo "# $sc night $night:"; tail -5 "$g/run.log" | sed 's/^/# /'; }
    done
    want=$(planted "${learner_kinds[@]}")
    if [ "$night" = 9 ]; then want=$(tr ' ' '\n' <<<"$want" | grep -v ":$fixed\$" | tr '\n' ' ' | sed 's/ $//'); fi
    expect "500 employees, night $night: the learner-drift queue is the planted drift" 0 "$want" -- queued learner-drift
    expect "500 employees, night $night: the reconciliation queue is the planted orphans" 0 "$(planted "${offer_kinds[@]}")" -- queued ats-hris-reconciliation
    curl -s "$gu/_sandbox/journal?method=GET" > "$g/j.json"
    expect "500 employees, night $night: every list read in pages, in its system's style" 0 "/ats/offers/accepted 1 one page|/hris/employees 5 page=2|/hris/new-hires 1 one page|/lms/learners 5 cursor=" \
        -- sqlite3 :memory: "SELECT group_concat(p || ' ' || n || ' ' || q, '|') FROM (SELECT json_extract(value, '\$.path') AS p, count(*) AS n, coalesce(max(CASE WHEN json_extract(value, '\$.query.page') = '2' THEN 'page=2' WHEN json_extract(value, '\$.query.cursor') IS NOT NULL THEN 'cursor=' END), 'one page') AS q FROM json_each(json_extract(readfile('$g/j.json'), '\$.requests')) GROUP BY p ORDER BY p)"
    if [ "$night" = 7 ]; then
        # the drift repaired before night 9: a planted field mismatch (the department)
        fixed=$(sqlite3 :memory: "SELECT json_extract(value, '\$.employee_id') FROM json_each(readfile('$g/planted.json')) WHERE json_extract(value, '\$.field') = 'department' LIMIT 1")
        curl -s -H 'Authorization: x' "$gu/hris/employees/$fixed" > "$g/e.json"
        fix=$(sqlite3 :memory: "SELECT json_object('email', json_extract(b, '\$.work_email'), 'department', json_extract(b, '\$.department.name'), 'title', json_extract(b, '\$.title'), 'manager_external_id', json_extract(b, '\$.manager_id')) FROM (SELECT readfile('$g/e.json') AS b)")
    fi
done
expect "500 employees: the HRIS admin queue got each drift once in three nights" 0 "$(planted "${learner_kinds[@]}" | wc -w)" \
    -- sh -c "curl -s '$gu/_sandbox/data?table=admin_drift' | grep -o '\"kind\":' | wc -l"
expect_grep "500 employees: the repaired drift was closed on night 9" 0 "Learner drift: $(( $(planted "${learner_kinds[@]}" | wc -w) - 1 )) open in the learner-drift queue (1 resolved tonight" \
    -- curl -s "$gu/_sandbox/journal?system=ops"
kill "$gpid"
wait "$gpid" 2>/dev/null
gpid=

# ---- staging: read-only HRIS credentials with its writes shadowed (seed 000) ----
# The shipped staging org at this sandbox: the scenarios that write to the HRIS run end to
# end; the HRIS gets their reads and none of their writes, each write is recorded and
# audited as shadowed. Production keeps a read-write HRIS.
reset
st=$tmp/staging
mkdir -p "$st"
cp orgs/system-of-record.yaml "$st/"
sed -e "s|127.0.0.1:8900|127.0.0.1:$(cat "$tmp/port")|g" -e "s|^store: .*|store: $st/scenarist.db|" \
    -e "s|to: var/staging/backups|to: $st/backups|" orgs/staging.yaml > "$st/staging.yaml"
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
expect_grep "staging: daily-reconciliation reports every drift, shadowed" 0 "drift                  reconcile       ok            0 ms  7 bundles" -- srun daily-reconciliation '{}'
curl -s "$u/_sandbox/journal?system=hris" > "$tmp/hris.json"
expect "staging: the HRIS got only reads" 0 \
"GET /hris/new-hires
GET /hris/employees/E-1002
GET /hris/employees/E-7777
GET /hris/employees" \
    -- sqlite3 :memory: "SELECT json_extract(value, '\$.method') || ' ' || json_extract(value, '\$.path') FROM json_each(json_extract(readfile('$tmp/hris.json'), '\$.requests'))"
expect "staging: shadow list shows every HRIS write" 0 \
"POST /hris/employees offer-accepted-to-hris create 201 (confidential scenario)
POST /hris/employees/E-1002/learning-history completion-writeback write 201 {\"course_id\":\"C-102\",\"completed_at\":\"2026-03-05T10:00:00Z\",\"...
POST /hris/admin/drift completion-writeback drift 201 {\"kind\":\"completion_for_unknown_or_terminated\",\"employee_id\"...
POST /hris/admin/drift daily-reconciliation report 201 {\"external_id\":\"E-0999\",\"kind\":\"orphan_learner\",\"learner_id\"...
POST /hris/admin/drift daily-reconciliation report 201 {\"employee_id\":\"E-1006\",\"kind\":\"missing_learner\",\"sent_from\"...
POST /hris/admin/drift daily-reconciliation report 201 {\"employee_id\":\"E-1014\",\"kind\":\"active_learner_terminated\",\"...
POST /hris/admin/drift daily-reconciliation report 201 {\"employee_id\":\"E-1021\",\"fields\":[{\"field\":\"title\",\"hris\":\"C...
POST /hris/admin/drift daily-reconciliation report 201 {\"employee_id\":\"E-1034\",\"kind\":\"missing_learner\",\"sent_from\"..." \
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
for _ in $(seq 1500); do
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
expect "staging: seed 001's three health targets, judged" 0 \
"TARGET                   METRIC        SCOPE                            WINDOW     VALUE  WANT           RESULT
sync-failures            failure_rate  scenario offer-accepted-to-hris  7d          0.0%  below 1%       ok
reconciliation-queue     queue_depth   queue ats-hris-reconciliation    now            0  at most 0      ok
payroll-holds            hold_rate     scenario hire-to-payroll         7d          0.0%  below 2%       ok
all 3 targets met" -- "$bin" metrics --check "${sorg[@]}"
# Seed 000: the shipped orgs back every scenario up weekly (Sunday 03:00 local); the
# daemon does it, here on the test clock over one Sunday morning.
expect_grep "production declares the same weekly backup" 0 'backup: { to: var/production/backups, cron: "0 3 * * 0" }' -- cat orgs/production.yaml
"$bin" deploy scenarios "${sorg[@]}" -m "library test" >/dev/null 2>&1
SCENARIST_CLOCK=test:2026-03-15T07:50:00Z "$bin" serve scenarios/role-tenure-push.yaml "${sorg[@]}" --listen 127.0.0.1:0 \
    --until 2026-03-15T07:58:00Z >/dev/null 2>"$tmp/blog"
check "staging: no backup before Sunday 03:00" test ! -e "$st/backups"
SCENARIST_CLOCK=test:2026-03-15T07:58:00Z "$bin" serve scenarios/role-tenure-push.yaml "${sorg[@]}" --listen 127.0.0.1:0 \
    --until 2026-03-15T08:05:00Z >/dev/null 2>"$tmp/blog"
expect "staging's daemon wrote every scenario's current version at Sunday 03:00 (America/Chicago)" 0 \
    "$(cd scenarios && ls *.yaml | sed 's/\.yaml$//' | sort | tr '\n' ' ')" \
    -- sh -c "ls '$st/backups' | sort | tr '\n' ' '"
tests/library/new.sh "$bin" "$sandbox"   # the five talent scenarios
