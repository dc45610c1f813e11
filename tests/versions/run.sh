#!/usr/bin/env bash
# Versions and orgs as a user meets them: deploy, versions, export -> import round trip,
# refused imports that change nothing, rollback and a deploy picked up by the running
# daemon, diff, backup (idempotent) and restore, promote between orgs, and read-only
# connections that hold at run time whatever URL a template builds, and transforms
# versioned with their scenarios (deploy, diff, rollback, export/import, backup, promote).
# usage: tests/versions/run.sh SCENARIST STUB
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
cd "$(dirname "$0")/../.."
fx=tests/versions/fixtures
suite=versions
. tests/lib.sh
suite_tmp
on_exit='[ -n "${KEEP:-}" ] && cp "$tmp/log" /tmp/versions-daemon.log'
unset SCENARIST_CLOCK
export VER_HRIS_TOKEN=s3cr3t-hris-token-value

echo '[{"method": "GET", "path": "/lms/flaky", "status": 503, "text": "busy", "times": 1},
       {"method": "GET", "path": "/lms/flaky", "status": 200, "body": {"ok": true}},
       {"method": "PUT", "path": "/lms/*", "status": 200, "body": {"ok": true}},
       {"method": "POST", "path": "/hris/*", "status": 201, "body": {"ok": true}}]' > "$tmp/replies.json"
start_stub "$tmp" "$tmp/replies.json"
for o in a b; do
    sed -e "s/@PORT@/$(cat "$tmp/port")/g" -e "s|@DIR@|$tmp|" $fx/org-$o.yaml.in > "$tmp/org-$o.yaml"
