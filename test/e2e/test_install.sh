#!/usr/bin/env bash
# What a packager and a plugin author meet: `meson install --destdir` puts the binary, the
# flume-ng launcher, every plugin, the header and sluice-plugin.pc under the build's prefix;
# the header compiles alone (C and C++); examples/echo_sink builds with nothing but
# pkg-config and cc; the installed sluice lists, describes and runs it (exec -> memory ->
# echo), directly and through the installed flume-ng with Flume's plugins.d layout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WORK"
unset SLUICE_PLUGIN_PATH SLUICE_BIN FLUME_HOME

# The install layout, as this build was configured (prefix /usr/local by default)
opt() {
  meson introspect --buildoptions "$SLUICE_BUILD_ROOT" |
    /usr/bin/python3 -c "import json,sys; print([o['value'] for o in json.load(sys.stdin) if o['name']=='$1'][0])"
}
PREFIX=$(opt prefix); LIBDIR=$(opt libdir); BINDIR=$(opt bindir); INCDIR=$(opt includedir)
DATADIR=$(opt datadir)
case "$PREFIX" in /*) ;; *) fail "prefix '$PREFIX' is not absolute" ;; esac
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PREFIX/$1" ;; esac; }
ROOT="$WORK/root"
IBIN="$ROOT$(abs "$BINDIR")"
IINC="$ROOT$(abs "$INCDIR")"
ILIB="$ROOT$(abs "$LIBDIR")"
IPLUG="$ILIB/sluice/plugins"
ISLUICE="$IBIN/sluice"

# ---- meson install into a staging root; nothing may land outside it. (It brings the build
# up to date first: meson test only rebuilds a test's `depends`, which do not list plugins.)
meson install -C "$SLUICE_BUILD_ROOT" --destdir "$ROOT" --quiet > install.out 2>&1 ||
  { cat install.out; fail "meson install --destdir failed"; }
grep -v '^#' "$SLUICE_BUILD_ROOT/meson-logs/install-log.txt" > installed.txt || true
[ -s installed.txt ] || fail "meson's install log lists no files"
awk -v r="$ROOT" '$0 != r && index($0, r "/") != 1' installed.txt > outside.txt
[ ! -s outside.txt ] || fail "installed outside the destdir: $(head -3 outside.txt)"
[ -x "$ISLUICE" ] || fail "no executable $ISLUICE"
[ -f "$IBIN/flume-ng" ] || fail "bin/flume-ng not installed"
[ -x "$IBIN/flume-ng" ] || fail "bin/flume-ng installed without execute permission"
[ -f "$IINC/sluice/plugin.h" ] || fail "no $IINC/sluice/plugin.h"
cmp -s "$IINC/sluice/plugin.h" "$SLUICE_SOURCE_ROOT/include/sluice/plugin.h" ||
  fail "the installed header differs from include/sluice/plugin.h"
# every plugin the build made is installed, and nothing else is in the plugin dir
find "$SLUICE_BUILD_ROOT"/sources "$SLUICE_BUILD_ROOT"/channels "$SLUICE_BUILD_ROOT"/sinks \
  "$SLUICE_BUILD_ROOT"/interceptors -name '*.so' -printf '%f\n' 2>/dev/null | sort > built.txt
find "$IPLUG" -mindepth 1 -printf '%f\n' | sort > inplugdir.txt
[ -s built.txt ] || fail "the build tree holds no plugins"
cmp -s built.txt inplugdir.txt ||
  fail "installed plugins differ from the built ones: $(diff built.txt inplugdir.txt | tr '\n' ' ')"
echo "installed: $(wc -l < inplugdir.txt) plugins and $(wc -l < installed.txt) paths in all, under $ROOT$PREFIX"

# ---- the installed header compiles on its own, as C11 and (if there is g++) as C++
echo '#include <sluice/plugin.h>' > only_header.c
cc -fsyntax-only -x c -std=c11 -Wall -Wextra -Werror -pedantic -I"$IINC" only_header.c ||
  fail "the installed header does not compile alone as C11"
if command -v g++ > /dev/null; then
  g++ -fsyntax-only -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -I"$IINC" only_header.c ||
    fail "the installed header does not compile alone as C++"
fi

# ---- pkg-config on the staged .pc (the sysroot maps its /usr/local paths into $ROOT)
IPC="$ROOT$(abs "$DATADIR")/pkgconfig"
export PKG_CONFIG_PATH="$IPC" PKG_CONFIG_SYSROOT_DIR="$ROOT"
pkg-config --exists sluice-plugin || fail "pkg-config does not find sluice-plugin in $IPC"
CFLAGS=$(pkg-config --cflags sluice-plugin | sed 's/[[:space:]]*$//')
[ "$CFLAGS" = "-I$IINC" ] || fail "pkg-config --cflags sluice-plugin gave '$CFLAGS', not -I$IINC"
VERSION=$(meson introspect --projectinfo "$SLUICE_BUILD_ROOT" |
  /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['version'])")
[ "$(pkg-config --modversion sluice-plugin)" = "$VERSION" ] || fail "pkg-config version"
ABI=$(sed -n 's/^#define SLUICE_ABI_MAJOR \([0-9]*\)$/\1/p' "$IINC/sluice/plugin.h")
[ "$(pkg-config --variable=abi_major sluice-plugin)" = "$ABI" ] ||
  fail "abi_major in the .pc is not the header's $ABI"
PD=$(pkg-config --variable=plugindir sluice-plugin)
case "$PD" in "$ROOT"/*) ;; *) PD="$ROOT$PD" ;; esac # pkg-config that skips the sysroot here
[ "$PD" = "$IPLUG" ] || fail "plugindir in the .pc is $PD, plugins are in $IPLUG"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# ---- the example sink, built out of tree from the installed files only
mkdir -p myplugins
# shellcheck disable=SC2086 # CFLAGS is a list of flags
cc -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -shared -fPIC \
  $CFLAGS -o myplugins/echo_sink.so "$SLUICE_SOURCE_ROOT/examples/echo_sink/echo_sink.c" ||
  fail "examples/echo_sink does not build against the installed header"
EXPORTS=$(nm -D --defined-only myplugins/echo_sink.so | awk '$3 !~ /^_/ {printf "%s ", $3}')
[ "$EXPORTS" = "sluice_plugin " ] || fail "echo_sink.so exports '$EXPORTS', not just sluice_plugin"

# ---- the installed sluice finds it only through --plugin-path
rc=0; "$ISLUICE" describe echo > nopath.out 2>&1 || rc=$?
[ $rc = 2 ] || fail "describe echo without --plugin-path: exit $rc, $(cat nopath.out)"
grep -q "no component type 'echo'" nopath.out || fail "without --plugin-path: $(cat nopath.out)"
PP="$WORK/myplugins:$IPLUG"
"$ISLUICE" plugins --plugin-path "$PP" > plugins.txt 2>&1 || { cat plugins.txt; fail "sluice plugins"; }
grep -A2 "^  echo " plugins.txt > echo_rows.txt || fail "sluice plugins does not list echo"
grep -q "file: $WORK/myplugins/echo_sink.so" echo_rows.txt ||
  fail "sluice plugins does not list echo from myplugins: $(cat plugins.txt)"
grep -q "^  echo  *Appends each event body as a line to a file" plugins.txt || fail "echo summary"
for t in exec memory; do
  grep -A2 "^  $t " plugins.txt > rows.txt || fail "sluice plugins does not list $t"
  grep -q "file: $IPLUG/" rows.txt || fail "$t is not listed from $IPLUG"
done
"$ISLUICE" describe echo --plugin-path "$PP" > describe.txt 2>&1 ||
  { cat describe.txt; fail "sluice describe echo"; }
grep -q "^sink echo: Appends each event body" describe.txt || fail "describe header: $(cat describe.txt)"
grep -q "^  file  .*string.*required" describe.txt || fail "describe: no required file key: $(cat describe.txt)"
grep -q "^  batchSize  .*integer 1\.\.100000  *default: 100" describe.txt ||
  fail "describe: batchSize row: $(cat describe.txt)"

# ---- an agent run: exec (seq 1 100) -> memory -> echo, batches of 7 (the last one partial)
agent_conf() { # FILE OUT
  cat > "$1" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = seq 1 100
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = echo
a1.sinks.k1.file = $2
a1.sinks.k1.batchSize = 7
a1.sinks.k1.channel = c1
CONF
}
seq 1 100 > expected.txt
lines_are_100() { [ "$(wc -l < "$1")" -ge 100 ]; }

agent_conf echo.conf "$WORK/echo.out"
"$ISLUICE" check --plugin-path "$PP" -n a1 -f echo.conf > check.out 2>&1 ||
  { cat check.out; fail "sluice check rejects the echo agent"; }
start_bg agent.log "$ISLUICE" agent -n a1 -f echo.conf --plugin-path "$PP" --no-reload-conf
AGENT=$LAST_PID
wait_until 20 grep -q "agent a1 started" agent.log || { cat agent.log; fail "agent did not start"; }
wait_until 30 lines_are_100 echo.out || fail "echo.out has $(wc -l < echo.out 2>/dev/null) lines"
stop_pid "$AGENT" || fail "agent exited with status $?"
cmp -s expected.txt echo.out || { diff expected.txt echo.out | head; fail "echo.out is not 1..100"; }
[ "$(counter agent.log SINK k1 EventDrainSuccessCount)" = 100 ] ||
  fail "sink k1 drained $(counter agent.log SINK k1 EventDrainSuccessCount) events"
echo "agent: 100 of 100 events through the out-of-tree echo sink"

# ---- the installed flume-ng runs the installed sluice, with plugins in Flume's plugins.d
[ "$("$IBIN/flume-ng" version)" = "$("$ISLUICE" --version)" ] ||
  fail "installed flume-ng version does not run the installed sluice"
mkdir -p plugins.d/echo/native
cp myplugins/echo_sink.so plugins.d/echo/native/
agent_conf echo2.conf "$WORK/echo2.out"
"$IBIN/flume-ng" agent --conf "$WORK" -f echo2.conf -n a1 --plugins-path "$WORK/plugins.d" \
  --dryrun > dryrun.txt 2> /dev/null || fail "flume-ng --dryrun failed"
grep -q "^$ISLUICE agent .*--plugin-path $WORK/plugins.d/echo/native" dryrun.txt ||
  fail "flume-ng does not pass plugins.d/echo/native to the installed sluice"
start_bg flume.log env SLUICE_PLUGIN_PATH="$IPLUG" "$IBIN/flume-ng" agent --conf "$WORK" \
  -f echo2.conf -n a1 --plugins-path "$WORK/plugins.d" -Dflume.root.logger=INFO,console \
  --no-reload-conf
AGENT=$LAST_PID
wait_until 30 lines_are_100 echo2.out || { cat flume.log; fail "flume-ng run: $(wc -l < echo2.out 2>/dev/null) lines"; }
stop_pid "$AGENT" || fail "flume-ng agent exited with status $?"
cmp -s expected.txt echo2.out || fail "flume-ng run: echo2.out is not 1..100"
grep -q "\[sink:k1\] - echo: appending event bodies to $WORK/echo2.out" flume.log ||
  fail "flume-ng run: no console log line from the echo sink"
echo "flume-ng: 100 of 100 events, echo from plugins.d/echo/native"
echo "1 passed, 0 failed"
