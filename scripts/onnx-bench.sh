#!/usr/bin/env bash
# ONNX Runtime against Nudge's own scorer, on the demo shape (`nudge synth` defaults: 1M
# interactions, 6,000 users x 3,700 items): every item's score for a batch of training users,
# from the exported ONNX user graph (onnxruntime-node, tests/export/ort_run.js) and from the
# model file in Nudge (the Python package's Model.score, the same score_user the server
# calls), float32 and int8 exports, on 1 and 2 threads. Prints users scored per second.
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

echo "model | export | batch | threads | ONNX Runtime users/s | Nudge users/s"
for entry in "${models[@]}"; do
  spec=${entry%:*}
  batch=${entry##*:}
  kind=${spec%%:*}
  "$nudge" train "${data[@]}" -m "$spec" -o "$work/$kind.nudge" >/dev/null 2>&1
  python3 -c "import json; print(json.dumps({'user': {'type': 'int64', 'dims': [$batch], 'data': list(range($batch))}}))" \
    >"$work/users.json"
  for precision in float32 int8; do
    flag=()
    [ "$precision" = int8 ] && flag=(--int8)
    "$nudge" export --format onnx --model-file "$work/$kind.nudge" -o "$work/$kind.onnx" "${flag[@]}" >/dev/null
    for threads in 1 2; do
      ort_s=$(node "$root/tests/export/ort_run.js" "$ort" "$work/$kind.onnx" "$work/users.json" "$work/out.f32" \
        "$repeats" "$threads" | python3 -c "import json, sys; print(json.load(sys.stdin)['seconds_per_run'])")
      nudge_s=$(PYTHONPATH="$build/python" "$python" - "$work/$kind.nudge" "$batch" "$threads" "$repeats" <<'PY'
import sys, time
import numpy as np
import nudge
model = nudge.load(sys.argv[1])
model.num_threads = int(sys.argv[3])
users, repeats = np.arange(int(sys.argv[2])), int(sys.argv[4])
model.score(users)
start = time.perf_counter()
for _ in range(repeats):
    model.score(users)
print((time.perf_counter() - start) / repeats)
PY
)
      [ "$precision" = int8 ] && nudge_col="(float32 only)" || nudge_col=$(python3 -c "print(f'{$batch / $nudge_s:,.0f}')")
      echo "$kind | $precision | $batch | $threads | $(python3 -c "print(f'{$batch / $ort_s:,.0f}')") | $nudge_col"
    done
  done
done
