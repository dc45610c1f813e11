#!/usr/bin/env bash
# The issue's "150-completion poll writes 150": the daemon, on the test clock, polls a
# generated sandbox's LMS completions (cursor pages of at most 100) and writes each one
# back to the HRIS, once.
# usage: tests/sandbox/pages.sh SANDBOX SCENARIST
set -u
sandbox=$(realpath "$1")
bin=$(realpath "$2")
cd "$(dirname "$0")/../.."
suite=sandbox
. tests/lib.sh
suite_tmp sbpid
py3=/usr/bin/python3
[ -x "$py3" ] || py3=$(command -v python3)

# 103 employees, seed 1: exactly 150 completions (2026-03-01 .. 03-07), 6 of them by
# people since terminated (the HRIS refuses those with 409)
start_sandbox "$tmp/port" "$tmp/sandbox.log" --employees 103 --seed 1
u=$sb
export PAGES_TOKEN=pages-token
cat > "$tmp/org.yaml" <<EOO
name: pagestest
timezone: UTC
store: $tmp/store/scenarist.db
connections:
  lms: { base_url: $u/lms, auth: { kind: bearer, secret: env:PAGES_TOKEN } }
  hris: { base_url: $u/hris, auth: { kind: bearer, secret: env:PAGES_TOKEN } }
  ats: { base_url: $u/ats, auth: { kind: bearer, secret: env:PAGES_TOKEN } }
EOO
db=$tmp/store/scenarist.db
# py EXPR: EXPR over the sandbox's journal (j: its requests) and data (data(table)).
py() {
    curl -s "$u/_sandbox/journal" > "$tmp/journal.json"
    "$py3" -c 'import json, sys, urllib.request
j = json.load(open(sys.argv[2]))["requests"]
def data(t): return json.load(urllib.request.urlopen(sys.argv[3] + "/_sandbox/data?table=" + t))
print(eval(sys.argv[1]))' "$1" "$tmp/journal.json" "$u"
}

expect "the sandbox has 150 completions" 0 "150" -- py 'len(data("completions"))'
# paging values an API refuses: answered 400, never a page made up (page=abc was page 1,
# a page past 2^63 wrapped to "page": -1)
for bad in "page=-1" "page=abc" "page=99999999999999999999" "per_page=0" "page=2&per_page=-3"; do
    expect "?$bad is answered 400, naming the parameter" 0 \
        "{\"error\":\"$(case $bad in *per_page*) echo "per_page must be a whole number from 1 (at most 100 are given)";; *) echo "page must be a whole number from 1";; esac)\"} 400" \
        -- curl -s -w ' %{http_code}' -H 'Authorization: Bearer x' "$u/hris/employees?$bad"
done
export SCENARIST_CLOCK=test:2026-03-08T00:00:00Z
"$bin" serve tests/sandbox/pages --org "$tmp/org.yaml" --listen 127.0.0.1:0 \
    --until 2026-03-08T01:30:00Z --workers 2 2>"$tmp/daemon.log"
expect "the daemon ran to --until and stopped cleanly" 0 "0" -- echo $?
expect "the poll read two cursor pages: 100, then the 50 after the first page's cursor" 0 \
    "[('2026-02-28T01:00:00.000Z', '100', None, 200), ('2026-02-28T01:00:00.000Z', '100', True, 200)]" \
    -- py '[(r["query"]["since"], r["query"]["per_page"], ("cursor" in r["query"]) or None, r["status"]) for r in j if r["path"] == "/lms/completions"]' 
expect "150 completions, 150 write-backs, each completion once" 0 "150 150" \
    -- py '"%d %d" % (len([r for r in j if r["method"] == "POST"]), len({(r["path"], r["body"]["course_id"], r["body"]["completed_at"]) for r in j if r["method"] == "POST"}))'
expect "each write-back is a completion of the sandbox's data, and every completion was written" 0 "True" \
    -- py '{(r["path"].split("/")[3], r["body"]["course_id"], r["body"]["completed_at"]) for r in j if r["method"] == "POST"} == {(c["learner_external_id"], c["course_id"], c["completed_at"]) for c in data("completions")}'
