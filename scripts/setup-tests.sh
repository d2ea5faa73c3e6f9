#!/usr/bin/env bash
# Installs what the test suite needs beyond npm, on Debian (as root, or with sudo available):
#   - chromium: Debian's Chromium, which the browser tests (test/browser/) drive with playwright-core.
#     Never a downloaded browser: `npx playwright install` cannot work on these machines.
# Idempotent: does nothing when everything is already there. Non-interactive. Exits non-zero on failure.
# CI runs it as: bash scripts/setup-tests.sh && npm ci && npm test
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

say() { printf 'setup-tests: %s\n' "$*"; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n --preserve-env=DEBIAN_FRONTEND)
  else
    say "not root and no sudo: cannot install system packages" >&2
    exit 1
  fi
fi

# Debian package name -> a file it installs that proves it is there.
declare -A NEEDED=(
  [chromium]=/usr/bin/chromium
)

missing=()
for pkg in "${!NEEDED[@]}"; do
  if [ -x "${NEEDED[$pkg]}" ]; then
    say "$pkg: already installed (${NEEDED[$pkg]})"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing ${missing[*]} and no apt-get: install them with your system's package manager" >&2
    exit 1
  fi
  say "apt-get update"
  "${SUDO[@]}" apt-get update -q
  say "apt-get install -y ${missing[*]}"
  "${SUDO[@]}" apt-get install -y -q "${missing[@]}"
  for pkg in "${missing[@]}"; do
    if [ ! -x "${NEEDED[$pkg]}" ]; then
      say "$pkg: installed, but ${NEEDED[$pkg]} is still missing" >&2
      exit 1
    fi
    say "$pkg: installed (${NEEDED[$pkg]})"
  done
fi

say "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')"
say "done"
