#!/usr/bin/env bash
# The sandbox at volume: a generated organisation (deterministic per seed, its planted
# drift exact), the three paging styles walked end to end.
# usage: tests/sandbox/volume.sh SANDBOX SCENARIST (the stub beside the scenarist binary)
set -u
sandbox=$(realpath "$1")
bin=$(realpath "$2")
stub=$(dirname "$bin")/tests/stub
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "# kept: $tmp"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
suite=sandbox
. tests/lib.sh
# Debian's python3 (tools/install-deps) starts in 20 ms; a version manager's shim can take 500
py3=/usr/bin/python3
[ -x "$py3" ] || py3=$(command -v python3)

# start NAME ARGS...: a sandbox on a free port; its URL in $u, its stderr in $tmp/NAME.log.
start() {
    local name=$1
    shift
    "$sandbox" --port 0 --port-file "$tmp/$name.port" "$@" 2>"$tmp/$name.log" &
    pids+=($!)
    for _ in $(seq 3000); do [ -s "$tmp/$name.port" ] && break; sleep 0.02; done
    u=http://127.0.0.1:$(cat "$tmp/$name.port")
}
# jq-less JSON: py EXPR FILE evaluates EXPR over the JSON in FILE (bound to d).
py() { "$py3" -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$2"; }

# ---- a generated organisation: deterministic, in proportion, drift planted exactly ----
"$sandbox" generate --employees 1000 --seed 7 > "$tmp/a.json"
"$sandbox" generate --employees 1000 --seed 7 > "$tmp/b.json"
"$sandbox" generate --employees 1000 --seed 8 > "$tmp/c.json"
expect "the same seed gives byte-identical data" 0 "same" -- sh -c "cmp -s '$tmp/a.json' '$tmp/b.json' && echo same"
expect "another seed other data" 0 "differ" -- sh -c "cmp -s '$tmp/a.json' '$tmp/c.json' || echo differ"
expect "N=1000: every table's count, exactly" 0 \
    "departments 10 employees 1000 learners 982 courses 8 completions 1447 candidates 250 offers 178 calendar_events 214 planted 171" \
    -- py "' '.join('%s %d' % (t, len(d[t])) for t in ['departments','employees','learners','courses','completions','candidates','offers','calendar_events','planted'])" "$tmp/a.json"
expect "N=1000: the planted drift by kind" 0 \
    "accepted_offer_without_hire 17, active_learner_terminated 17, field_mismatch:department 17, field_mismatch:email 17, field_mismatch:manager 17, field_mismatch:title 17, hire_without_accepted_offer 17, missing_learner 35, orphan_learner 17" \
    -- py "', '.join('%s %d' % kv for kv in sorted(__import__('collections').Counter(p['kind'] + (':' + p['field'] if 'field' in p else '') for p in d['planted']).items()))" "$tmp/a.json"
expect "a reconciliation over the data finds exactly the planted drift" 0 "found 171 planted 171 same" \
    -- "$py3" tests/sandbox/drift.py "$tmp/a.json"
expect "so does it for another seed" 0 "found 171 planted 171 same" -- "$py3" tests/sandbox/drift.py "$tmp/c.json"
"$sandbox" generate --employees 2500 --seed 3 > "$tmp/d.json"
expect "and at N=2500, in proportion" 0 "found 441 planted 441 same" -- "$py3" tests/sandbox/drift.py "$tmp/d.json"
expect "the fixture's planted table is its real drift" 0 "found 13 planted 13 same" \
    -- "$py3" tests/sandbox/drift.py tools/sandbox/fixture.json
expect "every manager is an employee, and the hierarchy has one head" 0 "1 0" \
    -- py "sum(e['manager_id'] is None for e in d['employees']), sum(e['manager_id'] is not None and e['manager_id'] not in {x['id'] for x in d['employees']} for e in d['employees'])" "$tmp/a.json"
expect "too few employees is a clear error" 2 "sandbox: --employees takes a number from 40 to 10000000, not 39" \
    -- "$sandbox" generate --employees 39
expect "a negative count is not read as 18446744073709551611" 2 \
    "sandbox: --employees takes a number from 40 to 10000000, not -5" -- "$sandbox" --employees -5
for o in "--seed -1" "--seed 7x" "--port abc" "--port 70000" "--journal-max -1" "--threads 0"; do
    expect "$o is a clear error, not a number made up" 2 \
        "sandbox: ${o% *} takes a number from $(case $o in --seed*|--journal*) echo "0 to 18446744073709551615";; --port*) echo "0 to 65535";; *) echo "1 to 256";; esac), not ${o#* }" \
        -- "$sandbox" $o
done
expect "--employees wants a number" 2 "sandbox: --employees takes a number from 40 to 10000000, not many" \
    -- "$sandbox" --employees many

start s0 --employees 40 --seed 0
expect_grep "--seed 0 is a seed of its own (as generate has it), not the default 1" 0 \
    "generated 40 employees (seed 0)" -- cat "$tmp/s0.log"
start g1000 --employees 1000 --seed 7
expect_grep "one line on stderr counts what was generated and planted" 0 \
    "generated 1000 employees (seed 7) in " -- cat "$tmp/g1000.log"
expect_grep "with the planted drift by kind" 0 \
    "; planted 171 drift: " -- cat "$tmp/g1000.log"
for t in employees learners completions offers planted; do
    curl -s "$u/_sandbox/data?table=$t" > "$tmp/served.json"
    expect "the served $t are the generated ones" 0 "True" \
        -- "$py3" -c "import json,sys; print(json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))['$t'])" "$tmp/served.json" "$tmp/a.json"
done
curl -s "$u/_sandbox/data?table=employees" > "$tmp/served.json"
expect "answers are compact JSON in the data's order, byte for byte" 0 "True" \
    -- "$py3" -c "import json,sys; print(open(sys.argv[1]).read() == json.dumps(json.load(open(sys.argv[2]))['employees'], separators=(',', ':'), ensure_ascii=False))" "$tmp/served.json" "$tmp/a.json"
curl -s -o /dev/null -X PATCH -H 'Authorization: x' --data-binary '{"title":"a\"b\\c\n\t\u0001/é\u2028"}' "$u/hris/employees/E-1002"
expect "and escape what JSON must" 0 '"title":"a\"b\\c\n\t\u0001/é "' \
    -- sh -c "curl -s -H 'Authorization: x' '$u/hris/employees/E-1002' | grep -o '\"title\":\"[^,]*\"'"
curl -s -X POST "$u/hris/employees" -H 'Authorization: x' -H 'Content-Type: application/json' \
    -d '{"first_name":"Nia","last_name":"Okafor","work_email":"nia@example.com","start_date":"2026-04-06","title":"T","department_id":"D-30"}' > "$tmp/r.json"
expect "a new hire takes the next id" 0 "E-2001" -- py "d['id']" "$tmp/r.json"
curl -s -X POST "$u/_sandbox/reset" >/dev/null
curl -s "$u/_sandbox/data?table=employees" > "$tmp/served.json"
expect "reset generates the same organisation again" 0 "True" \
    -- "$py3" -c "import json,sys; print(json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))['employees'])" "$tmp/served.json" "$tmp/a.json"

# ---- paging: every style walks every record exactly once ----
start g250 --employees 250 --seed 5
expect "HRIS pages by number: 250 employees in 3 pages" 0 $'pages 3 items 250 distinct 250\n100 100 50' \
    -- "$py3" tests/sandbox/walk.py page "$u/hris/employees?per_page=100"
expect "the default page is 25" 0 $'pages 10 items 250 distinct 250\n25 25 25 25 25 25 25 25 25 25' \
    -- "$py3" tests/sandbox/walk.py page "$u/hris/employees"
expect "per_page over 100 gives 100" 0 $'pages 3 items 250 distinct 250\n100 100 50' \
    -- "$py3" tests/sandbox/walk.py page "$u/hris/employees?per_page=1000"
expect "a filtered list pages too (status=active)" 0 $'pages 3 items 238 distinct 238\n100 100 38' \
    -- "$py3" tests/sandbox/walk.py page "$u/hris/employees?per_page=100&status=active"
expect "the ATS by Link headers: 62 candidates in 3 pages of 25" 0 $'pages 3 items 62 distinct 62\n25 25 12' \
    -- "$py3" tests/sandbox/walk.py link "$u/ats/candidates?per_page=25"
expect "offers too, filtered by date (the 36 accepted)" 0 $'pages 2 items 36 distinct 36\n25 11' \
    -- "$py3" tests/sandbox/walk.py link "$u/ats/offers/accepted?from=2025-09-01&to=2026-03-07&per_page=25"
expect "the LMS by cursor: 246 learners in 3 pages" 0 $'pages 3 items 246 distinct 246\n100 100 46' \
    -- "$py3" tests/sandbox/walk.py cursor "$u/lms/learners?per_page=100"
expect "363 completions in 4" 0 $'pages 4 items 363 distinct 363\n100 100 100 63' \
    -- "$py3" tests/sandbox/walk.py cursor "$u/lms/completions?per_page=100"
curl -s -H 'Authorization: x' "$u/lms/completions?since=2026-03-04T00:00:00Z&per_page=100" > "$tmp/p1.json"
n=$(py "d['total']" "$tmp/p1.json")
expect "a filtered cursor walk gives exactly the filtered total" 0 "pages 3 items $n distinct $n" \
    -- sh -c "$py3 tests/sandbox/walk.py cursor '$u/lms/completions?since=2026-03-04T00:00:00Z&per_page=100' | sed -n 1p"
since="updated_since=2026-06-01T00:00:00Z"
curl -s -H 'Authorization: x' "$u/hris/employees?$since" > "$tmp/f1.json"
curl -s -o /dev/null -X PATCH -H 'Authorization: x' -d '{"title":"Changed"}' "$u/hris/employees/E-1100"
curl -s -H 'Authorization: x' "$u/hris/employees?$since" > "$tmp/f2.json"
expect "a filtered list sees a write at once (its positions are computed again)" 0 "0 1 E-1100" \
    -- echo "$(py "d['total']" "$tmp/f1.json") $(py "d['total'], d['items'][0]['id']" "$tmp/f2.json")"
expect "the LMS's page style still works" 0 $'pages 3 items 246 distinct 246\n100 100 46' \
    -- "$py3" tests/sandbox/walk.py page "$u/lms/learners?per_page=100&page=1"

# Link: exact, absolute, the query kept (escaped) and page replaced; none on the last page
expect "the Link header of the first page" 0 "Link: <$u/ats/candidates?per_page=25&recruiter=a%20b&page=2>; rel=\"next\"" \
    -- sh -c "curl -s -D - -o /dev/null -H 'Authorization: x' '$u/ats/candidates?per_page=25&recruiter=a%20b' | grep -i '^link:' | tr -d '\r'"
expect "of the second: page replaced" 0 "Link: <$u/ats/candidates?page=3&per_page=25>; rel=\"next\"" \
    -- sh -c "curl -s -D - -o /dev/null -H 'Authorization: x' '$u/ats/candidates?page=2&per_page=25' | grep -i '^link:' | tr -d '\r'"
expect "the last page has none" 0 "0" \
    -- sh -c "curl -s -D - -o /dev/null -H 'Authorization: x' '$u/ats/candidates?page=3&per_page=25' | grep -ci '^link:'; true"

# cursors: opaque, stable, bound to their list and filters
curl -s -H 'Authorization: x' "$u/lms/learners?per_page=100" > "$tmp/c1.json"
cur=$(py "d['next_cursor']" "$tmp/c1.json")
expect "a cursor is 32 hex digits, no visible position" 0 "yes" -- sh -c "echo '$cur' | grep -qxE '[0-9a-f]{32}' && echo yes"
curl -s -H 'Authorization: x' "$u/lms/learners?per_page=100&cursor=$cur" > "$tmp/c2.json"
curl -s -H 'Authorization: x' "$u/lms/learners?per_page=100&cursor=$cur" > "$tmp/c3.json"
expect "the same cursor gives the same page" 0 "same" -- sh -c "cmp -s '$tmp/c2.json' '$tmp/c3.json' && echo same"
expect "the page after the first, in cursor shape" 0 "L-5101 100 items,next_cursor,per_page" \
    -- py "d['items'][0]['id'], len(d['items']), ','.join(sorted(d))" "$tmp/c2.json"
curl -s -X PUT -H 'Authorization: x' -H 'Content-Type: application/json' -d '{"email":"new@example.com"}' "$u/lms/learners/E-7777" >/dev/null
curl -s -H 'Authorization: x' "$u/lms/learners?per_page=100&cursor=$cur" > "$tmp/c4.json"
expect "and still does after a learner is added (it comes at the end)" 0 "same" -- sh -c "cmp -s '$tmp/c2.json' '$tmp/c4.json' && echo same"
bad='{"error":"cursor is not one this list gave (it belongs to another list or other filters, or was altered)"}'
expect "a cursor of another list is 400" 0 "$bad 400" \
    -- curl -s -w ' %{http_code}' -H 'Authorization: x' "$u/lms/completions?cursor=$cur"
expect "or of other filters" 0 "$bad 400" \
    -- curl -s -w ' %{http_code}' -H 'Authorization: x' "$u/lms/learners?updated_since=2026-03-02T00:00:00Z&cursor=$cur"
alt=$(echo "$cur" | sed 's/^./f/; s/^ff/fe/')
expect "an altered cursor is 400" 0 "$bad 400" \
    -- curl -s -w ' %{http_code}' -H 'Authorization: x' "$u/lms/learners?cursor=$alt"

expect "--help names every list's paging style, as docs/sandbox.md does" 0 "" \
    -- sh -c "'$sandbox' --help | grep -E '^  GET .*\(paging: [a-z]+\)' | while read -r m p rest; do s=\$(echo \"\$rest\" | grep -o '(paging: [a-z]*)'); grep -F \"\\\`\$m \$p\\\`\" docs/sandbox.md | grep -qF \"\$s\" || echo \"differs: \$m \$p \$s\"; done"
expect "every GET list of a system says its style" 0 "" \
    -- sh -c "'$sandbox' --help | grep -E '^  GET ' | grep -v /_sandbox/ | grep -vE '/:[a-z_]+ |/:[a-z_]+$|paging: ' | grep -vE 'one (employee|learner|candidate|offer)'; true"

# ---- --emit-to: the sandbox sends the webhooks itself when its data changes ----
hris_secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
mkdir -p "$tmp/r"
echo '[{"method":"POST","path":"/hooks/*","status":202,"body":{"ok":true}}]' > "$tmp/r/replies.json"
"$stub" --replies "$tmp/r/replies.json" --port-file "$tmp/r/port" --journal "$tmp/r/journal" &
pids+=($!)
for _ in $(seq 3000); do [ -s "$tmp/r/port" ] && break; sleep 0.02; done
r=http://127.0.0.1:$(cat "$tmp/r/port")
start emit --employees 250 --seed 5 --emit-to "$r" --emit-secret "hris=$hris_secret" --emit-secret "lms=$hris_secret" \
    --emit-secret "ats=$hris_secret" --emit-secret screening-a=vendor-a-secret --emit-secret "screening-b=$hris_secret"
# drained: waits (bounded) until the sandbox has sent everything it queued
drained() { for _ in $(seq 3000); do curl -s "$u/_sandbox/health" | grep -q '"emit_pending":0' && return; sleep 0.02; done; }
post() { curl -s -o /dev/null -w '%{http_code} ' -X "$1" -H 'Authorization: x' -H 'Content-Type: application/json' -d "$3" "$u$2"; }
got=$(post POST /hris/employees '{"first_name":"Nia","last_name":"Okafor","work_email":"nia@example.com","start_date":"2026-04-06","title":"T","department_id":"D-30"}'
      post PATCH /hris/employees/E-1005 '{"title":"Head of Support","location":"Austin"}'
      post POST /hris/employees/E-1007/role-changes '{"title":"CTO","effective_date":"2026-04-01"}'
      post POST /hris/employees/E-1008/terminations '{"termination_date":"2026-03-31","reason":"resignation"}'
      post POST /_sandbox/change '{"kind":"complete","learner_external_id":"E-1005","course_id":"C-101","score":90}'
      post POST /_sandbox/change '{"kind":"accept-offer","offer_id":"OFF-740"}'
      post POST /_sandbox/change '{"kind":"screening","candidate_id":"CAND-301"}'
      post POST /_sandbox/change '{"kind":"screening","candidate_id":"CAND-302","vendor":"screening-b","result":"fail"}')
expect "four API writes and four simulated changes" 0 "201 200 201 201 201 200 201 201 " -- echo "$got"
drained
curl -s "$u/_sandbox/journal?method=EMIT" > "$tmp/emits.json"
expect "each sends its webhook, journalled with the receiver's answer" 0 \
    "new-hire 202, employee.changed 202, role.changed 202, termination 202, completion 202, offer.accepted 202, screening.a 202, screening.b 202" \
    -- py "', '.join('%s %s' % (e['kind'], e['status']) for e in d['requests'])" "$tmp/emits.json"
expect "the receiver got them, in order, at the scenarios' paths" 0 \
    "/hooks/hris/new-hire /hooks/hris/employee-changed /hooks/hris/role-changed /hooks/hris/terminated /hooks/lms/completion /hooks/ats/offer-accepted /hooks/screening/vendor-a /hooks/screening/vendor-b" \
    -- "$py3" -c "import json,sys; print(' '.join(json.loads(l)['path'] for l in open(sys.argv[1])))" "$tmp/r/journal"
expect "the payloads say what changed" 0 \
    "E-1251 None | E-1005 title,location | E-1007 CTO D-10 2026-04-01 | E-1008 2026-03-31 resignation | CP-0364 E-1005 C-101 90 | OFF-740 CAND-340 | SA-9001 CAND-301 CLEAR | SB-9001 CAND-302 fail" \
    -- "$py3" -c "
import json,sys
b=[json.loads(l)['body'] for l in open(sys.argv[1])]
s=b[7]['data']['screening']
print(' | '.join([' '.join(map(str,x)) for x in [(b[0]['employee_id'],b[0]['offer_id']),(b[1]['employee_id'],','.join(b[1]['changed_fields'])),
 (b[2]['employee_id'],b[2]['title'],b[2]['department_id'],b[2]['effective_date']),(b[3]['employee_id'],b[3]['termination_date'],b[3]['reason']),
 (b[4]['completion_id'],b[4]['learner_external_id'],b[4]['course_id'],b[4]['score']),(b[5]['offer_id'],b[5]['candidate_id']),
 (b[6]['report_id'],b[6]['candidate_ref'],b[6]['status']),(s['id'],s['candidate']['external_id'],s['result']['outcome'])]]))" "$tmp/r/journal"
# the signatures, recomputed from the bytes sent (the journal keeps the body in order)
sigs() {
    "$py3" - "$tmp/emits.json" "$tmp/r/journal" <<'PY' | while IFS=$'\t' read -r kind id ts body sig; do
import json, sys
emits = json.load(open(sys.argv[1]))["requests"]
for e, l in zip(emits, open(sys.argv[2])):
    h = json.loads(l)["headers"]
    sig = h.get("webhook-signature") or h.get("x-hub-signature-256")
    print("\t".join([e["kind"], h["webhook-id"], h.get("webhook-timestamp", "-"),
                     json.dumps(e["body"], separators=(",", ":"), ensure_ascii=False), sig]))
PY
        if [ "$kind" = screening.a ]; then
            hub_secret=vendor-a-secret
            [ "$(hub_sign "$body")" = "$sig" ] && echo "$kind ok" || echo "$kind bad"
        else
            std_secret=$hris_secret
            [ "$(std_sign "$id" "$ts" "$body")" = "$sig" ] && echo "$kind ok" || echo "$kind bad"
        fi
    done | tr '\n' ' '
}
expect "every one is signed: Standard Webhooks, vendor A's hub signature" 0 \
    "new-hire ok employee.changed ok role.changed ok termination ok completion ok offer.accepted ok screening.a ok screening.b ok " -- sigs

# drop_webhooks: the data changes, the webhook is journalled as dropped and never sent
curl -s -X POST -d '{"system":"hris","drop_webhooks":true}' "$u/_sandbox/faults" >/dev/null
got=$(post PATCH /hris/employees/E-1010 '{"title":"Dropped Title"}'
      post POST /_sandbox/change '{"kind":"complete","learner_external_id":"E-1010","course_id":"C-102"}')
drained
curl -s "$u/_sandbox/journal?method=EMIT" > "$tmp/emits.json"
expect "with hris's webhooks dropped, the change is still made" 0 "200 201 Dropped Title" \
    -- sh -c "echo '$got'\$(curl -s -H 'Authorization: x' '$u/hris/employees/E-1010' | '$py3' -c 'import json,sys; print(json.load(sys.stdin)[\"title\"])')"
expect "the journal says dropped; the LMS's is sent" 0 "employee.changed dropped, completion 202" \
    -- py "', '.join('%s %s' % (e['kind'], 'dropped' if e['dropped'] else e['status']) for e in d['requests'][-2:])" "$tmp/emits.json"
expect "the receiver never saw the dropped one" 0 "9 /hooks/lms/completion" \
    -- sh -c "echo \$(wc -l < '$tmp/r/journal') \$(tail -1 '$tmp/r/journal' | '$py3' -c 'import json,sys; print(json.load(sys.stdin)[\"path\"])')"

# a slow receiver does not hold a request up: the sender thread waits for it
echo '[{"method":"POST","path":"/hooks/*","status":202,"body":{},"delay_ms":10000}]' > "$tmp/r/slow.json"
mkdir -p "$tmp/slow"
"$stub" --replies "$tmp/r/slow.json" --port-file "$tmp/slow/port" --journal "$tmp/slow/journal" &
pids+=($!)
for _ in $(seq 3000); do [ -s "$tmp/slow/port" ] && break; sleep 0.02; done
start slow --emit-to "http://127.0.0.1:$(cat "$tmp/slow/port")"
t=$(curl -s -o /dev/null -w '%{time_total}' -X PATCH -H 'Authorization: x' -d '{"title":"X"}' "$u/hris/employees/E-1007")
expect "a change answers at once while its webhook is still on its way" 0 "yes 1" \
    -- sh -c "echo \$(awk 'BEGIN { print ($t < 5.0) ? \"yes\" : \"no: $t\" }') \$(curl -s '$u/_sandbox/health' | '$py3' -c 'import json,sys; print(json.load(sys.stdin)[\"emit_pending\"])')"

# to the real daemon: it verifies the signatures and runs the scenarios
export SB_HRIS_SECRET=$hris_secret SB_SCREENING_SECRET=vendor-a-secret
mkdir -p "$tmp/scn"
cat > "$tmp/org.yaml" <<YAML
name: sbvolume
timezone: UTC
store: $tmp/store/db
connections:
  unused: { base_url: "http://127.0.0.1:9" }
webhooks:
  hris-signature: { scheme: standard-webhooks, secret: env:SB_HRIS_SECRET }
  screening-a-signature: { scheme: hub-signature, secret: env:SB_SCREENING_SECRET }
YAML
for p in hris/employee-changed screening/vendor-a; do
    a=hris-signature
    [ $p = screening/vendor-a ] && a=screening-a-signature
    cat > "$tmp/scn/${p//\//-}.yaml" <<YAML
name: ${p//\//-}
triggers:
  - webhook: { path: /hooks/$p, auth: $a }
steps:
  - id: note
    module: set
    with: { vars: { who: "{{ trigger.body.employee_id }}{{ trigger.body.candidate_ref }}" } }
YAML
done
: > "$tmp/dlog"
"$bin" serve "$tmp/scn" --org "$tmp/org.yaml" --listen 127.0.0.1:0 2>"$tmp/dlog" &
pids+=($!)
dd=$(daemon_url "$tmp/dlog")
start daemon --emit-to "$dd" --emit-secret hris=env:SB_HRIS_SECRET --emit-secret screening-a=env:SB_SCREENING_SECRET
post PATCH /hris/employees/E-1007 '{"title":"Staff Engineer"}' >/dev/null
post POST /_sandbox/change '{"kind":"screening","candidate_id":"CAND-301"}' >/dev/null
drained
curl -s "$u/_sandbox/journal?method=EMIT" > "$tmp/emits.json"
expect "the daemon accepts both signed webhooks" 0 "employee.changed 202, screening.a 202" \
    -- py "', '.join('%s %s' % (e['kind'], e['status']) for e in d['requests'])" "$tmp/emits.json"
for _ in $(seq 3000); do [ "$(sqlite3 "$tmp/store/db" "SELECT count(*) FROM executions WHERE status = 'success'" 2>/dev/null)" = 2 ] && break; sleep 0.02; done
expect "and runs a scenario for each" 0 "hris-employee-changed|success
screening-vendor-a|success" -- sqlite3 "$tmp/store/db" "SELECT scenario, status FROM executions ORDER BY scenario"

expect "a secret for a system that sends no webhooks is refused" 2 \
    "sandbox: --emit-secret takes SYSTEM=SECRET, SYSTEM one of hris, lms, ats, screening-a, screening-b (got payroll=x)" \
    -- "$sandbox" --emit-to "$r" --emit-secret payroll=x
expect "a secret from an unset variable is refused" 2 \
    "sandbox: --emit-secret hris: the environment variable SB_UNSET_SECRET is not set" \
    -- "$sandbox" --emit-to "$r" --emit-secret hris=env:SB_UNSET_SECRET
expect "--emit-to wants an http(s) URL" 2 "sandbox: --emit-to takes an http:// or https:// URL (got localhost:8080)" \
    -- "$sandbox" --emit-to localhost:8080
expect "an empty secret is refused (every webhook would be signed with \"\")" 2 \
    "sandbox: --emit-secret hris: the secret is empty" -- "$sandbox" --emit-to "$r" --emit-secret hris=
expect "--emit-to wants a host" 2 "sandbox: --emit-to takes an http:// or https:// URL (got http:///hooks)" \
    -- "$sandbox" --emit-to http:///hooks
expect "secrets need --emit-to" 2 "sandbox: --emit-secret and --emit-path need --emit-to URL" \
    -- "$sandbox" --emit-secret "hris=$hris_secret"
expect "an unknown change kind is 422" 0 '{"error":"kind must be one of hire, change, role, terminate, complete, accept-offer, screening, skill, certify, interview, rate"} 422' \
    -- curl -s -w ' %{http_code}' -X POST -d '{"kind":"promote"}' "$u/_sandbox/change"

# ---- serving: a thread pool answers requests side by side; the journal stays bounded ----
start pool --threads 4 --journal-max 5
curl -s -X POST -d '{"system":"calendar","latency_ms":1500}' "$u/_sandbox/faults" >/dev/null # one after another: 6 s at least
t0=$(date +%s%N)
for i in 1 2 3 4; do curl -s -o /dev/null -H 'Authorization: x' "$u/calendar/events" & done
wait_for=$(jobs -p | grep -v -F "$(printf '%s\n' "${pids[@]}")")
wait $wait_for
ms=$((($(date +%s%N) - t0) / 1000000))
expect "four slow requests are served side by side, not one after another" 0 "yes" \
    -- sh -c "[ $ms -lt 5000 ] && echo yes || echo 'no: $ms ms'"
curl -s -X DELETE "$u/_sandbox/faults" >/dev/null
for i in $(seq 7); do curl -s -o /dev/null -H 'Authorization: x' "$u/lms/courses?n=$i"; done
expect "past twice --journal-max the journal keeps the newest entries" 0 "5 11" \
    -- sh -c "curl -s '$u/_sandbox/journal' | '$py3' -c 'import json,sys; d=json.load(sys.stdin); print(d[\"count\"], d[\"requests\"][-1][\"seq\"])'"
expect "--help lists every change kind, each in docs/sandbox.md" 0 "" \
    -- sh -c "'$sandbox' --help | sed -n '/^Changes/,/^\$/p' | sed '1d;\$d' | while read -r k _; do grep -qF \"| \\\`\$k\\\` |\" docs/sandbox.md || echo \"missing: \$k\"; done"
