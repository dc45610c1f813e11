#!/usr/bin/env bash
# Shadow writes (a read-only connection with shadow: true) against the stub: validate
# accepts writes to it and still refuses them to a read-only connection that does not
# shadow; a run sends its reads and none of its writes (the stub's exact journal); each
# write is recorded in full with its secrets redacted, audited as shadowed, and answered
# by its stand-in, which the steps after it read; `scenarist shadow list` shows them.
# usage: tests/shadow/run.sh SCENARIST STUB
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
cd "$(dirname "$0")/../.."
fx=tests/shadow
suite=shadow
. tests/lib.sh
suite_tmp spid
export SCENARIST_CLOCK=test:2026-03-08T07:59:00Z USER=tester
export SHADOW_AUDIT_KEY=shadow-audit-key-0123456789abcdef0123456789
export SHADOW_HRIS_TOKEN=hris-secret-7Qx SHADOW_ATS_KEY=ats-secret-9Kp
export SHADOW_PAYROLL_PASSWORD=pw-secret-3Lm SHADOW_LMS_TOKEN=lms-secret-5Zr

start_stub "$tmp/s" "$fx/replies.json"
stub_org "$fx/org.yaml.in" "$tmp/s"
org=$tmp/s/org.yaml
port=$(cat "$tmp/s/port")
mask() { sed "s/127.0.0.1:$port/127.0.0.1:PORT/g"; }
id=20260308-075900-000001

# ---- validate ----
expect "writes to shadowing connections validate" 0 "ok: 1 scenario file valid for org shadowtest" \
    -- "$bin" validate "$fx/write.yaml" --org "$org"
expect "a write to a read-only connection that does not shadow is still refused" 2 \
"$fx/payroll.yaml:10:42: error: POST is a write, but connection 'payroll' is read-only in org 'shadowtest' (only GET and HEAD are allowed)
   10 |     with: { connection: payroll, method: POST, path: /dispatch, json: { id: E-1 } }
      |                                          ^~~~
1 error, 0 warnings in 1 file (org shadowtest)" -- "$bin" validate "$fx/payroll.yaml" --org "$org"

# bad_org NAME CONNECTION-LINES: an org whose one connection is given by the lines.
bad_org() {
    printf 'name: %s\nconnections:\n  hris:\n    base_url: http://127.0.0.1:1/hris\n%s\n' "$1" "$2" > "$tmp/$1.yaml"
}
bad_org rw '    shadow: true'
expect "shadow without access: read-only is an org error" 2 \
"$tmp/rw.yaml:5:13: error: shadow applies to a read-only connection: add access: read-only (a read-write connection sends its writes)
    5 |     shadow: true
      |             ^~~~
scenarist: org '$tmp/rw.yaml' does not load; nothing validated" -- "$bin" validate "$fx/payroll.yaml" --org "$tmp/rw.yaml"
bad_org noshadow '    access: read-only
    stand_ins: [ { path: /x } ]'
expect "stand_ins without shadow is an org error" 2 \
"$tmp/noshadow.yaml:6:16: error: stand_ins answer shadowed writes: add shadow: true
    6 |     stand_ins: [ { path: /x } ]
      |                ^
scenarist: org '$tmp/noshadow.yaml' does not load; nothing validated" -- "$bin" validate "$fx/payroll.yaml" --org "$tmp/noshadow.yaml"
bad_org status '    access: read-only
    shadow: true
    stand_ins: [ { path: x, status: 500 } ]'
expect "a stand-in answers 2xx at a path starting with /" 2 \
"$tmp/status.yaml:7:26: error: a stand-in's path starts with '/', as steps write it under the base URL: '/x'
    7 |     stand_ins: [ { path: x, status: 500 } ]
      |                          ^
$tmp/status.yaml:7:37: error: a stand-in answers with a success status (200-299), not 500
    7 |     stand_ins: [ { path: x, status: 500 } ]
      |                                     ^~~
scenarist: org '$tmp/status.yaml' does not load; nothing validated" -- "$bin" validate "$fx/payroll.yaml" --org "$tmp/status.yaml"

