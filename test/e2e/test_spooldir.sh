#!/usr/bin/env bash
# End to end: spooldir -> file channel -> file_roll. Files are dropped into the spooling
# directory before and while the agent runs (written elsewhere, then moved in, as users must);
# the agent is killed with SIGKILL once in the middle of a big file and started again on the
# same directories. Every line of every file must come out (duplicates only from the one batch
# in flight at the kill), every file must end up renamed to .COMPLETED, and a file dropped with
# the name of a completed one must be reported and left alone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SPOOL=$WORK/spool OUT=$WORK/out STAGE=$WORK/stage
BIG_LINES=${E2E_SPOOLDIR_BIG_LINES:-300000}
BATCH=100
mkdir -p "$SPOOL" "$OUT" "$STAGE"

cat > "$WORK/agent.conf" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = $SPOOL
a1.sources.r1.batchSize = $BATCH
a1.sources.r1.pollDelay = 100
a1.sources.r1.ignorePattern = ^.*\\\\.tmp\$
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = $WORK/checkpoint
a1.channels.c1.dataDirs = $WORK/data
a1.channels.c1.capacity = 1000000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.minimumRequiredSpace = 1048576
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = $OUT
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 500
a1.sinks.k1.channel = c1
CONF

# drop NAME LINES: write STAGE/NAME, then move it into the spooling directory
drop() {
  seq -f "$1-%g" 1 "$2" > "$STAGE/$1"
  cat "$STAGE/$1" >> "$WORK/expected"
  mv "$STAGE/$1" "$SPOOL/$1"
}
: > "$WORK/expected"

start_agent() { # start_agent LOG
  start_bg "$1" "$SLUICE" agent -n a1 -f "$WORK/agent.conf"
  AGENT=$LAST_PID
  wait_until 30 grep -q "agent a1 started" "$1" || { cat "$1"; fail "agent did not start"; }
}

"$SLUICE" check -n a1 -f "$WORK/agent.conf" > /dev/null || fail "sluice check rejected the config"
drop a.log 1000
drop b.log 2000
start_agent "$WORK/run1.log"
drop big.log "$BIG_LINES"
printf 'staged, never read\n' > "$SPOOL/c.tmp" # ignorePattern

# SIGKILL once the big file is well into being read, and not yet completed
POS=$SPOOL/.flumespool/.sluice-spooldir.pos
big_size=$(stat -c %s "$SPOOL/big.log")
mid_file() {
  [ -e "$SPOOL/big.log" ] && grep -q "/big.log\$" "$POS" &&
    [ "$(sed -n 2p "$POS" | cut -d' ' -f5)" -gt $((big_size / 5)) ]
}
wait_until 120 mid_file || { cat "$WORK/run1.log"; fail "the big file was never read half-way"; }
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null || true
PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$AGENT" | tr '\n' ' ')
at_kill=$(sed -n 2p "$POS" | cut -d' ' -f5)
[ -e "$SPOOL/big.log" ] && [ ! -e "$SPOOL/big.log.COMPLETED" ] ||
  fail "big.log was completed before the kill; make it bigger"
echo "killed with big.log committed up to byte $at_kill of $big_size"

# Restart on the same directories; more files arrive while it runs.
start_agent "$WORK/run2.log"
wait_until 10 grep -q "resuming $SPOOL/big.log at byte $at_kill" "$WORK/run2.log" ||
  { cat "$WORK/run2.log"; fail "the restarted agent did not resume big.log at byte $at_kill"; }
drop d.log 500
drop e.log 3
TOTAL=$(wc -l < "$WORK/expected")
all_out() { [ "$(sort -u "$OUT"/* | wc -l)" -ge "$TOTAL" ]; }
wait_until 180 all_out || fail "only $(sort -u "$OUT"/* | wc -l) of $TOTAL distinct lines arrived"
done_all() {
  for f in a b big d e; do [ -e "$SPOOL/$f.log.COMPLETED" ] && [ ! -e "$SPOOL/$f.log" ] || return 1; done
}
wait_until 30 done_all || { ls -la "$SPOOL"; fail "not every file was renamed to .COMPLETED"; }

# A name used twice: reported, left in place, not read.
printf 'second a\n' > "$STAGE/a.log"
mv "$STAGE/a.log" "$SPOOL/a.log"
wait_until 10 grep -q "a.log.COMPLETED already exists" "$WORK/run2.log" ||
  fail "a reused file name was not reported"
[ -e "$SPOOL/a.log" ] || fail "the reused name was moved or deleted"
[ -e "$SPOOL/c.tmp" ] || fail "ignorePattern file was touched"
stop_pid "$AGENT" || fail "agent did not stop cleanly"

# Exactly the expected lines; duplicates only from the batch in flight at the kill.
sort "$OUT"/* > "$WORK/got.sorted"
sort -u "$WORK/got.sorted" > "$WORK/got.unique"
sort -u "$WORK/expected" > "$WORK/want.unique"
cmp -s "$WORK/got.unique" "$WORK/want.unique" || {
  diff "$WORK/want.unique" "$WORK/got.unique" | head -5
  fail "the lines that came out are not the lines that went in"
}
grep -q "second a" "$WORK/got.unique" && fail "the reused name was read"
dups=$(( $(wc -l < "$WORK/got.sorted") - $(wc -l < "$WORK/got.unique") ))
[ "$dups" -le "$BATCH" ] || fail "$dups duplicated lines (more than one batch of $BATCH)"
echo "$TOTAL lines from 5 files, all delivered and all files completed; $dups duplicated by the kill"
echo "1 passed, 0 failed"
