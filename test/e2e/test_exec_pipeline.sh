#!/usr/bin/env bash
# End to end: a generated Hive metastore log, appended while the agent runs, tailed by
# `exec tail -F` -> regex_filter -> memory channel -> file_roll sink (content) and, in a second
# run, -> null sink (counters). Every audit line arrives, in order, and no other line does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LINES=${E2E_LINES:-200000}
LOG="$WORK/hive.log"
: > "$LOG"

cat > "$WORK/agent.conf" <<CONF
a1.sources = r1
a1.sinks = k1
a1.channels = c1
a1.sources.r1.type = exec
a1.sources.r1.command = tail -F $LOG
a1.sources.r1.channels = c1
a1.sources.r1.batchSize = 20
a1.sources.r1.interceptors= i1
a1.sources.r1.interceptors.i1.type=regex_filter
a1.sources.r1.interceptors.i1.regex= .*HiveMetaStore\\\\.audit.*
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = $WORK/out
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.channel = c1
CONF

"$SLUICE" check -n a1 -f "$WORK/agent.conf" || fail "sluice check rejected the config"
start_bg "$WORK/agent.log" "$SLUICE" agent -n a1 -f "$WORK/agent.conf"
AGENT=$LAST_PID
wait_until 10 grep -q "agent a1 started" "$WORK/agent.log" || fail "agent did not start"
sleep 0.5 # let tail -F open the file

"$GEN" --lines "$LINES" --seed 7 --expected "$WORK/expected.txt" --append "$LOG" > "$WORK/gen.out"
AUDIT=$(wc -l < "$WORK/expected.txt")
[ "$AUDIT" -gt 0 ] || fail "generator produced no audit lines"
echo "generated $LINES lines, $AUDIT audit lines"

out_complete() { [ "$(lines_in_dir "$WORK/out")" -ge "$AUDIT" ]; }
wait_until 60 out_complete ||
  fail "only $(lines_in_dir "$WORK/out") of $AUDIT audit lines arrived"
sleep 0.5 # anything extra would show up now
stop_pid "$AGENT" || fail "agent exited with status $?"

cat "$WORK"/out/* > "$WORK/got.txt"
if ! cmp -s "$WORK/expected.txt" "$WORK/got.txt"; then
  diff "$WORK/expected.txt" "$WORK/got.txt" | head -20
  fail "the sink's output differs from the audit lines"
fi
if grep -v 'HiveMetaStore\.audit' "$WORK/got.txt" | head -1 | grep -q .; then
  fail "a non-audit line got through"
fi
[ "$(counter "$WORK/agent.log" SOURCE r1 EventReceivedCount)" = "$LINES" ] ||
  fail "source received $(counter "$WORK/agent.log" SOURCE r1 EventReceivedCount), not $LINES"
[ "$(counter "$WORK/agent.log" CHANNEL c1 EventPutSuccessCount)" = "$AUDIT" ] ||
  fail "channel put counter disagrees"
[ "$(counter "$WORK/agent.log" SINK k1 EventDrainSuccessCount)" = "$AUDIT" ] ||
  fail "sink drain counter disagrees"
echo "file_roll: $AUDIT of $AUDIT audit lines, in order, nothing else"

# Second run: the null sink, judged by the agent's own counters
: > "$LOG"
sed -e 's/^a1.sinks.k1.type = file_roll/a1.sinks.k1.type = null/' \
    -e '/sink.directory/d' -e '/sink.rollInterval/d' "$WORK/agent.conf" > "$WORK/null.conf"
start_bg "$WORK/null.log" "$SLUICE" agent -n a1 -f "$WORK/null.conf" \
  -Dflume.monitoring.type=http -Dflume.monitoring.port=0 -Dflume.monitoring.bind=127.0.0.1
AGENT=$LAST_PID
wait_until 10 grep -q "agent a1 started" "$WORK/null.log" || fail "agent did not start"
PORT=$(sed -n 's/.*Monitoring server listening on port \([0-9]*\).*/\1/p' "$WORK/null.log")
sleep 0.5
"$GEN" --lines "$LINES" --seed 11 --expected "$WORK/expected2.txt" --append "$LOG" > /dev/null
AUDIT2=$(wc -l < "$WORK/expected2.txt")
# live counters over HTTP: wait until the null sink drained every audit line
wait_until 60 metric_is "$PORT" SINK.k1 EventDrainSuccessCount "$AUDIT2" ||
  fail "null sink drained $(metric "$PORT" SINK.k1 EventDrainSuccessCount) of $AUDIT2"
metric_is "$PORT" SOURCE.r1 EventReceivedCount "$LINES" || fail "source counter disagrees"
stop_pid "$AGENT" || fail "agent exited with status $?"
GOT=$(counter "$WORK/null.log" SINK k1 EventDrainSuccessCount)
RECV=$(counter "$WORK/null.log" SOURCE r1 EventReceivedCount)
[ "$RECV" = "$LINES" ] || fail "null run: source received $RECV of $LINES lines"
[ "$GOT" = "$AUDIT2" ] || fail "null sink drained $GOT events, expected $AUDIT2"
echo "null: $GOT of $AUDIT2 audit lines"
echo "1 passed, 0 failed"
