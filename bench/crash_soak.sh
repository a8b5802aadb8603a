#!/usr/bin/env bash
# Crash soak, benchmark form: `nudge serve` killed with SIGKILL at random moments (150 ms to
# 1.2 s after it comes up) while clients post durable events, for CYCLES cycles; after each
# kill the store must open cleanly and hold every acknowledged event. Prints each cycle and
# the totals (events lost must be 0). The test suite runs the same program for 5 cycles.
#   bench/crash_soak.sh [build-dir]     (environment: CYCLES=100 CLIENTS=8 SEED=42)
set -euo pipefail
build=${1:-build/release}
cmake --build "$build" --target crash_soak nudge_cli >/dev/null
"$build/tests/scenarios/crash_soak" "$build/tools/nudge/nudge" --cycles "${CYCLES:-100}" --clients "${CLIENTS:-8}" \
  --seed "${SEED:-42}"
