#!/usr/bin/env bash
# Editors and first steps: `scenarist schema` (a JSON Schema, draft 2020-12, checked by
# Debian's python3-jsonschema as a YAML language server would), the modeline of every
# shipped scenario, and `scenarist init` for each trigger kind. Prints TAP lines.
# usage: tests/schema/run.sh SCENARIST
set -u
bin=$(realpath "$1")
cd "$(dirname "$0")/../.."
suite=schema
. tests/lib.sh
suite_tmp
py=/usr/bin/python3 # Debian's, with python3-jsonschema and python3-yaml (tools/install-deps)
check="$py tests/schema/check.py"
modeline='# yaml-language-server: $schema=../docs/scenario.schema.json'

# ---- the schema ----
"$bin" schema > "$tmp/schema.json"
expect "schema is docs/scenario.schema.json (make docs keeps it fresh)" 0 "" \
    -- diff docs/scenario.schema.json "$tmp/schema.json"
cat > "$tmp/facts.py" <<'PY'
# The schema against the module tables as `scenarist modules --json` gives them: every
# module, every parameter with its description, default, allowed values and requiredness.
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(s)  # raises when it is not a valid schema
print(s["$schema"])
d, n, wrong = s["$defs"], 0, []
for m in json.load(open(sys.argv[2])):
    w = d.get("with:" + m["name"], {})
    for p in m["parameters"]:
        n += 1
        got = w.get("properties", {}).get(p["name"], {})
        enum = got.get("enum") or next((a["enum"] for a in got.get("anyOf", []) if "enum" in a), None)
        if (got.get("description") != p["description"] or got.get("default") != p.get("default")
                or enum != p.get("allowed") or (p["name"] in w.get("required", [])) != p["required"]):
            wrong.append(m["name"] + "." + p["name"])
print(f"{len([k for k in d if k.startswith('with:')])} modules; of their {n} parameters, differing: {wrong}")
PY
"$bin" modules --json > "$tmp/modules.json"
expect "a valid draft 2020-12 schema, with every module's parameters as the tables have them" 0 \
    "https://json-schema.org/draft/2020-12/schema
$("$bin" modules | wc -l) modules; of their $($py -c 'import json,sys; print(sum(len(m["parameters"]) for m in json.load(open(sys.argv[1]))))' "$tmp/modules.json") parameters, differing: []" \
    -- $py "$tmp/facts.py" "$tmp/schema.json" "$tmp/modules.json"
expect "schema takes no arguments" 2 "scenarist schema: takes no arguments (it prints the scenario file's JSON Schema)" \
    -- "$bin" schema extra

# ---- the shipped scenarios: modeline, schema, validate ----
expect "every shipped scenario starts with the yaml-language-server modeline" 0 "" \
    -- sh -c "for f in scenarios/*.yaml; do [ \"\$(head -1 \$f)\" = '$modeline' ] || echo \$f; done"
