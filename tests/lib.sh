# Shared by the shell suites: TAP assertions on a command's output, and the setup every
# suite repeats (a temporary folder, the stub, the sandbox, a daemon). Set $suite first.

# suite_tmp [PIDVAR...]: $tmp, a fresh temporary folder. At exit, whatever the suite's end,
# the processes whose ids the named variables hold are stopped (the daemon's, $dpid, with
# SIGKILL; a stub's or sandbox's with SIGTERM), then $on_exit is run (a command, if set)
# and $tmp removed. Each named variable starts empty. Default: dpid spid.
suite_tmp() {
    tmp=$(mktemp -d)
    suite_pids=("$@")
    [ $# -eq 0 ] && suite_pids=(dpid spid)
    local v
    for v in "${suite_pids[@]}"; do printf -v "$v" '%s' ''; done
    trap suite_exit EXIT
}
suite_exit() {
    local v
    for v in "${suite_pids[@]}"; do
        [ -n "${!v:-}" ] || continue
        if [ "$v" = dpid ]; then kill -9 "${!v}"; else kill "${!v}"; fi 2>/dev/null
    done
    [ -n "${on_exit:-}" ] && eval "$on_exit"
    rm -rf "$tmp"
}

# wait_file FILE: waits (up to 60 s) until FILE is there and not empty (a port file).
wait_file() {
    for _ in $(seq 3000); do [ -s "$1" ] && return 0; sleep 0.02; done
    return 1
}

# start_sandbox PORTFILE LOG [ARGS...]: the sandbox ($sandbox) on a free port, its port
# written to PORTFILE, its stderr to LOG; waits for the port. Sets $sbpid and $sb (its URL).
start_sandbox() {
    local pf=$1 log=$2
    shift 2
    "$sandbox" --port 0 --port-file "$pf" "$@" 2>"$log" &
    sbpid=$!
    wait_file "$pf"
    sb=http://127.0.0.1:$(cat "$pf")
}

# stub_dir NAME REPLIES TEMPLATE: a stub with the replies and an org from the template with
# its own store, in $tmp/NAME/ (start_stub, stub_org). Sets dir, org, db and journal.
stub_dir() {
    dir=$tmp/$1
    start_stub "$dir" "$2"
    stub_org "$3" "$dir"
    org=$dir/org.yaml
    db=$dir/store/scenarist.db
    journal=$dir/journal
}

# serve ARGS...: `scenarist serve` of $org on a free port in the background (before ARGS,
# the words of the array $serve_args when set), its stderr in $dir/log; waits until it
# listens. Sets $dpid and $url.
serve() {
    : > "$dir/log"
    "$bin" serve ${serve_args[@]+"${serve_args[@]}"} --org "$org" --listen 127.0.0.1:0 "$@" 2>>"$dir/log" &
    dpid=$!
    url=$(daemon_url "$dir/log")
}

# stop [SIGNAL]: stops the daemon and waits for it; $rc is its exit status.
# A TERM stop must exit 0: under ASan that also means no leak and no error at exit.
stop() {
    kill -"${1:-TERM}" $dpid
    { wait $dpid; } 2>/dev/null
    rc=$?
    dpid=
    if [ "${1:-TERM}" = TERM ] && [ $rc != 0 ]; then
        echo "not ok - $suite the daemon exited with status $rc"
        sed 's/^/# /' "$dir/log" | tail -30
    fi
}

# post PATH BODY [curl args...]: POSTs the JSON body to the daemon; prints "STATUS BODY".
post() {
    local p=$1 b=$2
    shift 2
    curl -s -o "$tmp/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "$b" "$@" "$url$p"
    printf ' %s' "$(cat "$tmp/resp")"
}

# req METHOD PATH [curl args...]: prints "STATUS BODY".
req() {
    local m=$1 p=$2
    shift 2
    curl -s -o "$tmp/resp" -w '%{http_code}' -X "$m" "$@" "$url$p"
    printf ' %s' "$(cat "$tmp/resp")"
}

# sql QUERY: the store's answer ($db, SQLite), one row a line, columns by '|'.
sql() { sqlite3 "$db" "$1"; }

# wait_sql QUERY WANT: waits (up to 60 s) until the store answers WANT (quiet while the
# store is not there yet). It returns as soon as it does: the bound costs nothing.
wait_sql() {
    for _ in $(seq 3000); do [ "$(sql "$1" 2>/dev/null)" = "$2" ] && return 0; sleep 0.02; done
    return 1
}

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
# std_key_init: decodes $std_secret's key once, for every signature after it (exported:
# signers run by xargs too), until $std_secret changes; std_sign decodes it otherwise
# (and, given no arguments, prints the key's hex).
std_key_init() {
    std_key_of=
    std_key=$(std_sign)
    std_key_of=$std_secret
    export std_key std_key_of
}
std_sign() {
    local key=${std_key:-}
    [ "${std_key_of:-}" = "$std_secret" ] ||
        key=$(printf '%s' "${std_secret#whsec_}" | base64 -d | od -An -tx1 -v | tr -d ' \n')
    [ $# = 0 ] && { printf '%s' "$key"; return; }
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
    wait_file "$1/port"
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
