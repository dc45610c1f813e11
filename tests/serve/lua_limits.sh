# Sourced by tests/serve/run.sh: the daemon goes on answering while events of one
# scenario hit the Lua limits (a backtracking pattern, a finalizer, an endless loop, a
# backtracking dedupe_key at the intake, a 100 KB trim), and a transform's module-level
# state starts over in every execution.
stub lualimits "$tmp/ok.json"
mkdir -p "$dir/scn" "$dir/lua"
cp $fx/lua/scn/*.yaml $fx/hooks/lookup.yaml "$dir/scn/"
ln -s "$PWD/lua/prelude" "$dir/lua/prelude"
ln -s "$PWD/$fx/lua/transforms" "$dir/lua/transforms"
SCENARIST_LUA_DIR=$dir/lua serve "$dir/scn"
spaces=$(printf '%100000s' '')
for i in 1 2; do
    for kind in pattern gc loop intake; do
        post /hooks/hog "{\"id\": \"$kind-$i\", \"kind\": \"$kind\"}" > /dev/null
    done
done
post /hooks/hog "{\"id\": \"trim\", \"text\": \"x${spaces}y\"}" > /dev/null
expect "a webhook of another scenario is answered while the hog's events run" 0 \
    '200 {"employee":"E-7","ok":true}' -- post /hooks/lookup '{"employee_id": "E-7"}' --max-time 10
wait_sql "SELECT count(*) FROM executions WHERE status NOT IN ('queued', 'running')" 10
expect "each hog event ended: a limit error naming its budget, a refused finalizer, a linear trim" 0 \
"gc-1|error|runtime|{{ trigger.body.kind == 'pattern' and string.find(string.rep('a', 3000), '.-.-.-b') or trigger.body.kind == 'gc' and setmetatable({}, {__gc = function() while true do end end}) and 'x' or trigger.body.kind == 'loop' and (function() while true do end end)() or #trim(trigger.body.text or '') }}: setmetatable: a __gc finalizer is not allowed (it would run outside the sandbox's limits)
gc-2|error|runtime|
intake-1|success||
intake-2|success||
loop-1|error|limit|Lua instruction limit of 10000000 exceeded
loop-2|error|limit|Lua instruction limit of 10000000 exceeded
pattern-1|error|limit|Lua instruction limit of 10000000 exceeded
pattern-2|error|limit|Lua instruction limit of 10000000 exceeded
trim|success||" \
    -- sql "SELECT json_extract(CAST(e.trigger AS TEXT), '$.body.id'), e.status,
                  coalesce(json_extract(s.error, '$.kind'), ''),
                  CASE WHEN json_extract(s.error, '$.kind') = 'limit'
                       THEN substr(json_extract(s.error, '$.message'), instr(json_extract(s.error, '$.message'), '}}: ') + 4)
                       WHEN json_extract(CAST(e.trigger AS TEXT), '$.body.id') = 'gc-1'
                       THEN json_extract(s.error, '$.message') ELSE '' END
           FROM executions e JOIN step_runs s ON s.execution = e.id
           WHERE e.scenario = 'hog' ORDER BY 1"
expect_grep "a dedupe_key over its budget is logged; the event is kept" 0 \
    "scenarist: webhook /hooks/hog: dedupe_key: {{ trigger.body.id .. (trigger.body.kind == 'intake' and string.find(string.rep('a', 3000), '.-.-.-b') or '') }}: Lua instruction limit of 100000 exceeded; stored without a key" \
    -- cat "$dir/log"
for kind in intake step; do
    post /hooks/handler "{\"id\": \"$kind\", \"kind\": \"$kind\"}" > /dev/null
done
expect "after an xpcall handler that never returns, the intake still answers" 0 \
    '200 {"employee":"E-8","ok":true}' -- post /hooks/lookup '{"employee_id": "E-8"}' --max-time 10
wait_sql "SELECT count(*) FROM executions WHERE scenario = 'handler' AND status NOT IN ('queued', 'running')" 2
expect "an xpcall handler stops at the budget, at the intake and in a step" 0 "intake|success||
step|error|limit|Lua instruction limit of 10000000 exceeded" \
    -- sql "SELECT json_extract(CAST(e.trigger AS TEXT), '$.body.id'), e.status,
                  coalesce(json_extract(s.error, '$.kind'), ''),
                  coalesce(substr(json_extract(s.error, '$.message'), instr(json_extract(s.error, '$.message'), '}}: ') + 4), '')
           FROM executions e JOIN step_runs s ON s.execution = e.id
           WHERE e.scenario = 'handler' ORDER BY 1"
expect_grep "the handler's dedupe_key over its budget is logged; the event is kept" 0 \
    "scenarist: webhook /hooks/handler: dedupe_key: {{ trigger.body.id .. (trigger.body.kind == 'intake' and select(2, xpcall(error, function() while true do end end)) or '') }}: Lua instruction limit of 100000 exceeded; stored without a key" \
    -- cat "$dir/log"
expect "the trimmed 100 KB text keeps its inner spaces" 0 "100002" \
    -- sql "SELECT json_extract(s.output, '$.r') FROM executions e JOIN step_runs s ON s.execution = e.id
           WHERE json_extract(CAST(e.trigger AS TEXT), '$.body.id') = 'trim'"
expect "the daemon still says it is alive" 0 '200 {"status":"ok","org":"servetest","workers":4}' \
    -- req GET /healthz
stop
# One worker, so one Lua state runs the three executions one after the other.
SCENARIST_LUA_DIR=$dir/lua serve "$dir/scn" --workers 1
for i in 1 2 3; do post /hooks/count "{\"id\": \"c$i\"}" > /dev/null; done
wait_sql "SELECT count(*) FROM executions WHERE scenario = 'count' AND status = 'success'" 3
expect "a module-level counter reads 1 in every execution" 0 "c1|1|1
c2|1|1
c3|1|1" \
    -- sql "SELECT json_extract(CAST(e.trigger AS TEXT), '$.body.id'), json_extract(s.output, '$.calls'),
                  json_extract(s.output, '$.seen')
           FROM executions e JOIN step_runs s ON s.execution = e.id WHERE e.scenario = 'count' ORDER BY 1"
stop
