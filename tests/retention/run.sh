#!/usr/bin/env bash
# Retention as an operator meets it, on the test clock: the retention: declaration and its
# errors, prune --dry-run and prune (exact rows per table and status before and after),
# executions still waiting kept, the audit archive proved by verify and a tampered archive
# caught, incremental vacuum (and --vacuum for an older store); then on the real clock a
# prune while the daemon takes webhooks (every one 202 and stored) and a backup of the
# live store that opens, verifies and holds the executions.
# usage: tests/retention/run.sh SCENARIST STUB
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
cd "$(dirname "$0")/../.."
fx=tests/retention/fixtures
suite=retention
. tests/lib.sh
suite_tmp
export KEEP_AUDIT_KEY=keep-audit-key-0123456789abcdef0123456789 USER=tester
unset SCENARIST_CLOCK

start_stub "$tmp" "$fx/replies.json"
stub_org "$fx/org.yaml.in" "$tmp"
sed -i "s|@DIR@|$tmp|" "$tmp/org.yaml"
org=$tmp/org.yaml
db=$tmp/store/scenarist.db
arch=$tmp/archive/audit-keep.jsonl
at() { SCENARIST_CLOCK=test:$1 "${@:2}"; }
run() { at "$1" "$bin" run "$fx/$2.yaml" --input "$fx/empty.json" --org "$org" --no-retry > /dev/null 2>&1; }
q() { sqlite3 "$db" "$1"; }

# ---- the declaration ----
cat > "$tmp/bad.yaml" <<YAML
name: bad
connections: {}
retention:
  executions: { success: 10m, queued: 3d }
  batch: 0
  audit: { archive_after: 365d, to: $tmp/a }
YAML
expect "retention's mistakes are named at file:line:col" 2 "$tmp/bad.yaml:4:26: error: success keeps rows for 10m: retention is at least 1h (people look at what just ran)
    4 |   executions: { success: 10m, queued: 3d }
      |                          ^~~
$tmp/bad.yaml:4:31: error: unknown key 'queued' in 'executions'
    4 |   executions: { success: 10m, queued: 3d }
      |                               ^~~~~~
$tmp/bad.yaml:5:10: error: batch must be from 1 to 10000 rows (a bigger transaction holds the write turn longer, delaying webhooks)
    5 |   batch: 0
      |          ^
$tmp/bad.yaml:6:10: error: archiving the audit log needs the org's audit key (audit.key): the archive's checkpoint is signed with it
    6 |   audit: { archive_after: 365d, to: $tmp/a }
      |          ^" -- "$bin" prune --org "$tmp/bad.yaml"

# ---- a history: a year-old write, January's runs, March's and April's ----
at 2025-01-10T09:00:00Z "$bin" deploy "$fx/write.yaml" --org "$org" > /dev/null # a person's row, archived
run 2025-01-10T09:00:00Z write
run 2026-01-05T09:00:00Z write
run 2026-01-05T09:01:00Z fail
run 2026-01-05T09:02:00Z retry
run 2026-01-05T09:03:00Z retry
run 2026-01-05T09:04:00Z item
run 2026-01-05T09:05:00Z item
run 2026-01-05T09:06:00Z shadow
run 2026-03-01T09:00:00Z write
run 2026-03-01T09:01:00Z fail
run 2026-04-01T09:00:00Z write
at 2026-01-06T09:00:00Z "$bin" incomplete discard 20260105-090300-000001 --org "$org" > /dev/null
at 2026-01-06T09:00:00Z "$bin" queue resolve 1 --org "$org" > /dev/null
before="error|2
success|7
warning|2"
expect "the history: executions per status" 0 "$before" \
    -- q "SELECT status, count(*) FROM executions GROUP BY status ORDER BY status"
expect "and its step records, closed and open items, shadowed writes, audit rows" 0 "13|1|1|1|12" \
    -- q "SELECT (SELECT count(*) FROM step_runs), (SELECT count(*) FROM queue_items WHERE state = 'resolved'),
           (SELECT count(*) FROM queue_items WHERE state = 'open'), (SELECT count(*) FROM shadow_writes),
           (SELECT count(*) FROM audit)"

# ---- prune: a dry run says it all and removes nothing ----
listing="executions success: 6 %s (step records: 6)
executions warning: 1 %s (step records: 2)
executions error: 1 %s (step records: 1)
queue items resolved: 1 %s
shadowed writes: 1 %s
audit rows: 3 %s $arch"
printf -v want "$listing" "would be removed" "would be removed" "would be removed" \
    "would be removed" "would be removed" "would be archived to"
expect "prune --dry-run: per table and status, what would go" 0 "$want" \
    -- at 2026-04-10T09:00:00Z "$bin" prune --dry-run --org "$org"
expect "a dry run removes nothing" 0 "$before" \
    -- q "SELECT status, count(*) FROM executions GROUP BY status ORDER BY status"
