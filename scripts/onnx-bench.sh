#!/usr/bin/env bash
# ONNX Runtime against Nudge's own scorer, on the demo shape (`nudge synth` defaults: 1M
# interactions, 6,000 users x 3,700 items), for a batch of training users:
#   scores  every item's score: the exported user graph vs the Python package's Model.score
#           (the same score_user the server calls)
#   top-10  the ten best items: the graph exported with --top-k 10 (nothing excluded) vs
#           Model.recommend(N=10, filter_already_liked_items=False)
# ONNX Runtime runs through onnxruntime-node (tests/export/ort_run.js), float32 and int8
# exports, on 1 and 2 threads. Prints users per second.
#
#   scripts/onnx-bench.sh            (after cmake --build build/release and install-deps.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build/release}
nudge=$build/tools/nudge/nudge
ort=${NUDGE_ORT_NODE_DIR:-$HOME/.cache/nudge/onnxruntime/node_modules/onnxruntime-node}
repeats=${REPEATS:-5}
python=${PYTHON:-/usr/bin/python3}  # the interpreter the module was built for (Debian's numpy)
[ -x "$nudge" ] || { echo "onnx-bench: build first ($nudge missing)" >&2; exit 1; }
[ -d "$ort" ] || { echo "onnx-bench: onnxruntime-node missing at $ort: run scripts/install-deps.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$nudge" synth -o "$work/data" >/dev/null 2>&1
data=(-i "$work/data/interactions.csv" --item-features "$work/data/items.csv" --user-features "$work/data/users.csv")
# Scoring cost depends on the shapes, not on how long the model trained: few epochs suffice.
# NeuMF's MLP runs on every (user, item) pair, so its batches are smaller.
models=("ials:factors=64:1000" "twotower:factors=32,epochs=2:1000" "neumf:factors=16,layers=64-32-16,epochs=1:100")

# Seconds per call of Model.score (scores) or Model.recommend (top-10) on the first $2 users.
nudge_seconds() {
  PYTHONPATH="$build/python" "$python" - "$@" <<'PY'
import sys, time
import numpy as np
import nudge
path, batch, threads, repeats, what = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
model = nudge.load(path)
model.num_threads = threads
users = np.arange(batch)
run = (lambda: model.score(users)) if what == "scores" else \
      (lambda: model.recommend(users, N=10, filter_already_liked_items=False))
run()
start = time.perf_counter()
for _ in range(repeats):
    run()
print((time.perf_counter() - start) / repeats)
PY
}

per_second() { python3 -c "print(f'{$1 / $2:,.0f}')"; }

echo "model | output | export | batch | threads | ONNX Runtime users/s | Nudge users/s"
for entry in "${models[@]}"; do
  spec=${entry%:*}
  batch=${entry##*:}
  kind=${spec%%:*}
  "$nudge" train "${data[@]}" -m "$spec" -o "$work/$kind.nudge" >/dev/null 2>&1
  python3 -c "import json; print(json.dumps({'user': {'type': 'int64', 'dims': [$batch], 'data': list(range($batch))}}))" \
    >"$work/scores.json"
  python3 -c "import json; print(json.dumps({'user': {'type': 'int64', 'dims': [$batch], 'data': list(range($batch))},
    'exclude_items': {'type': 'int64', 'dims': [$batch, 1], 'data': [-1] * $batch}}))" >"$work/top-10.json"
  for output in scores top-10; do
    for precision in float32 int8; do
      flags=()
      [ "$precision" = int8 ] && flags+=(--int8)
      [ "$output" = top-10 ] && flags+=(--top-k 10)
      "$nudge" export --format onnx --model-file "$work/$kind.nudge" -o "$work/$kind.onnx" "${flags[@]}" >/dev/null
      for threads in 1 2; do
        ort_s=$(node "$root/tests/export/ort_run.js" "$ort" "$work/$kind.onnx" "$work/$output.json" "$work/out" \
          "$repeats" "$threads" | python3 -c "import json, sys; print(json.load(sys.stdin)['seconds_per_run'])")
        nudge_col="(float32 only)"
        [ "$precision" = float32 ] &&
          nudge_col=$(per_second "$batch" "$(nudge_seconds "$work/$kind.nudge" "$batch" "$threads" "$repeats" "$output")")
        echo "$kind | $output | $precision | $batch | $threads | $(per_second "$batch" "$ort_s") | $nudge_col"
      done
    done
  done
done
