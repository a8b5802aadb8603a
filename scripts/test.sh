#!/usr/bin/env bash
# README command 2: installs dependencies, builds, runs the whole test suite.
# Usage: scripts/test.sh [release|debug|asan ...]   (default: release, then asan)
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
