#!/usr/bin/env bash
# Installs the Debian packages arbor needs to build and test, if any are missing.
# Runs apt-get as root (directly, or through sudo when available).
set -euo pipefail

# golang-go and golang-github-google-certificate-transparency-dev build the
# stock Go CT client that tests/integration/interop runs against arbord.
# prometheus brings promtool, which checks arbord's /metrics in
# tests/integration/observability; chromium, chromium-driver and
# python3-selenium run the explorer in a headless browser
# (tests/integration/explorer).
PACKAGES=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
          libssl-dev libsecp256k1-dev librocksdb-dev libwebsockets-dev libjansson-dev
          libcurl4-openssl-dev openssl curl python3
          golang-go golang-github-google-certificate-transparency-dev prometheus
          chromium chromium-driver python3-selenium)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "arbor: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
