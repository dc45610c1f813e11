#!/usr/bin/env bash
# A nightly reconciliation at volume: 2,500 generated employees against their learners,
# both lists read page by page from the sandbox through `reconcile`, three nights on the
# test clock: each finds exactly the planted HRIS-LMS drift, and the learner-drift queue
# holds one open item per drift every night (not one per drift per night).
# usage: tests/sandbox/reconcile.sh SANDBOX SCENARIST
set -u
sandbox=$(realpath "$1")
bin=$(realpath "$2")
cd "$(dirname "$0")/../.."
suite=sandbox
. tests/lib.sh
suite_tmp sbpid
py3=/usr/bin/python3
[ -x "$py3" ] || py3=$(command -v python3)
export RECON_TOKEN=recon-token
echo "{}" > "$tmp/none.json"

start_sandbox "$tmp/port" "$tmp/log" --employees 2500 --seed 3
u=$sb
cat > "$tmp/org.yaml" <<ORG
name: volume
base_url: http://127.0.0.1:8080
store: $tmp/store/scenarist.db
connections:
  hris: { base_url: $u/hris, access: read-only, auth: { kind: bearer, secret: env:RECON_TOKEN } }
  lms: { base_url: $u/lms, access: read-only, auth: { kind: bearer, secret: env:RECON_TOKEN } }
ORG
curl -s "$u/_sandbox/data?table=planted" > "$tmp/planted.json"
for n in 1 2 3; do
    expect_grep "night $n: the reconciliation over 2,500 employees succeeds" 0 \
        "learner drift: queue length 353" -- env SCENARIST_CLOCK=test:2026-03-0${n}T02:00:00Z \
        "$bin" run tests/sandbox/learner-drift.yaml --input "$tmp/none.json" --org "$tmp/org.yaml"
    expect "night $n: the open items are exactly the planted drift" 0 "found 353 planted 353 same" \
        -- "$py3" tests/sandbox/queue_drift.py "$tmp/store/scenarist.db" "$tmp/planted.json"
done
expect "three nights made one item per drift, each seen 3 times" 0 "353|353|3|3" \
    -- sqlite3 "$tmp/store/scenarist.db" "SELECT count(*), sum(state = 'open'), min(times_seen), max(times_seen) FROM queue_items"
count() { curl -s "$u/_sandbox/journal?method=GET&system=$1" | "$py3" -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }
expect "every page of both lists read each night, each once: 24 pages of 2,375 active employees and 25 of 2,455 learners, 3 times" \
    0 "72 75" -- echo "$(count hris) $(count lms)"
