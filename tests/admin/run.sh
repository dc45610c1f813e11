#!/usr/bin/env bash
# The management API (serve --admin-listen) over real HTTP: bearer tokens of the org's
# users:, roles (401/403), holds decided and incomplete executions retried through the
# API and run by the daemon (the stub's journal shows the payroll write), the webhook
# listener not serving it, and real answers validated against /api/v1/openapi.json.
# usage: tests/admin/run.sh SCENARIST STUB
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
cd "$(dirname "$0")/../.."
fx=tests/serve/fixtures
suite=admin
. tests/lib.sh
suite_tmp dpid spid d2pid
export SERVE_HRIS_TOKEN=hris-token SERVE_SCREENING_SECRET=x SERVE_HRIS_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
export ADMIN_VIEWER=viewer-token-0123456789 ADMIN_OPERATOR=operator-token-0123456789 ADMIN_ADMIN=admin-token-0123456789
export ADMIN_AUDIT_KEY=0123456789abcdef0123456789abcdef0123456789abcdef
printf 'approver-token-0123456789\n' > "$tmp/approver.token"
export SCENARIST_CLOCK=test:2026-03-09T10:00:00Z
export USER=tester # the CLI's person (its deploys are on the audit log under this name)

cat > "$tmp/replies.json" <<'EOF'
[{"method": "POST", "path": "/hris/dispatch", "status": 201, "body": {"ok": true}},
 {"method": "POST", "path": "/ops/hooks/servetest", "status": 200, "body": {"ok": true}},
 {"method": "PUT", "path": "/lms/learners/*", "status": 503, "text": "down", "times": 3},
 {"method": "PUT", "path": "/lms/learners/*", "status": 200, "body": {"ok": true}}]
EOF
stub_dir d "$tmp/replies.json" $fx/org.yaml.in
cat >> "$org" <<EOF
users:
  - { name: Vera Viewer, role: viewer, token: env:ADMIN_VIEWER }
  - { name: Otto Operator, role: operator, token: env:ADMIN_OPERATOR }
  - { name: Ada Approver, role: approver, token: file:$tmp/approver.token }
  - { name: Root Admin, role: admin, token: env:ADMIN_ADMIN }
audit: { key: env:ADMIN_AUDIT_KEY }
EOF

# ---- the org's users: are checked at file:line:col ----
sed 's/token: env:ADMIN_OPERATOR/token: operator-token-0123456789/; s/role: viewer/role: reader/' "$org" > "$tmp/bad.yaml"
lr=$(grep -n 'role: reader' "$tmp/bad.yaml" | cut -d: -f1)
lt=$(grep -n 'operator-token-0123456789' "$tmp/bad.yaml" | cut -d: -f1)
expect "a role not one of the four, and a token written in the file, are named at file:line:col" 2 \
"$tmp/bad.yaml:$lr:32: error: 'reader' is not a valid role (one of viewer, operator, approver, admin)
   $lr |   - { name: Vera Viewer, role: reader, token: env:ADMIN_VIEWER }
      |                                ^~~~~~
$tmp/bad.yaml:$lt:51: error: a secret is written as a reference, env:NAME or file:PATH, never the secret itself
   $lt |   - { name: Otto Operator, role: operator, token: *** }
      |                                                   ^~~
scenarist: org '$tmp/bad.yaml' does not load; nothing validated" \
    -- "$bin" validate --org "$tmp/bad.yaml" $fx/decide/payroll.yaml

sed 's/role: approver, token: .*/role: approver, token: env:ADMIN_VIEWER }/' "$org" > "$tmp/twin.yaml"
la=$(grep -n 'name: Ada Approver' "$tmp/twin.yaml" | cut -d: -f1)
expect "two users naming one token: refused at load, naming both users at file:line:col" 2 \
"$tmp/twin.yaml:$la:50: error: users Vera Viewer and Ada Approver share token env:ADMIN_VIEWER: each user needs their own (an action is recorded under the user its token names)
   $la |   - { name: Ada Approver, role: approver, token: env:ADMIN_VIEWER }
      |                                                  ^~~~~~~~~~~~~~~~
scenarist: org '$tmp/twin.yaml' does not load; nothing validated" \
    -- "$bin" validate --org "$tmp/twin.yaml" $fx/decide/payroll.yaml
lo=$(grep -n 'name: Otto Operator' "$org" | cut -d: -f1)
lr=$(grep -n 'name: Root Admin' "$org" | cut -d: -f1)
expect "serve --admin-listen with a short token, an unset one and two with the same value: exit 2, each at file:line:col, nothing served" 2 \
"$org:$lo:51: error: user Otto Operator: token env:ADMIN_OPERATOR is shorter than 16 characters
   $lo |   - { name: Otto Operator, role: operator, token: env:ADMIN_OPERATOR }
      |                                                   ^~~~~~~~~~~~~~~~~~
$org:$lr:45: error: users Vera Viewer and Root Admin have the same token: each user needs their own (an action is recorded under the user its token names)
   $lr |   - { name: Root Admin, role: admin, token: env:ADMIN_ADMIN }
      |                                             ^~~~~~~~~~~~~~~
scenarist: the management API's users cannot sign in as declared; not serving
$org:$lr:45: error: user Root Admin: secret env:ADMIN_ADMIN is not set in the environment
   $lr |   - { name: Root Admin, role: admin, token: env:ADMIN_ADMIN }
      |                                             ^~~~~~~~~~~~~~~
scenarist: the management API's users cannot sign in as declared; not serving" \
    -- bash -c "ADMIN_OPERATOR=short ADMIN_ADMIN=\$ADMIN_VIEWER timeout 20 '$bin' serve $fx/decide --org '$org' --store '$tmp/x.db' --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 2>&1; rc1=\$?; env -u ADMIN_ADMIN timeout 20 '$bin' serve $fx/decide --org '$org' --store '$tmp/x.db' --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 2>&1; exit \$(( rc1 == 2 ? \$? : 9 ))"

# ---- two held payroll executions and one incomplete sync, before the daemon starts ----
"$bin" deploy $fx/decide/payroll.yaml $fx/decide/sync.yaml --org "$org" >/dev/null 2>&1
sed 's/^description: .*/description: a second version/' $fx/decide/sync.yaml > "$tmp/sync.yaml"
"$bin" deploy "$tmp/sync.yaml" --org "$org" >/dev/null 2>&1
for n in 1 2; do
    echo "{\"id\":\"E-$n\"}" > "$tmp/e$n.json"
    "$bin" run decide-payroll --input "$tmp/e$n.json" --org "$org" >/dev/null 2>&1
done
for n in 5 6 7; do
    echo "{\"id\":\"E-$n\"}" > "$tmp/e$n.json"
    "$bin" run decide-sync --input "$tmp/e$n.json" --org "$org" --no-retry >/dev/null 2>&1
done
ex() { sql "SELECT execution FROM holds WHERE id = $1"; }
syncs=($(sql "SELECT execution FROM incomplete WHERE scenario = 'decide-sync' ORDER BY execution"))
inc=${syncs[0]}

conf=$tmp/conf # the config folder: orgs/stage.yaml, an org a promote copies from
mkdir -p "$conf/orgs"
sed -e 's/^name: servetest/name: stage/' -e "s|^store: .*|store: $conf/stage.db|" -e '/^users:/,$d' \
    -e 's|^connections:|connections:\n  payroll:\n    base_url: http://127.0.0.1:9/payroll|' "$org" > "$conf/orgs/stage.yaml"
export SCENARIST_CONFIG_DIR=$conf
: > "$dir/log"
"$bin" serve --org "$org" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 2>>"$dir/log" &
dpid=$!
url=$(daemon_url "$dir/log")
for _ in $(seq 3000); do grep -q 'admin API on' "$dir/log" && break; sleep 0.02; done
api=$(grep -o 'admin API on http://127.0.0.1:[0-9]*/api/v1' "$dir/log" | sed 's/admin API on //')
expect "the daemon says where the API listens and how many users it knows" 0 \
    "admin API on $api (4 users)" -- bash -c "grep -o 'admin API on .*' '$dir/log'"

# call TOKEN METHOD PATH [BODY]: prints "STATUS BODY"; TOKEN - sends none.
call() {
    local t=$1 m=$2 p=$3 b=${4:-}
    local args=(-s -o "$tmp/resp" -w '%{http_code}' -X "$m")
    [ "$t" != - ] && args+=(-H "Authorization: Bearer $t")
    [ -n "$b" ] && args+=(-H 'Content-Type: application/json' --data-binary "$b")
    curl "${args[@]}" "$api$p"
    printf ' %s' "$(cat "$tmp/resp")"
}
V=$ADMIN_VIEWER O=$ADMIN_OPERATOR A=approver-token-0123456789

expect "no token: 401" 0 '401 {"error":"send Authorization: Bearer TOKEN"}' -- call - GET /holds
expect "an unknown token: 401" 0 '401 {"error":"unknown token"}' -- call viewer-token-012345678X GET /holds
expect "a token that is a prefix of a real one: 401" 0 '401 {"error":"unknown token"}' -- call viewer-token GET /holds
expect "a token read from a file (its newline dropped) names its user" 0 \
    '200 {"name":"Ada Approver","role":"approver"}' -- call "$A" GET /me
expect "the viewer reads the pending holds" 0 "200 $(printf '%s|%s' "$(ex 1)" "$(ex 2)")" \
    -- bash -c "call() { :; }; curl -s -H 'Authorization: Bearer $V' '$api/holds' -o '$tmp/h.json' -w '%{http_code} '; jq -r '[.holds[].execution] | join(\"|\")' '$tmp/h.json'"
expect "a viewer may not approve: 403, and nothing is recorded" 0 \
    '403 {"error":"user Vera Viewer (viewer) may not POST /api/v1/holds/1/approve"}
