#!/usr/bin/env bash
# The sandbox as tests and demos use it: each system's API, the journal, each fault,
# Idempotency-Key replay, emit (to the real daemon, signed), and its documentation.
# usage: tests/sandbox/run.sh SANDBOX SCENARIST
set -u
sandbox=$(realpath "$1")
bin=$(realpath "$2")
cd "$(dirname "$0")/../.."
suite=sandbox
. tests/lib.sh
suite_tmp dpid sbpid

start_sandbox "$tmp/port" "$tmp/log" --seed 42
u=$sb
auth=(-H 'Authorization: Bearer staging-token')

# call METHOD PATH [BODY] [curl args...]: prints the status; the body is in $tmp/resp.
call() {
    local m=$1 p=$2 b=${3:-}
    shift 2
    [ $# -gt 0 ] && shift
    if [ -n "$b" ]; then
        curl -s -o "$tmp/resp" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' \
            --data-binary "$b" "$@" "$u$p"
    else
        curl -s -o "$tmp/resp" -w '%{http_code}' -X "$m" "$@" "$u$p"
    fi
}
# j PATH: a value of the last answer (SQLite's JSON functions).
j() { sqlite3 :memory: "SELECT json_extract(readfile('$tmp/resp'), '$1')"; }
# api NAME STATUS JSONPATH VALUE METHOD PATH [BODY]: one call, its status and one value.
api() {
    local name=$1 st=$2 path=$3 want=$4
    shift 4
    local got
    got=$(call "$1" "$2" "${3:-}" "${auth[@]}")
    expect "$name" 0 "$st $want" -- echo "$got $(j "$path")"
}

# ---- HRIS ----
api "HRIS lists employees, paged" 200 '$.total' 56 GET "/hris/employees?per_page=10"
expect "a page holds per_page items and names the next" 0 "10 2" -- echo "$(sqlite3 :memory: "SELECT json_array_length(readfile('$tmp/resp'), '\$.items')") $(j '$.next_page')"
api "the last page has no next" 200 '$.next_page' "" GET "/hris/employees?per_page=50&page=2"
api "updated_since filters" 200 '$.total' 16 GET "/hris/employees?updated_since=2026-03-06T00:00:00Z"
api "status filters" 200 '$.total' 3 GET "/hris/employees?status=terminated"
api "one employee, with department and manager" 200 '$.manager_id' E-1001 GET /hris/employees/E-1007
api "an unknown employee is 404" 404 '$.error' "no employee E-9" GET /hris/employees/E-9
api "a new hire is created" 201 '$.id' E-1057 POST /hris/employees \
    '{"first_name":"Nia","last_name":"Okafor","work_email":"nia.okafor@example.com","start_date":"2026-04-06","title":"Payroll Specialist","department_id":"D-30","manager_id":"E-1003"}'
api "a new hire without start_date is 422 naming it" 422 '$.field' start_date POST /hris/employees \
    '{"first_name":"X","last_name":"Y","work_email":"x@y.z","title":"T","department_id":"D-10"}'
api "a second hire with the same email is 409" 409 '$.error' "an employee with work_email nia.okafor@example.com exists" POST /hris/employees \
    '{"first_name":"Nia","last_name":"Okafor","work_email":"nia.okafor@example.com","start_date":"2026-04-06","title":"T","department_id":"D-30"}'
api "an update changes fields" 200 '$.department.name' Finance PATCH /hris/employees/E-1007 '{"title":"Controller","department_id":"D-30"}'
api "an update of an unknown field is 422" 422 '$.error' "salary cannot be changed here" PATCH /hris/employees/E-1007 '{"salary":1}'
api "a title that is not text is 422, nothing changed" 422 '$.error' "title must be a non-empty text" PATCH /hris/employees/E-1007 '{"location":"Oslo","title":["x"]}'
api "an employee cannot manage themself" 422 '$.error' "manager_id must be another employee's id, or null" PATCH /hris/employees/E-1007 '{"manager_id":"E-1007"}'
api "an unknown department is 422, not a change event with nothing changed" 422 '$.error' "no department D-99" PATCH /hris/employees/E-1007 '{"department_id":"D-99"}'
api "so E-1007's location is as before (no half-applied patch)" 200 '$.location' Remote GET /hris/employees/E-1007
api "a change whose body is not a JSON object is 400" 400 '$.error' "the body must be a JSON object: {kind, ...}" POST /_sandbox/change '[]'
api "a role change is recorded" 201 '$.employee_id' E-1008 POST /hris/employees/E-1008/role-changes '{"title":"Staff Engineer","effective_date":"2026-04-01"}'
api "and shows on the employee" 200 '$.title' "Staff Engineer" GET /hris/employees/E-1008
api "a termination" 201 '$.termination_date' 2026-03-31 POST /hris/employees/E-1010/terminations '{"termination_date":"2026-03-31","reason":"resignation"}'
api "a learning-history record is appended" 201 '$.course_id' C-101 POST /hris/employees/E-1002/learning-history '{"course_id":"C-101","completed_at":"2026-03-02T10:00:00Z","score":91}'
api "and listed" 200 '$.items[0].score' 91 GET /hris/employees/E-1002/learning-history
api "a terminated employee takes no learning history (409)" 409 '$.error' "employee E-1010 is terminated: learning history is closed" \
    POST /hris/employees/E-1010/learning-history '{"course_id":"C-101","completed_at":"2026-03-02T10:00:00Z"}'
api "the admin drift queue takes an item" 201 '$.kind' missing_learner POST /hris/admin/drift '{"kind":"missing_learner","employee_id":"E-1006"}'
api "and lists it" 200 '$.total' 1 GET /hris/admin/drift
api "new hires by date range" 200 '$.items[0].id' E-1057 GET "/hris/new-hires?from=2026-04-01&to=2026-04-30"

# ---- LMS ----
api "LMS lists learners, paged" 200 '$.total' 53 GET "/lms/learners?per_page=100"
api "a learner by employee id" 200 '$.id' L-5001 GET /lms/learners/E-1001
api "upsert of a new learner is 201" 201 '$.external_id' E-1057 PUT /lms/learners/E-1057 '{"email":"nia.okafor@example.com","title":"Payroll Specialist"}'
api "upsert of an existing one is 200" 200 '$.title' "Staff Engineer" PUT /lms/learners/E-1008 '{"email":"x@example.com","title":"Staff Engineer"}'
api "revoke access" 200 '$.active' 0 POST /lms/learners/E-1010/revoke
api "finalise the learning record" 200 '$.completions' 2 POST /lms/learners/E-1002/finalise
api "a termination event" 201 '$.system' lms POST /lms/terminations '{"external_id":"E-1010","termination_date":"2026-03-31"}'
api "completions since a time" 200 '$.total' 22 GET "/lms/completions?since=2026-03-06T00:00:00Z&per_page=100"
api "courses" 200 '$.total' 8 GET /lms/courses

# ---- ATS, payroll, calendar, comms, ops ----
api "candidates" 200 '$.total' 14 GET /ats/candidates
api "one candidate" 200 '$.email' ivan.godel@mail.example.org GET /ats/candidates/CAND-301
api "offers of a candidate" 200 '$.items[0].pay_rate.amount' 130000 GET "/ats/offers?candidate_id=CAND-301"
api "one offer: pay rate, start date, manager" 200 '$.manager_id' E-1001 GET /ats/offers/OFF-701
api "offers accepted in a date range" 200 '$.total' 6 GET "/ats/offers/accepted?from=2026-03-01&to=2026-03-04"
api "a screening result is appended" 201 '$.vendor' screening-a POST /ats/candidates/CAND-301/screenings '{"vendor":"screening-a","result":"clear"}'
api "never overwritten: a second one adds" 201 '$.vendor' screening-b POST /ats/candidates/CAND-301/screenings '{"vendor":"screening-b","result":"pass"}'
api "the history holds both" 200 '$.items[1].result' pass GET /ats/candidates/CAND-301/screenings
api "payroll takes a new hire" 201 '$.employee_id' E-1057 POST /payroll/new-hires '{"employee_id":"E-1057","pay_rate":{"amount":76000,"currency":"USD"},"start_date":"2026-04-06"}'
api "payroll lists them" 200 '$.total' 1 GET /payroll/new-hires
api "calendar events since a time" 200 '$.total' 4 GET "/calendar/events?updated_since=2026-03-05T00:00:00Z"
api "comms sends a confirmation" 201 '$.template' interview-confirmation POST /comms/messages '{"to":"ivan.godel@mail.example.org","template":"interview-confirmation"}'
api "comms lists messages" 200 '$.total' 1 GET /comms/messages
expect "the ops channel answers ok, as Slack does" 0 "200 ok" -- sh -c "curl -s -w '%{http_code} ' -o '$tmp/o' -d '{\"text\":\"hello ops\"}' '$u/ops/hooks/staging'; cat '$tmp/o'"
api "and keeps the message" 200 '$.items[0].text' "hello ops" GET "/ops/messages?channel=staging"
expect "a system without credentials is 401" 0 "401" -- call GET /hris/employees
expect "a wrong method is 405" 0 "405" -- call DELETE /lms/courses "" "${auth[@]}"
expect "an unknown path is 404" 0 "404" -- call GET /hris/nothing "" "${auth[@]}"

# ---- the journal ----
call GET "/_sandbox/journal?system=payroll" >/dev/null
expect "the journal filters by system" 0 "2 POST /payroll/new-hires" -- echo "$(j '$.count') $(j '$.requests[0].method') $(j '$.requests[0].path')"
expect "it keeps headers and the body" 0 "Bearer staging-token 76000" \
    -- echo "$(j '$.requests[0].headers.authorization') $(j '$.requests[0].body.pay_rate.amount')"
call GET "/_sandbox/journal?method=PUT&path=/lms/" >/dev/null
expect "by method and path prefix" 0 "2" -- j '$.count'
call DELETE /_sandbox/journal >/dev/null
call GET /_sandbox/journal >/dev/null
expect "and empties" 0 "0" -- j '$.count'

# ---- Idempotency-Key ----
key=(-H 'Idempotency-Key: exec-1:upsert:1')
call PUT /lms/learners/E-1060 '{"email":"a@example.com"}' "${auth[@]}" "${key[@]}" >/dev/null
expect "a write with a key is applied" 0 "a@example.com" -- j '$.email'
expect "the same key again returns the first answer" 0 "201 a@example.com" \
    -- sh -c "curl -s -o '$tmp/resp' -w '%{http_code} ' -X PUT -H 'Authorization: x' -H 'Idempotency-Key: exec-1:upsert:1' --data-binary '{\"email\":\"b@example.com\"}' '$u/lms/learners/E-1060'; sqlite3 :memory: \"SELECT json_extract(readfile('$tmp/resp'), '\\\$.email')\""
call GET /lms/learners/E-1060 "" "${auth[@]}" >/dev/null
expect "and does not write twice" 0 "a@example.com" -- j '$.email'
call GET "/_sandbox/journal?path=/lms/learners/E-1060&method=PUT" >/dev/null
expect "the journal counts both, the second marked replayed" 0 "2 1" -- echo "$(j '$.count') $(j '$.requests[1].replayed')"

# ---- faults ----
call POST /_sandbox/faults '{"system":"lms","error_rate":1,"status":503,"times":2}' >/dev/null
got=$(for i in 1 2 3; do call GET /lms/courses "" "${auth[@]}"; printf ' '; done)
expect "an error rate with a status, for the next 2 requests" 0 "503 503 200 " -- echo "$got"
call POST /_sandbox/faults '{"system":"hris","rate_limit":1,"retry_after":42,"times":1}' >/dev/null
expect_grep "429 with Retry-After" 0 "Retry-After: 42" -- curl -s -i "${auth[@]}" "$u/hris/employees/E-1001"
call POST /_sandbox/faults '{"system":"ats","reset_rate":1,"times":1}' >/dev/null
expect "a connection reset: no answer at all" 52 "000" -- curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$u/ats/candidates"
expect "then the next request is served" 0 "200" -- call GET /ats/candidates "" "${auth[@]}"
call POST /_sandbox/faults '{"system":"calendar","latency_ms":300,"times":1}' >/dev/null
t=$(curl -s -o /dev/null -w '%{time_total}' "${auth[@]}" "$u/calendar/events")
expect "added latency holds the answer back at least that long" 0 "yes" -- sh -c "awk 'BEGIN { print ($t >= 0.3) ? \"yes\" : \"no: $t\" }'"
api "an unknown fault is 422" 422 '$.error' "unknown fault error_ratio" POST /_sandbox/faults '{"system":"lms","error_ratio":1}'
call GET "/_sandbox/journal?path=/lms/courses" >/dev/null
expect "faulted requests are journalled with their fault" 0 "503" -- j '$.requests[0].fault'
# hex TEXT: its bytes in hexadecimal, to compare bytes that are not UTF-8
hex() { od -An -tx1 | tr -d ' \n'; }
call POST /_sandbox/faults '{"system":"hris","headers":{"X-Legacy":"caf\u00e9 \u00ff"},"header_charset":"latin1"}' >/dev/null
expect "a headers fault in latin1 writes ISO-8859-1 bytes (a legacy server's answer)" 0 \
    "$(printf 'X-Legacy: caf\xe9 \xff' | hex)" \
    -- sh -c "curl -s -i ${auth[*]@Q} '$u/hris/employees/E-1001' | grep -a '^X-Legacy' | tr -d '\r\n' | od -An -tx1 | tr -d ' \n'"
call POST /_sandbox/faults '{"system":"hris","headers":{"X-Legacy":"caf\u00e9"}}' >/dev/null
expect_grep "and in UTF-8 by default, on every answer while set" 0 "X-Legacy: café" \
    -- curl -s -i "${auth[@]}" "$u/hris/employees/E-1001"
api "a latin1 header past U+00FF is 422" 422 '$.error' "headers: latin1 writes characters up to U+00FF only" \
    POST /_sandbox/faults '{"system":"hris","headers":{"X-A":"\u20ac"},"header_charset":"latin1"}'
api "a header value on two lines is 422" 422 '$.error' "headers must be an object of header names and values (one line each)" \
    POST /_sandbox/faults '{"system":"hris","headers":{"X-A":"a\r\nX-B: b"}}'
api "a body that is not JSON is 400, saying so" 400 '$.error' 'the body must be a JSON object: {"system": NAME, faults...}' \
    POST /_sandbox/faults '{"system":"hris",'
api "another charset is 422" 422 '$.error' 'header_charset must be "utf-8" or "latin1"' \
    POST /_sandbox/faults '{"system":"hris","header_charset":"cp1252"}'
call DELETE /_sandbox/faults >/dev/null
call GET /_sandbox/faults >/dev/null
expect "faults clear" 0 "{}" -- cat "$tmp/resp"

# ---- emit: the webhooks real systems send, to the real daemon ----
export SB_HRIS_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw SB_SCREENING_SECRET=vendor-a-secret
mkdir -p "$tmp/scn"
cat > "$tmp/org.yaml" <<EOF
name: sbtest
timezone: UTC
store: $tmp/store/db
connections:
  ops: { base_url: "$u/ops/hooks/sbtest" }
webhooks:
  hris-signature: { scheme: standard-webhooks, secret: env:SB_HRIS_SECRET }
  screening-a-signature: { scheme: hub-signature, secret: env:SB_SCREENING_SECRET }
EOF
for p in hris/employee-changed screening/a; do
    n=${p//\//-}
    a=hris-signature
    [ $p = screening/a ] && a=screening-a-signature
    cat > "$tmp/scn/$n.yaml" <<EOF
name: $n
triggers:
  - webhook: { path: /hooks/$p, auth: $a }
steps:
  - id: note
    module: notify
    with: { connection: ops, text: "got {{ trigger.body.employee_id }}{{ trigger.body.report_id }}" }
EOF
done
: > "$tmp/dlog" # daemon_url reads it at once
"$bin" serve "$tmp/scn" --org "$tmp/org.yaml" --listen 127.0.0.1:0 2>"$tmp/dlog" &
dpid=$!
d=$(daemon_url "$tmp/dlog")
expect_grep "emit sends a Standard Webhooks-signed event the daemon accepts" 0 '202 {"execution":' \
    -- "$sandbox" emit employee.changed --employee_id E-1042 --to "$d/hooks/hris/employee-changed" --secret "$SB_HRIS_SECRET"
expect_grep "emit signs vendor A's result with a hub signature" 0 '202 {"execution":' \
    -- "$sandbox" emit screening.a --to "$d/hooks/screening/a" --secret "$SB_SCREENING_SECRET"
expect_grep "unsigned, the daemon refuses it (exit 1)" 1 '401 {"error":"missing webhook-timestamp header' \
    -- "$sandbox" emit employee.changed --to "$d/hooks/hris/employee-changed" --id msg_unsigned
expect_grep "a wrong secret too" 1 '401 ' \
    -- "$sandbox" emit employee.changed --to "$d/hooks/hris/employee-changed" --secret whsec_c2VjcmV0LXR3bw==
call POST /_sandbox/emit "{\"kind\":\"employee.changed\",\"to\":\"$d/hooks/hris/employee-changed\",\"secret\":\"$SB_HRIS_SECRET\",\"fields\":{\"employee_id\":\"E-1043\"}}" >/dev/null
expect "the running sandbox sends one too" 0 "1 202" -- echo "$(j '$.sent')" "$(j '$.status')"
call POST /_sandbox/faults '{"system":"hris","drop_webhooks":true}' >/dev/null
call POST /_sandbox/emit "{\"kind\":\"employee.changed\",\"to\":\"$d/hooks/hris/employee-changed\",\"secret\":\"$SB_HRIS_SECRET\"}" >/dev/null
expect "a drop_webhooks fault drops it" 0 "1" -- j '$.dropped'
for _ in $(seq 3000); do [ "$(sqlite3 "$tmp/store/db" "SELECT count(*) FROM executions WHERE status = 'success'")" = 3 ] && break; sleep 0.02; done
expect "the daemon ran exactly the three delivered" 0 "3" -- sqlite3 "$tmp/store/db" "SELECT count(*) FROM executions"
call GET "/_sandbox/journal?system=ops" >/dev/null
expect "and its notifications reached the ops channel" 0 "3" -- j '$.count'
call GET "/_sandbox/journal?method=EMIT" >/dev/null
expect "the journal shows the sent and the dropped webhook" 0 "2 0 1" -- echo "$(j '$.count') $(j '$.requests[0].dropped') $(j '$.requests[1].dropped')"
kill -TERM $dpid
wait $dpid
dpid=

# ---- reset, documentation ----
call POST /_sandbox/reset >/dev/null
api "reset brings the fixture back" 200 '$.total' 56 GET /hris/employees
expect "--help lists every endpoint, each in docs/sandbox.md" 0 "" \
    -- sh -c "'$sandbox' --help | grep -E '^  (GET|POST|PUT|PATCH|DELETE) ' | while read -r m p _; do grep -qF \"\\\`\$m \$p\\\`\" docs/sandbox.md || echo \"missing: \$m \$p\"; done"
expect "--help lists every webhook kind, each in docs/sandbox.md" 0 "" \
    -- sh -c "'$sandbox' --help | sed -n '/^Webhook kinds/,\$p' | tail -n +2 | while read -r k _; do grep -qF \"\\\`\$k\\\`\" docs/sandbox.md || echo \"missing: \$k\"; done"
check "the fixture has at least 50 employees" test "$(sqlite3 :memory: "SELECT json_array_length(readfile('tools/sandbox/fixture.json'), '\$.employees')")" -ge 50
expect_grep "staging points its connections at the sandbox" 0 "base_url: http://127.0.0.1:8900/hris" -- cat orgs/staging.yaml
kill -TERM $sbpid
wait $sbpid
expect "the sandbox stops cleanly on SIGTERM" 0 "0" -- echo $?
pid=

# ---- at volume: a generated organisation, the paging styles, webhooks sent by the sandbox ----
tests/sandbox/volume.sh "$sandbox" "$bin"
tests/sandbox/reconcile.sh "$sandbox" "$bin"

# ---- a poll following the LMS's cursor pages writes back every completion ----
tests/sandbox/pages.sh "$sandbox" "$bin"
