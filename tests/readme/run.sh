#!/usr/bin/env bash
# A newcomer's first steps, from a fresh clone (of the committed tree): every shell command
# README.md shows runs as shown, in order, and exits 0; the outputs README.md prints are
# what the commands print; docs/operations.md's Standard Webhooks signing example signs as
# the specification does and the daemon takes it. Not run: make (the binaries under test
# are copied in) and the daemon block (serve, curl, kill: tests/serve). The sandbox runs on
# a free port, the clone's staging org pointed at it. Prints TAP lines.
# usage: tests/readme/run.sh SCENARIST STUB SANDBOX
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
sandbox=$(realpath "$3")
cd "$(dirname "$0")/../.."
suite=readme
. tests/lib.sh
suite_tmp dpid sbpid
unset SCENARIST_CLOCK
git clone -q "$PWD" "$tmp/c" 2>/dev/null || { # not a git checkout: its files, as a clone has them
    mkdir -p "$tmp/c" && tar -C . --exclude=./build --exclude=./var --exclude=./scenarist -cf - . | tar -C "$tmp/c" -xf -; }
mkdir -p "$tmp/c/build/plain/tests"
cp "$bin" "$tmp/c/scenarist"
cp "$stub" "$tmp/c/build/plain/tests/stub"
cp "$sandbox" "$tmp/c/tools/sandbox/sandbox"
cd "$tmp/c"

# ---- what README.md prints is what the commands print ----
block() { # N LANG: the Nth fenced block of that language in README.md (1-based)
    awk -v want="$1" -v lang="$2" '/^```/ { if (open) { open = 0; inb = 0; next }
            open = 1; if ($0 == "```" lang && ++n == want) inb = 1; next }
        inb { print }' README.md
}
# The first example stands on its own (the shipped file may grow): it validates, and the
# mistake shown is made to it, in a file of the same name.
mkdir -p "$tmp/m/scenarios" "$tmp/e/scenarios"
block 1 yaml > "$tmp/e/scenarios/identity-sync.yaml"
expect "the first example validates for staging" 0 "ok: 1 scenario file valid for org staging" \
    -- bash -c "cd '$tmp/e' && '$tmp/c/scenarist' validate --org '$tmp/c/orgs/staging.yaml' scenarios/identity-sync.yaml"
expect "and for production" 0 "ok: 1 scenario file valid for org production" \
    -- bash -c "cd '$tmp/e' && '$tmp/c/scenarist' validate --org '$tmp/c/orgs/production.yaml' scenarios/identity-sync.yaml"
expect "it names the schema editors use, first" 0 '# yaml-language-server: $schema=../docs/scenario.schema.json' \
    -- sed -n 1p "$tmp/e/scenarios/identity-sync.yaml"
sed -e '/id: upsert/,/json:/ s/connection: lms/connection: calendar/' \
    -e 's/steps\.learner\.external_id/steps.lerner.external_id/' "$tmp/e/scenarios/identity-sync.yaml" \
    > "$tmp/m/scenarios/identity-sync.yaml"
expect "the mistake's diagnostics are as shown" 2 "$(block 1 "")" \
    -- bash -c "cd '$tmp/m' && '$tmp/c/scenarist' validate --org '$tmp/c/orgs/staging.yaml' scenarios/identity-sync.yaml"
expect "tests/scenarios/try identity-sync prints the run shown" 0 "$(block 2 "")" \
    -- tests/scenarios/try identity-sync
expect "the retries shown are http-503-recovers' first and last lines" 0 "$(block 3 "" | grep -v '^\.\.\.$')" \
    -- bash -c "tests/scenarios/try http-503-recovers > '$tmp/503.out'; sed -n '1,2p' '$tmp/503.out'; tail -4 '$tmp/503.out'"

awk '/^```yaml$/ { f = 1; next } f && /^```$/ { exit } f' docs/scenario-format.md > "$tmp/format.yaml"
expect "docs/scenario-format.md's first example validates" 0 "ok: 1 scenario file valid for org staging" \
    -- ./scenarist validate "$tmp/format.yaml"

# ---- every command, in order ----
# The shell commands of README.md's sh blocks, continuation lines joined, comments cut.
awk '/^```sh$/ { inb = 1; next } /^```/ { inb = 0 } inb' README.md |
    sed -e 's/[[:space:]]\{2,\}#.*$//' -e '/^#/d' -e '/^[[:space:]]*$/d' |
    awk '{ if (sub(/\\$/, "")) { acc = acc $0; next } print acc $0; acc = "" }' > "$tmp/commands"
later=()
while IFS= read -r cmd; do
    case $cmd in
    make*|*"&& make") continue ;;                 # the binaries under test are copied in
    sudo*|"scenarist "*|"man "*) continue ;;      # the Install block: tests/install runs it
    *serve*|curl*|kill*) continue ;;              # the daemon block: tests/serve
    *" ID"*) later+=("$cmd"); continue ;;         # run last, with a real execution's id
    "tools/sandbox/sandbox &")
        "$tmp/c/tools/sandbox/sandbox" --port 0 --port-file "$tmp/sbport" 2>"$tmp/sandbox.log" &
        sbpid=$!
        for _ in $(seq 3000); do [ -s "$tmp/sbport" ] && break; sleep 0.02; done
        sed -i "s/127\.0\.0\.1:8900/127.0.0.1:$(cat "$tmp/sbport")/" orgs/staging.yaml
        echo "ok - $suite $cmd (on a free port, the clone's staging pointed there)"
        continue ;;
    ". "*|"export "*)
        eval "$cmd"
        echo "ok - $suite $cmd"
        continue ;;
    esac
    check "$cmd" bash -c "$cmd"
done < "$tmp/commands"
id=$(./scenarist executions --json | sed -n 's/.*"id": "\([0-9a-f-]*\)".*/\1/p' | head -1)
expect "there is an execution for the commands that name one" 0 "1" -- bash -c "[ -n '$id' ] && echo 1"
for cmd in "${later[@]}"; do
    c=${cmd// ID/ $id}
    case $c in
    *"holds approve"*) # no hold in this tour: the command parses and names the missing hold
        expect "$cmd" 1 "scenarist: no hold 1" -- bash -c "${cmd// ID/ 1}" ;;
    *"incomplete retry"*) # a successful execution has nothing to retry: said so
        expect_grep "$cmd" 1 "has finished (success): nothing is left to run" -- bash -c "$c" ;;
    *) check "$cmd" bash -c "$c" ;;
    esac
done
expect "the commands were all seen" 0 "$(grep -c . "$tmp/commands")" -- bash -c "grep -c . '$tmp/commands'"

# ---- docs/operations.md: signing a Standard Webhooks request ----
awk '/^\*\*Signing a request yourself\*\*/ { f = 1 } f && /^```sh$/ { inb = 1; next } inb && /^```$/ { exit } inb' \
    docs/operations.md > "$tmp/sign.sh"
expect "the example signs as the specification's example" 0 "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" \
    -- bash -c "$(sed -e 's/^ts=.*/ts=1614265330/' -e "s/^body=.*/body='{\"test\": 2432232314}'/" -e '/^curl/,$d' "$tmp/sign.sh"); echo \"\$sig\""
export STAGING_HRIS_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
./scenarist serve --org staging --listen 127.0.0.1:0 --workers 0 2>"$tmp/serve.log" &
dpid=$!
url=$(daemon_url "$tmp/serve.log")
expect_grep "the daemon takes the example's request: 202" 0 '{"execution":' \
    -- bash -c "$(sed "s|http://127.0.0.1:8080|$url|" "$tmp/sign.sh")"
