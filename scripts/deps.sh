#!/usr/bin/env bash
# Installs the Debian packages arbor needs to build and test, if any are missing.
# Runs apt-get as root (directly, or through sudo when available).
set -euo pipefail

# golang-go and golang-github-google-certificate-transparency-dev build the
# stock Go CT client that tests/integration/interop runs against arbord.
# nginx and certspotter serve and follow the log's read path in
# tests/integration/readpath.
# certspotter, nginx and wrk are what the benchmarks compare against and load
# with; rocksdb-tools (sst_dump) measures how column families compress
# (docs/benchmarks.md, docs/store.md).
# python3 generates the man pages (packaging/man/gen-man.py); man-db,
# groff-base, bsdextrautils (col) and systemd (systemd-analyze) check the
# installed pages and unit (tests/integration/packaging).
# prometheus brings promtool, which checks arbord's /metrics in
# tests/integration/observability; chromium, chromium-driver and
# python3-selenium run the explorer in a headless browser
# (tests/integration/explorer).
PACKAGES=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
          libssl-dev libsecp256k1-dev librocksdb-dev libwebsockets-dev libjansson-dev
          libcurl4-openssl-dev openssl curl python3
          golang-go golang-github-google-certificate-transparency-dev
          certspotter nginx wrk rocksdb-tools
          man-db groff-base bsdextrautils systemd
          prometheus chromium chromium-driver python3-selenium)

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
