#!/usr/bin/env bash
# A peer that is down for E2E_OUTAGE_SECS (default 30) while lines keep being appended: the
# memory channel (capacity 10000) fills, the source waits instead of reading on, the agent's
# memory stays bounded, and after the peer is back everything arrives.
#  (a) taildir -> memory -> kafka sink -> the Kafka test broker (SIGUSR1 down, SIGUSR2 up);
#      numbered 400-byte lines: missing must be 0 (duplicates counted and printed). The
#      producer's message.timeout.ms outlasts the outage: when the sink's wait times out
#      during it, the mock broker can answer the following consumer's fetch with "Offset out
#      of range" after the broker is back (its watermarks stay exact), so the content check
#      would depend on that race. Records are spread evenly over the 64 partitions (no sticky
#      partitioning), so none reaches the mock broker's 5 MB retention even when the backlog
#      after the outage outruns the following consumer (librdkafka's sticky partitioner put
#      10 ms of records, thousands at that speed, into one partition, and the mock trimmed it).
#  (b) taildir -> regex_filter -> memory -> redis sink (hincrby, event time) -> a real
#      redis-server killed with SIGKILL and restarted on the same port (appendfsync always):
#      every (window, IP) count equals redis_expected.py's count of the log.
# Checked during each outage (from /metrics): the channel fills (channel puts - sink deliveries
# reach the capacity; ChannelFillPercentage >= 90, as the sink's taken batch is not in
# ChannelSize) but the agent never holds more than capacity + source batch + sink batch, the
# source's EventReceivedCount grows by less than twice that while the writer appends 5x more,
# and the agent's RSS grows by less than 2 x capacity x (line + 256 B) + 16 MB during the
# outage. Peak RSS (VmHWM) must stay under the RSS at start plus that (not asserted under ASan,
# whose allocator caches freed memory); holding the outage's lines would take far more.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BROKER="$SLUICE_BUILD_ROOT/test/kafka/kafka_broker"
COUNT="$SLUICE_BUILD_ROOT/test/kafka/kafka_count"
EXPECT="$(dirname "$0")/redis_expected.py"
PY=/usr/bin/python3
OUTAGE=${E2E_OUTAGE_SECS:-30}
CAPACITY=10000
SRC_BATCH=500
SINK_BATCH=1000
RATE=5000        # lines/s appended during the whole run
LINE_LEN=400     # (a): bytes per line with its newline
BEFORE=4         # seconds of normal flow before the outage
AFTER=4          # seconds of appending after the peer is back
export TZ=Europe/Berlin
T0=$(date +%s)

# ASan keeps freed memory in quarantine and adds shadow memory: bound it, and scale the limit
ASAN=0
if ldd "$SLUICE" 2>/dev/null | grep -q libasan; then
  ASAN=1
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }

start_agent() { # CONF LOG
  start_bg "$2" "$SLUICE" agent -n a1 -f "$1" -Dflume.monitoring.type=http \
    -Dflume.monitoring.port=0 -Dflume.monitoring.bind=127.0.0.1
  AGENT=$LAST_PID
  wait_until 30 grep -q "agent a1 started" "$2" || { cat "$2"; fail "agent did not start"; }
  PORT=$(sed -n 's/.*Monitoring server listening on port \([0-9]*\).*/\1/p' "$2" | head -1)
  sleep 1 # settled (plugins loaded, first scan done): the baseline
  BASE_KB=$(kb "$AGENT" VmRSS)
}

