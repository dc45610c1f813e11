# Work queues that converge (sourced by tests/store/run.sh): a nightly reconciliation over
# a fixed data set with 5 drifts pushes each by its key and sweeps what it did not see, so
# three nights leave 5 open items (not 15), each seen 3 times; after 2 drifts are fixed
# the 4th night leaves 3 open and closes 2 with the resolution; with no drift left, the
# 5th closes the rest. The test clock gives each night its own time and execution.
start converge "$fx/writes-replies.json"
night() { # night DATE INPUT: one run of the reconciliation, its message
    SCENARIST_CLOCK=test:${1}T02:00:00Z "$bin" run "$fx/nightly-drift.yaml" --input "$fx/$2" \
        --org "$org" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], [s["output"]["text"] for s in d["steps"] if s["step"] == "message"][0])'
}
for n in 1 2 3; do
    expect "night $n: 5 drifts, queue length 5" 0 \
        "success learner drift: 5 seen, 0 resolved, queue length 5" -- night 2026-03-0$((n + 1)) nightly-drift.json
done
expect "after three nights the queue holds one item per drift" 0 "learner-drift               5 open (5 in the last 7 days)" \
    -- env SCENARIST_CLOCK=test:2026-03-04T08:00:00Z "$bin" queue list --org "$org"
expect "each item was seen three times, its body the last night's" 0 \
"1     2026-03-02T02:00:00.000Z  only-left:E-2  seen 3 times, last 2026-03-04T02:00:00.000Z  {\"kind\":\"only-left\",\"key\":\"E-2\",\"left\":{\"email\":\"p2@example.com\",\"title\":\"Engineer\"},\"counts\":{\"left\":10,\"right\":9,\"same\":6,\"changed\":2,\"only_left\":2,\"only_right\":1,\"duplicate\":0}}
2     2026-03-02T02:00:00.000Z  only-left:E-3  seen 3 times, last 2026-03-04T02:00:00.000Z  {\"kind\":\"only-left\",\"key\":\"E-3\",\"left\":{\"email\":\"p3@example.com\",\"title\":\"Engineer\"},\"counts\":{\"left\":10,\"right\":9,\"same\":6,\"changed\":2,\"only_left\":2,\"only_right\":1,\"duplicate\":0}}
3     2026-03-02T02:00:00.000Z  changed:E-4  seen 3 times, last 2026-03-04T02:00:00.000Z  {\"kind\":\"changed\",\"key\":\"E-4\",\"left\":{\"email\":\"p4@example.com\",\"title\":\"Engineer\"},\"right\":{\"email\":\"old4@example.com\",\"title\":\"Engineer\"},\"diff\":[{\"field\":\"email\",\"left\":\"p4@example.com\",\"right\":\"old4@example.com\",\"rule\":\"ci\"}],\"counts\":{\"left\":10,\"right\":9,\"same\":6,\"changed\":2,\"only_left\":2,\"only_right\":1,\"duplicate\":0}}
4     2026-03-02T02:00:00.000Z  changed:E-5  seen 3 times, last 2026-03-04T02:00:00.000Z  {\"kind\":\"changed\",\"key\":\"E-5\",\"left\":{\"email\":\"p5@example.com\",\"title\":\"Engineer\"},\"right\":{\"email\":\"P5@Example.com\",\"title\":\"Junior Engineer\"},\"diff\":[{\"field\":\"title\",\"left\":\"Engineer\",\"right\":\"Junior Engineer\",\"rule\":\"exact\"}],\"counts\":{\"left\":10,\"right\":9,\"same\":6,\"changed\":2,\"only_left\":2,\"only_right\":1,\"duplicate\":0}}
5     2026-03-02T02:00:00.000Z  only-right:X-1  seen 3 times, last 2026-03-04T02:00:00.000Z  {\"kind\":\"only-right\",\"key\":\"X-1\",\"right\":{\"email\":\"gone@example.com\",\"title\":\"Intern\"},\"counts\":{\"left\":10,\"right\":9,\"same\":6,\"changed\":2,\"only_left\":2,\"only_right\":1,\"duplicate\":0}}" \
    -- "$bin" queue list learner-drift --org "$org"
expect "night 4, E-2's learner made and E-5's title fixed: 3 open, 2 resolved" 0 \
    "success learner drift: 3 seen, 2 resolved, queue length 3" -- night 2026-03-05 nightly-drift-fixed.json
expect "the two fixed drifts are closed by the sweep with the resolution" 0 \
"1|only-left:E-2|resolved|3|2026-03-04T02:00:00Z|queue.sweep of execution 20260305-020000-000001|resolved: the drift is gone (a full reconciliation no longer finds it)
2|only-left:E-3|open|4|2026-03-05T02:00:00Z||
3|changed:E-4|open|4|2026-03-05T02:00:00Z||
4|changed:E-5|resolved|3|2026-03-04T02:00:00Z|queue.sweep of execution 20260305-020000-000001|resolved: the drift is gone (a full reconciliation no longer finds it)
5|only-right:X-1|open|4|2026-03-05T02:00:00Z||" \
    -- sqlite3 "$db" "SELECT id, key, state, times_seen, strftime('%Y-%m-%dT%H:%M:%SZ', last_seen / 1000, 'unixepoch'), done_by, resolution FROM queue_items ORDER BY id"
expect "an item a person resolved is not reopened by the sweep, nor counted open" 0 "queue item 2 resolved by tester" \
    -- "$bin" queue resolve 2 --org "$org"
expect "night 5, no drift left: the sweep (after the aggregate of no bundle) closes the rest" 0 \
    "success learner drift: 0 seen, 2 resolved, queue length 0" -- night 2026-03-06 nightly-drift-none.json
expect "no item is open, none was added after night 1" 0 "0|5" \
    -- sqlite3 "$db" "SELECT sum(state = 'open'), count(*) FROM queue_items"
