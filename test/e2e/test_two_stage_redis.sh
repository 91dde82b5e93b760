#!/usr/bin/env bash
# The seed's two-stage topology with exact counts: agent A (conf/hive_log.conf: exec tail -F ->
# regex_filter -> memory -> kafka sink) feeds the Kafka test broker; two B agents in one
# consumer group (kafka source -> memory -> redis sink, hincrby, event time) share the
# partitions, and one of them is stopped and restarted mid-run. The per-window, per-IP counts
# in Redis must equal counts computed independently from the log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BROKER="$SLUICE_BUILD_ROOT/test/kafka/kafka_broker"
EXPECT="$(dirname "$0")/redis_expected.py"
LINES=${E2E_TWO_STAGE_LINES:-150000}
REGEX='(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},\\d{3}).*ip=\\/(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}).*tbl=([a-zA-Z0-9_]+)'

RPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/redis"
start_bg "$WORK/redis.out" redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK/redis"
wait_until 10 redis-cli -p "$RPORT" ping > /dev/null || fail "redis-server did not start"
rcli() { redis-cli -p "$RPORT" --raw "$@"; }

start_bg "$WORK/broker.out" "$BROKER" --topic mytopic:4 --port-file "$WORK/bootstrap"
wait_until 10 test -s "$WORK/bootstrap" || fail "broker did not start"
BOOTSTRAP=$(cat "$WORK/bootstrap")

LOG="$WORK/hive.log"; : > "$LOG"
sed -e "s|^a1.sinks.k1.brokerList = .*|a1.sinks.k1.brokerList = $BOOTSTRAP|" \
    -e "s|/var/log/hive/hadoop-cmf-hive1-HIVEMETASTORE-master.log.out|$LOG|" \
    "$SLUICE_SOURCE_ROOT/conf/hive_log.conf" > "$WORK/a.conf"
cat > "$WORK/b.conf" <<CONF
b.sources = r1
b.channels = c1
b.sinks = k1
b.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
b.sources.r1.kafka.bootstrap.servers = $BOOTSTRAP
b.sources.r1.kafka.topics = mytopic
b.sources.r1.kafka.consumer.group.id = counters
b.sources.r1.kafka.consumer.auto.offset.reset = earliest
b.sources.r1.kafka.consumer.session.timeout.ms = 6000
b.sources.r1.kafka.consumer.heartbeat.interval.ms = 1000
b.sources.r1.batchSize = 500
b.sources.r1.channels = c1
b.channels.c1.type = memory
b.channels.c1.capacity = 10000
b.channels.c1.transactionCapacity = 1000
b.sinks.k1.type = redis
b.sinks.k1.channel = c1
b.sinks.k1.redis.port = $RPORT
b.sinks.k1.regex = $REGEX
b.sinks.k1.groupBy = 2
b.sinks.k1.time = event
b.sinks.k1.timeGroup = 1
b.sinks.k1.window = 15s
# partitions interleave, so events arrive out of time order: allow it
b.sinks.k1.allowedLateness = 1h
b.sinks.k1.mode = hincrby
b.sinks.k1.key = hits
b.sinks.k1.batchSize = 1000
CONF
"$SLUICE" check -n b -f "$WORK/b.conf" > /dev/null 2>&1 || { "$SLUICE" check -n b -f "$WORK/b.conf"; fail "b.conf rejected"; }

start_agent() { # NAME CONF LOG -> $LAST_PID
  start_bg "$3" "$SLUICE" agent -n "$1" -f "$2"
  wait_until 15 grep -q "agent $1 started" "$3" || { cat "$3"; fail "agent $1 did not start"; }
}
start_agent b "$WORK/b.conf" "$WORK/b1.log"; B1=$LAST_PID
start_agent b "$WORK/b.conf" "$WORK/b2.log"; B2=$LAST_PID
start_agent a1 "$WORK/a.conf" "$WORK/a.log"; A=$LAST_PID
sleep 0.5

start_bg "$WORK/gen.out" "$GEN" --lines "$LINES" --rate 30000 --seed 21 --append \
  --expected "$WORK/audit.txt" "$LOG"
GENPID=$LAST_PID
sleep 2
stop_pid "$B1" || fail "agent B1 exit status $?"
echo "B1 stopped mid-run"
sleep 2
start_agent b "$WORK/b.conf" "$WORK/b1b.log"; B1=$LAST_PID
echo "B1 restarted"
wait "$GENPID" || fail "generator failed"
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$GENPID" | tr '\n' ' ')
AUDIT=$(wc -l < "$WORK/audit.txt")

sum_hits() {
  rcli EVAL "local n = 0
    for _, k in ipairs(redis.call('KEYS', 'hits:[0-9]*')) do
      for _, v in ipairs(redis.call('HVALS', k)) do n = n + tonumber(v) end
    end
    return n" 0
}
all_counted() { [ "$(sum_hits)" -ge "$AUDIT" ]; }
wait_until 180 all_counted || fail "Redis counted $(sum_hits) of $AUDIT audit lines"
sleep 2 # anything counted twice would show up now
stop_pid "$A" || fail "agent A exit status $?"
stop_pid "$B1" || fail "agent B1 exit status $?"
stop_pid "$B2" || fail "agent B2 exit status $?"

"$EXPECT" "$LOG" 15 hincrby > "$WORK/want.txt"
rcli EVAL "local out = {}
  for _, k in ipairs(redis.call('KEYS', 'hits:[0-9]*')) do
    local h = redis.call('HGETALL', k)
    local w = string.match(k, '([^:]+)\$')
    for i = 1, #h, 2 do out[#out + 1] = w .. ' ' .. h[i] .. ' ' .. h[i + 1] end
  end
  return out" 0 | sort > "$WORK/got.txt"
if ! cmp -s "$WORK/want.txt" "$WORK/got.txt"; then
  diff "$WORK/want.txt" "$WORK/got.txt" | head
  fail "per-window, per-IP counts in Redis differ from the log's (total $(sum_hits) for $AUDIT)"
fi
echo "two stages, two B agents (one restarted): $(wc -l < "$WORK/want.txt") (window, ip) counts exact, total $AUDIT"
echo "1 passed, 0 failed"
