#!/usr/bin/env bash
# Debian packages the project talks to, installed only when missing, and the local PostgreSQL
# started when it is installed but down.
#   scripts/system-deps.sh demo   what `make demo` needs (Mosquitto)
#   scripts/system-deps.sh test   what `make test` needs (Mosquitto and its clients, mbpoll, Chromium,
#                                 socat, CJK fonts for the Chinese pages)
# Without root or sudo it cannot install: it says what is missing and goes on, and the tests
# that need a missing peer then fail saying which.
set -euo pipefail
mode=${1:-test}
need=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
if [ "$mode" = test ]; then
  command -v mosquitto_sub >/dev/null || need+=(mosquitto-clients)
  command -v mbpoll >/dev/null || need+=(mbpoll)
  command -v chromium >/dev/null || need+=(chromium)
  command -v socat >/dev/null || need+=(socat)
  fc-list 2>/dev/null | grep -qi 'noto sans cjk' || need+=(fonts-noto-cjk)
fi
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; else
      echo "system-deps: missing ${need[*]} and no root to install them: apt-get install ${need[*]}" >&2
      exit 0
    fi
  fi
  echo "system-deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The PostgreSQL tests use the machine's own server on 127.0.0.1:5432 when there is one.
if [ "$mode" = test ] && command -v pg_isready >/dev/null && [ -d /etc/postgresql ] \
   && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && [ "$(id -u)" -eq 0 ]; then
  echo "system-deps: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || \
    echo "system-deps: PostgreSQL did not start; its tests will say so" >&2
fi
