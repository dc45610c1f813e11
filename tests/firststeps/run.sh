#!/usr/bin/env bash
# First steps with a deployed scenario and an org's connections: `run NAME` runs the
# deployed version (`--version N` another), `connections test` checks reachability and
# credentials with one GET each against the stub (the journal shows nothing else was sent).
# Prints TAP lines. usage: tests/firststeps/run.sh SCENARIST STUB
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
cd "$(dirname "$0")/../.."
fx=tests/firststeps/fixtures
suite=firststeps
. tests/lib.sh
suite_tmp spid
export SCENARIST_CLOCK=test:2026-03-08T07:59:00Z

start_stub "$tmp" $fx/replies.json
stub_org $fx/org.yaml.in "$tmp"
O=(--org "$tmp/org.yaml")
echo '{}' > "$tmp/event.json"

# ---- run NAME: the deployed version ----
expect "run NAME before any deploy says how" 2 "scenarist: scenario 'greet' is not deployed in org first (scenarist deploy FILE stores it; or give the file's path)" \
    -- "$bin" run greet --input "$tmp/event.json" "${O[@]}"
"$bin" deploy $fx/greet.yaml "${O[@]}" -m one >/dev/null
cp $fx/greet-v2.yaml "$tmp/greet.yaml"
"$bin" deploy "$tmp/greet.yaml" "${O[@]}" -m two >/dev/null
rm "$tmp/greet.yaml" # what runs is the stored version, not a file
expect "run NAME runs the current version" 0 'greet  execution 20260308-075900-000001  (org first, version 2)
  answer                 respond         ok            0 ms  {"body":{"words":"two"},"content_type":"application/json","headers":{},"status":200}
response: 200 {"words":"two"}
success in 0 ms' -- "$bin" run greet --input "$tmp/event.json" "${O[@]}"
expect "run NAME --version 1 runs that one" 0 'greet  execution 20260308-075900-000002  (org first, version 1)
  answer                 respond         ok            0 ms  {"body":{"words":"one"},"content_type":"application/json","headers":{},"status":200}
response: 200 {"words":"one"}
success in 0 ms' -- "$bin" run greet --version 1 --input "$tmp/event.json" "${O[@]}"
expect "v1 is the same version" 0 'greet  execution 20260308-075900-000003  (org first, version 1)
  answer                 respond         ok            0 ms  {"body":{"words":"one"},"content_type":"application/json","headers":{},"status":200}
response: 200 {"words":"one"}
success in 0 ms' -- "$bin" run greet --version v1 --input "$tmp/event.json" "${O[@]}"
expect "the store records the versions run" 0 "20260308-075900-000003   greet                    1        success
20260308-075900-000002   greet                    1        success
20260308-075900-000001   greet                    2        success" \
    -- bash -c "'$bin' executions --org '$tmp/org.yaml' | tail -n +2 | cut -c1-66"
expect "a version that is not there" 2 "scenarist: scenario 'greet' has no version 3 in org first (it has 1 to 2: scenarist versions greet)" \
    -- "$bin" run greet --version 3 --input "$tmp/event.json" "${O[@]}"
expect "--version is a number" 2 "scenarist: --version must be a version number (3 or v3)" \
    -- "$bin" run greet --version latest --input "$tmp/event.json" "${O[@]}"
expect "--version with a file" 2 "scenarist: --version picks a deployed version: give the scenario's name, not the file $fx/greet.yaml" \
    -- "$bin" run $fx/greet.yaml --version 1 --input "$tmp/event.json" "${O[@]}"
expect "a file still runs as a draft" 0 'greet  execution 20260308-075900-000004  (org first, version draft)
  answer                 respond         ok            0 ms  {"body":{"words":"one"},"content_type":"application/json","headers":{},"status":200}
response: 200 {"words":"one"}
success in 0 ms' -- "$bin" run $fx/greet.yaml --input "$tmp/event.json" "${O[@]}"

