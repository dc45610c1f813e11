# Sourced by tests/serve/run.sh: a poll that queues 150 executions at once, run by 4
# workers on the test clock. Each counts its item on a keyed queue (an UPDATE ... RETURNING
# outside a transaction) and writes back to the stub. Its write once gave back its write
# turn between its row and its end: the next writer waited for its lock while it waited
# for the turn, for 10 s, then "database is locked".
python3 - "$tmp/burst.json" <<'PY'
import json, sys
items = [{"id": "c%03d" % i, "course": "k%d" % (i % 4)} for i in range(150)]
json.dump([{"method": "GET", "path": "/lms/completions", "status": 200, "body": {"items": items}},
           {"method": "PUT", "path": "/hris/learning/*", "status": 200, "body": {"ok": True}}],
          open(sys.argv[1], "w"))
PY
stub burst "$tmp/burst.json"
export SCENARIST_CLOCK=test:2026-03-02T09:00:00Z
sim $fx/burst --until 2026-03-02T10:00:30Z --workers 4
expect "a burst of 150 polled executions on 4 workers: every one a success" 0 "success|150" \
    -- sql "SELECT status, count(*) FROM executions GROUP BY status"
expect "each wrote back once" 0 "150 150" \
    -- sh -c "echo \$(grep -c '\"method\":\"PUT\"' '$journal') \$(grep -o '\"path\":\"/hris/learning/c[0-9]*' '$journal' | sort -u | wc -l)"
expect "the keyed queue counted every sighting, each key once" 0 "k0|38|open k1|38|open k2|37|open k3|37|open" \
    -- sh -c "sqlite3 '$db' \"SELECT key, times_seen, state FROM queue_items ORDER BY key\" | tr '\n' ' ' | sed 's/ \$//'"
expect "every step recorded, each ok" 0 "ok|tally|150 ok|writeback|150" \
    -- sh -c "sqlite3 '$db' \"SELECT status, step, count(*) FROM step_runs GROUP BY 1, 2 ORDER BY 2\" | tr '\n' ' ' | sed 's/ \$//'"
expect "no store error in the log" 1 "" -- grep -iE "locked|busy|store failed" "$dir/log"
unset SCENARIST_CLOCK
