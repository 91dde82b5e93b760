#!/usr/bin/env bash
# The whole test suite, as CI runs it: a gcc build with every test, a clang build (warnings
# are errors on both compilers), an AddressSanitizer + UndefinedBehaviorSanitizer build
# running the unit, plugin and end-to-end tests again, and the libFuzzer harnesses (clang,
# ASan + UBSan) for about 20 s each on their seed corpora.
set -euo pipefail
cd "$(dirname "$0")/.."

build() { # DIR [meson options...]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then meson setup "$dir" "$@"; else meson setup --reconfigure "$dir" "$@" >/dev/null; fi
  ninja -C "$dir"
}

echo "== gcc build and tests"
build build
meson test -C build --print-errorlogs --num-processes 2

echo "== clang build (-Werror), optimised as packagers build it"
CC=clang build build-clang -Dtests=true --buildtype=release

echo "== gcc -O3 build (-Werror; -O3 warns about what -O0 cannot see)"
build build-release --buildtype=release -Dtests=false

echo "== ASan + UBSan"
build build-asan -Db_sanitize=address,undefined -Db_lundef=false
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/test/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3

echo "== libFuzzer harnesses (clang, ASan + UBSan, ~20 s each)"
CC=clang build build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
meson test -C build-fuzz --suite fuzz --print-errorlogs
