#!/usr/bin/env bash
# The feature-aware model on MovieLens-1M-shaped data (issue 30). `nudge synth --preset
# movielens-1m` (6,040 users, 3,706 items, 1M ratings, popularity Gini .65, weak genres and
# user attributes, half of consecutive events in the same second), each user's newest item
# held out (leave-last, ties in file order), every unseen item ranked. Compares the
# two-tower model (softmax by default, and its WARP loss) with popularity, item-KNN, iALS,
# EASE and the fusions.
#
#   bench/feature_model.sh                               # the full preset (about 3 minutes on 2 cores)
#   PRESET=movielens-1m-small bench/feature_model.sh     # a quarter of the users
set -euo pipefail
cd "$(dirname "$0")/.."
nudge=${NUDGE:-build/release/tools/nudge/nudge}
[ -x "$nudge" ] || scripts/build.sh release nudge_cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$nudge" -q synth --preset "${PRESET:-movielens-1m}" -o "$work/data"
"$nudge" -q eval -i "$work/data/interactions.csv" --item-features "$work/data/items.csv" \
  --user-features "$work/data/users.csv" --method leave-last -k 10 \
  -m popularity -m itemknn -m ials -m ease -m twotower -m twotower:loss=warp -m fusion \
  -m fusion:models=ease+ials+twotower,split=leave-last
