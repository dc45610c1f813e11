#!/usr/bin/env bash
# scenarist test: the shipped library's recorded cases pass offline (exact output); a
# wrong expectation prints its unified diff; a request the recording lacks fails naming
# it; --record against the sandbox writes answers.json and expect.json, which then replay.
# usage: tests/usertest/run.sh SCENARIST SANDBOX
set -u
bin=$(realpath "$1")
sandbox=$(realpath "$2")
cd "$(dirname "$0")/../.."
suite=usertest
. tests/lib.sh
suite_tmp sbpid
unset LIB_TOKEN LIB_WHSEC LIB_HUB SCENARIST_CLOCK
fx=tests/usertest/fx
put='PUT /lms/learners/E-1007 {"department":"Engineering","email":"katherine.johnson@example.com","hire_date":"2024-07-15","manager_external_id":"E-1001","sent_from":"http://127.0.0.1:8080/scenarios/role-tenure-push/versions/draft/steps/push","sent_to":"http://127.0.0.1:47801/lms/learners/E-1007","title":"Senior Software Engineer"}'

expect "the shipped scenarios' cases pass offline, without the org's secrets" 0 \
"ok   completion-writeback/CP-0100
ok   identity-sync/E-1003
ok   offer-accepted-to-hris/OFF-702
ok   role-tenure-push/E-1007
ok   screening-writeback/SA-1
ok   termination-handler/E-1020
6 passed, 0 failed" -- "$bin" test scenarios

mkdir -p "$tmp/wrong/tests/role-tenure-push" "$tmp/lib/tests/role-tenure-push"
cp "$fx/role-tenure-push.yaml" "$tmp/wrong/"
cp "$fx/role-tenure-push.yaml" "$tmp/lib/"
cp -r "$fx/tests/role-tenure-push/wrong-title" "$tmp/wrong/tests/role-tenure-push/"
cp -r "$fx/tests/role-tenure-push/unrecorded" "$tmp/lib/tests/role-tenure-push/"
expect "a wrong expectation fails with a unified diff of the requests" 1 \
"FAIL role-tenure-push/wrong-title
    --- expected
    +++ actual
    @@ -1,3 +1,3 @@
     GET /hris/employees/E-1007 null
    -${put/Senior Software Engineer/Software Engineer}
    +$put
     status: success
0 passed, 1 failed" -- "$bin" test "$tmp/wrong" --org "$fx/tests/org.yaml"

