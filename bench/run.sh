#!/bin/sh
# The benchmark in one command: builds what it needs (optimized build in build-bench unless
# BUILD=dir is given), installs the peers from Debian's packages when they are wanted, then
# runs bench.py with the arguments given (see `bench/run.sh --help`).
#   bench/run.sh                          all scenarios, all shippers, 2,000,000 lines
#   bench/run.sh --scenario a --shipper sluice --lines 500000
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
BUILD=${BUILD:-$SRC/build-bench}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$SRC" --buildtype=release -Dtests=true >/dev/null
fi
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  ninja -C "$BUILD" >/dev/null
fi
want_peers=1
prev=""
for a in "$@"; do
  if [ "$prev" = --shipper ]; then
    case "$a" in *rsyslog*|*syslog-ng*) ;; *) want_peers=0 ;; esac
  fi
  case "$a" in --shipper=*) case "$a" in *rsyslog*|*syslog-ng*) ;; *) want_peers=0 ;; esac ;;
               --smoke|--help|-h) want_peers=0 ;; esac
  prev=$a
done
[ "$want_peers" = 1 ] && "$HERE/peers.sh"
exec /usr/bin/python3 "$HERE/bench.py" --build "$BUILD" "$@"
