#!/usr/bin/python3
"""Parse a flow dump with Open vSwitch's own Python parser (python3-openvswitch,
ovs.flow.ofp.OFPFlow) and report the rate. Usage: ovs_python_parse.py FILE [MAX_LINES]
Prints one JSON object: flows, errors, seconds (best of 3), flows_per_s."""
import json
import sys
import time

try:
    from ovs.flow.ofp import OFPFlow
except ImportError as e:  # python3-openvswitch needs python3-netaddr for ovs.flow
    print(json.dumps({"error": f"cannot import ovs.flow.ofp: {e} (apt-get install python3-openvswitch python3-netaddr)"}))
    sys.exit(2)

path = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
with open(path) as f:
    lines = [l.strip() for l in f if "actions=" in l]
if limit:
    lines = lines[:limit]
best = None
errors = 0
first_error = None
for _ in range(3):
    errors = 0
    t = time.perf_counter()
    for line in lines:
        try:
            OFPFlow(line)
        except Exception as e:  # count, do not stop
            errors += 1
            first_error = first_error or f"{line}: {e}"
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(json.dumps({"flows": len(lines), "errors": errors, "first_error": first_error, "seconds": best,
                  "flows_per_s": len(lines) / best}))
