#!/bin/sh
# Checks gen_hive_log: same seed gives the same bytes, another seed other bytes; the printed
# counts, --expected and grep agree on which lines are audit lines; every audit line carries
# what the per-IP feature extracts; decoys exist and are not audit lines; --append appends.
set -eu
GEN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$GEN" --lines 50000 --seed 7 --expected "$T/exp1" "$T/a" >"$T/out1"
"$GEN" --lines 50000 --seed 7 "$T/b" >"$T/out2"
"$GEN" --lines 50000 --seed 8 "$T/c" >/dev/null
cmp -s "$T/a" "$T/b" || fail "same seed, different output"
cmp -s "$T/out1" "$T/out2" || fail "same seed, different summary"
cmp -s "$T/a" "$T/c" && fail "different seeds, same output"

# identical everywhere: a golden hash (update it only when the generator changes on purpose,
# and say so, since tests elsewhere may count on its output)
"$GEN" --lines 3000 --seed 1 "$T/golden" >/dev/null
sum=$(sha256sum "$T/golden" | cut -d' ' -f1)
[ "$sum" = 635fc14b80804cc12c3eee2aaaf68218524fa154819818b43dcbf260da9b8dd4 ] ||
    fail "seed 1 output changed: sha256 $sum"

lines=$(wc -l <"$T/a")
[ "$lines" -eq 50000 ] || fail "wrote $lines lines, wanted 50000"
grep_audit=$(grep -c 'HiveMetaStore\.audit' "$T/a")
printf 'lines=50000 audit=%s\n' "$grep_audit" | cmp -s - "$T/out1" ||
    fail "summary '$(cat "$T/out1")' but grep counts $grep_audit audit lines"
grep 'HiveMetaStore\.audit' "$T/a" | cmp -s - "$T/exp1" || fail "--expected differs from grep"
# about 60% audit by default
[ "$grep_audit" -gt 27000 ] && [ "$grep_audit" -lt 33000 ] || fail "audit share off: $grep_audit"

# every audit line has the timestamp, ip and tbl the per-IP counter extracts
re='([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3}).*ip=/([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}).*tbl=([a-zA-Z0-9_]+)'
bad=$(grep -Ev "$re" "$T/exp1" | wc -l)
[ "$bad" -eq 0 ] || fail "$bad audit lines do not match the extraction regex"
# audit lines are tab separated like Hive's
grep -c "$(printf 'ugi=[a-z_0-9]*\tip=/')" "$T/exp1" | grep -qx "$grep_audit" ||
    fail "audit lines not tab separated"

# decoys are there, and a sloppy filter (unescaped dot) would take them
decoys=$(grep -c -e 'HiveMetaStoreXaudit' -e 'HiveMetaStore-audit' "$T/a")
[ "$decoys" -gt 0 ] || fail "no decoy lines"
sloppy=$(grep -c 'HiveMetaStore.audit' "$T/a")
[ "$sloppy" -gt "$grep_audit" ] || fail "decoys do not trip an unescaped-dot filter"
# multi-line stack traces
grep -q "$(printf '^\tat org.apache.hadoop.hive.metastore')" "$T/a" || fail "no stack traces"

# --audit-ratio 0 and 1
"$GEN" --lines 2000 --audit-ratio 0 "$T/d" | grep -qx 'lines=2000 audit=0' || fail "ratio 0"
"$GEN" --lines 2000 --audit-ratio 1 "$T/d" | grep -qx 'lines=2000 audit=2000' || fail "ratio 1"

# --append adds to the file (and to --expected)
"$GEN" --lines 1000 --seed 3 --expected "$T/e" "$T/f" >/dev/null
"$GEN" --lines 1000 --seed 4 --append --expected "$T/e" "$T/f" >/dev/null
[ "$(wc -l <"$T/f")" -eq 2000 ] || fail "--append did not append"
grep 'HiveMetaStore\.audit' "$T/f" | cmp -s - "$T/e" || fail "--append --expected differs"

# --rate paces (200 lines at 1000/s take at least ~0.2 s) and still writes everything
s=$(date +%s%N)
"$GEN" --lines 200 --rate 1000 "$T/g" >/dev/null
e=$(date +%s%N)
[ $(( (e - s) / 1000000 )) -ge 150 ] || fail "--rate did not pace"
[ "$(wc -l <"$T/g")" -eq 200 ] || fail "--rate lost lines"

# bad arguments are refused
if "$GEN" --lines x "$T/h" 2>/dev/null; then fail "accepted --lines x"; fi
if "$GEN" "$T/h" 2>/dev/null; then fail "accepted a missing --lines"; fi
echo ok
