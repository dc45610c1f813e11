#!/usr/bin/env bash
# CLI behaviour a user sees: exit codes, exact messages, JSON output, the shipped
# library and orgs, generated docs. Prints TAP lines.
# usage: tests/cli/run.sh SCENARIST
set -u
bin=$1
cd "$(dirname "$0")/../.."
fx=tests/cli/fixtures

suite=cli
. tests/lib.sh
suite_tmp

# --- the shipped library validates against both orgs ---
expect "library validates for staging" 0 "ok: 16 scenario files valid for org staging" \
    -- "$bin" validate
expect "library validates for production" 0 "ok: 16 scenario files valid for org production" \
    -- "$bin" validate --org production scenarios/
expect "a file and a folder together" 0 "ok: 2 scenario files valid for org staging" \
    -- "$bin" validate scenarios/identity-sync.yaml "$fx/valid"

. tests/cli/sandbox_names.sh

# --- exit codes and usage ---
expect_grep "no command is a usage error" 2 "usage: scenarist COMMAND" -- "$bin"
expect_grep "help goes to stdout with 0" 0 "validate [PATH...]" -- "$bin" help
expect "unknown command" 2 "scenarist: unknown command 'valdate'; did you mean 'validate'?
run 'scenarist --help' for the commands" -- "$bin" valdate
expect "unknown option" 2 "scenarist: unknown option '--jsn'; did you mean '--json'?" -- "$bin" validate --jsn
. tests/cli/help.sh
expect "--org without a name" 2 "scenarist: --org needs a value" -- "$bin" validate --org
expect_grep "version" 0 "scenarist 0." -- "$bin" version

# --- validate: files, folders and their errors ---
expect "missing file" 2 "nope.yaml: error: cannot read: No such file or directory
1 error, 0 warnings in 1 file (org staging)" -- "$bin" validate nope.yaml
mkdir -p "$tmp/empty"
expect "empty folder is an error" 2 "$tmp/empty: error: no scenario files (*.yaml, *.yml) in this folder
1 error, 0 warnings in 0 files (org staging)" -- "$bin" validate "$tmp/empty"
expect "errors in several files are all reported" 2 "$(cat $fx/two-bad.out)" \
    -- "$bin" validate --org tests/config/org.yaml "$fx/two-bad"
expect "same webhook path in two scenarios" 2 "$(cat $fx/same-path.out)" \
    -- "$bin" validate --org tests/config/org.yaml "$fx/same-path"
printf 'name: near\ntriggers:\n  - webhook: { path: /hooks/... }\n  - webhook: { path: /.well-known/x }\n  - webhook: { path: /executions/ }\n  - webhook: { path: /executions/a/b }\n  - webhook: { path: /healthz/x }\n  - webhook: { path: /hooks/x/ }\nsteps:\n  - { id: a, module: set, with: { vars: { x: 1 } } }\n' > "$tmp/near.yaml"
expect "webhook paths the listener does match validate (tests/config/webhook-path-unreachable: those it never does)" 0 \
    "ok: 1 scenario file valid for org test" -- "$bin" validate --org tests/config/org.yaml "$tmp/near.yaml"
expect "same scenario name in two files" 2 "$(cat $fx/same-name.out)" \
    -- "$bin" validate --org tests/config/org.yaml "$fx/same-name"
expect "--json prints the diagnostics as an array" 2 "$(cat $fx/json.out)" \
    -- "$bin" validate --json --org tests/config/org.yaml tests/config/many-errors.yaml
expect "--json of a valid file is an empty array" 0 "[]" \
    -- "$bin" validate --json scenarios/identity-sync.yaml

# --- orgs ---
expect "unknown org" 2 "orgs/nowhere.yaml: error: cannot read: No such file or directory
scenarist: org 'nowhere' does not load; nothing validated" -- "$bin" validate --org nowhere
expect "bad org file" 2 "$(cat $fx/bad-org.out)" -- "$bin" validate --org "$fx/bad-org.yaml"
mkdir -p "$tmp/orgs"
sed 's/^name: staging/name: other/' orgs/staging.yaml > "$tmp/orgs/mirror.yaml"
expect_grep "an org names itself as its file" 2 "org file orgs/mirror.yaml names itself 'other'" \
    -- bash -c "cd '$tmp' && '$PWD/$bin' validate --org mirror '$PWD/scenarios'"
