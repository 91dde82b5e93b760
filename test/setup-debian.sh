#!/usr/bin/env bash
# Installs everything sluice needs to build, test and run its demo on Debian 12 (as root, or
# with sudo available). Safe to run again. libclang-rt-14-dev holds clang 14's libFuzzer and
# sanitizer runtimes (only recommended by clang, so not pulled in with
# --no-install-recommends); valgrind runs test/e2e/test_valgrind.sh; python3-kafka is the
# producer test/kafka/test_broker.sh keeps retrying through a broker outage.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  build-essential clang meson ninja-build pkg-config \
  librdkafka-dev libhiredis-dev libpcre2-dev libconfig-dev libcmocka-dev \
  libmicrohttpd-dev libjansson-dev \
  redis-server kcat python3 python3-kafka curl ca-certificates procps \
  libclang-rt-14-dev valgrind
