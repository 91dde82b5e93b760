#!/usr/bin/env bash
# End to end: one agent with a netcat, an http (JSONHandler) and a syslogtcp source on free
# ports, all into one memory channel and a file_roll sink. Clients (python3) send over several
# connections at once; every netcat line must be answered OK, every HTTP request 200, and
# every event must arrive exactly once. A bad HTTP request must get 400 and store nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NC_CONNS=4 NC_LINES=1500
HTTP_REQS=30 HTTP_EVENTS=50
SL_CONNS=3 SL_MSGS=1000
TOTAL=$((NC_CONNS * NC_LINES + HTTP_REQS * HTTP_EVENTS + SL_CONNS * SL_MSGS))

cat > "$WORK/agent.conf" <<CONF
a1.sources = nc ht sl
a1.channels = c1
a1.sinks = k1
a1.sources.nc.type = netcat
a1.sources.nc.bind = 127.0.0.1
a1.sources.nc.port = 0
a1.sources.nc.channels = c1
a1.sources.ht.type = org.apache.flume.source.http.HTTPSource
a1.sources.ht.bind = 127.0.0.1
a1.sources.ht.port = 0
a1.sources.ht.handler = org.apache.flume.source.http.JSONHandler
a1.sources.ht.channels = c1
a1.sources.sl.type = syslogtcp
a1.sources.sl.host = 127.0.0.1
a1.sources.sl.port = 0
a1.sources.sl.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 2000
a1.channels.c1.transactionCapacity = 500
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = $WORK/out
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.channel = c1
CONF

"$SLUICE" check -n a1 -f "$WORK/agent.conf" || fail "sluice check rejected the config"
start_bg "$WORK/agent.log" "$SLUICE" agent -n a1 -f "$WORK/agent.conf"
AGENT=$LAST_PID
wait_until 10 grep -q "agent a1 started" "$WORK/agent.log" || fail "agent did not start"
port_of() { sed -n "s/.*\[source:$1\].*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p" "$WORK/agent.log"; }
NC_PORT=$(port_of nc) HT_PORT=$(port_of ht) SL_PORT=$(port_of sl)
[ -n "$NC_PORT" ] && [ -n "$HT_PORT" ] && [ -n "$SL_PORT" ] || fail "a source did not log its port"
echo "netcat :$NC_PORT, http :$HT_PORT, syslogtcp :$SL_PORT"

# Send everything concurrently; expected bodies go to expected.txt.
/usr/bin/python3 - "$NC_PORT" "$HT_PORT" "$SL_PORT" "$WORK/expected.txt" \
  "$NC_CONNS" "$NC_LINES" "$HTTP_REQS" "$HTTP_EVENTS" "$SL_CONNS" "$SL_MSGS" <<'PY'
import http.client, json, socket, sys, threading
nc_port, ht_port, sl_port = map(int, sys.argv[1:4])
out = sys.argv[4]
nc_conns, nc_lines, http_reqs, http_events, sl_conns, sl_msgs = map(int, sys.argv[5:11])
expected, errors, lock = [], [], threading.Lock()

def netcat(c):
    s = socket.create_connection(("127.0.0.1", nc_port), timeout=30)
    bodies = ["nc-%d-%d" % (c, i) for i in range(nc_lines)]
    s.sendall("".join(b + "\n" for b in bodies).encode())
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    if got != b"OK\n" * nc_lines:
        errors.append("netcat conn %d: %d bytes of replies, not %d OKs" % (c, len(got), nc_lines))
    with lock:
        expected.extend(bodies)

def http_posts(r0, step):
    for r in range(r0, http_reqs, step):
        evs = [{"headers": {"req": str(r)}, "body": "http-%d-%d" % (r, i)}
               for i in range(http_events)]
        conn = http.client.HTTPConnection("127.0.0.1", ht_port, timeout=30)
        conn.request("POST", "/", json.dumps(evs), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status != 200:
            errors.append("http request %d: status %d" % (r, resp.status))
        with lock:
            expected.extend(e["body"] for e in evs)

def syslog(c):
    s = socket.create_connection(("127.0.0.1", sl_port), timeout=30)
    bodies = ["sl-%d-%d" % (c, i) for i in range(sl_msgs)]
    lines = []
    for i, b in enumerate(bodies):
        if i % 2:
            lines.append("<13>Oct 11 22:14:15 host%d %s\n" % (c, b))
        else:
            lines.append("<165>1 2003-08-24T05:14:15.000003-07:00 host%d %s\n" % (c, b))
    s.sendall("".join(lines).encode())
    s.close()
    with lock:
        expected.extend(bodies)

threads = [threading.Thread(target=netcat, args=(c,)) for c in range(nc_conns)]
threads += [threading.Thread(target=http_posts, args=(k, 3)) for k in range(3)]
threads += [threading.Thread(target=syslog, args=(c,)) for c in range(sl_conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as f:
    f.write("".join(b + "\n" for b in expected))
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY

# A bad request is refused with the reason and stores nothing.
BAD=$(curl -s -o "$WORK/bad.txt" -w '%{http_code}' -X POST --data '[{"body": "x"' \
  "http://127.0.0.1:$HT_PORT/")
[ "$BAD" = 400 ] || fail "bad JSON got HTTP $BAD, not 400"
grep -q "invalid JSON" "$WORK/bad.txt" || fail "400 without the reason: $(cat "$WORK/bad.txt")"

[ "$(wc -l < "$WORK/expected.txt")" -eq "$TOTAL" ] || fail "the clients sent fewer events"
out_complete() { [ "$(lines_in_dir "$WORK/out")" -ge "$TOTAL" ]; }
wait_until 60 out_complete || fail "only $(lines_in_dir "$WORK/out") of $TOTAL events arrived"
sleep 0.5 # anything extra (duplicates) would show up now
stop_pid "$AGENT" || fail "agent exited with status $?"

sort "$WORK/expected.txt" > "$WORK/expected.sorted"
cat "$WORK"/out/* | sort > "$WORK/got.sorted"
if ! cmp -s "$WORK/expected.sorted" "$WORK/got.sorted"; then
  diff "$WORK/expected.sorted" "$WORK/got.sorted" | head -20
  fail "the events in the sink differ from what the clients sent"
fi
[ "$(counter "$WORK/agent.log" SOURCE nc EventAcceptedCount)" = $((NC_CONNS * NC_LINES)) ] ||
  fail "netcat accepted $(counter "$WORK/agent.log" SOURCE nc EventAcceptedCount)"
[ "$(counter "$WORK/agent.log" SOURCE ht EventAcceptedCount)" = $((HTTP_REQS * HTTP_EVENTS)) ] ||
  fail "http accepted $(counter "$WORK/agent.log" SOURCE ht EventAcceptedCount)"
[ "$(counter "$WORK/agent.log" SOURCE sl EventAcceptedCount)" = $((SL_CONNS * SL_MSGS)) ] ||
  fail "syslogtcp accepted $(counter "$WORK/agent.log" SOURCE sl EventAcceptedCount)"
[ "$(counter "$WORK/agent.log" SINK k1 EventDrainSuccessCount)" = "$TOTAL" ] ||
  fail "sink drained $(counter "$WORK/agent.log" SINK k1 EventDrainSuccessCount), not $TOTAL"
echo "netcat + http + syslogtcp: $TOTAL of $TOTAL events, each once; 400 for bad JSON"
