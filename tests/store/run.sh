#!/usr/bin/env bash
# The store as a user meets it: the audit log and its verification against tampering with
# the sqlite3 shell, an execution killed mid-step and resumed, confidential data kept out
# of the database file, incomplete executions handled by a person, executions, metrics.
# usage: tests/store/run.sh SCENARIST STUB
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
cd "$(dirname "$0")/../.."
fx=tests/store/fixtures
suite=store
. tests/lib.sh
suite_tmp spid
export SCENARIST_CLOCK=test:2026-03-08T07:59:00Z USER=tester
export GOLDEN_HRIS_TOKEN=hris-token-1 GOLDEN_LMS_KEY=lms-key-2 GOLDEN_PAYROLL_PASSWORD=pw-3
export GOLDEN_AUDIT_KEY=golden-audit-key-0123456789abcdef0123456789

# start NAME REPLIES: a stub server and an org (with its own store) in $tmp/NAME/.
start() {
    local d=$tmp/$1
    start_stub "$d" "$2"
    stub_org tests/scenarios/org.yaml.in "$d"
    org=$d/org.yaml
    db=$d/store/scenarist.db
    journal=$d/journal
}
id=20260308-075900-000001

# ---- the audit log ----
start audit "$fx/writes-replies.json"
expect_grep "three writes succeed" 0 "success in" -- "$bin" run "$fx/writes.yaml" --input "$fx/writes.json" --org "$org"
sum=$(printf 'HR-200' | sha256sum | cut -c1-64)
expect_grep "an audit row carries the SHA-256 of the body sent" 0 "\"body_sha256\": \"$sum\"" \
    -- "$bin" audit --org "$org" --json
expect "audit filters by destination" 0 "$("$bin" audit --org "$org")" \
    -- "$bin" audit --org "$org" --sent-to "http://127.0.0.1:$(cat $tmp/audit/port)/hris/"
expect "audit of another destination is empty" 0 "no audit rows" \
    -- "$bin" audit --org "$org" --sent-to "http://127.0.0.1:1/"
expect "an intact log verifies" 0 "audit log of org golden: every row intact" \
    -- "$bin" audit verify --org "$org"
expect "a write is two rows: pending before it is sent, its outcome after" 0 "pending|
ok|1
pending|
ok|3
pending|
ok|5" -- sqlite3 "$db" "SELECT outcome, ref FROM audit ORDER BY id"
expect "every row is keyed by HMAC under the org's audit key" 0 "6" \
    -- sqlite3 "$db" "SELECT count(*) FROM audit WHERE key_id GLOB 'k[0-9a-f]*' AND length(key_id) = 17"
expect_grep "the database refuses an edit of the audit log" 19 "the audit log is append-only" \
    -- sqlite3 "$db" "UPDATE audit SET status = 200 WHERE id = 2"
expect_grep "the database refuses a deletion from the audit log" 19 "the audit log is append-only" \
    -- sqlite3 "$db" "DELETE FROM audit WHERE id = 2"

# A checkpoint of the head leaves the database before any attack.
"$bin" audit checkpoint --org "$org" > "$tmp/cp.json" 2>"$tmp/cp.err"
expect_grep "audit checkpoint prints the head as JSON" 0 '"format": "scenarist.audit-checkpoint/1"' -- cat "$tmp/cp.json"
expect "the checkpoint holds the count, the last hash, the time and an HMAC" 0 "golden 6 2026-03-08T07:59:00.000Z 64 64" \
    -- bash -c "jq -r '\"\\(.org) \\(.count) \\(.at) \\(.last_hash | length) \\(.hmac | length)\"' '$tmp/cp.json'"
expect "its last hash is the last row's" 0 "$(sqlite3 "$db" "SELECT hash FROM audit WHERE id = 6")" \
    -- jq -r .last_hash "$tmp/cp.json"
expect "audit checkpoint -o writes the file" 0 "checkpoint of org golden: 6 rows, at 2026-03-08T07:59:00.000Z" \
    -- "$bin" audit checkpoint --org "$org" -o "$tmp/cp2.json"
expect "-o wrote the same head" 0 "6" -- jq .count "$tmp/cp2.json"
expect "a clean store passes verify against the checkpoint" 0 \
    "audit log of org golden: every row intact, and every row of checkpoint $tmp/cp.json still there" \
    -- "$bin" audit verify --org "$org" --checkpoint "$tmp/cp.json"

# rechain DB FROM: recomputes the hashes from row FROM on as an unkeyed SHA-256 chain and
# points the head at the last row: what an intruder without the key can do.
rechain() {
    local db=$1 id h prev
    prev=$(sqlite3 "$db" "SELECT coalesce((SELECT hash FROM audit WHERE id = $2 - 1), printf('%.64d', 0))")
    for id in $(sqlite3 "$db" "SELECT id FROM audit WHERE id >= $2 ORDER BY id"); do
        sqlite3 "$db" "UPDATE audit SET prev_hash = '$prev' WHERE id = $id"
        h=$(printf '%s' "$(sqlite3 "$db" "SELECT id || char(31) || at || char(31) || coalesce(org, '')
            || char(31) || coalesce(scenario, '') || char(31) || coalesce(version, '') || char(31)
            || coalesce(execution, '') || char(31) || coalesce(step, '') || char(31) || method
            || char(31) || coalesce(sent_from, '') || char(31) || sent_to || char(31)
            || coalesce(status, 0) || char(31) || coalesce(duration_ms, 0) || char(31) || body_sha256
            || char(31) || outcome || char(31) || prev_hash
            || CASE WHEN ref IS NULL THEN '' ELSE char(31) || 'ref=' || ref END FROM audit WHERE id = $id")" |
            sha256sum | cut -c1-64)
        sqlite3 "$db" "UPDATE audit SET hash = '$h' WHERE id = $id"
        prev=$h
    done
    sqlite3 "$db" "UPDATE audit_head SET last_id = (SELECT max(id) FROM audit), last_hash = '$prev'"
}
# attack NAME SQL FROM PLAIN-VERIFY CHECKPOINT-VERIFY: on a copy, with the guard triggers
# dropped and the chain recomputed from row FROM (0: not), as an intruder would.
attack() {
    cp "$db" "$tmp/attacked.db"
    sqlite3 "$tmp/attacked.db" "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; $2"
    [ "$3" != 0 ] && rechain "$tmp/attacked.db" "$3"
    expect "$1: verify" 1 "$4" -- "$bin" audit verify --org "$org" --store "$tmp/attacked.db"
    expect "$1: verify --checkpoint" 1 "$5" \
        -- "$bin" audit verify --org "$org" --store "$tmp/attacked.db" --checkpoint "$tmp/cp.json"
}
attack "a row rewritten and the chain recomputed" "UPDATE audit SET status = 500 WHERE id = 4" 4 \
    "audit log of org golden: row 4 was changed or forged: its contents do not match its HMAC" \
    "audit log of org golden: row 4 was changed or forged: its contents do not match its HMAC"
