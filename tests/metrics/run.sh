#!/usr/bin/env bash
# Metrics as an operator meets them: figures over a window (--since), the org's targets
# (seed 001) judged by `metrics --check`, the daemon telling the ops connection once when
# a target is breached and once when it recovers (on the test clock, the stub's journal),
# and the counters /metrics serves.
# usage: tests/metrics/run.sh SCENARIST STUB
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
cd "$(dirname "$0")/../.."
fx=tests/metrics/fixtures
suite=metrics
. tests/lib.sh
suite_tmp
unset SCENARIST_CLOCK

expect "bad targets: each problem at its file:line:col, with a caret" 2 "$(cat tests/metrics/bad/bad-targets.out)" \
    -- sh -c "cd tests/metrics/bad && '$bin' validate --org bad-targets.yaml ../fixtures/ats-hris-sync.yaml"

start_stub "$tmp/s" $fx/replies.json
stub_org $fx/org.yaml.in "$tmp/s"
org=$tmp/s/org.yaml
journal=$tmp/s/journal
mkdir -p "$tmp/h" && cp "$tmp/s/port" "$tmp/h/port" && stub_org $fx/org.yaml.in "$tmp/h"
healthy=$tmp/h/org.yaml

# run AT ORG SCENARIO INPUT: one manual execution at the test clock's AT.
run() {
    SCENARIST_CLOCK=test:$1 "$bin" run "$fx/$3.yaml" --input "$fx/$4.json" --org "$2" >/dev/null 2>&1
}
# A week ago one sync; this morning two payroll dispatches (one held: 50%) and an orphan.
run 2026-03-01T10:00:00Z "$org" ats-hris-sync match
run 2026-03-08T10:00:01Z "$org" payroll-dispatch match
run 2026-03-08T10:00:02Z "$org" payroll-dispatch mismatch
run 2026-03-08T10:00:03Z "$org" ats-hris-reconciliation match
# The healthy org: the same runs, the payroll record matching the offer, the orphan resolved.
run 2026-03-08T10:00:01Z "$healthy" payroll-dispatch match
run 2026-03-08T10:00:02Z "$healthy" ats-hris-sync match

export SCENARIST_CLOCK=test:2026-03-08T10:30:00Z
expect "metrics: all time" 0 "SCENARIO                     EXECUTIONS  FAILURES     RATE INCOMPLETE  HOLDS HOLD RATE
ats-hris-reconciliation               1         0     0.0%          0      0      0.0%
ats-hris-sync                         1         0     0.0%          0      0      0.0%
payroll-dispatch                      2         0     0.0%          0      1     50.0%
incomplete: 0 (0 waiting for a retry, 0 for a person)
holds pending: 1
queue ats-hris-reconciliation: 1 open, 1 of them from the last 7 days
targets: 3 declared in org metricstest (scenarist metrics --check)" -- "$bin" metrics --org "$org"
expect "metrics --since 1d: every figure over the window" 0 "since 2026-03-07T10:30:00.000Z (--since 1d)
SCENARIO                     EXECUTIONS  FAILURES     RATE INCOMPLETE  HOLDS HOLD RATE
ats-hris-reconciliation               1         0     0.0%          0      0      0.0%
payroll-dispatch                      2         0     0.0%          0      1     50.0%
incomplete: 0 (0 waiting for a retry, 0 for a person)
holds pending: 1
queue ats-hris-reconciliation: 1 open
targets: 3 declared in org metricstest (scenarist metrics --check)" -- "$bin" metrics --org "$org" --since 1d
expect "metrics --since an ISO time after the morning's runs: nothing" 0 "since 2026-03-08T10:00:03.001Z (--since 2026-03-08T10:00:03.001Z)
SCENARIO                     EXECUTIONS  FAILURES     RATE INCOMPLETE  HOLDS HOLD RATE
incomplete: 0 (0 waiting for a retry, 0 for a person)
holds pending: 0
targets: 3 declared in org metricstest (scenarist metrics --check)" -- "$bin" metrics --org "$org" --since 2026-03-08T10:00:03.001Z
expect "metrics --since in JSON" 0 '"2026-03-01T10:00:00.000Z" 1' -- sh -c \
    "'$bin' metrics --org '$org' --since 2026-03-01T10:00:00Z --json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(json.dumps(m[\"since\"]), m[\"scenarios\"][\"ats-hris-sync\"][\"executions\"])'"
