"""spacing.py JOURNAL SYSTEM WINDOW_MS: reads the sandbox's journal (JSON) and prints, for
the system's requests: count, answered 429, the most in any window of WINDOW_MS (on their
X-Test-Clock times), the least gap between two, and the last one's time after the first."""
import json, sys

reqs = [r for r in json.load(open(sys.argv[1]))["requests"] if r["system"] == sys.argv[2]]
t = sorted(int(r["headers"]["x-test-clock"]) for r in reqs)
win = int(sys.argv[3])
most, j = 0, 0
for i in range(len(t)):
    while t[i] - t[j] >= win:
        j += 1
    most = max(most, i - j + 1)
gap = min(b - a for a, b in zip(t, t[1:]))
print(len(reqs), sum(r.get("status") == 429 for r in reqs), most, gap, t[-1] - t[0])