0' -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; call '$V' POST /holds/1/approve '{\"reason\":\"x\"}'; echo; sqlite3 '$db' 'SELECT count(*) FROM decisions'"
expect "nor may an operator" 0 '403 {"error":"user Otto Operator (operator) may not POST /api/v1/holds/1/approve"}' \
    -- call "$O" POST /holds/1/approve
expect "the approver approves hold 1 with a reason: the hold says who" 0 \
    "200 approved|Ada Approver|approve|Ada Approver|pay checked with HR" \
    -- bash -c "curl -s -o '$tmp/a.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $A' --data-binary '{\"reason\":\"pay checked with HR\"}' '$api/holds/1/approve'; jq -r '[.state, .decided_by, .decisions[0].action, .decisions[0].by // .decisions[0].decided_by, .decisions[0].reason] | join(\"|\")' '$tmp/a.json'"
expect "the daemon runs the approved execution" 0 "" \
    -- wait_sql "SELECT state || ' ' || outcome FROM decisions WHERE hold = 1" "done success"
expect "and the payroll write left from the daemon, with its HRIS token" 0 '{"id":"E-1"} Bearer hris-token' \
    -- bash -c "grep /hris/dispatch '$journal' | jq -c '.body | del(.sent_from, .sent_to)' | tr '\n' ' '; grep /hris/dispatch '$journal' | jq -r '.headers.authorization'"
expect "approving again: 409, naming who decided" 0 \
    '409 {"error":"hold 1 was already approved by Ada Approver at 2026-03-09T10:00:00.000Z: a decision is recorded once"}' \
    -- call "$A" POST /holds/1/approve
expect "a rejection records its reason and ends the execution" 0 \
    "200 rejected|Ada Approver
error|rejected by Ada Approver: wrong pay rate (hold 2: pay differs)" \
    -- bash -c "curl -s -o '$tmp/r.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $A' --data-binary '{\"reason\":\"wrong pay rate\"}' '$api/holds/2/reject'; jq -r '[.state, .decided_by] | join(\"|\")' '$tmp/r.json'; sqlite3 '$db' \"SELECT status FROM executions WHERE id = '$(ex 2)'\" | tr '\n' '|'; curl -s -H 'Authorization: Bearer $V' '$api/executions/$(ex 2)' | jq -r '.error.message // .summary.error.message // .result.error.message // empty'"
expect "the store holds each decision with the user's name" 0 \
    "1|approve|Ada Approver|pay checked with HR|done|success
2|reject|Ada Approver|wrong pay rate|done|rejected" \
    -- sql "SELECT hold, action, decided_by, reason, state, outcome FROM decisions ORDER BY id"
expect "holds show on the CLI names the API's user" 0 "       approved by Ada Approver at 2026-03-09T10:00:00.000Z" \
    -- bash -c "'$bin' holds show 1 --org '$org' | sed -n 2p"
expect "a body that is not JSON: 400" 0 \
    "400 {\"error\":\"the body is not JSON: invalid token near 'nope'\"}" -- call "$A" POST /holds/1/reject nope
expect "a body over 64 KiB: 413, nothing recorded" 0 '413 {"error":"body over the 65536-byte limit"}' \
    -- bash -c "head -c 70000 /dev/zero | tr '\\0' a > '$tmp/big'; curl -s -o '$tmp/b.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $A' --data-binary @'$tmp/big' '$api/holds/2/approve'; cat '$tmp/b.json'"
expect "an unknown hold: 404" 0 '404 {"error":"no such hold"}' -- call "$A" POST /holds/99/approve
expect "the approver may not retry: 403" 0 "403 {\"error\":\"user Ada Approver (approver) may not POST /api/v1/incomplete/$inc/retry\"}" \
    -- call "$A" POST "/incomplete/$inc/retry"
expect "the operator retries the incomplete sync; the daemon runs it" 0 "200 retry|Otto Operator
done success" -- bash -c "curl -s -o '$tmp/t.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $O' '$api/incomplete/$inc/retry'; jq -r '[.action, .by // .decided_by] | join(\"|\")' '$tmp/t.json'; for _ in \$(seq 3000); do s=\$(sqlite3 '$db' \"SELECT state || ' ' || outcome FROM decisions WHERE action = 'retry'\"); [ \"\$s\" = 'done success' ] && break; sleep 0.02; done; echo \"\$s\""
expect "the payroll write's sent_from answers on the admin listener with the step's definition" 0 \
    '200 {"scenario":"decide-payroll","version":1,"step":{"id":"dispatch","module":"http.request","with":{"connection":"hris","method":"POST","path":"/dispatch","json":{"id":"{{ trigger.body.id }}"}},"on_error":[{"break":{"retries":0}}]}}' \
    -- bash -c "p=\$(grep /hris/dispatch '$journal' | head -1 | jq -r '.body.sent_from' | sed 's|^http://127.0.0.1:8080||'); curl -s -w '%{http_code} ' -o '$tmp/s.json' -H 'Authorization: Bearer $V' '${api%/api/v1}'\"\$p\"; cat '$tmp/s.json'"
expect "a browser opening it (no token, HTML) is sent to the console's page of that step" 0 \
    "303 /console/#/step/decide-payroll/1/dispatch" \
    -- curl -s -o /dev/null -w '%{http_code} %header{location}' -H 'Accept: text/html,application/xhtml+xml' "${api%/api/v1}/scenarios/decide-payroll/versions/1/steps/dispatch"
expect "a step that is not in the version: 404" 0 '404 {"error":"no such step in this version"}' \
    -- bash -c "curl -s -w '%{http_code} ' -o '$tmp/s.json' -H 'Authorization: Bearer $V' '${api%/api/v1}/scenarios/decide-payroll/versions/1/steps/nope'; cat '$tmp/s.json'"
expect "versions: every scenario's current one, and one scenario's history" 0 "decide-payroll,decide-sync 1" \
    -- bash -c "curl -s -H 'Authorization: Bearer $V' '$api/versions' | jq -r '[.scenarios[].scenario] | join(\",\")' | tr '\n' ' '; curl -s -H 'Authorization: Bearer $V' '$api/scenarios/decide-payroll/versions' | jq -r '[.versions[].number] | join(\",\")'"
expect "an approver may not roll back: 403" 0 '403 {"error":"user Ada Approver (approver) may not POST /api/v1/scenarios/decide-sync/rollback"}' \
    -- call "$A" POST /scenarios/decide-sync/rollback '{"to":1}'
expect "an admin rolls decide-sync back to version 1: stored again as version 3, naming the admin" 0 \
    '200 {"scenario":"decide-sync","number":3,"message":"rollback to v1 by Root Admin: bad deploy","changed":true}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/rollback '{"to":1,"reason":"bad deploy"}'
expect "its history says so" 0 "1 deploy|2 deploy|3 rollback" \
    -- bash -c "curl -s -H 'Authorization: Bearer $V' '$api/scenarios/decide-sync/versions' | jq -r '[.versions[] | \"\(.number) \(.origin)\"] | join(\"|\")'"
expect "the diff of two versions is what scenarist diff --json says" 0 \
    "200 $("$bin" diff decide-sync 1 2 --json --org "$org" | jq -c .)" \
    -- bash -c "curl -s -o '$tmp/df.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/scenarios/decide-sync/diff?from=1&to=2'; jq -c .changes '$tmp/df.json'"
expect "a version that does not exist: 404" 0 '404 {"error":"no such version"}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/rollback '{"to":9}'

# ---- deploy and promote through the API, the CLI's own path (run/deploy.c) ----
# body FILE [MESSAGE]: a deploy's JSON body carrying the file's text
body() { jq -cn --rawfile y "$1" --arg m "${2:-}" '{yaml: $y} + (if $m == "" then {} else {message: $m} end)'; }
sed 's/^description: .*/description: a fourth version, from the API/' $fx/decide/sync.yaml > "$tmp/sync4.yaml"
expect "no token may not deploy: 401" 0 '401 {"error":"send Authorization: Bearer TOKEN"}' \
    -- call - POST /scenarios/decide-sync/deploy "$(body "$tmp/sync4.yaml")"
expect "a viewer may not deploy: 403" 0 '403 {"error":"user Vera Viewer (viewer) may not POST /api/v1/scenarios/decide-sync/deploy"}' \
    -- call "$V" POST /scenarios/decide-sync/deploy "$(body "$tmp/sync4.yaml")"
expect "an admin deploys a scenario's text: version 4, naming the admin" 0 \
    '200 {"scenario":"decide-sync","number":4,"message":"deployed by Root Admin: from the API","changed":true}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/deploy "$(body "$tmp/sync4.yaml" "from the API")"
"$bin" deploy "$tmp/sync4.yaml" --org "$org" --store "$tmp/cli.db" >/dev/null 2>&1
expect "it stored what scenarist deploy stores for the same file (checksum), origin deploy" 0 \
    "$(sqlite3 "$tmp/cli.db" "SELECT checksum FROM versions WHERE scenario = 'decide-sync'")|deploy" \
    -- sql "SELECT checksum || '|' || origin FROM versions WHERE scenario = 'decide-sync' AND number = 4"
expect "the daemon, serving the deployed versions, reloads" 0 "" \
    -- bash -c "for _ in \$(seq 3000); do grep -q 'a deploy changed the scenarios: reloading' '$dir/log' && exit 0; sleep 0.02; done; exit 1"
expect "the same text again stores nothing" 0 \
    '200 {"scenario":"decide-sync","number":4,"message":"deployed by Root Admin","changed":false}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/deploy "$(body "$tmp/sync4.yaml")"
sed 's/module: http.request/module: http.requets/' $fx/decide/sync.yaml > "$tmp/bad-sync.yaml"
expect "a scenario that does not validate: 422 with the diagnostics scenarist deploy prints, nothing stored" 0 \
    '422 {"error":"decide-sync.yaml does not validate against org servetest: not deployed","diagnostics":[{"file":"decide-sync.yaml","line":7,"column":13,"severity":"error","message":"unknown module '"'http.requets'; did you mean 'http.request'?"'"}],"text":"decide-sync.yaml:7:13: error: unknown module '"'http.requets'; did you mean 'http.request'?"'\n    7 |     module: http.requets\n      |             ^~~~~~~~~~~~\n"}
4' -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; call '$ADMIN_ADMIN' POST /scenarios/decide-sync/deploy '$(body "$tmp/bad-sync.yaml")'; echo; sqlite3 '$db' \"SELECT max(number) FROM versions WHERE scenario = 'decide-sync'\""
expect "the API's text is what the CLI prints for the same file" 0 \
    "$(mkdir -p "$tmp/cli" && cp "$tmp/bad-sync.yaml" "$tmp/cli/decide-sync.yaml" && cd "$tmp/cli" && "$bin" deploy decide-sync.yaml --org "$org" --store "$tmp/cli2.db" 2>&1)" \
    -- bash -c "curl -s -X POST -H 'Authorization: Bearer $ADMIN_ADMIN' --data-binary '$(body "$tmp/bad-sync.yaml")' '$api/scenarios/decide-sync/deploy' | jq -j .text"
expect "a text naming another scenario: 422, nothing stored" 0 \
    '422 {"error":"decide-sync.yaml names scenario decide-payroll, not decide-sync: not deployed"}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/deploy "$(body $fx/decide/payroll.yaml)"
expect "without a text, a daemon serving the deployed versions has no file to deploy: 404" 0 \
    '404 {"error":"this daemon serves the deployed versions, not files: send the scenario'"'"'s text as {\"yaml\": TEXT}"}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/deploy '{}'
# a staging org beside this one, in the config folder the daemon was started with
sed 's/connection: hris/connection: payroll/; s/^name: decide-payroll/name: stage-only/' $fx/decide/payroll.yaml > "$tmp/stage-only.yaml"
sed 's/^description: .*/description: tried in staging/' $fx/decide/sync.yaml > "$tmp/stage-sync.yaml"
"$bin" deploy "$tmp/stage-sync.yaml" "$tmp/stage-only.yaml" --org stage >/dev/null 2>&1
expect "no token may not promote: 401" 0 '401 {"error":"send Authorization: Bearer TOKEN"}' \
    -- call - POST /scenarios/decide-sync/promote '{"from":"stage"}'
expect "an operator may not promote: 403" 0 '403 {"error":"user Otto Operator (operator) may not POST /api/v1/scenarios/decide-sync/promote"}' \
    -- call "$O" POST /scenarios/decide-sync/promote '{"from":"stage"}'
expect "a viewer may not promote: 403" 0 '403 {"error":"user Vera Viewer (viewer) may not POST /api/v1/scenarios/decide-sync/promote"}' \
    -- call "$V" POST /scenarios/decide-sync/promote '{"from":"stage"}'
expect "an admin promotes decide-sync from org stage: version 5, origin promote" 0 \
    '200 {"scenario":"decide-sync","number":5,"message":"promoted from stage v1 by Root Admin: tried in staging","changed":true}
5|promote|'"$(sqlite3 "$conf/stage.db" "SELECT checksum FROM versions WHERE scenario = 'decide-sync'")" \
    -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; call '$ADMIN_ADMIN' POST /scenarios/decide-sync/promote '{\"from\":\"stage\",\"reason\":\"tried in staging\"}'; echo; sqlite3 '$db' \"SELECT number || '|' || origin || '|' || checksum FROM versions WHERE scenario = 'decide-sync' AND number = 5\""
expect "a version org stage does not have: 404" 0 '404 {"error":"org stage: scenario decide-sync has no version 9"}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/promote '{"from":"stage","version":9}'
expect "a version that does not validate here (a connection this org lacks): 422 with the diagnostics" 0 \
    "422 stage-only v1 from stage: refused: it does not validate against org servetest
stage-only v1 from stage|error|org 'servetest' has no connection 'payroll' (it has hris, lms, ops)" \
    -- bash -c "curl -s -o '$tmp/p.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $ADMIN_ADMIN' --data-binary '{\"from\":\"stage\"}' '$api/scenarios/stage-only/promote'; jq -r '.error, (.diagnostics[] | \"\(.file)|\(.severity)|\(.message)\")' '$tmp/p.json'"
expect "its text is what scenarist promote prints when it refuses the same version" 0 \
    "$("$bin" promote stage-only --from stage --to "$org" 2>&1 >/dev/null)" \
    -- jq -j '.text, "scenarist: ", .error' "$tmp/p.json"
expect "a promote into another org is refused here, saying where it is done; nothing changes" 0 \
    '400 {"error":"this daemon serves org servetest, not production: nothing promoted. Promote into production on its own daemon'"'"'s API (POST /api/v1/scenarios/decide-sync/promote with {\"from\": \"stage\"}) or with scenarist promote decide-sync --from stage --to production"}
5' -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; call '$ADMIN_ADMIN' POST /scenarios/decide-sync/promote '{\"from\":\"stage\",\"to\":\"production\"}'; echo; sqlite3 '$db' \"SELECT max(number) FROM versions WHERE scenario = 'decide-sync'\""
expect "a promote from the org this daemon serves: 400" 0 \
    '400 {"error":"org servetest is the one this daemon serves: a promote copies from another org"}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/promote '{"from":"servetest"}'
expect "an org given as a path: 400" 0 \
    '400 {"error":"from must be a name of a-z, 0-9, - and _ (1 to 64)"}' \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/promote '{"from":"../etc/x"}'
expect "an org that is not there: 404, naming the file looked for" 0 "404 {\"error\":\"org nowhere does not load here: $conf/orgs/nowhere.yaml: cannot read: No such file or directory\"}" \
    -- call "$ADMIN_ADMIN" POST /scenarios/decide-sync/promote '{"from":"nowhere"}'

expect "executions filtered by scenario and status" 0 "200 $(ex 1)" \
    -- bash -c "curl -s -H 'Authorization: Bearer $V' '$api/executions?scenario=decide-payroll&status=success' -o '$tmp/x.json' -w '%{http_code} '; jq -r '[.executions[].id] | join(\"|\")' '$tmp/x.json'"
expect "a bad limit: 400" 0 '400 {"error":"limit takes a number from 1 to 1000"}' -- call "$V" GET '/executions?limit=0'
# page PATH: follows next_cursor from PATH until a page is not full; prints the ids and pages
page() {
    local c= ids= n=0
    while :; do
        curl -s -H "Authorization: Bearer $V" "$api$1${c:+&cursor=$c}" > "$tmp/p.json"
        ids+=$(jq -r '.executions[].id' "$tmp/p.json" | tr '\n' ' ')
        n=$((n + 1))
        c=$(jq -r '.next_cursor // empty' "$tmp/p.json")
        [ -z "$c" ] || [ $n -ge 20 ] && break
    done
    echo "$ids$n pages"
}
expect "paging by cursor, 2 a page, lists every execution once in the order of one long page" 0 \
    "$(curl -s -H "Authorization: Bearer $V" "$api/executions?limit=1000" | jq -r '.executions[].id' | tr '\n' ' ')3 pages" \
    -- page '/executions?limit=2'
expect "a cursor that is not one: 400" 0 '400 {"error":"cursor: give the next_cursor of the previous page"}' \
    -- call "$V" GET '/executions?cursor=abc'
expect "one execution with its steps" 0 "200 check,dispatch" \
    -- bash -c "curl -s -H 'Authorization: Bearer $V' '$api/executions/$(ex 1)' -o '$tmp/e.json' -w '%{http_code} '; jq -r '[.steps[].step // .steps[].id] | unique | join(\",\")' '$tmp/e.json'"
expect "an unknown execution: 404" 0 '404 {"error":"no such execution"}' -- call "$V" GET /executions/nope
expect "an unknown endpoint: 404" 0 '404 {"error":"no such endpoint"}' -- call "$V" GET /nothing
expect "a known path with another method: 405" 0 '405 {"error":"method not allowed"}' -- call "$A" DELETE /holds/1
expect "whose Allow names the methods the path takes (RFC 9110 15.5.6), before any token is asked for" 0 \
    'Allow: GET, HEAD|Allow: POST|Allow: GET, HEAD' \
    -- bash -c "for r in 'DELETE /holds/1' 'GET /holds/1/approve' 'PUT /openapi.json'; do curl -s -o /dev/null -D - -X \${r%% *} '$api'\${r#* } | tr -d '\r' | grep '^Allow:'; done | paste -sd'|'"
expect "the webhook listener does not serve the API" 0 "404 not found" \
    -- bash -c "curl -s -w '%{http_code} ' -H 'Authorization: Bearer $V' '$url/api/v1/holds' -o '$tmp/w'; cat '$tmp/w'"
# A request head's size: a connection's 32 KiB, as on the webhook listener (httpd.c).
big='<html><head><title>Request too big</title></head><body>Your HTTP header was too big for the memory constraints of this webserver.</body></html>'
many='414 {"error":"the query has over 100 parameters: send the data in the body"}'
for n in 500 1000 3000; do
    expect "a query of $n '&' is 414 at once and closed (1000 was held without an answer)" 0 "$many|Connection: close" \
        -- bash -c "curl -s -D '$tmp/h' -o '$tmp/b' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/holds?a=1$(printf '&%.0s' $(seq $n))'; cat '$tmp/b'; printf '|'; tr -d '\r' < '$tmp/h' | grep -i '^connection:'"
done
expect "a query of 100 parameters is read (and judged)" 0 "400 {\"error\":\"unknown query parameter 'k' (this route takes: none)\"}" \
    -- call "$V" GET "/me?$(printf 'k=v&%.0s' $(seq 99))k=v"
expect "a request target over 8192 bytes is 414" 0 \
    '414 {"error":"the request target is over 8192 bytes: send the data in the body"}' \
    -- call "$V" GET "/holds?x=$(head -c 8200 /dev/zero | tr '\0' a)"
expect "one 31,000-byte header is taken, 33,000 is 431 (libmicrohttpd's page)" 0 \
    "200 {\"name\":\"Vera Viewer\",\"role\":\"viewer\"}
431 $big" \
    -- bash -c "for n in 31000 33000; do curl -s -o '$tmp/b' -w '%{http_code} ' -H 'Authorization: Bearer $V' -H \"X-Pad: \$(head -c \$n /dev/zero | tr '\\0' a)\" '$api/me'; cat '$tmp/b'; echo; done"

expect "metrics, queues, audit and shadowed writes answer a viewer" 0 "200 200 200 200" \
    -- bash -c "for p in metrics queues audit shadow; do curl -s -o /dev/null -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/'\$p; done | sed 's/ \$//'"
# audit ROWS-QUERY: one line per entry: method, sent_to (its port dropped), status, outcome, by
audit_rows() {
    curl -s -H "Authorization: Bearer $V" "$api/audit?$1" |
        jq -r '.entries[] | "\(.method) \(.sent_to) \(.status) \(.outcome) \(.by // "(engine)")"' | sed 's|127.0.0.1:[0-9]*|HOST|'
}
expect "the audit log names the person of each action, and the approver on the payroll write it caused" 0 \
"deploy scenarist:scenarios/decide-payroll/versions/1 null done tester
approve scenarist:holds/1 null done Ada Approver
POST http://HOST/hris/dispatch 201 ok Ada Approver
reject scenarist:holds/2 null done Ada Approver" -- audit_rows scenario=decide-payroll
expect "order=newest&limit=2: the last two entries, newest first (what the console's audit page shows first)" 0 \
"reject scenarist:holds/2 null done Ada Approver
POST http://HOST/hris/dispatch 201 ok Ada Approver" -- audit_rows "scenario=decide-payroll&order=newest&limit=2"
expect "a retry's write names the operator who asked for it; the first, failed try names no one" 0 \
"PUT http://HOST/lms/learners/E-5 503 failed (engine)
retry scenarist:incomplete/$inc null done Otto Operator
PUT http://HOST/lms/learners/E-5 200 ok Otto Operator" -- audit_rows "execution=$inc"
expect "the rollback is on the log under the admin's name, its body the SHA-256 of its message" 0 \
    "rollback scenarist:scenarios/decide-sync/versions/3 Root Admin $(printf 'rollback to v1 by Root Admin: bad deploy' | sha256sum | cut -c1-64)" \
    -- bash -c "curl -s -H 'Authorization: Bearer $V' '$api/audit?scenario=decide-sync' | jq -r '.entries[] | select(.method == \"rollback\") | \"\(.method) \(.sent_to) \(.by) \(.body_sha256)\"'"
expect "scenarist audit shows the person too (text and --json)" 0 \
"decide-payroll check approve - done scenarist:holds/1 body $(printf 'pay checked with HR' | sha256sum | cut -c1-12) by Ada Approver
Ada Approver" -- bash -c "'$bin' audit --scenario decide-payroll --org '$org' | sed -n 2p | cut -c32- | tr -s ' '; '$bin' audit --scenario decide-payroll --org '$org' --json | jq -r '.[2].by'"
expect "audit verify: the chain is intact" 0 '200 {"intact":true}' -- call "$V" GET /audit/verify
# the store cannot be read (its audit table renamed away under the daemon; PostgreSQL down is
# the same answer): 503 as every route, the driver's message in the daemon's log only
expect "audit verify and checkpoint with the store unreadable: 503 store unavailable (not 409, no store address or driver text), the log says why; readable again: intact" 0 \
'503 {"error":"store unavailable"}
503 {"error":"store unavailable"}
admin: audit verify: store '"$db"': reading the audit log: no such table: audit
200 {"intact":true}' -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; sqlite3 '$db' 'ALTER TABLE audit RENAME TO audit_gone'; call '$V' GET /audit/verify; echo; call '$ADMIN_ADMIN' POST /audit/checkpoint; echo; sqlite3 '$db' 'ALTER TABLE audit_gone RENAME TO audit'; grep -o 'admin: audit verify: .*' '$dir/log' | head -1; call '$V' GET /audit/verify"
expect "no token may not take an audit checkpoint: 401" 0 '401 {"error":"send Authorization: Bearer TOKEN"}' \
    -- call - POST /audit/checkpoint
expect "a viewer may not take an audit checkpoint: 403" 0 '403 {"error":"user Vera Viewer (viewer) may not POST /api/v1/audit/checkpoint"}' \
    -- call "$V" POST /audit/checkpoint
expect "an admin takes one: the log's head, as scenarist audit checkpoint prints it" 0 \
    "200 servetest $(sql 'SELECT count(*) FROM audit') $(sql 'SELECT hash FROM audit ORDER BY id DESC LIMIT 1')" \
    -- bash -c "curl -s -o '$tmp/cp.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $ADMIN_ADMIN' '$api/audit/checkpoint'; jq -r '\"\(.org) \(.count) \(.last_hash)\"' '$tmp/cp.json'"
expect "and scenarist audit verify --checkpoint takes it: nothing was cut since" 0 \
    "audit log of org servetest: every row intact, and every row of checkpoint $tmp/cp.json still there" \
    -- "$bin" audit verify --checkpoint "$tmp/cp.json" --org "$org"
expect "with {to}, it is POSTed to that connection too (the stub's journal has it)" 0 \
    "200 POST /ops/hooks/servetest $(sql 'SELECT count(*) FROM audit')" \
    -- bash -c "curl -s -o /dev/null -w '%{http_code} ' -X POST -H 'Authorization: Bearer $ADMIN_ADMIN' --data-binary '{\"to\":\"ops\"}' '$api/audit/checkpoint'; grep '\"/ops/hooks/servetest\"' '$journal' | tail -1 | jq -r '\"\(.method) \(.path) \(.body.count)\"'"
expect "to a connection the org does not have: 400 (the caller's error; 502 is for a failed delivery)" 0 \
    '400 {"error":"connection '"'nope'"' is not defined in org '"'servetest'"'"}' \
    -- call "$ADMIN_ADMIN" POST /audit/checkpoint '{"to":"nope"}'
expect "and on the CLI" 0 "audit log of org $(sed -n 's/^name: //p' "$org"): every row intact" -- "$bin" audit verify --org "$org"
sqlite3 "$db" ".backup '$tmp/forged.db'"
arow=$(sql "SELECT id FROM audit WHERE method = 'approve'")
sqlite3 "$tmp/forged.db" "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'Vera Viewer' WHERE id = $arow"
expect "the person is under the chain's HMAC: a row whose actor is changed is named" 1 \
    "audit log of org $(sed -n 's/^name: //p' "$org"): row $arow was changed or forged: its contents do not match its HMAC" \
    -- "$bin" audit verify --org "$org" --store "$tmp/forged.db"
sqlite3 -cmd ".timeout 10000" "$db" "DROP TRIGGER audit_no_update; UPDATE audit SET status = 599 WHERE id = (SELECT max(id) FROM audit)"
expect "after a row is changed behind the daemon's back: not intact, naming the row" 0 "200 false $(sql 'SELECT max(id) FROM audit')" \
    -- bash -c "curl -s -o '$tmp/v.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/audit/verify'; jq -r '\"\(.intact) \(.problem.row)\"' '$tmp/v.json'"
expect "a checkpoint of a log that is not intact: 409, none taken (as the CLI says it, exit 1)" 1 \
    "409 {\"error\":\"audit log of org servetest: row $(sql 'SELECT max(id) FROM audit') was changed or forged: its contents do not match its HMAC: no checkpoint taken\"}
scenarist: audit log of org servetest: row $(sql 'SELECT max(id) FROM audit') was changed or forged: its contents do not match its HMAC: no checkpoint taken" \
    -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; call '$ADMIN_ADMIN' POST /audit/checkpoint; echo; '$bin' audit checkpoint --org '$org' 2>&1"

# ---- every query parameter and body field is checked: 400 naming it and what it takes ----
# calls TOKEN [METHOD PATH BODY]...: one answer a line
calls() { local t=$1; shift; while [ $# -ge 3 ]; do call "$t" "$1" "$2" "$3"; echo; shift 3; done; }
decisions=$(sql 'SELECT count(*) FROM decisions')
expect "approve or reject with a reason of the wrong type, none, blank, too long or misspelt: 400, nothing recorded" 0 \
'400 {"error":"reason must be a string"}
400 {"error":"reason must be a string"}
400 {"error":"give {\"reason\": \"...\"}: why the hold is rejected (it is recorded with the decision and ends the execution)"}
400 {"error":"give {\"reason\": \"...\"}: why the hold is rejected (it is recorded with the decision and ends the execution)"}
400 {"error":"give {\"reason\": \"...\"}: why the hold is rejected (it is recorded with the decision and ends the execution)"}
400 {"error":"reason is blank (no visible character): write one, or leave reason out"}
400 {"error":"reason is over 4000 bytes (60000 given)"}
400 {"error":"unknown body field '"'reasn'"'; did you mean '"'reason'"'? (this route takes: reason)"}
400 {"error":"the body is not a JSON object: an array"}
400 {"error":"the body is not a JSON object: a string"}
'"$decisions" -- bash -c "$(declare -f call calls); api='$api' tmp='$tmp'; calls '$A' POST /holds/3/approve '{\"reason\":42}' POST /holds/3/reject '{\"reason\":[\"x\"]}' POST /holds/3/reject '' POST /holds/3/reject '{}' POST /holds/3/reject '{\"reason\":\"\\u00a0\\u2003\\u200b\"}' POST /holds/3/approve '{\"reason\":\" \\t\\u2028\"}' POST /holds/3/approve '{\"reason\":\"$(head -c 60000 /dev/zero | tr '\0' r)\"}' POST /holds/3/approve '{\"reasn\":\"ok\"}' POST /holds/3/approve '[1]' POST /holds/3/approve '\"x\"'; sqlite3 '$db' 'SELECT count(*) FROM decisions'"
expect "a reason of invisible characters only (CGJ, Hangul fillers, braille blank, Khmer inherent vowel, VS16, soft hyphen with a tag): 400, nothing recorded" 0 \
'400 {"error":"reason is blank (no visible character): write one, or leave reason out"}
400 {"error":"reason is blank (no visible character): write one, or leave reason out"}
400 {"error":"reason is blank (no visible character): write one, or leave reason out"}
400 {"error":"reason is blank (no visible character): write one, or leave reason out"}
400 {"error":"give {\"reason\": \"...\"}: why the hold is rejected (it is recorded with the decision and ends the execution)"}
400 {"error":"give {\"reason\": \"...\"}: why the hold is rejected (it is recorded with the decision and ends the execution)"}
400 {"error":"give {\"reason\": \"...\"}: why the hold is rejected (it is recorded with the decision and ends the execution)"}
400 {"error":"give {\"reason\": \"...\"}: why the hold is rejected (it is recorded with the decision and ends the execution)"}
'"$decisions" -- bash -c "$(declare -f call calls); api='$api' tmp='$tmp'; calls '$A' POST /holds/3/approve '{\"reason\":\"\\u034f\"}' POST /holds/3/approve '{\"reason\":\"\\u115f\"}' POST /holds/3/approve '{\"reason\":\"\\u3164\"}' POST /holds/3/approve '{\"reason\":\"\\uffa0\"}' POST /holds/3/reject '{\"reason\":\"\\u2800\"}' POST /holds/3/reject '{\"reason\":\"\\u17b4\"}' POST /holds/3/reject '{\"reason\":\"\\ufe0f \\u3164\"}' POST /holds/3/reject '{\"reason\":\"\\u00ad\\u061c\\udb40\\udc41\"}'; sqlite3 '$db' 'SELECT count(*) FROM decisions'"
expect "bulk retry with a scenario that is not a name: 400, nothing retried (not every execution)" 0 \
'400 {"error":"scenario must be a name of a-z, 0-9, - and _ (1 to 64)"}
400 {"error":"scenario must be a name of a-z, 0-9, - and _ (1 to 64)"}
400 {"error":"unknown body field '"'scenarios'"'; did you mean '"'scenario'"'? (this route takes: scenario, reason)"}
'"$decisions" -- bash -c "$(declare -f call calls); api='$api' tmp='$tmp'; calls '$O' POST /incomplete/retry '{\"scenario\":42}' POST /incomplete/retry '{\"scenario\":null}' POST /incomplete/retry '{\"scenarios\":\"decide-sync\"}'; sqlite3 '$db' 'SELECT count(*) FROM decisions'"
expect "checkpoint, rollback, promote and deploy fields of the wrong type: 400 naming the field" 0 \
'400 {"error":"to must be a string"}
400 {"error":"connection '"'nosuch'"' is not defined in org '"'servetest'"'"}
400 {"error":"give {\"to\": N}, the version to roll back to"}
400 {"error":"to must be a version: an integer from 1"}
400 {"error":"to must be a version: an integer from 1"}
400 {"error":"reason must be a string"}
400 {"error":"version must be a version: an integer from 1"}
400 {"error":"yaml must be a string"}
400 {"error":"message must be a string"}
422 {"error":"the scenario text is empty: not deployed"}
422 {"error":"the scenario text is empty: not deployed"}' \
    -- calls "$ADMIN_ADMIN" POST /audit/checkpoint '{"to":42}' POST /audit/checkpoint '{"to":"nosuch"}' \
    POST /scenarios/decide-sync/rollback '{}' POST /scenarios/decide-sync/rollback '{"to":"1"}' POST /scenarios/decide-sync/rollback '{"to":0}' \
    POST /scenarios/decide-sync/rollback '{"to":1,"reason":1}' POST /scenarios/decide-sync/promote '{"from":"stage","version":"2"}' \
    POST /scenarios/decide-sync/deploy '{"yaml":7}' POST /scenarios/decide-sync/deploy '{"message":false}' \
    POST /scenarios/decide-sync/deploy '{"yaml":""}' POST /scenarios/decide-sync/deploy '{"yaml":" \n\t"}'
lim='400 {"error":"limit takes a number from 1 to 1000"}'
expect "query values that are not what the parameter takes: 400 naming it and the values allowed" 0 \
'400 {"error":"order takes one of oldest, newest"}
400 {"error":"order takes one of oldest, newest"}
'"$lim
$lim
$lim
$lim
$lim"'
400 {"error":"order takes one of oldest, newest"}
400 {"error":"state takes one of open, resolved"}
400 {"error":"state takes one of pending, approved, rejected, all"}
400 {"error":"state takes one of all, pending, exhausted, held, resolved, discarded, rejected, done, failed"}
400 {"error":"status takes one of queued, running, sleeping, held, success, warning, error"}
400 {"error":"since takes milliseconds since the epoch"}
400 {"error":"since takes milliseconds since the epoch"}
400 {"error":"days takes a number from 1 to 90"}
400 {"error":"from takes a version: a number from 1 (or vN)"}
400 {"error":"give ?from=...&to=...: to is missing"}
400 {"error":"unknown query parameter '"'limt'"'; did you mean '"'limit'"'? (this route takes: scenario, execution, sent_to, limit, order)"}
400 {"error":"unknown query parameter '"'state'"' (this route takes: none)"}' \
    -- calls "$V" GET '/audit?order=bogus' '' GET '/audit?order=NEWEST' '' GET '/audit?limit=abc' '' GET '/audit?limit=-1' '' \
    GET '/audit?limit=0' '' GET '/queues/reconciliation/items?limit=abc' '' GET '/shadow?limit=1001' '' \
    GET '/queues/reconciliation/items?order=bogus' '' GET '/queues/reconciliation/items?state=bogus' '' GET '/holds?state=bogus' '' \
    GET '/incomplete?state=bogus' '' GET '/executions?status=bogus' '' GET '/metrics?since=-5' '' GET '/executions?since=' '' \
    GET '/queues/depth?days=x' '' GET '/scenarios/decide-sync/diff?from=x&to=1' '' GET '/scenarios/decide-sync/diff?from=1' '' \
    GET '/audit?limt=5' '' GET '/queues?state=open' ''
expect "a %00 in a query value is 400 naming the parameter (a NUL would cut 1%00abc to 1); a %00 in the path is 400 naming the segment" 0 \
'400 {"error":"limit holds a NUL (%00): give it without"}
400 {"error":"status holds a NUL (%00): give it without"}
400 {"error":"since holds a NUL (%00): give it without"}
400 {"error":"order holds a NUL (%00): give it without"}
400 {"error":"limit holds a NUL (%00): give it without"}
400 {"error":"state holds a NUL (%00): give it without"}
400 {"error":"scenario holds a NUL (%00): give it without"}
400 {"error":"query parameter '"'lim...'"' holds a NUL (%00) in its name"}
400 {"error":"id holds a NUL (%00): give it without"}
400 {"error":"id holds a NUL (%00): give it without"}
400 {"error":"version holds a NUL (%00): give it without"}
400 {"error":"the path holds a NUL (%00): a path segment is text"}' \
    -- calls "$V" GET '/executions?limit=1%00abc' '' GET '/executions?status=held%00junk' '' GET '/executions?since=1%00x' '' \
    GET '/queues/reconciliation/items?order=newest%00' '' GET '/queues/reconciliation/items?limit=5%00' '' GET '/holds?state=all%00zz' '' \
    GET '/audit?scenario=decide-sync%00' '' GET '/audit?lim%00it=5' '' GET '/holds/1%00abc' '' GET "/executions/$(ex 1)%00x" '' \
    GET '/scenarios/decide-payroll/versions/1%00' '' GET '/hol%00ds' ''
expect "the path is judged as sent, as the webhook listener does: %2F (any case) is a / inside a segment, no route's (404); a bad %, a . or .. segment (%2e too) are 400; an encoded letter is the letter" 0 \
'404 {"error":"no such endpoint"}
404 {"error":"no such endpoint"}
400 {"error":"the path holds a % that is not a percent-encoding (% and two hexadecimal digits)"}
400 {"error":"the path holds a % that is not a percent-encoding (% and two hexadecimal digits)"}
400 {"error":"the path holds a . or .. segment: send the path it stands for"}
400 {"error":"the path holds a . or .. segment: send the path it stands for"}
200' \
    -- bash -c "$(declare -f call calls); api='$api' tmp='$tmp'; calls '$V' GET '/holds%2F1' '' GET '/holds%2f1' '' GET '/holds/1%zz' '' GET '/holds/1%' ''; for p in '/holds/%2e%2e/holds' '/holds/1/../../me'; do curl -s --path-as-is -o '$tmp/resp' -w '%{http_code}' -H 'Authorization: Bearer $V' '$api'\$p; printf ' %s\n' \"\$(cat '$tmp/resp')\"; done; curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $V' '$api/hold%73'"
expect "an integer parameter past 64 bits is 400 as one out of range: since, limit, days, and a path id" 0 \
'400 {"error":"since takes milliseconds since the epoch"}
400 {"error":"since takes milliseconds since the epoch"}
400 {"error":"limit takes a number from 1 to 1000"}
400 {"error":"days takes a number from 1 to 90"}
400 {"error":"since takes milliseconds since the epoch"}
404 {"error":"no such hold"}' \
    -- calls "$V" GET '/executions?since=99999999999999999999' '' GET '/metrics?since=9223372036854775808' '' \
    GET '/executions?limit=99999999999999999999' '' GET '/queues/depth?days=99999999999999999999' '' \
    GET '/executions?since=-99999999999999999999' '' GET '/holds/99999999999999999999' ''
expect "the largest since that fits is taken: 200" 0 '200' \
    -- bash -c "curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $V' '$api/executions?since=9223372036854775807'"
expect "versions as vN are the version N (as the CLI takes them); where draft is valid the message says so" 0 \
"200 200 $(curl -s -H "Authorization: Bearer $V" "${api%/api/v1}/scenarios/decide-payroll/versions/1/steps/dispatch" | jq -c .step.id)
200 1 3
404 {\"error\":\"a version is a number from 1 (or vN)\"}
404 {\"error\":\"a version is a number from 1 (or vN), or draft\"}" \
    -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; r=\$(call '$V' GET /scenarios/decide-payroll/versions/v1); r2=\$(call '$V' GET /scenarios/decide-payroll/versions/v1/steps/dispatch); echo \"\${r%% *} \${r2%% *} \$(jq -c .step.id '$tmp/resp')\"; r=\$(call '$V' GET '/scenarios/decide-sync/diff?from=v1&to=V3'); echo -n \"\${r%% *} \"; jq -r '\"\(.from) \(.to)\"' '$tmp/resp'; call '$V' GET /scenarios/decide-payroll/versions/draft; echo; call '$V' GET /scenarios/decide-payroll/versions/x/steps/dispatch"

# ---- the OpenAPI document, and real answers checked against it ----
curl -s "$api/openapi.json" > "$tmp/openapi.json"
# get PATH ROUTE: the answer saved as ans-N.json, the route it answers beside it
n=0
get() { n=$((n+1)); curl -s -H "Authorization: Bearer $A" "$api$1" > "$tmp/ans-$n.json"; echo "$2" > "$tmp/ans-$n.route"; }
get /me /api/v1/me; get /holds /api/v1/holds; get /holds/1 /api/v1/holds/{id}
get "/executions?scenario=decide-payroll" /api/v1/executions; get "/executions/$(ex 1)" /api/v1/executions/{id}
get /incomplete /api/v1/incomplete; get /queues /api/v1/queues; get /queues/none/items /api/v1/queues/{name}/items
get /versions /api/v1/versions; get "/scenarios/decide-sync/diff?from=1&to=3" /api/v1/scenarios/{name}/diff; get /scenarios/decide-payroll/versions /api/v1/scenarios/{name}/versions
get /scenarios/decide-payroll/versions/1 /api/v1/scenarios/{name}/versions/{version}
get /metrics /api/v1/metrics; get /audit /api/v1/audit; get /shadow /api/v1/shadow
get /queues/depth /api/v1/queues/depth; get /scenarios/decide-payroll/versions/1/steps/dispatch "/api/v1/scenarios/{name}/versions/{version}/steps/{step}"
get /audit/verify /api/v1/audit/verify; get /openapi.json /api/v1/openapi.json
n=$((n+1)); curl -s -H "Authorization: Bearer $A" "${api%/api/v1}/scenarios/decide-payroll/versions/1/steps/dispatch" > "$tmp/ans-$n.json"
echo "/scenarios/{name}/versions/{version}/steps/{step}" > "$tmp/ans-$n.route"
curl -s -o "$tmp/deny.json" "$api/holds"
# post PATH BODY ROUTE: a POST's answer, checked against the route's post schema
post() { n=$((n+1)); curl -s -X POST -H "Authorization: Bearer $ADMIN_ADMIN" --data-binary "$2" "$api$1" > "$tmp/ans-$n.json"; echo "post $3" > "$tmp/ans-$n.route"; }
post /scenarios/decide-sync/deploy "$(body "$tmp/sync4.yaml")" "/api/v1/scenarios/{name}/deploy"
post /scenarios/decide-sync/promote '{"from":"stage"}' "/api/v1/scenarios/{name}/promote"
post /scenarios/decide-sync/rollback '{"to":5}' "/api/v1/scenarios/{name}/rollback"
n=$((n+1)); cp "$tmp/cp.json" "$tmp/ans-$n.json"; echo "post /api/v1/audit/checkpoint" > "$tmp/ans-$n.route"
post "/incomplete/${syncs[1]}/resolve" '{"reason":"fixed by hand"}' "/api/v1/incomplete/{id}/resolve"
post "/incomplete/${syncs[2]}/discard" '{"reason":"a duplicate"}' "/api/v1/incomplete/{id}/discard"
post /incomplete/retry '{"scenario":"decide-payroll"}' "/api/v1/incomplete/retry"
# the 200 answers of the hold decisions and the retry taken above
n=$((n+1)); cp "$tmp/a.json" "$tmp/ans-$n.json"; echo "post /api/v1/holds/{id}/approve" > "$tmp/ans-$n.route"
n=$((n+1)); cp "$tmp/r.json" "$tmp/ans-$n.json"; echo "post /api/v1/holds/{id}/reject" > "$tmp/ans-$n.route"
n=$((n+1)); cp "$tmp/t.json" "$tmp/ans-$n.json"; echo "post /api/v1/incomplete/{id}/retry" > "$tmp/ans-$n.route"
expect "real answers validate against the document's schemas (OpenAPI 3.1, every GET route, the version, checkpoint, decision, retry, resolve and discard POSTs)" 0 \
    "openapi 3.1.0: 31 operations; 31 answers valid
resolved discarded" -- python3 - "$tmp" <<'EOF'
import json, sys, glob, jsonschema
tmp = sys.argv[1]
doc = json.load(open(f"{tmp}/openapi.json"))
ops = [(p, m) for p, item in doc["paths"].items() for m in item if "200" in item[m]["responses"]]
def schema(path, method, status):
    s = doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    if "$ref" in s:
        s = doc["components"]["schemas"][s["$ref"].split("/")[-1]]
    return s
n = 0
for f in sorted(glob.glob(f"{tmp}/ans-*.json")):
    route = open(f[:-5] + ".route").read().strip()
    method, route = route.split(" ", 1) if " " in route else ("get", route)
    jsonschema.validate(json.load(open(f)), schema(route, method, "200")); n += 1
jsonschema.validate(json.load(open(f"{tmp}/deny.json")), schema("/api/v1/holds", "get", "401")); n += 1
print(f"openapi {doc['openapi']}: {len(ops)} operations; {n} answers valid")
print(" ".join(json.load(open(f"{tmp}/ans-{i}.json"))["state"] for i in (n - 6, n - 5)))
EOF
expect "the document lists the same routes the server dispatches" 0 \
    "get /api/v1/audit,get /api/v1/audit/verify,get /api/v1/executions,get /api/v1/executions/{id},get /api/v1/holds,get /api/v1/holds/{id},get /api/v1/incomplete,get /api/v1/me,get /api/v1/metrics,get /api/v1/openapi.json,get /api/v1/queues,get /api/v1/queues/depth,get /api/v1/queues/{name}/items,get /api/v1/scenarios/{name}/diff,get /api/v1/scenarios/{name}/versions,get /api/v1/scenarios/{name}/versions/{version},get /api/v1/scenarios/{name}/versions/{version}/steps/{step},get /api/v1/shadow,get /api/v1/versions,get /scenarios/{name}/versions/{version}/steps/{step},post /api/v1/audit/checkpoint,post /api/v1/holds/{id}/approve,post /api/v1/holds/{id}/reject,post /api/v1/incomplete/retry,post /api/v1/incomplete/{id}/discard,post /api/v1/incomplete/{id}/resolve,post /api/v1/incomplete/{id}/retry,post /api/v1/queue-items/{id}/resolve,post /api/v1/scenarios/{name}/deploy,post /api/v1/scenarios/{name}/promote,post /api/v1/scenarios/{name}/rollback" \
    -- jq -r '[.paths | to_entries[] | .key as $p | .value | to_entries[] | "\(.key) \($p)"] | sort | join(",")' "$tmp/openapi.json"
expect "only real operations: none answers only 405 (a generated client gets no method that can only fail)" 0 "0" \
    -- jq '[.paths[][] | select(.responses["405"])] | length' "$tmp/openapi.json"
expect "the 405 rule is stated once: in info.description and as a reusable response with the Allow header" 0 \
    'A path takes only the operations listed under it. A request with another method (of GET, HEAD, POST, PUT, PATCH, DELETE) is answered 405, before any token is asked for, with an Allow header naming the methods the path takes: its operations here, and HEAD wherever GET (RFC 9110 15.5.6); the body is an Error (#/components/responses/MethodNotAllowed).
{"description":"method not allowed: Allow names the methods this path takes","headers":{"Allow":{"description":"the methods the path takes, as listed here (HEAD wherever GET), e.g. \"GET, HEAD\"","required":true,"schema":{"type":"string"}}},"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}}' \
    -- jq -r '.info.description, (.components.responses.MethodNotAllowed | tojson)' "$tmp/openapi.json"


# ---- queues: a drift resolved from the API ----
echo '{"id":"E-20"}' > "$tmp/e20.json"
"$bin" run tests/admin/fixtures/drift.yaml --input "$tmp/e20.json" --org "$org" >/dev/null 2>&1
qid=$(sql "SELECT id FROM queue_items WHERE queue = 'reconciliation'")
expect "the queue and its open item" 0 '200 {"open":1} {"employee":"E-20","field":"pay_rate"}' \
    -- bash -c "curl -s -o '$tmp/q.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/queues'; jq -c '.queues.reconciliation | {open}' '$tmp/q.json' | tr '\n' ' '; curl -s -H 'Authorization: Bearer $V' '$api/queues/reconciliation/items' | jq -c '.items[0].item'"
expect "a viewer may not resolve it: 403" 0 "403 {\"error\":\"user Vera Viewer (viewer) may not POST /api/v1/queue-items/$qid/resolve\"}" \
    -- call "$V" POST "/queue-items/$qid/resolve" '{"note":"x"}'
nonote='400 {"error":"give {\"note\": \"...\"}: what was done about the item (it is kept with the resolution and shown to the next person)"}'
expect "resolving without a note: 400, the item stays open" 0 "$nonote
$nonote
$nonote
400 {\"error\":\"note must be a string\"}
open" -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; call '$O' POST /queue-items/$qid/resolve; echo; call '$O' POST /queue-items/$qid/resolve '{}'; echo; call '$O' POST /queue-items/$qid/resolve '{\"note\":\"  \"}'; echo; call '$O' POST /queue-items/$qid/resolve '{\"note\":7}'; echo; sqlite3 '$db' 'SELECT state FROM queue_items WHERE id = $qid'"
expect "a note over 4000 bytes: 400" 0 '400 {"error":"note is over 4000 bytes (4001 given): keep it to what was done, and link the rest"}' \
    -- call "$O" POST "/queue-items/$qid/resolve" "{\"note\":\"$(head -c 4001 /dev/zero | tr '\0' n)\"}"
expect "a note of 2001 x e-acute is 4002 bytes: 400 (the limit counts UTF-8 bytes, as the console does)" 0 \
    '400 {"error":"note is over 4000 bytes (4002 given): keep it to what was done, and link the rest"}' \
    -- call "$O" POST "/queue-items/$qid/resolve" "{\"note\":\"$(printf '\u00e9%.0s' $(seq 2001))\"}"
expect "a note of Unicode blanks only (no-break space, em space, zero-width space): 400, the item stays open" 0 "$nonote
open" -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; call '$O' POST /queue-items/$qid/resolve '{\"note\":\"\\u00a0\\u2003\\u200b\"}'; echo; sqlite3 '$db' 'SELECT state FROM queue_items WHERE id = $qid'"
expect "a note of invisible characters only (Hangul filler, braille blank, VS16, CGJ): 400, the item stays open" 0 "$nonote
$nonote
$nonote
$nonote
open" -- bash -c "$(declare -f call calls); api='$api' tmp='$tmp'; calls '$O' POST /queue-items/$qid/resolve '{\"note\":\"\\u3164\"}' POST /queue-items/$qid/resolve '{\"note\":\"\\u2800\"}' POST /queue-items/$qid/resolve '{\"note\":\"\\ufe0f\"}' POST /queue-items/$qid/resolve '{\"note\":\"\\u034f \\uffa0\"}'; sqlite3 '$db' 'SELECT state FROM queue_items WHERE id = $qid'"
expect "the document's text fields carry no pattern (a regex cannot say the rule) and describe it" 0 \
'null|Not blank: at least one character that is not a separator (Zs, Zl, Zp), format (Cf) or control (Cc) character, nor Default_Ignorable_Code_Point, nor U+2800 BRAILLE PATTERN BLANK (Unicode Character Database); otherwise 400.' \
    -- jq -r '.paths["/api/v1/queue-items/{id}/resolve"].post.requestBody.content["application/json"].schema.properties.note | "\(.pattern)|\(.description)"' "$tmp/openapi.json"
expect "a queue item id that is not a number, and one that is not there: 404" 0 \
    '404 {"error":"no queue item abc"}
404 {"error":"no queue item 999"}' -- bash -c "$(declare -f call); api='$api' tmp='$tmp'; call '$O' POST /queue-items/abc/resolve '{\"note\":\"x\"}'; echo; call '$O' POST /queue-items/999/resolve '{\"note\":\"x\"}'"
expect "the operator resolves it with a note: the item keeps the name, the time and the note" 0 \
    "200 resolved|Otto Operator|2026-03-09T10:00:00.000Z|pay rate corrected in the HRIS (ticket HR-12)" \
    -- bash -c "curl -s -o '$tmp/r.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $O' --data-binary '{\"note\":\"pay rate corrected in the HRIS (ticket HR-12)\"}' '$api/queue-items/$qid/resolve'; jq -r '[.state, .done_by, .done_at, .note] | join(\"|\")' '$tmp/r.json'"
expect "the answer validates against the document's schema for the route" 0 "valid" -- python3 -c "
import json, jsonschema
doc = json.load(open('$tmp/openapi.json'))
op = doc['paths']['/api/v1/queue-items/{id}/resolve']['post']
jsonschema.validate(json.load(open('$tmp/r.json')), op['responses']['200']['content']['application/json']['schema'])
jsonschema.validate({'note': 'x'}, op['requestBody']['content']['application/json']['schema'])
print('valid')"
expect "resolving it again: 409, naming who resolved it" 0 "409 {\"error\":\"queue item $qid was already resolved by Otto Operator at 2026-03-09T10:00:00.000Z\"}" -- call "$O" POST "/queue-items/$qid/resolve" '{"note":"again"}'
expect "the resolved items list shows who, when and the note" 0 \
    "200 $qid|Otto Operator|2026-03-09T10:00:00.000Z|pay rate corrected in the HRIS (ticket HR-12)" \
    -- bash -c "curl -s -o '$tmp/l.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/queues/reconciliation/items?state=resolved'; jq -r '.items[] | [.id, .done_by, .done_at, .note] | join(\"|\")' '$tmp/l.json'"
expect "the audit log holds the resolution under the operator's name, its body the note's SHA-256" 0 \
    "resolve scenarist:queues/reconciliation/items/$qid Otto Operator $(printf 'pay rate corrected in the HRIS (ticket HR-12)' | sha256sum | cut -c1-64)" \
    -- bash -c "curl -s -H 'Authorization: Bearer $V' '$api/audit?sent_to=scenarist:queues/' | jq -r '.entries[] | \"\(.method) \(.sent_to) \(.by) \(.body_sha256)\"'"
echo '{"id":"E-21"}' > "$tmp/e21.json"
"$bin" run tests/admin/fixtures/drift.yaml --input "$tmp/e21.json" --org "$org" >/dev/null 2>&1
qid2=$(sql "SELECT id FROM queue_items WHERE queue = 'reconciliation' AND state = 'open'")
expect "without the audit key the resolution cannot be audited, so it does not happen" 1 \
    "scenarist: audit key: secret env:ADMIN_AUDIT_KEY is not set in the environment
open|" -- bash -c "env -u ADMIN_AUDIT_KEY '$bin' queue resolve $qid2 --note 'x' --org '$org'; rc=\$?; sqlite3 '$db' 'SELECT state, note FROM queue_items WHERE id = $qid2'; exit \$rc"
expect "scenarist queue resolve --note: the same, under the OS user's name" 0 \
    "queue item $qid2 resolved by tester: duplicate of $qid
$qid2|resolved|tester|duplicate of $qid
resolve scenarist:queues/reconciliation/items/$qid2 tester" \
    -- bash -c "'$bin' queue resolve $qid2 --note 'duplicate of $qid' --org '$org'; sqlite3 '$db' 'SELECT id, state, done_by, note FROM queue_items WHERE id = $qid2'; curl -s -H 'Authorization: Bearer $V' '$api/audit?sent_to=scenarist:queues/reconciliation/items/$qid2' | jq -r '.entries[] | \"\(.method) \(.sent_to) \(.by)\"'"
expect "scenarist queue list --status resolved shows the note" 0 \
    "$qid2     2026-03-09T10:00:00.000Z  resolved by tester at 2026-03-09T10:00:00.000Z: duplicate of $qid  {\"employee\":\"E-21\",\"field\":\"pay_rate\"}" \
    -- bash -c "'$bin' queue list reconciliation --status resolved --org '$org' | grep '^$qid2 '"
expect "the resolved items, order=newest&limit=1: the last one resolved only" 0 "200 $qid2" \
    -- bash -c "curl -s -o '$tmp/l.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/queues/reconciliation/items?state=resolved&order=newest&limit=1'; jq -r '[.items[].id] | join(\" \")' '$tmp/l.json'"
expect "and every resolved one, newest first" 0 "200 $qid2 $qid" \
    -- bash -c "curl -s -o '$tmp/l.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/queues/reconciliation/items?state=resolved&order=newest'; jq -r '[.items[].id] | join(\" \")' '$tmp/l.json'"

expect "each operation documents the query parameters and body fields the server takes, and the statuses of its error answers" 0 \
    "31 operations: parameters and bodies as the server takes them; 55 error answers valid; openapi.json asks no token; 124 methods not allowed answer 405 with the Allow the document's rule gives" \
    -- python3 - "$tmp" "$api" "$ADMIN_ADMIN" "$qid" <<'EOF'
import json, re, sys, jsonschema, urllib.request, urllib.error
tmp, api, token, qid = sys.argv[1:]
root = api[: -len("/api/v1")]
doc = json.load(open(f"{tmp}/openapi.json"))
def ask(method, path, body=None, headers=None):
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(root + path, data=data, method=method.upper(), headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req) as r:
            return (r.status, json.load(r)) + ((r.headers,) if headers else ())
    except urllib.error.HTTPError as e:
        return (e.code, json.load(e)) + ((e.headers,) if headers else ())
def valid(path, method, status, answer):
    s = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    if "$ref" in s:
        s = doc["components"]["schemas"][s["$ref"].split("/")[-1]]
    jsonschema.validate(answer, s)
def takes(answer):
    return re.search(r"\(this route takes: (.*)\)$", answer["error"]).group(1)
n = ops = nots = 0
not_allowed = doc["components"]["responses"]["MethodNotAllowed"]
assert "#/components/responses/MethodNotAllowed" in doc["info"]["description"]
for path, item in doc["paths"].items():
    # the document's rule: Allow names the path's operations, HEAD wherever GET
    allow = ", ".join(m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
                      if (m if m != "HEAD" else "GET").lower() in item)
    for method in ("get", "post", "put", "patch", "delete"):
        if method in item:
            continue
        status, a, h = ask(method, re.sub(r"\{[^}]*\}", "zz", path), headers=True)
        assert status == 405, (path, method, status, a)
        jsonschema.validate(a, doc["components"]["schemas"]["Error"])
        assert not_allowed["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
        assert h["Allow"] == allow, (path, method, h["Allow"], allow)
        nots += 1
    for method, op in item.items():
        assert "405" not in op["responses"], (path, method)
        ops += 1
        real = re.sub(r"\{[^}]*\}", "zz", path)
        status, a = ask(method, real + "?zz_unknown=1")
        assert status == 400, (path, method, status, a)
        valid(path, method, 400, a); n += 1
        q = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        assert takes(a) == (", ".join(q) or "none"), (path, method, takes(a), q)
        if method == "post":
            status, a = ask(method, real, {"zz_unknown": 1})
            assert status == 400, (path, status, a)
            valid(path, method, 400, a); n += 1
            props = list(op["requestBody"]["content"]["application/json"]["schema"]["properties"])
            assert takes(a) == ", ".join(props), (path, takes(a), props)
        if path == "/api/v1/openapi.json":
            assert "401" not in op["responses"] and "403" not in op["responses"] and op["security"] == [], op
for method, path, real, body, want in [
        ("get", "/api/v1/holds/{id}", "/api/v1/holds/99", None, 404),
        ("post", "/api/v1/holds/{id}/approve", "/api/v1/holds/1/approve", {}, 409),
        ("post", "/api/v1/holds/{id}/approve", "/api/v1/holds/99/approve", {}, 404),
        ("post", "/api/v1/holds/{id}/reject", "/api/v1/holds/1/reject", b"a" * 70000, 413),
        ("post", "/api/v1/queue-items/{id}/resolve", f"/api/v1/queue-items/{qid}/resolve", {"note": "x"}, 409),
        ("post", "/api/v1/queue-items/{id}/resolve", "/api/v1/queue-items/999/resolve", {"note": "x"}, 404),
        ("post", "/api/v1/scenarios/{name}/deploy", "/api/v1/scenarios/decide-sync/deploy", {"yaml": ""}, 422),
        ("post", "/api/v1/scenarios/{name}/rollback", "/api/v1/scenarios/decide-sync/rollback", {"to": 99}, 404),
        ("get", "/api/v1/scenarios/{name}/versions/{version}", "/api/v1/scenarios/decide-sync/versions/99", None, 404),
        ("get", "/api/v1/executions/{id}", "/api/v1/executions/nope", None, 404),
        ("post", "/api/v1/audit/checkpoint", "/api/v1/audit/checkpoint", {"to": "nosuch"}, 400),
        ("get", "/api/v1/audit", "/api/v1/audit?limit=0", None, 400),
        ("post", "/api/v1/incomplete/retry", "/api/v1/incomplete/retry", {"scenario": 42}, 400)]:
    status, a = ask(method, real, body)
    assert status == want, (real, status, a)
    valid(path, method, status, a); n += 1
print(f"{ops} operations: parameters and bodies as the server takes them; {n} error answers valid; openapi.json asks no token; {nots} methods not allowed answer 405 with the Allow the document's rule gives")
EOF

# ---- queue depth over the last days, from the items' created and done times ----
ms() { echo $(( $(date -ud "$1" +%s) * 1000 )); }
qi() { sql "INSERT INTO queue_items(queue, item, state, created_at, done_at) VALUES ('onboarding', '{}', '$1', $(ms "$2"), $([ -n "${3:-}" ] && ms "$3" || echo NULL))"; }
qi resolved 2026-03-02T12:00:00Z 2026-03-05T08:00:00Z   # open at the end of 03-03 and 03-04
qi open 2026-03-04T09:00:00Z                            # open from 03-04 on
qi resolved 2026-03-06T23:59:00Z 2026-03-07T00:00:00Z   # open at the end of 03-06 only
qi resolved 2026-03-08T00:00:00Z 2026-03-08T23:00:00Z   # opened and closed within 03-08: never at a day's end
expect "no token: 401" 0 '401 {"error":"send Authorization: Bearer TOKEN"}' -- call - GET /queues/depth
expect "a viewer reads each queue's depth at the end of each of the last 7 days (the last: now)" 0 \
    '200 {"days":["2026-03-03","2026-03-04","2026-03-05","2026-03-06","2026-03-07","2026-03-08","2026-03-09"],"queues":{"onboarding":[1,2,1,2,1,1,1],"reconciliation":[0,0,0,0,0,0,0]}}' \
    -- call "$V" GET /queues/depth
expect "days=2: the last two" 0 '200 {"days":["2026-03-08","2026-03-09"],"queues":{"onboarding":[1,1],"reconciliation":[0,0]}}' \
    -- call "$V" GET '/queues/depth?days=2'
expect "days out of 1..90: 400" 0 '400 {"error":"days takes a number from 1 to 90"}' -- call "$V" GET '/queues/depth?days=0'

# ---- a daemon serving files (drafts): sent_from of a draft, and deploying a draft ----
mkdir -p "$tmp/drafts"
cp $fx/decide/payroll.yaml $fx/decide/sync.yaml "$tmp/drafts/"
cat > "$tmp/drafts/hook.yaml" <<'EOF2'
name: draft-hook
description: A learner write from a webhook, served as a draft
triggers:
  - webhook: { path: /hooks/draft }
steps:
  - id: put
    module: http.request
    with: { connection: lms, method: PUT, path: "/learners/{{ trigger.body.id }}", json: { id: "{{ trigger.body.id }}" } }
EOF2
"$bin" serve "$tmp/drafts" --org "$org" --store "$tmp/drafts.db" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 2>"$tmp/dlog" &
d2pid=$!
url2=$(daemon_url "$tmp/dlog")
for _ in $(seq 3000); do grep -q 'admin API on' "$tmp/dlog" && break; sleep 0.02; done
root2=$(grep -o 'admin API on http://127.0.0.1:[0-9]*' "$tmp/dlog" | sed 's/admin API on //')
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data '{"id":"D-1"}' "$url2/hooks/draft"
for _ in $(seq 3000); do grep -q '/lms/learners/D-1' "$journal" && break; sleep 0.02; done
expect "a draft's write carries a sent_from naming version draft" 0 "http://127.0.0.1:8080/scenarios/draft-hook/versions/draft/steps/put" \
    -- bash -c "grep '/lms/learners/D-1' '$journal' | head -1 | jq -r .body.sent_from"
expect "that sent_from answers with the step as the file the daemon loaded defines it" 0 \
    "200 {\"scenario\":\"draft-hook\",\"version\":\"draft\",\"file\":\"$tmp/drafts/hook.yaml\",\"step\":{\"id\":\"put\",\"module\":\"http.request\",\"with\":{\"connection\":\"lms\",\"method\":\"PUT\",\"path\":\"/learners/{{ trigger.body.id }}\",\"json\":{\"id\":\"{{ trigger.body.id }}\"}}}}" \
    -- bash -c "curl -s -o '$tmp/s.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$root2/scenarios/draft-hook/versions/draft/steps/put'; cat '$tmp/s.json'"
expect "and so does the same path under /api/v1" 0 "200 $(cat "$tmp/s.json")" \
    -- bash -c "curl -s -o '$tmp/s2.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$root2/api/v1/scenarios/draft-hook/versions/draft/steps/put'; cat '$tmp/s2.json'"
expect "a step the draft does not have: 404" 0 '404 {"error":"no such step in this version"}' \
    -- bash -c "curl -s -o '$tmp/s.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$root2/scenarios/draft-hook/versions/draft/steps/nope'; cat '$tmp/s.json'"
expect "a daemon serving the deployed versions has no draft: 404" 0 '404 {"error":"this daemon serves the deployed versions: it has no draft of this scenario"}' \
    -- bash -c "curl -s -o '$tmp/s.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '${api%/api/v1}/scenarios/decide-payroll/versions/draft/steps/dispatch'; cat '$tmp/s.json'"
expect "versions names the drafts the daemon serves" 0 '200 ["decide-payroll","decide-sync","draft-hook"]' \
    -- bash -c "curl -s -o '$tmp/v.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$root2/api/v1/versions'; jq -c '.drafts | sort' '$tmp/v.json'"
expect "an admin deploys the draft decide-sync (no text: the daemon's file), as scenarist deploy of that file" 0 \
    "200 {\"scenario\":\"decide-sync\",\"number\":1,\"message\":\"deployed by Root Admin\",\"changed\":true}
$(sql "SELECT checksum FROM versions WHERE scenario = 'decide-sync' AND number = 1")" \
    -- bash -c "curl -s -o '$tmp/dd.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $ADMIN_ADMIN' --data-binary '{}' '$root2/api/v1/scenarios/decide-sync/deploy'; cat '$tmp/dd.json'; echo; sqlite3 '$tmp/drafts.db' \"SELECT checksum FROM versions WHERE scenario = 'decide-sync'\""
sed -i 's/module: http.request/module: http.requets/' "$tmp/drafts/sync.yaml"
expect "the file edited since into one that does not validate: 422 naming it at file:line:col, nothing stored" 0 \
    "422 $tmp/drafts/sync.yaml does not validate against org servetest: not deployed|$tmp/drafts/sync.yaml:7:13: error: unknown module 'http.requets'; did you mean 'http.request'?
1" -- bash -c "curl -s -o '$tmp/dd.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $ADMIN_ADMIN' --data-binary '{}' '$root2/api/v1/scenarios/decide-sync/deploy'; jq -r '.error + \"|\" + (.text | split(\"\n\")[0])' '$tmp/dd.json'; sqlite3 '$tmp/drafts.db' \"SELECT count(*) FROM versions WHERE scenario = 'decide-sync'\""
expect "a name the daemon serves no file of: 404" 0 \
    '404 {"error":"no such scenario among the files this daemon serves: send its text as {\"yaml\": TEXT}"}' \
    -- bash -c "curl -s -o '$tmp/dd.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $ADMIN_ADMIN' --data-binary '{}' '$root2/api/v1/scenarios/nope/deploy'; cat '$tmp/dd.json'"
kill -TERM $d2pid
{ wait $d2pid; } 2>/dev/null
rc2=$?
d2pid=
expect "the drafts daemon stops cleanly (exit 0; under ASan: no leak)" 0 "0" -- echo $rc2
[ $rc2 = 0 ] || sed 's/^/# /' "$tmp/dlog" | tail -20

# ---- where it listens ----
expect "--admin-listen with a host name: the daemon says so and stops (exit 1)" 1 \
    "error scenarist: --admin-listen nohost:80: give a numeric HOST:PORT (Name or service not known)" \
    -- bash -c "timeout 20 '$bin' serve $fx/decide --org '$org' --store '$tmp/other.db' --listen 127.0.0.1:0 --admin-listen nohost:80 2>&1 | grep -o 'error scenarist: .*'; exit \${PIPESTATUS[0]}"
expect "--admin-listen PORT alone listens on loopback" 0 "admin API on http://127.0.0.1:" \
    -- bash -c "'$bin' serve $fx/decide --org '$org' --store '$tmp/other2.db' --listen 127.0.0.1:0 --admin-listen 0 --until 2026-03-09T10:00:01Z 2>&1 | grep -o 'admin API on http://127.0.0.1:'"

# ---- the console: static files built into the binary, no token needed for them ----
root=${api%/api/v1}
expect "the console's page, script and style are the files of console/, byte for byte" 0 \
    "200 text/html; charset=utf-8
200 text/javascript; charset=utf-8
200 text/css; charset=utf-8" -- bash -c "for f in index.html app.js app.css; do curl -s -o '$tmp/c' -w '%{http_code} %{content_type}\n' '$root/console/'\$f; cmp -s '$tmp/c' console/\$f || echo \"differs: \$f\"; done"
expect "/console/ is its page; /console redirects there; another file is 404" 0 "200 301 /console/ 404" \
    -- bash -c "curl -s -o /dev/null -w '%{http_code} ' '$root/console/'; curl -s -o /dev/null -w '%{http_code} %{redirect_url} ' '$root/console' | sed 's|http://127.0.0.1:[0-9]*||'; curl -s -o /dev/null -w '%{http_code}' '$root/console/nope.js'"
expect "the webhook listener does not serve the console" 0 "404" -- curl -s -o /dev/null -w '%{http_code}' "$url/console/"

kill -TERM $dpid
{ wait $dpid; } 2>/dev/null
rc=$?
dpid=
expect "the daemon stops cleanly with the admin listener (exit 0; under ASan: no leak)" 0 "0" -- echo $rc
[ $rc = 0 ] || sed 's/^/# /' "$dir/log" | tail -20
