#!/usr/bin/env bash
# Golden tests of `scenarist run`: each folder holds scenario.yaml, input.json, optional
# replies.json (canned answers of the stub HTTP server) and args (extra options), and
# `expected`: the command's output, its exit status, the requests the stub received, and
# what the store kept (open incomplete executions, the audit log; body hashes masked, as
# JSON bodies name the stub's port: tests/cli checks them).
#   tests/scenarios/run.sh BIN STUB [--bless] [NAME...]
set -u
bin=$(realpath "$1")
stub=$(realpath "$2")
shift 2
bless=0
if [ "${1:-}" = --bless ]; then bless=1; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SCENARIST_CLOCK=test:2026-03-08T07:59:00Z
mkdir -p "$tmp/lua" # the real prelude, and the transforms of these tests
ln -s "$PWD/lua/prelude" "$tmp/lua/prelude"
ln -s "$PWD/tests/scenarios/lua/transforms" "$tmp/lua/transforms"
export SCENARIST_LUA_DIR=$tmp/lua
export GOLDEN_HRIS_TOKEN=hris-token-1 GOLDEN_LMS_KEY=lms-key-2 GOLDEN_PAYROLL_PASSWORD=pw-3
export GOLDEN_AUDIT_KEY=golden-audit-key-0123456789abcdef0123456789
unset GOLDEN_NOT_SET

dirs=("$@")
[ ${#dirs[@]} -eq 0 ] && dirs=($(cd tests/scenarios && ls -d */ | tr -d / | grep -v '^lua$'))
n=0
for name in "${dirs[@]}"; do
    d=tests/scenarios/$name
    n=$((n + 1))
    rm -f "$tmp/port" "$tmp/journal"
    replies=()
    [ -f "$d/replies.json" ] && replies=(--replies "$d/replies.json")
    "$stub" "${replies[@]}" --port-file "$tmp/port" --journal "$tmp/journal" &
    pid=$!
    for _ in $(seq 3000); do [ -s "$tmp/port" ] && break; sleep 0.02; done
    port=$(cat "$tmp/port" 2>/dev/null)
    rm -rf "$tmp/store"
    sed -e "s/@PORT@/$port/g" -e "s|@STORE@|$tmp/store/scenarist.db|" tests/scenarios/org.yaml.in \
        > "$tmp/golden.yaml"
    args=()
    [ -f "$d/args" ] && read -r -a args < "$d/args"
    input=$d/input.json
    [ -f "$input" ] || input=$tmp/none.json
    "$bin" run "$d/scenario.yaml" --input "$input" --org "$tmp/golden.yaml" "${args[@]}" \
        > "$tmp/stdout" 2>&1
    rc=$?
    kill "$pid"
    wait "$pid"
    {
        echo "\$ scenarist run scenario.yaml --input $(basename "$input") ${args[*]:-}"
        cat "$tmp/stdout"
        echo "exit $rc"
        echo "--- requests received"
        cat "$tmp/journal"
        if [ -f "$tmp/store/scenarist.db" ]; then
            echo "--- store: incomplete executions"
            "$bin" incomplete list --org "$tmp/golden.yaml" 2>&1
            echo "--- store: audit log"
            "$bin" audit --org "$tmp/golden.yaml" 2>&1
            "$bin" audit verify --org "$tmp/golden.yaml" 2>&1
        fi
    } | sed -e "s/127\.0\.0\.1:$port/127.0.0.1:@PORT@/g" -e "s|$tmp/|TMP/|g" \
            -e "s|$PWD/||g" -e "s/  body [0-9a-f]\{12\}  /  body <sha256>  /" > "$tmp/out"
    if [ $bless = 1 ]; then
        cp "$tmp/out" "$d/expected"
        echo "ok $n - $name (blessed)"
    elif diff -u "$d/expected" "$tmp/out" > "$tmp/diff" 2>&1; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        sed 's/^/#   /' "$tmp/diff"
    fi
done
echo "1..$n"
