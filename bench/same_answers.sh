#!/usr/bin/env bash
# Same answers before and after a change to the serving layer: two `nudge` binaries (say one
# built from the commit before a refactor and one from after) each serve the same synthetic
# catalogue and history, then answer the same request log: recommendations with every
# business rule and explanation, similar items, user lookups, item writes and hides, events
# between them, error cases (unknown items, bad parameters, bad JSON) and a retrain. Every
# answer's status and body are compared byte for byte, except the fields that carry wall-clock
# time (trained_at, train_seconds, uptime).
#
#   bench/same_answers.sh OLD_NUDGE NEW_NUDGE [REQUESTS] [--allow-new-fields]   (default 2000)
# Prints how many answers were compared and exits 1 at the first difference, showing it.
# --allow-new-fields: fields only the new answer has (an additive API change) are not a difference.
set -euo pipefail
old=${1:?usage: bench/same_answers.sh OLD_NUDGE NEW_NUDGE [REQUESTS]}
new=${2:?usage: bench/same_answers.sh OLD_NUDGE NEW_NUDGE [REQUESTS]}
requests=${3:-2000}
allow_new=${4:-}
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

"$new" -q synth -o "$work/syn" --users 800 --items 400 --interactions 20000 --topics 8 --seed 11 >/dev/null

serve() {  # name, binary: starts it on a free port over a copy of the same data
  local name=$1 bin=$2
  "$bin" -q serve -d "$work/$name" --port 0 --port-file "$work/$name.port" --threads 1 --no-sync \
    -m "fusion:models=ials+twotower,ials.factors=16,ials.threads=1,twotower.epochs=3,twotower.threads=1" \
    --import "$work/syn/interactions.csv" --import-items "$work/syn/items.csv" >"$work/$name.log" 2>&1 &
  echo $! >"$work/$name.pid"
  for _ in $(seq 600); do
    [ -s "$work/$name.port" ] && return 0
    sleep 0.1
  done
  echo "FAIL: $name did not start:"; cat "$work/$name.log"; exit 1
}
serve old "$old"
serve new "$new"

python3 - "$(cat "$work/old.port")" "$(cat "$work/new.port")" "$requests" "$allow_new" <<'PY'
import http.client, json, random, sys

old_port, new_port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
allow_new = sys.argv[4] == "--allow-new-fields"
rng = random.Random(5)
clock = ["trained_at", "train_seconds", "uptime_seconds", "last_train_seconds"]

def users(): return f"u{rng.randrange(0, 900)}"  # some unknown: trending
def items(): return f"i{rng.randrange(0, 420)}"  # some unknown: 404 or created

def recommend():
    q = [f"user={users()}", f"k={rng.choice([1, 5, 10, 50])}"]
    if rng.random() < 0.3: q.append("exclude=" + ",".join(items() for _ in range(3)))
    if rng.random() < 0.2: q.append(f"category=c{rng.randrange(8):02d}")
    if rng.random() < 0.2: q.append(f"pin={items()}:{rng.randrange(1, 4)}")
    if rng.random() < 0.2: q.append(f"boost=category:c{rng.randrange(8):02d}:0.5")
    if rng.random() < 0.15: q.append("max_per_category=2")
    if rng.random() < 0.15: q.append(f"mmr={rng.choice([0.3, 0.7])}")
    if rng.random() < 0.3: q.append("explain=true")
    if rng.random() < 0.1: q.append("exclude_seen=false")
    if rng.random() < 0.05: q.append("k=0")  # 400
    return ("GET", "/v1/recommend?" + "&".join(q), None)

def log():
    kinds = [(0.45, recommend),
             (0.10, lambda: ("GET", f"/v1/similar?item={items()}&k=10" + ("&explain=true" if rng.random() < .5 else ""), None)),
             (0.08, lambda: ("GET", f"/v1/users/{users()}", None)),
             (0.20, lambda: ("POST", "/v1/events", json.dumps([{"user": users(), "item": items(),
                     "type": rng.choice(["view", "click", "purchase"]), "timestamp": 1700000000 + k} for k in range(rng.randrange(1, 4))]))),
             (0.04, lambda: ("PUT", f"/v1/items/{items()}", json.dumps({"category": f"c{rng.randrange(8):02d}", "tags": ["t1"], "price": 9.5}))),
             (0.02, lambda: ("DELETE", f"/v1/items/{items()}", None)),
             (0.03, lambda: ("PUT", f"/v1/users/{users()}", json.dumps({"age": rng.randrange(18, 70)}))),
             (0.03, lambda: ("POST", "/v1/events", rng.choice(['[{"user":"x"}]', '{"a":[[[[1]]]]}', '[{"user":"u1","item":"i1","value":-1}]', 'not json']))),
             (0.03, lambda: ("GET", rng.choice(["/v1/model", "/healthz", "/v1/nope", "/v1/recommend"]), None)),
             (0.02, lambda: ("GET", f"/v1/recommend?user={users()}&unknown=1", None))]
    for k in range(n):
        x, acc = rng.random(), 0.0
        for p, make in kinds:
            acc += p
            if x < acc: break
        yield make()
    yield ("POST", "/v1/retrain", "")
    for u in range(50): yield ("GET", f"/v1/recommend?user=u{u}&k=10&explain=true", None)

def call(conn, method, path, body):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body is not None else {})
    r = conn.getresponse()
    return r.status, r.read()

def masked(body):
    try:
        j = json.loads(body)
    except ValueError:
        return body
    def walk(v):
        if isinstance(v, dict): return {k: ("<clock>" if k in clock else walk(x)) for k, x in v.items()}
        if isinstance(v, list): return [walk(x) for x in v]
        return v
    return json.dumps(walk(j), sort_keys=False).encode()

def only_old_fields(old, new):
    try:
        o, n = json.loads(old), json.loads(new)
    except ValueError:
        return new
    def keep(o, n):
        if isinstance(o, dict) and isinstance(n, dict): return {k: keep(o[k], v) for k, v in n.items() if k in o}
        if isinstance(o, list) and isinstance(n, list) and len(o) == len(n): return [keep(x, y) for x, y in zip(o, n)]
        return n
    return json.dumps(keep(o, n)).encode()

a, b = http.client.HTTPConnection("127.0.0.1", old_port), http.client.HTTPConnection("127.0.0.1", new_port)
compared, statuses, listed = 0, {}, 0
for method, path, body in log():
    ra, rb = call(a, method, path, body), call(b, method, path, body)
    if allow_new:
        rb = (rb[0], only_old_fields(ra[1], rb[1]))
    ra, rb = (ra[0], masked(ra[1])), (rb[0], masked(rb[1]))
    compared += 1
    statuses[ra[0]] = statuses.get(ra[0], 0) + 1
    listed += path.startswith(("/v1/recommend", "/v1/similar")) and b'"items": [{' in ra[1]
    if ra != rb:
        print(f"FAIL: answer {compared} differs: {method} {path} {body or ''}\n  old {ra[0]} {ra[1][:600]!r}\n  new {rb[0]} {rb[1][:600]!r}")
        sys.exit(1)
print(f"ok: {compared} answers identical (status and body; clock fields masked): "
      f"{listed} non-empty lists, statuses {dict(sorted(statuses.items()))}")
PY
