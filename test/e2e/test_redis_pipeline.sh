#!/usr/bin/env bash
# The seed's second half end to end: exec tail -F -> regex_filter -> memory -> redis sink with
# the issue's regex (groupBy 2 = client IP), on a generated Hive log, against a real
# redis-server started here on a free loopback port (killed by pid). Counts in Redis are
# compared with counts computed independently from the log (redis_expected.py):
#   run 1 mode hincrby, time event: every <key>:<window start> hash, per IP, exactly;
#   run 2 mode seed, time event: every closed window's {ip:n,...} text exactly, and the
#         staged counts of every window (the last one stays open);
#   run 3 mode seed, time processing (2 s windows): windows close while idle; per-IP totals;
#   run 4 as run 2 while redis-server is SIGKILLed and restarted on the same port
#         (--appendonly yes --appendfsync always): still exact.
# The agent and the expected counts both run in Europe/Berlin local time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
EXPECT="$(dirname "$0")/redis_expected.py"
LINES=${E2E_REDIS_LINES:-200000}
export TZ=Europe/Berlin
REGEX='(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},\\d{3}).*ip=\\/(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}).*tbl=([a-zA-Z0-9_]+)'

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis PORT DIR [redis options...]: redis-server in the background, $REDIS_PID
start_redis() {
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  start_bg "$dir/redis.out" redis-server --port "$port" --bind 127.0.0.1 --save '' \
    --dir "$dir" "$@"
  REDIS_PID=$LAST_PID
  wait_until 10 redis-cli -p "$port" ping > /dev/null || fail "redis-server did not start on $port"
}

kill_redis() {
  kill -KILL "$REDIS_PID"
  wait "$REDIS_PID" 2> /dev/null || true
  PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$REDIS_PID" | tr '\n' ' ')
}

rcli() { redis-cli -p "$RPORT" --raw "$@"; }

# dump_hashes PATTERN: "<window> <field> <value>" for every hash whose key matches PATTERN,
# <window> being the key's last ':' part, sorted
dump_hashes() {
  rcli EVAL "local out = {}
    for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
      local h = redis.call('HGETALL', k)
      local w = string.match(k, '([^:]+)\$')
      for i = 1, #h, 2 do out[#out + 1] = w .. ' ' .. h[i] .. ' ' .. h[i + 1] end
    end
    return out" 0 "$1" | sort
}

# sum_hashes PATTERN: total of every count in the matching hashes
sum_hashes() {
  rcli EVAL "local n = 0
    for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
      for _, v in ipairs(redis.call('HVALS', k)) do n = n + tonumber(v) end
    end
    return n" 0 "$1"
}

sum_is() { [ "$(sum_hashes "$1")" = "$2" ]; }     # PATTERN N
sum_over() { [ "$(sum_hashes "$1")" -gt "$2" ]; }  # PATTERN N

# write_conf FILE KEY MODE TIME WINDOW
write_conf() {
  cat > "$1" <<CONF
a1.sources = r1
a1.sinks = k1
a1.channels = c1
a1.sources.r1.type = exec
a1.sources.r1.command = tail -F $LOG
a1.sources.r1.channels = c1
a1.sources.r1.batchSize = 100
a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = regex_filter
a1.sources.r1.interceptors.i1.regex = .*HiveMetaStore\\\\.audit.*
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = redis
a1.sinks.k1.channel = c1
a1.sinks.k1.redis.port = $RPORT
a1.sinks.k1.redis.timeout = 500
a1.sinks.k1.regex = $REGEX
a1.sinks.k1.groupBy = 2
a1.sinks.k1.timeGroup = 1
a1.sinks.k1.time = $4
a1.sinks.k1.window = $5
a1.sinks.k1.mode = $3
a1.sinks.k1.key = $2
a1.sinks.k1.batchSize = 1000
CONF
  [ "$4" = event ] || sed -i '/timeGroup/d' "$1"
  "$SLUICE" check -n a1 -f "$1" > "$WORK/check.out" 2>&1 || { cat "$WORK/check.out"; fail "check rejected $1"; }
}

start_agent() { # CONF LOG
  start_bg "$2" "$SLUICE" agent -n a1 -f "$1"
  AGENT=$LAST_PID
  wait_until 15 grep -q "agent a1 started" "$2" || { cat "$2"; fail "agent did not start"; }
  sleep 0.5 # tail -F opens the file
}

# generate SEED [gen options]: a fresh log appended while the agent tails it; $AUDIT
generate() {
  local seed=$1; shift
  rm -f "$WORK/audit.txt" # --append appends to the --expected file too
  "$GEN" --lines "$LINES" --seed "$seed" --expected "$WORK/audit.txt" "$@" --append "$LOG" > /dev/null
  AUDIT=$(wc -l < "$WORK/audit.txt")
  [ "$AUDIT" -gt 0 ] || fail "no audit lines generated"
  [ "$("$EXPECT" "$LOG" 15 total | awk '{n += $2} END {print n}')" = "$AUDIT" ] ||
    fail "the regex does not match every audit line"
}

stop_agent() { # LOG
  stop_pid "$AGENT" || fail "agent exited with status $?"
  if grep -q "EventUnmatchedCount\|EventLateCount" "$1"; then
    grep "Shutdown Metric.*SINK" "$1"; fail "events were not counted"
  fi
}

