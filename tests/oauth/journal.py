# Prints the sandbox's journal (stdin) one request a line: method, path, query, the
# Authorization and X-Tenant headers, the form or JSON body (sent_from/sent_to aside),
# status; the port masked.
import json, re, sys
for e in json.load(sys.stdin)["requests"]:
    h = e["headers"]
    body = e.get("text")
    if body is None and "body" in e:
        b = {k: v for k, v in e["body"].items() if k not in ("sent_from",)}
        body = json.dumps(b, sort_keys=True)
    line = " ".join(str(x) for x in [e["method"], e["path"], json.dumps(e.get("query") or {}),
                                      h.get("authorization", "-"), h.get("x-tenant", "-"),
                                      body or "-", e["status"]])
    print(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line))
