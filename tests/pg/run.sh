#!/usr/bin/env bash
# The PostgreSQL store on a private cluster (tests/pg/cluster.sh): the store contract
# suite, the org's password rule, three daemons sharing one store through a kill -9 (every
# acknowledged event run once, no write sent under two keys, a sequential scenario one at a
# time in order, the audit chain linear), a schedule's slots fired once by three daemons on
# the test clock, and `store migrate` from an SQLite file.
# usage: tests/pg/run.sh SCENARIST STUB CONTRACT-SUITE [EVENTS CONCURRENCY]
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
contract=$(realpath "$3")
events=${4:-300}
conc=${5:-16}
cd "$(dirname "$0")/../.."
suite=pg
. tests/lib.sh
. tests/pg/cluster.sh
fx=tests/pg/fixtures

if ! pg_cluster_bindir >/dev/null; then
    echo "ok - $suite # SKIP no PostgreSQL server programs (initdb, pg_ctl): tools/install-deps installs postgresql"
    exit 0
fi
tmp=$(mktemp -d); [ -n "${PG_KEEP:-}" ] && echo "# kept: $tmp"
spid=
pids=()
cleanup() {
    for p in "${pids[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
    [ -n "$spid" ] && kill "$spid" 2>/dev/null
    pg_cluster_stop
    [ -n "${PG_KEEP:-}" ] || rm -rf "$tmp"
}
pg_cluster_start || { echo "not ok - $suite the private cluster did not start"; exit 1; }
trap cleanup EXIT # after the cluster's own
uri=$SCENARIST_TEST_PG
export SERVE_HRIS_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
export PG_STORE_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
export PG_AUDIT_KEY=pg-test-audit-key-0123456789abcdef0123456789
export PG_ADMIN_TOKEN=pg-admin-token-0123456789
unset SCENARIST_CLOCK
export CMOCKA_MESSAGE_OUTPUT=TAP

# ---- the contract suite, the same tests as SQLite's ----
SCENARIST_CONTRACT_ONLY=postgresql "$contract" 2>&1 | grep -E '^(not )?ok |^#'

# sql QUERY [URI]: the store's answer, one row a line, columns by '|'.
sql() { "$PG_BIN/psql" "${2:-$uri}" -XAt -c "$1" 2>&1; }
wait_sql() { # QUERY WANT [URI]
    for _ in $(seq 1500); do [ "$(sql "$1" "${3:-$uri}")" = "$2" ] && return 0; sleep 0.04; done
    return 1
}
# org DIR URI: DIR/org.yaml for the store at URI and the stub of DIR.
org() {
    local esc
    esc=$(printf '%s' "$2" | sed 's/[&|\\]/\\&/g')
    sed -e "s/@PORT@/$(cat "$1/port")/g" -e "s|@STORE@|$esc|" $fx/org.yaml.in > "$1/org.yaml"
}
# daemon N PATH ARGS...: starts daemon N (log $tmp/dN.log), its URL in urls[N].
declare -a urls
daemon() {
    local n=$1 p=$2
    shift 2
    : > "$tmp/d$n.log"
    "$bin" serve "$p" --org "$tmp/org.yaml" --listen 127.0.0.1:0 "$@" 2>>"$tmp/d$n.log" &
    pids[$n]=$!
    urls[$n]=$(daemon_url "$tmp/d$n.log")
}
write_urls() { printf '%s\n' "${urls[@]}" | grep . > "$tmp/urls.new"; mv "$tmp/urls.new" "$tmp/urls"; }

# ---- the org names the password by a secret reference, never the password ----
printf 'name: pw\nstore: "postgresql://scenarist:hunter2@db.example/scenarist"\nstore_key: env:K\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms }\n' > "$tmp/pw.yaml"
expect "a password in the store URI is refused at its line" 2 \
"$tmp/pw.yaml:2:1: error: a PostgreSQL store's password is never written in the org file: name it by a secret reference, postgresql://USER@HOST/DB?password=env:NAME (or file:PATH)
    2 | store: \"postgresql://scenarist:***@db.example/scenarist\"
      | ^~~~~
scenarist: org '$tmp/pw.yaml' does not load; nothing validated" \
    -- "$bin" validate --org "$tmp/pw.yaml" $fx/hooks/employee.yaml
printf 'name: pw\nstore: "postgresql://scenarist@db.example/scenarist?password=hunter2"\nstore_key: env:K\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms }\n' > "$tmp/pw.yaml"
expect_grep "so is password= with the password itself" 2 \
    "error: the store's password must be a secret reference, password=env:NAME or password=file:PATH, never the password itself" \
    -- "$bin" validate --org "$tmp/pw.yaml" $fx/hooks/employee.yaml
# ---- three daemons share one store; one is killed mid-run and restarted ----
cat > "$tmp/replies.json" <<'EOF'
[{"method": "PUT", "path": "/lms/learners/*", "status": 200, "delay_ms": 20, "body": {"ok": true}}]
EOF
start_stub "$tmp" "$tmp/replies.json"
org "$tmp" "$uri"
printf 'name: pw\nstore: "postgres://scenarist@db.example/scenarist?password=env:PGPW"\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms }\n' > "$tmp/pw.yaml"
expect_grep "a PostgreSQL store needs its store_key" 2 \
    "error: a PostgreSQL store needs store_key (a secret reference to 64 hexadecimal digits): no key file lives beside a database on another machine, and confidential data is sealed with it" \
    -- "$bin" validate --org "$tmp/pw.yaml" $fx/hooks/employee.yaml
