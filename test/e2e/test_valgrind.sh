#!/usr/bin/env bash
# The agent under valgrind (issue 5, "lose nothing"): seq and exec sources, a regex_filter
# interceptor, memory and file channels, null, logger and file_roll sinks, run until the events
# are through and stopped with SIGTERM. valgrind must report no memory error and no definite or
# indirect leak (still-reachable blocks of libraries, e.g. librdkafka's globals, do not count).
# PCRE2 JIT code is suppressed (test/valgrind.supp). Run twice: with the event pool off (every event a plain malloc, so misuse is seen) and on (so
# what the pool keeps is seen). Skipped (77) without valgrind or on a sanitizer build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v valgrind > /dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
if grep -q '__asan_init\|__ubsan_handle\|__tsan_init' "$SLUICE"; then
  echo "SKIP: $SLUICE is a sanitizer build; valgrind needs a plain one"
  exit 77
fi

run() { # NAME SLUICE_EVENT_POOL
  local name=$1 dir=$WORK/$1
  mkdir -p "$dir/out" "$dir/ck" "$dir/data"
  cat > "$dir/agent.conf" <<CONF
a1.sources = s1 s2
a1.channels = mem fc
a1.sinks = knull klog kroll
a1.sources.s1.type = seq
a1.sources.s1.totalEvents = 3000
a1.sources.s1.batchSize = 50
a1.sources.s1.channels = mem fc
a1.sources.s1.interceptors = f
a1.sources.s1.interceptors.f.type = regex_filter
a1.sources.s1.interceptors.f.regex = [05]\$
a1.sources.s2.type = exec
a1.sources.s2.command = seq 1 300
a1.sources.s2.batchSize = 7
a1.sources.s2.channels = mem
a1.channels.mem.type = memory
a1.channels.mem.capacity = 10000
a1.channels.mem.transactionCapacity = 100
a1.channels.fc.type = file
a1.channels.fc.checkpointDir = $dir/ck
a1.channels.fc.dataDirs = $dir/data
a1.channels.fc.transactionCapacity = 100
a1.sinks.knull.type = null
a1.sinks.knull.channel = mem
a1.sinks.klog.type = logger
a1.sinks.klog.channel = mem
a1.sinks.kroll.type = file_roll
a1.sinks.kroll.sink.directory = $dir/out
a1.sinks.kroll.sink.rollInterval = 0
a1.sinks.kroll.channel = fc
CONF
  start_bg "$dir/agent.log" env SLUICE_EVENT_POOL="$2" valgrind --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --error-exitcode=99 --child-silent-after-fork=yes --num-callers=30 \
    --suppressions="$SLUICE_SOURCE_ROOT/test/valgrind.supp" \
    --log-file="$dir/valgrind.log" "$SLUICE" agent -n a1 -f "$dir/agent.conf"
  local pid=$LAST_PID
  wait_until 120 grep -q "agent a1 started" "$dir/agent.log" ||
    { cat "$dir/agent.log" "$dir/valgrind.log"; fail "$name: agent did not start under valgrind"; }
  # 600 of the 3000 seq events pass the filter into the file channel and out to file_roll
  out_done() { [ "$(lines_in_dir "$dir/out")" -ge 600 ]; }
  wait_until 180 out_done || fail "$name: only $(lines_in_dir "$dir/out") of 600 events arrived"
  wait_until 60 grep -q "Command \[seq 1 300\] exited with 0" "$dir/agent.log" ||
    fail "$name: the exec source's command did not finish"
  sleep 1
  local rc=0
  stop_pid "$pid" || rc=$?
  grep -q "ERROR SUMMARY" "$dir/valgrind.log" || { cat "$dir/valgrind.log"; fail "$name: no valgrind summary"; }
  if [ "$rc" != 0 ] || ! grep -q "ERROR SUMMARY: 0 errors" "$dir/valgrind.log"; then
    cat "$dir/valgrind.log"
    fail "$name: valgrind found errors or leaks (agent exit status $rc)"
  fi
  [ "$(lines_in_dir "$dir/out")" = 600 ] || fail "$name: $(lines_in_dir "$dir/out") events, want 600"
  echo "ok: $name: $(grep -E 'definitely lost|indirectly lost|ERROR SUMMARY' "$dir/valgrind.log" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
}

run pool_off 0
run pool_on 1
echo PASS
