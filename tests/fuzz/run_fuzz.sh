#!/usr/bin/env bash
# Runs one libFuzzer target: first every seed (a regression check), then fuzzing for
# SECONDS from a scratch copy of the seeds (the checked-in corpus is never written).
# Usage: run_fuzz.sh FUZZER SEED_DIR SECONDS [extra libFuzzer flags]
# A crash, leak, sanitizer report or timeout fails the run; the reproducer is kept in
# $NUDGE_FUZZ_ARTIFACTS (default: the current directory) as crash-*/leak-*/timeout-*.
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=${NUDGE_FUZZ_ARTIFACTS:-$PWD}
mkdir -p "$artifacts"
common=(-rss_limit_mb=4096 -timeout=25 -max_len=65536 "-artifact_prefix=$artifacts/$(basename "$fuzzer")-")
"$fuzzer" "${common[@]}" -runs=0 "$seeds" "$@" 2>"$work/seeds.log" || { cat "$work/seeds.log"; exit 1; }
cp -r "$seeds/." "$work/corpus"
"$fuzzer" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 "$work/corpus" "$@" 2>"$work/fuzz.log" \
  || { tail -80 "$work/fuzz.log"; exit 1; }
grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$work/fuzz.log" | tr '\n' ' '
echo
