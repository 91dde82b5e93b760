#!/usr/bin/env bash
# End to end: configuration reload while events flow. A writer prints numbered lines
# ("<pid>:<n>") -> exec source -> memory channel -> file_roll sinks. Edits are picked up by
# polling (-i 1) and by SIGHUP (with --no-reload-conf, which turns polling off): a changed sink
# restarts alone, a new sink joins, an invalid edit is rejected while the agent runs on, a
# changed channel is replaced and hands its events over, a removed sink goes. Nothing is lost:
# every line accepted by a source instance (its Shutdown Metric) is in the outputs exactly once,
# and each writer's numbers arrive without a gap.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cat > "$WORK/writer.py" <<'PY'
import os, sys, time
stop, pids, counts = sys.argv[1:4]
with open(pids, 'a') as f:
    f.write("%d\n" % os.getpid())
i = 0
while not os.path.exists(stop):
    sys.stdout.write("".join("%d:%d\n" % (os.getpid(), i + k) for k in range(20)))
    sys.stdout.flush()
    i += 20
    time.sleep(0.01)
with open(counts, 'a') as f:
    f.write("%d %d\n" % (os.getpid(), i))
PY

cat > "$WORK/verify.py" <<'PY'
# verify.py LOG COUNTS DIR...: outputs vs. what the sources accepted
import collections, os, re, sys
log, counts, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
lines = []
for d in dirs:
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name)) as f:
            lines += f.read().split("\n")[:-1]
dups = [l for l, c in collections.Counter(lines).items() if c > 1]
pattern = r"Shutdown Metric for type: SOURCE, name: r1\..*?EventAcceptedCount == (\d+)"
accepted = sum(int(m) for m in re.findall(pattern, open(log).read()))
per = collections.defaultdict(set)
for l in lines:
    pid, n = l.split(":")
    per[pid].add(int(n))
gaps = {p: max(s) + 1 - len(s) for p, s in per.items() if max(s) + 1 != len(s)}
done = dict(l.split() for l in open(counts)) if os.path.exists(counts) else {}
short = {p: (len(per.get(p, ())), int(n)) for p, n in done.items() if len(per.get(p, ())) != int(n)}
print("lines %d, accepted %d, duplicates %d, writers %d, gaps %s, incomplete %s"
      % (len(lines), accepted, len(dups), len(per), gaps, short))
sys.exit(0 if not dups and len(lines) == accepted and not gaps and not short else 1)
PY

MON=(-Dflume.monitoring.type=http -Dflume.monitoring.port=0 -Dflume.monitoring.bind=127.0.0.1)

# conf DIR SINKS C1_CAPACITY [K1_BATCH] [K1_CHANNEL]: the agent file for one phase
conf() {
  local dir=$1 sinks=$2 cap=$3 batch=${4:-} k1ch=${5:-c1}
  cat <<CONF
a1.sources = r1
a1.channels = c1 c2
a1.sinks = $sinks
a1.sources.r1.type = exec
a1.sources.r1.command = /usr/bin/python3 $WORK/writer.py $dir/stop $dir/pids $dir/counts
a1.sources.r1.channels = c1
a1.sources.r1.batchSize = 20
a1.channels.c1.type = memory
a1.channels.c1.capacity = $cap
a1.channels.c1.transactionCapacity = 100
a1.channels.c2.type = memory
a1.sinks.k0.type = null
a1.sinks.k0.channel = c2
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = $k1ch
a1.sinks.k1.sink.directory = $dir/out1
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k2.type = file_roll
a1.sinks.k2.channel = c1
a1.sinks.k2.sink.directory = $dir/out2
a1.sinks.k2.sink.rollInterval = 0
CONF
  [ -z "$batch" ] || echo "a1.sinks.k1.sink.batchSize = $batch"
}

# put FILE < text: replace the agent file atomically, as editors do
put() { cat > "$1.tmp" && mv "$1.tmp" "$1"; }

