#!/usr/bin/env bash
# Installs what is missing, builds, and runs arbord in the foreground on a
# regtest chain with a transparency log, keeping its RocksDB database, its
# generated log key and a local test CA in ./arbor-data. Stop it with Ctrl-C;
# `kill -HUP` makes it read its roots again.
#
# The log accepts certificates out of the box: its roots are the system's
# trusted roots (/etc/ssl/certs/ca-certificates.crt) plus the test CA in
# ./arbor-data/test-ca, under which scripts/issue-cert.sh issues certificates
# and precertificates and submits them.
#
# Environment: ARBOR_DATA (data directory, default ./arbor-data), ARBOR_LISTEN
# (default 127.0.0.1:7480, arbord's default), ARBOR_SKIP_BUILD=1 (use the
# programs already built in ARB_BIN, default build/bin). Further arguments go
# to arbord.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${ARBOR_DATA:-./arbor-data}
listen=${ARBOR_LISTEN:-127.0.0.1:7480}
bin=${ARB_BIN:-build/bin}
if [ "${ARBOR_SKIP_BUILD:-0}" != 1 ]; then
    scripts/deps.sh
    scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    bin=build/bin
fi
mkdir -p "$data"
scripts/issue-cert.sh init "$data/test-ca"
# The roots: the system's (what browsers trust) and the test CA.
{
    if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
        cat /etc/ssl/certs/ca-certificates.crt
    fi
    cat "$data/test-ca/ca.pem"
} >"$data/roots.pem.tmp"
mv "$data/roots.pem.tmp" "$data/roots.pem"
echo "quickstart: arbord on $listen (regtest), data in $data; issue a test certificate with" >&2
echo "  scripts/issue-cert.sh --ca $data/test-ca --log http://$listen test.example" >&2
exec "$bin/arbord" --datadir "$data" --listen "$listen" --network regtest \
    --log-roots "$data/roots.pem" "$@"
