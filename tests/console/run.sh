#!/usr/bin/env bash
# The console in a real browser (headless Chromium driven by Selenium): an approver signs
# in, sees a held payroll execution's diff, approves it, and the payroll write reaches the
# stub; a viewer has no approve button and the API says 403; the executions page lists a
# webhook sent during the test. Screenshots of each page go to a temporary folder, or to
# docs/console/ (the pictures docs/console.md shows) with CONSOLE_SHOTS=docs/console.
# usage: tests/console/run.sh SCENARIST STUB
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
cd "$(dirname "$0")/../.."
suite=console
. tests/lib.sh
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ] || ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
    echo "not ok - $suite chromium, chromium-driver and python3-selenium are needed: tools/install-deps"
    exit 0
fi
suite_tmp
export SERVE_HRIS_TOKEN=hris-token SERVE_SCREENING_SECRET=x SERVE_HRIS_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
export CONSOLE_APPROVER=approver-token-0123456789 CONSOLE_VIEWER=viewer-token-0123456789 CONSOLE_ADMIN=admin-token-0123456789
export CONSOLE_OPERATOR=operator-token-0123456789
export SCENARIST_CLOCK=test:2026-03-09T10:00:00Z
echo '[{"method": "POST", "path": "/hris/dispatch", "status": 201, "body": {"ok": true}}]' > "$tmp/replies.json"
stub_dir d "$tmp/replies.json" tests/serve/fixtures/org.yaml.in
cat >> "$org" <<EOF
users:
  - { name: Ada Approver, role: approver, token: env:CONSOLE_APPROVER }
  - { name: Vera Viewer, role: viewer, token: env:CONSOLE_VIEWER }
  - { name: Ada Admin, role: admin, token: env:CONSOLE_ADMIN }
  - { name: Otto Operator, role: operator, token: env:CONSOLE_OPERATOR }
targets:
  sync-failures: { metric: failure_rate, below: 1% }
  payroll-holds: { metric: hold_rate, scenario: console-payroll, below: 2% }
  reconciliation-queue: { metric: queue_depth, at_most: 0 }
EOF
echo '{"id":"E-1","hris":{"pay_rate":52000,"start_date":"2026-04-01"},"offer":{"pay_rate":55000,"start_date":"2026-04-01"}}' > "$tmp/in.json"
"$bin" run tests/console/fixtures/payroll.yaml --input "$tmp/in.json" --org "$org" >/dev/null 2>&1
echo '{"id":"E-20"}' > "$tmp/drift.json" # an open item on the reconciliation queue (id 1)
"$bin" run tests/console/fixtures/drift.yaml --input "$tmp/drift.json" --org "$org" >/dev/null 2>&1
# and the queue's past week (ms since the epoch): the depth chart has something to draw
ms() { echo $(( $(date -ud "$1" +%s) * 1000 )); }
for r in "2026-03-04T09:00:00Z 2026-03-07T10:00:00Z" "2026-03-05T09:00:00Z 2026-03-08T10:00:00Z" "2026-03-06T09:00:00Z"; do
    set -- $r
    sqlite3 "$db" "INSERT INTO queue_items(queue, item, state, created_at, done_at) VALUES ('reconciliation', '{}', '$([ -n "${2:-}" ] && echo resolved || echo open)', $(ms "$1"), $([ -n "${2:-}" ] && ms "$2" || echo NULL))"
done
"$bin" serve tests/console/fixtures --org "$org" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 2>"$dir/log" &
dpid=$!
url=$(daemon_url "$dir/log")
for _ in $(seq 3000); do grep -q 'admin API on' "$dir/log" && break; sleep 0.02; done
root=$(grep -o 'admin API on http://127.0.0.1:[0-9]*' "$dir/log" | sed 's/admin API on //')
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data '{"id":"W-1"}' "$url/hooks/console"
for _ in $(seq 3000); do [ "$(sqlite3 "$db" "SELECT status FROM executions WHERE scenario = 'console-hook'")" = success ] && break; sleep 0.02; done # the browser reads its status
hook=$(sqlite3 "$db" "SELECT id FROM executions WHERE scenario = 'console-hook'")
shots=${CONSOLE_SHOTS:-$tmp/shots} # docs/console only when asked: a test run leaves the tree as it was
mkdir -p "$shots"
expect "in the browser: sign in, the diff side by side, approve, a viewer cannot" 0 \
"approver signed in as: Ada Approver (approver)
dashboard hold rate: 100.0% target payroll-holds: below 2% (console-payroll): breached
dashboard failure rate: 0.0% target sync-failures: below 1%: met
diff: Field | HRIS value | Offer value | pay_rate | 52000 | 55000
after approve: approved by Ada Approver
executions lists the webhook: True
execution status: success
the step's sent_from page: draft {   \"id\": \"note\",   \"module\": \"set\",   \"with\": {     \"vars\": {       \"id\": \"{{ trigger.body.id }}\"     }   } }
queue depth chart: 7 bars: 0 1 2 3 2 1 2 (2026-03-03 to 2026-03-09)
admin signed in as: Ada Admin (admin)
after deploy: 1 | deploy | deployed by Ada Admin
operator signed in as: Otto Operator (operator)
resolve without a note: the item stays open
a note of 2001 x e-acute: The note is 4002 bytes (UTF-8); keep it to 4000: what was done, and link the rest.
resolved: Otto Operator | pay rate corrected in the HRIS
audit: resolve scenarist:queues/reconciliation/items/1 Otto Operator | approve scenarist:holds/1 Ada Approver
viewer signed in as: Vera Viewer (viewer)
viewer sees approve button: False
viewer sees deploy buttons: False
viewer API approve: 403" -- timeout 300 /usr/bin/python3 tests/console/browser.py "$root" "$CONSOLE_APPROVER" "$CONSOLE_VIEWER" 1 "$hook" "$shots" "$CONSOLE_ADMIN" "$CONSOLE_OPERATOR"
expect "the daemon ran the approved payroll write: the stub's journal has it" 0 \
    '{"id":"E-1","pay_rate":55000}' -- bash -c "for _ in \$(seq 3000); do grep -q /hris/dispatch '$dir/journal' && break; sleep 0.02; done; grep /hris/dispatch '$dir/journal' | jq -c '.body | del(.sent_from, .sent_to)'"
expect "the decision is recorded under the approver's name with the reason typed in" 0 \
    "approve|Ada Approver|pay rate checked with HR" -- sqlite3 "$db" "SELECT action, decided_by, reason FROM decisions"
expect "the deploy clicked on the versions page stored console-payroll's file as version 1" 0 \
    "console-payroll|1|deploy|deployed by Ada Admin" -- sqlite3 "$db" "SELECT scenario, number, origin, message FROM versions"
expect "the note typed in the browser is stored with the item, under the operator's name" 0 \
    "resolved|Otto Operator|pay rate corrected in the HRIS" \
    -- sqlite3 "$db" "SELECT state, done_by, note FROM queue_items WHERE queue = 'reconciliation' AND id = 1"
expect "a screenshot of each page" 0 "audit.png dashboard.png execution.png executions.png hold-phone.png hold.png holds.png incomplete.png queues.png versions.png" \
    -- bash -c "ls '$shots' | tr '\n' ' ' | sed 's/ \$//'"
kill -TERM $dpid
{ wait $dpid; } 2>/dev/null
rc=$?
dpid=
expect "the daemon stops cleanly" 0 "0" -- echo $rc
