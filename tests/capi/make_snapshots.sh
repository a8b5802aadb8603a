#!/usr/bin/env bash
# Test fixture: synthetic data -> iALS model -> float and int8 snapshots, via the real CLI.
# Usage: make_snapshots.sh path/to/nudge OUT_DIR
set -euo pipefail
nudge="$1"
out="$2"
mkdir -p "$out"
"$nudge" -q synth --users 2000 --items 1500 --interactions 60000 --seed 11 --out "$out/data" >/dev/null
"$nudge" -q train -i "$out/data/interactions.csv" -m "ials:factors=32,iterations=8" -o "$out/model.nudge" >/dev/null
"$nudge" -q export --model-file "$out/model.nudge" -o "$out/float.snap" >/dev/null
"$nudge" -q export --model-file "$out/model.nudge" -o "$out/int8.snap" --int8 >/dev/null
