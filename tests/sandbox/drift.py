#!/usr/bin/env python3
"""drift.py DATA.json: finds every drift in a sandbox organisation (HRIS employees vs
LMS learners, ATS offers vs HRIS hires) the way the reconciliations define it, and
compares with its "planted" table. Prints "found N planted M same|differ"; on a
difference, each drift on one side only."""
import json
import sys

d = json.load(open(sys.argv[1]))
emps = {e["id"]: e for e in d["employees"]}
learners = {}
for l in d["learners"]:
    learners.setdefault(l["external_id"], l)
found = set()
for e in d["employees"]:
    l = learners.get(e["id"])
    if e["status"] == "active" and not l:
        found.add(("missing_learner", "", e["id"]))
    elif e["status"] == "terminated" and l and l["active"]:
        found.add(("active_learner_terminated", "", e["id"]))
    elif l and e["status"] == "active":
        for field, hris, lms in (("title", e["title"], l["title"]),
                                 ("department", e["department"]["name"], l["department"]),
                                 ("email", e["work_email"].lower(), l["email"].lower()),
                                 ("manager", e["manager_id"], l["manager_external_id"])):
            if hris != lms:
                found.add(("field_mismatch", field, e["id"]))
for l in d["learners"]:
    if l["external_id"] not in emps:
        found.add(("orphan_learner", "", l["id"]))
accepted = {o["id"] for o in d["offers"] if o["status"] == "accepted"}
hired = {e.get("offer_id") for e in d["employees"]}
found |= {("accepted_offer_without_hire", "", o) for o in accepted - hired}
found |= {("hire_without_accepted_offer", "", e["id"]) for e in d["employees"]
          if e.get("offer_id") and e["offer_id"] not in accepted}


def key(p):
    k = p["kind"]
    ident = {"orphan_learner": "learner_id", "accepted_offer_without_hire": "offer_id"}.get(k, "employee_id")
    return (k, p.get("field", ""), p[ident])


planted = [key(p) for p in d["planted"]]
same = found == set(planted) and len(planted) == len(set(planted))
print("found %d planted %d %s" % (len(found), len(planted), "same" if same else "differ"))
for x in sorted(found ^ set(planted)):
    print(" ".join(x), "(found)" if x in found else "(planted)")
