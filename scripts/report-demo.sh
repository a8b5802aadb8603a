#!/usr/bin/env bash
# Tune, replay and report on the demo data, as the README shows them: eval six models at
# three cut-offs, tune iALS for 2 minutes, replay a drifting event log through the serving
# engine, write the HTML report and its screenshot (headless Chromium).
#   scripts/report-demo.sh [DIR]      (default nudge-demo; DIR/data is generated when missing)
# Needs the release build (scripts/build.sh release).
set -euo pipefail
cd "$(dirname "$0")/.."
nudge=build/release/tools/nudge/nudge
out="${1:-nudge-demo}"
[ -f "$out/data/interactions.csv" ] ||
  "$nudge" -q synth --users 6000 --items 3700 --interactions 1000000 --seed 42 --out "$out/data" >/dev/null
"$nudge" eval -i "$out/data/interactions.csv" -m popularity -m itemknn -m ials -m bpr -m ease -m twotower \
  -k 5 -k 10 -k 20 --json "$out/report-eval.json"
"$nudge" tune -i "$out/data/interactions.csv" -m ials --budget 2m --json "$out/tune.json"
"$nudge" -q synth --users 6000 --items 3700 --interactions 300000 --drift 1 --seed 42 --out "$out/drift" >/dev/null
"$nudge" replay -i "$out/drift/interactions.csv" -m ials --retrain-every 30d --window 15d --json "$out/replay.json"
"$nudge" report "$out/report-eval.json" "$out/tune.json" "$out/replay.json" -o "$out/report.html" \
  --title "Nudge demo: 1M synthetic events"
NUDGE_SHOT_SIZE=1240,1500 scripts/report-screenshot.sh "$out/report.html" "$out/report.png"
echo "report: $out/report.html, screenshot: $out/report.png"
