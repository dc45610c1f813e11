#!/usr/bin/env bash
# OAuth2 (client credentials, refresh tokens), secrets by reference and mutual TLS,
# against the sandbox's HRIS in OAuth mode (its token endpoint /hris/oauth/token) on the
# test clock: the first call fetches a token, the next reuses it, one after the token's
# expires_in minus the margin refreshes first, one after a revocation is answered 401,
# refreshes once and is sent again (the sandbox's exact journal); a second 401 fails with
# an auth error naming the connection; the endpoint's RFC 6749 errors are shown; no token,
# client secret or secret value reaches the store or the output. secret('NAME') in a
# header or query is sent and shown as [secret:NAME]; in a body or path it is refused.
# A TLS server that asks for a client certificate (openssl s_server -Verify) refuses a
# connection without one and answers one with it. The org's errors, with file:line:col.
# usage: tests/oauth/run.sh SCENARIST SANDBOX
set -u
bin=$(realpath "$1")
sandbox=$(realpath "$2")
cd "$(dirname "$0")/../.."
fx=tests/oauth
suite=oauth
. tests/lib.sh
suite_tmp dpid sbpid tlspid
export SCENARIST_CLOCK=test:2026-03-09T08:00:00Z USER=tester
export OAUTH_CLIENT_SECRET=cs-3Jq9 OAUTH_TENANT_KEY=tk-8Wz
unset OAUTH_NOT_SET

start_sandbox "$tmp/sbport" "$tmp/sandbox.log"
port=$(cat "$tmp/sbport")
echo '{}' > "$tmp/in.json"
id=20260309-080000-000001

# setup NAME CLIENT_AUTH SANDBOX-OAUTH-JSON: a fresh store and org in $tmp/NAME/, the
# sandbox reset and its HRIS put in OAuth mode.
setup() {
    dir=$tmp/$1
    mkdir -p "$dir"
    sed -e "s/@PORT@/$port/g" -e "s|@STORE@|$dir/store/scenarist.db|" -e "s/@CLIENT_AUTH@/$2/" \
        $fx/org.yaml.in > "$dir/org.yaml"
    org=$dir/org.yaml
    db=$dir/store/scenarist.db
    curl -s -X POST "$sb/_sandbox/reset" >/dev/null
    curl -s -X POST --data-binary "$3" "$sb/_sandbox/oauth" >/dev/null
}
journal() { curl -s "$sb/_sandbox/journal" | python3 $fx/journal.py; }
mask() { sed -e "s/127.0.0.1:$port/127.0.0.1:PORT/g"; }
# leaks: the number of places (store dump, output files) holding a token or secret value
leaks() {
    { sqlite3 "$db" .dump; cat "$@"; } | grep -c -e 'sbx-hris-at' -e 'sbx-hris-rt' -e 'cs-3Jq9' -e 'tk-8Wz'
    return 0
}
# run FILE: the run's output (the port masked, validation warnings left out), its status
run() {
    "$bin" run "$1" --input "$tmp/in.json" --org "$org" > "$tmp/out" 2>&1
    local rc=$?
    mask < "$tmp/out" | grep -v '^ *|\|warning: this step writes\|^ *[0-9]* |'
    return $rc
}
# message STEP: the full error message of the step in the store, the port masked
message() { sqlite3 "$db" "SELECT json_extract(error, '\$.message') FROM step_runs WHERE step = '$1'" | mask; }
client='{"system": "hris", "client_id": "scenarist", "client_secret": "cs-3Jq9", "expires_in": 300'

