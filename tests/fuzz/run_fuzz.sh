#!/usr/bin/env bash
# Runs one libFuzzer target: first every seed (a regression check), then fuzzing for
# SECONDS from a scratch copy of the seeds (the checked-in corpus is never written).
# Usage: run_fuzz.sh FUZZER SEED_DIR SECONDS [extra libFuzzer flags]
# A crash, leak, sanitizer report or timeout fails the run; the reproducer is kept in
# $NUDGE_FUZZ_ARTIFACTS (default: the current directory) as <target>-crash-*/leak-*/timeout-*.
# Prints one line: target, executions, coverage (edges), features and corpus size.
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
shift 3
name=$(basename "$fuzzer")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=${NUDGE_FUZZ_ARTIFACTS:-$PWD}
mkdir -p "$artifacts"
common=(-rss_limit_mb=4096 -timeout=25 -max_len=65536 "-artifact_prefix=$artifacts/$name-")
if ! "$fuzzer" "${common[@]}" -runs=0 "$seeds" "$@" >"$work/seeds.log" 2>&1; then
  tail -80 "$work/seeds.log"
  echo "$name: a seed fails"
  exit 1
fi
cp -r "$seeds/." "$work/corpus"
if ! "$fuzzer" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 "$work/corpus" "$@" >"$work/fuzz.log" 2>&1; then
  tail -80 "$work/fuzz.log"
  echo "$name: FAILED (reproducer under $artifacts)"
  exit 1
fi
done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$work/fuzz.log" | tail -1)
execs=$(grep -oE "^stat::number_of_executed_units: [0-9]+" "$work/fuzz.log" | grep -oE "[0-9]+$")
cov=$(grep -oE "cov: [0-9]+" <<<"$done_line" | grep -oE "[0-9]+")
ft=$(grep -oE "ft: [0-9]+" <<<"$done_line" | grep -oE "[0-9]+")
corpus=$(find "$work/corpus" -type f | wc -l)
echo "$name: ${seconds}s, $execs executions, 0 crashes, coverage $cov edges, $ft features, corpus $corpus"