pwuri="${uri}&password=env:PG_TEST_PASSWORD"
expect "a password reference that is not set names itself" 1 \
    "scenarist: store $pwuri: its password: secret env:PG_TEST_PASSWORD is not set in the environment" \
    -- env -u PG_TEST_PASSWORD "$bin" executions --org "$tmp/org.yaml" --store "$pwuri"
expect "a store that cannot be reached says so (no daemon, no 202)" 1 \
    "scenarist: store postgresql:///nowhere?host=$tmp/none: cannot connect: connection to server on socket \"$tmp/none/.s.PGSQL.5432\" failed: No such file or directory
	Is the server running locally and accepting connections on that socket?" \
    -- "$bin" executions --org "$tmp/org.yaml" --store "postgresql:///nowhere?host=$tmp/none"
# a state folder never takes a PostgreSQL URI for a file under it (flag, environment, serve)
expect "--state-dir: a postgresql:// store is the database, not a file under the folder" 1 \
    "employee-changed has no version in org pgtest" \
    -- "$bin" versions employee-changed --org "$tmp/org.yaml" --state-dir "$tmp/D"
expect "SCENARIST_STATE_DIR: the same" 1 "employee-changed has no version in org pgtest" \
    -- env SCENARIST_STATE_DIR="$tmp/D" "$bin" versions employee-changed --org "$tmp/org.yaml"
check "nothing was made under the folder" test ! -e "$tmp/D"