attack "the tail cut" "DELETE FROM audit WHERE id > 4" 4 \
    "audit log of org golden: row 4 was changed or forged: its contents do not match its HMAC" \
    "audit log of org golden: row 5 is missing: the log ends at row 4, but the checkpoint of 2026-03-08T07:59:00.000Z recorded 6 rows: it was cut"
attack "the tail cut and the head set back to a real row" \
    "DELETE FROM audit WHERE id > 4; UPDATE audit_head SET last_id = 4, last_hash = (SELECT hash FROM audit WHERE id = 4)" 0 \
    "audit log of org golden: row 4 is not the last row scenarist wrote: the log's head was rewritten (rows after it were cut?)" \
    "audit log of org golden: row 5 is missing: the log ends at row 4, but the checkpoint of 2026-03-08T07:59:00.000Z recorded 6 rows: it was cut"
attack "a forged row appended" \
    "INSERT INTO audit SELECT 7, at, org, scenario, version, execution, step, method, sent_from, sent_to, 200, duration_ms, body_sha256, 'ok', hash, hash, NULL, key_id, actor FROM audit WHERE id = 5" 7 \
    "audit log of org golden: row 7 was changed or forged: its contents do not match its HMAC" \
    "audit log of org golden: row 7 was changed or forged: its contents do not match its HMAC"
attack "a forged row appended without a key id" \
    "INSERT INTO audit SELECT 7, at, org, scenario, version, execution, step, method, sent_from, sent_to, 200, duration_ms, body_sha256, 'ok', hash, hash, NULL, '', actor FROM audit WHERE id = 5" 7 \
    "audit log of org golden: row 7 has no HMAC: it was rewritten without the audit key" \
    "audit log of org golden: row 7 has no HMAC: it was rewritten without the audit key"
# tamper NAME SQL EXPECTED: on a copy, with the guard triggers dropped, the chain left as is.
tamper() {
    cp "$db" "$tmp/tampered.db"
    sqlite3 "$tmp/tampered.db" "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; $2"
    expect "$1" 1 "$3" -- "$bin" audit verify --org "$org" --store "$tmp/tampered.db"
}
tamper "verify names a changed body hash" "UPDATE audit SET body_sha256 = '$sum' WHERE id = 1" \
    "audit log of org golden: row 1 was changed or forged: its contents do not match its HMAC"
tamper "verify names a deleted row" "DELETE FROM audit WHERE id = 3" \
    "audit log of org golden: row 3 is missing: it was deleted"
tamper "verify names a row whose chain link was replaced" "UPDATE audit SET prev_hash = 'x' WHERE id = 3" \
    "audit log of org golden: row 3 does not chain to the row before it: it was replaced"
tamper "verify names a row inserted past the head" \
    "INSERT INTO audit SELECT 7, at, org, scenario, version, execution, step, method, sent_from, sent_to, status, duration_ms, body_sha256, outcome, hash, hash, ref, key_id, actor FROM audit WHERE id = 6" \
    "audit log of org golden: row 7 was added outside the audit log"
tamper "verify names a deleted head" "DELETE FROM audit WHERE id > 4; DELETE FROM audit_head" \
    "audit log of org golden: its head (the last row's id and HMAC) is missing: it was deleted, and rows after the last one may have been cut"
expect_grep "verify --json names the row" 1 '"row": 3' \
    -- bash -c "cp '$db' '$tmp/t2.db' && sqlite3 '$tmp/t2.db' 'DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 3' && '$bin' audit verify --json --org '$org' --store '$tmp/t2.db'"
cp "$db" "$tmp/attacked.db"
sqlite3 "$tmp/attacked.db" "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; DELETE FROM audit; DELETE FROM audit_head"
expect "a wiped log looks empty without a checkpoint" 0 "audit log of org golden: every row intact" \
    -- "$bin" audit verify --org "$org" --store "$tmp/attacked.db"
expect "a wiped log: verify --checkpoint" 1 \
    "audit log of org golden: it is empty, but the checkpoint of 2026-03-08T07:59:00.000Z recorded 6 rows: it was wiped" \
    -- "$bin" audit verify --org "$org" --store "$tmp/attacked.db" --checkpoint "$tmp/cp.json"
jq '.count = 5' "$tmp/cp.json" > "$tmp/cp-edited.json"
expect "a checkpoint whose count was edited is refused" 1 \
    "scenarist: checkpoint $tmp/cp-edited.json does not carry the HMAC of org golden's audit key: refused (it was edited, or made with another key)" \
    -- "$bin" audit verify --org "$org" --checkpoint "$tmp/cp-edited.json"
GOLDEN_AUDIT_KEY=another-key-another-key-another-key-1 "$bin" audit checkpoint --org "$org" --store "$tmp/attacked.db" > "$tmp/cp-other.json" 2>&1
expect "a checkpoint made with another key is refused" 1 \
    "scenarist: checkpoint $tmp/cp-other.json does not carry the HMAC of org golden's audit key: refused (it was edited, or made with another key)" \
    -- "$bin" audit verify --org "$org" --checkpoint "$tmp/cp-other.json"
echo '{"format": "x"}' > "$tmp/cp-bad.json"
expect "a file that is not a checkpoint is refused" 1 \
    "scenarist: checkpoint $tmp/cp-bad.json is not an audit checkpoint (format scenarist.audit-checkpoint/1 with org, count, last_hash, at and hmac)" \
    -- "$bin" audit verify --org "$org" --checkpoint "$tmp/cp-bad.json"