# ---- tokens: fetched, reused, refreshed before expiry, renewed once after a 401 ----
setup tokens basic "$client}"
expect "a run through the token's life" 0 \
"oauth-tokens  execution $id  (org oauthtest, version draft)
  first                  http.request    ok            0 ms  HTTP 200 {\"department\":{\"id\":\"D-10\",\"name\":\"Engineering\"},\"employment_type\":\"part_time\",\"first_na...
  again                  http.request    ok            0 ms  HTTP 200 {\"department\":{\"id\":\"D-10\",\"name\":\"Engineering\"},\"employment_type\":\"part_time\",\"first_na...
  later                  sleep           ok        280000 ms  {\"slept_ms\":280000}
  expired                http.request    ok            0 ms  HTTP 200 {\"department\":{\"id\":\"D-10\",\"name\":\"Engineering\"},\"employment_type\":\"part_time\",\"first_na...
  revoke                 http.request    ok            0 ms  HTTP 200 {\"revoked\":\"hris\"}
  revoked                http.request    ok            0 ms  HTTP 200 {\"department\":{\"id\":\"D-10\",\"name\":\"Engineering\"},\"employment_type\":\"part_time\",\"first_na...
success in 280000 ms" -- run $fx/tokens.yaml
scope='scope=employees.read%20employees.write&audience=https%3A%2F%2Fhris.example.com'
basic='Basic c2NlbmFyaXN0OmNzLTNKcTk='
expect "the sandbox's journal: one token, reused, refreshed 30 s before expiry, renewed once after the 401" 0 \
"POST /hris/oauth/token {} $basic - grant_type=client_credentials&$scope 200
GET /hris/employees/E-1001 {} Bearer sbx-hris-at-1 t-tk-8Wz - 200
GET /hris/employees/E-1001 {\"key\": \"tk-8Wz\"} Bearer sbx-hris-at-1 t-tk-8Wz - 200
POST /hris/oauth/token {} $basic - grant_type=refresh_token&refresh_token=sbx-hris-rt-1&$scope 200
GET /hris/employees/E-1001 {} Bearer sbx-hris-at-2 t-tk-8Wz - 200
GET /hris/employees/E-1001 {} Bearer sbx-hris-at-2 t-tk-8Wz - 401
POST /hris/oauth/token {} $basic - grant_type=refresh_token&refresh_token=sbx-hris-rt-2&$scope 200
GET /hris/employees/E-1001 {} Bearer sbx-hris-at-3 t-tk-8Wz - 200" -- journal
"$bin" execution $id --org "$org" --json > "$tmp/tokens.json" 2>&1
expect "no token, client secret or secret value in the store or the execution" 0 0 -- leaks "$tmp/tokens.json"
expect "the execution was read (its steps' outputs)" 0 6 -- sh -c "grep -o '\"step\": *\"[a-z]*\"' '$tmp/tokens.json' | sort -u | wc -l"
echo 'Bearer sbx-hris-at-1' > "$tmp/planted"
expect "the leak check finds a planted token" 0 1 -- leaks "$tmp/planted"

# ---- a second 401 fails the step with an auth error naming the connection ----
setup twice basic "$client, \"accept\": false}"
expect "a fresh token refused too: an auth error" 1 \
"oauth-one  execution $id  (org oauthtest, version draft)
  read                   http.request    error         0 ms  config: connection 'hris' refused a fresh OAuth2 access token: GET /employees/E-1001 answered HTT...
error in 0 ms at step read" -- run $fx/one.yaml
expect "the whole message" 0 \
"connection 'hris' refused a fresh OAuth2 access token: GET /employees/E-1001 answered HTTP 401 twice (check the client's scopes, audience and grants)" -- message read
expect "sent twice, with two tokens" 0 \
"POST /hris/oauth/token {} $basic - grant_type=client_credentials&$scope 200
GET /hris/employees/E-1001 {} Bearer sbx-hris-at-1 t-tk-8Wz - 401
POST /hris/oauth/token {} $basic - grant_type=refresh_token&refresh_token=sbx-hris-rt-1&$scope 200
GET /hris/employees/E-1001 {} Bearer sbx-hris-at-2 t-tk-8Wz - 401" -- journal

# ---- a paginated list renews its token on a 401 too ----
setup pages basic "$client}"
expect_grep "the list is read whole" 0 "success in 0 ms" -- run $fx/page.yaml
expect "page 1 refused, a fresh token, page 1 again, pages 2 and 3 with it" 0 \
"POST /hris/oauth/token {} $basic - grant_type=client_credentials&$scope 200
GET /hris/employees/E-1001 {} Bearer sbx-hris-at-1 t-tk-8Wz - 200
GET /hris/employees {\"per_page\": \"25\"} Bearer sbx-hris-at-1 t-tk-8Wz - 401
POST /hris/oauth/token {} $basic - grant_type=refresh_token&refresh_token=sbx-hris-rt-1&$scope 200
GET /hris/employees {\"per_page\": \"25\"} Bearer sbx-hris-at-2 t-tk-8Wz - 200
GET /hris/employees {\"page\": \"2\", \"per_page\": \"25\"} Bearer sbx-hris-at-2 t-tk-8Wz - 200
GET /hris/employees {\"page\": \"3\", \"per_page\": \"25\"} Bearer sbx-hris-at-2 t-tk-8Wz - 200" -- journal

# ---- the token endpoint's errors (RFC 6749 section 5.2) ----
setup badsecret basic '{"system": "hris", "client_id": "scenarist", "client_secret": "other"}'
expect "a wrong client secret: invalid_client, nothing else sent" 1 \
"oauth-one  execution $id  (org oauthtest, version draft)
  read                   http.request    error         0 ms  config: connection 'hris': the token endpoint http://127.0.0.1:PORT/hris/oauth/token refused the...
error in 0 ms at step read" -- run $fx/one.yaml
expect "the endpoint's error and description" 0 \
"connection 'hris': the token endpoint http://127.0.0.1:PORT/hris/oauth/token refused the client_credentials grant (HTTP 401): invalid_client: client authentication failed" -- message read
expect "only the token request reached the sandbox" 0 \
"POST /hris/oauth/token {} $basic - grant_type=client_credentials&$scope 401" -- journal
setup bodyonly basic "$client, \"client_auth\": \"body\"}"
expect "a server that takes the client in the body only says so" 1 \
"oauth-one  execution $id  (org oauthtest, version draft)
  read                   http.request    error         0 ms  config: connection 'hris': the token endpoint http://127.0.0.1:PORT/hris/oauth/token refused the...
error in 0 ms at step read" -- run $fx/one.yaml
expect "its description" 0 \
"connection 'hris': the token endpoint http://127.0.0.1:PORT/hris/oauth/token refused the client_credentials grant (HTTP 401): invalid_client: this server takes client credentials in the request body only" -- message read
setup body body "$client, \"client_auth\": \"body\"}"
expect "client_auth: body puts the client in the form" 0 \
"oauth-one  execution $id  (org oauthtest, version draft)
  read                   http.request    ok            0 ms  HTTP 200 {\"department\":{\"id\":\"D-10\",\"name\":\"Engineering\"},\"employment_type\":\"part_time\",\"first_na...
success in 0 ms" -- run $fx/one.yaml
expect "the form holds client_id and client_secret, no Basic header" 0 \
"POST /hris/oauth/token {} - - grant_type=client_credentials&$scope&client_id=scenarist&client_secret=cs-3Jq9 200
GET /hris/employees/E-1001 {} Bearer sbx-hris-at-1 t-tk-8Wz - 200" -- journal

# ---- secret('NAME'): headers and query only ----
setup secrets basic "$client}"
expect "sent in a query, refused unread, undeclared, in a body or a path" 0 \
"oauth-secrets  execution $id  (org oauthtest, version draft)
  query                  http.request    ok            0 ms  HTTP 201 {\"kind\":\"probe\",\"received_at\":\"RECEIVED\"}
  notfound               http.request    error         0 ms  data: GET http://127.0.0.1:PORT/hris/employees/E-0404?key=[redacted]: HTTP 404: {\"error\":\"no emp...
  notfound               on_error        resume              
  unread                 http.request    error         0 ms  config: secret('missing'): secret env:OAUTH_NOT_SET is not set in the environment
  unread                 on_error        resume              
  undeclared             http.request    error         0 ms  config: secret('nope') is not declared in org 'oauthtest' (secrets:)
  undeclared             on_error        resume              
  body                   http.request    error         0 ms  config: secret('tenant_key') cannot be placed in the body, which is recorded (audit log, step rec...
  body                   on_error        resume              
  path                   http.request    error         0 ms  config: secret('tenant_key') cannot be placed in the path, which is recorded (audit log, step rec...
  path                   on_error        resume              
  kept                   set             ok            0 ms  {\"ref\":\"[[secret:tenant_key:NONCE]]\"}
success in 0 ms" -- sh -c "\"$bin\" run $fx/body.yaml --input $tmp/in.json --org $org 2>&1 | sed -e 's/\"received_at\":\"[^\"]*\"/\"received_at\":\"RECEIVED\"/' -e 's/tenant_key:[0-9a-f]\{16\}/tenant_key:NONCE/' -e 's/127.0.0.1:$port/127.0.0.1:PORT/'"
expect "the 404's message: the value redacted" 0 \
"GET http://127.0.0.1:PORT/hris/employees/E-0404?key=[redacted]: HTTP 404: {\"error\":\"no employee E-0404\"}" -- message notfound
expect "the full refusal" 0 \
"secret('tenant_key') cannot be placed in the body, which is recorded (audit log, step records): put it in a header or a query parameter" \
    -- sqlite3 "$db" "SELECT json_extract(error, '\$.message') FROM step_runs WHERE step = 'body'"
expect "the sandbox got the value; sent_to, the audit log and the step records show [secret:tenant_key]" 0 \
"POST /hris/oauth/token {} $basic - grant_type=client_credentials&$scope 200
POST /hris/admin/drift {\"key\": \"tk-8Wz\"} Bearer sbx-hris-at-1 t-tk-8Wz {\"kind\": \"probe\", \"sent_to\": \"http://127.0.0.1:PORT/hris/admin/drift?key=%5Bsecret%3Atenant_key%5D\"} 201
GET /hris/employees/E-0404 {\"key\": \"tk-8Wz\"} Bearer sbx-hris-at-1 t-tk-8Wz - 404" -- journal
expect "the audit rows" 0 \
"POST|http://127.0.0.1:PORT/hris/admin/drift?key=%5Bsecret%3Atenant_key%5D||pending
POST|http://127.0.0.1:PORT/hris/admin/drift?key=%5Bsecret%3Atenant_key%5D|201|ok" \
    -- sh -c "sqlite3 '$db' 'SELECT method, sent_to, status, outcome FROM audit ORDER BY id' | sed 's/127.0.0.1:$port/127.0.0.1:PORT/'"
"$bin" execution $id --org "$org" --json > "$tmp/secrets.json" 2>&1
expect "no secret value in the store or the execution" 0 0 -- leaks "$tmp/secrets.json"

# ---- the org's errors ----
mkdir -p "$tmp/bad"
cat > "$tmp/bad/org.yaml" <<'YAML'
name: bad
settings: { client_secret: env:CLIENT_SECRET, region: eu }
secrets: { key: env:KEY }
connections:
  hris:
    base_url: http://127.0.0.1:9/hris
    auth: { kind: oauth2, secret: env:S }
  lms:
    base_url: http://127.0.0.1:9/lms
    auth: { kind: bearer, secret: env:T, token_url: http://127.0.0.1:9/token }
  ats:
    base_url: http://127.0.0.1:9/ats
    auth: { kind: oauth2, secret: env:S, client_id: c, token_url: ftp://x/token, client_auth: header }
    headers: { X-A: "{{ secret('nope') }}", X-B: "{{ env.region }}" }
    query: { k: "{{ secret(key) }}" }
  ops:
    base_url: http://127.0.0.1:9/ops
    tls: { cert: /etc/client.pem }
YAML
expect "oauth2, tls, secrets and settings errors name file:line:col" 2 "$tmp/bad/org.yaml:2:28: error: settings are plain values (env.client_secret would read the text 'env:CLIENT_SECRET', and steps record what they read): declare the secret under secrets: and use {{ secret('client_secret') }} in a header or query parameter
    2 | settings: { client_secret: env:CLIENT_SECRET, region: eu }
      |                            ^~~~~~~~~~~~~~~~~
$tmp/bad/org.yaml:7:11: error: auth kind oauth2 needs token_url (the token endpoint)
    7 |     auth: { kind: oauth2, secret: env:S }
      |           ^
$tmp/bad/org.yaml:7:11: error: auth kind oauth2 needs client_id
    7 |     auth: { kind: oauth2, secret: env:S }
      |           ^
$tmp/bad/org.yaml:10:53: error: token_url belongs to auth kind oauth2, not bearer
   10 |     auth: { kind: bearer, secret: env:T, token_url: http://127.0.0.1:9/token }
      |                                                     ^~~~~~~~~~~~~~~~~~~~~~~~
$tmp/bad/org.yaml:13:67: error: token_url must be an http:// or https:// URL
   13 |     auth: { kind: oauth2, secret: env:S, client_id: c, token_url: ftp://x/token, client_auth: header }
      |                                                                   ^~~~~~~~~~~~~
$tmp/bad/org.yaml:13:95: error: 'header' is not a valid client_auth (one of basic, body)
   13 |     auth: { kind: oauth2, secret: env:S, client_id: c, token_url: ftp://x/token, client_auth: header }
      |                                                                                               ^~~~~~
$tmp/bad/org.yaml:14:21: error: secret('nope') is not declared under secrets: in this org
   14 |     headers: { X-A: \"{{ secret('nope') }}\", X-B: \"{{ env.region }}\" }
      |                     ^~~~~~~~~~~~~~~~~~~~~~
$tmp/bad/org.yaml:14:50: error: an org file is not a template: the only {{ }} here is {{ secret('NAME') }}
   14 |     headers: { X-A: \"{{ secret('nope') }}\", X-B: \"{{ env.region }}\" }
      |                                                  ^~~~~~~~~~~~~~~~~~
$tmp/bad/org.yaml:15:17: error: an org file is not a template: the only {{ }} here is {{ secret('NAME') }}
   15 |     query: { k: \"{{ secret(key) }}\" }
      |                 ^~~~~~~~~~~~~~~~~~~
$tmp/bad/org.yaml:18:10: error: a client certificate needs both cert and key
   18 |     tls: { cert: /etc/client.pem }
      |          ^
scenarist: org '$tmp/bad/org.yaml' does not load; nothing validated" \
    -- "$bin" validate --org "$tmp/bad/org.yaml" $fx/one.yaml

# ---- mutual TLS: openssl s_server asking for a client certificate (-Verify 1) ----
mkdir -p "$tmp/tls"
(
    cd "$tmp/tls" || exit 1
    ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
    openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca
    openssl req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1
    printf 'subjectAltName=IP:127.0.0.1\n' > ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext
    openssl req $ec -keyout client.key -out client.csr -subj /CN=scenarist
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
) >/dev/null 2>&1
openssl s_server -accept 127.0.0.1:0 -cert "$tmp/tls/server.pem" -key "$tmp/tls/server.key" \
    -CAfile "$tmp/tls/ca.pem" -Verify 1 -www > "$tmp/tls/sout" 2>&1 &
tlspid=$!
for _ in $(seq 3000); do grep -q '^ACCEPT' "$tmp/tls/sout" && break; sleep 0.02; done
tport=$(sed -n 's/^ACCEPT 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/tls/sout")
# tls_org NAME TLS-LINE: an org with the one connection mtls
tls_org() {
    mkdir -p "$tmp/$1"
    printf 'name: tls%s\nstore: %s\nconnections:\n  mtls:\n    base_url: https://127.0.0.1:%s/\n%s\n' \
        "$1" "$tmp/$1/store/scenarist.db" "$tport" "$2" > "$tmp/$1/org.yaml"
    org=$tmp/$1/org.yaml
    db=$tmp/$1/store/scenarist.db
}
tls_org nocert "    tls: { ca: $tmp/tls/ca.pem }"
expect_grep "without the client certificate the server refuses the connection" 1 \
    "read                   http.request    error         0 ms  connection: GET https://127.0.0.1:$tport/: " -- run $fx/tls.yaml
tls_org cert "    tls: { ca: $tmp/tls/ca.pem, cert: $tmp/tls/client.pem, key: $tmp/tls/client.key }"
expect_grep "with it the server answers" 0 "read                   http.request    ok            0 ms  HTTP 200" \
    -- run $fx/tls.yaml
export OAUTH_TLS_KEY="$(cat "$tmp/tls/client.key")"
tls_org pem "    tls: { ca: $tmp/tls/ca.pem, cert: $tmp/tls/client.pem, key: env:OAUTH_TLS_KEY }"
expect_grep "the key given as env:NAME (the PEM itself) works the same" 0 \
    "read                   http.request    ok            0 ms  HTTP 200" -- run $fx/tls.yaml

# ---- the daemon: one token for all its workers ----
unset SCENARIST_CLOCK
setup daemon basic "$client}"
: > "$dir/log"
"$bin" serve $fx/hooks --org "$org" --listen 127.0.0.1:0 --workers 4 2>>"$dir/log" &
dpid=$!
url=$(daemon_url "$dir/log")
check "12 events are queued" python3 tests/throttle/post.py "$url" /hooks/read 1 12
for _ in $(seq 3000); do
    [ "$(sqlite3 "$db" "SELECT count(*) FROM executions WHERE status = 'success'" 2>/dev/null)" = 12 ] && break
    sleep 0.02
done
kill -TERM $dpid
{ wait $dpid; } 2>/dev/null
rc=$?
dpid=
expect "the daemon stopped cleanly" 0 0 -- echo $rc
expect "4 workers, 12 executions, one token fetched and shared" 0 \
"1 POST /hris/oauth/token {} $basic - grant_type=client_credentials&$scope 200
12 GET /hris/employees/E-1001 {} Bearer sbx-hris-at-1 t-tk-8Wz - 200" -- sh -c "curl -s '$sb/_sandbox/journal' | python3 $fx/journal.py | sort | uniq -c | sed 's/^ *//' | sort -k2,2r"
expect "no token in the store or the log" 0 0 -- leaks "$dir/log"
