#!/bin/sh
# Installs the peers the bench compares sluice with, from Debian's packages: rsyslog with its
# Kafka and Redis outputs through apt-get (its service is never started: the bench runs
# rsyslogd in the foreground with its own config), and syslog-ng unpacked into bench/.peers/
# (apt cannot have both: rsyslog and syslog-ng-core conflict). Idempotent; needs root for apt.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PEERS="$HERE/.peers"

need_apt=""
for p in rsyslog rsyslog-kafka rsyslog-hiredis kcat redis-server redis-tools python3-kafka; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt="$need_apt $p"
done
if [ -n "$need_apt" ]; then
  echo "peers.sh: installing$need_apt" >&2
  apt-get update >/dev/null
  # policy-rc.d 101: packages must not start (or enable) the system rsyslog daemon
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need_apt >/dev/null
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  # and not at the next boot either
  if command -v systemctl >/dev/null 2>&1; then systemctl disable rsyslog >/dev/null 2>&1 || true; fi
fi

if [ ! -x "$PEERS/root/usr/sbin/syslog-ng" ]; then
  echo "peers.sh: unpacking syslog-ng into $PEERS" >&2
  mkdir -p "$PEERS/debs"
  cd "$PEERS/debs"
  pkgs="syslog-ng-core syslog-ng-mod-rdkafka syslog-ng-mod-redis"
  # its libraries that are not on the machine already
  for lib in libivykis0 libnet1 libwrap0 libglib2.0-0 libjson-c5 libpcre3 librdkafka1 \
             libhiredis0.14; do
    dpkg -s "$lib" >/dev/null 2>&1 || pkgs="$pkgs $lib"
  done
  apt-get download $pkgs >/dev/null 2>&1 || { apt-get update >/dev/null; apt-get download $pkgs; }
  for d in ./*.deb; do dpkg -x "$d" "$PEERS/root"; done
fi
R="$PEERS/root"
LD_LIBRARY_PATH="$R/usr/lib/syslog-ng:$R/usr/lib/x86_64-linux-gnu" \
  "$R/usr/sbin/syslog-ng" --version 2>/dev/null | head -1 >/dev/null ||
  { echo "peers.sh: the unpacked syslog-ng does not run" >&2; exit 1; }
