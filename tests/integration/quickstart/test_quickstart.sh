#!/usr/bin/env bash
# The quick start as a new user runs it, against a real arbord started by
# scripts/quickstart.sh (without its build step):
#  - the log accepts certificates out of the box: the system's roots plus the
#    quick start's test CA; scripts/issue-cert.sh issues a certificate and a
#    precertificate and gets SCTs;
#  - arbor-audit check-sct verifies both JSON SCTs (the precertificate's as a
#    precert entry) and proves inclusion at once, taking arbord's private key
#    file as --key;
#  - arbor-audit follow --tiled learns the origin from the checkpoint, names
#    both origins on a mismatch, prints a start line, --watch alone finds the
#    certificate, a second round prints no second "verified" line, roots are
#    base64 as in get-sth;
#  - a witness cosigns through arbor-audit cosign (twice: the second time from
#    the size it cosigned before);
#  - SIGHUP reloads the roots: a bundle without the test CA refuses its
#    certificates, a bad file keeps the old roots and says why, arbord keeps
#    running and exits 0 on SIGTERM;
#  - --version --json is JSON in all three programs.
# Usage: test_quickstart.sh SOURCE_DIR (ARB_BIN names the programs' directory).
set -euo pipefail
src=${1:?source dir}
bin=${ARB_BIN:?ARB_BIN}
tmp=$(mktemp -d)
pid=
wpid=
cleanup() {
    [ -z "$wpid" ] || kill "$wpid" 2>/dev/null || true
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
wait_for() { # wait_for FILE PATTERN
    for _ in $(seq 1 200); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

audit=$bin/arbor-audit
ARBOR_DATA=$tmp/data ARBOR_LISTEN=127.0.0.1:0 ARBOR_SKIP_BUILD=1 ARB_BIN=$bin \
    "$src/scripts/quickstart.sh" --json >"$tmp/arbord.out" 2>"$tmp/arbord.err" &
pid=$!
wait_for "$tmp/arbord.out" '"event":"listening"' || { cat "$tmp/arbord.err" >&2; exit 1; }
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$tmp/arbord.out")
log=http://127.0.0.1:$port
key=$tmp/data/log-key.pem
ca=$tmp/data/test-ca
system=0
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    system=$(openssl crl2pkcs7 -nocrl -certfile /etc/ssl/certs/ca-certificates.crt |
        openssl pkcs7 -print_certs | grep -c '^subject=')
fi
roots=$(curl -s "$log/ct/v1/get-roots" | grep -o '"[A-Za-z0-9+/=]\{100,\}"' | wc -l)
check "the log accepts the system's roots and the test CA ($roots)" [ "$roots" -ge "$((system + 1))" ]

# Certificates under the test CA get SCTs.
check "issue-cert.sh: certificate" \
    "$src/scripts/issue-cert.sh" --ca "$ca" --log "$log" --out "$tmp/c" www.example.test
check "issue-cert.sh: precertificate" \
    "$src/scripts/issue-cert.sh" --ca "$ca" --log "$log" --out "$tmp/c" --precert pre.example.test
check "SCT files are add-chain's JSON" grep -q '"signature"' "$tmp/c/www.example.test.sct.json"

# check-sct: JSON SCTs, the precertificate's as a precert entry, inclusion now.
for name in www.example.test pre.example.test; do
    out=$("$audit" check-sct --cert "$tmp/c/$name.pem" --issuer "$ca/ca.pem" \
        --sct "$tmp/c/$name.sct.json" --log "$log" --key "$key" 2>&1) && st=0 || st=$?
    check "check-sct $name exits 0 ($out)" [ "$st" = 0 ]
    check "check-sct $name: signature valid, inclusion proven" \
        grep -q 'signature valid; inclusion proven' <<<"$out"
done
out=$("$audit" check-sct --cert "$tmp/c/pre.example.test.pem" \
    --sct "$tmp/c/pre.example.test.sct.json" --log "$log" --key "$key" 2>&1) && st=0 || st=$?
if [ "$st" = 2 ] && grep -q -- '--issuer' <<<"$out"; then ok "check-sct: a precertificate without its issuer is a usage error naming --issuer"; else fail "check-sct: a precertificate without its issuer is a usage error naming --issuer"; fi
out=$("$audit" check-sct --cert "$tmp/c/www.example.test.pem" --issuer "$ca/ca.pem" \
    --sct "$tmp/c/pre.example.test.sct.json" --log "$log" --key "$key" 2>&1) && st=0 || st=$?
if [ "$st" = 1 ] && grep -q INVALID <<<"$out"; then ok "check-sct: another certificate's SCT is INVALID"; else fail "check-sct: another certificate's SCT is INVALID"; fi

curl -s "$log/ct/v1/get-sth" >"$tmp/sth.json"
check "verify-sth with arbord's key file as --key" "$audit" verify-sth --key "$key" "$tmp/sth.json"

# follow --tiled takes the origin from the checkpoint.
out=$("$audit" follow --log "$log/" --key "$key" --tiled --download --state "$tmp/st1" \
    --rounds 2 --interval 1 2>&1) && st=0 || st=$?
check "follow --tiled without --origin exits 0 ($out)" [ "$st" = 0 ]
check "follow prints a start line naming the origin" grep -q '^following .*origin arbor.localhost/log' <<<"$out"
check "follow prints one verified line for two rounds" [ "$(grep -c '^verified' <<<"$out")" = 1 ]
sth_root=$(curl -s "$log/ct/v1/get-sth" | sed -n 's/.*"sha256_root_hash":"\([^"]*\)".*/\1/p')
check "roots are base64 as in get-sth" grep -q "root $sth_root" <<<"$out"
out=$("$audit" follow --log "$log/" --key "$key" --tiled --origin "127.0.0.1:$port" \
    --state "$tmp/st2" --once 2>&1) && st=0 || st=$?
if [ "$st" = 1 ] && grep -q 'names origin "arbor.localhost/log", but --origin is' <<<"$out"; then ok "follow: a wrong --origin names both origins"; else fail "follow: a wrong --origin names both origins"; fi
out=$("$audit" follow --log "$log/" --key "$key" --state "$tmp/st3" --watch example.test --once 2>&1) &&
    st=0 || st=$?
if [ "$st" = 0 ] && grep -q '^match .* www.example.test' <<<"$out"; then ok "follow --watch without --download finds the certificate"; else fail "follow --watch without --download finds the certificate"; fi
out=$("$audit" follow --log "$log/" --key "$key" --once 2>&1) && st=0 || st=$?
if [ "$st" = 2 ] && grep -q -- '--state DIR is missing' <<<"$out"; then ok "follow without --state names it"; else fail "follow without --state names it"; fi
out=$("$audit" verify-headers "$tmp/none" 2>&1) && st=0 || st=$?
if [ "$st" = 2 ] && grep -q -- '--rules .* is missing' <<<"$out"; then ok "verify-headers without --rules names it"; else fail "verify-headers without --rules names it"; fi

# A log list whose tiled log gives another origin than the checkpoint's: said at once.
der=$(openssl pkey -in "$key" -pubout -outform DER | openssl base64 -A)
lid=$(openssl pkey -in "$key" -pubout -outform DER | openssl dgst -sha256 -binary | openssl base64 -A)
cat >"$tmp/list.json" <<LIST
{"operators": [{"name": "test", "logs": [], "tiled_logs": [{"key": "$der", "log_id": "$lid",
  "monitoring_url": "$log/", "submission_url": "https://elsewhere.example/log/", "mmd": 60}]}]}
LIST
out=$("$audit" follow --log-list "$tmp/list.json" --state "$tmp/st4" --once 2>&1) && st=0 || st=$?
if [ "$st" = 1 ] && grep -q 'the checkpoint names origin "arbor.localhost/log", but the log list gives "elsewhere.example/log"' <<<"$out"; then
    ok "follow --log-list: an origin mismatch is named"
else
    fail "follow --log-list: an origin mismatch is named ($out)"
fi

# A witness cosigns through arbor-audit cosign.
"$audit" witness --key "$tmp/w.key" --generate w.example.test >/dev/null
"$audit" witness --json --state "$tmp/wst" --key "$tmp/w.key" --listen 127.0.0.1:0 \
    --log "arbor.localhost/log=$key" >"$tmp/w.out" 2>"$tmp/w.err" &
wpid=$!
wait_for "$tmp/w.out" '"event":"listening"' || fail "witness --json prints its listening event"
wport=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$tmp/w.out")
out=$("$audit" cosign --witness "http://127.0.0.1:$wport" --log "$log/" --key "$key" 2>&1) &&
    st=0 || st=$?
if [ "$st" = 0 ] && grep -q '^— w.example.test ' <<<"$out"; then ok "cosign: the witness cosigns ($out)"; else fail "cosign: the witness cosigns ($out)"; fi
"$src/scripts/issue-cert.sh" --ca "$ca" --log "$log" --out "$tmp/c" two.example.test >/dev/null 2>&1
out=$("$audit" --json cosign --witness "http://127.0.0.1:$wport/" --log "$log/" --key "$key" 2>&1) &&
    st=0 || st=$?
if [ "$st" = 0 ] && grep -q '"tree_size":3' <<<"$out"; then ok "cosign again from the witness's size ($out)"; else fail "cosign again from the witness's size ($out)"; fi
out=$("$audit" witness --state "$tmp/wst2" --key "$tmp/w.key" --listen "127.0.0.1:$wport" \
    --log "arbor.localhost/log=$key" 2>&1) && st=0 || st=$?
if [ "$st" = 1 ] && [ "$(grep -o 'Address already in use' <<<"$out" | wc -l)" = 1 ]; then ok "witness on a busy port: one message, said once"; else fail "witness on a busy port: one message, said once"; fi
kill "$wpid"
wait "$wpid" || true
wpid=

# SIGHUP: roots without the test CA, then a bad file, then back.
cp "$tmp/data/roots.pem" "$tmp/roots.saved"
if [ "$system" -gt 0 ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$tmp/data/roots.pem"
    kill -HUP "$pid"
    check "SIGHUP reloads the roots" wait_for "$tmp/arbord.err" "SIGHUP: log roots and policy reloaded: $system roots"
    out=$("$src/scripts/issue-cert.sh" --ca "$ca" --log "$log" --out "$tmp/c" no.example.test 2>&1) &&
        st=0 || st=$?
    if [ "$st" = 1 ] && grep -q 'HTTP 400' <<<"$out"; then ok "without the test CA the log refuses its certificates"; else fail "without the test CA the log refuses its certificates"; fi
fi
echo "not a PEM bundle" >"$tmp/data/roots.pem"
kill -HUP "$pid"
check "a bad roots file keeps the old roots and says why" wait_for "$tmp/arbord.err" "SIGHUP: log roots and policy kept"
cp "$tmp/roots.saved" "$tmp/data/roots.pem"
kill -HUP "$pid"
check "SIGHUP again" wait_for "$tmp/arbord.err" "SIGHUP: log roots and policy reloaded: $((system + 1)) roots"
check "issue-cert.sh works again" \
    "$src/scripts/issue-cert.sh" --ca "$ca" --log "$log" --out "$tmp/c" back.example.test
check "arbord is still running" kill -0 "$pid"

# Without --log-roots arbord takes the system's trusted roots.
if [ "$system" -gt 0 ]; then
    "$bin/arbord" --datadir "$tmp/plain" --listen 127.0.0.1:0 --network regtest --json \
        >"$tmp/plain.out" 2>"$tmp/plain.err" &
    ppid=$!
    if wait_for "$tmp/plain.out" '"event":"listening"'; then
        pport=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$tmp/plain.out")
        n=$(curl -s "http://127.0.0.1:$pport/ct/v1/get-roots" | grep -o '"[A-Za-z0-9+/=]\{100,\}"' | wc -l)
        check "without --log-roots: the system's $system roots ($n)" [ "$n" = "$system" ]
        check "without --log-roots: the log says where its roots come from" \
            grep -q "accepting $system roots from /etc/ssl/certs/ca-certificates.crt (the system's" "$tmp/plain.err"
    else
        fail "arbord without --log-roots starts"
    fi
    kill -TERM "$ppid"
    wait "$ppid" || fail "arbord without --log-roots exits 0"
fi

for prog in arbord arbor-wallet arbor-audit; do
    out=$("$bin/$prog" --version --json)
    check "$prog --version --json is JSON ($out)" grep -q "^{\"program\":\"$prog\",\"version\":\"" <<<"$out"
done

kill -TERM "$pid"
st=0
wait "$pid" || st=$?
pid=
check "arbord exits 0 on SIGTERM" [ "$st" = 0 ]
echo "$fails failed"
[ "$fails" = 0 ]
