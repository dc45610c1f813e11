# Sourced by tests/serve/run.sh: links (webhook answers, sent_from, notifications) name the
# org's base_url, or without one the listener's real address (--listen 127.0.0.1:0).
stub links "$tmp/ok.json"
sed -i '/^base_url:/d' "$org"
serve $fx/links
port=${url##*:}
out=$(post /hooks/links '{"email":"ada@example.com"}')
id=$(sed 's/.*"execution":"\([^"]*\)".*/\1/' <<<"$out")
expect "without base_url the webhook answer links to the real port" 0 \
    "202 {\"execution\":\"$id\",\"status\":\"queued\",\"url\":\"http://127.0.0.1:$port/executions/$id\"}" -- echo "$out"
check "the execution runs to success" wait_sql "SELECT status FROM executions WHERE id = '$id'" success
expect_grep "sent_from names the real port" 0 \
    "\"sent_from\":\"http://127.0.0.1:$port/scenarios/links/versions/draft/steps/upsert\"" -- cat "$journal"
expect_grep "the notification's link too" 0 "http://127.0.0.1:$port/executions/$id" -- grep '/ops/hooks' "$journal"
expect "no link names port 8080" 1 "0" -- grep -c ":8080" "$journal"
# the log: a line per execution's end and per error, timestamp, level, execution id
fid=$(post /hooks/fails '{}' | sed 's/.*"execution":"\([^"]*\)".*/\1/')
check "the failing execution ends in error" wait_sql "SELECT status FROM executions WHERE id = '$fid'" error
stop
expect "the end of a successful execution is logged, with its time and id" 0 \
    "info scenarist: execution $id (links) ended success in N ms" \
    -- sh -c "grep 'execution $id' '$dir/log' | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z ' | cut -d' ' -f2- | sed 's/in [0-9]* ms/in N ms/'"
expect_grep "a failed one at level error" 0 \
    "error scenarist: execution $fid (fails) ended error in " -- cat "$dir/log"
expect "every line of the log has a timestamp and a level" 1 "" \
    -- sh -c "grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (info|warn|error) scenarist: ' '$dir/log'"
expect "--log-format takes text or json" 2 "scenarist: --log-format takes text or json" \
    -- "$bin" serve $fx/links --org "$org" --log-format xml
stub links2 "$tmp/ok.json"
sed -i 's|^base_url:.*|base_url: https://scenarist.example.com/acme|' "$org"
serve $fx/links --log-format json
out=$(post /hooks/links '{"email":"ada@example.com"}')
id=$(sed 's/.*"execution":"\([^"]*\)".*/\1/' <<<"$out")
expect "with base_url the answer links there" 0 \
    "202 {\"execution\":\"$id\",\"status\":\"queued\",\"url\":\"https://scenarist.example.com/acme/executions/$id\"}" -- echo "$out"
check "that execution runs to success" wait_sql "SELECT status FROM executions WHERE id = '$id'" success
expect_grep "and sent_from" 0 \
    '"sent_from":"https://scenarist.example.com/acme/scenarios/links/versions/draft/steps/upsert"' -- cat "$journal"
expect_grep "and the notification" 0 "https://scenarist.example.com/acme/executions/$id" -- grep '/ops/hooks' "$journal"
stop
expect "--log-format json: one object per line; the execution's end has its id and scenario" 0 \
    "info $id links execution $id (links) ended success in N ms" \
    -- python3 -c 'import json, re, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]), r
    if "execution" in r:
        print(r["level"], r["execution"], r["scenario"], re.sub(r"in \d+ ms", "in N ms", r["message"]))' "$dir/log"
expect "an error before the start, in JSON, on the test clock" 1 \
    "{\"time\":\"2026-03-08T08:00:00.000Z\",\"level\":\"error\",\"message\":\"--listen nowhere: give HOST:PORT\"}" \
    -- env SCENARIST_CLOCK=test:2026-03-08T08:00:00Z "$bin" serve $fx/links --org "$org" --listen nowhere --log-format json