# check_event_time KEY MODE: Redis holds exactly the independent per-window, per-IP counts
check_event_time() {
  local key=$1 mode=$2
  "$EXPECT" "$LOG" 15 hincrby > "$WORK/want_h.txt"
  if [ "$mode" = hincrby ]; then
    dump_hashes "$key:[0-9]*" > "$WORK/got_h.txt"
  else
    dump_hashes "$key:sluice:stage:*" > "$WORK/got_h.txt"
  fi
  if ! cmp -s "$WORK/want_h.txt" "$WORK/got_h.txt"; then
    diff "$WORK/want_h.txt" "$WORK/got_h.txt" | head; fail "$key: per-window counts differ"
  fi
  echo "  $(wc -l < "$WORK/want_h.txt") (window, ip) counts equal the log's"
  if [ "$mode" = seed ]; then
    # every window but the newest is closed: HSET key <end> {ip:n,...}
    "$EXPECT" "$LOG" 15 seed | sed '$d' > "$WORK/want_s.txt"
    rcli HGETALL "$key" | paste -d' ' - - | sort > "$WORK/got_s.txt"
    if ! cmp -s "$WORK/want_s.txt" "$WORK/got_s.txt"; then
      diff "$WORK/want_s.txt" "$WORK/got_s.txt" | head; fail "$key: seed hash differs"
    fi
    [ "$(rcli ZCARD "$key:sluice:open")" = 1 ] || fail "$key: not exactly one window open"
    echo "  $(wc -l < "$WORK/want_s.txt") closed windows equal the log's, the newest is staged"
  fi
}

RPORT=$(free_port)
start_redis "$RPORT" "$WORK/redis" --appendonly no
LOG="$WORK/hive.log"

# ---- runs 1 and 2: event time, both modes -------------------------------------------------
run=1
for mode in hincrby seed; do
  key="hsip_$mode"
  : > "$LOG"
  write_conf "$WORK/$mode.conf" "$key" "$mode" event 15s
  start_agent "$WORK/$mode.conf" "$WORK/agent_$mode.log"
  generate $((6 + run))
  pattern="$key:[0-9]*"; [ "$mode" = seed ] && pattern="$key:sluice:stage:*"
  wait_until 120 sum_is "$pattern" "$AUDIT" ||
    fail "run $run: $(sum_hashes "$pattern") of $AUDIT counted"
  sleep 0.5 # anything counted twice would show now
  stop_agent "$WORK/agent_$mode.log"
  echo "run $run: mode $mode, time event: $AUDIT audit lines of $LINES"
  check_event_time "$key" "$mode"
  run=$((run + 1))
done

# ---- run 3: processing time, windows close while the agent is idle ---------------------------
: > "$LOG"
write_conf "$WORK/proc.conf" hsip_p seed processing 2s
start_agent "$WORK/proc.conf" "$WORK/agent_proc.log"
generate 9 --rate 50000 # about 4 s: several windows
"$EXPECT" "$LOG" 15 total > "$WORK/want_t.txt"
closed_total() {
  rcli HVALS hsip_p | tr -d '{}' | tr ',' '\n' | awk -F: 'NF == 2 {n += $2} END {print n + 0}'
}
closed_all() { [ "$(closed_total)" = "$AUDIT" ]; }
wait_until 60 closed_all ||
  fail "run 3: $(closed_total) of $AUDIT in closed windows"
[ "$(rcli ZCARD hsip_p:sluice:open)" = 0 ] || fail "run 3: windows left open"
rcli HVALS hsip_p | tr -d '{}' | tr ',' '\n' |
  awk -F: 'NF == 2 {n[$1] += $2} END {for (ip in n) print ip, n[ip]}' | sort > "$WORK/got_t.txt"
cmp -s "$WORK/want_t.txt" "$WORK/got_t.txt" || { diff "$WORK/want_t.txt" "$WORK/got_t.txt" | head; fail "run 3: per-IP totals differ"; }
stop_agent "$WORK/agent_proc.log"
echo "run 3: mode seed, time processing: $AUDIT audit lines in $(rcli HLEN hsip_p) closed 2 s windows; per-IP totals equal the log's"

# ---- run 4: redis-server killed and restarted during the run --------------------------------
kill_redis
RPORT=$(free_port)
start_redis "$RPORT" "$WORK/redis4" --appendonly yes --appendfsync always
: > "$LOG"
write_conf "$WORK/kill.conf" hsip_k seed event 15s
start_agent "$WORK/kill.conf" "$WORK/agent_kill.log"
rm -f "$WORK/audit.txt"
"$GEN" --lines "$LINES" --seed 10 --rate 25000 --expected "$WORK/audit.txt" --append "$LOG" > /dev/null &
GENPID=$!
wait_until 60 sum_over 'hsip_k:sluice:stage:*' 10000 || fail "run 4: nothing counted"
kill_redis
echo "run 4: redis-server killed at $(date +%T.%N | cut -c1-12)"
sleep 3
start_redis "$RPORT" "$WORK/redis4" --appendonly yes --appendfsync always
echo "run 4: restarted on port $RPORT, $(sum_hashes 'hsip_k:sluice:stage:*') counts survived"
wait "$GENPID" || fail "generator failed"
AUDIT=$(wc -l < "$WORK/audit.txt")
wait_until 120 sum_is 'hsip_k:sluice:stage:*' "$AUDIT" ||
  fail "run 4: $(sum_hashes 'hsip_k:sluice:stage:*') of $AUDIT counted"
sleep 0.5
stop_agent "$WORK/agent_kill.log"
grep -q "Unable to deliver event: redis 127.0.0.1:$RPORT" "$WORK/agent_kill.log" ||
  fail "run 4: the agent did not notice the outage"
echo "run 4: mode seed, time event, redis killed and restarted: $AUDIT audit lines"
check_event_time hsip_k seed
echo "1 passed, 0 failed"