expect "--since that is neither a time nor a duration" 2 \
    "scenarist: --since takes a time (2026-03-08T08:00:00Z) or a duration ago (24h)" \
    -- "$bin" metrics --org "$org" --since yesterday

expect "metrics --check flags the planted 50% hold rate and the open orphan" 1 \
"TARGET                   METRIC        SCOPE                            WINDOW     VALUE  WANT           RESULT
sync-failures            failure_rate  scenario ats-hris-sync           7d          0.0%  below 1%       ok
reconciliation-queue     queue_depth   queue ats-hris-reconciliation    now            1  at most 0      BREACHED
payroll-holds            hold_rate     scenario payroll-dispatch        1h         50.0%  below 2%       BREACHED
2 of 3 targets breached: reconciliation-queue, payroll-holds" -- "$bin" metrics --org "$org" --check
expect "metrics --check on a healthy store" 0 \
"TARGET                   METRIC        SCOPE                            WINDOW     VALUE  WANT           RESULT
sync-failures            failure_rate  scenario ats-hris-sync           7d          0.0%  below 1%       ok
reconciliation-queue     queue_depth   queue ats-hris-reconciliation    now            0  at most 0      ok
payroll-holds            hold_rate     scenario payroll-dispatch        1h          0.0%  below 2%       ok
all 3 targets met" -- "$bin" metrics --org "$healthy" --check
expect "metrics --check --since: every target over that window (queue_depth: open now)" 1 \
"since 2026-03-08T10:00:03.000Z (--since 2026-03-08T10:00:03.000Z)
TARGET                   METRIC        SCOPE                            WINDOW     VALUE  WANT           RESULT
sync-failures            failure_rate  scenario ats-hris-sync           --since     0.0%  below 1%       ok
reconciliation-queue     queue_depth   queue ats-hris-reconciliation    now            1  at most 0      BREACHED
payroll-holds            hold_rate     scenario payroll-dispatch        --since     0.0%  below 2%       ok
1 of 3 targets breached: reconciliation-queue" -- "$bin" metrics --org "$org" --check --since 2026-03-08T10:00:03.000Z
expect "queue_depth counts what is open now: the orphan opened 12 days ago still breaches" 1 \
"reconciliation-queue     queue_depth   queue ats-hris-reconciliation    now            1  at most 0      BREACHED" \
    -- sh -c "SCENARIST_CLOCK=test:2026-03-20T10:00:00Z '$bin' metrics --org '$org' --check | grep '^reconciliation-queue'; exit \$(SCENARIST_CLOCK=test:2026-03-20T10:00:00Z '$bin' metrics --org '$org' --check >/dev/null; echo \$?)"

