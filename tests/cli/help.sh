# Sourced by tests/cli/run.sh: every command's --help, -V, did-you-mean, --input -.
# every command `scenarist help` lists (a command added there needs its entry in cli_help.c)
cmds=$("$bin" help | sed -n '/^commands:/,/^options:/p' | grep -oE '^  [a-z]+' | tr -d ' ')
check "help lists the commands (25 at least)" test "$(printf '%s\n' "$cmds" | wc -l)" -ge 25
for c in $cmds; do
    expect_grep "$c --help" 0 "usage: scenarist $c" -- "$bin" "$c" --help
done
expect "diff --help, exactly" 0 "usage: scenarist diff NAME A B

What changed between two versions, step by step.

options:
  --org NAME|FILE           organisation: CONFIG/orgs/NAME.yaml, or a file (a value with a /
                            or ending in .yaml); default staging
  --config-dir DIR          where orgs/ is (env SCENARIST_CONFIG_DIR); default: the working
                            directory in a checkout, the system configuration folder when
                            installed
  --data-dir DIR            where lua/ (prelude and transforms) is (env SCENARIST_DATA_DIR);
                            default: the checkout's, or the installed data folder
  --state-dir DIR           where stores are (env SCENARIST_STATE_DIR): an org's relative
                            store path is taken under it; default: the working directory in
                            a checkout, the installed state folder otherwise
  --store FILE              a database other than the org's
  --json                    machine-readable output" -- "$bin" diff --help
expect "-h after other arguments" 0 "$("$bin" diff --help)" -- "$bin" diff a b -h
expect "help COMMAND is COMMAND --help" 0 "$("$bin" run --help)" -- "$bin" help run
expect "after --, --help is an argument" 2 "scenarist: unknown option '--jsn'; did you mean '--json'?" \
    -- "$bin" validate --jsn -- --help
expect "help for no command" 2 "scenarist: unknown command 'sevre'; did you mean 'serve'?
run 'scenarist --help' for the commands" -- "$bin" help sevre
expect "-V" 0 "scenarist 0.1.0" -- "$bin" -V
expect "--version" 0 "scenarist 0.1.0" -- "$bin" --version
expect "a misspelt command with a dash in it" 2 "scenarist: unknown command 'rolback'; did you mean 'rollback'?
run 'scenarist --help' for the commands" -- "$bin" rolback
expect "nothing near: no suggestion" 2 "scenarist: unknown command 'xyzzy'
run 'scenarist --help' for the commands" -- "$bin" xyzzy
expect "a misspelt option with a value" 2 "scenarist: unknown option '--lisen=127.0.0.1:0'; did you mean '--listen'?" \
    -- "$bin" serve --lisen=127.0.0.1:0
expect "a misspelt long option" 2 "scenarist: unknown option '--max-conections'; did you mean '--max-connections'?" \
    -- "$bin" serve --max-conections 5
expect "an option whose head fills the 28 columns has its text on the next line (not run together)" 0 \
"  --max-connections-per-ip N
                            of them from one client address (default 512)" \
    -- bash -c "'$bin' serve --help | grep -A1 -- '--max-connections-per-ip'"
expect "docs man1 is the committed page" 0 "$(cat docs/scenarist.1)" -- "$bin" docs man1
expect "docs names the man pages" 2 "scenarist docs: name a page: modules, format, org, man1 or man5" -- "$bin" docs nope
expect_grep "--input - reads the event from standard input" 0 "success" \
    -- sh -c "printf '{\"status\":\"clear\",\"report\":\"R-7\"}' | '$bin' run tests/install/scenario.yaml --org tools/example-org.yaml --store '$tmp/stdin.db' --input -"
expect "--input - with bad JSON names <stdin>" 2 "<stdin>:1:1: error: input is not valid JSON: invalid token near 'x'" \
    -- sh -c "printf 'x' | '$bin' run tests/install/scenario.yaml --org tools/example-org.yaml --store '$tmp/stdin.db' --input -"
