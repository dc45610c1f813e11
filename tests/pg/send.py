#!/usr/bin/env python3
"""Signed webhooks to several daemons, as a load balancer spreads them (tests/pg/run.sh).

usage: send.py URLFILE COUNT CONCURRENCY OUT
  URLFILE     the daemons' base URLs, one a line (read again before each request, so a
              restarted daemon is used again); a request a daemon does not answer (killed,
              refused) goes to the next one, as a load balancer retries
  COUNT       webhooks to /hooks/hris/employee-changed, employee_id E1..ECOUNT, signed
              (Standard Webhooks) under $SERVE_HRIS_SECRET, webhook-id msg_E<n>
  OUT         one line per event: "E<n> STATUS EXECUTION" (STATUS 0: never answered;
              200: a retry found the event stored by a daemon killed before it answered)
Every loop is bounded: 20 tries per event.
"""
import base64, hashlib, hmac, http.client, json, sys, threading, time, urllib.parse

urlfile, count, conc, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
key = base64.b64decode(__import__("os").environ["SERVE_HRIS_SECRET"].split("_", 1)[1])
lock = threading.Lock()
results = {}
next_n = [1]


def urls():
    for _ in range(100):  # the file is replaced whole (mv); bounded all the same
        with open(urlfile) as f:
            us = [u.strip() for u in f if u.strip()]
        if us:
            return us
        time.sleep(0.02)
    raise SystemExit("no daemon URL in " + urlfile)


def send_one(n):
    body = json.dumps({"employee_id": "E%d" % n, "email": "e%d@example.com" % n})
    mid = "msg_E%d" % n
    for attempt in range(20):
        us = urls()
        u = urllib.parse.urlparse(us[(n + attempt) % len(us)])
        ts = str(int(time.time()))
        sig = base64.b64encode(hmac.new(key, ("%s.%s.%s" % (mid, ts, body)).encode(),
                                        hashlib.sha256).digest()).decode()
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            c.request("POST", "/hooks/hris/employee-changed", body,
                      {"Content-Type": "application/json", "webhook-id": mid,
                       "webhook-timestamp": ts, "webhook-signature": "v1," + sig})
            r = c.getresponse()
            data = r.read()
            c.close()
        except OSError:
            time.sleep(0.05)
            continue
        # 200: a repeat of an event stored before its answer was lost (a killed daemon)
        if r.status in (200, 202):
            return r.status, json.loads(data).get("execution", "")
        if r.status not in (502, 503):
            return r.status, data.decode(errors="replace").replace("\n", " ")
        time.sleep(0.05)
    return 0, ""


def worker():
    while True:
        with lock:
            n = next_n[0]
            if n > count:
                return
            next_n[0] += 1
        results[n] = send_one(n)


threads = [threading.Thread(target=worker) for _ in range(conc)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as f:
    for n in range(1, count + 1):
        s, e = results.get(n, (0, ""))
        f.write("E%d %d %s\n" % (n, s, e))
