#!/usr/bin/env bash
# test_install.sh BUILD_DIR VERSION
#
# Installs the build into a temporary prefix with `cmake --install` and checks
# what a user or a distribution package gets: the three programs run from the
# prefix (--version, --version --json, --help); the man pages are installed
# where man finds them and render without a groff warning, with the sections a
# reader expects; the systemd unit starts the installed arbord with the
# installed config, passes `systemd-analyze verify` and its hardening rates OK
# in `systemd-analyze security`; the example config, pointed at a temporary
# data directory and a free port, starts the installed arbord, which answers
# /status, reloads on SIGHUP and stops cleanly on SIGTERM. A second install
# keeps an edited config; a DESTDIR install with prefix /usr puts the config
# in /etc and the unit names /usr/bin/arbord.
set -euo pipefail

build=$1
version=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/arbor-install.XXXXXX")
arbord_pid=
cleanup() {
  if [ -n "$arbord_pid" ]; then kill -KILL "$arbord_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# check [--show FILE] DESCRIPTION COMMAND...: the command must succeed (FILE
# is printed when it does not).
check() {
  local show=
  if [ "$1" = --show ]; then show=$2; shift 2; fi
  local what=$1; shift
  if "$@"; then
    echo "ok: $what"
  else
    fail "$what"
    if [ -n "$show" ] && [ -s "$show" ]; then sed 's/^/    /' "$show" >&2; fi
  fi
}
has() { grep -qF -- "$2" "$1"; } # has FILE TEXT
not_has() { ! grep -qF -- "$2" "$1"; } # not_has FILE TEXT

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"

# The programs.
for p in arbord arbor-wallet arbor-audit; do
  check "$p installed" test -x "$prefix/bin/$p"
  out=$("$prefix/bin/$p" --version)
  check "$p --version" test "$out" = "$p $version"
  out=$("$prefix/bin/$p" --version --json)
  check "$p --version --json" test "$out" = "{\"program\":\"$p\",\"version\":\"$version\"}"
  "$prefix/bin/$p" --help > "$tmp/help.txt"
  check "$p --help" grep -q "^usage: $p" "$tmp/help.txt"
done

# The man pages: where man looks, rendered without warnings, all sections.
for page in arbord:8:--log-roots:SIGHUP arbor-wallet:1:ARBOR_PASSPHRASE:mine \
            arbor-audit:1:verify-headers:follow; do
  IFS=: read -r name sect word1 word2 <<< "$page"
  file=$prefix/share/man/man$sect/$name.$sect
  check "$name($sect) installed" test -s "$file"
  groff -man -Tutf8 -ww -z "$file" 2> "$tmp/groff.err" || fail "groff $name"
  check --show "$tmp/groff.err" "$name($sect) renders without groff warnings" \
    test ! -s "$tmp/groff.err"
  MANWIDTH=80 man -l "$file" 2> "$tmp/man.err" | col -b > "$tmp/man.txt"
  check --show "$tmp/man.err" "man -l $name prints no warning" test ! -s "$tmp/man.err"
  for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" "SEE ALSO" "$word1" "$word2"; do
    check "$name($sect) has $s" has "$tmp/man.txt" "$s"
  done
  check "$name($sect) names its program" grep -q "^ *$name - " "$tmp/man.txt"
  MANWIDTH=80 man -M "$prefix/share/man" "$sect" "$name" 2>/dev/null | col -b > "$tmp/man2.txt"
  check "man -M PREFIX/share/man $sect $name finds it" cmp -s "$tmp/man.txt" "$tmp/man2.txt"
done

# The systemd unit.
unit=$prefix/lib/systemd/system/arbord.service
check "unit installed" test -s "$unit"
check "unit starts the installed arbord with the installed config" \
  grep -qx "ExecStart=$prefix/bin/arbord --config $prefix/etc/arbor/arbord.conf" "$unit"
for line in "ExecReload=/bin/kill -HUP \$MAINPID" DynamicUser=yes StateDirectory=arbord \
            ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" SystemCallFilter=@system-service \
            MemoryDenyWriteExecute=yes LockPersonality=yes CapabilityBoundingSet= \
            RestartPreventExitStatus=2; do
  check "unit has $line" grep -qxF -- "$line" "$unit"
done
# verify looks the Documentation= man page up with man: give it the prefix's.
if MANPATH=$prefix/share/man systemd-analyze verify "$unit" > "$tmp/verify.txt" 2>&1; then
  check --show "$tmp/verify.txt" "systemd-analyze verify says nothing" \
    test ! -s "$tmp/verify.txt"
else
  fail "systemd-analyze verify: $(cat "$tmp/verify.txt")"
fi
systemd-analyze security --offline=true "$unit" > "$tmp/security.txt" 2>&1 || true
check --show "$tmp/security.txt" "systemd-analyze security rates the unit OK or better" \
  grep -Eq "Overall exposure level for arbord.service: [0-9.]+ (SAFE|OK)" "$tmp/security.txt"

# The example config: the same file in the docs and as the live config.
conf=$prefix/etc/arbor/arbord.conf
check "config installed" cmp -s "$conf" "$prefix/share/doc/arbor/arbord.conf.example"
sed -e "s|^datadir *=.*|datadir = $tmp/data|" -e "s|^listen *=.*|listen = 127.0.0.1:0|" \
  "$conf" > "$tmp/arbord.conf"
check "config adapted (datadir)" grep -qx "datadir = $tmp/data" "$tmp/arbord.conf"
check "config adapted (listen)" grep -qx "listen = 127.0.0.1:0" "$tmp/arbord.conf"
# The files exist before the loop below reads them (the background shell may
# not have opened them yet, and a failed sed would end the script under -e).
: > "$tmp/arbord.out"
: > "$tmp/arbord.err"
"$prefix/bin/arbord" --config "$tmp/arbord.conf" --json > "$tmp/arbord.out" 2> "$tmp/arbord.err" &
arbord_pid=$!
port=
for _ in $(seq 1 1200); do
  port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$tmp/arbord.out")
  [ -n "$port" ] && break
  kill -0 "$arbord_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  fail "arbord did not start from the example config: $(cat "$tmp/arbord.err")"
else
  curl -sf "http://127.0.0.1:$port/status" > "$tmp/status.json" || fail "GET /status"
  check "/status: network from the config" has "$tmp/status.json" '"network":"main"'
  check "listening line: the adapted datadir" has "$tmp/arbord.out" "\"datadir\":\"$tmp/data\""
  check "/status: no filesystem path" not_has "$tmp/status.json" '"datadir"'
  check "store in the data directory" test -d "$tmp/data/db"
  kill -HUP "$arbord_pid"
  for _ in $(seq 1 600); do
    grep -q "SIGHUP" "$tmp/arbord.err" && break
    sleep 0.1
  done
  check --show "$tmp/arbord.err" "SIGHUP reloads (logged)" grep -q "SIGHUP: " "$tmp/arbord.err"
  check "still serving after SIGHUP" curl -sf -o /dev/null "http://127.0.0.1:$port/status"
  kill -TERM "$arbord_pid"
  rc=0
  wait "$arbord_pid" || rc=$?
  arbord_pid=
  check --show "$tmp/arbord.err" "SIGTERM: exit 0" test "$rc" -eq 0
  check "stopped event" grep -q '"event":"stopped"' "$tmp/arbord.out"
fi

# A second install keeps the administrator's config.
echo "# edited" >> "$conf"
cp "$conf" "$tmp/edited.conf"
cmake --install "$build" --prefix "$prefix" > "$tmp/install2.log"
check "second install keeps the edited config" cmp -s "$conf" "$tmp/edited.conf"
check "second install says so" grep -q "Keeping: $conf" "$tmp/install2.log"

# A package build: DESTDIR with prefix /usr (the config in /etc).
DESTDIR=$tmp/stage cmake --install "$build" --prefix /usr > "$tmp/install3.log"
check "DESTDIR: program" test -x "$tmp/stage/usr/bin/arbord"
check "DESTDIR: config in /etc" test -s "$tmp/stage/etc/arbor/arbord.conf"
check "DESTDIR: unit names /usr/bin/arbord and /etc" grep -qx \
  "ExecStart=/usr/bin/arbord --config /etc/arbor/arbord.conf" \
  "$tmp/stage/usr/lib/systemd/system/arbord.service"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
