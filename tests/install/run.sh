#!/usr/bin/env bash
# make install into a temporary DESTDIR, then the installed binary run from another
# folder: it finds its Lua files, its orgs and its store; the manual pages render; the
# systemd unit is sandboxed and the daemon says READY=1 / STOPPING=1 to NOTIFY_SOCKET.
# Usage: tests/install/run.sh BIN
set -u
bin=$1
cd "$(dirname "$0")/../.."
suite=install
. tests/lib.sh
here=$PWD
suite_tmp
root=$tmp/root
pre=$root/usr/local

check "make install into DESTDIR" make -s --no-print-directory install DESTDIR="$root" INSTALL_BIN="$bin"
for f in bin/scenarist share/scenarist/lua/prelude/10-text.lua share/scenarist/lua/transforms/hr.lua \
    share/man/man1/scenarist.1 share/man/man5/scenarist-scenario.5 \
    lib/systemd/system/scenarist@.service etc/scenarist/orgs/example.yaml; do
    check "installs $f" test -f "$pre/$f"
done
check "the installed binary is executable" test -x "$pre/bin/scenarist"

mkdir -p "$tmp/elsewhere"
cp tests/install/scenario.yaml "$tmp/elsewhere/"
cd "$tmp/elsewhere"
sc=$pre/bin/scenarist
expect "validate from another folder: the example org and the Lua files are found" 0 \
    "ok: 1 scenario file valid for org example" -- "$sc" validate --org example scenario.yaml
out=$(printf '{"status":"clear","report":"R-7"}' | "$sc" run scenario.yaml --org example --input - 2>&1)
expect_grep "run with a transform and the prelude, the event on stdin" 0 \
    '{"raw_status":"CLEAR","report_id":"r-7","result":"clear","vendor":"screening-a"}' -- printf '%s\n' "$out"
check "the store is in the state folder" test -s "$pre/var/lib/scenarist/example/scenarist.db"
expect_grep "and executions reads it back" 0 "install-check" -- "$sc" executions --org example
expect "--config-dir names another folder of orgs" 2 \
    "$tmp/nowhere/orgs/example.yaml: error: cannot read: No such file or directory
scenarist: org 'example' does not load; nothing validated" -- "$sc" validate --org example --config-dir "$tmp/nowhere" scenario.yaml
mkdir -p "$tmp/conf/orgs"
sed 's/^name: example/name: other/' "$pre/etc/scenarist/orgs/example.yaml" > "$tmp/conf/orgs/other.yaml"
expect "SCENARIST_CONFIG_DIR too" 0 "ok: 1 scenario file valid for org other" \
    -- env SCENARIST_CONFIG_DIR="$tmp/conf" "$sc" validate --org other scenario.yaml
check "--state-dir moves the store" "$sc" run scenario.yaml --org other --config-dir "$tmp/conf" \
    --state-dir "$tmp/state" --input /dev/stdin <<<'{"status":"clear","report":"x"}'
check "...to STATE/NAME/scenarist.db" test -s "$tmp/state/other/scenarist.db"
# a copy of the binary with no data folder beside it says so; --data-dir points at one
cp "$sc" "$tmp/lone"
expect_grep "a lone binary does not find the prelude" 2 "'lower' is not a function or name of scenarist expressions" \
    -- "$tmp/lone" validate --org "$pre/etc/scenarist/orgs/example.yaml" scenario.yaml
expect "--data-dir gives them" 0 "ok: 1 scenario file valid for org example" \
    -- "$tmp/lone" validate --org "$pre/etc/scenarist/orgs/example.yaml" --data-dir "$pre/share/scenarist" scenario.yaml
cd "$here"

# the README's Install block, as written there, with the install on PATH and MANPATH
expect_grep "scenarist --help (README's Install)" 0 "holds list|show ID|approve ID|reject ID" \
    -- env PATH="$pre/bin:$PATH" scenarist --help
expect_grep "man scenarist (README's Install)" 0 "promote NAME --from ORG --to ORG" \
    -- env MANPATH="$pre/share/man" MANWIDTH=100 man scenarist

# the manual pages render without a warning
for page in man1/scenarist.1 man5/scenarist-scenario.5; do
    warn=$(MANWIDTH=80 man --warnings -l "$pre/share/man/$page" 2>&1 >/dev/null)
    expect "man -l $page renders without warnings" 0 "" -- printf '%s' "$warn"
done
expect_grep "scenarist(1) documents every command" 0 "promote NAME --from ORG --to ORG" \
    -- env MANWIDTH=100 man -l "$pre/share/man/man1/scenarist.1"
expect_grep "scenarist-scenario(5) documents the modules" 0 "http.request" \
    -- env MANWIDTH=100 man -l "$pre/share/man/man5/scenarist-scenario.5"

# the unit: Type=notify, sandboxed, the store's folder the only one written
u=$pre/lib/systemd/system/scenarist@.service
for line in "Type=notify" "ProtectSystem=strict" "ReadWritePaths=/usr/local/var/lib/scenarist" \
    "NoNewPrivileges=yes" "PrivateTmp=yes" "ProtectHome=yes" \
    "ExecStart=/usr/local/bin/scenarist serve --org %i --config-dir /usr/local/etc/scenarist --state-dir /usr/local/var/lib/scenarist --listen 127.0.0.1:8080"; do
    expect_grep "the unit has $line" 0 "$line" -- cat "$u"
done

# readiness: READY=1 once listening, STOPPING=1 on SIGTERM, read from a notify socket
python3 - "$tmp/notify" > "$tmp/notes" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(60)
for _ in range(2):
    try: print(s.recv(4096).decode().replace("\n", " "), flush=True)
    except socket.timeout: break
PY
ppid_=$!
for _ in $(seq 3000); do [ -S "$tmp/notify" ] && break; sleep 0.02; done
mkdir -p "$tmp/hooks"
NOTIFY_SOCKET=$tmp/notify "$sc" serve "$tmp/elsewhere/scenario.yaml" --org example --store "$tmp/d.db" \
    --listen 127.0.0.1:0 --workers 1 2> "$tmp/dlog" &
dpid=$!
url=$(daemon_url "$tmp/dlog")
for _ in $(seq 3000); do [ -s "$tmp/notes" ] && break; sleep 0.02; done
kill -TERM "$dpid"
wait "$dpid"
wait "$ppid_"
expect "sd_notify: READY=1 with the port, then STOPPING=1" 0 "READY=1 STATUS=listening on port ${url##*:}
STOPPING=1" -- cat "$tmp/notes"
