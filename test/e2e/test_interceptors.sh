#!/usr/bin/env bash
# The seven interceptors through the real agent: conf/examples/interceptors.conf names them by
# short name (source r1) and by Flume Builder class (source r2); `sluice check` accepts it, and
# a run (exec -> interceptors -> memory -> file_roll with HEADER_AND_TEXT) writes the headers
# each interceptor promises, for every line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
EXAMPLE="$SLUICE_SOURCE_ROOT/conf/examples/interceptors.conf"

"$SLUICE" check -n a1 -f "$EXAMPLE" > "$WORK/check.out" 2> "$WORK/check.err" ||
  { cat "$WORK/check.err" >&2; fail "sluice check rejected $EXAMPLE (exit $?)"; }
grep -q "agent a1: OK: 2 source(s), 1 channel(s), 1 sink(s); 0 error(s), 0 warning(s)" \
  "$WORK/check.out" || fail "check summary: $(cat "$WORK/check.out" "$WORK/check.err")"

sed "s#^a1.sinks.k1.sink.directory = .*#a1.sinks.k1.sink.directory = $WORK/out#" "$EXAMPLE" \
  > "$WORK/agent.conf"
START_MS=$(( $(date +%s%N) / 1000000 ))
TZ=UTC0 start_bg "$WORK/agent.log" "$SLUICE" agent -n a1 -f "$WORK/agent.conf"
AGENT=$LAST_PID
all_lines() { [ "$(lines_in_dir "$WORK/out")" -ge 8 ]; }
wait_until 30 all_lines || { cat "$WORK/agent.log" >&2; fail "only $(lines_in_dir "$WORK/out") of 8 lines arrived"; }
sleep 0.3 # anything extra would show up now
stop_pid "$AGENT" || fail "agent exited with status $?"
END_MS=$(( $(date +%s%N) / 1000000 ))
if grep -E " (WARN|ERROR) " "$WORK/agent.log"; then fail "the agent logged warnings or errors"; fi

cat "$WORK"/out/* > "$WORK/got.txt"
/usr/bin/python3 - "$WORK/got.txt" "$START_MS" "$END_MS" <<'PY'
import ipaddress, re, sys
path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
uuid4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
lines = open(path, encoding="utf-8").read().splitlines()
errors, ids, r1, r2 = [], set(), [], []
def check(cond, what, line):
    if not cond:
        errors.append(f"{what}: {line}")
for line in lines:
    m = re.fullmatch(r"\{(.*)\} (.*)", line)
    if not m:
        errors.append(f"not HEADER_AND_TEXT: {line}")
        continue
    h = dict(kv.split("=", 1) for kv in m.group(1).split(", "))
    body = m.group(2)
    ids.add(h.get("id"))
    if "timestamp" in h:  # source r1: short names
        r1.append(body)
        check(set(h) == {"timestamp", "host", "datacenter", "id", "n"}, "r1 header names", line)
        check(lo <= int(h["timestamp"]) <= hi, "timestamp not the time of the run", line)
        check(ipaddress.ip_address(h["host"]) is not None, "host is not an address", line)
        check(h.get("datacenter") == "NYC_01", "static", line)
        check(body == f"line {h.get('n')}", "search_replace + regex_extractor", line)
        check(h["id"].startswith("r1-") and uuid4.match(h["id"][3:]), "uuid with prefix", line)
    else:  # source r2: Builder class names
        r2.append(body)
        check(set(h) == {"ts", "hostname", "src", "id", "logtime"}, "r2 header names", line)
        check(lo <= int(h["ts"]) <= hi, "ts not the time of the run", line)
        check(h["hostname"] and " " not in h["hostname"], "canonical host name", line)
        check(h.get("src") == "r2", "static", line)
        check(h.get("logtime") == "1350586020000", "millis serializer (TZ=UTC0)", line)
        check(re.fullmatch(r"line [123]", body) is not None, "search_replace", line)
        check(uuid4.match(h["id"]) is not None, "uuid", line)
check(sorted(r1) == [f"line {i}" for i in range(1, 6)], "r1 lines", r1)
check(sorted(r2) == [f"line {i}" for i in range(1, 4)], "r2 lines", r2)
check(len(ids) == 8, "ids not unique", ids)
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"{len(lines)} lines, every header as configured")
PY
echo "1 passed, 0 failed"
