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
stop
stub links2 "$tmp/ok.json"
sed -i 's|^base_url:.*|base_url: https://scenarist.example.com/acme|' "$org"
serve $fx/links
out=$(post /hooks/links '{"email":"ada@example.com"}')
id=$(sed 's/.*"execution":"\([^"]*\)".*/\1/' <<<"$out")
expect "with base_url the answer links there" 0 \
    "202 {\"execution\":\"$id\",\"status\":\"queued\",\"url\":\"https://scenarist.example.com/acme/executions/$id\"}" -- echo "$out"
check "that execution runs to success" wait_sql "SELECT status FROM executions WHERE id = '$id'" success
expect_grep "and sent_from" 0 \
    '"sent_from":"https://scenarist.example.com/acme/scenarios/links/versions/draft/steps/upsert"' -- cat "$journal"
expect_grep "and the notification" 0 "https://scenarist.example.com/acme/executions/$id" -- grep '/ops/hooks' "$journal"
stop
