# Sourced by tests/serve/run.sh: reads in flight side by side on one worker. The stub holds
# every answer of its "gather" replies until 8 are open at once (tests/stub), so the journal
# says how many GETs the worker had in flight together; no timing is asserted.
python3 - "$tmp/inflight.json" "$tmp/inflight5.json" <<'PY'
import json, sys
r = [{"method": "GET", "path": "/hris/employees/E-%d" % i, "status": 200, "gather": 8,
      "body": {"name": "Name of E-%d" % i}} for i in range(1, 9)]
r += [{"method": "GET", "path": "/hris/employees/E-0", "status": 200, "body": {"name": "Name of E-0"}}]
r += [{"method": "GET", "path": "/hris/employees/E-500", "status": 500, "body": {"error": "down"}},
      {"method": "GET", "path": "/hris/employees/E-drop", "drop": True}]
json.dump(r, open(sys.argv[1], "w"))
for x in r:
    x["gather"] = 5 if "gather" in x else 0
json.dump(r, open(sys.argv[2], "w"))
PY
# inflight_org: the stub's org plus a connection whose port ($gone) refuses connections
inflight_org() {
    gone=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    sed -i "s|^connections:|connections:\n  gone: { base_url: \"http://127.0.0.1:$gone/hris\" }|" "$org"
}
# inflight_queue: the events queued by a daemon with no workers, so one worker claims them together
inflight_queue() {
    serve $fx/inflight --workers 0
    for i in "$@"; do
        case $i in
        gone) post /hooks/inflight-gone '{"employee_id":"E-9"}' >/dev/null ;;
        *) post /hooks/inflight "{\"employee_id\":\"$i\"}" >/dev/null ;;
        esac
    done
    stop
}
inflight_names() { # each success's name step: its own employee's answer
    sql "SELECT count(*) FROM executions e JOIN step_runs s ON s.execution = e.id AND s.step = 'name'
         WHERE e.status = 'success' AND json_extract(s.output, '\$.who') = json_extract(e.trigger, '\$.body.employee_id')
           AND json_extract(s.output, '\$.name') = 'Name of ' || json_extract(e.trigger, '\$.body.employee_id')"
}

# A worker loads a scenario the first time an event needs it, after claiming that event
# alone: the first two (one per scenario) run on their own, the other 10 in one batch.
stub inflight "$tmp/inflight.json"
inflight_org
inflight_queue gone E-0 E-1 E-2 E-3 E-500 E-4 E-5 E-6 E-drop E-7 E-8
serve $fx/inflight --workers 1
check "one worker runs the 12 queued reads" wait_sql "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')" 0
stop
expect "one worker had the 8 held GETs in flight at once (the stub answered each when 8 were open)" 0 \
    "8 8" -- sh -c "echo \$(grep -c '\"open_at_once\":8' '$journal') \$(grep -c '\"path\":\"/hris/employees/E-[1-8]\"' '$journal')"
expect "each of the 9 ended success with its own employee's answer and its own trigger" 0 "9" -- inflight_names
expect "the 500, the dropped connection and the refused one alone ended in error, each its own" 0 \
    "E-500|error|employee|server|HTTP 500: {\"error\":\"down\"}
E-9|error|employee|connection|Failed to connect to 127.0.0.1 port $gone: Couldn't connect to server
E-drop|error|employee|connection|Empty reply from server" \
    -- sql "SELECT json_extract(e.trigger, '\$.body.employee_id'), e.status, s.step, json_extract(s.error, '\$.kind'),
                   substr(json_extract(s.error, '\$.message'), instr(json_extract(s.error, '\$.message'), ': ') + 2)
            FROM executions e JOIN step_runs s ON s.execution = e.id WHERE e.status = 'error' ORDER BY 1"
expect "every step recorded once: 9 name steps, 12 reads" 0 "employee|12 name|9" \
    -- sh -c "sqlite3 '$db' \"SELECT step, count(*) FROM step_runs GROUP BY step ORDER BY step\" | tr '\n' ' ' | sed 's/ \$//'"

# kill -9 with the reads in flight: the worker holds 4 GETs the stub keeps (it waits for 5
# open at once); the next start resumes the 4 (one after another, as a start resumes) and
# the first of their new GETs makes the 5 (E-0 first, alone, has the worker load the scenario)
inflight_arrived() { # N: until N GETs of employees reached the stub
    for _ in $(seq 3000); do [ "$(grep -c '"path":"/hris/employees/' "$journal")" = "$1" ] && return 0; sleep 0.02; done
    return 1
}
stub inflightk "$tmp/inflight5.json"
inflight_org
inflight_queue E-0 E-1 E-2 E-3 E-4
serve $fx/inflight --workers 1
check "the 4 GETs reach the stub together" inflight_arrived 5
stop KILL
expect "kill -9 with 4 reads in flight: all 4 claimed (running), none of their steps written" 0 "running|4|0
success|1|2" \
    -- sql "SELECT status, count(*), (SELECT count(*) FROM step_runs s JOIN executions x ON x.id = s.execution
                                       WHERE x.status = e.status) FROM executions e GROUP BY status"
serve $fx/inflight --workers 1
check "on start the 4 are resumed and end" wait_sql "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')" 0
stop
expect "each read again once (8 GETs, each answered once 5 were open), each a success with its own employee" 0 "8 8 5" \
    -- echo "$(grep -c '"path":"/hris/employees/E-[1-4]"' "$journal") $(grep -c '"open_at_once":5' "$journal") $(inflight_names)"
expect "every step recorded once" 0 "employee|5 name|5" \
    -- sh -c "sqlite3 '$db' \"SELECT step, count(*) FROM step_runs GROUP BY step ORDER BY step\" | tr '\n' ' ' | sed 's/ \$//'"

# A scenario with a data store step (SC_M_SHARED) never interleaves: each of its executions
# reads the counter, waits on its GET, writes the counter + 1, one after another (side by
# side, two would read the same value and one update would be lost). The stub's gather of 1
# answers at once and journals the most GETs it ever had open at once: 1.
cat > "$tmp/inflight1.json" <<'J'
[{"method": "GET", "path": "/hris/employees/*", "status": 200, "gather": 1, "body": {"name": "Ada"}}]
J
stub inflights "$tmp/inflight1.json"
serve $fx/inflight-shared --workers 0
for i in 1 2 3 4 5 6; do post /hooks/count "{\"employee_id\":\"E-$i\"}" >/dev/null; done
stop
serve $fx/inflight-shared --workers 1
check "one worker runs the 6 queued counts" wait_sql "SELECT count(*) FROM executions WHERE status = 'success'" 6
stop
expect "one after another: one GET open at a time, the counter at 6 (no update lost)" 0 "6 6 6" \
    -- echo "$(grep -c '"open_at_once":1' "$journal") $(grep -c '"path":"/hris/employees/E-' "$journal") $(sql "SELECT value FROM datastore WHERE store = 'tally' AND key = 'seen'")"
