#!/usr/bin/env python3
"""Validates YAML scenario files against a JSON Schema (draft 2020-12) with Debian's
python3-jsonschema, as an editor's YAML language server would.
usage: check.py SCHEMA.json FILE.yaml...   prints "PATH: ok" or "PATH: at LOCATION: MESSAGE"
per problem (the first few); exit 1 when any file does not validate."""
import json
import sys

import jsonschema
import yaml

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for path in sys.argv[2:]:
    # a YAML 1.1 date or time becomes a Python object: as text, as an editor sees it
    try:
        doc = json.loads(json.dumps(yaml.safe_load(open(path)), default=str))
    except yaml.YAMLError as e:
        bad += 1
        print(f"{path}: not YAML: {getattr(e, 'problem', None) or e}")
        continue
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errors:
        print(f"{path}: ok")
        continue
    bad += 1
    for e in errors[:3]:
        while e.context:  # anyOf/oneOf: the alternative that got deepest
            d = max(e.context, key=lambda x: len(x.absolute_path))
            if len(d.absolute_path) <= len(e.absolute_path):
                break
            e = d
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        print(f"{path}: at {where}: {e.message}")
sys.exit(1 if bad else 0)