mkdir -p "$tmp/D"
daemon 1 $fx/hooks --workers 4 --admin-listen 127.0.0.1:0
daemon 2 $fx/hooks --workers 4
daemon 3 $fx/hooks --workers 4 --config-dir "$tmp/D" --state-dir "$tmp/D"
write_urls
for _ in $(seq 3000); do grep -q 'admin API on' "$tmp/d1.log" && break; sleep 0.02; done
api=$(grep -o 'admin API on http://127.0.0.1:[0-9]*/api/v1' "$tmp/d1.log" | sed 's/admin API on //')
# api METHOD PATH [BODY]: "STATUS BODY" from daemon 1's admin API, as its admin
api() {
    local args=(-s -o "$tmp/resp" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $PG_ADMIN_TOKEN")
    [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" "$api$2"
    printf ' %s' "$(cat "$tmp/resp")"
}
check "three daemons serve one PostgreSQL store (no store lock)" \
    test "$(grep -c 'listening on' "$tmp/d1.log" "$tmp/d2.log" "$tmp/d3.log" | grep -c ':1$')" = 3
t0=$(date +%s.%N)
python3 tests/pg/send.py "$tmp/urls" "$events" "$conc" "$tmp/sent" &
sender=$!
# the second daemon is killed once a third of the events are in, then started again
for _ in $(seq 3000); do
    [ "$(sql "SELECT count(*) >= $events / 3 FROM executions")" = t ] && break
    sleep 0.02
done
kill -9 "${pids[2]}"
{ wait "${pids[2]}"; } 2>/dev/null
urls[2]=
write_urls
# sequential: role changes one at a time, each to the next daemon, in this order
for i in $(seq 1 12); do
    u=$(sed -n "$(( (i % 2) + 1 ))p" "$tmp/urls")
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"employee_id\": \"R\", \"title\": \"T$i\"}" "$u/hooks/hris/role-changed"
done
daemon 2 $fx/hooks --workers 4
write_urls
wait $sender
t1=$(date +%s.%N)
acked=$(awk '$2 == 202 || $2 == 200' "$tmp/sent" | wc -l)
expect "every event was acknowledged by some daemon (202; 200 when a retry found it stored)" 0 \
    "$events" -- echo "$acked"
check "every execution ends" wait_sql "SELECT count(*) FROM executions WHERE status NOT IN ('success', 'error', 'warning')" 0
t2=$(date +%s.%N)
echo "# $events webhooks at $conc connections to 3 daemons (one killed and restarted):" \
     "acknowledged in $(echo "$t1 - $t0" | bc) s, all run in $(echo "$t2 - $t0" | bc) s"
awk '$2 == 202 || $2 == 200 {print $3}' "$tmp/sent" | sort -u > "$tmp/acked-ids"
sql "SELECT id FROM executions WHERE scenario = 'employee-changed' AND status = 'success' ORDER BY id" > "$tmp/ok-ids"
LC_ALL=C sort -o "$tmp/acked-ids" "$tmp/acked-ids"
LC_ALL=C sort -o "$tmp/ok-ids" "$tmp/ok-ids"
expect "every acknowledged event has exactly one execution, and it succeeded" 0 "" \
    -- diff "$tmp/acked-ids" "$tmp/ok-ids"
expect "nothing else ran (no execution twice, none failed)" 0 "$events|12" \
    -- sql "SELECT count(*) FILTER (WHERE scenario = 'employee-changed'), count(*) FILTER (WHERE scenario = 'role-sequence') FROM executions WHERE status = 'success'"
# every learner's PUT went out under one Idempotency-Key only (a replay after the kill
# repeats the same key): no write was applied twice
python3 - "$tmp/journal" > "$tmp/keys" <<'EOF'
import json, sys, collections
keys = collections.defaultdict(set)
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j["method"] == "PUT" and j["path"].count("/") == 3:
        keys[j["path"]].add(j["headers"].get("idempotency-key"))
print(len(keys), sum(len(v) > 1 for v in keys.values()))
EOF
expect "the stub saw each learner written under one Idempotency-Key (replays repeat it)" 0 \
    "$events 0" -- cat "$tmp/keys"
expect "the sequential scenario's executions never overlapped" 0 "0" \
    -- sql "SELECT count(*) FROM executions a JOIN executions b ON a.scenario = b.scenario
            AND a.id < b.id WHERE a.scenario = 'role-sequence'
            AND a.started_at < b.finished_at AND b.started_at < a.finished_at"
expect "and ran in arrival order across the daemons" 0 "T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12" \
    -- sh -c "grep -o '\"title\":\"T[0-9]*\"' '$tmp/journal' | cut -d'\"' -f4 | tr '\n' ' ' | sed 's/ \$//'"
expect "the audit chain stayed one line through concurrent appends" 0 \
    "audit log of org pgtest: every row intact" -- "$bin" audit verify --org "$tmp/org.yaml"
# taken over: a step the kill cut off is interrupted (a crash is no new attempt). Counted
# after the fact: the running rows counted before the kill were every daemon's, and the
# killed one's may end before it.
if [ "$(sql "SELECT count(*) FROM step_runs WHERE status = 'interrupted'")" -gt 0 ]; then
    check "what the killed daemon ran was taken over once its lease lapsed" \
        grep -q "left unfinished by a stopped process" "$tmp/d1.log" "$tmp/d2.log" "$tmp/d3.log"
fi
# the /metrics counters, kept by every daemon's statements and folded by their heartbeats
# (no scrape): each success counted once, whichever daemon ran it
check "the daemons' heartbeats fold the counted changes into the counters" \
    wait_sql "SELECT count(*) FROM counter_changes" 0
expect "the counters count each success once across the daemons" 0 "t" \
    -- sql "SELECT (SELECT sum(value) FROM counters WHERE name = 'executions' AND l2 = 'success') = (SELECT count(*) FROM executions WHERE status = 'success')"
check "the daemon given --state-dir served the PostgreSQL store: no file under the folder" \
    test -z "$(ls -A "$tmp/D")"
# the queues' depth over 90 days: the day's last millisecond as a bigint (an int4 overflowed
# from 25 days on)
sql "INSERT INTO queue_items(id, queue, item, execution, created_at) VALUES(1000, 'orphans', '{\"id\":\"E1\"}', NULL, (extract(epoch FROM now()) * 1000)::bigint - 30::bigint * 86400000)" >/dev/null
depth90() {
    local out
    out=$(api GET '/queues/depth?days=90')
    printf '%s %s' "${out%% *}" "$(jq -r '[(.days | length), (.queues.orphans | length), (.queues.orphans | add)] | map(tostring) | join(" ")' "$tmp/resp")"
}
expect "GET /queues/depth?days=90 on PostgreSQL: 90 days, the item open on the last 31" 0 \
    "200 90 90 31" -- depth90
# PostgreSQL stops: a webhook is answered 503 (send it again), nothing is half-stored; once
# it is back the daemons reconnect and take events again
expect "/readyz answers 200 while PostgreSQL is up" 0 '{"status":"ready"}' -- curl -s "${urls[1]}/readyz"
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
down() {
    local b='{"employee_id": "D1", "email": "d1@example.com"}' ts
    ts=$(date +%s)
    curl -s -o "$tmp/down" -w '%{http_code}' -X POST -H 'Content-Type: application/json'         -H "webhook-id: msg_D1" -H "webhook-timestamp: $ts"         -H "webhook-signature: $(std_secret=$SERVE_HRIS_SECRET std_sign msg_D1 "$ts" "$b")"         --data-binary "$b" "${urls[1]}/hooks/hris/employee-changed"
    printf ' %s' "$(cat "$tmp/down")"
}
expect "PostgreSQL down: the webhook gets 503, to be sent again" 0     '503 {"error":"the event could not be stored; send it again"}' -- down
# a store that fails is not "not found": 503, not 409 or 404
expect "PostgreSQL down: resolving a queue item is 503 (not 409 no open item)" 0 \
    '503 {"error":"store unavailable"}' -- api POST /queue-items/5/resolve '{"note": "checked"}'
expect "approving a hold is 503 (not 404 no such hold)" 0 \
    '503 {"error":"store unavailable"}' -- api POST /holds/6/approve '{"reason": "checked"}'
expect "reading a hold is 503 (not 404)" 0 '503 {"error":"store unavailable"}' -- api GET /holds/6
expect "reading an execution is 503 (not 404)" 0 '503 {"error":"store unavailable"}' -- api GET /executions/x1
expect "reading a version is 503 (not 404 no such version)" 0 '503 {"error":"store unavailable"}' \
    -- api GET /scenarios/employee-changed/versions/1
expect "retrying an incomplete execution is 503 (not 404)" 0 \
    '503 {"error":"store unavailable"}' -- api POST /incomplete/x1/retry '{"reason": "again"}'
nosock="connection to server on socket \"$PG_DIR/.s.PGSQL.5432\" failed: No such file or directory
	Is the server running locally and accepting connections on that socket?"
expect "and /readyz answers 503 at once, saying why without the store's address (anyone may ask)" 0 \
    "503 the store cannot be reached" \
    -- sh -c "curl -s -o '$tmp/ready' -w '%{http_code}' '${urls[1]}/readyz'; printf ' %s' \"\$(jq -r .reason '$tmp/ready')\""
expect "the address and libpq's words on it are in the daemon's log" 0 \
    "the store cannot be reached: store $uri: begin: cannot connect: $nosock" \
    -- sh -c "grep -A1 -m1 'the store cannot be reached' '$tmp/d1.log' | sed 's/^[^ ]* info scenarist: //'"
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' -c fsync=off -c max_connections=200" start >/dev/null
out=$(down)
out2=$(down)
expect "back up: the daemon reconnects; the event is taken once (a repeat is a duplicate)" 0 "202 200 1" \
    -- echo "${out%% *} ${out2%% *} $(sql "SELECT count(*) FROM executions WHERE dedupe = 'msg_D1'")"
check "and run" wait_sql "SELECT status FROM executions WHERE dedupe = 'msg_D1'" success
# wait_ready URL CODE: polls URL/readyz (up to 60 s) until it answers CODE; the body in $tmp/ready
wait_ready() {
    for _ in $(seq 3000); do
        [ "$(curl -s -o "$tmp/ready" -w '%{http_code}' "$1/readyz")" = "$2" ] && return 0
        sleep 0.02
    done
    return 1
}
check "/readyz is 200 again once PostgreSQL is back" wait_ready "${urls[1]}" 200
# PostgreSQL restarts while the daemons are idle: /readyz follows it (its own look, once a
# second at most), and the first webhook after it, on an intake connection the server
# closed while it was idle, is stored (202), not refused
check "idle: every execution ended" \
    wait_sql "SELECT count(*) FROM executions WHERE status NOT IN ('success', 'error', 'warning')" 0
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
check "PostgreSQL stopped under idle daemons: /readyz answers 503 (no webhook needed)" \
    wait_ready "${urls[3]}" 503
expect "with the reason in its JSON" 0 \
    "not ready|the store cannot be reached" \
    -- jq -r '.status + "|" + .reason' "$tmp/ready"
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' -c fsync=off -c max_connections=200" start >/dev/null
idle_hook() { # the first webhook daemon 2 gets after the restart
    local b='{"employee_id": "I1", "email": "i1@example.com"}' ts
    ts=$(date +%s)
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "webhook-id: msg_I1" -H "webhook-timestamp: $ts" \
        -H "webhook-signature: $(std_secret=$SERVE_HRIS_SECRET std_sign msg_I1 "$ts" "$b")" \
        --data-binary "$b" "${urls[2]}/hooks/hris/employee-changed"
}
expect "the first webhook after PostgreSQL came back is stored: 202, not 503" 0 "202" -- idle_hook
expect "once" 0 "1" -- sql "SELECT count(*) FROM executions WHERE dedupe = 'msg_I1'"
check "and run" wait_sql "SELECT status FROM executions WHERE dedupe = 'msg_I1'" success
check "/readyz is 200 again on the idle daemon too" wait_ready "${urls[3]}" 200
expect "ready" 0 '{"status":"ready"}' -- cat "$tmp/ready"
# the timers' leader: a session lock; killed, another daemon leads at its next tick
held="FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'
      AND l.classid = 0 AND l.objid = 1544162594 AND l.granted"
check "one daemon leads the timers" wait_sql "SELECT count(*) $held" 1
lp=$(sql "SELECT a.application_name $held" | sed 's/^scenarist pid //')
kill -9 "$lp"
{ wait "$lp"; } 2>/dev/null
for n in 1 2 3; do [ "${pids[$n]}" = "$lp" ] && pids[$n]=; done
check "a kill -9 of the leader hands the lead to another daemon" \
    wait_sql "SELECT count(*) $held AND a.application_name <> 'scenarist pid $lp'" 1
for n in 1 2 3; do [ -n "${pids[$n]}" ] || continue
    kill -TERM "${pids[$n]}"; wait "${pids[$n]}"; rc=$?
    [ $rc = 0 ] || { echo "not ok - $suite daemon $n exited with status $rc"; tail -20 "$tmp/d$n.log" | sed 's/^/# /'; }
    pids[$n]=
done

# ---- a schedule slot fires once across three daemons (test clock) ----
suri=$(pg_cluster_db sched)
mkdir -p "$tmp/s"
cat > "$tmp/s/ok.json" <<'EOF'
[{"method": "POST", "path": "/ops/*", "status": 200, "body": {"ok": true}}]
EOF
start_stub "$tmp/s" "$tmp/s/ok.json"
org "$tmp/s" "$suri"
# each daemon's test clock runs apart from the others': a lease longer than the run keeps
# one daemon's lease from looking expired to another whose clock ran ahead
sed 's/^lease: 2s$/lease: 1h/' "$tmp/s/org.yaml" > "$tmp/org.yaml"
export SCENARIST_CLOCK=test:2026-06-01T12:00:00Z
for n in 1 2 3; do
    "$bin" serve $fx/sched --org "$tmp/org.yaml" --listen 127.0.0.1:0 --workers 1 \
        --until 2026-06-01T12:10:30Z 2>"$tmp/s$n.log" &
    pids[$n]=$!
done
for n in 1 2 3; do wait "${pids[$n]}"; pids[$n]=; done
unset SCENARIST_CLOCK
expect "ten minutes, three daemons: each */1 slot fired once" 0 "10|10" \
    -- sql "SELECT count(*), count(DISTINCT dedupe) FROM executions WHERE scenario = 'minute'" "$suri"
expect "and the stub got each slot's POST once" 0 "10 10" \
    -- sh -c "echo \$(grep -c 'minute 2026' '$tmp/s/journal') \$(grep -o 'minute 2026[^\"]*' '$tmp/s/journal' | sort -u | wc -l)"

# ---- store migrate: an SQLite store's history copied into an empty PostgreSQL store ----
muri=$(pg_cluster_db moved)
mkdir -p "$tmp/m"
cat > "$tmp/m/ok.json" <<'EOF2'
[{"method": "PUT", "path": "/lms/learners/*", "status": 200, "body": {"ok": true}}]
EOF2
start_stub "$tmp/m" "$tmp/m/ok.json"
org "$tmp/m" "$tmp/m/scenarist.db"
cp "$tmp/m/org.yaml" "$tmp/org.yaml"
daemon 1 $fx/hooks --workers 2
write_urls
urls=("${urls[1]}")
printf '%s\n' "${urls[0]}" > "$tmp/urls"
python3 tests/pg/send.py "$tmp/urls" 20 4 "$tmp/m/sent"
for i in 1 2 3; do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"employee_id\": \"R\", \"title\": \"T$i\"}" "${urls[0]}/hooks/hris/role-changed"
done
db=$tmp/m/scenarist.db
for _ in $(seq 3000); do
    [ "$(sqlite3 "$db" "SELECT count(*) FROM executions WHERE status = 'success'")" = 23 ] && break
    sleep 0.02
done
kill -TERM "${pids[1]}"; wait "${pids[1]}"; pids[1]=
sqlite3 "$db" "INSERT INTO datastore VALUES('seen', 'E1', '{\"at\":1}', 1000, NULL);
               INSERT INTO queue_items(queue, item, execution, created_at) VALUES('orphans', '{\"id\":\"E9\"}', NULL, 2000);"
# a keyed queue item seen twice, a shadowed write and a person's decision go along
first=$(sqlite3 "$db" "SELECT id FROM executions WHERE scenario = 'role-sequence' ORDER BY id LIMIT 1")
sqlite3 "$db" "INSERT INTO queue_items(queue, item, execution, created_at, key, last_seen, times_seen, seen_by)
                   VALUES('drift', '{\"id\":\"E7\"}', '$first', 2500, 'changed:E7', 2600, 2, '$first');
               INSERT INTO shadow_writes(at, org, scenario, version, execution, step, bundle, connection,
                   method, url, status, audit_id, confidential, request) VALUES(3000, 'pgtest',
                   'role-sequence', '1', '$first', 'send', '1', 'lms', 'PUT', 'http://127.0.0.1:9/lms/learners/R',
                   200, NULL, 0, CAST('{\"headers\":{\"X-A\":\"1\"},\"body\":\"{}\"}' AS BLOB));
               INSERT INTO decisions(execution, action, decided_by, decided_at, reason, state, outcome, ended_at)
                   VALUES('$first', 'retry', 'alice', 4000, 'checked', 'done', 'success', 4500);"
# a person resolves the orphan with a note: the item's note and the audit row's person go along
SCENARIST_CLOCK=test:2026-03-09T10:00:00Z "$bin" queue resolve 1 --note 'no such employee: closed' --org "$tmp/org.yaml" >/dev/null
tables="executions step_runs incomplete holds queue_items datastore audit audit_head audit_archive trigger_state poll_seen versions shadow_writes decisions counters"
counts() { for t in $tables; do printf '%s ' "$t=$($1 "SELECT count(*) FROM $t")"; done; }
sq() { sqlite3 "$db" "$1"; }
pq() { sql "$1" "$muri"; }
want=$(counts sq)
expect "store migrate copies every table into the PostgreSQL store" 0 \
"copied $db to $muri: 23 executions, 23 step_runs, 0 incomplete, 0 holds, 2 queue_items, 1 datastore, 47 audit, 1 audit_head, 0 audit_archive, 0 trigger_state, 0 poll_seen, 0 versions, 1 shadow_writes, 1 decisions, 9 counters
check it: scenarist audit verify --org $tmp/org.yaml --store '$muri'" \
    -- "$bin" store migrate --org "$tmp/org.yaml" --from "$db" --to "$muri"
expect "row for row" 0 "$want" -- counts pq
expect "the queue item's resolution and the audit row's person are copied" 0 \
    "resolved|${USER:-operator}|2026-03-09T10:00:00.000Z|no such employee: closed
resolve|scenarist:queues/orphans/items/1|${USER:-operator}" \
    -- sh -c "'$bin' queue show 1 --org '$tmp/org.yaml' --store '$muri' | jq -r '[.state, .done_by, .done_at, .note] | join(\"|\")'; '$bin' audit --json --org '$tmp/org.yaml' --store '$muri' | jq -r '.[] | select(.by) | [.method, .sent_to, .by] | join(\"|\")'"
expect "the audit chain verifies on the target, with the same key" 0 \
    "audit log of org pgtest: every row intact" -- "$bin" audit verify --org "$tmp/org.yaml" --store "$muri"
"$bin" executions --org "$tmp/org.yaml" --json > "$tmp/m/from.json" 2>&1
expect "the executions read back the same" 0 "" \
    -- sh -c "'$bin' executions --org '$tmp/org.yaml' --store '$muri' --json | diff '$tmp/m/from.json' -"
expect "a second migration into the same store is refused, nothing copied" 1 \
    "scenarist: store $muri is not empty: a migration copies into an empty store only (nothing was copied)" \
    -- "$bin" store migrate --org "$tmp/org.yaml" --from "$db" --to "$muri"
expect "the target must be PostgreSQL" 1 \
    "scenarist: --to must be a PostgreSQL store (postgresql://...), not $tmp/m/other.db" \
    -- "$bin" store migrate --org "$tmp/org.yaml" --from "$db" --to "$tmp/m/other.db"
# the same rows read the same through every read command (each call of both backends)
one=$(sql "SELECT id FROM executions WHERE scenario = 'role-sequence' ORDER BY id LIMIT 1" "$muri")
for c in "executions --json" "executions --scenario role-sequence" "execution $one --json" \
         "metrics --json" "audit --json" "audit --execution $one" "queue list" "queue show 1" \
         "queue show 2" "shadow list --json" "incomplete list" "holds list"; do
    # shellcheck disable=SC2086
    "$bin" $c --org "$tmp/org.yaml" > "$tmp/m/a" 2>&1
    expect "$c reads the same from both stores" 0 "$(cat "$tmp/m/a")" \
        -- "$bin" $c --org "$tmp/org.yaml" --store "$muri"
done

# ---- retention on PostgreSQL: prune and the audit archive as on SQLite ----
keep() { # DIR: the org with retention, archiving to DIR
    cat "$tmp/org.yaml" - > "$tmp/m/keep-$(basename "$1").yaml" <<EOF2
retention:
  executions: { success: 30d, default: 60d }
  queue_items_closed: 30d
  shadow_writes: 30d
  audit: { archive_after: 30d, to: $1 }
EOF2
}
keep "$tmp/m/asq"; keep "$tmp/m/apg"
later=2030-01-01T00:00:00Z
SCENARIST_CLOCK=test:$later "$bin" prune --dry-run --org "$tmp/m/keep-asq.yaml" 2>&1 | sed "s|$tmp/m/asq|$tmp/m/apg|" > "$tmp/m/dry"
expect "prune --dry-run counts the same on both stores" 0 "$(cat "$tmp/m/dry")" \
    -- env SCENARIST_CLOCK=test:$later "$bin" prune --dry-run --org "$tmp/m/keep-apg.yaml" --store "$muri"
check "and removes nothing" test "$(counts pq)" = "$want"
SCENARIST_CLOCK=test:$later "$bin" prune --org "$tmp/m/keep-asq.yaml" 2>&1 | sed "s|$tmp/m/asq|$tmp/m/apg|" > "$tmp/m/went"
expect "prune removes the same on both stores" 0 "$(cat "$tmp/m/went")" \
    -- env SCENARIST_CLOCK=test:$later "$bin" prune --org "$tmp/m/keep-apg.yaml" --store "$muri"
expect "what is left is the same row for row" 0 "$(counts sq)" -- counts pq
check "the archive files are the same, byte for byte" \
    cmp "$tmp/m/asq/audit-pgtest.jsonl" "$tmp/m/apg/audit-pgtest.jsonl"
expect "verify --archive proves the PostgreSQL archive and store as one chain" 0 \
    "audit log of org pgtest: every row intact, rows 1 to 46 from archive $tmp/m/apg/audit-pgtest.jsonl and the rest in the store, one chain" \
    -- "$bin" audit verify --org "$tmp/m/keep-apg.yaml" --store "$muri" --archive "$tmp/m/apg/audit-pgtest.jsonl"
expect_grep "the database refuses to delete an audit row no checkpoint covers" 1 \
    "the audit log is append-only" -- sql "DELETE FROM audit" "$muri"
expect_grep "prune --vacuum runs VACUUM on PostgreSQL" 0 "vacuum: " \
    -- env SCENARIST_CLOCK=test:$later "$bin" prune --vacuum --org "$tmp/m/keep-apg.yaml" --store "$muri"
expect "prune --json gives the space as the server counts it" 0 "true true true" \
    -- sh -c "SCENARIST_CLOCK=test:$later '$bin' prune --json --org '$tmp/m/keep-apg.yaml' --store '$muri' | jq -r '[.space.bytes > 0, .space.tables.executions > 0, .space.incremental] | map(tostring) | join(\" \")'"
expect "store backup of a PostgreSQL store names pg_dump, writes nothing" 1 \
    "scenarist: backup $tmp/m/copy.db: store $muri is a PostgreSQL database, which scenarist does not copy: use pg_dump (pg_dump --format=custom --file=$tmp/m/copy.db '$muri'; restore with pg_restore)" \
    -- "$bin" store backup --to "$tmp/m/copy.db" --org "$tmp/org.yaml" --store "$muri"
check "no file" test ! -e "$tmp/m/copy.db"
# a person's action on PostgreSQL itself: the note kept, the audit row under their name
expect "queue resolve --note on PostgreSQL: the item keeps the note, the log the person, the chain intact" 0 \
    "queue item 2 resolved by ${USER:-operator}: drift fixed in the LMS
resolved|${USER:-operator}|drift fixed in the LMS
resolve|${USER:-operator}|$(printf 'drift fixed in the LMS' | sha256sum | cut -c1-64)
audit log of org pgtest: every row intact, rows 1 to 46 from archive $tmp/m/apg/audit-pgtest.jsonl and the rest in the store, one chain" \
    -- sh -c "'$bin' queue resolve 2 --note 'drift fixed in the LMS' --org '$tmp/org.yaml' --store '$muri'; '$bin' queue list drift --status resolved --json --org '$tmp/org.yaml' --store '$muri' | jq -r '.[] | [.state, .done_by, .note] | join(\"|\")'; '$bin' audit --json --org '$tmp/org.yaml' --store '$muri' | jq -r '.[-1] | [.method, .by, .body_sha256] | join(\"|\")'; '$bin' audit verify --org '$tmp/m/keep-apg.yaml' --store '$muri' --archive '$tmp/m/apg/audit-pgtest.jsonl'"

# ---- retries on the shared store: an incomplete execution retried on its schedule ----
ruri=$(pg_cluster_db retry)
mkdir -p "$tmp/r"
cat > "$tmp/r/flaky.json" <<'EOF2'
[{"method": "PUT", "path": "/lms/learners/*", "status": 503, "times": 2, "body": {"error": "busy"}},
 {"method": "PUT", "path": "/lms/learners/*", "status": 200, "body": {"ok": true}},
 {"method": "POST", "path": "/ops/*", "status": 200, "body": {"ok": true}}]
EOF2
start_stub "$tmp/r" "$tmp/r/flaky.json"
org "$tmp/r" "$ruri"
cp "$tmp/r/org.yaml" "$tmp/org.yaml"
export SCENARIST_CLOCK=test:2026-03-08T07:59:00Z
echo '{"employee_id":"E-5","email":"e5@example.com"}' > "$tmp/r/event.json"
"$bin" run $fx/hooks/employee.yaml --input "$tmp/r/event.json" --org "$tmp/org.yaml" --no-retry >/dev/null 2>&1
"$bin" serve $fx/hooks --org "$tmp/org.yaml" --listen 127.0.0.1:0 --until 2026-03-08T08:10:00Z 2>"$tmp/r/log" ||
    { echo "not ok - $suite the retrying daemon failed"; sed 's/^/# /' "$tmp/r/log"; }
unset SCENARIST_CLOCK
expect "the daemon ran the retries on their schedule: 3 attempts, success" 0 "success|3" \
    -- sql "SELECT status, attempts FROM executions" "$ruri"
expect "the incomplete entry is closed" 0 "done" -- sql "SELECT state FROM incomplete" "$ruri"
expect "three PUTs under one Idempotency-Key, 60 s apart on the clock, no notify" 0 "3 1 0" \
    -- sh -c "echo \$(grep -c '\"method\":\"PUT\"' '$tmp/r/journal') \$(grep -o '\"idempotency-key\":\"[^\"]*\"' '$tmp/r/journal' | sort -u | wc -l) \$(grep -c '/ops/' '$tmp/r/journal')"

# ---- sealed values: a confidential trigger is sealed with the org's store key ----
curi=$(pg_cluster_db sealed)
mkdir -p "$tmp/c"
cat > "$tmp/c/replies.json" <<'EOF2'
[{"method": "PUT", "path": "/lms/learners/*", "status": 503, "times": 1, "body": {"error": "busy"}},
 {"method": "PUT", "path": "/lms/learners/*", "status": 200, "body": {"ok": true}}]
EOF2
start_stub "$tmp/c" "$tmp/c/replies.json"
org "$tmp/c" "$curi"
cp "$tmp/c/org.yaml" "$tmp/org.yaml"
daemon 1 $fx/secret --workers 1
out=$(curl -s -X POST -H 'Content-Type: application/json' \
      --data-binary '{"employee_id": "P7", "tax_id": "TAX-SECRET-77"}' "${urls[1]}/hooks/payroll")
cid=$(sed 's/.*"execution":"\([^"]*\)".*/\1/' <<<"$out")
check "the first attempt fails and waits for its retry" \
    wait_sql "SELECT status FROM executions WHERE id = '$cid'" warning "$curi"
kill -TERM "${pids[1]}"; wait "${pids[1]}"; pids[1]=
expect "at rest the trigger is sealed: its text is nowhere in the row" 0 "t|0" \
    -- sql "SELECT trigger IS NOT NULL, position('TAX-SECRET'::bytea IN trigger) FROM executions WHERE id = '$cid'" "$curi"
expect "another key does not open it" 1 \
    "scenarist: retry of execution $cid recorded by ${USER:-operator}; execution $cid did not run: sealed data does not open with this store's key" \
    -- env PG_STORE_KEY=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 \
       "$bin" incomplete retry "$cid" --here --org "$tmp/org.yaml"
# a daemon serves the store again: the retry is handed to it, and --wait shows its outcome
daemon 1 $fx/secret --workers 1
wait_sql "SELECT count(*) $held" 1 "$curi"
expect "a retry is handed to a daemon serving the shared store, which opens it with the org's key" 0 \
    "retry of execution $cid recorded by ${USER:-operator}
the daemon ran execution $cid: success" \
    -- "$bin" incomplete retry "$cid" --wait --org "$tmp/org.yaml"
kill -TERM "${pids[1]}"; wait "${pids[1]}"; pids[1]=
expect "the retry sent what the webhook carried" 0 "success 2" \
    -- echo "$(sql "SELECT status FROM executions WHERE id = '$cid'" "$curi") $(grep -c 'TAX-SECRET-77' "$tmp/c/journal")"

# ---- a commit of new events wakes the other daemons' workers (LISTEN/NOTIFY) ----
wuri=$(pg_cluster_db wake)
mkdir -p "$tmp/w"
echo '[{"method": "PUT", "path": "/lms/learners/*", "status": 200, "body": {"ok": true}}]' > "$tmp/w/ok.json"
start_stub "$tmp/w" "$tmp/w/ok.json"
org "$tmp/w" "$wuri"
cp "$tmp/w/org.yaml" "$tmp/org.yaml"
daemon 1 $fx/hooks --workers 0 # takes webhooks in, runs nothing
daemon 2 $fx/hooks --workers 2
for i in 1 2 3 4 5; do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"employee_id\": \"W\", \"title\": \"T$i\"}" "${urls[1]}/hooks/hris/role-changed"
    sleep 0.2
done
check "the other daemon ran them" wait_sql "SELECT count(*) FROM executions WHERE status = 'success'" 5 "$wuri"
# without the notice a worker finds work within its one-second look: half of them would
# wait 500 ms or more
expect "woken by the commit: half were taken within 300 ms of their arrival" 0 "t" \
    -- sql "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY started_at - queued_at) < 300 FROM executions" "$wuri"
# PostgreSQL restarts under both: the listening session is opened again (said once each
# way in the log, whatever the tries while it was down), and a commit wakes B again
wait_log() { for _ in $(seq 3000); do grep -qF -- "$2" "$1" && return 0; sleep 0.02; done; return 1; }
lost="warn scenarist: the store's notices of new events were lost (the connection listening for them closed): the workers look once a second until it is back"
again="info scenarist: listening for the store's notices of new events again"
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
check "PostgreSQL stopped: the daemon running the work says its notices are lost" wait_log "$tmp/d2.log" "$lost"
hb_lost="warn scenarist: the heartbeat cannot renew this process's leases: store $wuri: "
hb_again="info scenarist: the heartbeat renews this process's leases again"
check "and that its heartbeat cannot renew its leases" wait_log "$tmp/d2.log" "$hb_lost"
# down a while (until its /readyz looked: a second): its tries to listen again fail, unsaid
check "and is not ready" wait_ready "${urls[2]}" 503
pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' -c fsync=off -c max_connections=200" start >/dev/null
check "back: it listens again" wait_log "$tmp/d2.log" "$again"
check "and that it renews them again" wait_log "$tmp/d2.log" "$hb_again"
expect "each said once in its log, whatever the tries (the heartbeat's every 200 ms), no line without its time" 0 "1 1 1 1 0" \
    -- sh -c "echo \$(grep -cF \"\$1\" '$tmp/d2.log') \$(grep -cF \"\$2\" '$tmp/d2.log') \$(grep -cF \"\$3\" '$tmp/d2.log') \$(grep -cF \"\$4\" '$tmp/d2.log') \$(grep -c '^scenarist: ' '$tmp/d2.log')" _ "$lost" "$again" "$hb_lost" "$hb_again"
expect "its session LISTENs on the restarted server" 0 "LISTEN scenarist_queue" \
    -- sql "SELECT query FROM pg_stat_activity WHERE application_name = 'scenarist pid ${pids[2]}' AND query LIKE 'LISTEN%'" "$wuri"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary '{"employee_id": "W", "title": "T6"}' "${urls[1]}/hooks/hris/role-changed"
check "an event taken in by the daemon without workers is run by the other" \
    wait_sql "SELECT count(*) FROM executions WHERE status = 'success'" 6 "$wuri"
for n in 1 2; do kill -TERM "${pids[$n]}"; wait "${pids[$n]}"; pids[$n]=; done

# ---- two daemons share a throttled connection's rate (the store keeps its slots) ----
turi=$(pg_cluster_db throttled)
mkdir -p "$tmp/t"
echo '[{"method": "PUT", "path": "/lms/learners/*", "status": 200, "body": {"ok": true}}]' > "$tmp/t/ok.json"
start_stub "$tmp/t" "$tmp/t/ok.json"
org "$tmp/t" "$turi"
sed 's|^    base_url: \(.*/lms\)$|    base_url: \1\n    rate: { requests: 5, per: 1s }|' "$tmp/t/org.yaml" > "$tmp/org.yaml"
daemon 1 $fx/hooks --workers 2
daemon 2 $fx/hooks --workers 2
urls=("${urls[1]}" "${urls[2]}")
write_urls
python3 tests/pg/send.py "$tmp/urls" 12 4 "$tmp/t/sent"
check "every throttled event was acknowledged" test "$(cut -d' ' -f2 "$tmp/t/sent" | sort -u)" = 202
check "and ran them" wait_sql "SELECT count(*) FROM executions WHERE status = 'success'" 12 "$turi"
# 5 per second: one request every 200 ms whichever daemon sends it, so 12 span 2.2 s (each
# daemon alone would space only its own: 6 each, about 1 s). Measured on the span, not on
# each gap: a pending audit row is written after its slot is decided, and on a loaded
# machine one is late by 100 ms and more (gaps of 134 ms seen at a load of 46).
expect "the 12 writes went one every 200 ms across both daemons (their pending audit rows span 2 s or more)" 0 "12|t" \
    -- sql "SELECT count(*), max(at) - min(at) >= 2000 FROM audit WHERE method = 'PUT' AND ref IS NULL" "$turi"
echo "# the gaps between them (ms): $(sql "SELECT string_agg(gap::text, ' ') FROM (SELECT at - lag(at) OVER (ORDER BY at) AS gap FROM audit WHERE method = 'PUT' AND ref IS NULL) g" "$turi")"
for n in 1 2; do kill -TERM "${pids[$n]}"; wait "${pids[$n]}"; pids[$n]=; done
