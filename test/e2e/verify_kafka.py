#!/usr/bin/python3
"""Compares what a consumer read from the topic with the audit lines the generator wrote.

usage: verify_kafka.py EXPECTED DUMP [--allow-duplicates]
DUMP lines are PARTITION<TAB>OFFSET<TAB>value (kafka_count dump --with-partition).
Checks: every expected line is there (at least once, or exactly once), nothing else is,
and within each partition the lines keep the file's order. Prints a one-line summary."""
import collections
import sys

expected_path, dump_path = sys.argv[1], sys.argv[2]
allow_dups = "--allow-duplicates" in sys.argv[3:]

with open(expected_path, "rb") as f:
    expected = f.read().split(b"\n")[:-1]
index = {}
for i, line in enumerate(expected):
    index.setdefault(line, i)
unique_expected = len(index) == len(expected)

seen = collections.Counter()
last_pos = {}
order_errors = 0
extra = 0
with open(dump_path, "rb") as f:
    for raw in f:
        part, _offset, value = raw.rstrip(b"\n").split(b"\t", 2)
        if value not in index:
            extra += 1
            continue
        seen[value] += 1
        pos = index[value]
        if unique_expected and seen[value] == 1:
            if part in last_pos and pos < last_pos[part]:
                order_errors += 1
            last_pos[part] = pos

missing = sum(1 for line in index if seen[line] == 0)
dups = sum(c - 1 for c in seen.values() if c > 1)
print(f"expected={len(expected)} received={sum(seen.values()) + extra} missing={missing} "
      f"duplicates={dups} extra={extra} order_errors={order_errors}")
ok = missing == 0 and extra == 0 and order_errors == 0 and (allow_dups or dups == 0)
sys.exit(0 if ok else 1)
