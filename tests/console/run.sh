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
export CONSOLE_APPROVER=approver-token-0123456789 CONSOLE_VIEWER=viewer-token-0123456789
export SCENARIST_CLOCK=test:2026-03-09T10:00:00Z
echo '[{"method": "POST", "path": "/hris/dispatch", "status": 201, "body": {"ok": true}}]' > "$tmp/replies.json"
stub_dir d "$tmp/replies.json" tests/serve/fixtures/org.yaml.in
cat >> "$org" <<EOF
users:
  - { name: Ada Approver, role: approver, token: env:CONSOLE_APPROVER }
  - { name: Vera Viewer, role: viewer, token: env:CONSOLE_VIEWER }
targets:
  sync-failures: { metric: failure_rate, below: 1% }
  payroll-holds: { metric: hold_rate, scenario: console-payroll, below: 2% }
  reconciliation-queue: { metric: queue_depth, at_most: 0 }
EOF
echo '{"id":"E-1","hris":{"pay_rate":52000,"start_date":"2026-04-01"},"offer":{"pay_rate":55000,"start_date":"2026-04-01"}}' > "$tmp/in.json"
"$bin" run tests/console/fixtures/payroll.yaml --input "$tmp/in.json" --org "$org" >/dev/null 2>&1
"$bin" serve tests/console/fixtures --org "$org" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 2>"$dir/log" &
dpid=$!
url=$(daemon_url "$dir/log")
for _ in $(seq 500); do grep -q 'admin API on' "$dir/log" && break; sleep 0.02; done
root=$(grep -o 'admin API on http://127.0.0.1:[0-9]*' "$dir/log" | sed 's/admin API on //')
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data '{"id":"W-1"}' "$url/hooks/console"
for _ in $(seq 500); do [ -n "$(sqlite3 "$db" "SELECT id FROM executions WHERE scenario = 'console-hook'")" ] && break; sleep 0.02; done
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
viewer signed in as: Vera Viewer (viewer)
viewer sees approve button: False
viewer API approve: 403" -- timeout 60 /usr/bin/python3 tests/console/browser.py "$root" "$CONSOLE_APPROVER" "$CONSOLE_VIEWER" 1 "$hook" "$shots"
expect "the daemon ran the approved payroll write: the stub's journal has it" 0 \
    '{"id":"E-1","pay_rate":55000}' -- bash -c "for _ in \$(seq 500); do grep -q /hris/dispatch '$dir/journal' && break; sleep 0.02; done; grep /hris/dispatch '$dir/journal' | jq -c '.body | del(.sent_from, .sent_to)'"
expect "the decision is recorded under the approver's name with the reason typed in" 0 \
    "approve|Ada Approver|pay rate checked with HR" -- sqlite3 "$db" "SELECT action, decided_by, reason FROM decisions"
expect "a screenshot of each page" 0 "dashboard.png execution.png executions.png hold-phone.png hold.png holds.png incomplete.png queues.png versions.png" \
    -- bash -c "ls '$shots' | tr '\n' ' ' | sed 's/ \$//'"
kill -TERM $dpid
{ wait $dpid; } 2>/dev/null
rc=$?
dpid=
expect "the daemon stops cleanly" 0 "0" -- echo $rc
