#!/usr/bin/env python3
"""Writes a JSON tree with N leaves (4 per user) to stdout: {"users": {"u0": {...}, ...}}."""
import json, sys
leaves = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
users = {}
for i in range(leaves // 4):
    users[f"u{i}"] = {"name": f"User {i}", "age": i % 90, "active": i % 3 == 0, "score": i * 1.5}
json.dump({"users": users}, sys.stdout, separators=(",", ":"))
