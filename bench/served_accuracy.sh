#!/usr/bin/env bash
# Served accuracy: is what `nudge serve` answers as good as the same model evaluated offline?
#
# A synthetic set where part of the signal is only in item features (`synth --feature-noise`:
# 40% of items carry features of a random topic) is split leave-last. For each served model
# (MODELS, default: iALS and the server's default fusion of iALS and the two-tower model), a
# fresh server imports the training part with the item features, then every test user's
# top 10 is asked over HTTP and scored against their held-out item (NDCG@10, HR@10). The
# same spec is evaluated offline with `nudge eval --method leave-last` on the same split.
#
# With USER_FEATURES=1 the users' attributes (synth's segment and country) are imported too
# (`--import-users`, served to the two-tower user tower) and given to `nudge eval`.
#
#   bench/served_accuracy.sh                    # 3,000 users, 2,000 items, 60k events
#   USERS=6000 ITEMS=3700 EVENTS=200000 bench/served_accuracy.sh
#   USER_FEATURES=1 bench/served_accuracy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
nudge=${NUDGE:-build/release/tools/nudge/nudge}
[ -x "$nudge" ] || scripts/build.sh release nudge_cli
users=${USERS:-3000} items=${ITEMS:-2000} events=${EVENTS:-60000}
read -r -a models <<< "${MODELS:-ials:factors=64 default}"
import_users=() eval_users=()
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$nudge" -q synth --users "$users" --items "$items" --interactions "$events" --feature-noise 0.4 --seed 7 \
  --out "$work/synth" > /dev/null
"$nudge" -q data split -i "$work/synth/interactions.csv" --method leave-last -o "$work/split" > /dev/null
# One held-out item per test user (leave-last keeps every event of the newest item).
if [ "${USER_FEATURES:-0}" = 1 ]; then
  import_users=(--import-users "$work/synth/users.csv") eval_users=(--user-features "$work/synth/users.csv")
fi
tail -n +2 "$work/split/test.csv" | cut -d, -f1,2 | sort -u -t, -k1,1 > "$work/truth.csv"
echo "== $(wc -l < "$work/truth.csv") test users; served = asked over HTTP, offline = nudge eval, same split"
printf '%-12s %-9s %8s %8s  %s\n' model where ndcg@10 hr@10 spec

for model in "${models[@]}"; do
  rm -rf "$work/data" "$work/port"
  flags=()
  [ "$model" != default ] && flags=(-m "$model")
  "$nudge" -q serve -d "$work/data" --import "$work/split/train.csv" --import-items "$work/synth/items.csv" \
    "${import_users[@]}" "${flags[@]}" --port 0 --port-file "$work/port" > "$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 3000); do [ -s "$work/port" ] && break; sleep 0.1; done
  [ -s "$work/port" ] || { cat "$work/server.log"; exit 1; }
  url=http://127.0.0.1:$(cat "$work/port")
  spec=$(curl -s "$url/v1/model" | sed -n 's/.*"spec":"\([^"]*\)".*/\1/p')
  # rank of the held-out item in the served top 10 (0: absent), one line per user
  while IFS=, read -r user item; do
    curl -s "$url/v1/recommend?user=$user&k=10" | grep -o '"item":"[^"]*"' | cut -d'"' -f4 |
      awk -v want="$item" '$0 == want { r = NR } END { print r + 0 }'
  done < "$work/truth.csv" > "$work/ranks"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  awk -v m="$model" -v s="$spec" '{ n++; if ($1 > 0) { hit++; ndcg += log(2) / log($1 + 1) } }
    END { printf "%-12s %-9s %8.4f %8.4f  %s\n", substr(m, 1, 12), "served", ndcg / n, hit / n, s }' "$work/ranks"
  "$nudge" -q eval -i "$work/synth/interactions.csv" --item-features "$work/synth/items.csv" "${eval_users[@]}" \
    --method leave-last -k 10 -m "$spec" --json "$work/eval.json" > /dev/null
  ndcg=$(grep -o '"ndcg@10": *[0-9.e-]*' "$work/eval.json" | head -1 | sed 's/.*: *//')
  hr=$(grep -o '"hit_rate@10": *[0-9.e-]*' "$work/eval.json" | head -1 | sed 's/.*: *//')
  printf '%-12s %-9s %8.4f %8.4f\n' "$(echo "$model" | cut -c1-12)" offline "$ndcg" "$hr"
done
