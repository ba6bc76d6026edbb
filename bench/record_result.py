#!/usr/bin/env python3
"""Sets KEY to a JSON VALUE in the bench scripts' results file (created as {}
when missing).

  record_result.py RESULTS.json KEY JSON_VALUE
"""
import json
import os
import sys

path, key, value = sys.argv[1:4]
data = json.load(open(path)) if os.path.exists(path) else {}
data[key] = json.loads(value)
json.dump(data, open(path, "w"))
