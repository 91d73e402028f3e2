#!/usr/bin/env bash
# Issues a test certificate (or precertificate) under a local test CA with
# openssl and submits it to an arbor log with curl.
#
#   scripts/issue-cert.sh init CA_DIR
#       creates the test CA in CA_DIR (ca.key, ca.pem) unless it exists
#   scripts/issue-cert.sh [--ca CA_DIR] [--log URL] [--out DIR] [--precert] [--no-submit] NAME
#       issues a certificate for the DNS name NAME under the CA, writes
#       DIR/NAME.pem (certificate or precertificate), DIR/NAME.key,
#       DIR/NAME.chain.json (the add-chain body) and, after submitting,
#       DIR/NAME.sct.json (the log's answer: the SCT), and prints the SCT.
#
# Defaults: --ca ./arbor-data/test-ca (made by scripts/quickstart.sh),
# --log $ARBOR_LOG or http://127.0.0.1:7480 (arbord's default), --out the
# current directory. The log accepts
# the certificate only if the CA is among its roots (the quick start adds it;
# otherwise give arbord --log-roots with ca.pem in the bundle and send it
# SIGHUP). A precertificate carries the critical CT poison extension
# (RFC 6962 3.1) and goes to add-pre-chain.
# Exit status: 0 ok, 1 failure (openssl or the log refused), 2 usage.
set -euo pipefail

usage() {
    sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

die() {
    echo "issue-cert.sh: $*" >&2
    exit 1
}

command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"

init_ca() {
    local dir=$1
    mkdir -p "$dir"
    if [ -s "$dir/ca.pem" ] && [ -s "$dir/ca.key" ]; then
        return 0
    fi
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$dir/ca.key" 2>/dev/null) || die "cannot create $dir/ca.key"
    openssl req -x509 -new -key "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
        -subj "/O=arbor/CN=arbor test CA $(date -u +%Y%m%d%H%M%S)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" 2>/dev/null || die "cannot create $dir/ca.pem"
    echo "issue-cert.sh: created the test CA $dir/ca.pem" >&2
}

if [ "${1:-}" = init ]; then
    [ $# -eq 2 ] || usage
    init_ca "$2"
    exit 0
fi

ca=./arbor-data/test-ca
log=${ARBOR_LOG:-http://127.0.0.1:7480}
log=${log%/}
out=.
precert=0
submit=1
name=
while [ $# -gt 0 ]; do
    case $1 in
    --ca) [ $# -ge 2 ] || usage; ca=$2; shift 2 ;;
    --log) [ $# -ge 2 ] || usage; log=${2%/}; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --precert) precert=1; shift ;;
    --no-submit) submit=0; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "issue-cert.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$name" ] || usage; name=$1; shift ;;
    esac
done
[ -n "$name" ] || { echo "issue-cert.sh: give the DNS name to certify, e.g. test.example" >&2; usage; }
case $name in
*[!A-Za-z0-9.-]*) die "\"$name\" is not a DNS name (letters, digits, dots and dashes)" ;;
esac
[ -s "$ca/ca.pem" ] && [ -s "$ca/ca.key" ] ||
    die "no test CA in $ca (run scripts/quickstart.sh, or scripts/issue-cert.sh init $ca)"
mkdir -p "$out"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=serverAuth"
    echo "subjectAltName=DNS:$name"
    echo "authorityKeyIdentifier=keyid"
    # RFC 6962 3.1: the precertificate poison, a critical extension holding NULL.
    [ $precert = 0 ] || echo "1.3.6.1.4.1.11129.2.4.3=critical,DER:05:00"
} >"$tmp/ext.cnf"
(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$out/$name.key" 2>/dev/null) || die "cannot create $out/$name.key"
openssl req -new -key "$out/$name.key" -subj "/CN=$name" -out "$tmp/req.csr" 2>/dev/null ||
    die "cannot make the certificate request"
openssl x509 -req -in "$tmp/req.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 90 -extfile "$tmp/ext.cnf" \
    -out "$out/$name.pem" 2>"$tmp/x509.err" || die "openssl x509: $(cat "$tmp/x509.err")"
b64() { openssl x509 -in "$1" -outform DER | openssl base64 -A; }
printf '{"chain":["%s","%s"]}\n' "$(b64 "$out/$name.pem")" "$(b64 "$ca/ca.pem")" \
    >"$out/$name.chain.json"
kind=certificate
[ $precert = 0 ] || kind=precertificate
echo "issue-cert.sh: issued a $kind for $name: $out/$name.pem (key $out/$name.key)" >&2
[ $submit = 1 ] || exit 0

command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"
endpoint=add-chain
[ $precert = 0 ] || endpoint=add-pre-chain
status=$(curl -sS -o "$tmp/answer" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$out/$name.chain.json" "$log/ct/v1/$endpoint") ||
    die "cannot reach the log at $log (is arbord running? --log URL)"
if [ "$status" != 200 ]; then
    die "the log refused the $kind (HTTP $status): $(cat "$tmp/answer")"
fi
cp "$tmp/answer" "$out/$name.sct.json"
cat "$out/$name.sct.json"
echo
echo "issue-cert.sh: SCT in $out/$name.sct.json; check it with" >&2
echo "  arbor-audit check-sct --cert $out/$name.pem --issuer $ca/ca.pem --sct $out/$name.sct.json --log $log --key LOG_KEY.pem" >&2
echo "  (LOG_KEY.pem: the log's public key, or arbord's key file, e.g. arbor-data/log-key.pem)" >&2
