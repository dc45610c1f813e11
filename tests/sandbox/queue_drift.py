#!/usr/bin/env python3
"""queue_drift.py DB PLANTED.json: the open items of the learner-drift queue in store DB
(reconcile's drift bundles) as the sandbox's planted drift names it, compared with the
planted HRIS-LMS drift. Prints "found N planted M same|differ" (one line per difference)."""
import json
import sqlite3
import sys

planted = {(p["kind"], p.get("field", ""),
            p["learner_id"] if p["kind"] == "orphan_learner" else p["employee_id"])
           for p in json.load(open(sys.argv[2]))
           if p["kind"] in ("missing_learner", "active_learner_terminated", "field_mismatch",
                            "orphan_learner")}
found = []
db = sqlite3.connect(sys.argv[1])
for key, item in db.execute("SELECT key, item FROM queue_items WHERE queue = 'learner-drift'"
                            " AND state = 'open'"):
    d = json.loads(item)
    if d["kind"] == "only-left":
        found.append(("missing_learner", "", d["key"]))
    elif d["kind"] == "only-right":
        t = ("active_learner_terminated", "", d["key"])
        found.append(t if t in planted else ("orphan_learner", "", d["right"]["learner"]))
    elif d["kind"] == "changed":
        found += [("field_mismatch", f["field"], d["key"]) for f in d["diff"]]
    else:
        found.append((d["kind"], "", d["key"]))
same = set(found) == planted and len(found) == len(set(found))
print("found %d planted %d %s" % (len(found), len(planted), "same" if same else "differ"))
for x in sorted(set(found) ^ planted):
    print(" ".join(x), "(found)" if x in found else "(planted)")
