#!/usr/bin/env bash
# Installs what is missing, builds, and runs arbord in the foreground on a
# regtest chain with a transparency log, keeping its RocksDB database and its
# generated log key in ./arbor-data. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
exec build/bin/arbord --datadir ./arbor-data --listen 127.0.0.1:8080 --network regtest "$@"
