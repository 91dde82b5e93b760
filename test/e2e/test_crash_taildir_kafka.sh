#!/usr/bin/env bash
# "Lose nothing" across crashes: taildir -> file channel -> kafka sink -> the Kafka test broker
# (16 partitions). A writer appends E2E_CRASH_LINES (default 1,000,000) numbered lines to
# app.log, rotating it by rename twice (app.log -> app.log.1 while the agent runs; app.log.1 ->
# app.log.2 and app.log -> app.log.1 while the agent is down after a kill). The agent is killed
# with SIGKILL at E2E_CRASH_KILLS (default 6) random moments (seed E2E_CRASH_SEED, printed) and
# restarted each time with the same position file and file channel directories. After the
# writer is done and the agent drained, an independent consumer's dump must hold every line at
# least once (missing 0), nothing else, and the duplicates must stay within what a kill can
# repeat: lines past the saved position that the source could have read (the file sizes at the
# kill), plus one sink batch per kill.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BROKER="$SLUICE_BUILD_ROOT/test/kafka/kafka_broker"
COUNT="$SLUICE_BUILD_ROOT/test/kafka/kafka_count"
PY=/usr/bin/python3
LINES=${E2E_CRASH_LINES:-1000000}
KILLS=${E2E_CRASH_KILLS:-6}
RATE=${E2E_CRASH_RATE:-40000}
SEED=${E2E_CRASH_SEED:-$(( $(date +%s) % 32768 ))}
SRC_BATCH=1000
SINK_BATCH=1000
RANDOM=$SEED
echo "seed $SEED (E2E_CRASH_SEED=$SEED repeats the kill delays), $LINES lines, $KILLS kills"
T0=$(date +%s)

start_bg "$WORK/broker.out" "$BROKER" --topic crash:16 --port-file "$WORK/bootstrap"
wait_until 10 test -s "$WORK/bootstrap" || fail "broker did not start"
BOOTSTRAP=$(cat "$WORK/bootstrap")

mkdir -p "$WORK/logs" "$WORK/state"
cat > "$WORK/agent.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.channels = c1
a1.sources.r1.positionFile = $WORK/state/taildir_position.json
a1.sources.r1.filegroups = g1
a1.sources.r1.filegroups.g1 = $WORK/logs/app\\\\.log
a1.sources.r1.batchSize = $SRC_BATCH
a1.sources.r1.writePosInterval = 1000
a1.sources.r1.idleTimeout = 5000
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = $WORK/checkpoint
a1.channels.c1.dataDirs = $WORK/data
a1.channels.c1.capacity = 2000000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.checkpointInterval = 5000
a1.channels.c1.maxFileSize = 8388608
a1.channels.c1.minimumRequiredSpace = 1048576
a1.sinks.k1.type = kafka
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = $BOOTSTRAP
a1.sinks.k1.kafka.topic = crash
a1.sinks.k1.flumeBatchSize = $SINK_BATCH
CONF
"$SLUICE" check -n a1 -f "$WORK/agent.conf" > "$WORK/check.out" 2>&1 ||
  { cat "$WORK/check.out"; fail "sluice check rejected the config"; }

