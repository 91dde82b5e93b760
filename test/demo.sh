#!/usr/bin/env bash
# The demo: the seed pipeline end to end on this machine. Starts the Kafka test broker
# (librdkafka's mock cluster on loopback), writes a realistic Hive metastore log at a steady
# pace, runs sluice on conf/hive_log.conf (only the broker address and the log path
# substituted) and shows the audit lines arriving in topic `mytopic`, then stops everything.
#   DEMO_LINES (default 200000)  DEMO_RATE lines/s (default 50000)  BUILD (default ./build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LINES=${DEMO_LINES:-200000}
RATE=${DEMO_RATE:-50000}
for f in "$BUILD/sluice" "$BUILD/test/kafka/kafka_broker" "$BUILD/test/kafka/kafka_count" \
         "$BUILD/test/tools/gen_hive_log"; do
  [ -x "$f" ] || { echo "demo: $f is missing; build first: meson setup $BUILD && ninja -C $BUILD" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-demo.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting the Kafka test broker (topic mytopic, 4 partitions)"
"$BUILD/test/kafka/kafka_broker" --topic mytopic:4 --port-file "$WORK/bootstrap" > "$WORK/broker.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
BOOTSTRAP=$(cat "$WORK/bootstrap")
echo "   bootstrap servers: $BOOTSTRAP"

LOG="$WORK/hadoop-cmf-hive1-HIVEMETASTORE-master.log.out"
: > "$LOG"
sed -e "s|^a1.sinks.k1.brokerList = .*|a1.sinks.k1.brokerList = $BOOTSTRAP|" \
    -e "s|/var/log/hive/hadoop-cmf-hive1-HIVEMETASTORE-master.log.out|$LOG|" \
    conf/hive_log.conf > "$WORK/hive_log.conf"
echo "== conf/hive_log.conf with the broker address and log path substituted:"
diff conf/hive_log.conf "$WORK/hive_log.conf" | sed 's/^/   /' || true

echo "== starting sluice: sluice agent -n a1 -f hive_log.conf"
"$BUILD/sluice" agent -n a1 -f "$WORK/hive_log.conf" -Dflume.monitoring.type=http \
  -Dflume.monitoring.port=0 -Dflume.monitoring.bind=127.0.0.1 > "$WORK/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)
for _ in $(seq 100); do grep -q "agent a1 started" "$WORK/agent.log" && break; sleep 0.1; done
grep -q "agent a1 started" "$WORK/agent.log" || { cat "$WORK/agent.log"; exit 1; }
sed 's/^/   /' "$WORK/agent.log"
sleep 0.5

echo "== writing $LINES Hive metastore log lines at $RATE lines/s"
"$BUILD/test/tools/gen_hive_log" --lines "$LINES" --rate "$RATE" --seed 42 --append \
  --expected "$WORK/audit.txt" "$LOG" > "$WORK/gen.out" &
GEN=$!
PIDS+=($GEN)

in_topic() { "$BUILD/test/kafka/kafka_count" --bootstrap "$BOOTSTRAP" --topic mytopic watermarks 2>/dev/null | sed -n 's/^total=//p'; }
while kill -0 "$GEN" 2>/dev/null; do
  audit=$(grep -c 'HiveMetaStore\.audit' "$LOG" || true); lines=$(wc -l < "$LOG")
  printf '   log lines: %8d   audit lines written: %8d   in mytopic: %8s\n' \
    "$lines" "$audit" "$(in_topic)"
  sleep 1
done
wait "$GEN" || true
AUDIT=$(wc -l < "$WORK/audit.txt")
for _ in $(seq 120); do
  got=$(in_topic); [ "${got:-0}" -ge "$AUDIT" ] && break
  printf '   log lines: %8d   audit lines written: %8d   in mytopic: %8s\n' "$LINES" "$AUDIT" "$got"
  sleep 1
done
got=$(in_topic)
printf '   log lines: %8d   audit lines written: %8d   in mytopic: %8s\n' "$LINES" "$AUDIT" "$got"

echo "== stopping the agent (SIGTERM)"
kill -TERM "$AGENT"; wait "$AGENT" || true
grep "Shutdown Metric" "$WORK/agent.log" | sed 's/^/   /'
if [ "${got:-0}" = "$AUDIT" ]; then
  echo "== done: all $AUDIT audit lines of $LINES log lines are in topic mytopic, none extra"
else
  echo "== MISMATCH: $AUDIT audit lines written, $got messages in mytopic" >&2
  exit 1
fi
