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
# a confidential scenario's answer goes to its caller and nowhere in the store
expect "instant: a confidential respond scenario answers its caller in full" 0 '200 {"ssn":"999-00-1234"}' \
    -- post /hooks/instant-secret '{"ssn": "999-00-1234"}'
check "instant: the confidential one ends" wait_sql "SELECT count(*) FROM executions WHERE scenario = 'instant-secret' AND status = 'success'" 1
expect "instant: its stored summary keeps the answer's status, not its body; nothing holds the number" 0 \
    '{"status":200,"content_type":"application/json","headers":{},"body":"[redacted: confidential scenario]"}|0' \
    -- sql "SELECT json_extract(summary, '\$.response'),
                   (SELECT count(*) FROM executions WHERE instr(coalesce(summary, '') || coalesce(trigger, ''), '999-00') > 0)
                   + (SELECT count(*) FROM step_runs WHERE instr(coalesce(output, '') || coalesce(error, ''), '999-00') > 0)
            FROM executions WHERE scenario = 'instant-secret'"
# started_at is when a worker took it, as a claim sets it, not when its row was written
# after the run: the row's span covers the run's duration
post /hooks/instant-loop '{}' >/dev/null
check "instant: the long step ends" wait_sql "SELECT count(*) FROM executions WHERE scenario = 'instant-loop' AND status = 'error'" 1
expect "instant: it started before it ran (finished_at - started_at >= duration_ms > 0)" 0 "1|1" \
    -- sql "SELECT finished_at - started_at >= duration_ms, duration_ms > 0 FROM executions WHERE scenario = 'instant-loop'"
stop

# load SIGNAL: 8 connections posting to instant-double and instant-answer, the daemon sent
# SIGNAL after 600 answers; $tmp/acked gets the ids answered 202 or 200 (the respond one
# carries its id in no body: its n is kept instead, as "n:N"), $tmp/hung the requests that
# got no answer at all within 30 s (a connection left suspended).
load() {
python3 - "$url" "$tmp/acked" "$dpid" "$1" "$tmp/hung" <<'PY' &
import http.client, json, os, signal, socket, sys, threading, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); pid = int(sys.argv[3]); sig = getattr(signal, "SIG" + sys.argv[4])
lock = threading.Lock(); acked = []; hung = [0]
def run(t):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    for i in range(400):
        n = t * 1000 + i
        hook = "/hooks/instant-answer" if i % 3 == 0 else "/hooks/instant-double"
        try:
            c.request("POST", hook, json.dumps({"n": n}), {"Content-Type": "application/json"})
            r = c.getresponse(); b = r.read()
        except socket.timeout:
            with lock:
                hung[0] += 1
            return
        except Exception:
            return
        if r.status in (200, 202):
            with lock:
                acked.append("n:%d" % n if r.status == 200 else json.loads(b)["execution"])
                if len(acked) == 600:
                    os.kill(pid, sig)
ts = [threading.Thread(target=run, args=(t,)) for t in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
open(sys.argv[2], "w").write("\n".join(acked) + "\n")
open(sys.argv[5], "w").write("%d\n" % hung[0])
PY
lpid=$!
wait $lpid
}
# answered(): every answered event is stored and ran to success: the 202s by id, the 200s by n
answered() {
    sqlite3 "$db" "SELECT id FROM executions WHERE status = 'success'
                   UNION ALL SELECT 'n:' || json_extract(trigger, '\$.body.n') FROM executions
                   WHERE status = 'success' AND scenario = 'instant-answer'" | sort > "$tmp/stored"
    sort "$tmp/acked" | comm -23 - "$tmp/stored"
}

# unanswered(): stored executions whose sender had no answer: neither a 202 with its id nor a
# 200 with its n (the answer lost at the stop, the event stored: its sender would resend it)
unanswered() {
    sqlite3 -separator ' ' "$db" "SELECT id, 'n:' || json_extract(trigger, '\$.body.n') FROM executions" |
        awk 'NR == FNR {a[$1] = 1; next} !($1 in a) && !($2 in a) {print $1}' "$tmp/acked" -
}

