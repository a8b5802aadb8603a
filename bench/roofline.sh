#!/usr/bin/env bash
# The scoring hot path as a share of this machine's roofline (issue 31): runs bench_scoring
# (one thread) and prints each path's throughput next to what the machine reaches for the
# same kind of work: FLOP/s of a square sgemm for the products, read bandwidth for top-k.
#
#   bench/roofline.sh            (after scripts/build.sh release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build/release}
bench=$build/bench/bench_scoring
[ -x "$bench" ] || { echo "roofline: build first ($bench missing)" >&2; exit 1; }
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$bench" --benchmark_format=json --benchmark_min_time=0.5 >"$json" 2>/dev/null
python3 - "$json" <<'PY'
import json, sys
runs = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
gemm = runs["BM_RooflineGemm"]["flop_per_s"]
dram = runs["BM_RooflineRead"]["bytes_per_second"]
l2 = runs["BM_RooflineReadL2"]["bytes_per_second"]
print(f"roofline, one core: sgemm {gemm / 1e9:.1f} GFLOP/s; read {dram / 1e9:.1f} GB/s from memory, "
      f"{l2 / 1e9:.1f} GB/s from L2")
print()
print("| path (54,542 items x 64 factors) | time | throughput | share of roofline |")
print("|---|---|---|---|")
def row(name, what):
    b = runs[name]
    t = b["real_time"]
    tu = b["time_unit"]
    if "flop_per_s" in b:
        f = b["flop_per_s"]
        users = b.get("users_per_s")
        extra = f", {users:,.0f} users/s" if users else ""
        print(f"| {what} | {t:,.1f} {tu} | {f / 1e9:.1f} GFLOP/s{extra} | {100 * f / gemm:.0f} % of sgemm |")
    else:
        bw = b["bytes_per_second"]
        print(f"| {what} | {t:,.1f} {tu} | {bw / 1e9:.1f} GB/s | {100 * bw / l2:.0f} % of L2 read, "
              f"{100 * bw / dram:.0f} % of memory read |")
row("BM_RooflineGemmShape", "Eigen product in the scoring shape (64 x 64 x 54,542, untiled)")
row("BM_ScoreUserGemv", "one user: score_user (matrix-vector)")
row("BM_ScoreUsersBlock", "64 users: score_users (score_by_product, tiled)")
row("BM_RankUsersBlock", "64 users scored + top-10 each (rank_users' work)")
row("BM_TopK10Of54k", "top-10 of one user's scores (top_k)")
PY
