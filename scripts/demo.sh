#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs the main job on the built-in
# synthetic data: generate a MovieLens-1M-sized dataset, inspect it, compare every ranking
# model against popularity, train one and answer with it, the rating models on explicit
# ratings, then neural and feature-aware models and their fusion, serving, tuning, replay, an online
# experiment, the HTML report and ONNX export. Output goes to ./nudge-demo (override with NUDGE_DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
nudge=build/release/tools/nudge/nudge
out="${NUDGE_DEMO_DIR:-nudge-demo}"

echo "== 1. synthetic data: 6,000 users x 3,700 items, 1M events with planted tastes"
"$nudge" synth --users 6000 --items 3700 --interactions 1000000 --seed 42 --out "$out/data"

echo "== 2. load it back as a user would (with features) and report"
"$nudge" data stats -i "$out/data/interactions.csv" --item-features "$out/data/items.csv" \
  --user-features "$out/data/users.csv"

echo "== 3. every ranking model vs popularity: random 80/20 split, full ranking of unseen items"
"$nudge" eval -i "$out/data/interactions.csv" -m popularity -m itemknn -m userknn -m ials -m bpr -m ease \
  -k 10 -k 20 --json "$out/eval.json"

echo "== 4. train iALS on everything, recommend for a known user, a new user's history, similar items"
"$nudge" train -i "$out/data/interactions.csv" -m "ials:factors=64,iterations=15" -o "$out/ials.nudge"
"$nudge" recommend --model-file "$out/ials.nudge" -u u1 -k 5
"$nudge" recommend --model-file "$out/ials.nudge" --history i12 i40 i77 -k 5
"$nudge" similar --model-file "$out/ials.nudge" -i i12 -k 5

echo "== 5. explicit ratings (1-5): SVD and SVD++, 5-fold cross-validated RMSE/MAE"
"$nudge" -q synth --ratings --users 6000 --items 3700 --interactions 1000000 --seed 42 --out "$out/ratings" >/dev/null
"$nudge" eval -i "$out/ratings/interactions.csv" --protocol rating --folds 5 -m svd -m svdpp

echo "== 6. features + behaviour: CF, NeuMF, the two-tower feature model and their fusion"
echo "   (40% of items carry features of a random topic: part of the signal is only in co-occurrence)"
"$nudge" -q synth --users 3000 --items 2000 --interactions 60000 --feature-noise 0.4 --seed 7 --out "$out/hybrid" >/dev/null
"$nudge" eval -i "$out/hybrid/interactions.csv" --item-features "$out/hybrid/items.csv" \
  --user-features "$out/hybrid/users.csv" -k 10 -m popularity -m ials:factors=32 -m neumf -m twotower:epochs=10 \
  -m fusion:models=ials+twotower,ials.factors=32,twotower.epochs=10 \
  -m fusion:models=ials+twotower,ials.factors=32,twotower.epochs=10,method=learned

echo "== 7. serve the fused model (iALS + two-tower, the default when items have features): import the"
echo "   hybrid set of step 6, then ask over HTTP (docs/api.md); events and new items count at once"
rm -rf "$out/serve-data" "$out/port"
"$nudge" -q serve -d "$out/serve-data" --import "$out/hybrid/interactions.csv" --import-items "$out/hybrid/items.csv" \
  --port 0 --port-file "$out/port" > "$out/serve.log" 2>&1 &
server=$!
for _ in $(seq 600); do [ -s "$out/port" ] && break; sleep 0.2; done
url=http://127.0.0.1:$(cat "$out/port")
curl -s "$url/healthz"; echo
curl -s "$url/v1/model"; echo
curl -s "$url/v1/recommend?user=u1&k=3&explain=true"; echo
curl -s -XPOST "$url/v1/events" -d '[{"user":"visitor","item":"i12","type":"purchase"},{"user":"visitor","item":"i40"}]'; echo
curl -s "$url/v1/recommend?user=visitor&k=5&max_per_category=2"; echo
curl -s -XPUT "$url/v1/items/brand-new" -d '{"category":"c03","tags":["t1"],"price":12.5}'; echo
curl -s "$url/v1/similar?item=brand-new&k=3"; echo
kill -TERM "$server"; wait "$server" || true

echo "== 8. tune iALS for 2 minutes (Hyperband on a validation split carved from train; the test split"
echo "   compares the defaults with the best spec), replay a drifting event log through the serving engine"
echo "   (test-then-train, retrain every 30 days of event time), and one HTML report of it all"
scripts/report-demo.sh "$out"

echo "== 9. an online experiment in nudge serve: iALS against popularity for 2,000 simulated users,"
echo "   as an A/B test and interleaved; clicks carry the answer's rec_id (docs/serving.md)"
scripts/experiment-demo.sh "$out"

echo "== 10. the iALS model of step 4 as ONNX graphs (docs/formats/onnx.md; each passes the ONNX checker):"
echo "   scores of known users, and the fold-in of a history; int8 item matrices for the smaller file"
"$nudge" export --format onnx --model-file "$out/ials.nudge" -o "$out/ials.onnx"
"$nudge" export --format onnx --graph history --model-file "$out/ials.nudge" -o "$out/ials-history.onnx"
"$nudge" export --format onnx --int8 --model-file "$out/ials.nudge" -o "$out/ials-int8.onnx"

echo "== done: files in $out/"