check "a dry run writes no archive" test ! -e "$arch"
printf -v want "$listing" removed removed removed removed removed "archived to"
expect "prune: what went" 0 "$want" -- at 2026-04-10T09:00:00Z "$bin" prune --org "$org"
expect "left: March's error, April's success, the incomplete execution still pending" 0 \
    "fail|error|2026-03-01
retry|warning|2026-01-05
write|success|2026-04-01" \
    -- q "SELECT scenario, status, date(started_at / 1000, 'unixepoch') FROM executions ORDER BY scenario"
expect "left: their step records, the open item, no shadowed write, audit rows 4 to 12" 0 "4|0|1|0|4|12" \
    -- q "SELECT (SELECT count(*) FROM step_runs), (SELECT count(*) FROM queue_items WHERE state = 'resolved'),
           (SELECT count(*) FROM queue_items WHERE state = 'open'), (SELECT count(*) FROM shadow_writes),
           (SELECT min(id) FROM audit), (SELECT max(id) FROM audit)"
expect "the pending retry is still there for its person" 0 "20260105-090200-000001|pending" \
    -- q "SELECT execution, state FROM incomplete"
expect "a second prune finds nothing" 0 "nothing to prune" -- at 2026-04-10T09:00:00Z "$bin" prune --org "$org"
expect "pruned pages went back to the disk (a new store is incremental)" 0 "2
0" -- q "PRAGMA auto_vacuum; PRAGMA freelist_count"

# ---- the audit archive ----
expect "the archive: three rows, then a checkpoint line" 0 "1 2025-01-10T09:00:00.000Z
2 2025-01-10T09:00:00.000Z
3 2025-01-10T09:00:00.000Z
checkpoint 3 keep" -- bash -c "jq -r 'if .checkpoint then \"checkpoint \\(.checkpoint.through) \\(.checkpoint.org)\" else \"\\(.id) \\(.at / 1000 | strftime(\"%Y-%m-%dT%H:%M:%S.000Z\"))\" end' '$arch'"
expect "each archived row is the store's row, every column; a person's row with its actor" 0 "deploy|done|tester
POST|pending|null
201|ok" \
    -- bash -c "jq -r 'select(.id != null and .id <= 2) | \"\\(.method)|\\(.outcome)|\\(.actor)\"' '$arch'; jq -r 'select(.id == 3) | \"\\(.status)|\\(.outcome)\"' '$arch'"
cp_at=$(jq -r 'select(.checkpoint) | .checkpoint.at' "$arch")
cp_hash=$(jq -r 'select(.checkpoint) | .checkpoint.last_hash' "$arch" | cut -c1-16)
expect "verify without the archive proves the rest and names the archive" 0 \
    "audit log of org keep: every row intact from row 4; rows before id 4 were archived to $arch (checkpoint of $cp_at, last hash $cp_hash...): verify them with --archive $arch" \
    -- at 2026-04-10T09:00:00Z "$bin" audit verify --org "$org"
expect "verify --archive proves archive and store as one chain" 0 \
    "audit log of org keep: every row intact, rows 1 to 3 from archive $arch and the rest in the store, one chain" \
    -- "$bin" audit verify --org "$org" --archive "$arch"
cp "$arch" "$tmp/arch.orig"
sed -i '3s/"status":201/"status":200/' "$arch"
expect "an edited archive row fails verify, naming the row and the line" 1 \
    "audit log of org keep: row 3 in archive $arch (line 3) was changed or forged: its contents do not match its HMAC" \
    -- "$bin" audit verify --org "$org" --archive "$arch"
sed '1s/"actor":"tester"/"actor":"mallory"/' "$tmp/arch.orig" > "$arch"
expect "so does an archived row whose person was changed" 1 \
    "audit log of org keep: row 1 in archive $arch (line 1) was changed or forged: its contents do not match its HMAC" \
    -- "$bin" audit verify --org "$org" --archive "$arch"
sed '1d' "$tmp/arch.orig" > "$arch"
expect "a deleted archive row fails verify" 1 \
    "audit log of org keep: row 1 is missing from archive $arch (line 1 holds row 2): it was deleted" \
    -- "$bin" audit verify --org "$org" --archive "$arch"
cp "$tmp/arch.orig" "$arch"
expect_grep "the database still refuses to delete a row not archived" 19 "the audit log is append-only" \
    -- q "DELETE FROM audit WHERE id = 4"
q "UPDATE audit_archive SET through = 5"
expect "a moved archive checkpoint is caught" 1 \
    "audit log of org keep: row 5 is where the store's archive checkpoint says the archive ends, but the checkpoint does not carry the audit key's HMAC: it was edited" \
    -- "$bin" audit verify --org "$org"
q "UPDATE audit_archive SET through = 3"

# ---- a backup carries the audit log and its archive checkpoint ----
"$bin" store backup --to "$tmp/keep-copy.db" --org "$org" > /dev/null
expect "the backup passes audit verify with the org's audit key" 0 \
    "audit log of org keep: every row intact, rows 1 to 3 from archive $arch and the rest in the store, one chain" \
    -- "$bin" audit verify --org "$org" --store "$tmp/keep-copy.db" --archive "$arch"
