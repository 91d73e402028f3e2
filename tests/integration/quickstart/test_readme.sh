#!/usr/bin/env bash
# Runs the README's example blocks (between the readme-example markers) as
# written, in a scratch directory laid out like a checkout (scripts/,
# build/bin/), against arbord started by scripts/quickstart.sh. The only
# change: the port. The README uses 127.0.0.1:7480, arbord's default; the test
# takes a free port instead (other arbord processes may hold 7480) and points
# the defaults there with ARBOR_NODE and ARBOR_LOG, so the wallet and
# issue-cert.sh commands stay exactly as written.
# Usage: test_readme.sh SOURCE_DIR (ARB_BIN names the programs' directory).
set -euo pipefail
src=${1:?source dir}
bin=${ARB_BIN:?ARB_BIN}
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# A free port below the kernel's ephemeral range, which other tests' outgoing
# connections draw from (a port taken from it could be one of theirs by the
# time arbord binds it).
port=$(python3 -c '
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(1000):
    p = random.randrange(10000, lo)
    try:
        s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
        print(p); break
    except OSError:
        pass
')
sed -n '/<!-- readme-example:begin -->/,/<!-- readme-example:end -->/p' "$src/README.md" |
    grep -v -e '<!-- readme-example:' -e '^```' | sed "s/7480/$port/g" >"$tmp/example.sh"
[ "$(grep -c arbor- "$tmp/example.sh")" -ge 5 ] || { echo "README example block not found" >&2; exit 1; }
cd "$tmp"
ln -s "$src/scripts" scripts
mkdir build
ln -s "$bin" build/bin
ARBOR_LISTEN=127.0.0.1:$port ARBOR_SKIP_BUILD=1 ARB_BIN=$bin scripts/quickstart.sh --json \
    >arbord.out 2>arbord.err &
pid=$!
for _ in $(seq 1 200); do
    grep -q '"event":"listening"' arbord.out 2>/dev/null && break
    sleep 0.1
done
grep -q '"event":"listening"' arbord.out || { cat arbord.err >&2; exit 1; }
export ARBOR_NODE=http://127.0.0.1:$port ARBOR_LOG=http://127.0.0.1:$port
echo "--- the README's example:"
cat example.sh
echo "---"
st=0
bash -e -x example.sh >example.out 2>example.err || st=$?
cat example.out
cat example.err
fails=0
check() {
    if grep -q -- "$2" example.out example.err; then echo "ok: $1"; else echo "FAIL: $1" >&2; fails=$((fails + 1)); fi
}
[ "$st" = 0 ] || { echo "FAIL: the example exits $st" >&2; fails=$((fails + 1)); }
check "get-sth answers" '"sha256_root_hash"'
check "the wallet is a regtest wallet" 'wallet:  w.json (regtest)'
check "101 blocks mined" '101 blocks found in'
check "balance after 101 blocks: 100 confirmed" 'confirmed:   100.00000000'
check "balance after 101 blocks: 4950 immature" 'immature:    4950.00000000'
check "the precertificate's SCT verifies and is included" 'signature valid; inclusion proven'
check "follow --watch finds the certificate" 'match .* test.example'
check "follow --tiled follows the checkpoint's origin" 'tiles, origin arbor.localhost/log'
check "the name is registered and active" 'alice.testnames  *active'
check "the zone file was uploaded" 'uploaded the zone file of alice.testnames'
check "the log's head is anchored" 'anchored log .* at tree size 2'
kill -TERM "$pid"
wait "$pid" || { echo "FAIL: arbord did not exit 0" >&2; fails=$((fails + 1)); }
pid=
echo "$fails failed"
[ "$fails" = 0 ]
