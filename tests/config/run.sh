#!/usr/bin/env bash
# Bad scenario files: each tests/config/NAME.yaml (org.yaml aside) is validated
# against tests/config/org.yaml, and its output and exit status must equal
# tests/config/NAME.out byte for byte. Prints TAP lines.
# usage: tests/config/run.sh SCENARIST [--bless]   (--bless rewrites the .out files)
set -u
bin=$1
bless=${2:-}
cd "$(dirname "$0")/../.."

run() { # file -> output and "[exit N]"
    "$bin" validate --org tests/config/org.yaml "$1" 2>&1
    echo "[exit $?]"
}

check() { # name, file, expected-file
    local out
    out=$(run "$2")
    if [ "$bless" = --bless ]; then
        printf '%s\n' "$out" > "$3"
        echo "ok - $1 (blessed)"
    elif diff -u "$3" <(printf '%s\n' "$out") > /tmp/sc-config-diff.$$ 2>&1; then
        echo "ok - config $1"
    else
        echo "not ok - config $1"
        sed 's/^/# /' /tmp/sc-config-diff.$$
    fi
    rm -f /tmp/sc-config-diff.$$
}

for f in tests/config/*.yaml; do
    name=$(basename "$f" .yaml)
    [ "$name" = org ] && continue
    check "$name" "$f" "tests/config/$name.out"
done

# Generated: a file one byte over the 1 MiB cap (not kept in the repository).
mkdir -p build/config
head -c 1048577 /dev/zero | tr '\0' '#' > build/config/too-large.yaml
check too-large build/config/too-large.yaml tests/config/too-large.out
