# Shared helpers for the end-to-end tests: temp dirs, waiting on conditions with a deadline,
# starting and stopping processes by pid. Source it; set -eu is the caller's choice.
: "${SLUICE_BUILD_ROOT:?run through meson test}"
: "${SLUICE_SOURCE_ROOT:?run through meson test}"
SLUICE="$SLUICE_BUILD_ROOT/sluice"
GEN="$SLUICE_BUILD_ROOT/test/tools/gen_hive_log"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-e2e.XXXXXX")
PIDS=""
cleanup() {
  for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $PIDS; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds or time runs out
wait_until() {
  local secs=$1; shift
  local end=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
  while ! "$@" 2>/dev/null; do
    [ $(( $(date +%s%N) / 1000000 )) -lt $end ] || return 1
    sleep 0.1
  done
}

# start_bg LOGFILE COMMAND...: run in background, remember the pid in $LAST_PID
start_bg() {
  local log=$1; shift
  "$@" > "$log" 2>&1 &
  LAST_PID=$!
  PIDS="$PIDS $LAST_PID"
}

# stop_pid PID: SIGTERM, wait up to 30 s, return the exit status
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  local rc=0
  wait "$pid" || rc=$?
  PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ')
  return $rc
}

# counter LOGFILE TYPE NAME COUNTER: read a counter from the agent's shutdown metrics line
counter() {
  grep "Shutdown Metric for type: $2, name: $3\." "$1" | tail -n 1 |
    sed -n "s/.*$4 == \([0-9]*\).*/\1/p"
}

lines_in_dir() { cat "$1"/* 2>/dev/null | wc -l; }

# metric PORT COMPONENT ATTRIBUTE: one value from the agent's /metrics JSON
metric() {
  curl -sf "http://127.0.0.1:$1/metrics" |
    /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('$2',{}).get('$3',''))"
}
metric_is() { [ "$(metric "$1" "$2" "$3")" = "$4" ]; }