expect "and holds the executions" 0 "$(q "SELECT id FROM executions ORDER BY id")" \
    -- sqlite3 "$tmp/keep-copy.db" "SELECT id FROM executions ORDER BY id"
expect_grep "without the audit key it cannot be verified" 1 "audit key: " \
    -- env -u KEEP_AUDIT_KEY "$bin" audit verify --org "$org" --store "$tmp/keep-copy.db"

# ---- space: an older store is made incremental once ----
cp "$db" "$tmp/old.db"
sqlite3 "$tmp/old.db" "PRAGMA journal_mode = DELETE; PRAGMA auto_vacuum = NONE; VACUUM;" > /dev/null
expect_grep "prune on an older store says how to get the space back" 0 \
    "note: this store was made before incremental vacuum, so pruned space is reused but not given back to the disk: run \`scenarist prune --vacuum\` once" \
    -- at 2026-04-10T09:00:00Z "$bin" prune --org "$org" --store "$tmp/old.db"
expect_grep "prune --vacuum makes it incremental" 0 "the store now gives pruned space back as it goes (incremental)" \
    -- at 2026-04-10T09:00:00Z "$bin" prune --vacuum --org "$org" --store "$tmp/old.db"
expect "and from then on it is" 0 "2" -- sqlite3 "$tmp/old.db" "PRAGMA auto_vacuum"

# ---- on the real clock: prune during intake, a backup of the live store ----
live=$tmp/live
mkdir -p "$live"
echo 0 > "$live/port"
stub_org "$fx/live/org.yaml.in" "$live"
ldb=$live/store/scenarist.db
"$bin" deploy "$fx/live/hook.yaml" --org "$live/org.yaml" > /dev/null # makes the store (a read would not)
# 1500 successes of two days ago, two step records each: what the daemon prunes
sqlite3 "$ldb" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
  INSERT INTO executions(id, scenario, org, version, status, started_at, finished_at)
  SELECT 'old-' || i, 'old', 'live', '1', 'success', CAST(strftime('%s', 'now', '-2 days') AS INTEGER) * 1000 + i,
         CAST(strftime('%s', 'now', '-2 days') AS INTEGER) * 1000 + i + 5 FROM n;
  INSERT INTO step_runs(execution, attempt, step, module, bundle, status, started_at)
  SELECT id, 1, s.step, 'set', '1', 'success', started_at FROM executions, (SELECT 'a' AS step UNION ALL SELECT 'b') s;"
"$bin" serve "$fx/live/hook.yaml" --org "$live/org.yaml" --listen 127.0.0.1:0 2> "$live/log" &
dpid=$!
url=$(daemon_url "$live/log")
codes=$tmp/codes
: > "$codes"
for i in $(seq 1 200); do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
        --data "{\"n\": $i}" "$url/hooks/in" >> "$codes"
    [ "$i" = 100 ] && "$bin" store backup --to "$tmp/during.db" --org "$live/org.yaml" > /dev/null 2>&1
done
expect "every webhook taken while the daemon pruned: 200 times 202" 0 "200 202" \
    -- bash -c "sort '$codes' | uniq -c | sed 's/^ *//'"
for _ in $(seq 1500); do
    [ "$(sqlite3 "$ldb" "SELECT count(*) FROM executions WHERE scenario = 'old'")" = 0 ] &&
    [ "$(sqlite3 "$ldb" "SELECT count(*) FROM executions WHERE scenario = 'hook' AND status = 'success'")" = 200 ] && break
    sleep 0.04
done
expect "the old executions and their steps are gone, every webhook's execution stored" 0 "0|0|200" \
    -- sqlite3 "$ldb" "SELECT (SELECT count(*) FROM executions WHERE scenario = 'old'),
        (SELECT count(*) FROM step_runs WHERE execution LIKE 'old-%'),
        (SELECT count(*) FROM executions WHERE scenario = 'hook' AND status = 'success')"
expect_grep "the daemon says what it pruned" 0 'pruned: {"executions":{"success":800},"step_runs":{"success":1600}}' \
    -- cat "$live/log"
check "the backup taken during intake opens" "$bin" executions --org "$live/org.yaml" --store "$tmp/during.db"
expect "the backup: exact words, the seal key left out" 0 "backup of org live's store to $tmp/after.db: a consistent copy as of its start
the seal key ($ldb.key) is not in the backup: keep a copy of it apart; the backup's confidential data opens only with it (as $tmp/after.db.key)" \
    -- "$bin" store backup --to "$tmp/after.db" --org "$live/org.yaml"
check "no key file beside the backup" test ! -e "$tmp/after.db.key"
expect "the backup holds the executions" 0 "200" \
    -- bash -c "'$bin' executions --org '$live/org.yaml' --store '$tmp/after.db' --scenario hook --limit 1000 --json | jq length"
expect "a backup is never written over a file" 1 "scenarist: backup $tmp/after.db: the file exists; not overwritten" \
    -- "$bin" store backup --to "$tmp/after.db" --org "$live/org.yaml"
kill -TERM $dpid; wait $dpid 2>/dev/null; dpid=
