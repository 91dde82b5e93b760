#!/usr/bin/env bash
# The seed pipeline end to end with conf/hive_log.conf itself (broker address and log path
# substituted): exec tail -F -> regex_filter -> memory -> kafka sink -> the Kafka test broker.
# Run 1: E2E_KAFKA_LINES (default 1,000,000) generated lines; every audit line is in the topic
# exactly once, in file order within a partition, no other line; the agent's counters agree.
# Run 2: the broker goes down for 10 s in the middle of a paced run and comes back on the same
# port; every audit line still arrives (at least once), and the duplicates are counted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BROKER="$SLUICE_BUILD_ROOT/test/kafka/kafka_broker"
COUNT="$SLUICE_BUILD_ROOT/test/kafka/kafka_count"
VERIFY="$(dirname "$0")/verify_kafka.py"
LINES=${E2E_KAFKA_LINES:-1000000}

start_broker() {
  start_bg "$WORK/broker.out" "$BROKER" --topic "mytopic:${PARTITIONS:-4}" --port-file "$WORK/bootstrap"
  BROKER_PID=$LAST_PID
  wait_until 10 test -s "$WORK/bootstrap" || fail "broker did not start"
  BOOTSTRAP=$(cat "$WORK/bootstrap")
}

# seed_conf LOG OUT: conf/hive_log.conf with the broker and the log path substituted
seed_conf() {
  sed -e "s|^a1.sinks.k1.brokerList = .*|a1.sinks.k1.brokerList = $BOOTSTRAP|" \
      -e "s|/var/log/hive/hadoop-cmf-hive1-HIVEMETASTORE-master.log.out|$1|" \
      "$SLUICE_SOURCE_ROOT/conf/hive_log.conf" > "$2"
}

start_agent() { # CONF LOG
  start_bg "$2" "$SLUICE" agent -n a1 -f "$1" -Dflume.monitoring.type=http \
    -Dflume.monitoring.port=0 -Dflume.monitoring.bind=127.0.0.1
  AGENT=$LAST_PID
  wait_until 15 grep -q "agent a1 started" "$2" || { cat "$2"; fail "agent did not start"; }
  PORT=$(sed -n 's/.*Monitoring server listening on port \([0-9]*\).*/\1/p' "$2")
}

# ---- run 1: a million lines, exactly once, in order -------------------------------------
# 16 partitions: the following consumer may lag the sink (batches in flight, a slow sanitizer
# build) by 16 x 5 MB before the mock broker drops what it has not read
PARTITIONS=16 start_broker
LOG="$WORK/hive.log"; : > "$LOG"
seed_conf "$LOG" "$WORK/seed.conf"
"$SLUICE" check -n a1 -f "$WORK/seed.conf" > /dev/null || fail "seed config does not pass check"
# the consumer follows the run (the mock broker keeps only the newest 5 MB per partition)
start_bg "$WORK/dump1.err" sh -c "exec '$COUNT' --bootstrap '$BOOTSTRAP' --topic mytopic dump \
  --from-beginning --with-partition --timeout-ms 120000 > '$WORK/dump1.txt'"
DUMP=$LAST_PID
start_agent "$WORK/seed.conf" "$WORK/agent1.log"
sleep 0.5 # tail -F opens the file
# paced so the following consumer stays within the mock broker's 5 MB per partition
"$GEN" --lines "$LINES" --rate "${E2E_KAFKA_RATE:-100000}" --seed 3 --append \
  --expected "$WORK/expected1.txt" "$LOG" > /dev/null
AUDIT=$(wc -l < "$WORK/expected1.txt")
echo "run 1: $LINES lines written, $AUDIT audit lines"
"$COUNT" --bootstrap "$BOOTSTRAP" --topic mytopic wait --total "$AUDIT" --timeout-ms 240000 ||
  fail "the topic has $("$COUNT" --bootstrap "$BOOTSTRAP" --topic mytopic watermarks | tail -1), expected $AUDIT"
wait_until 30 metric_is "$PORT" SINK.k1 EventDrainSuccessCount "$AUDIT" ||
  fail "sink counter $(metric "$PORT" SINK.k1 EventDrainSuccessCount) != $AUDIT"
metric_is "$PORT" SOURCE.r1 EventReceivedCount "$LINES" || fail "source counter"
metric_is "$PORT" CHANNEL.c1 EventPutSuccessCount "$AUDIT" || fail "channel put counter"
metric_is "$PORT" CHANNEL.c1 EventTakeSuccessCount "$AUDIT" || fail "channel take counter"
RB=$(metric "$PORT" SINK.k1 RollbackCount)
[ "${RB:-0}" = 0 ] || fail "$RB rollbacks in a clean run"
stop_pid "$AGENT" || fail "agent exit status $?"
wait_until 60 sh -c "[ \$(wc -l < '$WORK/dump1.txt') -ge $AUDIT ]" || fail "consumer read $(wc -l < "$WORK/dump1.txt") of $AUDIT"
sleep 1
stop_pid "$DUMP" || true
"$COUNT" --bootstrap "$BOOTSTRAP" --topic mytopic watermarks | tail -1 | grep -qx "total=$AUDIT" ||
  fail "watermark total is not $AUDIT (duplicates?)"
"$VERIFY" "$WORK/expected1.txt" "$WORK/dump1.txt" || fail "topic content differs from the audit lines"
stop_pid "$BROKER_PID" || true
rm -f "$WORK/bootstrap"

# ---- run 2: the broker goes away for 10 s ----------------------------------------------
# 8 partitions: the consumer is cut off during the outage too and may resume late, so the whole
# run must fit the mock's 5 MB per partition
PARTITIONS=8 start_broker
LOG2="$WORK/hive2.log"; : > "$LOG2"
seed_conf "$LOG2" "$WORK/seed2.conf"
start_bg "$WORK/dump2.err" sh -c "exec '$COUNT' --bootstrap '$BOOTSTRAP' --topic mytopic dump \
  --from-beginning --with-partition --timeout-ms 120000 > '$WORK/dump2.txt'"
DUMP=$LAST_PID
start_agent "$WORK/seed2.conf" "$WORK/agent2.log"
sleep 0.5
LINES2=${E2E_OUTAGE_LINES:-200000}
start_bg "$WORK/gen2.out" "$GEN" --lines "$LINES2" --rate 20000 --seed 5 --append \
  --expected "$WORK/expected2.txt" "$LOG2"
GENPID=$LAST_PID
sleep 3
kill -USR1 "$BROKER_PID"; echo "run 2: broker down"
sleep 10
kill -USR2 "$BROKER_PID"; echo "run 2: broker up again"
wait "$GENPID" || fail "generator failed"
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$GENPID" | tr '\n' ' ')
AUDIT2=$(wc -l < "$WORK/expected2.txt")
"$COUNT" --bootstrap "$BOOTSTRAP" --topic mytopic wait --total "$AUDIT2" --timeout-ms 240000 ||
  fail "after the outage the topic has fewer than $AUDIT2 messages"
wait_until 60 sh -c "[ \$(wc -l < '$WORK/dump2.txt') -ge $AUDIT2 ]" || fail "consumer fell behind"
wait_until 30 metric_is "$PORT" CHANNEL.c1 ChannelSize 0 || fail "channel did not drain"
stop_pid "$AGENT" || fail "agent exit status $?"
sleep 2
stop_pid "$DUMP" || true
echo -n "run 2 (10 s outage): "
"$VERIFY" "$WORK/expected2.txt" "$WORK/dump2.txt" --allow-duplicates ||
  fail "audit lines missing after the outage"
echo "1 passed, 0 failed"
