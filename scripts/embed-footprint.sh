#!/usr/bin/env bash
# Measures the embedded core's footprint on the issue #7 budget: a 100k-item x 64-factor
# int8 snapshot served by examples/embed_demo (one process, one core): file sizes, time per
# top-5 call and peak resident memory (VmHWM).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release >/dev/null
nudge=build/release/tools/nudge/nudge
dir=build/footprint
mkdir -p "$dir"
# Enough events, spread widely enough (Zipf 0.8), that all 100k items appear in training.
"$nudge" -q synth --users 50000 --items 100000 --interactions 3000000 --zipf 0.8 --seed 5 --out "$dir/data" >/dev/null
"$nudge" -q train -i "$dir/data/interactions.csv" -m "ials:factors=64,iterations=5" -o "$dir/model.nudge" >/dev/null
"$nudge" -q export --model-file "$dir/model.nudge" -o "$dir/float.snap"
"$nudge" -q export --model-file "$dir/model.nudge" -o "$dir/int8.snap" --int8
ids=$(awk -F, 'NR>1 && NR<=21 {print $2}' "$dir/data/interactions.csv" | tr '\n' ' ')
for snap in int8 float; do
  echo "== $snap"
  taskset -c 0 build/release/examples/embed_demo "$dir/$snap.snap" $ids | tail -1
done
