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

# start_stub DIR REPLIES: (re)starts the stub server ($stub) with the replies, journal in
# DIR/journal; waits for DIR/port. Sets $spid.
start_stub() {
    mkdir -p "$1"
    [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    "$stub" --replies "$2" --port-file "$1/port" --journal "$1/journal" &
    spid=$!
    for _ in $(seq 3000); do [ -s "$1/port" ] && break; sleep 0.02; done
}

# wait_journal JOURNAL PATTERN: waits (up to 60 s) until the stub has received a request
# matching the fixed string. A kill "mid-step" must wait for this: a step's row is written
# before its request leaves, and on a loaded machine a kill can land between the two.
wait_journal() {
    for _ in $(seq 3000); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
    return 1
}

# stub_org TEMPLATE DIR: writes DIR/org.yaml from an org template, @PORT@ being the stub's
# port (DIR/port) and @STORE@ DIR/store/scenarist.db.
stub_org() {
    sed -e "s/@PORT@/$(cat "$2/port")/g" -e "s|@STORE@|$2/store/scenarist.db|" "$1" > "$2/org.yaml"
}

# daemon_url LOG: waits (up to 60 s) for a daemon's "listening on" line in LOG, prints its URL.
daemon_url() {
    for _ in $(seq 3000); do grep -q 'listening on' "$1" && break; sleep 0.02; done
    grep -o 'listening on http://127.0.0.1:[0-9]*' "$1" | tail -1 | sed 's/listening on //'
}
