#!/usr/bin/env bash
# Installs the peer brokers and tools the benchmark needs from Debian. Idempotent.
#   - mosquitto: the C reference broker (the benchmark starts its own instance per scenario)
#   - util-linux: provides taskset, used to pin broker and load generator to separate cores
# Debian's mosquitto package starts a system service listening on 1883; this script keeps it from
# starting (policy-rc.d during the install) and stops anything it left behind afterwards.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)

if [ "${#need[@]}" -eq 0 ]; then
  echo "install-peers: mosquitto and taskset already present"
else
  echo "install-peers: installing ${need[*]}"
  # Keep the package scripts from starting services (only if no policy is already in place).
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    made_policy=1
  fi
  cleanup() { if [ "$made_policy" -eq 1 ]; then $SUDO rm -f "$policy"; fi; }
  trap cleanup EXIT
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi

# Make sure no system mosquitto is left running (the benchmark starts its own on a free port).
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/mosquitto ]; then
  $SUDO /etc/init.d/mosquitto stop >/dev/null 2>&1 || true
fi
if [ -f /run/mosquitto/mosquitto.pid ]; then
  pid=$(cat /run/mosquitto/mosquitto.pid 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = mosquitto ]; then
    $SUDO kill "$pid" || true
  fi
fi

mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
echo "install-peers: $("$mosq" -h 2>&1 | head -n 1)"
echo "install-peers: taskset at $(command -v taskset)"
