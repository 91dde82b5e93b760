#!/usr/bin/env bash
# End to end: seq -> file channel -> file_roll, with the agent killed by SIGKILL twice.
#  Run 1: the source fills the channel (no sink: the sink is "stopped") and the agent is
#         killed at a random moment while the source is committing.
#  Run 2: same channel directories, a source that sends nothing, a file_roll sink; killed
#         while the sink drains.
#  Run 3: drains the rest and stops with SIGTERM.
# The union of the outputs must be exactly 0..K-1 for a K at least the number of events the
# source had committed before the kill (nothing committed is lost, and no gap), each run's
# output in order, and only the batch in flight at the second kill may repeat. A second agent
# on the same directories must be refused while one runs (`sluice check` of the same file must
# still pass: it creates components but takes no locks).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MIN_EVENTS=${E2E_FILE_CHANNEL_EVENTS:-20000}
SINK_BATCH=10 # in run 2, where the kill may repeat one batch

conf() { # conf TOTAL_EVENTS OUT_DIR|- [SINK_BATCH]
  cat <<CONF
a1.sources = r1
a1.channels = c1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = $1
a1.sources.r1.batchSize = 100
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = $WORK/checkpoint
a1.channels.c1.dataDirs = $WORK/data1, $WORK/data2
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.checkpointInterval = 500
a1.channels.c1.maxFileSize = 262144
a1.channels.c1.minimumRequiredSpace = 1048576
CONF
  [ "$2" = - ] || cat <<CONF
a1.sinks = k1
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = $2
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = ${3:-$SINK_BATCH}
a1.sinks.k1.channel = c1
CONF
}

start_agent() { # start_agent CONF LOG
  start_bg "$2" "$SLUICE" agent -n a1 -f "$1" \
    -Dflume.monitoring.type=http -Dflume.monitoring.port=0 -Dflume.monitoring.bind=127.0.0.1
  AGENT=$LAST_PID
  wait_until 30 grep -q "agent a1 started" "$2" || { cat "$2"; fail "agent did not start"; }
  PORT=$(sed -n 's/.*Monitoring server listening on port \([0-9]*\).*/\1/p' "$2" | head -1)
  [ -n "$PORT" ] || fail "no monitoring port in $2"
}

kill9() {
  kill -KILL "$1"
  wait "$1" 2>/dev/null || true
  PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

lines() { cat "$1"/* 2>/dev/null | wc -l; }
replayed() { sed -n 's/.*file channel: \([0-9]*\) events queued after replay.*/\1/p' "$1"; }

# Run 1: no sink; kill -9 at a random moment while the source commits.
conf 200000 - > "$WORK/run1.conf"
"$SLUICE" check -n a1 -f "$WORK/run1.conf" > /dev/null 2>&1 || fail "sluice check rejected run 1"
start_agent "$WORK/run1.conf" "$WORK/run1.log"
enough() { [ "$(metric "$PORT" SOURCE.r1 EventAcceptedCount)" -ge "$MIN_EVENTS" ]; }
wait_until 120 enough || fail "source committed only $(metric "$PORT" SOURCE.r1 EventAcceptedCount)"
sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
ACCEPTED=$(metric "$PORT" SOURCE.r1 EventAcceptedCount) # commits that returned, before the kill
kill9 "$AGENT"
echo "run 1: killed while the source was committing; $ACCEPTED events had been committed"

# Run 2: a sink drains; kill -9 in the middle.
conf 0 "$WORK/out2" > "$WORK/run2.conf"
"$SLUICE" check -n a1 -f "$WORK/run2.conf" > /dev/null || fail "sluice check rejected run 2"
start_agent "$WORK/run2.conf" "$WORK/run2.log"
K=$(replayed "$WORK/run2.log")
[ -n "$K" ] || fail "no replay line in run 2"
[ "$K" -ge "$ACCEPTED" ] || fail "only $K events replayed, $ACCEPTED had been committed"
started() { [ "$(lines "$WORK/out2")" -ge 1000 ]; }
wait_until 60 started || fail "run 2 delivered only $(lines "$WORK/out2") events"
kill9 "$AGENT"
OUT2=$(lines "$WORK/out2")
echo "run 2: $K events replayed, $OUT2 delivered, then kill -9"
[ "$OUT2" -lt "$K" ] || echo "note: the sink had drained everything before the kill"

# Run 3: drain everything, stop with SIGTERM.
conf 0 "$WORK/out3" 1000 > "$WORK/run3.conf"
start_agent "$WORK/run3.conf" "$WORK/run3.log"
echo "run 3: $(replayed "$WORK/run3.log") events replayed"

"$SLUICE" agent -n a1 -f "$WORK/run3.conf" > "$WORK/second.log" 2>&1 &&
  fail "a second agent on the same file channel directories started"
grep -q "directory $WORK/checkpoint is already in use by another file channel" \
  "$WORK/second.log" || { cat "$WORK/second.log"; fail "no clear lock error"; }
echo "a second agent on the same directories is refused"
"$SLUICE" check -n a1 -f "$WORK/run3.conf" > "$WORK/check3.log" 2>&1 ||
  { cat "$WORK/check3.log"; fail "sluice check fails while the agent runs (it must not lock)"; }

all_there() { [ $(($(lines "$WORK/out2") + $(lines "$WORK/out3"))) -ge "$K" ] &&
  metric_is "$PORT" CHANNEL.c1 ChannelSize 0; }
wait_until 120 all_there || fail "only $((OUT2 + $(lines "$WORK/out3"))) of $K delivered"
stop_pid "$AGENT" || fail "agent exited with status $?"
grep -q "file channel stopped: 0 events kept on disk" "$WORK/run3.log" ||
  fail "the channel was not empty at the end"

# Every committed event at least once, no gap, nothing else, each run in order.
seq 0 $((K - 1)) > "$WORK/expected.txt"
for r in 2 3; do
  cat "$WORK/out$r"/* 2>/dev/null > "$WORK/got$r.txt" || true
  sort -n -c "$WORK/got$r.txt" 2>/dev/null || fail "run $r delivered events out of order"
done
sort -n -u "$WORK/got2.txt" "$WORK/got3.txt" > "$WORK/union.txt"
if ! cmp -s "$WORK/expected.txt" "$WORK/union.txt"; then
  diff "$WORK/expected.txt" "$WORK/union.txt" | head -10
  fail "the union of the outputs is not exactly 0..$((K - 1))"
fi
TOTAL=$(cat "$WORK/got2.txt" "$WORK/got3.txt" | wc -l)
DUPS=$((TOTAL - K))
echo "delivered $TOTAL lines for the $K events in the channel (the source had reported" \
  "$ACCEPTED committed just before the kill): every one at least once, $DUPS duplicates"
[ "$DUPS" -le "$SINK_BATCH" ] ||
  fail "$DUPS duplicates: more than the $SINK_BATCH-event batch in flight at the kill"

# Everything was taken: only the file being written is left, the others were removed.
LOGS=$(ls "$WORK"/data1 "$WORK"/data2 | grep -c '^log-' || true)
[ "$LOGS" -eq 1 ] || fail "$LOGS log files left after everything was taken"
echo "1 passed, 0 failed"