expect "144 recorded; the 6 refused (409) are exactly the completions of terminated employees" 0 "144 6 True" \
    -- py '"%d %d %s" % (sum(len(v) for v in data("learning_history").values()), len([r for r in j if r["method"] == "POST" and r["status"] == 409]), sorted(r["path"].split("/")[3] for r in j if r["method"] == "POST" and r["status"] == 409) == sorted(c["learner_external_id"] for c in data("completions") if {e["id"]: e["status"] for e in data("employees")}[c["learner_external_id"]] == "terminated"))'
expect "the store: 144 successes, 6 errors, 150 keys seen, the watermark at the poll" 0 \
    "144|6|150|2026-03-08T01:00:00" \
    -- sql "SELECT (SELECT count(*) FROM executions WHERE status = 'success'),
                   (SELECT count(*) FROM executions WHERE status = 'error'),
                   (SELECT count(DISTINCT key) FROM poll_seen),
                   (SELECT strftime('%Y-%m-%dT%H:%M:%S', watermark / 1000, 'unixepoch') FROM trigger_state)"

# the ATS's Link headers (absolute URLs) and the HRIS's next_page, read whole by a step
curl -s -X DELETE "$u/_sandbox/journal" > /dev/null
echo '{}' > "$tmp/none.json"
expect "a step reads every candidate over Link pages and every employee over next_page pages" 0 \
    '{"candidates":"25 (25 distinct) in 3 pages","employees":"103 (103 distinct) in 3 pages"}' \
    -- sh -c "'$bin' run tests/sandbox/pages-run/lists.yaml --input '$tmp/none.json' --org '$tmp/org.yaml' | grep -o '{\"candidates.*'"
expect "the pages asked, in order" 0 \
    "[('/ats/candidates', {'per_page': '10'}), ('/ats/candidates', {'per_page': '10', 'page': '2'}), ('/ats/candidates', {'per_page': '10', 'page': '3'}), ('/hris/employees', {'per_page': '50'}), ('/hris/employees', {'page': '2', 'per_page': '50'}), ('/hris/employees', {'page': '3', 'per_page': '50'})]" \
    -- py '[(r["path"], r["query"]) for r in j if r["method"] == "GET"]'
expect "the sandbox has 25 candidates and 103 employees: the steps got each once" 0 "25 103" \
    -- py '"%d %d" % (len({c["id"] for c in data("candidates")}), len({e["id"] for e in data("employees")}))'

# An answer whose header is in ISO-8859-1 (a legacy server), and one whose name is long:
# each kept, read as RFC 9110 5.5 allows (the bytes as Latin-1), stored, the run a success.
# Before, the Latin-1 value made the step's output unwritable and its worker retried the
# write every second for ever; the long name was dropped.
long=$(printf 'l%.0s' $(seq 200))
curl -s -X POST -d "{\"system\":\"hris\",\"headers\":{\"X-Legacy\":\"Ren\\u00e9e M\\u00fcller\",\"X-$long\":\"kept\"},\"header_charset\":\"latin1\"}" "$u/_sandbox/faults" > /dev/null
expect "a Latin-1 header value is read as ISO-8859-1; a 202-byte header name is kept" 0 \
    '{"legacy":"Renée Müller","long":"kept"}' \
    -- sh -c "'$bin' run tests/sandbox/pages-run/legacy.yaml --input '$tmp/none.json' --org '$tmp/org.yaml' | grep -o '{\"legacy.*'"
expect "and the step's output is stored with it" 0 "success|Renée Müller" \
    -- sql "SELECT e.status, json_extract(CAST(s.output AS TEXT), '$.headers.x-legacy') FROM executions e JOIN step_runs s ON s.execution = e.id WHERE e.scenario = 'legacy-header' AND s.step = 'employee'"
curl -s -X DELETE "$u/_sandbox/faults" > /dev/null
