#!/usr/bin/env bash
# README command 2: installs dependencies, builds, runs the whole test suite.
# Usage: scripts/test.sh [release|debug|asan ...]
# Default: release, then asan, then the embedded core cross-built for aarch64 under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan)
for preset in "${presets[@]}"; do
  echo "== build + test: $preset"
  scripts/build.sh "$preset"
  ctest --preset "$preset"
done
if [ $# -eq 0 ]; then
  echo "== cross build + test: embedded core on aarch64 (qemu-user)"
  scripts/cross-test-aarch64.sh
fi
