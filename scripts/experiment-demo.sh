#!/usr/bin/env bash
# An online experiment end to end through `nudge serve`, with simulated users: iALS (the main
# model) against popularity, first as an A/B test, then interleaved. Each simulated user asks
# for 10 items and clicks an item with probability 0.6 x (the share of the item's category in
# the user's history) / log2(rank + 2); a click becomes a purchase with probability 0.2. The
# events carry the answer's rec_id; GET /v1/experiments then reports per arm (saved as
# OUT_DIR/experiment/ab.json and interleave.json).
# Usage: scripts/experiment-demo.sh [OUT_DIR]   (after scripts/build.sh release; default nudge-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
nudge=build/release/tools/nudge/nudge
out="${1:-nudge-demo}/experiment"
rm -rf "$out"
mkdir -p "$out"
"$nudge" -q synth --users 3000 --items 2000 --interactions 60000 --seed 7 --out "$out/data" >/dev/null

for mode in ab interleave; do
  cat >"$out/$mode.toml" <<EOF
[model]
spec = "ials:factors=32"
[retrain]
interval_s = 0
after_events = 0
[experiment]
name = "ials-vs-popularity"
mode = "$mode"
seed = 1
[[experiment.arm]]
name = "ials"
[[experiment.arm]]
name = "popularity"
spec = "popularity"
EOF
  rm -f "$out/port"
  "$nudge" -q serve -c "$out/$mode.toml" -d "$out/$mode-data" --no-sync --port 0 --port-file "$out/port" \
    --import "$out/data/interactions.csv" --import-items "$out/data/items.csv" >"$out/$mode.log" 2>&1 &
  server=$!
  for _ in $(seq 600); do [ -s "$out/port" ] && break; sleep 0.2; done
  url=http://127.0.0.1:$(cat "$out/port")
  echo "== $mode: 2000 simulated users, one list of 10 each"
  python3 - "$url" "$out/data" "$out/$mode.json" <<'PY'
import csv, json, math, random, sys, urllib.request
url, data, saved = sys.argv[1], sys.argv[2], sys.argv[3]
category = {r["item_id"]: r["category"] for r in csv.DictReader(open(f"{data}/items.csv"))}
taste = {}
for r in csv.DictReader(open(f"{data}/interactions.csv")):
    taste.setdefault(r["user_id"], {}).setdefault(category[r["item_id"]], 0)
    taste[r["user_id"]][category[r["item_id"]]] += 1
rng = random.Random(42)
for u in range(1, 2001):
    user = f"u{u}"
    answer = json.load(urllib.request.urlopen(f"{url}/v1/recommend?user={user}&k=10"))
    total = sum(taste[user].values())
    events = []
    for rank, rec in enumerate(answer["items"]):
        share = taste[user].get(category[rec["item"]], 0) / total
        if rng.random() < 0.6 * share / math.log2(rank + 2):
            events.append({"user": user, "item": rec["item"], "type": "click", "rec_id": answer["rec_id"]})
            if rng.random() < 0.2:
                events.append({"user": user, "item": rec["item"], "type": "purchase", "rec_id": answer["rec_id"]})
    if events:
        request = urllib.request.Request(f"{url}/v1/events", json.dumps(events).encode(), method="POST")
        urllib.request.urlopen(request).read()
report = json.load(urllib.request.urlopen(f"{url}/v1/experiments"))["experiments"][0]
json.dump(report, open(saved, "w"), indent=1)
print(f"{'arm':<11}{'lists':>7}{'clicks':>8}{'CTR':>8}  {'95% CI':<17}{'conv.':>6}{'wins':>6}  p")
for a in report["arms"]:
    p = a.get("p_value_vs_control")
    print(f"{a['name']:<11}{a['impressions']:>7}{a['clicks']:>8}{a['ctr']:>8.3f}  "
          f"[{a['ctr_ci95'][0]:.3f}, {a['ctr_ci95'][1]:.3f}]{a['conversions']:>6}{a.get('wins', ''):>6}  "
          f"{'' if p is None else f'{p:.2g}'}")
if "interleaving" in report:
    i = report["interleaving"]
    print(f"ties {i['ties']}, preference {i['preference']:+.3f} (> 0 favours {report['arms'][0]['name']}), "
          f"sign test p = {i['p_value']:.2g}")
PY
  kill -TERM "$server"
  wait "$server" || true
done