expect "a request not in the recording fails the case naming it (retried, then the on-error hook)" 1 \
"FAIL role-tenure-push/unrecorded
    unrecorded request: PUT /lms/learners/E-1007
    unrecorded request: POST /ops/hooks/library
    --- expected
    +++ actual
    @@ -1,3 +1,7 @@
     GET /hris/employees/E-1007 null
     $put
    -status: success
    +$put
    +$put
    +$put
    +POST /ops/hooks/library {\"attempts\":4,\"error\":\"PUT http://127.0.0.1:47801/lms/learners/E-1007: not in the recording (answers.json)\",\"error_kind\":\"connection\",\"execution_url\":\"http://127.0.0.1:8080/executions/20260306-080000-000001\",\"scenario\":\"role-tenure-push\",\"sent_from\":\"http://127.0.0.1:8080/scenarios/role-tenure-push/versions/draft/steps/notify\",\"sent_to\":\"http://127.0.0.1:47801/ops/hooks/library\",\"step\":\"push\",\"text\":\"role-tenure-push failed for E-1007: PUT http://127.0.0.1:47801/lms/learners/E-1007: not in the recording (answers.json) http://127.0.0.1:8080/executions/20260306-080000-000001\"}
    +status: error
0 passed, 1 failed" -- "$bin" test "$tmp/lib" --org "$fx/tests/org.yaml"

expect "a respond step's answer is expected too, its time from the test clock (a 90 s sleep)" 0 \
"ok   json-sleep-respond/answer
1 passed, 0 failed" -- "$bin" test "$fx/json-sleep-respond.yaml"
mkdir -p "$tmp/resp/tests/json-sleep-respond"
cp "$fx/json-sleep-respond.yaml" "$tmp/resp/"
cp -r "$fx/tests/json-sleep-respond/answer" "$tmp/resp/tests/json-sleep-respond/"
sed -i 's/08:01:30/08:00:00/' "$tmp/resp/tests/json-sleep-respond/answer/expect.json"
expect "a different answer is a diff of the response line" 1 \
"FAIL json-sleep-respond/answer
    --- expected
    +++ actual
    @@ -1,2 +1,2 @@
     status: success
    -response: {\"body\":{\"at\":\"2026-03-06T08:00:00.000Z\",\"received\":\"R-1\"},\"status\":201}
    +response: {\"body\":{\"at\":\"2026-03-06T08:01:30.000Z\",\"received\":\"R-1\"},\"status\":201}
0 passed, 1 failed" -- "$bin" test "$tmp/resp" --org "$fx/tests/org.yaml"

expect "a folder that is not there is a usage error" 2 "scenarist: $tmp/none: no such file or folder" \
    -- "$bin" test "$tmp/none"
mkdir -p "$tmp/nocases/tests/role-tenure-push/not-a-case" "$tmp/noyaml"
cp "$fx/role-tenure-push.yaml" "$tmp/nocases/"
cp "$fx/json-sleep-respond.yaml" "$tmp/nocases/"
expect "no test cases is a failure naming where it looked, not 0 passed" 1 \
    "scenarist test: no test cases in $tmp/nocases/tests/ (2 scenario files) (a case is a folder tests/NAME/CASE/ with an event.json, beside NAME.yaml)" \
    -- "$bin" test "$tmp/nocases" --org "$fx/tests/org.yaml"
expect "a scenario file without cases, and a folder without scenarios" 1 \
    "scenarist test: no test cases in $tmp/nocases/tests/role-tenure-push/, $tmp/noyaml/tests/ (0 scenario files) (a case is a folder tests/NAME/CASE/ with an event.json, beside NAME.yaml)" \
    -- "$bin" test "$tmp/nocases/role-tenure-push.yaml" "$tmp/noyaml/" --org "$fx/tests/org.yaml"

# ---- --record against the sandbox ----
start_sandbox "$tmp/port" "$tmp/sblog" --fixture tools/sandbox/fixture.json
port=$(cat "$tmp/port")
sed -e "s/@PORT@/$port/g" -e "s|@DIR@|$tmp|" tests/library/org.yaml.in > "$tmp/org.yaml"
mkdir -p "$tmp/rec/tests/role-tenure-push/E-1007"
cp "$fx/role-tenure-push.yaml" "$tmp/rec/"
echo '{"employee_id":"E-1007"}' > "$tmp/rec/tests/role-tenure-push/E-1007/event.json"
echo '{"clock": "2026-03-06T08:00:00Z"}' > "$tmp/rec/tests/role-tenure-push/E-1007/expect.json"
case=$tmp/rec/tests/role-tenure-push/E-1007
expect "--record runs the event against the sandbox" 0 \
    "recorded $case: 2 requests, status success" \
    -- env LIB_TOKEN=library-token LIB_WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw LIB_HUB=vendor-a \
    "$bin" test --record "$case" --org "$tmp/org.yaml"
# the port, and the sandbox's own wall-clock updated_at
mask() { sed -e "s/127.0.0.1:$port/127.0.0.1:47801/g" -e 's/"updated_at": "[^"]*"/"updated_at": "T"/' "$1"; }
expect "the expectation is the requests seen, the clock and the outcome" 0 \
    "$(cat scenarios/tests/role-tenure-push/E-1007/expect.json)" -- mask "$case/expect.json"
expect "the answers are what the sandbox said, in order" 0 \
    "$(mask scenarios/tests/role-tenure-push/E-1007/answers.json)" -- mask "$case/answers.json"
expect "the recorded case replays offline" 0 "ok   role-tenure-push/E-1007
1 passed, 0 failed" -- "$bin" test "$tmp/rec" --org "$tmp/org.yaml"
kill $sbpid
wait $sbpid 2>/dev/null
sbpid=
expect "and still with the sandbox gone" 0 "ok   role-tenure-push/E-1007
1 passed, 0 failed" -- "$bin" test "$tmp/rec/role-tenure-push.yaml" --org "$tmp/org.yaml"
