#!/usr/bin/env bash
# Every example configuration in conf/ and conf/examples/ (written the way users write Flume
# files) goes through `sluice check`: the exit status and, where given, a message must be what
# the file's header says:  "# expect: STATUS [message]"  and optionally "# agent: NAME" (a1).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
export KAFKA_PASSWORD=secret HOSTNAME=${HOSTNAME:-host}
n=0
for f in "$SLUICE_SOURCE_ROOT"/conf/hive_log.conf "$SLUICE_SOURCE_ROOT"/conf/examples/*.conf; do
  want=$(sed -n 's/^# expect: \([0-9]\).*/\1/p' "$f" | head -1)
  msg=$(sed -n 's/^# expect: [0-9] *//p' "$f" | head -1)
  agent=$(sed -n 's/^# agent: *//p' "$f" | head -1)
  [ -n "$want" ] || want=0
  rc=0
  "$SLUICE" check -n "${agent:-a1}" -f "$f" > "$WORK/out" 2> "$WORK/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    cat "$WORK/err" >&2
    fail "$(basename "$f"): sluice check exited $rc, expected $want"
  fi
  if [ -n "$msg" ] && ! grep -qF -- "$msg" "$WORK/err"; then
    cat "$WORK/err" >&2
    fail "$(basename "$f"): no message containing: $msg"
  fi
  n=$((n + 1))
done
echo "$n configuration files checked"
[ "$n" -ge 20 ] || echo "note: only $n example files"
echo "1 passed, 0 failed"
