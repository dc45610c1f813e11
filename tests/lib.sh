# Shared by the shell suites: TAP assertions on a command's output. Set $suite first.

# expect NAME EXIT-CODE EXPECTED-OUTPUT -- COMMAND... : stdout+stderr must match exactly.
expect() {
    local name=$1 code=$2 want=$3
    shift 4
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = "$code" ] && [ "$out" = "$want" ]; then
        echo "ok - $suite $name"
    else
        echo "not ok - $suite $name"
        echo "# exit $rc, wanted $code"
        diff <(printf '%s\n' "$want") <(printf '%s\n' "$out") | sed 's/^/# /'
    fi
}

# expect_grep NAME EXIT-CODE PATTERN -- COMMAND... : output must contain the fixed string.
expect_grep() {
    local name=$1 code=$2 pat=$3
    shift 4
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = "$code" ] && grep -qF -- "$pat" <<<"$out"; then
        echo "ok - $suite $name"
    else
        echo "not ok - $suite $name"
        echo "# exit $rc, wanted $code; output:"
        printf '%s\n' "$out" | head -20 | sed 's/^/# /'
    fi
}

# check NAME COMMAND... : passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@" >/dev/null 2>&1; then
        echo "ok - $suite $name"
    else
        echo "not ok - $suite $name"
        echo "# failed: $*"
    fi
}
