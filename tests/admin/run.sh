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
suite_tmp
export SERVE_HRIS_TOKEN=hris-token SERVE_SCREENING_SECRET=x SERVE_HRIS_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
export ADMIN_VIEWER=viewer-token-0123456789 ADMIN_OPERATOR=operator-token-0123456789 ADMIN_ADMIN=admin-token-0123456789
export ADMIN_AUDIT_KEY=0123456789abcdef0123456789abcdef0123456789abcdef
printf 'approver-token-0123456789\n' > "$tmp/approver.token"
export SCENARIST_CLOCK=test:2026-03-09T10:00:00Z

cat > "$tmp/replies.json" <<'EOF'
[{"method": "POST", "path": "/hris/dispatch", "status": 201, "body": {"ok": true}},
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
   $lt |   - { name: Otto Operator, role: operator, token: operator-token-0123456789 }
      |                                                   ^~~~~~~~~~~~~~~~~~~~~~~~~
scenarist: org '$tmp/bad.yaml' does not load; nothing validated" \
    -- "$bin" validate --org "$tmp/bad.yaml" $fx/decide/payroll.yaml

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

: > "$dir/log"
"$bin" serve --org "$org" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 2>>"$dir/log" &
dpid=$!
url=$(daemon_url "$dir/log")
for _ in $(seq 500); do grep -q 'admin API on' "$dir/log" && break; sleep 0.02; done
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
    "400 {\"error\":\"the body is not a JSON object: '[' or '{' expected near 'nope'\"}" -- call "$A" POST /holds/1/reject nope
expect "a body over 64 KiB: 413, nothing recorded" 0 '413 {"error":"body over the 65536-byte limit"}' \
    -- bash -c "head -c 70000 /dev/zero | tr '\\0' a > '$tmp/big'; curl -s -o '$tmp/b.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $A' --data-binary @'$tmp/big' '$api/holds/2/approve'; cat '$tmp/b.json'"
expect "an unknown hold: 404" 0 '404 {"error":"no such hold"}' -- call "$A" POST /holds/99/approve
expect "the approver may not retry: 403" 0 "403 {\"error\":\"user Ada Approver (approver) may not POST /api/v1/incomplete/$inc/retry\"}" \
    -- call "$A" POST "/incomplete/$inc/retry"
expect "the operator retries the incomplete sync; the daemon runs it" 0 "200 retry|Otto Operator
done success" -- bash -c "curl -s -o '$tmp/t.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $O' '$api/incomplete/$inc/retry'; jq -r '[.action, .by // .decided_by] | join(\"|\")' '$tmp/t.json'; for _ in \$(seq 1000); do s=\$(sqlite3 '$db' \"SELECT state || ' ' || outcome FROM decisions WHERE action = 'retry'\"); [ \"\$s\" = 'done success' ] && break; sleep 0.02; done; echo \"\$s\""
expect "the payroll write's sent_from answers on the admin listener with the step's definition" 0 \
    '200 {"scenario":"decide-payroll","version":1,"step":{"id":"dispatch","module":"http.request","with":{"connection":"hris","method":"POST","path":"/dispatch","json":{"id":"{{ trigger.body.id }}"}},"on_error":[{"break":{"retries":0}}]}}' \
    -- bash -c "p=\$(grep /hris/dispatch '$journal' | head -1 | jq -r '.body.sent_from' | sed 's|^http://127.0.0.1:8080||'); curl -s -w '%{http_code} ' -o '$tmp/s.json' -H 'Authorization: Bearer $V' '${api%/api/v1}'\"\$p\"; cat '$tmp/s.json'"
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
expect "the webhook listener does not serve the API" 0 "404 not found" \
    -- bash -c "curl -s -w '%{http_code} ' -H 'Authorization: Bearer $V' '$url/api/v1/holds' -o '$tmp/w'; cat '$tmp/w'"

expect "metrics, queues, audit and shadowed writes answer a viewer" 0 "200 200 200 200" \
    -- bash -c "for p in metrics queues audit shadow; do curl -s -o /dev/null -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/'\$p; done | sed 's/ \$//'"
expect "the audit log lists the payroll write" 0 "POST decide-payroll" \
    -- bash -c "curl -s -H 'Authorization: Bearer $V' '$api/audit?scenario=decide-payroll' | jq -r '.entries[0] | \"\(.method) \(.scenario)\"'"
expect "audit verify: the chain is intact" 0 '200 {"intact":true}' -- call "$V" GET /audit/verify
sqlite3 "$db" "DROP TRIGGER audit_no_update; UPDATE audit SET status = 599 WHERE id = (SELECT max(id) FROM audit)"
expect "after a row is changed behind the daemon's back: not intact, naming the row" 0 "200 false $(sql 'SELECT max(id) FROM audit')" \
    -- bash -c "curl -s -o '$tmp/v.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/audit/verify'; jq -r '\"\(.intact) \(.problem.row)\"' '$tmp/v.json'"

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
curl -s -o "$tmp/deny.json" "$api/holds"
expect "real answers validate against the document's schemas (OpenAPI 3.1, every GET route)" 0 \
    "openapi 3.1.0: 26 operations; 16 answers valid" -- python3 - "$tmp" <<'EOF'
import json, sys, glob, jsonschema
tmp = sys.argv[1]
doc = json.load(open(f"{tmp}/openapi.json"))
ops = [(p, m) for p, item in doc["paths"].items() for m in item]
def schema(path, method, status):
    s = doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    if "$ref" in s:
        s = doc["components"]["schemas"][s["$ref"].split("/")[-1]]
    return s
n = 0
for f in sorted(glob.glob(f"{tmp}/ans-*.json")):
    route = open(f[:-5] + ".route").read().strip()
    jsonschema.validate(json.load(open(f)), schema(route, "get", "200")); n += 1
jsonschema.validate(json.load(open(f"{tmp}/deny.json")), schema("/api/v1/holds", "get", "401")); n += 1
print(f"openapi {doc['openapi']}: {len(ops)} operations; {n} answers valid")
EOF
expect "the document lists the same routes the server dispatches" 0 \
    "get /api/v1/audit,get /api/v1/audit/verify,get /api/v1/executions,get /api/v1/executions/{id},get /api/v1/holds,get /api/v1/holds/{id},get /api/v1/incomplete,get /api/v1/me,get /api/v1/metrics,get /api/v1/openapi.json,get /api/v1/queues,get /api/v1/queues/{name}/items,get /api/v1/scenarios/{name}/diff,get /api/v1/scenarios/{name}/versions,get /api/v1/scenarios/{name}/versions/{version},get /api/v1/shadow,get /api/v1/versions,get /scenarios/{name}/versions/{version}/steps/{step},post /api/v1/holds/{id}/approve,post /api/v1/holds/{id}/reject,post /api/v1/incomplete/retry,post /api/v1/incomplete/{id}/discard,post /api/v1/incomplete/{id}/resolve,post /api/v1/incomplete/{id}/retry,post /api/v1/queue-items/{id}/resolve,post /api/v1/scenarios/{name}/rollback" \
    -- jq -r '[.paths | to_entries[] | .key as $p | .value | keys[] | "\(.) \($p)"] | sort | join(",")' "$tmp/openapi.json"

# ---- queues: a drift resolved from the API ----
echo '{"id":"E-20"}' > "$tmp/e20.json"
"$bin" run tests/admin/fixtures/drift.yaml --input "$tmp/e20.json" --org "$org" >/dev/null 2>&1
qid=$(sql "SELECT id FROM queue_items WHERE queue = 'reconciliation'")
expect "the queue and its open item" 0 '200 {"open":1} {"employee":"E-20","field":"pay_rate"}' \
    -- bash -c "curl -s -o '$tmp/q.json' -w '%{http_code} ' -H 'Authorization: Bearer $V' '$api/queues'; jq -c '.queues.reconciliation | {open}' '$tmp/q.json' | tr '\n' ' '; curl -s -H 'Authorization: Bearer $V' '$api/queues/reconciliation/items' | jq -c '.items[0].item'"
expect "a viewer may not resolve it: 403" 0 "403 {\"error\":\"user Vera Viewer (viewer) may not POST /api/v1/queue-items/$qid/resolve\"}" \
    -- call "$V" POST "/queue-items/$qid/resolve"
expect "the operator resolves it, under their name" 0 "200 resolved Otto Operator" \
    -- bash -c "curl -s -o '$tmp/r.json' -w '%{http_code} ' -X POST -H 'Authorization: Bearer $O' '$api/queue-items/$qid/resolve'; jq -r '\"\(.state) \(.done_by)\"' '$tmp/r.json'"
expect "resolving it again: 409" 0 '409 {"error":"no open queue item with this id"}' -- call "$O" POST "/queue-items/$qid/resolve"

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