# SIGTERM under load: every request gets an answer (none left suspended), the daemon exits 0,
# every answered event is stored and ran to success, and every stored one was answered
rm -f "$db" "$db-wal" "$db-shm" # the load's events only
serve $fx/instant --workers 4
load TERM
{ wait $dpid; } 2>/dev/null
rc=$?
dpid=
expect "instant: SIGTERM under load: the daemon exits 0" 0 "0" -- echo "$rc"
expect "instant: SIGTERM under load: no request was left without an answer" 0 "0" -- cat "$tmp/hung"
# what the intake stored while stopping waits for the next start
serve $fx/instant --workers 4
check "instant: after SIGTERM, the next start runs what was stored" wait_sql "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')" 0
stop
expect "instant: SIGTERM under load: every answered event was stored and ran to success" 0 "" -- answered
expect "instant: SIGTERM under load: every stored event was answered before the stop" 0 "" -- unanswered
rm -f "$db" "$db-wal" "$db-shm"

# SIGTERM while an answer is still being sent (6 MB, more than the sockets buffer): the stop
# waits for it to go out before it closes the connections. The reader starts reading 0.2 s
# after the daemon said it stops: a stop that does not wait has cut the answer by then.
serve $fx/settle --workers 2
python3 - "$url" "$dpid" "$dir/log" > "$tmp/settle" <<'PY'
import os, signal, socket, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect((u.hostname, u.port))
s.sendall(b"POST /hooks/settle-big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
got = s.recv(65536) # the answer has begun
os.kill(int(sys.argv[2]), signal.SIGTERM)
while b"SIGTERM" not in open(sys.argv[3], "rb").read():
    time.sleep(0.01)
time.sleep(0.2)
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
head, _, body = got.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode(), len(body))
PY
stop
expect "instant: SIGTERM while an answer is being sent: it goes out whole" 0 "HTTP/1.1 200 OK 6000000" -- cat "$tmp/settle"
expect "instant: SIGTERM while an answer is being sent: the stop did not give up on it" 1 "0" -- grep -c "answers not sent" "$dir/log"
rm -f "$db" "$db-wal" "$db-shm"

# kill -9 under load: every event answered 202 is stored, and runs to success after a
# restart; no answered event is lost, none is run twice.
serve $fx/instant --workers 4
load KILL
{ wait $dpid; } 2>/dev/null
dpid=
acked=$(wc -l < "$tmp/acked")
check "instant: the load saw at least 600 answers before the kill" test "$acked" -ge 600
serve $fx/instant --workers 4
check "instant: after the restart every execution ends" wait_sql "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')" 0
stop
expect "instant: every answered event was stored and ran to success" 0 "" -- answered
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

# an id another process took already (on the test clock ids are counters, one per process):
# the event is stored under another id by the intake and answered with it, nothing lost
stub instant-ids "$tmp/ok.json"
export SCENARIST_CLOCK=test:2026-03-09T10:00:00Z
echo '{"n": 1}' > "$tmp/one.json"
"$bin" run $fx/instant/double.yaml --input "$tmp/one.json" --org "$org" >/dev/null 2>&1
serve $fx/instant --workers 2
expect "instant: an event whose id was taken by another process is answered with another id" 0 \
    '202 20260309-100000-000002' \
    -- sh -c "$(declare -f post); url=$url tmp=$tmp post /hooks/instant-double '{\"n\": 2}' | sed 's/{\"execution\":\"\([^\"]*\)\".*/\1/'"
check "instant: both end" wait_sql "SELECT count(*) FROM executions WHERE status = 'success'" 2
stop
expect "instant: both stored, each once, each its own" 0 "20260309-100000-000001|1 20260309-100000-000002|2" \
    -- sh -c "sqlite3 '$db' \"SELECT id, json_extract(trigger, '\\\$.body.n') FROM executions ORDER BY id\" | tr '\n' ' ' | sed 's/ \$//'"
unset SCENARIST_CLOCK
