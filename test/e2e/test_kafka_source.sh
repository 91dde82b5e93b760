#!/usr/bin/env bash
# The seed's two-stage topology end to end, through the Kafka test broker:
#   agent A = conf/hive_log.conf (exec tail -F -> regex_filter -> memory -> kafka sink)
#   agent B = kafka source -> memory -> file_roll
# Run 1: one B agent; every audit line ends up in B's files exactly once.
# Run 2: two B agents in one consumer group share the topic's 4 partitions, and one of them is
# stopped (SIGTERM) and started again mid-run: every audit line arrives at least once across
# both agents' files; duplicates (batches in flight during a rebalance) are counted and printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BROKER="$SLUICE_BUILD_ROOT/test/kafka/kafka_broker"
LINES=${E2E_KAFKA_SOURCE_LINES:-100000}
LINES2=${E2E_KAFKA_SOURCE_LINES2:-120000}
BATCH=100

start_broker() {
  rm -f "$WORK/bootstrap"
  start_bg "$WORK/broker.out" "$BROKER" --topic mytopic:4 --port-file "$WORK/bootstrap"
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

# b_conf GROUP OUTDIR FILE: the second stage, written as a Flume user would
b_conf() {
  cat > "$3" <<CONF
b.sources = r1
b.channels = c1
b.sinks = k1
b.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
b.sources.r1.kafka.bootstrap.servers = $BOOTSTRAP
b.sources.r1.kafka.topics = mytopic
b.sources.r1.kafka.consumer.group.id = $1
b.sources.r1.kafka.consumer.auto.offset.reset = earliest
# the test broker (librdkafka's mock) waits up to the session timeout for a rebalance
b.sources.r1.kafka.consumer.session.timeout.ms = 6000
b.sources.r1.kafka.consumer.heartbeat.interval.ms = 1000
b.sources.r1.batchSize = $BATCH
b.sources.r1.channels = c1
b.channels.c1.type = memory
b.channels.c1.capacity = 10000
b.channels.c1.transactionCapacity = $BATCH
b.sinks.k1.type = file_roll
b.sinks.k1.channel = c1
b.sinks.k1.sink.directory = $2
b.sinks.k1.sink.rollInterval = 0
b.sinks.k1.sink.batchSize = $BATCH
CONF
}

start_agent() { # NAME CONF LOG: sets AGENT_PID
  start_bg "$3" "$SLUICE" agent -n "$1" -f "$2"
  AGENT_PID=$LAST_PID
  wait_until 15 grep -q "agent $1 started" "$3" || { cat "$3"; fail "agent $1 did not start"; }
}

# tally EXPECTED DIR...: missing / duplicates / extra lines of DIRs' files against EXPECTED
tally() {
  local expected=$1; shift
  /usr/bin/python3 - "$expected" "$@" <<'PY'
import collections, glob, sys
want = collections.Counter(open(sys.argv[1], "rb").read().split(b"\n")[:-1])
got = collections.Counter()
for d in sys.argv[2:]:
    for f in glob.glob(d + "/*"):
        got.update(open(f, "rb").read().split(b"\n")[:-1])
missing = sum(max(0, n - got[l]) for l, n in want.items())
dups = sum(max(0, n - want[l]) for l, n in got.items() if l in want)
extra = sum(n for l, n in got.items() if l not in want)
print(f"expected={sum(want.values())} received={sum(got.values())} missing={missing} "
      f"duplicates={dups} extra={extra}")
sys.exit(0 if missing == 0 and extra == 0 else 1)
PY
}
# lines_in DIR...: lines in the files of the directories, listed when called
lines_in() { local d; for d in "$@"; do cat "$d"/* 2>/dev/null; done | wc -l; }
have_lines() { local n=$1; shift; [ "$(lines_in "$@")" -ge "$n" ]; }

# ---- run 1: A -> Kafka -> one B, exactly once --------------------------------------------
start_broker
LOG="$WORK/hive.log"; : > "$LOG"
seed_conf "$LOG" "$WORK/a.conf"
b_conf sluice-b "$WORK/outB" "$WORK/b.conf"
"$SLUICE" check -n a1 -f "$WORK/a.conf" > "$WORK/check.txt" 2>&1 ||
  { cat "$WORK/check.txt"; fail "agent A's config does not pass check"; }
"$SLUICE" check -n b -f "$WORK/b.conf" > "$WORK/check.txt" 2>&1 ||
  { cat "$WORK/check.txt"; fail "agent B's config does not pass check"; }
start_agent b "$WORK/b.conf" "$WORK/b.log"; B=$AGENT_PID
start_agent a1 "$WORK/a.conf" "$WORK/a.log"; A=$AGENT_PID
sleep 0.5 # tail -F opens the file
"$GEN" --lines "$LINES" --rate 50000 --seed 11 --append --expected "$WORK/expected1.txt" \
  "$LOG" > /dev/null
AUDIT=$(wc -l < "$WORK/expected1.txt")
echo "run 1: $LINES lines written, $AUDIT audit lines"
wait_until 120 have_lines "$AUDIT" "$WORK/outB" ||
  fail "B wrote $(lines_in "$WORK/outB") of $AUDIT audit lines"
sleep 1 # anything extra (a duplicate) would show up now
stop_pid "$A" || fail "agent A exit status $?"
stop_pid "$B" || fail "agent B exit status $?"
echo -n "run 1: "
tally "$WORK/expected1.txt" "$WORK/outB" | tee "$WORK/tally1.txt" || fail "audit lines missing in B"
grep -q " duplicates=0 " "$WORK/tally1.txt" || fail "duplicates in a run without failures"
cmp -s <(sort "$WORK/expected1.txt") <(cat "$WORK"/outB/* | sort) ||
  fail "B's files differ from the audit lines"
[ "$(counter "$WORK/b.log" SOURCE r1 EventAcceptedCount)" = "$AUDIT" ] ||
  fail "B's source accepted $(counter "$WORK/b.log" SOURCE r1 EventAcceptedCount), not $AUDIT"
[ -n "$(counter "$WORK/b.log" SOURCE r1 KafkaCommitTimer)" ] || fail "no KafkaCommitTimer"
stop_pid "$BROKER_PID" || true

# ---- run 2: two B agents in one group, one restarted mid-run ------------------------------
start_broker
LOG2="$WORK/hive2.log"; : > "$LOG2"
seed_conf "$LOG2" "$WORK/a2.conf"
b_conf sluice-b2 "$WORK/outB1" "$WORK/b1.conf"
b_conf sluice-b2 "$WORK/outB2" "$WORK/b2.conf"
start_agent b "$WORK/b1.conf" "$WORK/b1.log"; B1=$AGENT_PID
start_agent b "$WORK/b2.conf" "$WORK/b2.log"; B2=$AGENT_PID
# both members hold partitions before the data comes
wait_until 30 grep -q "partitions assigned.*mytopic" "$WORK/b2.log" ||
  fail "the second B agent got no partitions"
start_agent a1 "$WORK/a2.conf" "$WORK/a2.log"; A=$AGENT_PID
sleep 0.5
start_bg "$WORK/gen2.out" "$GEN" --lines "$LINES2" --rate 15000 --seed 13 --append \
  --expected "$WORK/expected2.txt" "$LOG2"
GENPID=$LAST_PID
sleep 3
stop_pid "$B2" || fail "agent B2 exit status $? on SIGTERM"
echo "run 2: B2 stopped after 3 s, $(lines_in "$WORK/outB1" "$WORK/outB2") lines so far"
sleep 2
start_agent b "$WORK/b2.conf" "$WORK/b2b.log"; B2=$AGENT_PID
echo "run 2: B2 started again"
wait "$GENPID" || fail "generator failed"
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$GENPID" | tr '\n' ' ')
AUDIT2=$(wc -l < "$WORK/expected2.txt")
echo "run 2: $LINES2 lines written, $AUDIT2 audit lines"
all_arrived() { tally "$WORK/expected2.txt" "$WORK/outB1" "$WORK/outB2" > /dev/null; }
wait_until 180 have_lines "$AUDIT2" "$WORK/outB1" "$WORK/outB2" ||
  fail "B1 and B2 wrote $(lines_in "$WORK/outB1" "$WORK/outB2") of $AUDIT2 lines"
wait_until 60 all_arrived || true
sleep 2
stop_pid "$A" || fail "agent A exit status $?"
stop_pid "$B1" || fail "agent B1 exit status $?"
stop_pid "$B2" || fail "agent B2 exit status $?"
echo -n "run 2 (B2 restarted): "
tally "$WORK/expected2.txt" "$WORK/outB1" "$WORK/outB2" | tee "$WORK/tally2.txt" ||
  fail "audit lines missing after the restart"
DUPS=$(sed -n 's/.* duplicates=\([0-9]*\).*/\1/p' "$WORK/tally2.txt")
echo "run 2: B1 wrote $(lines_in "$WORK/outB1"), B2 wrote $(lines_in "$WORK/outB2"); $DUPS duplicate(s)"
# at most one batch per member for each of the four rebalances (join, leave, join, leave)
[ "$DUPS" -le $((4 * 2 * BATCH)) ] || fail "$DUPS duplicates: more than the batches in flight"
for f in b1.log b2.log b2b.log; do
  grep -q "Kafka source r1 stopped" "$WORK/$f" || fail "$f: the source did not stop cleanly"
done
echo "1 passed, 0 failed"