done
A=(--org "$tmp/org-a.yaml")
B=(--org "$tmp/org-b.yaml")
# masks times and checksums, which change from run to run
mask() { sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/TIME/g' -e 's/sha256:[0-9a-f]{12}/sha256:HASH/g'; }
run_masked() { "$@" 2>&1 | mask; return "${PIPESTATUS[0]}"; }

# ---- deploy and versions ----
expect "deploy stores version 1" 0 "greet: version 1 in org stage (deploy, sha256:HASH...)" \
    -- run_masked "$bin" deploy $fx/greet.yaml "${A[@]}" -m "first cut"
expect "deploying the same content again stores nothing" 0 "greet: unchanged, version 1 is current in org stage (sha256:HASH...)" \
    -- run_masked "$bin" deploy $fx/greet.yaml "${A[@]}"
cp $fx/greet-v2.yaml "$tmp/greet.yaml"
expect "a change is version 2" 0 "greet: version 2 in org stage (deploy, sha256:HASH...)" \
    -- run_masked "$bin" deploy "$tmp/greet.yaml" "${A[@]}" -m "say two"
expect "deploy is all or nothing: a broken file stores no version of any" 2 \
    "$fx/broken.yaml:6:13: error: unknown module 'no.such.module' (scenarist modules lists them)" \
    -- sh -c "'$bin' deploy $fx/calendar-sync.yaml $fx/broken.yaml --org '$tmp/org-a.yaml' 2>&1 | head -1; exit \${PIPESTATUS:-2}"
expect "so calendar-sync has no version" 1 "calendar-sync has no version in org stage" \
    -- "$bin" versions calendar-sync "${A[@]}"
expect "versions lists them, the current marked" 0 "v1    TIME  sha256:HASH...  deploy   first cut
v2    TIME  sha256:HASH...  deploy   say two  (current)" -- run_masked "$bin" versions greet "${A[@]}"
expect "diff shows what changed, step by step" 0 'greet v1 -> v2: 1 change
  ~ steps.answer.with.body.words: "one" -> "two"' -- "$bin" diff greet 1 2 "${A[@]}"
expect "the store refuses to change a version" 19 "Error: stepping, versions are immutable (19)" \
    -- sqlite3 "$tmp/a.db" "UPDATE versions SET message = 'x'"

# ---- export and import ----
"$bin" export greet "${A[@]}" -o "$tmp/greet.json" 2>/dev/null
expect_grep "an export names the format, version and checksum" 0 '"format": "scenarist.scenario/1"' -- cat "$tmp/greet.json"
"$bin" deploy $fx/sneaky.yaml "${A[@]}" >/dev/null 2>&1
"$bin" export sneaky "${A[@]}" -o "$tmp/sneaky.json" 2>/dev/null
expect "no secret value is in any exported byte" 1 "" -- grep -rF "$VER_HRIS_TOKEN" "$tmp/greet.json" "$tmp/sneaky.json"
expect "nor in the store" 1 "0" -- grep -c -F "$VER_HRIS_TOKEN" "$tmp/a.db"
expect "import into another org stores the same content" 0 "greet: version 1 in org prod (import, sha256:HASH...)" \
    -- run_masked "$bin" import "$tmp/greet.json" "${B[@]}"
"$bin" export greet "${B[@]}" -o "$tmp/greet-b.json" 2>/dev/null
sum() { grep '"checksum"' "$1"; }
expect "the round trip is identical (checksum)" 0 "$(sum "$tmp/greet.json")" -- sum "$tmp/greet-b.json"
expect "and its document too" 0 "" -- diff <(sed -n '/"document"/,$p' "$tmp/greet.json") <(sed -n '/"document"/,$p' "$tmp/greet-b.json")
sed 's/"two"/"twenty"/' "$tmp/greet.json" > "$tmp/tampered.json"
expect_grep "a tampered export is refused" 2 "refused: checksum mismatch: the document was changed after export" \
    -- "$bin" import "$tmp/tampered.json" "${B[@]}"
printf '{"format": "scenarist.scenario/1", "scenario": "greet",' > "$tmp/cut.json"
expect_grep "bad JSON is refused with its place" 2 "refused: not JSON: " -- "$bin" import "$tmp/cut.json" "${B[@]}"
sed 's|scenarist.scenario/1|scenarist.scenario/9|' "$tmp/greet.json" > "$tmp/future.json"
expect_grep "another format version is refused" 2 "format scenarist.scenario/9 is not one this scenarist reads (scenarist.scenario/1)" \
    -- "$bin" import "$tmp/future.json" "${B[@]}"
expect_grep "an unknown module is refused" 2 "unknown module 'no.such.module'" \
    -- "$bin" import $fx/unknown-module.json "${B[@]}"
expect_grep "a connection this org lacks is refused" 2 "refused: it does not validate against org prod" \
    -- "$bin" import "$tmp/sneaky.json" "${B[@]}"
expect "and nothing of these changed the org" 0 "greet|1" -- sqlite3 "$tmp/b.db" "SELECT scenario, count(*) FROM versions GROUP BY scenario"
expect_grep "a name that climbs out of a folder is refused" 2 "may hold only a-z, 0-9, - and _" \
    -- sh -c "sed 's|\"scenario\": \"greet\"|\"scenario\": \"../evil\"|' '$tmp/greet.json' > '$tmp/n.json'; '$bin' import '$tmp/n.json' --org '$tmp/org-b.yaml'"
for bad in '../evil' '/etc/passwd' 'a\\u0000b'; do
    sed "s|\"scenario\": \"greet\"|\"scenario\": \"$bad\"|" "$tmp/greet.json" > "$tmp/name.json"
    expect_grep "a name like $bad is refused" 2 "refused: " -- "$bin" import "$tmp/name.json" "${B[@]}"
done

# ---- the daemon runs the current version, picks up deploys and rollbacks ----
"$bin" serve "${A[@]}" --listen 127.0.0.1:0 --workers 1 2>"$tmp/log" &
dpid=$!
url=$(daemon_url "$tmp/log")
greet() { curl -s -X POST -H 'Content-Type: application/json' -d '{}' "$url/hooks/greet"; }
# says WANT: waits (up to 60 s) for the daemon to answer WANT.
says() { for _ in $(seq 3000); do [ "$(greet)" = "$1" ] && return 0; sleep 0.02; done; greet; return 1; }
expect_grep "serve without files runs the deployed versions" 0 "serving the deployed versions" -- cat "$tmp/log"
expect "it answers with version 2" 0 '{"words":"two"}' -- greet
expect "rollback --to 1 is a new version" 0 "greet: version 3 in org stage (rollback, sha256:HASH...)" \
    -- run_masked "$bin" rollback greet --to 1 "${A[@]}"
check "the running daemon picks it up: version 1's behaviour is back" says '{"words":"one"}'
cp $fx/greet-v2.yaml "$tmp/greet.yaml"
"$bin" deploy "$tmp/greet.yaml" "${A[@]}" >/dev/null
check "and a deploy, without a restart" says '{"words":"two"}'
expect "executions record the version they ran" 0 "2,3,4" \
    -- sqlite3 "$tmp/a.db" "SELECT group_concat(DISTINCT version) FROM (SELECT version FROM executions ORDER BY version)"
kill -TERM $dpid
wait $dpid
dpid=
expect "the log says so" 0 "2" -- grep -c "a deploy changed the scenarios: reloading" "$tmp/log"

# ---- backup and restore ----
expect "backup writes each current version" 0 "backup of org stage to $tmp/bk: 2 written, 0 unchanged" \
    -- "$bin" backup --to "$tmp/bk" "${A[@]}"
expect "a second backup writes nothing" 0 "backup of org stage to $tmp/bk: 0 written, 2 unchanged" \
    -- "$bin" backup --to "$tmp/bk" "${A[@]}"
expect "as NAME/vN.json" 0 "$tmp/bk/greet/v4.json
$tmp/bk/sneaky/v1.json" -- sh -c "find '$tmp/bk' -name '*.json' | sort"
sed -e "s|$tmp/a.db|$tmp/c.db|" "$tmp/org-a.yaml" > "$tmp/org-c.yaml"
expect "restore brings back every scenario" 0 "greet: version 1 in org stage (restore, sha256:HASH...)
restore of org stage from $tmp/bk: 2 scenarios, 0 refused
sneaky: version 1 in org stage (restore, sha256:HASH...)" \
    -- sh -c "'$bin' restore --from '$tmp/bk' --org '$tmp/org-c.yaml' 2>/dev/null | sort | sed -E 's/sha256:[0-9a-f]{12}/sha256:HASH/'"
expect "with the same content" 0 "$(sqlite3 "$tmp/a.db" "SELECT scenario, checksum FROM versions v WHERE number = (SELECT max(number) FROM versions w WHERE w.scenario = v.scenario) ORDER BY 1")" \
    -- sqlite3 "$tmp/c.db" "SELECT scenario, checksum FROM versions ORDER BY 1"
mkdir -p "$tmp/bk/Evil Name"
expect_grep "a folder that is no scenario name is skipped" 0 "not a scenario folder (skipped)" \
    -- "$bin" restore --from "$tmp/bk" --org "$tmp/org-c.yaml"

# ---- promote ----
sed 's/words: "one"/words: "three"/' $fx/greet.yaml > "$tmp/greet.yaml"
"$bin" deploy "$tmp/greet.yaml" "${A[@]}" >/dev/null
expect "promote copies the current version to another org" 0 "greet: version 2 in org prod (promote, sha256:HASH...)" \
    -- run_masked "$bin" promote greet --from "$tmp/org-a.yaml" --to "$tmp/org-b.yaml"
"$bin" deploy $fx/calendar-sync.yaml "${A[@]}" >/dev/null
expect_grep "promote refuses a scenario naming a connection the target lacks" 2 \
    "org 'prod' has no connection 'calendar'" -- "$bin" promote calendar-sync --from "$tmp/org-a.yaml" --to "$tmp/org-b.yaml"
expect "and stores nothing there" 0 "0" -- sqlite3 "$tmp/b.db" "SELECT count(*) FROM versions WHERE scenario = 'calendar-sync'"

# ---- read-only holds at run time, whatever the URL ----
echo '{"path": "/hris/employees/E-1/terminations"}' > "$tmp/ev.json"
expect_grep "a template-built path through a broader connection cannot write the read-only HRIS" 1 \
    "POST refused: connection 'hris' is read-only in org 'stage' (nothing was sent)" \
    -- "$bin" run $fx/sneaky.yaml --input "$tmp/ev.json" "${A[@]}"
echo '{"path": "/../hris/employees/E-1"}' > "$tmp/ev2.json"
expect_grep "a template-built path cannot climb out of its connection" 1 \
    "path segment 1 of the list is a dot segment ('.' or '..')" \
    -- "$bin" run $fx/roam.yaml --input "$tmp/ev2.json" "${A[@]}"
echo '{"path": "/%2e%2e/hris/employees/E-1"}' > "$tmp/ev3.json"
expect_grep "encoded dots in a value are text: the write stays under the LMS" 0 \
    "200  ok       http://127.0.0.1:$(cat "$tmp/port")/lms/%252e%252e/hris/employees/E-1 " \
    -- sh -c "'$bin' run $fx/roam.yaml --input '$tmp/ev3.json' ${A[*]} >/dev/null && '$bin' audit ${A[*]} --scenario roam"
expect "the HRIS received nothing" 1 "0" -- grep -c '"path":"/hris/' "$tmp/journal"
expect_grep "the refusal is on the audit log" 0 "refused" -- "$bin" audit "${A[@]}" --scenario sneaky

# ---- the daemon runs the org's scheduled backup ----
{ cat "$tmp/org-a.yaml"; echo "backup: { to: $tmp/auto, cron: \"0 3 * * 0\" }"; } > "$tmp/org-d.yaml"
SCENARIST_CLOCK=test:2026-03-07T12:00:00Z "$bin" serve --org "$tmp/org-d.yaml" --listen 127.0.0.1:0 \
    --until 2026-03-09T00:00:00Z 2>"$tmp/log"
expect_grep "a weekly backup runs on Sunday at 03:00 in the org's zone" 0 "backup to $tmp/auto: 3 written, 0 unchanged" -- cat "$tmp/log"
expect "its files" 0 "3" -- sh -c "find '$tmp/auto' -name 'v*.json' | wc -l"

# ---- one directory walker: validate, deploy and serve find the same files ----
sed "s|store: .*|store: $tmp/walk.db|" "$tmp/org-a.yaml" > "$tmp/org-w.yaml"
W=(--org "$tmp/org-w.yaml")
expect "validate of a folder finds its files at any depth" 0 "ok: 2 scenario files valid for org stage" \
    -- "$bin" validate "${W[@]}" $fx/walk
expect "deploy of a folder deploys the same files, in the same order" 0 "walk-a: version 1 in org stage (deploy, sha256:HASH...)
walk-b: version 1 in org stage (deploy, sha256:HASH...)" -- run_masked "$bin" deploy $fx/walk "${W[@]}"
SCENARIST_CLOCK=test:2026-03-07T12:00:00Z "$bin" serve "${W[@]}" $fx/walk --listen 127.0.0.1:0 \
    --until 2026-03-07T12:00:01Z 2>"$tmp/log"
expect_grep "serve of a folder loads the same files" 0 "2 scenarios, 1 webhook" -- cat "$tmp/log"
mkdir -p "$tmp/nothing"
expect "deploy of a folder without scenario files says so" 2 "$tmp/nothing: error: no scenario files (*.yaml, *.yml) in this folder" \
    -- "$bin" deploy "$tmp/nothing" "${W[@]}"

# ---- transforms are versioned with their scenarios ----
# The suite's own lua/ (the shipped prelude, its own transforms/words.lua), edited below.
mkdir -p "$tmp/lua"
cp -r lua/prelude "$tmp/lua/prelude"
mkdir -p "$tmp/lua/transforms"
cp $fx/words.lua "$tmp/lua/transforms/words.lua"
export SCENARIST_LUA_DIR="$tmp/lua"
sed "s|store: .*|store: $tmp/t.db|" "$tmp/org-a.yaml" > "$tmp/org-t.yaml"
sed "s|store: .*|store: $tmp/u.db|" "$tmp/org-b.yaml" > "$tmp/org-u.yaml"
T=(--org "$tmp/org-t.yaml")
U=(--org "$tmp/org-u.yaml")
sha() { printf 'sha256:%s' "$(sha256sum "$1" | cut -c1-64)"; }
stored() { sqlite3 "$1" "SELECT json_extract(document, '\$.transforms.\"words.lua\".$3') FROM versions WHERE scenario = '$2' AND number = (SELECT max(number) FROM versions WHERE scenario = '$2')"; }
expect "deploy stores a scenario with the transform files it uses" 0 "tf: version 1 in org stage (deploy, sha256:HASH...)
tf-hold: version 1 in org stage (deploy, sha256:HASH...)
tf-retry: version 1 in org stage (deploy, sha256:HASH...)" -- run_masked "$bin" deploy $fx/tf.yaml $fx/tf-hold.yaml $fx/tf-retry.yaml "${T[@]}"
expect "the version holds the file's content" 0 "$(cat $fx/words.lua)" -- stored "$tmp/t.db" tf source
expect "and its checksum" 0 "$(sha $fx/words.lua)" -- stored "$tmp/t.db" tf checksum
expect "a scenario that uses no transform stores none (its checksum is as before)" 0 "0" \
    -- sqlite3 "$tmp/a.db" "SELECT count(*) FROM versions WHERE json_type(document, '\$.transforms') IS NOT NULL"
echo 'function tag(x) return "tagged" end' > "$tmp/lua/transforms/extra.lua"
echo 'function up(x) return string.upper(x) end' > "$tmp/lua/transforms/third.lua"
echo 'function never(x) return x end' > "$tmp/lua/transforms/unused.lua"
"$bin" deploy $fx/tf-uses.yaml "${T[@]}" >/dev/null
expect "the files a scenario uses: map rows, routes' steps and error routes, not the others" 0 \
    '["extra.lua","third.lua","words.lua"]' \
    -- sqlite3 "$tmp/t.db" "SELECT json_group_array(key) FROM versions, json_each(document, '\$.transforms') WHERE scenario = 'tf-uses'"
printf -- '-- caf\xe9\nfunction f(x) return x end\n' > "$tmp/lua/transforms/latin.lua"
sed -e 's/words.shout/latin.f/' -e 's/^name: tf$/name: tf-latin/' -e 's|/hooks/tf|/hooks/tf-latin|' $fx/tf.yaml > "$tmp/latin.yaml"
expect "a transform that is not UTF-8 text cannot be stored, and deploy says so" 2 \
    "$tmp/latin.yaml: error: transform latin.lua is not UTF-8 text: a version cannot store it" \
    -- "$bin" deploy "$tmp/latin.yaml" "${T[@]}"
rm "$tmp/lua/transforms/latin.lua"
"$bin" serve "${T[@]}" --listen 127.0.0.1:0 --workers 1 2>"$tmp/log" &
dpid=$!
url=$(daemon_url "$tmp/log")
post() { curl -s -X POST -H 'Content-Type: application/json' -d '{"w": "one"}' "$url/hooks/$1"; }
expect "the daemon runs version 1's transform" 0 '{"said":"ONE!"}' -- post tf
held=$(post tf-hold | jq -r .execution)
waiting=$(post tf-retry | jq -r .execution)
for _ in $(seq 3000); do [ "$("$bin" holds list "${T[@]}" | wc -l)" = 1 ] && [ "$("$bin" incomplete list "${T[@]}" | grep -c "$waiting")" = 1 ] && break; sleep 0.02; done
kill -TERM $dpid
wait $dpid
dpid=
expect "an execution of version 1 waits for a person" 0 "1    pending    tf-hold                $held a person looks at ONE!" \
    -- "$bin" holds list "${T[@]}"
sed -i 's/"!"/"?"/' "$tmp/lua/transforms/words.lua"
expect "a changed transform is a new version, and deploy names the file" 0 "tf: version 2 in org stage (deploy, sha256:HASH...): transform words.lua changed
tf-hold: version 2 in org stage (deploy, sha256:HASH...): transform words.lua changed
tf-retry: version 2 in org stage (deploy, sha256:HASH...): transform words.lua changed" \
    -- run_masked "$bin" deploy $fx/tf.yaml $fx/tf-hold.yaml $fx/tf-retry.yaml "${T[@]}"
expect "deploying it again stores nothing" 0 "tf: unchanged, version 2 is current in org stage (sha256:HASH...)" \
    -- run_masked "$bin" deploy $fx/tf.yaml "${T[@]}"
expect "diff shows the transform's changed lines" 0 'tf v1 -> v2: 1 change
  ~ transforms/words.lua: sha256:HASH... -> sha256:HASH...
  - 3:   return string.upper(w) .. "!"
  + 3:   return string.upper(w) .. "?"' -- run_masked "$bin" diff tf 1 2 "${T[@]}"
expect "the execution started before the deploy goes on once approved" 0 "hold 1 approved by tester; execution $held ran here: retry 1 success" \
    -- env USER=tester "$bin" holds approve 1 --here "${T[@]}"
expect "with its own version's transform, not the file on disk" 0 '"ONE!"' \
    -- sqlite3 "$tmp/t.db" "SELECT output FROM step_runs WHERE execution = '$held' AND step = 'after'"
expect_grep "an incomplete execution of version 1, retried after the deploy, succeeds" 0 "ran here: retry 1 success" \
    -- "$bin" incomplete retry "$waiting" --here "${T[@]}"
expect "and ran version 1's transform before and after the wait" 0 'before|1|"ONE!"
after|2|"ONE!"' -- sqlite3 "$tmp/t.db" "SELECT step, attempt, output FROM step_runs WHERE execution = '$waiting' AND module = 'lua' ORDER BY id"
expect_grep "a draft run uses the file on disk" 0 'response: 200 {"said":"ONE?"}' \
    -- sh -c "echo '{\"w\": \"one\"}' > '$tmp/w.json'; '$bin' run $fx/tf.yaml --input '$tmp/w.json' --org '$tmp/org-t.yaml'"
expect "rollback --to 1 brings back version 1's transform" 0 "tf: version 3 in org stage (rollback, sha256:HASH...): transform words.lua changed" \
    -- run_masked "$bin" rollback tf --to 1 "${T[@]}"
mv "$tmp/lua/transforms/words.lua" "$tmp/words-v2.lua"
"$bin" serve "${T[@]}" --listen 127.0.0.1:0 --workers 1 2>"$tmp/log" &
dpid=$!
url=$(daemon_url "$tmp/log")
expect "an execution after the rollback runs the old code, even with the file gone from disk" 0 '{"said":"ONE!"}' -- post tf
kill -TERM $dpid
wait $dpid
dpid=
mv "$tmp/words-v2.lua" "$tmp/lua/transforms/words.lua"

"$bin" export tf "${T[@]}" -o "$tmp/tf.json" 2>/dev/null
expect "an export carries the transform" 0 "$(cat $fx/words.lua)" \
    -- jq -j '.document.transforms["words.lua"].source' "$tmp/tf.json"
expect "with a checksum of its content" 0 "$(sha $fx/words.lua)" \
    -- jq -j '.document.transforms["words.lua"].checksum' "$tmp/tf.json"
expect "import into another org stores it" 0 "tf: version 1 in org prod (import, sha256:HASH...)" \
    -- run_masked "$bin" import "$tmp/tf.json" "${U[@]}"
"$bin" export tf "${U[@]}" -o "$tmp/tf-u.json" 2>/dev/null
expect "the round trip is identical, transform included" 0 "" \
    -- diff <(jq -S '{checksum, document}' "$tmp/tf.json") <(jq -S '{checksum, document}' "$tmp/tf-u.json")
sed 's/\\"!\\"/\\"X\\"/' "$tmp/tf.json" > "$tmp/tf-bad.json"
expect "the edit really changed the file's text" 1 "" -- cmp -s "$tmp/tf.json" "$tmp/tf-bad.json"
expect_grep "a tampered transform in an export is refused" 2 "refused: checksum mismatch: the document was changed after export" \
    -- "$bin" import "$tmp/tf-bad.json" "${U[@]}"
jq --arg sum "sha256:$(jq -cSj .document "$tmp/tf-bad.json" | sha256sum | cut -c1-64)" '.checksum = $sum' \
    "$tmp/tf-bad.json" > "$tmp/tf-bad2.json"
expect_grep "even with the export's checksum made again: the file's own is checked" 2 \
    "refused: transform words.lua: checksum mismatch: its source was changed" -- "$bin" import "$tmp/tf-bad2.json" "${U[@]}"
expect "and nothing was stored" 0 "tf|1" -- sqlite3 "$tmp/u.db" "SELECT scenario, count(*) FROM versions GROUP BY scenario"
"$bin" backup --to "$tmp/tbk" "${T[@]}" >/dev/null
expect "backup writes the transform with the version" 0 "$(cat $fx/words.lua)" \
    -- jq -j '.document.transforms["words.lua"].source' "$tmp/tbk/tf/v3.json"
expect "promote carries it" 0 "tf-hold: version 1 in org prod (promote, sha256:HASH...)" \
    -- run_masked "$bin" promote tf-hold --from "$tmp/org-t.yaml" --to "$tmp/org-u.yaml"
expect "the promoted version's transform is the one deployed (version 2's)" 0 "$(sha "$tmp/lua/transforms/words.lua")" \
    -- stored "$tmp/u.db" tf-hold checksum
