#!/usr/bin/env bash
# Configures and builds one preset (default: release), optionally only some targets.
# Usage: scripts/build.sh [release|debug|asan|tsan] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "${targets[@]}"