expect_grep "staging's calendar is read-only" 2 "POST is a write, but connection 'calendar' is read-only in org 'staging'" \
    -- "$bin" validate "$fx/writes-calendar.yaml"
expect "production's HRIS is writable" 0 "ok: 1 scenario file valid for org production" \
    -- "$bin" validate --org production "$fx/writes-hris.yaml"
expect "an unknown connection lists the org's connections" 2 "$fx/notify-slack.yaml:6:25: error: org 'staging' has no connection 'slack' (it has hris, lms, ats, payroll, calendar, comms, ops, recruiters, pager)
    6 |     with: { connection: slack, text: \"hello\" }
      |                         ^~~~~
1 error, 0 warnings in 1 file (org staging)" -- "$bin" validate "$fx/notify-slack.yaml"
expect "system of record: writing a domain to its own authority" 2 "$fx/writes-identity-hris.yaml:7:25: error: the system-of-record matrix does not let identity data be written to hris: hris is its authority, where identity data comes from, not where it goes; scenarios may write it only to lms
    7 |     with: { connection: hris, method: PUT, path: /employees/1, json: { first_name: Ada } }
      |                         ^~~~
1 error, 0 warnings in 1 file (org production)" -- "$bin" validate --org production "$fx/writes-identity-hris.yaml"
expect "system of record: writing a domain elsewhere" 2 "$fx/writes-pay-lms.yaml:7:25: error: the system-of-record matrix does not let pay data be written to lms: scenarios may write it only to payroll or hris, and its authority is ats
    7 |     with: { connection: lms, method: PUT, path: /learners/1, json: { first_name: Ada } }
      |                         ^~~
1 error, 0 warnings in 1 file (org production)" -- "$bin" validate --org production "$fx/writes-pay-lms.yaml"

# --- an org error is a usage error (exit 2) under every command, said the same way ---
odiag=$(head -n 12 $fx/bad-org.out)
for c in "serve" "executions" "execution X" "incomplete list" "holds list" "queue list" \
         "audit" "audit verify" "metrics" "shadow list" "prune" "resume" "deploy scenarios" \
         "versions identity-sync" "connections" "store backup --to $tmp/copy.db" \
         "run scenarios/identity-sync.yaml --input $fx/valid/event.json"; do
    # shellcheck disable=SC2086
    expect "an org that does not load exits 2 under $c, as under validate" 2 "$odiag" \
        -- "$bin" $c --org $fx/bad-org.yaml
done
expect "and under test, said once" 2 "$odiag
scenarist: org '$fx/bad-org.yaml' does not load; nothing tested" \
    -- "$bin" test scenarios --org $fx/bad-org.yaml

# --- a store's password: never written on the command line or in the org file, never shown ---
pwhelp="name it by a secret reference, postgresql://USER@HOST/DB?password=env:NAME (or password=file:PATH)"
expect "--store refuses a URI with user:password@, as the org file does" 2 \
    "scenarist: --store: a PostgreSQL store's password is never written on the command line (ps and the shell's history keep it): $pwhelp" \
    -- "$bin" executions --store "postgresql://scenarist:hunter2@db.example/hr" --org staging
for v in "postgresql://scenarist@db.example/hr?sslmode=require&password=hunter2" \
         "postgres://scenarist@db.example/hr?%70assword=hunter2"; do
    expect "--store refuses password= with the password itself ($v)" 2 \
        "scenarist: --store: password= must be a secret reference, env:NAME or file:PATH, never the password itself (ps and the shell's history keep the command line): postgresql://USER@HOST/DB?password=env:NAME" \
        -- "$bin" executions --store "$v" --org staging
done
expect "--store refuses a libpq key=value string with a password" 2 \
    "scenarist: --store: a store is a database file or a postgresql:// URI, never a libpq key=value string with a password in it: postgresql://USER@HOST/DB?password=env:NAME (or password=file:PATH) names the password by a secret reference" \
    -- "$bin" serve --store "host=db.example dbname=hr password = 'hunter 2'" --org staging
expect "so do store migrate's --to and --from" 2 \
    "scenarist: --to: a PostgreSQL store's password is never written on the command line (ps and the shell's history keep it): $pwhelp" \
    -- "$bin" store migrate --from var/x.db --to "postgresql://u:hunter2@db.example/hr" --org staging
# org files: the error at the store's line, the password masked in the line under the caret
pworg() { printf 'name: pw\nstore: %s\nstore_key: env:K\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms }\n' "$1" > "$tmp/pw.yaml"; }
nothing="scenarist: org '$tmp/pw.yaml' does not load; nothing validated"
pworg '"postgresql://scenarist:hunter2@db.example/hr"'
expect "a user:password@ store is refused at its line, the password masked" 2 \
"$tmp/pw.yaml:2:1: error: a PostgreSQL store's password is never written in the org file: name it by a secret reference, postgresql://USER@HOST/DB?password=env:NAME (or file:PATH)
    2 | store: \"postgresql://scenarist:***@db.example/hr\"
      | ^~~~~
$nothing" -- "$bin" validate --org "$tmp/pw.yaml" scenarios/identity-sync.yaml
pworg '"postgresql://scenarist@db.example/hr?sslmode=require&%70assword=hunter2&application_name=x"'
expect "password= (its key percent-encoded too) is refused, masked" 2 \
"$tmp/pw.yaml:2:1: error: the store's password must be a secret reference, password=env:NAME or password=file:PATH, never the password itself
    2 | store: \"postgresql://scenarist@db.example/hr?sslmode=require&%70assword=***&application_name=x\"
      | ^~~~~
$nothing" -- "$bin" validate --org "$tmp/pw.yaml" scenarios/identity-sync.yaml
pworg "'host=db.example dbname=hr password=hunter2'"
expect "a libpq key=value string is refused, masked" 2 \
"$tmp/pw.yaml:2:1: error: the store is a database file or a postgresql:// URI, never a libpq key=value string with a password in it: postgresql://USER@HOST/DB?password=env:NAME (or file:PATH) names the password by a secret reference
    2 | store: 'host=db.example dbname=hr password=***'
      | ^~~~~
$nothing" -- "$bin" validate --org "$tmp/pw.yaml" scenarios/identity-sync.yaml
pworg '"postgresql://scenarist:hunter2@db.example/hr" x'
expect "a YAML error on the store's line masks it too, its caret moved along" 2 \
"$tmp/pw.yaml:2:55: error: YAML syntax error: did not find expected key while parsing a block mapping (started at line 1, column 1)
    2 | store: \"postgresql://scenarist:***@db.example/hr\" x
      |                                                   ^
$nothing" -- "$bin" validate --org "$tmp/pw.yaml" scenarios/identity-sync.yaml
# every spelling of a password is refused (exit 2) and never shown: whitespace in it, YAML
# escapes, a string cut over lines, encoded keys, a password nested in another parameter
pwlit="error: the store's password must be a secret reference, password=env:NAME or password=file:PATH, never the password itself"
pwui="error: a PostgreSQL store's password is never written in the org file: name it by a secret reference, postgresql://USER@HOST/DB?password=env:NAME (or file:PATH)"
pwempty="error: the store's password reference is empty: name the password by a secret reference, postgresql://USER@HOST/DB?password=env:NAME (or file:PATH)"
pwparse="error: the store's address is not a connection URI libpq can read (its keys and values percent-encoded once): postgresql://USER@HOST/DB?password=env:NAME"
while IFS='|' read -r value err shown; do
    pworg "$value"
    expect "refused and masked: $value" 2 "$tmp/pw.yaml:2:1: $err
    2 | store: $shown
      | ^~~~~
$nothing" -- "$bin" validate --org "$tmp/pw.yaml" scenarios/identity-sync.yaml
done <<EOF
"postgresql://postgres:Hunter SECRETX@localhost/sc1"|$pwui|"postgresql://postgres:***@localhost/sc1"
"postgresql://postgres:Hunter	SECRETX@localhost/sc1"|$pwui|"postgresql://postgres:***@localhost/sc1"
"postgresql:\/\/postgres:Hunter2Pw@localhost/sc1"|$pwui|"postgresql:\/\/postgres:***@localhost/sc1"
"postgresql://postgres@localhost/sc1?password=Hunter SECRETX"|$pwlit|"postgresql://postgres@localhost/sc1?password=***"
"postgresql://postgres@localhost/sc1?password= HunterX"|$pwlit|"postgresql://postgres@localhost/sc1?password=***"
"postgresql://postgres@localhost/sc1?password%3DHunter2Pw"|$pwparse|"postgresql://postgres@localhost/sc1?password%3D***"
"postgresql://postgres@localhost/sc1?options=-c%20password=Hunter2Pw"|$pwparse|"postgresql://postgres@localhost/sc1?options=***"
"postgresql://u@127.0.0.1:1/db?%2570assword=hunter2"|$pwparse|"postgresql://u@127.0.0.1:1/db?%2570assword=***"
"postgresql://u@127.0.0.1:1/db?pass%00word=hunter2&sslmode=disable"|$pwparse|"postgresql://u@127.0.0.1:1/db?pass%00word=***&sslmode=***"
"postgresql://u@127.0.0.1:1/db?host=u:hunter2@h"|$pwui|"postgresql://u@127.0.0.1:1/db?host=***"
"postgresql://u@h/d?password=ENV:hunter2"|$pwlit|"postgresql://u@h/d?password=***"
"postgresql://u@h/d?password=Env:hunter2"|$pwlit|"postgresql://u@h/d?password=***"
"postgresql://u@h/d?password=FILE:hunter2"|$pwlit|"postgresql://u@h/d?password=***"
"postgresql://u@h/d?password=env: hunter2"|$pwlit|"postgresql://u@h/d?password=***"
"postgresql://u@h/d?password=env:hunter2 x"|$pwlit|"postgresql://u@h/d?password=***"
"postgresql://u@h/d?password=env:%20hunter2"|$pwlit|"postgresql://u@h/d?password=***"
"postgresql://u@h/d?password=env:hunter2%09"|$pwlit|"postgresql://u@h/d?password=***"
"postgresql://u@h/d?password=file:hunter2%0a"|$pwlit|"postgresql://u@h/d?password=***"
"mysql://u@h/d"|error: a store is a SQLite file path or a postgresql:// address|"mysql://u@h/d"
"http://h/d"|error: a store is a SQLite file path or a postgresql:// address|"http://h/d"
"postgresql://postgres@localhost/sc1?dbname=host%3D/tmp%20password%3DHunter2Pw"|$pwlit|"postgresql://postgres@localhost/sc1?dbname=host%3D/tmp%20password%3D***"
"postgresql://postgres@localhost/host=/tmp%20password=Hunter2Pw"|$pwlit|"postgresql://postgres@localhost/host=/tmp%20password=***"
"postgresql://postgres@localhost/sc1?password="|$pwempty|"postgresql://postgres@localhost/sc1?password="
"postgresql://postgres@localhost/sc1?password=file:"|$pwempty|"postgresql://postgres@localhost/sc1?password=file:"
EOF
for cut in '\n\n  ' '\\\n  ' '\n  '; do # a blank line, a continued line, a folded line
    printf "name: pw\nstore: \"postgresql://postgres:Hunter${cut}SECRETX@localhost/sc1\"\nstore_key: env:K\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms }\n" > "$tmp/pw.yaml"
    expect "a password cut over lines is refused, its first line masked ($cut)" 2 "$tmp/pw.yaml:2:1: $pwui
    2 | store: \"postgresql://postgres:***
      | ^~~~~
$nothing" -- "$bin" validate --org "$tmp/pw.yaml" scenarios/identity-sync.yaml
done
for c in executions "audit verify" serve; do
    # shellcheck disable=SC2086
    expect "--store with whitespace in the password is refused, not shown ($c)" 2 \
        "scenarist: --store: a PostgreSQL store's password is never written on the command line (ps and the shell's history keep it): $pwhelp" \
        -- "$bin" $c --org staging --store "postgresql://postgres:Hunter SECRETX@localhost/sc1"
done
expect "store migrate --from too" 2 \
    "scenarist: --from: a PostgreSQL store's password is never written on the command line (ps and the shell's history keep it): $pwhelp" \
    -- "$bin" store migrate --org staging --from "postgresql://postgres:Hunter SECRETX@localhost/sc1" --to "postgresql://u@h/x"
expect "--store ?password= with a leading space is refused, not echoed" 2 \
    "scenarist: --store: password= must be a secret reference, env:NAME or file:PATH, never the password itself (ps and the shell's history keep the command line): postgresql://USER@HOST/DB?password=env:NAME" \
    -- "$bin" executions --org staging --store "postgresql://postgres@localhost/sc1?password= HunterX"
for v in "password=" "password=file:" "password=env:"; do
    expect "--store ?$v (names nothing) is refused" 2 \
        "scenarist: --store: the password reference is empty: name the password by a secret reference, postgresql://USER@HOST/DB?password=env:NAME (or password=file:PATH)" \
        -- "$bin" executions --org staging --store "postgresql://postgres@localhost/sc1?$v"
done
for v in "env:hunter2 x" "ENV:hunter2" "file:hunter2%0a"; do
    pworg "\"postgresql://u@h/d?password=$v\""
    expect "serve's stderr masks a badly written reference too ($v)" 2 "$tmp/pw.yaml:2:1: $pwlit
    2 | store: \"postgresql://u@h/d?password=***\"
      | ^~~~~" -- "$bin" serve --org "$tmp/pw.yaml" --listen 127.0.0.1:0
done
# a store's scheme is read without case (RFC 3986 3.1); another SCHEME:// is never a file
for v in "mysql://u@db.example/hr" "http://db.example/hr" "Mysql+x://h"; do
    expect "--store $v is refused, not made a file" 2 \
        "scenarist: --store: a store is a SQLite file path or a postgresql:// address" \
        -- "$bin" executions --org staging --store "$v"
done
for v in "postgresql://u@127.0.0.1:1/db?%2570assword=hunter2|postgresql://u@127.0.0.1:1/db?%2570assword=***" \
         "postgresql://u@127.0.0.1:1/db?pass%00word=hunter2&sslmode=disable|postgresql://u@127.0.0.1:1/db?pass%00word=***&sslmode=***" \
         "POSTGRES://u@127.0.0.1:1/db?application_name=x&%2570assword=hunter2|POSTGRES://u@127.0.0.1:1/db?application_name=***&%2570assword=***"; do
    expect "--store libpq cannot parse is refused, every value masked (${v%%|*})" 2 \
        "scenarist: --store: not a connection URI libpq can read (its keys and values percent-encoded once): ${v#*|}" \
        -- "$bin" executions --org staging --store "${v%%|*}"
done
expect "--store ?host=USER:PASSWORD@HOST is refused as a written password" 2 \
    "scenarist: --store: a PostgreSQL store's password is never written on the command line (ps and the shell's history keep it): $pwhelp" \
    -- "$bin" executions --org staging --store "postgresql://u@127.0.0.1:1/db?host=u:hunter2@h"
for v in "POSTGRESQL:///scenarist?host=$tmp/nosock" "Postgresql:///scenarist?host=$tmp/nosock" "POSTGRES:///scenarist?host=$tmp/nosock"; do
    printf 'name: up\nstore: "%s"\nstore_key: env:K\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms }\n' "$v" > "$tmp/up.yaml"
    expect "store: $v is PostgreSQL (--state-dir), never a file under the state folder" 1 \
        "scenarist: store $v: cannot connect: connection to server on socket \"$tmp/nosock/.s.PGSQL.5432\" failed: No such file or directory
	Is the server running locally and accepting connections on that socket?" \
        -- env K="$(printf '%064d' 0)" "$bin" executions --org "$tmp/up.yaml" --state-dir "$tmp/upst"
    expect "store: $v is PostgreSQL (SCENARIST_STATE_DIR) too" 1 \
        "scenarist: store $v: cannot connect: connection to server on socket \"$tmp/nosock/.s.PGSQL.5432\" failed: No such file or directory
	Is the server running locally and accepting connections on that socket?" \
        -- env K="$(printf '%064d' 0)" SCENARIST_STATE_DIR="$tmp/upst" "$bin" executions --org "$tmp/up.yaml"
done
check "no file was made for an upper-case scheme" test ! -e "$tmp/upst"
# a file-path option never takes a database address: refused, never echoed, nothing written
for v in "postgresql://u:hunter2@127.0.0.1:1/db" "Postgres://u@h/db?password=env:X" "mysql://u:hunter2@h/db"; do
    expect "store backup --to $v is refused, not echoed" 2 \
        "scenarist: --to: store backup writes a SQLite file (a PostgreSQL store is backed up with pg_dump), never a database address (not shown: it may hold a password)" \
        -- "$bin" store backup --org staging --to "$v"
    expect "backup --to $v is refused" 2 \
        "scenarist: --to: backup writes scenario files into a folder, never a database address (not shown: it may hold a password)" \
        -- "$bin" backup --org staging --to "$v"
    expect "restore --from $v is refused" 2 \
        "scenarist: --from: restore reads scenario files from a folder, never a database address (not shown: it may hold a password)" \
        -- "$bin" restore --org staging --from "$v"
    expect "export -o $v is refused" 2 \
        "scenarist: -o: export writes a scenario file, never a database address (not shown: it may hold a password)" \
        -- "$bin" export identity-sync --org staging -o "$v"
    expect "import $v is refused" 2 \
        "scenarist: import: import reads a scenario file, never a database address (not shown: it may hold a password)" \
        -- "$bin" import "$v" --org staging
done
check "no ./postgresql: nor ./Postgres: file was written" test ! -e postgresql: -a ! -e Postgres: -a ! -e mysql:
# a mistyped --store: read commands never create a store (nor its folders)
for c in executions "execution 20260101-000000-000001" audit "audit verify" "versions x" "queue list" "holds list" "incomplete list" metrics "prune --dry-run" "store backup --to $tmp/bk.db"; do
    # shellcheck disable=SC2086
    expect "$c on a --store that does not exist: exit 1, the path named, nothing made" 1 \
        "scenarist: --store $tmp/typo/scenarist.db: no such store (no file there): only serve, run, deploy, init, test, import, restore and promote create a store" \
        -- "$bin" $c --org staging --store "$tmp/typo/scenarist.db"
done
check "no folder was made for it" test ! -e "$tmp/typo"
# the org's own store: follows the same rule: a read never makes it anew
printf 'name: fresh\nstore: %s\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms }\n' "$tmp/fresh/scenarist.db" > "$tmp/fresh.yaml"
for c in executions "execution 20260101-000000-000001" audit "audit verify" "versions x" "queue list" "holds list" "incomplete list" metrics "shadow list" "prune --dry-run" "store backup --to $tmp/bk.db"; do
    # shellcheck disable=SC2086
    expect "$c on an org whose store: does not exist yet: exit 1, the path and the org named" 1 \
        "scenarist: store $tmp/fresh/scenarist.db (org fresh's store): no such store (no file there): only serve, run, deploy, init, test, import, restore and promote create a store" \
        -- "$bin" $c --org "$tmp/fresh.yaml"
done
check "no folder was made for it" test ! -e "$tmp/fresh"
# a file at the store's path that is no store: a read refuses it and leaves it as it is
: > "$tmp/empty.db"
printf 'not a database\n' > "$tmp/text.db"
sqlite3 "$tmp/foreign.db" "CREATE TABLE notes(x); INSERT INTO notes VALUES('keep me')"
only="only serve, run, deploy, init, test, import, restore and promote create a store"
for c in executions audit "audit verify" "queue list" "holds list" "incomplete list" metrics "prune --dry-run"; do
    # shellcheck disable=SC2086
    expect "$c on an empty file (0 bytes) at --store: exit 1, the file left empty" 1 \
        "scenarist: --store $tmp/empty.db: an empty file (0 bytes), not a store; left as it is: $only
0" -- bash -c "'$bin' $c --org staging --store '$tmp/empty.db'; rc=\$?; stat -c %s '$tmp/empty.db'; exit \$rc"
    # shellcheck disable=SC2086
    expect "$c on a file that is not SQLite: exit 1, the file as it was" 1 \
        "scenarist: --store $tmp/text.db: not a store (not a SQLite database); left as it is: $only
not a database" -- bash -c "'$bin' $c --org staging --store '$tmp/text.db'; rc=\$?; cat '$tmp/text.db'; exit \$rc"
    # shellcheck disable=SC2086
    expect "$c on a SQLite database that is not a store: exit 1, its tables as they were" 1 \
        "scenarist: --store $tmp/foreign.db: a SQLite database but not a store (it has no scenarist schema); left as it is: $only
notes|keep me" -- bash -c "'$bin' $c --org staging --store '$tmp/foreign.db'; rc=\$?; sqlite3 '$tmp/foreign.db' \"SELECT group_concat(name) FROM sqlite_master\" \"SELECT x FROM notes\" | paste -sd'|'; exit \$rc"
done
printf 'name: zero\nstore: %s\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms }\n' "$tmp/empty.db" > "$tmp/zero.yaml"
expect "the org's own store: an empty file there is refused the same, named as the org's" 1 \
    "scenarist: store $tmp/empty.db (org zero's store): an empty file (0 bytes), not a store; left as it is: $only
0" -- bash -c "'$bin' executions --org '$tmp/zero.yaml'; rc=\$?; stat -c %s '$tmp/empty.db'; exit \$rc"
printf 'name: first\ntriggers:\n  - manual: {}\nsteps:\n  - { id: s, module: set, with: { vars: { a: 1 } } }\n' > "$tmp/first.yaml"
echo '{}' > "$tmp/first.json"
expect "run creates the org's store, which the reads then find" 0 "execution 1 ok" \
    -- sh -c "'$bin' run '$tmp/first.yaml' --input '$tmp/first.json' --org '$tmp/fresh.yaml' >/dev/null && test -f '$tmp/fresh/scenarist.db' && echo execution \$('$bin' executions --org '$tmp/fresh.yaml' --json | jq length) ok"
expect "store migrate --from a file that does not exist: exit 1" 1 \
    "scenarist: --from $tmp/typo.db: no such store (no file there)" \
    -- "$bin" store migrate --org staging --from "$tmp/typo.db" --to "postgresql://u@h/x"
printf 'name: pw\nstore: var/pw.db\nconnections:\n  lms: { base_url: http://127.0.0.1:9/lms, auth: { secret: "tok-hunter2", kind: bearr } }\n' > "$tmp/pw.yaml"
expect "a pasted secret is masked in every diagnostic that quotes its line, carets moved along" 2 \
"$tmp/pw.yaml:4:60: error: a secret is written as a reference, env:NAME or file:PATH, never the secret itself
    4 |   lms: { base_url: http://127.0.0.1:9/lms, auth: { secret: ***, kind: bearr } }
      |                                                            ^~~
$tmp/pw.yaml:4:81: error: 'bearr' is not a valid kind (none, bearer, basic, api-key, oauth2); did you mean 'bearer'?
    4 |   lms: { base_url: http://127.0.0.1:9/lms, auth: { secret: ***, kind: bearr } }
      |                                                                       ^~~~~
$nothing" -- "$bin" validate --org "$tmp/pw.yaml" scenarios/identity-sync.yaml

# --- modules ---
expect "modules lists every module" 0 "$(cat $fx/modules.out)" -- "$bin" modules
expect "modules NAME prints the parameter table" 0 "$(cat $fx/modules-notify.out)" \
    -- "$bin" modules notify
expect "unknown module name" 2 "scenarist: unknown module 'http.requets'; did you mean 'http.request'?" \
    -- "$bin" modules http.requets
hu="usage: scenarist holds list|show ID|approve ID [--wait|--here]|reject ID [-m REASON] [--org NAME] [--json]"
iu="usage: scenarist incomplete list|retry ID [--wait|--here] [-m REASON]|retry --all [--scenario NAME] [--since DURATION|DATE]|resolve ID|discard ID [--org NAME] [--json]"
expect "approve takes --wait or --here, not both" 2 "$hu" -- "$bin" holds approve 1 --wait --here --org tests/config/org.yaml
expect "reject runs nothing: --wait is a usage error, not ignored" 2 "$hu" -- "$bin" holds reject 1 --wait --org tests/config/org.yaml
expect "incomplete retry takes --wait or --here, not both" 2 "$iu" -- "$bin" incomplete retry X --here --wait --org tests/config/org.yaml
expect "resolve runs nothing: --here is a usage error" 2 "$iu" -- "$bin" incomplete resolve X --here --org tests/config/org.yaml
expect "run needs --input" 2 "usage: scenarist run FILE|NAME --input EVENT.json [--version N] [--org NAME] [--no-retry] [--json]" \
    -- "$bin" run scenarios/identity-sync.yaml
expect "run refuses an invalid scenario before running it" 2 "$(cat $fx/run-invalid.out)" \
    -- "$bin" run --org staging $fx/writes-calendar.yaml --input $fx/valid/event.json
expect_grep "modules --json" 0 '"name": "http.request"' -- "$bin" modules --json
expect_grep "modules NAME --json carries defaults" 0 '"default": "auto"' \
    -- "$bin" modules http.request --json

# --- generated docs are fresh ---
for page in modules format org; do
    file=docs/$page.md
    [ "$page" = format ] && file=docs/format-tables.md
    [ "$page" = org ] && file=docs/org-tables.md
    expect "docs/$(basename $file) is fresh (make docs rewrites it)" 0 "$(cat $file)" \
        -- "$bin" docs "$page"
done
expect "docs needs a page" 2 "scenarist docs: name a page: modules, format, org, man1 or man5" -- "$bin" docs
