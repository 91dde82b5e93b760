#!/usr/bin/env bash
# Checks the Kafka test broker and kafka_count against an independent producer (kcat): 10,000
# lines arrive exactly once and in order per partition, and a produce made while the brokers
# are down (SIGUSR1, python3-kafka producer) is delivered once they are up again (SIGUSR2) on the same port.
# usage: test_broker.sh KAFKA_BROKER KAFKA_COUNT
set -euo pipefail
broker_exe=$1 count_exe=$2
work=$(mktemp -d)
broker_pid='' py_pid=''
cleanup() {
    [ -n "$py_pid" ] && kill "$py_pid" 2>/dev/null || true
    if [ -n "$broker_pid" ]; then
        kill -TERM "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
/usr/bin/python3 -c "import kafka" 2>/dev/null ||
    fail "Debian's python3-kafka is not installed (test/setup-debian.sh installs it)"

# wait_for FILE PATTERN SECONDS: a line matching PATTERN appears in FILE
wait_for() {
    local deadline=$((SECONDS + $3))
    until grep -q "$2" "$1" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "no '$2' in $1 after $3 s: $(cat "$1" 2>/dev/null)"
        sleep 0.05
    done
}

"$broker_exe" --topic t3:3 --topic t1:1 --port-file "$work/port" >"$work/broker.out" \
    2>"$work/broker.err" &
broker_pid=$!
wait_for "$work/broker.out" '^bootstrap=' 10
bootstrap=$(sed -n 's/^bootstrap=//p' "$work/broker.out")
[ "$(cat "$work/port")" = "$bootstrap" ] || fail "port file differs from stdout"
echo "broker at $bootstrap"

# Usage errors give exit code 2 and a message.
set +e
"$count_exe" --topic t3 watermarks 2>"$work/usage.err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q 'required' "$work/usage.err" || fail "usage error: rc=$rc"

# An empty topic counts 0.
"$count_exe" --bootstrap "$bootstrap" --topic t3 watermarks >"$work/wm0"
grep -qx 'total=0' "$work/wm0" || fail "empty topic: $(cat "$work/wm0")"

# 10,000 lines through kcat, counted by watermarks and read back by dump.
seq -f 'line-%05g' 1 10000 >"$work/in"
kcat -P -b "$bootstrap" -t t3 -X linger.ms=5 <"$work/in"
"$count_exe" --bootstrap "$bootstrap" --topic t3 wait --total 10000 --timeout-ms 20000 >/dev/null
"$count_exe" --bootstrap "$bootstrap" --topic t3 watermarks >"$work/wm1"
grep -qx 'total=10000' "$work/wm1" || fail "watermarks: $(cat "$work/wm1")"
[ "$(grep -c '^partition=' "$work/wm1")" -eq 3 ] || fail "expected 3 partitions"

"$count_exe" --bootstrap "$bootstrap" --topic t3 dump --from-beginning --with-partition \
    --until-total 10000 --timeout-ms 10000 >"$work/dump"
[ "$(wc -l <"$work/dump")" -eq 10000 ] || fail "dump has $(wc -l <"$work/dump") lines"
cut -f3 "$work/dump" | sort | cmp -s - "$work/in" || fail "dump differs from what was produced"
for p in 0 1 2; do
    awk -F'\t' -v p=$p '$1 == p { print $3 }' "$work/dump" >"$work/p$p"
    sort -c "$work/p$p" || fail "partition $p out of order"
    awk -F'\t' -v p=$p '$1 == p { if ($2 != n++) exit 1 }' "$work/dump" ||
        fail "partition $p offsets are not 0,1,2,..."
done

# An idle dump with --until-total that is never reached times out with exit code 1.
set +e
"$count_exe" --bootstrap "$bootstrap" --topic t3 dump --from-beginning --until-total 10001 \
    --timeout-ms 1000 >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 1 ] || fail "dump past the end: exit $rc, expected 1"

# Brokers down: the topic cannot be read; a produce waits and lands once they are up.
kill -USR1 "$broker_pid"
wait_for "$work/broker.out" '^brokers=down' 10
set +e
"$count_exe" --bootstrap "$bootstrap" --topic t1 watermarks --timeout-ms 1500 \
    >/dev/null 2>&1; rc=$?
set -e
[ $rc -ne 0 ] || fail "watermarks succeeded while the brokers were down"
# kcat gives up when every broker is down, so this producer is python3-kafka (Debian's
# package): it keeps retrying until max_block_ms and reports the delivery it waited for.
/usr/bin/python3 - "$bootstrap" t1 during-outage >"$work/py.out" 2>"$work/py.err" <<'PY' &
import logging, sys
from kafka import KafkaProducer
logging.basicConfig(level=logging.WARNING)
p = KafkaProducer(bootstrap_servers=sys.argv[1], api_version=(2, 0, 0), max_block_ms=60000)
m = p.send(sys.argv[2], sys.argv[3].encode()).get(timeout=60)
print("delivered", m.partition, m.offset)
p.close()
PY
py_pid=$!
# Wait until it has really tried and failed against the downed broker.
wait_for "$work/py.err" 'returned error 111' 15
kill -USR2 "$broker_pid"
wait_for "$work/broker.out" '^brokers=up' 10
"$count_exe" --bootstrap "$bootstrap" --topic t1 wait --total 1 --timeout-ms 30000 >/dev/null ||
    fail "the produce made during the outage never arrived"
wait "$py_pid" || fail "producer failed: $(cat "$work/py.err")"
py_pid=''
grep -qx 'delivered 0 0' "$work/py.out" || fail "producer: $(cat "$work/py.out")"
"$count_exe" --bootstrap "$bootstrap" --topic t1 dump --from-beginning --until-total 1 \
    --timeout-ms 5000 >"$work/t1"
[ "$(cat "$work/t1")" = during-outage ] || fail "t1 holds: $(cat "$work/t1")"
"$count_exe" --bootstrap "$bootstrap" --topic t1 watermarks | grep -qx 'total=1' ||
    fail "duplicate after the outage"
# The data held before the outage survived it.
"$count_exe" --bootstrap "$bootstrap" --topic t3 watermarks | grep -qx 'total=10000' ||
    fail "t3 lost data over the outage"

kill -TERM "$broker_pid"
wait "$broker_pid" || fail "broker exited with $?"
broker_pid=''
[ ! -e "$work/port" ] || fail "port file left behind"
echo "ok"
