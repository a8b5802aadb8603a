#!/usr/bin/env bash
# Distributed training measured (docs/scale-out.md): nudge-train-mpi on 1, 2 and 3 ranks of
# this machine against single-node nudge train, on MovieLens-1M-shaped synthetic data.
#
#   bench/mpi_train.sh [BUILD_DIR]      (default build/release)
#
# iALS: seconds per iteration, bytes each rank sends (the tool's count) and bytes that crossed
# loopback (/proc/net/dev, launch traffic included). Two-tower: NDCG@10 on a held-out 20 %
# for single-node and 3 ranks averaging every 1, 5 or 40 epochs (40: once, at the end), with
# the training time. Ranks talk TCP over loopback, as they would between machines.
set -euo pipefail
build=${1:-build/release}
nudge=$build/tools/nudge/nudge
mpi=$build/tools/nudge-train-mpi/nudge-train-mpi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# --bind-to none: a rank's threads may use every core (Open MPI binds each rank to one by default).
mpirun_lo=(mpirun --oversubscribe --bind-to none --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
lo_bytes() { awk '$1 == "lo:" { printf "%.0f\n", $10 }' /proc/net/dev; }  # bytes sent over loopback
seconds_of() { sed -n 's/.* in \([0-9.]*\)s.*/\1/p' "$1" | tail -1; }

"$nudge" -q synth --preset movielens-1m -o "$work/ml" >/dev/null
iterations=10
spec="ials:factors=64,iterations=$iterations"
echo "iALS ($spec) on $(($(wc -l <"$work/ml/interactions.csv") - 1)) events, $(nproc) cores"
"$nudge" -q train -i "$work/ml/interactions.csv" -m "$spec" -o "$work/single.nudge" >"$work/single.out"
printf '  single-node nudge train: %.3f s/iteration\n' "$(echo "$(seconds_of "$work/single.out") / $iterations" | bc -l)"
for ranks in 1 2 3; do
  before=$(lo_bytes)
  "${mpirun_lo[@]}" -np "$ranks" "$mpi" -q -i "$work/ml/interactions.csv" -m "$spec" -o "$work/mpi$ranks.nudge" \
    >"$work/mpi$ranks.out"
  after=$(lo_bytes)
  sent=$(sed -n 's/.* \([0-9.]*\) MB training.*/\1/p' "$work/mpi$ranks.out")
  printf '  %d rank(s): %.3f s/iteration, %.2f MB sent per rank per iteration, %.1f MB over loopback in all\n' \
    "$ranks" "$(echo "$(seconds_of "$work/mpi$ranks.out") / $iterations" | bc -l)" \
    "$(echo "$sent / $iterations" | bc -l)" "$(echo "($after - $before) / 1000000" | bc -l)"
done

"$nudge" -q synth --preset movielens-1m-small -o "$work/small" >/dev/null
"$nudge" -q data split -i "$work/small/interactions.csv" --out "$work/split" >/dev/null
features=(--item-features "$work/small/items.csv" --user-features "$work/small/users.csv")
tower="twotower:factors=64"
echo "two-tower ($tower) on the movielens-1m-small preset, NDCG@10 on a random 20 %"
"$nudge" -q train -i "$work/split/train.csv" "${features[@]}" -m "$tower" -o "$work/tower1.nudge" >"$work/tower1.out"
files=("$work/tower1.nudge")
labels=("single-node: $(seconds_of "$work/tower1.out") s")
for every in 1 5 40; do
  "${mpirun_lo[@]}" -np 3 "$mpi" -q -i "$work/split/train.csv" "${features[@]}" -m "$tower" --average-every "$every" \
    -o "$work/tower3-$every.nudge" >"$work/tower3-$every.out"
  files+=("$work/tower3-$every.nudge")
  labels+=("3 ranks, averaging every $every epochs: $(seconds_of "$work/tower3-$every.out") s")
done
args=()
for f in "${files[@]}"; do args+=(--model-file "$f"); done
"$nudge" -q eval --train "$work/split/train.csv" --test "$work/split/test.csv" -m popularity "${args[@]}" -k 10 \
  --json "$work/eval.json" >/dev/null
printf '  popularity: NDCG@10 %.4f\n' "$(jq '.[0].metrics."ndcg@10"' "$work/eval.json")"
for k in "${!files[@]}"; do
  printf '  %s, NDCG@10 %.4f\n' "${labels[$k]}" "$(jq ".[$((k + 1))].metrics.\"ndcg@10\"" "$work/eval.json")"
done