# watch_outage SECONDS: sample /metrics every 0.5 s during the outage: the channel's fill, the
# events in the agent (channel puts - sink deliveries) and how far the source read
watch_outage() {
  local end=$(( $(date +%s) + $1 )) fill held r
  MAX_FILL=0; MAX_HELD=0; R_START=""
  while [ "$(date +%s)" -lt "$end" ]; do
    local vals
    vals=$(curl -sf "http://127.0.0.1:$PORT/metrics" | $PY -c 'import json,sys; m=json.load(sys.stdin)
c, k = m["CHANNEL.c1"], m["SINK.k1"]
print(int(float(c["ChannelFillPercentage"])),
      int(c["EventPutSuccessCount"]) - int(k["EventDrainSuccessCount"]),
      m["SOURCE.r1"]["EventReceivedCount"])') || { echo "(metrics not readable, retrying)"; sleep 0.5; continue; }
    read -r fill held r <<< "$vals"
    [ -n "$R_START" ] || { R_START=$r; RSS_START=$(kb "$AGENT" VmRSS); }
    [ "$fill" -le "$MAX_FILL" ] || MAX_FILL=$fill
    [ "$held" -le "$MAX_HELD" ] || MAX_HELD=$held
    sleep 0.5
  done
  READ_DURING=$(( r - R_START ))
  RSS_END=$(kb "$AGENT" VmRSS)
}

# room for the channel's events (2 x capacity x (line + 256 B)) + 16 MB allocator and
# librdkafka slack, in kB
mem_room() { echo $(( 2 * CAPACITY * ($1 + 256) / 1024 + 16 * 1024 )); }

# check_outage NAME LINES_WRITTEN_DURING LINES_PER_EVENT(x100) BYTES_PER_EVENT
check_outage() {
  local limit=$(( CAPACITY + SRC_BATCH + SINK_BATCH ))
  local read_limit=$(( 2 * limit * $3 / 100 ))
  echo "$1: during the ${OUTAGE} s outage the writer appended $2 lines, the source read" \
    "$READ_DURING (limit $read_limit); channel fill reached $MAX_FILL %; events in the agent" \
    "(channel puts - sink deliveries) at most $MAX_HELD (limit capacity + batches = $limit)"
  # full: puts minus deliveries reach the capacity; ChannelSize (and so the fill percentage)
  # leaves out the batch the sink has taken and keeps retrying, which still occupies room
  [ "$MAX_HELD" -ge $(( CAPACITY - SRC_BATCH )) ] || fail "$1: the channel never filled ($MAX_HELD)"
  [ "$MAX_FILL" -ge $(( 100 * (CAPACITY - SINK_BATCH) / CAPACITY )) ] ||
    fail "$1: ChannelFillPercentage only reached $MAX_FILL %"
  [ "$MAX_HELD" -le "$limit" ] || fail "$1: $MAX_HELD events held in the agent"
  [ "$READ_DURING" -le "$read_limit" ] || fail "$1: the source read on ($READ_DURING lines)"
  [ "$2" -ge $(( 5 * limit * $3 / 100 )) ] || fail "$1: the writer was too slow to test the wait ($2 lines)"
  echo "$1: RSS $(( RSS_START / 1024 )) MB when the outage began, $(( RSS_END / 1024 )) MB at" \
    "its end (growth limit $(( $(mem_room "$4") / 1024 )) MB)"
  [ $(( RSS_END - RSS_START )) -le "$(mem_room "$4")" ] || fail "$1: RSS grew during the outage"
}

# check_rss NAME BYTES_PER_EVENT LINES_WRITTEN_DURING_OUTAGE: the agent's peak RSS so far
check_rss() {
  local hwm; hwm=$(kb "$AGENT" VmHWM)
  local bound=$(( BASE_KB + $(mem_room "$2") ))
  echo "$1: RSS baseline $(( BASE_KB / 1024 )) MB, peak (VmHWM) $(( hwm / 1024 )) MB, bound" \
    "$(( bound / 1024 )) MB$([ "$ASAN" = 0 ] || echo ' (not asserted under ASan)'); holding" \
    "the outage's lines as events would take $(( $3 * ($2 + 256) / 1048576 )) MB more"
  # ASan's allocator keeps freed blocks in quarantine and per-size caches, so its peak says
  # little about the agent; the growth during the outage is checked in every build
  [ "$ASAN" = 1 ] || [ "$hwm" -le "$bound" ] || fail "$1: peak RSS $hwm kB above $bound kB"
}

# writer: RATE lines/s for SECONDS, numbered 400-byte lines (a) or gen_hive_log lines (b)
cat > "$WORK/writer.py" <<'PY'
import os, sys, time
path, rate, secs, width = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
t0, seq, total = time.time(), 0, int(rate * secs)
while seq < total:
    n = min(rate // 20, total - seq)
    os.write(fd, "".join("%09d %s\n" % (i, "x" * (width - 11)) for i in range(seq, seq + n)).encode())
    seq += n
    ahead = seq / rate - (time.time() - t0)
    if ahead > 0:
        time.sleep(ahead)
print(seq)
PY
lines_now() { wc -l < "$1"; }
RUN_SECS=$(( BEFORE + OUTAGE + AFTER ))

# ---- (a) Kafka broker down ----------------------------------------------------------------
start_bg "$WORK/broker.out" "$BROKER" --topic outage:64 --port-file "$WORK/bootstrap"
BROKER_PID=$LAST_PID
wait_until 10 test -s "$WORK/bootstrap" || fail "broker did not start"
BOOTSTRAP=$(cat "$WORK/bootstrap")
mkdir -p "$WORK/a"
cat > "$WORK/a.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.channels = c1
a1.sources.r1.positionFile = $WORK/a/pos.json
a1.sources.r1.filegroups = g1
a1.sources.r1.filegroups.g1 = $WORK/a/app\\\\.log
a1.sources.r1.batchSize = $SRC_BATCH
a1.channels.c1.type = memory
a1.channels.c1.capacity = $CAPACITY
a1.channels.c1.transactionCapacity = $SINK_BATCH
a1.sinks.k1.type = kafka
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = $BOOTSTRAP
a1.sinks.k1.kafka.topic = outage
a1.sinks.k1.flumeBatchSize = $SINK_BATCH
a1.sinks.k1.kafka.producer.message.timeout.ms = 120000
a1.sinks.k1.kafka.producer.sticky.partitioning.linger.ms = 0
CONF
"$SLUICE" check -n a1 -f "$WORK/a.conf" > "$WORK/check.out" 2>&1 || { cat "$WORK/check.out"; fail "check (a)"; }
start_bg "$WORK/dump.err" sh -c "exec '$COUNT' --bootstrap '$BOOTSTRAP' --topic outage dump \
  --from-beginning --with-partition --timeout-ms 600000 > '$WORK/dump.txt'"
DUMP=$LAST_PID
: > "$WORK/a/app.log"
start_agent "$WORK/a.conf" "$WORK/agent_a.log"
start_bg "$WORK/writer_a.out" $PY "$WORK/writer.py" "$WORK/a/app.log" "$RATE" "$RUN_SECS" "$LINE_LEN"
WRITER=$LAST_PID
sleep "$BEFORE"
kill -USR1 "$BROKER_PID"
W0=$(lines_now "$WORK/a/app.log")
echo "(a) broker down at $(date +%T)"
watch_outage "$OUTAGE"
W1=$(lines_now "$WORK/a/app.log")
kill -USR2 "$BROKER_PID"
echo "(a) broker up again at $(date +%T)"
check_outage "(a) kafka" $(( W1 - W0 )) 100 "$LINE_LEN"
wait "$WRITER" || fail "writer (a) failed"
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$WRITER" | tr '\n' ' ')
NA=$(lines_now "$WORK/a/app.log")
T_UP=$(date +%s)
watermark() { "$COUNT" --bootstrap "$BOOTSTRAP" --topic outage watermarks | tail -1 | sed 's/total=//'; }
enough() { [ "$(watermark)" -ge "$NA" ]; }
wait_until 300 enough || fail "(a) only $(watermark) of $NA lines in the topic"
wait_until 60 metric_is "$PORT" CHANNEL.c1 ChannelSize 0 || fail "(a) the channel did not drain"
TOTAL=$(watermark)
caught_up() { [ "$(grep -c . "$WORK/dump.txt")" -ge "$TOTAL" ]; }
wait_until 120 caught_up || { tail -5 "$WORK/dump.err" >&2; fail "(a) the consumer read $(grep -c . "$WORK/dump.txt") of $TOTAL"; }
echo "(a) all $NA lines in the topic $(( $(date +%s) - T_UP )) s after the broker came back"
check_rss "(a) kafka" "$LINE_LEN" $(( W1 - W0 ))
stop_pid "$AGENT" || fail "(a) agent exit status $?"
stop_pid "$DUMP" || true
stop_pid "$BROKER_PID" || true
$PY - "$WORK/dump.txt" "$NA" <<'PY' || fail "(a) lines missing after the outage"
import sys
dump, total = sys.argv[1], int(sys.argv[2])
seen = bytearray(total)
dups = extra = 0
for raw in open(dump, "rb"):
    num = raw.split(b"\t", 2)[2].split(b" ", 1)[0]
    i = int(num) if num.isdigit() else -1
    if not 0 <= i < total:
        extra += 1
        continue
    dups += seen[i] > 0
    seen[i] = 1
missing = total - sum(seen)
print("(a) lines=%d missing=%d duplicates=%d extra=%d" % (total, missing, dups, extra))
sys.exit(0 if missing == 0 and extra == 0 else 1)
PY

# ---- (b) redis-server down ----------------------------------------------------------------
RPORT=$(free_port)
start_redis() {
  start_bg "$WORK/redis.out.$1" redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
    --dir "$WORK/redis" --appendonly yes --appendfsync always
  REDIS_PID=$LAST_PID
  wait_until 10 redis-cli -p "$RPORT" ping > /dev/null || fail "redis-server did not start on $RPORT"
}
mkdir -p "$WORK/b" "$WORK/redis"
start_redis 1
REGEX='(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},\\d{3}).*ip=\\/(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}).*tbl=([a-zA-Z0-9_]+)'
cat > "$WORK/b.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.channels = c1
a1.sources.r1.positionFile = $WORK/b/pos.json
a1.sources.r1.filegroups = g1
a1.sources.r1.filegroups.g1 = $WORK/b/hive\\\\.log
a1.sources.r1.batchSize = $SRC_BATCH
a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = regex_filter
a1.sources.r1.interceptors.i1.regex = .*HiveMetaStore\\\\.audit.*
a1.channels.c1.type = memory
a1.channels.c1.capacity = $CAPACITY
a1.channels.c1.transactionCapacity = $SINK_BATCH
a1.sinks.k1.type = redis
a1.sinks.k1.channel = c1
a1.sinks.k1.redis.port = $RPORT
a1.sinks.k1.redis.timeout = 500
a1.sinks.k1.regex = $REGEX
a1.sinks.k1.groupBy = 2
a1.sinks.k1.timeGroup = 1
a1.sinks.k1.time = event
a1.sinks.k1.window = 15s
a1.sinks.k1.mode = hincrby
a1.sinks.k1.key = hsip
a1.sinks.k1.batchSize = $SINK_BATCH
CONF
"$SLUICE" check -n a1 -f "$WORK/b.conf" > "$WORK/check.out" 2>&1 || { cat "$WORK/check.out"; fail "check (b)"; }
: > "$WORK/b/hive.log"
start_agent "$WORK/b.conf" "$WORK/agent_b.log"
# gen_hive_log at RATE lines/s; about 60 % are audit lines, the ones the channel holds
start_bg "$WORK/gen.out" "$GEN" --lines $(( RATE * RUN_SECS )) --rate "$RATE" --seed 11 --append \
  --expected "$WORK/audit.txt" "$WORK/b/hive.log"
WRITER=$LAST_PID
sleep "$BEFORE"
kill -KILL "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$REDIS_PID" | tr '\n' ' ')
W0=$(lines_now "$WORK/b/hive.log")
echo "(b) redis-server killed at $(date +%T)"
watch_outage "$OUTAGE"
W1=$(lines_now "$WORK/b/hive.log")
PER_EVENT=$(( 100 * W1 / $(grep -c HiveMetaStore.audit "$WORK/b/hive.log") ))
HIVE_LINE=$(( $(stat -c %s "$WORK/b/hive.log") / W1 ))
start_redis 2
echo "(b) redis-server restarted on port $RPORT at $(date +%T)"
check_outage "(b) redis" $(( W1 - W0 )) "$PER_EVENT" "$HIVE_LINE"
wait "$WRITER" || fail "generator (b) failed"
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$WRITER" | tr '\n' ' ')
AUDIT=$(wc -l < "$WORK/audit.txt")
T_UP=$(date +%s)
sum_counts() {
  redis-cli -p "$RPORT" --raw EVAL "local n = 0
    for _, k in ipairs(redis.call('KEYS', 'hsip:[0-9]*')) do
      for _, v in ipairs(redis.call('HVALS', k)) do n = n + tonumber(v) end
    end
    return n" 0
}
all_counted() { [ "$(sum_counts)" -ge "$AUDIT" ]; }
wait_until 120 all_counted || fail "(b) $(sum_counts) of $AUDIT audit lines counted"
wait_until 60 metric_is "$PORT" CHANNEL.c1 ChannelSize 0 || fail "(b) the channel did not drain"
sleep 1 # anything counted twice would show now
echo "(b) all $AUDIT audit lines counted $(( $(date +%s) - T_UP )) s after redis-server came back"
check_rss "(b) redis" "$HIVE_LINE" $(( W1 - W0 ))
stop_pid "$AGENT" || fail "(b) agent exit status $?"
grep -q "Unable to deliver event: redis 127.0.0.1:$RPORT" "$WORK/agent_b.log" ||
  fail "(b) the agent did not notice the outage"
"$EXPECT" "$WORK/b/hive.log" 15 hincrby > "$WORK/want.txt"
redis-cli -p "$RPORT" --raw EVAL "local out = {}
  for _, k in ipairs(redis.call('KEYS', 'hsip:[0-9]*')) do
    local h = redis.call('HGETALL', k)
    local w = string.match(k, '([^:]+)\$')
    for i = 1, #h, 2 do out[#out + 1] = w .. ' ' .. h[i] .. ' ' .. h[i + 1] end
  end
  return out" 0 | sort > "$WORK/got.txt"
if ! cmp -s "$WORK/want.txt" "$WORK/got.txt"; then
  diff "$WORK/want.txt" "$WORK/got.txt" | head; fail "(b) per-window counts differ from the log's"
fi
echo "(b) $AUDIT audit lines: all $(wc -l < "$WORK/want.txt") (window, ip) counts equal the log's"
echo "time: $(( $(date +%s) - T0 )) s"
echo "1 passed, 0 failed"
