#!/usr/bin/env bash
# The kafka source's configuration as `sluice check` sees it: the defaults as Flume has them
# (batchSize 1000 is larger than the memory channel's default transactionCapacity 100, so the
# source is dropped: exit 1 with the message), Flume's legacy names (topic, groupId) translated
# with a warning, keys sluice cannot honour (zookeeperConnect, migrateZookeeperOffsets) noted,
# a missing kafka.bootstrap.servers named. Needs no broker: check never connects.
set -euo pipefail
: "${SLUICE_BUILD_ROOT:?run through meson test}"
SLUICE="$SLUICE_BUILD_ROOT/sluice"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

base() { # AGENT FILE: a kafka source feeding a default memory channel and a null sink
  cat > "$2" <<CONF
$1.sources = r1
$1.channels = c1
$1.sinks = k1
$1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
$1.sources.r1.channels = c1
$1.channels.c1.type = memory
$1.sinks.k1.type = null
$1.sinks.k1.channel = c1
CONF
}

# check FILE EXPECTED_STATUS: run sluice check, output in $work/out.txt
check() {
  local rc=0
  "$SLUICE" check -n a1 -f "$1" > "$work/out.txt" 2>&1 || rc=$?
  [ "$rc" = "$2" ] || { cat "$work/out.txt"; fail "$1: check exit status $rc, expected $2"; }
}
expect() { grep -qF -- "$1" "$work/out.txt" || { cat "$work/out.txt"; fail "no '$1' in the output"; }; }

# 1. Flume's defaults: batchSize 1000 > transactionCapacity 100 drops the source
base a1 "$work/default.conf"
cat >> "$work/default.conf" <<'CONF'
a1.sources.r1.kafka.bootstrap.servers = 127.0.0.1:9092
a1.sources.r1.kafka.topics = mytopic
CONF
check "$work/default.conf" 1
expect "batch size 1000 is larger than the transactionCapacity 100 of channel 'c1'"
expect "source r1 has been removed"
expect "(default batchSize)"

# 2. a batch that fits, legacy names, unsupported keys, pass-through keys: runs (exit 0)
base a1 "$work/legacy.conf"
cat >> "$work/legacy.conf" <<'CONF'
a1.sources.r1.kafka.bootstrap.servers = 127.0.0.1:9092
a1.sources.r1.topic = mytopic
a1.sources.r1.groupId = old-group
a1.sources.r1.batchSize = 100
a1.sources.r1.zookeeperConnect = zk:2181
a1.sources.r1.migrateZookeeperOffsets = false
a1.sources.r1.maxBackoffSleep = 2000
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
a1.sources.r1.header.trace = X-Trace
CONF
check "$work/legacy.conf" 0
expect "a1.sources.r1.topic is deprecated. Please use the parameter kafka.topics"
expect "a1.sources.r1.groupId is deprecated. Please use the parameter kafka.consumer.group.id"
expect "a1.sources.r1.zookeeperConnect is accepted and ignored: Brokers cannot be found through ZooKeeper"
expect "a1.sources.r1.migrateZookeeperOffsets is accepted and ignored"
expect "a1.sources.r1.maxBackoffSleep is accepted and ignored"

# 3. no brokers: the source is dropped, naming the key
base a1 "$work/nobrokers.conf"
cat >> "$work/nobrokers.conf" <<'CONF'
a1.sources.r1.zookeeperConnect = zk:2181
a1.sources.r1.kafka.topics = mytopic
a1.sources.r1.batchSize = 100
CONF
check "$work/nobrokers.conf" 1
expect "source r1: required key 'kafka.bootstrap.servers' is missing; source r1 has been removed"

# 4. a value of the wrong type names file:line and key
base a1 "$work/badnum.conf"
cat >> "$work/badnum.conf" <<'CONF'
a1.sources.r1.kafka.bootstrap.servers = 127.0.0.1:9092
a1.sources.r1.kafka.topics = mytopic
a1.sources.r1.batchSize = 100
a1.sources.r1.batchDurationMillis = soon
CONF
check "$work/badnum.conf" 1
expect "badnum.conf:12: a1.sources.r1.batchDurationMillis: 'soon' is not a whole number"

echo "kafka source check: ok"
