"""post.py URL PATH FIRST COUNT: POSTs {"n": i} to URL+PATH for i in FIRST..FIRST+COUNT-1
over one kept-alive connection; exits 1 unless every answer is 202."""
import http.client, json, sys, urllib.parse

u = urllib.parse.urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
first, count = int(sys.argv[3]), int(sys.argv[4])
for i in range(first, first + count):
    conn.request("POST", sys.argv[2], json.dumps({"n": i}), {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.status != 202:
        sys.exit("%s answered %d" % (sys.argv[2], r.status))
