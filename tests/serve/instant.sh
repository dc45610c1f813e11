# Sourced by tests/serve/run.sh: the instant path. A webhook whose scenario has only local
# steps (and no dedupe key) is run by a worker before it is stored, the event and its
# execution written in one commit, synced, then answered. What a user sees must be what
# the intake's path gives: the same rows, the same counters, the same answers; nothing
# answered is lost to a kill -9; an event no worker can take goes the intake's way.
stub instant "$tmp/ok.json"
serve $fx/instant --workers 2
expect "instant: a respond scenario answers with its result" 0 '200 {"n":42}' \
    -- post /hooks/instant-answer '{"n": 21}'
first=$(post /hooks/instant-double '{"n": 5}' | sed 's/.*"execution":"\([^"]*\)".*/\1/')
# the same event with a webhook-id goes the intake's path (a dedupe key is the intake's)
second=$(post /hooks/instant-double '{"n": 5}' -H 'webhook-id: msg-1' | sed 's/.*"execution":"\([^"]*\)".*/\1/')
expect "instant: the 202 is the intake's, {execution, status, url}" 0 \
    "202 {\"execution\":\"X\",\"status\":\"queued\",\"url\":\"http://127.0.0.1:8080/executions/X\"}" \
    -- sh -c "$(declare -f post); url=$url tmp=$tmp post /hooks/instant-double '{\"n\": 1}' | sed 's/[0-9]\{8\}-[0-9]\{6\}-[0-9a-f]\{12\}/X/g'"
check "instant: every execution ends" wait_sql "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')" 0
row() { # the execution's row and steps, without its id and times
    sql "SELECT e.status, e.attempts, e.version, e.confidential, e.owner IS NULL,
                e.lease_until IS NULL, e.finished_at >= e.started_at, e.started_at >= e.queued_at,
                replace(e.summary, e.id, 'ID'), json_extract(e.trigger, '\$.body'), s.step, s.module, s.status, s.attempt,
                s.output, s.error
         FROM executions e JOIN step_runs s ON s.execution = e.id WHERE e.id = '$1'"
}
expect "instant: its row and its step as the intake's path writes them" 0 "$(row "$second")" -- row "$first"
expect "instant: the row of the instant path" 0 \
    'success|1|draft|0|1|1|1|1|{"url":"http://127.0.0.1:8080/executions/ID"}|{"n":5}|double|set|ok|1|{"n":10}|' -- row "$first"
expect "instant: counters as on the intake's path (each event queued, running, then its end)" 0 \
    "instant-answer|queued|1 instant-answer|running|1 instant-answer|success|1 instant-double|queued|3 instant-double|running|3 instant-double|success|3" \
    -- sh -c "sqlite3 '$db' \"SELECT l1, l2, value FROM counters WHERE name = 'executions' ORDER BY 1, 2\" | tr '\n' ' ' | sed 's/ \$//'"
expect "instant: a failing local step is an error, recorded as on the intake's path" 0 "202" \
    -- sh -c "$(declare -f post); url=$url tmp=$tmp post /hooks/instant-fail '{\"n\": 1}' | cut -c1-3"
check "instant: the failure ends" wait_sql "SELECT count(*) FROM executions WHERE scenario = 'instant-fail' AND status = 'error'" 1
expect "instant: its step says why" 0 "broken|error" \
    -- sql "SELECT step, status FROM step_runs WHERE execution IN (SELECT id FROM executions WHERE scenario = 'instant-fail')"
expect "instant: /metrics counts each accepted webhook" 0 "scenarist_webhooks_accepted_total 5" \
    -- sh -c "curl -s '$url/metrics' | grep '^scenarist_webhooks_accepted_total'"
stop

# kill -9 under load: every event answered 202 is stored, and runs to success after a
# restart; no answered event is lost, none is run twice.
serve $fx/instant --workers 4
python3 - "$url" "$tmp/acked" "$dpid" <<'PY' &
import http.client, json, os, signal, sys, threading, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); out = open(sys.argv[2], "w"); pid = int(sys.argv[3])
lock = threading.Lock(); acked = []
def run(t):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    for i in range(400):
        try:
            c.request("POST", "/hooks/instant-double", json.dumps({"n": t * 1000 + i}),
                      {"Content-Type": "application/json"})
            r = c.getresponse(); b = r.read()
        except Exception:
            return
        if r.status == 202:
            with lock:
                acked.append(json.loads(b)["execution"])
                if len(acked) == 600:
                    os.kill(pid, signal.SIGKILL)
ts = [threading.Thread(target=run, args=(t,)) for t in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
out.write("\n".join(acked) + "\n"); out.close()
PY
lpid=$!
wait $lpid
{ wait $dpid; } 2>/dev/null
dpid=
acked=$(wc -l < "$tmp/acked")
check "instant: the load saw at least 600 answers before the kill" test "$acked" -ge 600
serve $fx/instant --workers 4
check "instant: after the restart every execution ends" wait_sql "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')" 0
stop
sqlite3 "$db" "SELECT id FROM executions WHERE status = 'success'" | sort > "$tmp/stored"
expect "instant: every answered event was stored and ran to success" 0 "" \
    -- sh -c "sort '$tmp/acked' | comm -23 - '$tmp/stored'"
expect "instant: each stored once, each with one step run" 0 "0" \
    -- sql "SELECT count(*) FROM (SELECT e.id FROM executions e LEFT JOIN step_runs s ON s.execution = e.id
                                  WHERE e.scenario = 'instant-double' GROUP BY e.id HAVING count(s.id) <> 1)"

# an event no worker can take (the one worker holds a read the stub keeps) goes the
# intake's way: stored and answered meanwhile, run once the worker is free
python3 - "$tmp/held.json" <<'PY'
import json, sys
json.dump([{"method": "GET", "path": "/hris/employees/held", "status": 200, "gather": 2,
            "body": {"name": "held"}}], open(sys.argv[1], "w"))
PY
stub instant-slow "$tmp/held.json"
serve $fx/instant-slow --workers 1
post /hooks/instant-slow '{}' >/dev/null
wait_journal "$journal" '"path":"/hris/employees/held"'
expect "instant: with the worker busy, the event is answered 202" 0 "202" \
    -- sh -c "$(declare -f post); url=$url tmp=$tmp post /hooks/instant-double '{\"n\": 7}' | cut -c1-3"
expect "instant: answered while the read was still held (the stub had not released it)" 0 "0" \
    -- sh -c "grep -c released '$journal' || true"
check "instant: it runs once the worker is free" wait_sql "SELECT count(*) FROM executions WHERE scenario = 'instant-double' AND status = 'success'" 1
stop
expect "instant: the intake stored it (queued) and a worker ran it (its step once)" 0 "success|1|{\"n\":14}" \
    -- sql "SELECT e.status, count(s.id), s.output FROM executions e JOIN step_runs s ON s.execution = e.id WHERE e.scenario = 'instant-double'"