expect "a checkpoint that is not JSON" 2 "scenarist: checkpoint $tmp/cp.err:1:0: '[' or '{' expected near end of file" \
    -- "$bin" audit verify --org "$org" --checkpoint "$tmp/cp.err"
expect "a log with a row changed is not checkpointed" 1 \
    "scenarist: audit log of org golden: row 4 was changed or forged: its contents do not match its HMAC: no checkpoint taken" \
    -- bash -c "cp '$db' '$tmp/t3.db' && sqlite3 '$tmp/t3.db' 'DROP TRIGGER audit_no_update; UPDATE audit SET status = 500 WHERE id = 4' && '$bin' audit checkpoint --org '$org' --store '$tmp/t3.db'"
echo '[{"method": "POST", "path": "/ops/hooks/golden", "status": 201, "text": "kept"}]' > "$tmp/cp-replies.json"
start vault "$tmp/cp-replies.json"
expect "audit checkpoint --to posts it to a connection" 0 "checkpoint of org golden: 6 rows, at 2026-03-08T07:59:00.000Z" \
    -- "$bin" audit checkpoint --org "$org" --store "$tmp/audit/store/scenarist.db" --to ops
expect_grep "the connection received the checkpoint" 0 'scenarist.audit-checkpoint/1' -- cat "$journal"
expect "a checkpoint the connection does not take fails" 1 \
    "scenarist: checkpoint not delivered: POST http://127.0.0.1:$(cat $tmp/vault/port)/hris: HTTP 404: {\"error\":\"no canned reply\"}" \
    -- "$bin" audit checkpoint --org "$org" --store "$tmp/audit/store/scenarist.db" --to hris
# A checkpoint's POST is a write like any other (not audited: a row would move the head it
# reports): never to a read-only connection, nor out of its connection's base.
sent=$(wc -l < "$journal")
expect "audit checkpoint --to a read-only connection is refused, nothing sent" 1 \
    "scenarist: checkpoint not delivered: POST refused (nothing was sent): connection 'calendar' is read-only in org 'golden'" \
    -- "$bin" audit checkpoint --org "$org" --store "$tmp/audit/store/scenarist.db" --to calendar
cpo() { # NAME CONNECTION PATH: the vault's org with a scheduled checkpoint there
    sed "s|^audit: { key: env:GOLDEN_AUDIT_KEY }|audit: { key: env:GOLDEN_AUDIT_KEY, checkpoint: { every: 2s, connection: $2, path: \"$3\" } }|" \
        "$org" > "$tmp/vault/$1.yaml"
    echo "$tmp/vault/$1.yaml"
}
cp_err() { # COLUMN MESSAGE LINE: the diagnostic of line 6 of such an org
    printf '%s\n' "$(cpo "$1" "$2" "$3"):6:$4: error: the audit checkpoint cannot be POSTed there: $5" \
        "    6 | audit: { key: env:GOLDEN_AUDIT_KEY, checkpoint: { every: 2s, connection: $2, path: \"$3\" } }"
}
expect_grep "a scheduled checkpoint to a read-only connection does not validate" 2 \
    "$(cp_err ro calendar /cp 90 "connection 'calendar' is read-only in org 'golden'")" \
    -- "$bin" audit checkpoint --org "$tmp/vault/ro.yaml" --store "$tmp/audit/store/scenarist.db"
expect_grep "serve refuses to start with it" 2 "$(cp_err ro calendar /cp 90 "connection 'calendar' is read-only in org 'golden'")" \
    -- "$bin" serve --org "$tmp/vault/ro.yaml" --store "$tmp/vault/ro.db" --listen 127.0.0.1:0
