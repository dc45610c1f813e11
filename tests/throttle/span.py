"""span.py JOURNAL SYSTEM LOW HIGH: the system's requests in the sandbox's journal (JSON):
count, answered 429, and "ok" when the real time from the first to the last received is
within LOW..HIGH ms (else that time)."""
import datetime, json, sys

reqs = [r for r in json.load(open(sys.argv[1]))["requests"] if r["system"] == sys.argv[2]]
at = sorted(datetime.datetime.fromisoformat(r["at"].replace("Z", "+00:00")) for r in reqs)
span = round((at[-1] - at[0]).total_seconds() * 1000)
ok = int(sys.argv[3]) <= span <= int(sys.argv[4])
print(len(reqs), sum(r.get("status") == 429 for r in reqs), "ok" if ok else "%d ms" % span)
