#!/usr/bin/env bash
# Runs every suite against both builds (plain, and ASan+UBSan) and ends with one
# line of its own: "N passed, M failed". Exit status 1 if anything failed.
set -u
cd "$(dirname "$0")/.."

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CMOCKA_MESSAGE_OUTPUT=TAP

passed=0
failed=0

# suite NAME COMMAND...: counts its TAP lines; a crash or non-zero exit without a
# failing line still counts as one failure, so nothing fails silently.
suite() {
    local name=$1
    shift
    local out rc p f
    out=$("$@" 2>&1)
    rc=$?
    p=$(grep -c '^ok ' <<<"$out")
    f=$(grep -c '^not ok ' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        out+=$'\n'"not ok - $name exited with status $rc"
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        f=1
        out+=$'\n'"not ok - $name ran no test"
    fi
    if [ "$f" -gt 0 ]; then
        printf '%s\n' "$out" | grep -v '^ok ' | sed "s|^|[$name] |"
    fi
    printf '%-28s %4d passed, %d failed\n' "$name" "$p" "$f"
    passed=$((passed + p))
    failed=$((failed + f))
}

# A flavour's unit tests and fuzz replays need only the CPU and no clock (and each its own
# files in build/): they run first, side by side (one per core, the largest first), each
# into $saved_dir; `saved` gives one back.
saved_dir=$(mktemp -d)
trap 'rm -rf "$saved_dir"' EXIT
run_saved() { # BINARY: a unit test, or a fuzz replay over its corpus
    local f=$saved_dir/${1//\//_} c=
    case $1 in */replay_*) c=tools/fuzz/corpus/${1##*/replay_} ;; esac
    "$1" ${c:+"$c"} > "$f.out" 2>&1
    echo $? > "$f.rc"
}
saved() { cat "$saved_dir/${1//\//_}.out"; return "$(cat "$saved_dir/${1//\//_}.rc")"; }
export saved_dir
export -f run_saved

for flavour in plain asan; do
    ls -S build/$flavour/tests/unit/test_* build/$flavour/tools/fuzz/replay_* 2>/dev/null |
        grep -v '\.[od]$' | xargs -P "$(nproc 2>/dev/null || echo 1)" -I{} bash -c 'run_saved {}'
    for t in build/$flavour/tests/unit/test_*; do
        case $t in *.o | *.d) continue ;; esac
        suite "$flavour/unit/$(basename "$t")" saved "$t"
    done
    for t in build/$flavour/tools/fuzz/replay_*; do
        case $t in *.o | *.d) continue ;; esac
        suite "$flavour/fuzz/${t##*/replay_}" saved "$t"
    done
    bin=build/$flavour/scenarist
    suite "$flavour/config" tests/config/run.sh "$bin"
    suite "$flavour/schema" tests/schema/run.sh "$bin"
    suite "$flavour/cli" tests/cli/run.sh "$bin"
    suite "$flavour/scenarios" tests/scenarios/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/store" tests/store/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/retention" tests/retention/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/serve" tests/serve/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/admin" tests/admin/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/metrics" tests/metrics/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/versions" tests/versions/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/firststeps" tests/firststeps/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/usertest" tests/usertest/run.sh "$bin" build/$flavour/tools/sandbox/sandbox
    suite "$flavour/readme" tests/readme/run.sh "$bin" build/$flavour/tests/stub build/$flavour/tools/sandbox/sandbox
    suite "$flavour/shadow" tests/shadow/run.sh "$bin" build/$flavour/tests/stub
    suite "$flavour/sandbox" tests/sandbox/run.sh build/$flavour/tools/sandbox/sandbox "$bin"
    suite "$flavour/throttle" tests/throttle/run.sh "$bin" build/$flavour/tools/sandbox/sandbox
    suite "$flavour/oauth" tests/oauth/run.sh "$bin" build/$flavour/tools/sandbox/sandbox
    suite "$flavour/library" tests/library/run.sh "$bin" build/$flavour/tools/sandbox/sandbox
    suite "$flavour/install" tests/install/run.sh "$bin"
    suite "$flavour/pg" tests/pg/run.sh "$bin" build/$flavour/tests/stub build/$flavour/tests/unit/test_store_contract $([ $flavour = plain ] && echo 2000 64)
done

suite "console" tests/console/run.sh build/plain/scenarist build/plain/tests/stub
suite "simulate" tools/simulate --employees 500 --days 2 --drop 0.1 --seed 1 --tap --scenarist build/plain/scenarist --sandbox build/plain/tools/sandbox/sandbox
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
