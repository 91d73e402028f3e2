#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: a normal build
# (build/) and an AddressSanitizer + UndefinedBehaviorSanitizer build
# (build-asan/). Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

jobs=$(nproc)
scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build && ctest --output-on-failure -j"$jobs")

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
CC=clang scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DARB_SANITIZE=ON
(cd build-asan && ctest --output-on-failure -j"$jobs")