expect "every shipped scenario validates against the schema" 0 "$(for f in scenarios/*.yaml; do echo "$f: ok"; done)" \
    -- $check "$tmp/schema.json" scenarios/*.yaml
others=$(grep -rl '^steps:' tests tools/bench --include='*.yaml' | grep -v -e '^tests/config/' -e '^tests/schema/bad/' \
    -e '^tests/cli/fixtures/two-bad/' -e '^tests/versions/fixtures/broken.yaml')
expect "so does every other scenario of the tests and benchmarks (the bad ones aside)" 0 "" \
    -- sh -c "$check '$tmp/schema.json' $(echo $others) | grep -v ': ok\$'; true"
expect "the checker says a file is not YAML rather than stopping" 1 "tests/config/tab-indent.yaml: not YAML: found character '\t' that cannot start any token
tests/schema/bad/wrong-enum.yaml: at steps/0/with/method: 'GRT' is not one of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']" \
    -- $check "$tmp/schema.json" tests/config/tab-indent.yaml tests/schema/bad/wrong-enum.yaml
expect "validate reads past the modeline (the library is valid)" 0 "ok: $(ls scenarios/*.yaml | wc -l) scenario files valid for org staging" \
    -- "$bin" validate

# ---- the schema rejects what validate rejects ----
$check "$tmp/schema.json" tests/schema/bad/*.yaml > "$tmp/bad.out" # one run: python starts slowly
bad() { # NAME FILE SCHEMA-MESSAGE VALIDATE-FIRST-LINE
    expect "schema rejects $1" 0 "$3" -- grep "^tests/schema/bad/$2:" "$tmp/bad.out"
    expect "validate rejects $1 too" 2 "$4" -- bash -c "'$bin' validate tests/schema/bad/$2 2>&1 | sed -n 1p; exit \${PIPESTATUS[0]}"
}
bad "a misspelt module parameter" misspelt-param.yaml \
"tests/schema/bad/misspelt-param.yaml: at steps/0/with: Additional properties are not allowed ('conection' was unexpected)
tests/schema/bad/misspelt-param.yaml: at steps/0/with: 'connection' is a required property" \
"tests/schema/bad/misspelt-param.yaml:10:13: error: unknown key 'conection' in http.request; did you mean 'connection'?"
bad "a misspelt step key" misspelt-step-key.yaml \
"tests/schema/bad/misspelt-step-key.yaml: at steps/1: Additional properties are not allowed ('modul' was unexpected)
tests/schema/bad/misspelt-step-key.yaml: at steps/1: 'module' is a required property" \
"tests/schema/bad/misspelt-step-key.yaml:12:5: error: unknown key 'modul' in this step; did you mean 'module'?"
bad "a wrong type (max_bundles: lots)" wrong-type.yaml \
"tests/schema/bad/wrong-type.yaml: at settings/max_bundles: 'lots' is not of type 'integer'" \
"tests/schema/bad/wrong-type.yaml:6:66: error: 'max_bundles' must be an integer, not text"
bad "a duration without a unit" duration-number.yaml \
"tests/schema/bad/duration-number.yaml: at on_error/1/break/interval: 60 is not of type 'string'" \
"tests/schema/bad/duration-number.yaml:26:24: error: 'interval' needs a unit: write 60s (or ms, m, h, d)"
bad "a value outside an enum" wrong-enum.yaml \
"tests/schema/bad/wrong-enum.yaml: at steps/0/with/method: 'GRT' is not one of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']" \
"tests/schema/bad/wrong-enum.yaml:10:39: error: 'GRT' is not a valid method (GET, HEAD, POST, PUT, PATCH, DELETE); did you mean 'GET'?"
bad "an unknown module" unknown-module.yaml \
"tests/schema/bad/unknown-module.yaml: at steps/1/module: 'mapp' is not one of ['aggregate', 'audit.summary', 'compare', 'datastore.delete', 'datastore.get', 'datastore.search', 'datastore.set', 'dedupe', 'hold', 'http.request', 'iterator', 'json.parse', 'json.stringify', 'lua', 'map', 'notify', 'queue.push', 'queue.sweep', 'reconcile', 'respond', 'router', 'set', 'sleep']" \
"tests/schema/bad/unknown-module.yaml:12:13: error: unknown module 'mapp'; did you mean 'map'?"
bad "an unknown trigger" unknown-trigger.yaml \
"tests/schema/bad/unknown-trigger.yaml: at triggers/0: {'webhok': {'path': '/hooks/hris/employee-changed', 'auth': 'hris-signature'}} is not valid under any of the given schemas" \
"tests/schema/bad/unknown-trigger.yaml:5:5: error: unknown trigger 'webhok'; did you mean 'webhook'?"
bad "a nested field of the wrong type" field-type.yaml \
"tests/schema/bad/field-type.yaml: at steps/1/with/fields/0/required: 'yes please' is not valid under any of the given schemas" \
"tests/schema/bad/field-type.yaml:16:50: error: 'required' must be true or false, not text"

# ---- init ----
mkdir -p "$tmp/new"
for kind in webhook schedule poll; do
    expect "init --trigger $kind" 0 "wrote $tmp/new/hello-$kind.yaml ($kind trigger; connection hris of org staging): check it with scenarist validate $tmp/new/hello-$kind.yaml" \
        -- "$bin" init hello-$kind --trigger $kind --dir "$tmp/new"
    expect "init --trigger $kind: the file is valid for staging" 0 "ok: 1 scenario file valid for org staging" \
        -- "$bin" validate "$tmp/new/hello-$kind.yaml"
    expect "init --trigger $kind: and for production" 0 "ok: 1 scenario file valid for org production" \
        -- "$bin" validate --org production "$tmp/new/hello-$kind.yaml"
done
expect "init's files validate against the schema" 0 "$tmp/new/hello-webhook.yaml: ok
$tmp/new/hello-schedule.yaml: ok
$tmp/new/hello-poll.yaml: ok" -- $check "$tmp/schema.json" "$tmp/new/hello-webhook.yaml" "$tmp/new/hello-schedule.yaml" "$tmp/new/hello-poll.yaml"
expect_grep "init explains each part in comments" 0 "# The error route of every step: retry the failed step a minute later" \
    -- cat "$tmp/new/hello-webhook.yaml"
expect_grep "a webhook names the org's first webhook secret" 0 "  - webhook: { path: /hooks/hello-webhook, auth: hris-signature }" \
    -- cat "$tmp/new/hello-webhook.yaml"
echo "# mine" > "$tmp/new/mine.yaml"
expect "init never overwrites" 2 "scenarist init: $tmp/new/mine.yaml: already exists; not overwritten" \
    -- "$bin" init mine --dir "$tmp/new"
expect "the file is as it was" 0 "# mine" -- cat "$tmp/new/mine.yaml"
expect "init: a trigger kind it does not know" 2 "scenarist init: --trigger is webhook, schedule or poll, not 'cron'" \
    -- "$bin" init x --trigger cron --dir "$tmp/new"
expect "init: a name that cannot name a scenario" 2 "scenarist init: scenario name 'Hello World' may hold only a-z, 0-9, - and _ (64 at most)" \
    -- "$bin" init "Hello World" --dir "$tmp/new"
expect "init: a folder that is not there" 1 "scenarist init: $tmp/nowhere/x.yaml: No such file or directory" \
    -- "$bin" init x --dir "$tmp/nowhere"
expect "init in scenarios/ points the modeline at docs/" 0 "$modeline" \
    -- sh -c "cd '$tmp' && mkdir -p co/docs co/scenarios && cp '$PWD/docs/scenario.schema.json' co/docs/ && cd co && '$bin' init x --org '$PWD/orgs/staging.yaml' >/dev/null && head -1 scenarios/x.yaml"
