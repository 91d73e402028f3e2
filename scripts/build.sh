#!/usr/bin/env bash
# Configures and builds one build directory.
#   scripts/build.sh [DIR] [extra cmake args...]
# DIR defaults to build/. Warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DARB_WERROR=ON "$@" >/dev/null
ninja -C "$dir" -j"$(nproc)" >&2
