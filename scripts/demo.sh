#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs the main job on the built-in
# synthetic data: generate a MovieLens-1M-sized dataset, inspect it, split it.
# Output goes to ./nudge-demo (override with NUDGE_DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
nudge=build/release/tools/nudge/nudge
out="${NUDGE_DEMO_DIR:-nudge-demo}"

echo "== 1. synthetic data: 6,000 users x 3,700 items, 1M events with planted tastes"
"$nudge" synth --users 6000 --items 3700 --interactions 1000000 --seed 42 --out "$out/data"

echo "== 2. load it back as a user would (with features), and report"
"$nudge" data stats -i "$out/data/interactions.csv" --item-features "$out/data/items.csv" \
  --user-features "$out/data/users.csv"

echo "== 3. train / validation / test split (leave the last item of each user out)"
"$nudge" data split -i "$out/data/interactions.csv" --method leave-last --validation-fraction 0.1 \
  --out "$out/split"

echo "== done: files in $out/"
