# Sourced by tests/serve/run.sh: an answer that folds a header over lines (obs-fold, its
# continuation in ISO-8859-1), as an old server sends it, from a raw socket (libmicrohttpd
# refuses to write one). RFC 9110 5.5: a user agent joins the lines with a space. Before,
# the continuation became a header named "\tcontinued".
python3 - "$tmp/fold-port" <<'PY' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4); s.settimeout(30)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
c, _ = s.accept(); c.recv(65536)
body = b'{"ok":true}'
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Note: first part\r\n"
          b"\t second caf\xe9\r\nX-After: kept\t\r\nX-Empty:\r\n cont\r\n"
          b"Link: </p9>; rel=\"prev\",\r\n </p3?q=caf\xe9>; rel=\"next\"\r\n"
          b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
c.close()
PY
fold_pid=$!
for _ in $(seq 250); do [ -s "$tmp/fold-port" ] && break; sleep 0.02; done
cat > "$tmp/fold-org.yaml" <<EOO
name: foldtest
timezone: UTC
store: $tmp/fold-store/scenarist.db
connections:
  old: { base_url: "http://127.0.0.1:$(cat "$tmp/fold-port")" }
EOO
echo '{}' > "$tmp/fold-none.json"
expect "a folded header is one value, its lines joined by a space (a Link's stray byte as %E9, as on one line); the next header as sent, its trailing tab dropped (OWS)" 0 \
    '{"after":"kept","empty":"cont","note":"first part second café"}
{"link":"</p9>; rel=\"prev\", </p3?q=caf%E9>; rel=\"next\""}' \
    -- sh -c "'$bin' run $fx/fold/read.yaml --input '$tmp/fold-none.json' --org '$tmp/fold-org.yaml' | grep -o '{\"\(after\|link\).*'"
wait "$fold_pid" 2>/dev/null