# ---- a run: reads sent, writes shadowed, the stand-ins read by the steps after ----
echo '{}' > "$tmp/in.json"
expect "the run goes on with the stand-in answers" 0 \
"shadow-write  execution $id  (org shadowtest, version draft)
  read                   http.request    ok            0 ms  HTTP 200 {\"id\":\"E-1\",\"name\":\"Ada Lovelace\",\"status\":\"active\"}
  create                 http.request    ok            0 ms  HTTP 201 {\"id\":\"E-SHADOW-1\",\"status\":\"active\"}
  history                http.request    ok            0 ms  HTTP 202 {\"accepted\":true}
  status                 http.request    ok            0 ms  HTTP 200 {}
  note                   http.request    ok            0 ms  HTTP 200 {}
  learner                http.request    ok            0 ms  HTTP 200 {\"ok\":true}
  tell                   notify          ok            0 ms  HTTP 200 {}
success in 0 ms" -- "$bin" run "$fx/write.yaml" --input "$tmp/in.json" --org "$org"
expect "the stub got the read and the read-write connection's write, no shadowed write" 0 \
'{"body":null,"headers":{"accept":"application/json","authorization":"Bearer hris-secret-7Qx"},"method":"GET","path":"/hris/employees/E-1","query":{}}
{"body":{"history":true,"hris_status":201,"patched":{},"sent_from":"https://scenarist.example.com/scenarios/shadow-write/versions/draft/steps/learner","sent_to":"http://127.0.0.1:PORT/lms/learners/E-SHADOW-1"},"headers":{"accept":"application/json","authorization":"Bearer lms-secret-5Zr","content-type":"application/json","idempotency-key":"20260308-075900-000001:learner:1"},"method":"PUT","path":"/lms/learners/E-SHADOW-1","query":{}}' \
    -- sh -c "mask() { sed 's/127.0.0.1:$port/127.0.0.1:PORT/g'; }; mask < '$tmp/s/journal'"

list="2026-03-08T07:59:00.000Z  shadow-write  $id  create  POST http://127.0.0.1:PORT/hris/employees  201  {\"name\":\"Ada Lovelace\",\"sent_from\":\"https://scenarist.exampl...
2026-03-08T07:59:00.000Z  shadow-write  $id  history  PUT http://127.0.0.1:PORT/hris/employees/E-SHADOW-1/learning-history  202  {\"course\":\"C-101\",\"sent_from\":\"https://scenarist.example.com...
2026-03-08T07:59:00.000Z  shadow-write  $id  status  PATCH http://127.0.0.1:PORT/hris/employees/E-1  200  status=on_leave
2026-03-08T07:59:00.000Z  shadow-write  $id  note  DELETE http://127.0.0.1:PORT/ats/notes/N-1  200  -
2026-03-08T07:59:00.000Z  shadow-write  $id  tell  POST http://127.0.0.1:PORT/ops/hooks/staging  200  {\"text\":\"created E-SHADOW-1\",\"scenario\":\"shadow-write\",\"step..."
expect "shadow list: every write that was kept, its stand-in's status, its body" 0 "$list" \
    -- sh -c "'$bin' shadow list --org '$org' | sed 's/127.0.0.1:$port/127.0.0.1:PORT/g'"
expect "--scenario and --execution filter" 0 "$list" \
    -- sh -c "'$bin' shadow list --scenario shadow-write --execution $id --org '$org' | sed 's/127.0.0.1:$port/127.0.0.1:PORT/g'"
expect "another scenario has none" 0 "no shadowed writes" -- "$bin" shadow list --scenario identity-sync --org "$org"
expect "a usage error names the command" 2 \
    "usage: scenarist shadow list [--scenario NAME] [--execution ID] [--limit N] [--json] [--org NAME]" \
    -- "$bin" shadow --org "$org"

"$bin" shadow list --json --org "$org" | mask > "$tmp/list.json"
expect "--json: the write in full, headers redacted (the bearer token, the api key)" 0 \
'{"id":1,"at":"2026-03-08T07:59:00.000Z","org":"shadowtest","scenario":"shadow-write","version":"draft","execution":"20260308-075900-000001","step":"create","bundle":"1","connection":"hris","method":"POST","url":"http://127.0.0.1:PORT/hris/employees","status":201,"audit_id":1,"confidential":false,"headers":{"Authorization":"[redacted]","Accept":"application/json","Idempotency-Key":"20260308-075900-000001:create:1","Content-Type":"application/json"},"body":"{\"name\":\"Ada Lovelace\",\"sent_from\":\"https://scenarist.example.com/scenarios/shadow-write/versions/draft/steps/create\",\"sent_to\":\"http://127.0.0.1:PORT/hris/employees\"}"}
{"id":2,"at":"2026-03-08T07:59:00.000Z","org":"shadowtest","scenario":"shadow-write","version":"draft","execution":"20260308-075900-000001","step":"history","bundle":"1","connection":"hris","method":"PUT","url":"http://127.0.0.1:PORT/hris/employees/E-SHADOW-1/learning-history","status":202,"audit_id":2,"confidential":false,"headers":{"Authorization":"[redacted]","Accept":"application/json","X-Trace":"t-1","Idempotency-Key":"20260308-075900-000001:history:1","Content-Type":"application/json"},"body":"{\"course\":\"C-101\",\"sent_from\":\"https://scenarist.example.com/scenarios/shadow-write/versions/draft/steps/history\",\"sent_to\":\"http://127.0.0.1:PORT/hris/employees/E-SHADOW-1/learning-history\"}"}
{"id":3,"at":"2026-03-08T07:59:00.000Z","org":"shadowtest","scenario":"shadow-write","version":"draft","execution":"20260308-075900-000001","step":"status","bundle":"1","connection":"hris","method":"PATCH","url":"http://127.0.0.1:PORT/hris/employees/E-1","status":200,"audit_id":3,"confidential":false,"headers":{"Authorization":"[redacted]","Accept":"application/json","Idempotency-Key":"20260308-075900-000001:status:1","Content-Type":"application/x-www-form-urlencoded","Scenarist-Sent-From":"https://scenarist.example.com/scenarios/shadow-write/versions/draft/steps/status","Scenarist-Sent-To":"http://127.0.0.1:PORT/hris/employees/E-1"},"body":"status=on_leave"}
{"id":4,"at":"2026-03-08T07:59:00.000Z","org":"shadowtest","scenario":"shadow-write","version":"draft","execution":"20260308-075900-000001","step":"note","bundle":"1","connection":"ats","method":"DELETE","url":"http://127.0.0.1:PORT/ats/notes/N-1","status":200,"audit_id":4,"confidential":false,"headers":{"X-API-Key":"[redacted]","Accept":"application/json","Idempotency-Key":"20260308-075900-000001:note:1","Scenarist-Sent-From":"https://scenarist.example.com/scenarios/shadow-write/versions/draft/steps/note","Scenarist-Sent-To":"http://127.0.0.1:PORT/ats/notes/N-1"},"body":null}
{"id":5,"at":"2026-03-08T07:59:00.000Z","org":"shadowtest","scenario":"shadow-write","version":"draft","execution":"20260308-075900-000001","step":"tell","bundle":"1","connection":"ops","method":"POST","url":"http://127.0.0.1:PORT/ops/hooks/staging","status":200,"audit_id":7,"confidential":false,"headers":{"Accept":"application/json","Idempotency-Key":"20260308-075900-000001:tell:1","Content-Type":"application/json"},"body":"{\"text\":\"created E-SHADOW-1\",\"scenario\":\"shadow-write\",\"step\":\"tell\",\"execution_url\":\"https://scenarist.example.com/executions/20260308-075900-000001\",\"sent_from\":\"https://scenarist.example.com/scenarios/shadow-write/versions/draft/steps/tell\",\"sent_to\":\"http://127.0.0.1:PORT/ops/hooks/staging\"}"}' \
    -- sqlite3 :memory: "SELECT json(value) FROM json_each(readfile('$tmp/list.json'))"

"$bin" audit --json --org "$org" > "$tmp/audit.json"
expect "the audit log says shadowed for each, ok for the write that was sent" 0 \
"1 create POST 201 shadowed
2 history PUT 202 shadowed
3 status PATCH 200 shadowed
4 note DELETE 200 shadowed
5 learner PUT 200 ok
7 tell POST 200 shadowed" \
    -- sqlite3 -separator ' ' :memory: "SELECT json_extract(value, '\$.id'), json_extract(value, '\$.step'), json_extract(value, '\$.method'), json_extract(value, '\$.status'), json_extract(value, '\$.outcome') FROM json_each(readfile('$tmp/audit.json'))"
expect "the audit chain verifies with the shadowed rows" 0 "audit log of org shadowtest: every row intact" \
    -- "$bin" audit verify --org "$org"

# ---- secrets: in no row of the store and in no output ----
for s in "$SHADOW_HRIS_TOKEN" "$SHADOW_ATS_KEY" "$SHADOW_LMS_TOKEN"; do
    expect "secret ${s%%-*} is nowhere in the store's files" 1 "0" -- sh -c "cat '$tmp/s/store/'* | grep -c -a -F -- '$s'"
    expect "nor in what shadow list, audit and execution print" 1 "0" \
        -- sh -c "{ '$bin' shadow list --json --org '$org'; '$bin' shadow list --org '$org'; '$bin' audit --json --org '$org'; '$bin' execution $id --json --org '$org'; } | grep -c -F -- '$s'"
done

# ---- a secret value that reaches a write by another road is redacted wherever it lands ----
expect_grep "a write with the ATS key in its query, a header and its body" 0 "success in" \
    -- "$bin" run "$fx/leak.yaml" --input "$tmp/in.json" --org "$org"
"$bin" shadow list --scenario shadow-leak --json --org "$org" | mask > "$tmp/leak.json"
expect "the URL, the header and the body read [redacted]" 0 \
'http://127.0.0.1:PORT/ats/notes?api_key=[redacted]
{"X-API-Key":"[redacted]","Accept":"application/json","X-Echo":"key [redacted]!","Idempotency-Key":"20260308-075900-000002:note:1","Content-Type":"application/json"}
{"text":"the key is [redacted]","sent_from":"https://scenarist.example.com/scenarios/shadow-leak/versions/draft/steps/note","sent_to":"http://127.0.0.1:PORT/ats/notes?api_key=[redacted]"}' \
    -- sqlite3 -separator $'\n' :memory: "SELECT json_extract(value, '\$.url'), json(json_extract(value, '\$.headers')), json_extract(value, '\$.body') FROM json_each(readfile('$tmp/leak.json'))"
expect "and the audit row names the target redacted" 0 "http://127.0.0.1:PORT/ats/notes?api_key=[redacted]" \
    -- sh -c "'$bin' audit --scenario shadow-leak --json --org '$org' | grep -o '\"sent_to\": \"[^\"]*' | cut -d'\"' -f4 | sed 's/127.0.0.1:$port/127.0.0.1:PORT/'"

# ---- a secret with characters a URL and a JSON body encode is redacted in those spellings ----
mkdir -p "$tmp/enc/store"
sed -e "s/@PORT@/$port/g" -e "s|@STORE@|$tmp/enc/store/scenarist.db|" \
    -e 's|ats_key: ats-secret-9Kp|ats_key: "k+y/1=\\"q\\\\é"|' "$fx/org.yaml.in" > "$tmp/enc/shadowtest.yaml"
expect_grep "a write with an encoded secret in its query and body" 0 "success in" \
    -- env SHADOW_ATS_KEY='k+y/1="q\é' "$bin" run "$fx/leak.yaml" --input "$tmp/in.json" --org "$tmp/enc/shadowtest.yaml"
SHADOW_ATS_KEY='k+y/1="q\é' "$bin" shadow list --json --org "$tmp/enc/shadowtest.yaml" | mask > "$tmp/enc.json"
expect "its URL (percent-encoded) and body (JSON-escaped) read [redacted]" 0 \
'http://127.0.0.1:PORT/ats/notes?api_key=[redacted]
{"text":"the key is [redacted]","sent_from":"https://scenarist.example.com/scenarios/shadow-leak/versions/draft/steps/note","sent_to":"http://127.0.0.1:PORT/ats/notes?api_key=[redacted]"}' \
    -- sqlite3 -separator $'\n' :memory: "SELECT json_extract(value, '\$.url'), json_extract(value, '\$.body') FROM json_each(readfile('$tmp/enc.json'))"
for s in 'k%2By%2F1%3D%22q%5C%C3%A9' 'k+y/1=\"q\\é' 'k+y/1="q\é'; do
    expect "the secret spelled $s is nowhere in the store's files" 1 "0" \
        -- sh -c "cat '$tmp/enc/store/'* | grep -c -a -F -- '$s'"
done