expect_grep "a scheduled checkpoint path climbing out of its connection does not validate" 2 \
    "$(cp_err climb hris /../calendar/x 86 "path '/../calendar/x' climbs out of connection 'hris' (http://127.0.0.1:$(cat $tmp/vault/port)/hris): it normalises to /calendar/x")" \
    -- "$bin" audit checkpoint --org "$tmp/vault/climb.yaml" --store "$tmp/audit/store/scenarist.db"
expect_grep "a scheduled checkpoint reaching the read-only calendar through the root does not validate" 2 \
    "$(cp_err under site /x/..\;/calendar/cp 86 "connection 'calendar' is read-only in org 'golden': http://127.0.0.1:$(cat $tmp/vault/port)/calendar/cp lies under its base URL")" \
    -- "$bin" audit checkpoint --org "$tmp/vault/under.yaml" --store "$tmp/audit/store/scenarist.db"
expect "none of them sent anything" 0 "$sent" -- bash -c "wc -l < '$journal'"
org=$tmp/audit/org.yaml db=$tmp/audit/store/scenarist.db

# Without a key: verify and checkpoint say what to do; a declared key must be readable.
sed '/^audit:/d' "$org" > "$tmp/nokey.yaml"
expect "verify without an audit key" 2 \
    "scenarist: audit verify: org golden has no audit key: add \`audit: { key: env:NAME }\` (a secret of at least 32 characters, kept outside the database) to its org file; until then its log is chained without a key, and whoever can write the database can rewrite it unnoticed" \
    -- "$bin" audit verify --org "$tmp/nokey.yaml"
expect_grep "checkpoint without an audit key" 2 "scenarist: audit checkpoint: org golden has no audit key" \
    -- "$bin" audit checkpoint --org "$tmp/nokey.yaml"
start nokey "$fx/writes-replies.json"
sed '/^audit:/d' "$org" > "$tmp/nokey/plain.yaml"
expect_grep "an org without a key still audits its writes, unkeyed" 0 "success in" \
    -- "$bin" run "$fx/writes.yaml" --input "$fx/writes.json" --org "$tmp/nokey/plain.yaml"
expect "its rows carry no key id" 0 "6 0" -- sqlite3 -separator ' ' "$db" "SELECT count(*), sum(key_id != '') FROM audit"
expect "adding a key later: the unkeyed rows are refused" 1 \
    "audit log of org golden: row 1 has no HMAC: it was rewritten without the audit key (or written before the org had one: then accept it with audit.unkeyed_rows)" \
    -- "$bin" audit verify --org "$org"
sed 's/^audit: { key: env:GOLDEN_AUDIT_KEY }/audit: { key: env:GOLDEN_AUDIT_KEY, unkeyed_rows: 6 }/' "$org" > "$tmp/nokey/accept.yaml"
expect_grep "keyed writes chain onto the accepted unkeyed rows" 0 "success in" \
    -- "$bin" run "$fx/writes.yaml" --input "$fx/writes.json" --org "$tmp/nokey/accept.yaml"
expect "audit.unkeyed_rows accepts them; the keyed rows after them verify" 0 "audit log of org golden: every row intact" \
    -- "$bin" audit verify --org "$tmp/nokey/accept.yaml"
cp "$db" "$tmp/rechained.db"
sqlite3 "$tmp/rechained.db" "DROP TRIGGER audit_no_update; UPDATE audit SET key_id = ''"
rechain "$tmp/rechained.db" 1
expect "a keyed log rewritten as an unkeyed chain is refused past the accepted rows" 1 \
    "audit log of org golden: row 7 has no HMAC: it was rewritten without the audit key (or written before the org had one: then accept it with audit.unkeyed_rows)" \
    -- "$bin" audit verify --org "$tmp/nokey/accept.yaml" --store "$tmp/rechained.db"
expect "the intruder's unkeyed chain itself is sound (accepting every row passes)" 0 "audit log of org golden: every row intact" \
    -- "$bin" audit verify --org "$(sed 's/unkeyed_rows: 6/unkeyed_rows: 100/' "$tmp/nokey/accept.yaml" > "$tmp/nokey/all.yaml"; echo "$tmp/nokey/all.yaml")" --store "$tmp/rechained.db"
start keyless "$fx/writes-replies.json"
expect_grep "a write whose audit key is not set is not sent" 1 "config: POST http://127.0.0.1:$(cat $tmp/keyless/port)/hris/learning-history was not sent" \
    -- env -u GOLDEN_AUDIT_KEY "$bin" run "$fx/writes.yaml" --input "$fx/writes.json" --org "$org" --no-retry
expect_grep "the error names the unset key" 0 \
    "POST http://127.0.0.1:$(cat $tmp/keyless/port)/hris/learning-history was not sent: its audit row could not be written: audit key: secret env:GOLDEN_AUDIT_KEY is not set in the environment" \
    -- "$bin" execution $id --org "$org" --json
expect "nothing reached the system" 0 "0" -- bash -c "grep -c learning-history '$journal' || true"
expect "a short audit key is refused" 1 \
    "scenarist: audit key env:GOLDEN_AUDIT_KEY is shorter than 32 characters (make one with \`openssl rand -hex 32\`)" \
    -- env GOLDEN_AUDIT_KEY=short "$bin" audit verify --org "$org"
expect_grep "a body-less write carries sent_from and sent_to as headers" 0 \
    "\"scenarist-sent-from\":\"https://scenarist.example.com/scenarios/writes/versions/draft/steps/write\",\"scenarist-sent-to\":\"http://127.0.0.1:$(cat $tmp/nokey/port)/hris/learning-history\"" \
    -- cat "$tmp/nokey/journal"

# ---- killed mid-step, resumed at that step ----
start kill "$fx/kill-replies.json"
echo '{"id": "E-9"}' > "$tmp/kill/event.json"
"$bin" run "$fx/kill.yaml" --input "$tmp/kill/event.json" --org "$org" > "$tmp/kill/out" 2>&1 &
rpid=$!
state=
for _ in $(seq 3000); do
    state=$(sqlite3 "$db" "SELECT status FROM step_runs WHERE step = 'upsert'" 2>/dev/null)
    [ "$state" = running ] && break
    sleep 0.02
done
wait_journal "$journal" '"method":"PUT"' # the PUT is at the stub (answered after 4 s)
# another PID namespace (a container) cannot see the running process: its lease, not its
# pid, keeps a resume there from sending the PUT a second time
if unshare --pid --fork true 2>/dev/null; then
    expect "resume in another PID namespace leaves the live execution alone" 0 "nothing to resume" \
        -- unshare --pid --fork "$bin" resume --org "$org"
else
    echo "ok - $suite resume in another PID namespace # skip: unshare --pid needs root"
fi
kill -9 $rpid
wait $rpid 2>/dev/null
expect "the store shows the step under way when the process died" 0 "running" \
    -- sqlite3 "$db" "SELECT status FROM step_runs WHERE step = 'upsert'"
expect "resume leaves it alone while its lease lasts (30 s from its last renewal)" 0 \
    "nothing to resume" -- env SCENARIST_CLOCK=test:2026-03-08T07:59:29.999Z "$bin" resume --org "$org"
expect "the lease of the killed process expires 30 s after its last renewal" 0 "$((1772956740000 + 30000))" \
    -- sqlite3 "$db" "SELECT lease_until FROM executions WHERE id = '$id'"
expect "resume runs the interrupted execution once its lease has expired" 0 "$id kill-resume: first run resumed success" \
    -- env SCENARIST_CLOCK=test:2026-03-08T07:59:30Z "$bin" resume --org "$org"
expect "the step that ended before the kill did not run again" 0 "1" \
    -- bash -c "grep -c '\"method\":\"GET\"' '$journal'"
expect "the interrupted step ran again with the same idempotency key" 0 "2
2" -- bash -c "grep -c '\"idempotency-key\":\"$id:upsert:1\"' '$journal'; grep -c '\"method\":\"PUT\"' '$journal'"
expect "the step after it ran once" 0 "1" -- bash -c "grep -c '\"method\":\"POST\"' '$journal'"
expect "the PUT the kill cut off is on the audit log, pending; its re-send ok" 0 "1 upsert PUT pending
2 upsert PUT ok" -- bash -c "'$bin' audit --org '$org' --json --execution $id | jq -r '.[] | select(.step == \"upsert\") | \"\\(.id) \\(.step) \\(.method) \\(.outcome)\"'"
expect "after the kill the log verifies" 0 "audit log of org golden: every row intact" \
    -- "$bin" audit verify --org "$org"
expect "execution ID shows the run the kill cut off and its resume, one attempt (a crash is no retry)" 0 "kill-resume  execution $id  (org golden, version draft)
status success after 0 retries; started 2026-03-08T07:59:00.000Z, finished 2026-03-08T07:59:30.000Z
url https://scenarist.example.com/executions/$id
steps (run shown when above 1: step@2 is retry 1):
  employee               http.request    ok            0 ms  HTTP 200 {\"email\":\"kay@example.com\",\"id\":\"E-9\"}
  upsert                 http.request    interrupted           
  upsert                 http.request    ok            0 ms  HTTP 200 {\"id\":\"L-9\"}
  record                 http.request    ok            0 ms  HTTP 201 {\"id\":\"LH-9\"}" \
    -- "$bin" execution $id --org "$org"
expect "nothing is left to resume" 0 "nothing to resume" -- "$bin" resume --org "$org"
expect "a finished execution cannot be retried" 1 \
    "scenarist: execution $id has finished (success): nothing is left to run" \
    -- "$bin" incomplete retry $id --here --org "$org"
expect "resume states are dropped once the execution finished" 0 "0" \
    -- sqlite3 "$db" "SELECT count(*) FROM step_runs WHERE state IS NOT NULL"

# ---- confidential data stays out of the database file ----
start conf "$fx/confidential-replies.json"
expect_grep "a confidential execution ends incomplete after its attempts" 1 \
    "no retry left: needs a person" \
    -- "$bin" run "$fx/confidential.yaml" --input "$fx/confidential.json" --org "$org"
check "the store has the incomplete execution's sealed state" \
    test "$(sqlite3 "$db" "SELECT count(*) FROM step_runs WHERE state IS NOT NULL")" -gt 0
expect "no trigger or step data is readable in the database files" 0 "0" \
    -- bash -c "cat '$tmp/conf/store/'scenarist.db* | grep -a -c -e 078-05-1120 -e 913579 || true"
expect "the ops notification carries no bundle data" 0 "1
0" -- bash -c "grep -c '/ops/hooks' '$journal'; grep '/ops/hooks' '$journal' | grep -c -e 078-05-1120 -e 913579 || true"
expect_grep "execution ID shows redactions" 0 '"trigger": "[redacted: confidential scenario]"' \
    -- "$bin" execution $id --org "$org" --json
expect "a person's retry opens the sealed state and completes" 0 "retry of execution $id recorded by tester; execution $id ran here: retry 2 success" \
    -- "$bin" incomplete retry $id --here --org "$org"
expect "the offer was not fetched again" 0 "1" -- bash -c "grep -c '/hris/offers' '$journal'"
expect "the sealed data is erased once finished" 0 "0 0" \
    -- sqlite3 -separator ' ' "$db" "SELECT (SELECT count(*) FROM step_runs WHERE state IS NOT NULL), (SELECT count(*) FROM executions WHERE trigger IS NOT NULL)"
check "the key file is readable by its owner only" \
    test "$(stat -c %a "$tmp/conf/store/scenarist.db.key")" = 600

# ---- rollback undoes data store writes, across attempts; commit keeps them ----
rows() { sqlite3 "$db" "SELECT store || ' ' || key || ' ' || value || ' ' || coalesce(expires_at, '-') FROM datastore ORDER BY store, key"; }
seeded="learners E-7 {\"lms\":\"L-1\"} -
learners E-8 {\"lms\":\"L-2\"} $((1772956740000 + 86400000))"
start ds "$fx/ds-replies.json"
expect_grep "a seed run writes two records" 0 "success in" -- "$bin" run "$fx/ds-seed.yaml" --input "$fx/ds-bad.json" --org "$org"
expect "the records as seeded" 0 "$seeded" -- rows
expect_grep "the second attempt fails past the break, and its route rolls back" 1 \
    '"undone: ask, add, drop, change, once"' -- "$bin" run "$fx/ds-rollback.yaml" --input "$fx/ds-bad.json" --org "$org"
expect "rollback leaves the records exactly as they were: E-7 put back, E-8 back with its expiry, no E-9, the dedupe key released" 0 "$seeded" -- rows
expect "the queue item it pushed is closed by the rollback" 0 "learner-drift|resolved|rollback of execution 20260308-075900-000002" \
    -- sqlite3 "$db" "SELECT queue, state, done_by FROM queue_items"
start ds2 "$fx/ds-replies.json"
"$bin" run "$fx/ds-seed.yaml" --input "$fx/ds-bad.json" --org "$org" > /dev/null 2>&1
expect_grep "the same steps with a commit route end in success" 0 "success in" \
    -- "$bin" run "$fx/ds-commit.yaml" --input "$fx/ds-bad.json" --org "$org"
expect "commit keeps every write" 0 "dedupe:ds-commit:once ev-1 {\"execution\":\"20260308-075900-000002\"} $((1772956740000 + 30 * 86400000))
learners E-7 {\"lms\":\"L-7\"} -
learners E-9 {\"lms\":\"L-9\"} -" -- rows
expect "and its queue item stays open" 0 "learner-drift|open|" -- sqlite3 "$db" "SELECT queue, state, done_by FROM queue_items"

start ds3 "$fx/ds-replies.json"
"$bin" run "$fx/ds-seed.yaml" --input "$fx/ds-bad.json" --org "$org" > /dev/null 2>&1
expect_grep "the first attempt breaks, its writes made" 1 "to be retried from this step" \
    -- "$bin" run "$fx/ds-rollback.yaml" --input "$fx/ds-bad.json" --org "$org" --no-retry
"$bin" run "$fx/ds-touch.yaml" --input "$fx/ds-bad.json" --org "$org" > /dev/null 2>&1
expect "the retry rolls back (resume exits 1: the attempt failed)" 1 "20260308-075900-000002 ds-rollback: retry 1 error" \
    -- env SCENARIST_CLOCK=test:2026-03-08T08:00:00Z "$bin" resume --org "$org"
expect "a record another execution changed since is left as it is; the rest is undone" 0 "learners E-7 {\"lms\":\"L-99\"} -
learners E-8 {\"lms\":\"L-2\"} $((1772956740000 + 86400000))" -- rows
expect_grep "the log line says what was not undone and why" 0 \
    '"undone: ask, add, drop, once; could not undo: change: record E-7 of data store learners was changed since by another execution: left as it is"' \
    -- "$bin" execution 20260308-075900-000002 --org "$org" --json

# ---- incomplete executions and a person ----
start person tests/scenarios/http-503-break/replies.json
expect_grep "run --no-retry leaves the retry for later" 1 "to be retried from this step" \
    -- "$bin" run tests/scenarios/http-503-break/scenario.yaml --input tests/scenarios/http-503-break/input.json --org "$org" --no-retry
expect "incomplete list shows it waiting" 0 \
    "$id   http-503-break           upsert           pending    0/2  2026-03-08T08:00:00.000Z server: PUT http://127.0.0.1:$(cat $tmp/person/port)/lms/learners/E-503: HTTP 503: upstream unavailable" \
    -- "$bin" incomplete list --org "$org"
expect "resume before it is due lists what waits, and when" 0 "nothing is due yet; 1 execution waits for a retry:
  $id http-503-break: step upsert, retry 1 of 2 due at 2026-03-08T08:00:00.000Z" -- "$bin" resume --org "$org"
expect "resume when due runs the next attempt" 0 "$id http-503-break: retry 1 warning" \
    -- env SCENARIST_CLOCK=test:2026-03-08T08:00:30Z "$bin" resume --org "$org"
expect "executions lists it" 0 "ID                       SCENARIO                 VERSION  STATUS   RETRIES  STARTED                  DURATION
$id   http-503-break           draft    warning  1        2026-03-08T07:59:00.000Z 0 ms" \
    -- "$bin" executions --org "$org"
expect_grep "--since a duration counts back from the engine's clock" 0 "$id   http-503-break" \
    -- "$bin" executions --org "$org" --since 1h
expect "executions filters by status" 0 "no executions" -- "$bin" executions --org "$org" --status success
expect "discard closes it" 0 "$id: discarded by tester" -- "$bin" incomplete discard $id --org "$org"
expect "discarding twice is an error" 1 "scenarist: $id is not an open incomplete execution in org golden" \
    -- "$bin" incomplete discard $id --org "$org"
expect "a discarded execution is not retried" 1 \
    "scenarist: execution $id is not waiting for a retry: it was discarded" \
    -- "$bin" incomplete retry $id --here --org "$org"
expect "discarded ones are listed by state" 0 "$id" \
    -- bash -c "'$bin' incomplete list --status discarded --org '$org' | cut -c1-22"
expect "metrics count executions, failures, incomplete" 0 "SCENARIO                     EXECUTIONS  FAILURES     RATE INCOMPLETE  HOLDS HOLD RATE
http-503-break                        1         1   100.0%          1      0      0.0%
incomplete: 0 (0 waiting for a retry, 0 for a person)
holds pending: 0" -- "$bin" metrics --org "$org"
expect "no such execution" 1 "scenarist: no execution nope in org golden" \
    -- "$bin" execution nope --org "$org"
expect "a bad --since" 2 "scenarist: --since takes a time (2026-03-08T08:00:00Z) or a duration ago (24h)" \
    -- "$bin" executions --since yesterday --org "$org"

# ---- retry counters: one definition (retries after the first run, as Make counts) everywhere ----
start counters tests/scenarios/http-503-recovers/replies.json
expect_grep "a retried execution succeeds on its third attempt" 0 "success in" \
    -- "$bin" run tests/scenarios/http-503-recovers/scenario.yaml --input tests/scenarios/http-503-recovers/input.json --org "$org"
expect "execution says 2 retries, and so does its closed incomplete entry" 0 "status success after 2 retries; started 2026-03-08T07:59:00.000Z, finished 2026-03-08T08:01:00.000Z
incomplete: done at step upsert, bundle 1; retries 2 of 2" \
    -- bash -c "'$bin' execution $id --org '$org' | grep -E '^(status|incomplete)'"
expect "executions and incomplete list agree" 0 "2 2/2" \
    -- bash -c "echo \$('$bin' executions --org '$org' | awk 'NR == 2 { print \$5 }') \$('$bin' incomplete list --status done --org '$org' | awk '{ print \$5 }')"
start counters-hold tests/scenarios/http-503-recovers/replies.json
expect "a hold says who decides, not an error" 1 "hold-demo  execution $id  (org golden, version draft)
  check                  hold            held          0 ms  {\"id\":1,\"reason\":\"pay differs\"}
held: step check, bundle 1: pay differs (hold 1: scenarist holds approve 1, or reject 1)
held in 0 ms" -- "$bin" run "$fx/hold.yaml" --input tests/scenarios/http-503-recovers/input.json --org "$org"
expect "a held entry has made 1 attempt, and no automatic retry to count against" 0 \
    "$id   hold-demo                check            held       0    -                        held: pay differs" \
    -- "$bin" incomplete list --org "$org"
expect "approved --here, it runs its first retry in this process" 0 "hold 1 approved by tester; execution $id ran here: retry 1 success" \
    -- "$bin" holds approve 1 --here --org "$org"
expect "execution, executions and incomplete agree: 1 retry" 0 "status success after 1 retry; started 2026-03-08T07:59:00.000Z, finished 2026-03-08T07:59:00.000Z
incomplete: done at step check, bundle 1; retries 1
1 1" -- bash -c "'$bin' execution $id --org '$org' | grep -E '^(status|incomplete)'; echo \$('$bin' executions --org '$org' | awk 'NR == 2 { print \$5 }') \$('$bin' incomplete list --status done --org '$org' | awk '{ print \$5 }')"

# ---- run interrupted while it waits for a retry (the real clock) ----
start interrupt tests/scenarios/http-503-break/replies.json
SCENARIST_CLOCK= "$bin" run tests/scenarios/http-503-break/scenario.yaml --input tests/scenarios/http-503-break/input.json \
    --org "$org" > "$tmp/int.out" 2> "$tmp/int.err" &
rpid=$!
for _ in $(seq 3000); do grep -q "retry 1 of 2 in " "$tmp/int.err" && break; sleep 0.02; done
kill -INT $rpid
wait $rpid
rc=$?
rid=$(SCENARIST_CLOCK= "$bin" executions --org "$org" --json | sed -n 's/.*"id": "\([^"]*\)".*/\1/p' | head -1)
due=$("$bin" incomplete list --org "$org" --json | sed -n 's/.*"next_attempt_at": "\([^"]*\)".*/\1/p')
expect "Ctrl-C says which execution is pending and when its next attempt is due" 130 \
    "scenarist: interrupted; execution $rid is pending: retry 1 of 2 is due at $due (scenarist resume --org $org runs it then, as does the daemon)" \
    -- bash -c "tail -1 '$tmp/int.err'; exit $rc"
expect "the interrupted execution waits in the store" 0 "pending" \
    -- bash -c "'$bin' incomplete list --org '$org' | awk '{ print \$4 }'"
expect "a real clock's execution id fits the ID column of executions" 0 "$rid  http-503-break" \
    -- bash -c "'$bin' executions --org '$org' | awk 'NR == 1 { c = index(\$0, \"SCENARIO\") } NR == 2 { print substr(\$0, 1, c + 13) }'"

# The same with --store (a path with a space): the suggested command reaches that store.
other="$tmp/other store/x.db"
mkdir -p "$tmp/other store"
SCENARIST_CLOCK= "$bin" run tests/scenarios/http-503-break/scenario.yaml --input tests/scenarios/http-503-break/input.json \
    --org "$org" --store "$other" > "$tmp/int2.out" 2> "$tmp/int2.err" &
rpid=$!
for _ in $(seq 3000); do grep -q "retry 1 of 2 in " "$tmp/int2.err" && break; sleep 0.02; done
kill -INT $rpid
wait $rpid
rc=$?
rid2=$(SCENARIST_CLOCK= "$bin" executions --org "$org" --store "$other" --json | sed -n 's/.*"id": "\([^"]*\)".*/\1/p' | head -1)
due2=$("$bin" incomplete list --org "$org" --store "$other" --json | sed -n 's/.*"next_attempt_at": "\([^"]*\)".*/\1/p')
expect "after Ctrl-C with --store, the suggested resume names that store (quoted for the shell)" 130 \
    "scenarist: interrupted; execution $rid2 is pending: retry 1 of 2 is due at $due2 (scenarist resume --org $org --store '$other' runs it then, as does the daemon)" \
    -- bash -c "tail -1 '$tmp/int2.err'; exit $rc"
suggested=$(tail -1 "$tmp/int2.err" | sed 's/.*(\(scenarist resume .*\) runs it then.*/\1/; s/^scenarist /"$bin" /')
expect "and running the suggested command finds the pending retry" 0 "nothing is due yet; 1 execution waits for a retry:
  $rid2 http-503-break: step upsert, retry 1 of 2 due at $due2" -- bash -c "bin='$bin'; SCENARIST_CLOCK= eval \"\$1\"" _ "$suggested"

. tests/store/converge.sh

# ---- the schema ----
# the version this scenarist knows: a new store's (the merged branches add migrations)
# (made by run, a command that creates a store: a read refuses an empty file, tests/cli)
printf 'name: fresh\ntriggers:\n  - manual: {}\nsteps:\n  - { id: s, module: set, with: { vars: { a: 1 } } }\n' > "$tmp/fresh.yaml"
echo '{}' > "$tmp/fresh.json"
: > "$tmp/latest.db" # an empty file: a command that creates a store makes it there
"$bin" run "$tmp/fresh.yaml" --input "$tmp/fresh.json" --org "$org" --store "$tmp/latest.db" > /dev/null 2>&1
latest=$(sqlite3 "$tmp/latest.db" "PRAGMA user_version")
expect "the schema version is recorded" 0 "$latest" -- sqlite3 "$db" "PRAGMA user_version"
# a store of schema 6 (before leases), with an execution a pid-owned process left running
sqlite3 "$tmp/audit/store/scenarist.db" ".backup '$tmp/v6.db'" # the audit section's store; the copy takes what is in the WAL too
sqlite3 "$tmp/v6.db" "ALTER TABLE executions DROP COLUMN lease_until; DROP INDEX audit_ref;
    ALTER TABLE audit DROP COLUMN ref; ALTER TABLE audit DROP COLUMN key_id;
    ALTER TABLE audit_head DROP COLUMN mac; DROP TABLE IF EXISTS shadow_writes; DROP TABLE decisions; PRAGMA user_version = 6;
    DROP TABLE counters;
    DROP TRIGGER count_hold_new; DROP TRIGGER count_hold_decided; DROP TRIGGER count_hold_gone;
    DROP TRIGGER count_item_new; DROP TRIGGER count_item_reopened; DROP TRIGGER count_item_closed;
    DROP TRIGGER count_item_gone; DROP INDEX holds_created; DROP INDEX queue_items_key;
    ALTER TABLE executions DROP COLUMN counted;
    ALTER TABLE queue_items DROP COLUMN key; ALTER TABLE queue_items DROP COLUMN last_seen;
    ALTER TABLE queue_items DROP COLUMN times_seen; ALTER TABLE queue_items DROP COLUMN seen_by;
    ALTER TABLE queue_items DROP COLUMN resolution; ALTER TABLE queue_items DROP COLUMN note;
    ALTER TABLE audit DROP COLUMN actor;
    DROP TABLE audit_archive; DROP INDEX queue_items_done; DROP TRIGGER audit_no_delete;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    UPDATE executions SET status = 'running', owner = $$ WHERE id = '$id'"
expect "a schema 6 store is migrated to the latest on open, its running execution without a lease" 0 \
    "$latest|$id|running||" -- bash -c "'$bin' executions --org '$org' --store '$tmp/v6.db' > /dev/null &&
    sqlite3 '$tmp/v6.db' \"SELECT (SELECT user_version FROM pragma_user_version), id, status, lease_until, '' FROM executions WHERE id = '$id'\""
expect "the migration seeds the counters from the executions already there" 0 \
    "$(sqlite3 "$tmp/v6.db" "SELECT 'executions', scenario, status, count(*) FROM executions GROUP BY 2, 3 ORDER BY 2, 3")" \
    -- sqlite3 "$tmp/v6.db" "SELECT name, l1, l2, value FROM counters WHERE name = 'executions' ORDER BY 2, 3"
# A store of schema 15 (time indexes over every execution, schema 16 keeps there only
# those that ran) with events still queued, one older than a finished execution: migrated
# on open, it lists, filters and counts as the same store made at the latest schema.
sqlite3 "$tmp/audit/store/scenarist.db" ".backup '$tmp/v16.db'"
sqlite3 "$tmp/v16.db" "INSERT INTO executions(id, scenario, org, version, source, status,
    attempts, started_at, queued_at, seq, priority, trigger)
    SELECT 'q-' || n, scenario, org, version, source, 'queued', 0, t, t, n, 0, '{}'
    FROM (SELECT 1 AS n, max(started_at) + 1 AS t FROM executions UNION ALL
          SELECT 2, min(started_at) - 1 FROM executions), (SELECT * FROM executions LIMIT 1)"
sqlite3 "$tmp/v16.db" ".backup '$tmp/v15.db'"
# count_exec: the triggers schemas 15 and 16 counted executions with (schema 17 drops them)
count_exec="CREATE TRIGGER count_exec_new AFTER INSERT ON executions WHEN new.counted = 0 BEGIN
    INSERT INTO counters(name, l1, l2, value) VALUES('executions', new.scenario, new.status, 1)
    ON CONFLICT(name, l1, l2) DO UPDATE SET value = value + 1; END;
    CREATE TRIGGER count_exec_status AFTER UPDATE OF status ON executions
    WHEN new.status IS NOT old.status AND new.counted IS old.counted BEGIN
    INSERT INTO counters(name, l1, l2, value) VALUES('executions', new.scenario, new.status, 1)
    ON CONFLICT(name, l1, l2) DO UPDATE SET value = value + 1; END;"
sqlite3 "$tmp/v15.db" "DROP INDEX executions_started; DROP INDEX executions_scenario;
    CREATE INDEX executions_started ON executions(started_at);
    CREATE INDEX executions_scenario ON executions(scenario, started_at); $count_exec PRAGMA user_version = 15"
sc=$(sqlite3 "$tmp/v16.db" "SELECT scenario FROM executions WHERE id = 'q-1'")
views() { # STORE: what a user reads of it
    "$bin" executions --org "$org" --store "$1" && "$bin" executions --org "$org" --store "$1" --scenario "$sc" &&
        "$bin" executions --org "$org" --store "$1" --status queued && "$bin" executions --org "$org" --store "$1" --limit 2 --json &&
        "$bin" metrics --org "$org" --store "$1" --since 2020-01-01T00:00:00Z && "$bin" metrics --org "$org" --store "$1"
}
expect "executions list the queued events among the others, newest first" 0 \
    "$(sqlite3 "$tmp/v16.db" "SELECT id FROM executions ORDER BY started_at DESC, id DESC")" \
    -- bash -c "'$bin' executions --org '$org' --store '$tmp/v16.db' | awk 'NR > 1 { print \$1 }'"
expect "a schema 15 store is migrated to the latest on open, and reads the same" 0 "$(views "$tmp/v16.db")
$latest" -- bash -c "$(declare -f views); bin='$bin' org='$org' sc='$sc'; views '$tmp/v15.db' &&
    sqlite3 '$tmp/v15.db' 'PRAGMA user_version'"
expect "its time indexes hold only the executions that ran" 0 \
    "CREATE INDEX executions_scenario ON executions(scenario, started_at) WHERE attempts > 0
CREATE INDEX executions_started ON executions(started_at) WHERE attempts > 0" \
    -- sqlite3 "$tmp/v15.db" "SELECT sql FROM sqlite_master WHERE name IN ('executions_started', 'executions_scenario') ORDER BY name"
# A store of schema 16 (two triggers counted the executions the queue's writes did not;
# schema 17 counts every write of the store's code in C, and no trigger): migrated on
# open, the triggers are gone and its counters go on from where they were, each execution
# counted once, as in the same store made at the latest schema.
sqlite3 "$tmp/v16.db" ".backup '$tmp/v16t.db'"
sqlite3 "$tmp/v16.db" ".backup '$tmp/v17.db'"
sqlite3 "$tmp/v16t.db" "$count_exec PRAGMA user_version = 16"
execs() { sqlite3 "$1" "SELECT l1, l2, value FROM counters WHERE name = 'executions' ORDER BY 1, 2"; }
before=$(execs "$tmp/v16t.db")
for s in v16t v17; do
    "$bin" run "$tmp/fresh.yaml" --input "$tmp/fresh.json" --org "$org" --store "$tmp/$s.db" > /dev/null 2>&1
    "$bin" run "$tmp/fresh.yaml" --input "$tmp/fresh.json" --org "$org" --store "$tmp/$s.db" > /dev/null 2>&1
done
expect "a schema 16 store is migrated to the latest on open, its execution triggers dropped" 0     "$latest|0" -- sqlite3 "$tmp/v16t.db" "SELECT (SELECT user_version FROM pragma_user_version),
    count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'count_exec%'"
expect "its counters go on counting each execution once" 0     "$(printf '%s\n' "$before" 'fresh|running|2' 'fresh|success|2' | LC_ALL=C sort)" -- execs "$tmp/v16t.db"
expect "its counters are those of the same store made at the latest schema" 0     "$(execs "$tmp/v17.db")" -- execs "$tmp/v16t.db"
sqlite3 "$tmp/future.db" "PRAGMA user_version = 99"
expect "a store from a newer scenarist is refused" 1 \
    "scenarist: store $tmp/future.db has schema version 99; this scenarist knows up to $latest: use a newer scenarist" \
    -- "$bin" executions --org "$org" --store "$tmp/future.db"
# Several processes creating one new store at once: the one that waited for the write
# turn finds the schema made, and migrates nothing again (it failed with "migration:
# table executions already exists" in 53 of 80 such starts).
bad=
mkdir -p "$tmp/race"
for r in $(seq 10); do
    pids=()
    : > "$tmp/race/r$r.db" # empty: each process finds no schema and makes it
    for i in 1 2 3 4; do # run creates a store (a read refuses an empty file, tests/cli)
        "$bin" run "$tmp/fresh.yaml" --input "$tmp/fresh.json" --org "$org" --store "$tmp/race/r$r.db" > /dev/null 2> "$tmp/race.$r.$i" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || bad="$bad $r"; done
    "$bin" incomplete list --org "$org" --store "$tmp/race/r$r.db" > "$tmp/race.$r.0" 2>&1 || bad="$bad $r"
done
expect "four processes creating one store at once all open it (10 rounds)" 0 \
    "no incomplete executions" -- bash -c "cat '$tmp'/race.* | sort -u; echo -n '$bad'"
