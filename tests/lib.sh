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

# std_sign ID TIMESTAMP BODY: a Standard Webhooks signature ("v1,<base64>") of the body
# under $std_secret (whsec_...); hub_sign BODY: "sha256=<hex>" under $hub_secret.
std_sign() {
    local key
    key=$(printf '%s' "$std_secret" | sed 's/^whsec_//' | base64 -d | od -An -tx1 | tr -d ' \n')
    printf 'v1,%s' "$(printf '%s.%s.%s' "$1" "$2" "$3" |
        openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64)"
}
hub_sign() {
    printf 'sha256=%s' "$(printf '%s' "$1" | openssl dgst -sha256 -hmac "$hub_secret" | sed 's/.*= //')"
}