# ---- the writer: numbered lines, paced; rotations by rename ------------------------------
cat > "$WORK/writer.py" <<'PY'
import os, random, sys, time
logs, total, rate, flag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
random.seed(7)
app = os.path.join(logs, "app.log")
fd = os.open(app, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
chunk, t0, seq = 500, time.time(), 0
rotated_running = rotated_down = False
while seq < total:
    n = min(chunk, total - seq)
    os.write(fd, "".join("%09d %s\n" % (i, "x" * random.randrange(48))
                         for i in range(seq, seq + n)).encode())
    seq += n
    if not rotated_running and seq >= total * 3 // 10:
        # logrotate's rename: the writer finishes its chunk through the old descriptor
        os.rename(app, app + ".1")
        os.write(fd, "".join("%09d rotated-tail\n" % i for i in range(seq, seq + 200)).encode())
        seq += 200
        os.close(fd)
        fd = os.open(app, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        rotated_running = True
        print("writer: rotated app.log -> app.log.1 at line %d (agent running)" % seq, flush=True)
    if not rotated_down and os.path.exists(flag):
        os.rename(app + ".1", app + ".2")
        os.rename(app, app + ".1")
        os.close(fd)
        fd = os.open(app, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        rotated_down = True
        os.unlink(flag)
        print("writer: rotated app.log.1 -> .2, app.log -> .1 at line %d (agent down)" % seq,
              flush=True)
    ahead = seq / rate - (time.time() - t0)
    if ahead > 0:
        time.sleep(ahead)
os.close(fd)
if not rotated_down:
    sys.exit("writer: the test never asked for the rotation while the agent is down")
print("writer: %d lines in %.1f s" % (seq, time.time() - t0), flush=True)
PY

start_agent() { # N
  start_bg "$WORK/agent.$1.log" "$SLUICE" agent -n a1 -f "$WORK/agent.conf" \
    -Dflume.monitoring.type=http -Dflume.monitoring.port=0 -Dflume.monitoring.bind=127.0.0.1
  AGENT=$LAST_PID
  wait_until 120 grep -q "agent a1 started" "$WORK/agent.$1.log" ||
    { tail -20 "$WORK/agent.$1.log"; fail "agent run $1 did not start (hang on restart?)"; }
  PORT=$(sed -n 's/.*Monitoring server listening on port \([0-9]*\).*/\1/p' "$WORK/agent.$1.log" | head -1)
}

# the consumer follows the run (the mock broker keeps only the newest 5 MB per partition)
start_bg "$WORK/dump.err" sh -c "exec '$COUNT' --bootstrap '$BOOTSTRAP' --topic crash dump \
  --from-beginning --with-partition --timeout-ms 600000 > '$WORK/dump.txt'"
DUMP=$LAST_PID
start_agent 0
start_bg "$WORK/writer.out" $PY "$WORK/writer.py" "$WORK/logs" "$LINES" "$RATE" "$WORK/rotate.flag"
WRITER=$LAST_PID
writer_done() { ! kill -0 "$WRITER" 2>/dev/null; }

# record, right after a kill, what the position file saved and how long every file was
snapshot() {
  $PY - "$WORK/state/taildir_position.json" "$WORK/logs" >> "$WORK/kills.txt" <<'PY'
import json, os, sys
pos_path, logs = sys.argv[1:3]
text = open(pos_path).read() if os.path.exists(pos_path) else ""
entries = json.loads(text) if text.strip() else []
sizes = {}
for name in os.listdir(logs):
    st = os.stat(os.path.join(logs, name))
    sizes[str(st.st_ino)] = [name, st.st_size]
print(json.dumps({"pos": {str(e["inode"]): e["pos"] for e in entries}, "sizes": sizes}))
PY
}

: > "$WORK/kills.txt"
DOWN_ROTATION=$(( KILLS / 2 ))
for i in $(seq 1 "$KILLS"); do
  # spread the kills over the writer's run (LINES / RATE seconds)
  span=$(( LINES * 10 / RATE / KILLS )) # tenths of a second per kill
  [ "$span" -ge 10 ] || span=10
  delay=$(( span / 2 + RANDOM % span ))
  sleep "$(( delay / 10 )).$(( delay % 10 ))"
  kill -KILL "$AGENT"
  wait "$AGENT" 2>/dev/null || true
  PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$AGENT" | tr '\n' ' ')
  snapshot || fail "position file unreadable after kill $i"
  what="after $(( delay / 10 )).$(( delay % 10 )) s"
  if [ "$i" = "$DOWN_ROTATION" ]; then
    if writer_done; then fail "the writer finished before kill $i (raise E2E_CRASH_LINES)"; fi
    touch "$WORK/rotate.flag"
    wait_until 30 test ! -e "$WORK/rotate.flag" || fail "the writer did not rotate"
    what="$what, logs rotated while it was down"
  fi
  echo "kill $i: SIGKILL $what ($(grep -c . "$WORK/dump.txt" || true) messages read so far)"
  start_agent "$i"
done
wait "$WRITER" || { cat "$WORK/writer.out"; fail "writer failed"; }
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$WRITER" | tr '\n' ' ')
cat "$WORK/writer.out"
T_WRITE=$(date +%s)

# ---- drain: every line read, the channel empty, the consumer caught up -------------------------
watermark() { "$COUNT" --bootstrap "$BOOTSTRAP" --topic crash watermarks | tail -1 | sed 's/total=//'; }
enough() { [ "$(watermark)" -ge "$LINES" ]; }
wait_until 300 enough || fail "only $(watermark) of $LINES messages in the topic"
drained() {
  [ "$(metric "$PORT" CHANNEL.c1 ChannelSize)" = 0 ] || return 1
  local a; a=$(metric "$PORT" SINK.k1 EventDrainSuccessCount)
  sleep 2
  [ "$(metric "$PORT" CHANNEL.c1 ChannelSize)" = 0 ] &&
    [ "$(metric "$PORT" SINK.k1 EventDrainSuccessCount)" = "$a" ]
}
wait_until 120 drained || fail "the agent did not drain"
TOTAL=$(watermark)
caught_up() { [ "$(grep -c . "$WORK/dump.txt")" -ge "$TOTAL" ]; }
wait_until 120 caught_up || fail "the consumer read $(grep -c . "$WORK/dump.txt") of $TOTAL"
stop_pid "$AGENT" || fail "agent exited with status $?"
stop_pid "$DUMP" || true
T_END=$(date +%s)
grep -h "Missing file\|renamed\|found again\|events queued after replay" "$WORK"/agent.*.log | sed 's/^/  /' | head -20

# ---- verify ----------------------------------------------------------------------------------
$PY - "$WORK/dump.txt" "$LINES" "$WORK/kills.txt" "$WORK/logs" "$SINK_BATCH" "$KILLS" <<'PY' ||
import json, os, sys
dump, total, kills, logs, sink_batch, n_kills = sys.argv[1:7]
total, sink_batch, n_kills = int(total), int(sink_batch), int(n_kills)
seen = bytearray(total)
dups = extra = received = 0
with open(dump, "rb") as f:
    for raw in f:
        received += 1
        value = raw.rstrip(b"\n").split(b"\t", 2)[2]
        num = value.split(b" ", 1)[0]
        i = int(num) if num.isdigit() and len(num) == 9 else -1
        if not 0 <= i < total:
            extra += 1
            continue
        if seen[i]:
            dups += 1
        seen[i] = min(seen[i] + 1, 255)
missing = [i for i in range(total) if not seen[i]]
# line ends per file (by inode): what a saved position covers
ends = {}
for name in os.listdir(logs):
    p = os.path.join(logs, name)
    data = open(p, "rb").read()
    e, off = [], 0
    while True:
        j = data.find(b"\n", off)
        if j < 0:
            break
        off = j + 1
        e.append(off)
    ends[str(os.stat(p).st_ino)] = e
import bisect
unsaved = 0
for k in open(kills):
    k = json.loads(k)
    for ino, (name, size) in k["sizes"].items():
        # a restart reads a saved file from its saved position, and app.log from 0 when it
        # is not saved yet; any other file not in the position file is never read again
        if ino not in k["pos"] and name != "app.log":
            continue
        e = ends.get(ino, [])
        start = k["pos"].get(ino, 0)
        unsaved += bisect.bisect_right(e, size) - bisect.bisect_right(e, start)
bound = unsaved + n_kills * sink_batch
print("lines=%d kills=%d received=%d missing=%d duplicates=%d extra=%d "
      "(bound: %d lines past the saved positions at the kills + %d x sink batch %d = %d)"
      % (total, n_kills, received, len(missing), dups, extra, unsaved, n_kills, sink_batch, bound))
if missing:
    print("missing (first 10):", missing[:10])
ok = not missing and extra == 0 and dups <= bound
sys.exit(0 if ok else 1)
PY
  fail "lines lost, unexpected lines or too many duplicates"
echo "time: writer $(( T_WRITE - T0 )) s, drained and verified $(( $(date +%s) - T0 )) s (drain $(( T_END - T_WRITE )) s)"
echo "1 passed, 0 failed"