# lines_of DIR...: lines in the files of the directories, listed when called (a sink opens its
# file after it is logged as started, so a glob expanded up front may miss it)
lines_of() { local d; for d in "$@"; do cat "$d"/* 2>/dev/null; done | wc -l; }
more_than() { [ "$(lines_of "${@:2}")" -gt "$1" ]; }
count_in() { grep -c -- "$2" "$1" || true; }
log_has() { grep -q -- "$2" "$1"; }
port_of() { sed -n 's/.*Monitoring server listening on port \([0-9]*\).*/\1/p' "$1"; }
metric_gt() { local v; v=$(metric "$1" "$2" "$3"); [ -n "$v" ] && [ "$v" -gt "$4" ]; }
started() {
  wait_until 20 grep -q "agent a1 started" "$1" || { cat "$1"; fail "agent did not start"; }
}
pids_are() { [ "$(wc -l < "$1")" = "$2" ]; }
rejected_at_least() { [ "$(count_in "$1" "Reload rejected")" -ge "$2" ]; }
metric_gone() { [ -z "$(metric "$1" "$2" StartTime)" ]; }
accepted_so_far() { # LOG PORT: what earlier r1 instances accepted + the running one
  local done_sum live
  done_sum=$(grep -o "name: r1\..*EventAcceptedCount == [0-9]*" "$1" |
    awk '{ s += $NF } END { print s + 0 }')
  live=$(metric "$2" SOURCE.r1 EventAcceptedCount)
  echo $(( ${done_sum:-0} + ${live:-0} ))
}
lines_in_dirs() { local n=0 d; for d in "$@"; do n=$((n + $(lines_in_dir "$d"))); done; echo $n; }
all_delivered() { # LOG PORT DIR...
  local want; want=$(accepted_so_far "$1" "$2")
  [ "$want" -gt 0 ] && [ "$(lines_in_dirs "${@:3}")" -eq "$want" ]
}
# finish DIR LOG PID PORT OUTDIRS...: stop the writer, wait for every accepted line, stop, verify
finish() {
  local dir=$1 log=$2 pid=$3 port=$4; shift 4
  touch "$dir/stop"
  wait_until 30 test -s "$dir/counts" || fail "the writer did not stop"
  wait_until 60 all_delivered "$log" "$port" "$@" ||
    fail "outputs hold $(lines_in_dirs "$@") lines," \
      "sources accepted $(accepted_so_far "$log" "$port")"
  stop_pid "$pid" || fail "agent exited with status $?"
  /usr/bin/python3 "$WORK/verify.py" "$log" "$dir/counts" "$@" || fail "events lost or duplicated"
}

# ---- A: polling (-i 1) ------------------------------------------------------------------------
A=$WORK/a; mkdir -p "$A"
conf "$A" "k0 k1" 10000 | put "$A/agent.conf"
start_bg "$A/agent.log" "$SLUICE" agent -n a1 -f "$A/agent.conf" -i 1 "${MON[@]}"
AGENT=$LAST_PID
started "$A/agent.log"
log_has "$A/agent.log" "polled every 1 s" || fail "the poll interval is not reported"
PORT=$(port_of "$A/agent.log")
wait_until 30 more_than 500 "$A/out1" || fail "no events reached k1"
S_START=$(metric "$PORT" SOURCE.r1 StartTime)
C_START=$(metric "$PORT" CHANNEL.c1 StartTime)
K0_START=$(metric "$PORT" SINK.k0 StartTime)
RECEIVED=$(metric "$PORT" SOURCE.r1 EventReceivedCount)

echo "A: k1's batch size changes and k2 joins (poll)"
conf "$A" "k0 k1 k2" 10000 7 | put "$A/agent.conf"
wait_until 30 log_has "$A/agent.log" "Reload: sink k2 added" || fail "k2 not added"
wait_until 30 log_has "$A/agent.log" "reloaded in" || fail "the reload did not finish"
log_has "$A/agent.log" "Reload: sink k1 restarted (sink.batchSize added ('7'))" ||
  fail "k1's restart does not name its new batch size"
! grep -E "Reload: (source r1|channel c1|sink k0|channel c2)" "$A/agent.log" ||
  fail "a component the edit does not touch was restarted"
wait_until 30 more_than 200 "$A/out2" || fail "k2 receives no events"
# batches of 7 are now complete batches (with 100 the sink only saw partial ones)
wait_until 30 metric_gt "$PORT" SINK.k1 BatchCompleteCount 0 || fail "k1 does not use batchSize 7"
[ "$(wc -l < "$A/pids")" = 1 ] || fail "the exec source's command was restarted"
[ "$(metric "$PORT" SOURCE.r1 StartTime)" = "$S_START" ] || fail "source r1 was restarted"
[ "$(metric "$PORT" CHANNEL.c1 StartTime)" = "$C_START" ] || fail "channel c1 was replaced"
[ "$(metric "$PORT" SINK.k0 StartTime)" = "$K0_START" ] || fail "sink k0 was restarted"
metric_gt "$PORT" SOURCE.r1 EventReceivedCount "$RECEIVED" || fail "r1's counters were reset"

echo "A: invalid edits are rejected, the agent runs on"
conf "$A" "k0 k1 k2" 10000 7 | sed 's/^a1.sinks.k2.type = file_roll/a1.sinks.k2.type = file_rol/' |
  put "$A/agent.conf"
wait_until 30 log_has "$A/agent.log" "Reload rejected" || fail "the invalid edit was not rejected"
log_has "$A/agent.log" "agent.conf:.*a1.sinks.k2.type: unknown sink type 'file_rol'" ||
  fail "the rejection does not name the file, line and key"
printf 'a2.sources = x\n' | put "$A/agent.conf" # the agent's section is gone
wait_until 30 rejected_at_least "$A/agent.log" 2 ||
  fail "a file without the agent was not rejected"
N=$(lines_of "$A/out1" "$A/out2")
wait_until 30 more_than "$((N + 500))" "$A/out1" "$A/out2" || fail "events stopped flowing"
kill -0 "$AGENT" || fail "the agent died"
[ "$(wc -l < "$A/pids")" = 1 ] || fail "the rejected edits restarted the source"

echo "A: the channel's capacity changes (replaced, events handed over)"
conf "$A" "k0 k1 k2" 20000 7 | put "$A/agent.conf"
wait_until 30 log_has "$A/agent.log" \
  "Reload: channel c1 restarted (capacity: '10000' -> '20000')" ||
  fail "c1 not replaced"
wait_until 30 log_has "$A/agent.log" "events handed over from the old channel c1" ||
  fail "no handover reported"
wait_until 30 pids_are "$A/pids" 2 || fail "r1 was not restarted with its channel"
[ "$(metric "$PORT" SINK.k0 StartTime)" = "$K0_START" ] || fail "sink k0 was restarted"
wait_until 30 metric_is "$PORT" CHANNEL.c1 ChannelCapacity 20000 || fail "metrics show the old c1"

echo "A: k2 is removed"
N=$(lines_of "$A/out1")
conf "$A" "k0 k1" 20000 7 | put "$A/agent.conf"
wait_until 30 log_has "$A/agent.log" "Reload: sink k2 removed" || fail "k2 not removed"
wait_until 30 metric_gone "$PORT" SINK.k2 || fail "metrics still show k2"
wait_until 30 more_than "$((N + 300))" "$A/out1" || fail "k1 stopped receiving"
[ "$(wc -l < "$A/pids")" = 2 ] || fail "removing a sink restarted the source"
finish "$A" "$A/agent.log" "$AGENT" "$PORT" "$A/out1" "$A/out2"

# ---- B: --no-reload-conf, SIGHUP ---------------------------------------------------------------
B=$WORK/b; mkdir -p "$B"
conf "$B" "k0 k1" 10000 | put "$B/agent.conf"
start_bg "$B/agent.log" "$SLUICE" agent -n a1 -f "$B/agent.conf" --no-reload-conf "${MON[@]}"
AGENT=$LAST_PID
started "$B/agent.log"
PORT=$(port_of "$B/agent.log")
wait_until 30 more_than 300 "$B/out1" || fail "no events reached k1"
S_START=$(metric "$PORT" SOURCE.r1 StartTime)
echo "B: an edit is not polled; SIGHUP applies it"
conf "$B" "k0 k1 k2" 10000 7 | put "$B/agent.conf"
sleep 3 # a poll would have happened by now (checking an absence)
! log_has "$B/agent.log" "Reloading" || fail "--no-reload-conf still polls"
kill -HUP "$AGENT"
wait_until 30 log_has "$B/agent.log" "Reloading the configuration of agent a1 (SIGHUP)" ||
  fail "SIGHUP did not reload"
wait_until 30 log_has "$B/agent.log" "Reload: sink k2 added" || fail "k2 not added on SIGHUP"
wait_until 30 more_than 200 "$B/out2" || fail "k2 receives no events"
[ "$(metric "$PORT" SOURCE.r1 StartTime)" = "$S_START" ] || fail "source r1 was restarted"
echo "B: SIGHUP removes k2"
conf "$B" "k0 k1" 10000 7 | put "$B/agent.conf"
kill -HUP "$AGENT"
wait_until 30 log_has "$B/agent.log" "Reload: sink k2 removed" || fail "k2 not removed on SIGHUP"
wait_until 30 log_has "$B/agent.log" "reloaded in.*0 added, 0 restarted, 1 removed" ||
  fail "removing k2 restarted other components"
[ "$(wc -l < "$B/pids")" = 1 ] || fail "the exec source's command was restarted"
finish "$B" "$B/agent.log" "$AGENT" "$PORT" "$B/out1" "$B/out2"

# ---- C: a full channel is replaced: its events move to the new one ---------------------------
C=$WORK/c; mkdir -p "$C" "$C/out2"
conf "$C" "k0 k1" 50000 "" c2 | put "$C/agent.conf" # c1 has no sink yet: it fills up
start_bg "$C/agent.log" "$SLUICE" agent -n a1 -f "$C/agent.conf" --no-reload-conf "${MON[@]}"
AGENT=$LAST_PID
started "$C/agent.log"
PORT=$(port_of "$C/agent.log")
wait_until 30 metric_gt "$PORT" CHANNEL.c1 ChannelSize 3000 || fail "c1 does not fill"
echo "C: c1 changes while it holds $(metric "$PORT" CHANNEL.c1 ChannelSize) events; k1 moves to it"
conf "$C" "k0 k1" 60000 | put "$C/agent.conf"
kill -HUP "$AGENT"
wait_until 60 log_has "$C/agent.log" "reloaded in" || fail "the reload did not finish"
MOVED=$(sed -n 's/.* \([0-9]*\) events handed over from the old channel c1.*/\1/p' "$C/agent.log")
echo "C: $MOVED events handed over"
[ "${MOVED:-0}" -gt 3000 ] || fail "the old channel's events were not handed over"
! log_has "$C/agent.log" "are lost" || fail "events were lost in the handover"
finish "$C" "$C/agent.log" "$AGENT" "$PORT" "$C/out1" "$C/out2"
echo "reload: all cases passed"