# ---- connections test ----
port=$(cat "$tmp/port")
export FIRST_HRIS_TOKEN=tok-h FIRST_LMS_KEY=key-l FIRST_PAYROLL_PASSWORD=pw
: > "$tmp/journal"
expect "connections test: each connection's outcome, exit 1 on any failure" 1 "hris           ok           GET http://127.0.0.1:$port/hris/health: HTTP 200
lms            auth-failed  GET http://127.0.0.1:$port/lms: HTTP 401: the credentials were refused (auth.secret env:FIRST_LMS_KEY)
payroll        auth-failed  GET http://127.0.0.1:$port/payroll: HTTP 403: the credentials were refused (auth.secret env:FIRST_PAYROLL_PASSWORD)
ats            reachable    GET http://127.0.0.1:$port/ats: HTTP 404 at the base URL (the server answers; credentials not checked: give the connection a health: path that needs them)
wiki           reachable    GET http://127.0.0.1:$port/wiki/status: HTTP 404 at its health: path /status (the server answers; credentials not checked: is the path right?)
comms          server-error GET http://127.0.0.1:$port/comms: HTTP 503
calendar       auth-missing secret env:FIRST_CALENDAR_TOKEN_UNSET is not set in the environment
slow           unreachable  GET http://127.0.0.1:$port/slow: timed out after 1000 ms
gone           unreachable  GET http://127.0.0.1:1/gone: connection refused (nothing listens there)
tls            unreachable  GET https://127.0.0.1:$port/tls: TLS failed (certificate or handshake)
1 of 10 connections ok, 2 reachable with credentials not checked (org first)" -- "$bin" connections test "${O[@]}"
expect "it only read: one GET each, with each connection's credentials" 0 '{"body":null,"headers":{"accept":"application/json","authorization":"Bearer tok-h"},"method":"GET","path":"/hris/health","query":{}}
{"body":null,"headers":{"accept":"application/json","x-lms-key":"key-l"},"method":"GET","path":"/lms","query":{}}
{"body":null,"headers":{"accept":"application/json","authorization":"Basic c2NlbmFyaXN0OnB3"},"method":"GET","path":"/payroll","query":{}}
{"body":null,"headers":{"accept":"application/json"},"method":"GET","path":"/ats","query":{}}
{"body":null,"headers":{"accept":"application/json"},"method":"GET","path":"/wiki/status","query":{}}
{"body":null,"headers":{"accept":"application/json"},"method":"GET","path":"/comms","query":{}}
{"body":null,"headers":{"accept":"application/json"},"method":"GET","path":"/slow","query":{}}' -- cat "$tmp/journal"
expect "connections test NAME: only those, exit 0 when each is ok or reachable" 0 "hris           ok           GET http://127.0.0.1:$port/hris/health: HTTP 200
ats            reachable    GET http://127.0.0.1:$port/ats: HTTP 404 at the base URL (the server answers; credentials not checked: give the connection a health: path that needs them)
1 of 2 connections ok, 1 reachable with credentials not checked (org first)" -- "$bin" connections test hris ats "${O[@]}"
expect "connections test: a 404 at the base URL alone is reachable, exit 0, not counted ok" 0 "ats            reachable    GET http://127.0.0.1:$port/ats: HTTP 404 at the base URL (the server answers; credentials not checked: give the connection a health: path that needs them)
0 of 1 connection ok, 1 reachable with credentials not checked (org first)" -- "$bin" connections test ats "${O[@]}"
for c in lms:401 payroll:403 slow:timed gone:refused tls:TLS; do
    expect_grep "connections test: ${c%%:*} alone (${c#*:}) fails with exit 1" 1 "0 of 1 connection ok (org first)" \
        -- "$bin" connections test "${c%%:*}" "${O[@]}"
done
expect "connections test: an unknown name" 2 "scenarist connections test: org 'first' has no connection 'hrs'" \
    -- "$bin" connections test hrs "${O[@]}"
expect "connections lists them" 0 "hris           read-write http://127.0.0.1:$port/hris
lms            read-write http://127.0.0.1:$port/lms
payroll        read-write http://127.0.0.1:$port/payroll
ats            read-only  http://127.0.0.1:$port/ats
wiki           read-write http://127.0.0.1:$port/wiki
comms          read-write http://127.0.0.1:$port/comms
calendar       read-write http://127.0.0.1:$port/calendar
slow           read-write http://127.0.0.1:$port/slow
gone           read-write http://127.0.0.1:1/gone
tls            read-write https://127.0.0.1:$port/tls" -- "$bin" connections "${O[@]}"
expect "connections: a subcommand it does not know" 2 "usage: scenarist connections [list] | connections test [NAME...]" \
    -- "$bin" connections probe "${O[@]}"
