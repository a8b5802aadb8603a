#!/usr/bin/env bash
# Screenshots of every page of the web console (docs/console.md, the README), taken in headless
# Chromium (scripts/cdp.py) from a live nudge serve on synthetic data with an A/B experiment,
# some traffic for the charts and a replay result for the Evaluation page. Prints the page's
# weight and each page's time to ready.
#   scripts/console-screenshots.sh [NUDGE_BINARY] [OUT_DIR]   (defaults: the release build, docs/images)
set -euo pipefail
cd "$(dirname "$0")/.."
nudge=$(realpath "${1:-build/release/tools/nudge/nudge}")
out=$(realpath -m "${2:-docs/images}")
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
"$nudge" -q synth -o "$work/syn" --users 2000 --items 600 --interactions 60000 --topics 8 --seed 5 >/dev/null
mkdir -p "$work/data/evaluation"
"$nudge" -q replay -i "$work/syn/interactions.csv" -m ials:factors=16 --retrain-every-events 10000 \
  --json "$work/data/evaluation/replay.json" >/dev/null
cat >"$work/serve.toml" <<'TOML'
[server]
history_interval_s = 1
[experiment]
name = "fusion-vs-ials"
[[experiment.arm]]
name = "control"
[[experiment.arm]]
name = "ials"
spec = "ials:factors=32"
TOML
"$nudge" -q serve -d "$work/data" -c "$work/serve.toml" --port 0 --port-file "$work/port" \
  --import "$work/syn/interactions.csv" --import-items "$work/syn/items.csv" >"$work/log" 2>&1 &
echo $! >"$work/pid"
for _ in $(seq 1200); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/log"; exit 1; }
python3 - "$(cat "$work/port")" "$out" <<'PY'
import http.client, json, os, random, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "scripts"))
from cdp import Browser

port, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(1)
def call(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    r = c.getresponse(); data = r.read(); c.close()
    return r.status, data
# Ten seconds of traffic: recommendations, clicks on them (attributed to the arms), events.
for second in range(10):
    for _ in range(60):
        u = f"u{rng.randrange(1, 2000)}"
        _, body = call("GET", f"/v1/recommend?user={u}&k=10")
        answer = json.loads(body)
        if answer.get("items") and rng.random() < 0.3:
            item = answer["items"][rng.randrange(len(answer["items"]))]["item"]
            call("POST", "/v1/events", json.dumps({"user": u, "item": item, "type": "click", "rec_id": answer["rec_id"]}))
    time.sleep(1)
status, page = call("GET", "/ui/")
print(f"page weight: {len(page)} bytes in one request")
with Browser(width=1280, height=900) as b:
    for name, fragment in [("overview", "#overview"), ("users", "#users?user=u7"), ("items", "#items?category=c03"),
                           ("experiments", "#experiments"), ("evaluation", "#evaluation")]:
        started = time.monotonic()
        b.navigate(f"http://127.0.0.1:{port}/ui/{'index.html' if name in ('users', 'experiments') else ''}{fragment}")
        b.wait_for("document.getElementById('page').dataset.ready === '1'")
        if name == "users":  # the what-if flow, as an operator would try it
            first = b.eval("document.querySelector('#current tbody tr td:nth-child(2) a').textContent")
            b.eval(f"document.querySelector('#whatif input[name=item]').value = {json.dumps(first)};"
                   "document.querySelector('#whatif select').value = 'purchase';"
                   "document.querySelector('#whatif button').click(); true")
            b.wait_for("document.getElementById('page').dataset.whatif")
        ready_ms = (time.monotonic() - started) * 1000
        b.screenshot(os.path.join(out, f"console-{name}.png"))
        print(f"{name}: ready in {ready_ms:.0f} ms (navigation to drawn page), errors {b.errors or 'none'}")
PY
ls -la "$out"/console-*.png | awk '{print $5, $9}'