# The daemon on the test clock from 10:00:05 to 11:30: payroll-holds (every 15m, window 1h)
# is breached at 10:15:05 (1 hold in 2 runs) and told once; checked again at 10:30:05 and
# 10:45:05, still breached, nothing is sent; at 11:00:05 the runs have left the window and
# it recovers: two messages. The queue's target is checked at 23:59 only, not in this span.
SCENARIST_CLOCK=test:2026-03-08T10:00:05Z "$bin" serve --org "$org" --listen 127.0.0.1:0 \
    --until 2026-03-08T11:30:00Z $fx/*.yaml 2>"$tmp/sim.log"
expect "the daemon tells the ops connection once per breach and once when it recovers" 0 \
'/ops/hooks/metrics/targets {"metric":"hold_rate","org":"metricstest","scope":"scenario payroll-dispatch","shown":"50.0%","state":"breached","target":"payroll-holds","text":"target payroll-holds breached: hold_rate 50.0% over 1h (scenario payroll-dispatch), wanted below 2%","threshold":0.02,"value":0.5,"want":"below 2%","window":"1h"}
/ops/hooks/metrics/targets {"metric":"hold_rate","org":"metricstest","scope":"scenario payroll-dispatch","shown":"0.0%","state":"recovered","target":"payroll-holds","text":"target payroll-holds recovered: hold_rate 0.0% over 1h (scenario payroll-dispatch), wanted below 2%","threshold":0.02,"value":0.0,"want":"below 2%","window":"1h"}' \
    -- python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["method"] == "POST": print(r["path"], json.dumps(r["body"], sort_keys=True, separators=(",", ":")))' "$journal"
expect "and logs both" 0 "info scenarist: target payroll-holds breached: hold_rate 50.0% over 1h (scenario payroll-dispatch), wanted below 2%
info scenarist: target payroll-holds recovered: hold_rate 0.0% over 1h (scenario payroll-dispatch), wanted below 2%" \
    -- sh -c "grep 'target ' '$tmp/sim.log' | cut -d' ' -f2-"
SCENARIST_CLOCK=test:2026-03-09T04:58:30Z "$bin" serve --org "$org" --listen 127.0.0.1:0 \
    --until 2026-03-09T04:59:30Z $fx/*.yaml 2>"$tmp/night.log"
expect "at 23:59 in Chicago the daemon finds the orphan still open: the queue's depth now, no window" 0 \
    "scenarist: target reconciliation-queue breached: queue_depth 1 now (queue ats-hris-reconciliation), wanted at most 0" \
    -- sh -c "grep 'target ' '$tmp/night.log' | cut -d' ' -f3-"
SCENARIST_CLOCK=test:2026-03-08T12:00:00Z "$bin" serve --org "$org" --listen 127.0.0.1:0 \
    --until 2026-03-08T12:00:01Z $fx/payroll-dispatch.yaml 2>"$tmp/one.log"
expect "a target whose scenario or queue no served scenario has is named at the start" 0 \
"scenarist: target sync-failures: no scenario served is named 'ats-hris-sync': its failure_rate stays 0 and the target is met whatever happens (a typo, or a scenario not deployed?)
scenarist: target reconciliation-queue: no scenario served pushes to queue 'ats-hris-reconciliation': its queue_depth stays 0 and the target is met whatever happens (a typo, or a scenario not deployed?)" \
    -- sh -c "grep 'target ' '$tmp/one.log' | cut -d' ' -f3-"

# /metrics: counters Prometheus can take rates of, after the runs above, a rejected hold
# (its execution then ends in error) and a resolved orphan.
"$bin" holds reject 1 -m "wrong rate" --org "$org" >/dev/null 2>&1
"$bin" queue resolve 1 --org "$org" >/dev/null 2>&1
"$bin" serve --org "$org" --listen 127.0.0.1:0 $fx/*.yaml 2>"$tmp/serve.log" &
dpid=$!
url=$(daemon_url "$tmp/serve.log")
expect "/metrics: executions, holds and queue items counted, by their labels" 0 \
'scenarist_executions_total{scenario="ats-hris-reconciliation",status="running"} 1
scenarist_executions_total{scenario="ats-hris-reconciliation",status="success"} 1
scenarist_executions_total{scenario="ats-hris-sync",status="running"} 1
scenarist_executions_total{scenario="ats-hris-sync",status="success"} 1
scenarist_executions_total{scenario="payroll-dispatch",status="error"} 1
scenarist_executions_total{scenario="payroll-dispatch",status="held"} 1
scenarist_executions_total{scenario="payroll-dispatch",status="running"} 2
scenarist_executions_total{scenario="payroll-dispatch",status="success"} 1
scenarist_queue_depth{priority="realtime"} 0
scenarist_queue_depth{priority="routine"} 0
scenarist_incomplete{state="pending"} 0
scenarist_incomplete{state="exhausted"} 0
scenarist_holds_pending 0
scenarist_work_queue_items{queue="ats-hris-reconciliation"} 0
scenarist_holds_created_total{scenario="payroll-dispatch"} 1
scenarist_holds_decided_total{decision="approved"} 0
scenarist_holds_decided_total{decision="rejected"} 1
scenarist_work_queue_items_opened_total{queue="ats-hris-reconciliation"} 1
scenarist_work_queue_items_closed_total{queue="ats-hris-reconciliation",state="resolved"} 1' \
    -- sh -c "curl -s '$url/metrics' | grep -E '^scenarist_(executions_total|queue_depth|incomplete|holds|work_queue)'"
kill -TERM $dpid
wait $dpid 2>/dev/null
dpid=
