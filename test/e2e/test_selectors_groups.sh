#!/usr/bin/env bash
# Channel selectors and sink groups with real components: a load_balancing selector spreads
# events over two channels (each gets half, together all); a failover group sends everything
# to its backup sink while the preferred Kafka sink cannot reach a broker; a load_balance group
# splits the work over two sinks; nothing is lost or duplicated in any of them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WORK"

run_agent() { # CONF LOG EXPECTED_LINES OUTDIRS...
  local conf=$1 log=$2 want=$3; shift 3
  start_bg "$log" "$SLUICE" agent -n a1 -f "$conf"
  local pid=$LAST_PID
  local files=(); for d in "$@"; do files+=("$d"/*); done
  wait_until 60 bash -c "[ \$(cat $(printf '%q/* ' "$@") 2>/dev/null | wc -l) -ge $want ]" ||
    { cat "$log"; fail "$conf: only $(cat "${files[@]}" 2>/dev/null | wc -l) of $want lines arrived"; }
  stop_pid "$pid" || fail "$conf: agent exit status $?"
}

# ---- load_balancing channel selector (round robin): c1 and c2 get one event in two each
cat > lbsel.conf <<CONF
a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sources.r1.type = exec
a1.sources.r1.command = seq 1 1000
a1.sources.r1.channels = c1 c2
a1.sources.r1.selector.type = load_balancing
a1.channels.c1.type = memory
a1.channels.c2.type = memory
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = $WORK/lb1
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.channel = c1
a1.sinks.k2.type = file_roll
a1.sinks.k2.sink.directory = $WORK/lb2
a1.sinks.k2.sink.rollInterval = 0
a1.sinks.k2.channel = c2
CONF
"$SLUICE" check -n a1 -f lbsel.conf > /dev/null || fail "lbsel.conf does not pass check"
run_agent lbsel.conf lbsel.log 1000 lb1 lb2
[ "$(cat lb1/* | wc -l)" = 500 ] && [ "$(cat lb2/* | wc -l)" = 500 ] ||
  fail "round robin split $(cat lb1/* | wc -l)/$(cat lb2/* | wc -l), expected 500/500"
[ "$(cat lb1/* lb2/* | sort -n | uniq | wc -l)" = 1000 ] || fail "load_balancing lost or duplicated"
echo "load_balancing selector: 500 + 500 of 1000"

# ---- replicating with an optional channel: both channels get everything
cat > rep.conf <<CONF
a1.sources = r1
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sources.r1.type = exec
a1.sources.r1.command = seq 1 500
a1.sources.r1.channels = c1 c2
a1.sources.r1.selector.type = replicating
a1.sources.r1.selector.optional = c2
a1.channels.c1.type = memory
a1.channels.c2.type = memory
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = $WORK/rep1
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.channel = c1
a1.sinks.k2.type = file_roll
a1.sinks.k2.sink.directory = $WORK/rep2
a1.sinks.k2.sink.rollInterval = 0
a1.sinks.k2.channel = c2
CONF
run_agent rep.conf rep.log 1000 rep1 rep2
cmp -s <(cat rep1/*) <(seq 1 500) && cmp -s <(cat rep2/*) <(seq 1 500) ||
  fail "replicating: each channel should hold 1..500 in order"
echo "replicating selector: both channels got 1..500"

# ---- failover group: the preferred sink (Kafka, no broker) fails, the backup gets it all
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > failover.conf <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2
a1.sinkgroups = g1
a1.sources.r1.type = exec
a1.sources.r1.command = seq 1 300
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.k1.kafka.bootstrap.servers = 127.0.0.1:$PORT
a1.sinks.k1.kafka.topic = nowhere
a1.sinks.k1.kafka.producer.message.timeout.ms = 300
a1.sinks.k1.channel = c1
a1.sinks.k2.type = file_roll
a1.sinks.k2.sink.directory = $WORK/fo
a1.sinks.k2.sink.rollInterval = 0
a1.sinks.k2.channel = c1
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 10
a1.sinkgroups.g1.processor.priority.k2 = 5
a1.sinkgroups.g1.processor.maxpenalty = 10000
CONF
"$SLUICE" check -n a1 -f failover.conf > /dev/null || fail "failover.conf does not pass check"
run_agent failover.conf failover.log 300 fo
cmp -s <(sort -n fo/*) <(seq 1 300) || fail "failover: the backup sink does not hold exactly 1..300"
grep -q "Sink k1 failed and has been sent to failover list" failover.log || fail "no failover logged"
echo "failover group: backup sink got 1..300 while k1 had no broker"

# ---- load_balance group over two sinks of one channel
cat > lbgroup.conf <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2
a1.sinkgroups = g1
a1.sources.r1.type = exec
a1.sources.r1.command = seq 1 2000
a1.sources.r1.batchSize = 10
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = $WORK/g1
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 10
a1.sinks.k1.channel = c1
a1.sinks.k2.type = file_roll
a1.sinks.k2.sink.directory = $WORK/g2
a1.sinks.k2.sink.rollInterval = 0
a1.sinks.k2.sink.batchSize = 10
a1.sinks.k2.channel = c1
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = load_balance
a1.sinkgroups.g1.processor.selector = round_robin
a1.sinkgroups.g1.processor.backoff = true
CONF
run_agent lbgroup.conf lbgroup.log 2000 g1 g2
[ "$(cat g1/* | wc -l)" -gt 0 ] && [ "$(cat g2/* | wc -l)" -gt 0 ] || fail "load_balance used one sink only"
cmp -s <(cat g1/* g2/* | sort -n) <(seq 1 2000) || fail "load_balance lost or duplicated events"
echo "load_balance group: $(cat g1/* | wc -l) + $(cat g2/* | wc -l) of 2000"

# ---- a group of two sinks without processor.type refuses to start
sed '/processor/d' lbgroup.conf > notype.conf
rc=0; "$SLUICE" check -n a1 -f notype.conf > /dev/null 2> notype.err || rc=$?
[ $rc = 2 ] && grep -q "uses the default processor, which runs exactly one sink" notype.err ||
  fail "group without processor.type: rc=$rc $(cat notype.err)"
echo "1 passed, 0 failed"
