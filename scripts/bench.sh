#!/usr/bin/env bash
# Runs the micro-benchmarks on a release build and prints the machine they ran on, so the
# figures in README.md and the issue notes can be reproduced.
# Usage: scripts/bench.sh [benchmark-name-regex]     e.g. scripts/bench.sh 'Ials|Bpr'
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release >/dev/null
filter="${1:-.}"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
echo "threads: all ($(nproc)) unless a benchmark says otherwise"
for b in build/release/bench/bench_*; do
  "$b" --benchmark_filter="$filter" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
    grep -E "_(mean|stddev) " || true
done
