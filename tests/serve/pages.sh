# Sourced by tests/serve/run.sh: a poll that follows pages (http.request's paginate:) on
# the test clock. 150 completions over two pages of 100 write 150, each once; a poll whose
# page 2 fails (after its retry) is an error execution that queues nothing and keeps the
# watermark, so the next poll reads the same window again and writes all 150.

# completions_page FROM TO NEXT: a page body with completions cFROM..cTO and next_cursor NEXT.
completions_page() {
    python3 -c 'import json, sys
a, b, nxt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print(json.dumps({"items": [{"id": "c%03d" % i, "course": "course-%d" % (i % 7)} for i in range(a, b + 1)],
                  "next_cursor": nxt or None}))' "$@"
}
pages_replies() { # FAILS: how many times page 2 answers 500 first
    cat <<EOR
[{"method": "GET", "path": "/lms/completions", "query": {"cursor": "after-c100"}, "status": 500, "times": $1, "body": {"error": "shard 2 unavailable"}},
 {"method": "GET", "path": "/lms/completions", "query": {"cursor": "after-c100"}, "body": $(completions_page 101 150 "")},
 {"method": "GET", "path": "/lms/completions", "body": $(completions_page 1 100 after-c100)},
 {"method": "PUT", "path": "/hris/learning/*", "status": 200, "body": {"ok": true}},
 {"method": "POST", "path": "/ops/*", "status": 200, "body": {"ok": true}}]
EOR
}
# the GETs the stub received, one "since cursor limit" line each
poll_gets() {
    python3 -c 'import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["method"] == "GET":
        q = e["query"]
        print(q.get("since"), q.get("cursor", "-"), q.get("limit"))' "$journal"
}
written() { # the distinct completions PUT, and the PUTs in all
    echo "$(grep '"method":"PUT"' "$journal" | grep -o '/hris/learning/c[0-9]*' | sort -u | wc -l) $(grep -c '"method":"PUT"' "$journal")"
}

pages_replies 0 > "$tmp/pollpages.json"
stub pollpages "$tmp/pollpages.json"
export SCENARIST_CLOCK=test:2026-03-02T09:00:00Z
sim $fx/pollpages --until 2026-03-02T10:30:00Z --workers 2
expect "a poll follows the cursor: page 1, then page 2 with its cursor, each with the page size" 0 \
    "2026-03-02T08:30:00.000Z - 100
2026-03-02T08:30:00.000Z after-c100 100" -- poll_gets
expect "150 completions over 2 pages: 150 written, each once" 0 "150 150" -- written
expect "the store: 150 successful executions, 150 keys seen, the watermark at the poll's time" 0 \
    "150|150|0|2026-03-02T10:00:00" \
    -- sql "SELECT (SELECT count(*) FROM executions WHERE status = 'success'),
                   (SELECT count(DISTINCT key) FROM poll_seen),
                   (SELECT count(*) FROM executions WHERE status != 'success'),
                   (SELECT strftime('%Y-%m-%dT%H:%M:%S', watermark / 1000, 'unixepoch') FROM trigger_state)"

pages_replies 2 > "$tmp/pollfail.json"
stub pollfail "$tmp/pollfail.json"
export SCENARIST_CLOCK=test:2026-03-02T09:00:00Z
sim $fx/pollpages --until 2026-03-02T10:30:00Z --workers 2
expect "page 2 answers 500, is sent again 10 s later, answers 500 again" 0 \
    "2026-03-02T08:30:00.000Z - 100
2026-03-02T08:30:00.000Z after-c100 100
2026-03-02T08:30:00.000Z after-c100 100" -- poll_gets
expect "nothing of page 1 is written when page 2 cannot be read" 0 "0 0" -- written
expect "the store: one error execution at 10:00:10 (after the 10 s retry interval) naming the page, no key seen, the watermark where the poll asked from" 0 \
    "error|2026-03-02T10:00:10|paginate: page 2: GET http://127.0.0.1:$(cat "$dir/port")/lms/completions?since=2026-03-02T08%3A30%3A00.000Z&cursor=after-c100&limit=100: HTTP 500: {\"error\":\"shard 2 unavailable\"} (sent 2 times)
0|2026-03-02T08:30:00" \
    -- sql "SELECT status, strftime('%Y-%m-%dT%H:%M:%S', started_at / 1000, 'unixepoch'),
                   json_extract(summary, '\$.error.message') FROM executions;
            SELECT (SELECT count(*) FROM poll_seen),
                   (SELECT strftime('%Y-%m-%dT%H:%M:%S', watermark / 1000, 'unixepoch') FROM trigger_state)"
expect_grep "the log names it" 0 "poll:0 of completion-pages failed: paginate: page 2: GET" -- cat "$dir/log"
export SCENARIST_CLOCK=test:2026-03-02T10:30:00Z
sim $fx/pollpages --until 2026-03-02T11:30:00Z --workers 2
expect "the next poll asks again from 08:30 (not 09:30) and reads both pages" 0 \
    "2026-03-02T08:30:00.000Z - 100
2026-03-02T08:30:00.000Z after-c100 100
2026-03-02T08:30:00.000Z after-c100 100
2026-03-02T08:30:00.000Z - 100
2026-03-02T08:30:00.000Z after-c100 100" -- poll_gets
expect "then all 150 are written, each once" 0 "150 150" -- written
expect "the store: 150 successes beside the error, 150 keys seen, the watermark at 11:00" 0 \
    "150|150|1|2026-03-02T11:00:00" \
    -- sql "SELECT (SELECT count(*) FROM executions WHERE status = 'success'),
                   (SELECT count(DISTINCT key) FROM poll_seen),
                   (SELECT count(*) FROM executions WHERE status = 'error'),
                   (SELECT strftime('%Y-%m-%dT%H:%M:%S', watermark / 1000, 'unixepoch') FROM trigger_state)"
unset SCENARIST_CLOCK
