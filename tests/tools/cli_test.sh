#!/usr/bin/env bash
# The nudge CLI as a user meets it: commands succeed, files appear, errors are one clear line
# with a non-zero exit. Usage: cli_test.sh path/to/nudge
set -uo pipefail
nudge="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
passed=0
failed=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

"$nudge" -q synth --users 300 --items 200 --interactions 6000 --seed 7 --out "$dir/syn" >"$dir/synth.out"
check "synth exits 0" test $? -eq 0
check "synth writes interactions" test "$(wc -l <"$dir/syn/interactions.csv")" -eq 6001
check "synth writes items" test "$(wc -l <"$dir/syn/items.csv")" -eq 201
check "synth prints stats" grep -q "interactions           6000" "$dir/synth.out"

"$nudge" -q data stats -i "$dir/syn/interactions.csv" --item-features "$dir/syn/items.csv" --json >"$dir/stats.json"
check "stats json" grep -q '"interactions": 6000' "$dir/stats.json"

"$nudge" -q data split -i "$dir/syn/interactions.csv" --method leave-last --validation-fraction 0.1 --out "$dir/split" >/dev/null
check "split writes three files" test -f "$dir/split/train.csv" -a -f "$dir/split/validation.csv" -a -f "$dir/split/test.csv"
rows=$(( $(wc -l <"$dir/split/train.csv") + $(wc -l <"$dir/split/validation.csv") + $(wc -l <"$dir/split/test.csv") - 3 ))
check "split keeps every row" test "$rows" -eq 6000

"$nudge" -q data split -i "$dir/syn/interactions.csv" --folds 3 --out "$dir/folds" >/dev/null
check "k-fold files" test -f "$dir/folds/fold-3-test.csv"

out=$("$nudge" params ials)
check "params lists a model's keys with bounds and defaults" grep -q "factors  *integer in \[1, 4096\]  *default 64" <<<"$out"
err=$("$nudge" params nope 2>&1 >/dev/null); rc=$?
check "params of an unknown model exits 1" test $rc -eq 1
check "params of an unknown model names the known ones" grep -qF "unknown model 'nope' (known: popularity, itemknn" <<<"$err"

printf 'user,item,rating\nu1,i1,4\nu2,i2,x\n' >"$dir/bad.csv"
"$nudge" -q data stats -i "$dir/bad.csv" --rejects "$dir/rejects.tsv" >/dev/null
check "non-strict run succeeds" test $? -eq 0
check "rejects file names the line" grep -q "bad.csv:3	field 'value' (column 'rating'): not a number: 'x'" "$dir/rejects.tsv"

err=$("$nudge" -q data stats -i "$dir/bad.csv" --strict 2>&1 >/dev/null); rc=$?
check "strict exits 1" test $rc -eq 1
check "strict error is one line naming the place" test "$err" = "nudge: error: invalid argument: $dir/bad.csv:3: field 'value' (column 'rating'): not a number: 'x'"

err=$("$nudge" -q data stats -i "$dir/missing.csv" 2>&1); rc=$?
check "missing file exits 1" test $rc -eq 1
check "missing file message" test "$err" = "nudge: error: I/O error: cannot open '$dir/missing.csv': No such file or directory"

err=$("$nudge" -q data stats -i "$dir/bad.csv" --format xls 2>&1); rc=$?
check "bad format exits 1" test $rc -eq 1
check "bad format lists formats" test "$err" = "nudge: error: invalid argument: unknown input format 'xls' (known: auto, csv, tsv, jsonl, ml-100k, ml-1m, ml-csv)"


# Models: train, recommend (known user, fold-in history), similar, eval.
"$nudge" -q train -i "$dir/syn/interactions.csv" -m "ials:factors=8,iterations=3" -o "$dir/m.nudge" >"$dir/train.out"
check "train exits 0" test $? -eq 0
check "train reports" grep -q "trained ials (factors=8,iterations=3) on 6000 interactions" "$dir/train.out"
"$nudge" -q recommend --model-file "$dir/m.nudge" -u u1 -k 5 >"$dir/rec.out"
check "recommend lists 5 items" test "$(grep -c '^ ' "$dir/rec.out")" -eq 5
seen=$(awk -F, '$1=="u1"{print $2}' "$dir/syn/interactions.csv")
clash=0
for i in $(awk '/^ /{print $2}' "$dir/rec.out"); do echo "$seen" | grep -qx "$i" && clash=1; done
check "recommend excludes seen items" test $clash -eq 0
"$nudge" -q recommend --model-file "$dir/m.nudge" --history i1 i2 i3 -k 3 >"$dir/hist.out"
check "fold-in recommend" test "$(grep -c '^ ' "$dir/hist.out")" -eq 3
# A new user by attributes alone: the two-tower model trained with user features.
"$nudge" -q train -i "$dir/syn/interactions.csv" --item-features "$dir/syn/items.csv" \
  --user-features "$dir/syn/users.csv" -m "twotower:factors=8,epochs=2,threads=1" -o "$dir/tt.nudge" >/dev/null
"$nudge" -q recommend --model-file "$dir/tt.nudge" --attributes '{"segment":"s01"}' -k 4 >"$dir/attr.out"
check "recommend by attributes" test "$(grep -c '^ ' "$dir/attr.out")" -eq 4
err=$("$nudge" -q recommend --model-file "$dir/tt.nudge" --attributes '[1,2]' 2>&1); rc=$?
check "bad attributes exit 1" test $rc -eq 1
check "bad attributes message" test "$err" = "nudge: error: --attributes: not a JSON object with string, boolean or number fields"
"$nudge" -q similar --model-file "$dir/m.nudge" -i i1 -k 4 >"$dir/sim.out"
check "similar lists 4" test "$(grep -c '^ ' "$dir/sim.out")" -eq 4
err=$("$nudge" -q recommend --model-file "$dir/m.nudge" -u nobody 2>&1); rc=$?
check "unknown user exits 1" test $rc -eq 1
check "unknown user message" test "$err" = "nudge: error: unknown user 'nobody' (use --history for users the model has not seen)"
head -c 100 "$dir/m.nudge" >"$dir/cut.nudge"
err=$("$nudge" -q recommend --model-file "$dir/cut.nudge" -u u1 2>&1); rc=$?
check "truncated model exits 1" test $rc -eq 1
check "truncated model message" grep -q "cut.nudge: payload is 76 bytes, header says" <<<"$err"
err=$("$nudge" -q train -i "$dir/syn/interactions.csv" -m "ials:factors=-1" -o "$dir/x.nudge" 2>&1); rc=$?
check "bad parameter exits 1" test $rc -eq 1
check "bad parameter message" test "$err" = "nudge: error: invalid argument: ials: parameter 'factors' must be an integer in [1, 4096], got '-1'"

# Specs are checked before any data is read: the model is named, not the missing file.
err=$("$nudge" -q eval -i "$dir/missing.csv" -m popularity -m "ials:factrs=8" 2>&1); rc=$?
check "bad spec before data exits 1" test $rc -eq 1
check "bad spec before data message" grep -q "ials: unknown parameter 'factrs'" <<<"$err"
err=$("$nudge" -q eval -i "$dir/missing.csv" -m popularity --method sideways 2>&1); rc=$?
check "bad split method before data" grep -q "sideways" <<<"$err"
"$nudge" -q eval -i "$dir/syn/interactions.csv" -m popularity -m "ials:factors=8,iterations=3" -k 10 --json "$dir/eval.json" >"$dir/eval.out"
check "eval exits 0" test $? -eq 0
check "eval table has both models" test "$(grep -cE '^(popularity|ials)' "$dir/eval.out")" -eq 2
check "eval json" grep -q '"ndcg@10"' "$dir/eval.json"
# A predefined split, MovieLens u1.base/u1.test style (tab, no header); item 4 is only in test.
# Popularity ranks each user's unseen items: user 1 {3, 4} -> 3 hit at rank 1; user 2 {2, 4}
# -> 2 at rank 1; user 3 {3, 4} -> 4 at rank 2. So hit@1 = 2/3, ndcg@2 = (1 + 1 + 1/log2 3)/3
# = 0.8770, mrr@2 = (1 + 1 + 1/2)/3 = 0.8333.
printf '1\t1\t5\t100\n1\t2\t5\t101\n2\t1\t5\t102\n2\t3\t5\t103\n3\t1\t5\t104\n3\t2\t5\t105\n' >"$dir/u1.base"
printf '1\t3\t5\t200\n2\t2\t5\t201\n3\t4\t5\t202\n' >"$dir/u1.test"
"$nudge" -q eval --train "$dir/u1.base" --test "$dir/u1.test" -m popularity -k 1 -k 2 --json "$dir/pre.json" >/dev/null
check "predefined split exits 0" test $? -eq 0
check "predefined split: hand-computed metrics" test "$(jq -c '.[0].metrics | [."hit_rate@1", ."ndcg@2", ."mrr@2"] | map(. * 10000 | round)' "$dir/pre.json")" = "[6667,8770,8333]"
check "predefined split: every test user" test "$(jq '.[0].users_evaluated' "$dir/pre.json")" -eq 3
# A model file trained elsewhere, evaluated on the same split: the fitted popularity's
# answers, except user 3's test item 4, which the file does not know (left out, said so).
"$nudge" -q train -i "$dir/u1.base" -m popularity -o "$dir/u1.nudge" >/dev/null
"$nudge" eval --train "$dir/u1.base" --test "$dir/u1.test" -m popularity --model-file "$dir/u1.nudge" -k 1 --json "$dir/file.json" >/dev/null 2>"$dir/file.err"
check "model file evaluated" test "$(jq -c '[.[1].model == "'"$dir/u1.nudge"'", .[1].metrics."hit_rate@1", .[1].users_evaluated]' "$dir/file.json")" = "[true,1,2]"
check "model file: unknown IDs said" grep -q "1 events of users or items the model does not know are left out" "$dir/file.err"
err=$("$nudge" -q eval -i "$dir/syn/interactions.csv" --model-file "$dir/u1.nudge" 2>&1); rc=$?
check "--model-file needs a predefined split" test $rc -eq 1 -a "$err" = "nudge: error: --model-file is evaluated on a predefined split (--train, --test) with --protocol full"
"$nudge" -q eval --train "$dir/u1.base" --validation "$dir/u1.test" --test "$dir/u1.test" -m popularity -k 1 --json "$dir/prev.json" >/dev/null
check "validation file gives a second result" test "$(jq -r '.[0].protocol + "|" + .[1].protocol' "$dir/prev.json")" = "full validation|full"
# NCF layout: 0-based IDs, test.negative lists each test pair's negatives. Popularity in
# train: item 0 and 2 twice, 1 and 4 once. (0,2) beats its negative 4; (1,1) ties with 4,
# and a tie counts against the positive: hit@1 = 1/2.
printf '0\t0\t1\t1\n0\t1\t1\t2\n1\t0\t1\t3\n3\t2\t1\t4\n3\t4\t1\t5\n4\t2\t1\t6\n' >"$dir/train.rating"
printf '0\t2\t1\t9\n1\t1\t1\t9\n' >"$dir/test.rating"
printf '(0,2)\t4\n(1,1)\t4\n' >"$dir/test.negative"
"$nudge" -q eval --train "$dir/train.rating" --test "$dir/test.rating" --protocol sampled --negatives-file "$dir/test.negative" -m popularity -k 1 --json "$dir/ncf.json" >/dev/null
check "NCF split with given negatives" test "$(jq -c '[.[0].protocol, .[0].metrics."hit_rate@1"]' "$dir/ncf.json")" = '["sampled(given)",0.5]'
err=$("$nudge" -q eval -i "$dir/syn/interactions.csv" --train "$dir/u1.base" --test "$dir/u1.test" 2>&1); rc=$?
check "-i with split files is refused" test $rc -eq 1 -a "$err" = "nudge: error: invalid argument: give either -i FILE (split here) or --train/--test files, not both"
err=$("$nudge" -q eval --train "$dir/u1.base" 2>&1); rc=$?
check "--train without --test is refused" test $rc -eq 1 -a "$err" = "nudge: error: invalid argument: a predefined split needs both --train and --test"
: >"$dir/empty.test"
err=$("$nudge" -q eval --train "$dir/u1.base" --test "$dir/empty.test" 2>&1); rc=$?
check "an empty test file is named" test $rc -eq 1 -a "$err" = "nudge: error: invalid argument: $dir/empty.test: no interactions to use"
err=$("$nudge" -q eval 2>&1); rc=$?
check "eval without data says what to give" test $rc -eq 1 -a "$err" = "nudge: error: invalid argument: no data: give -i FILE, or a predefined split with --train FILE --test FILE"
# tune: a few trials, the best spec printed ready for `nudge train -m`, every trial in JSON.
"$nudge" -q tune -i "$dir/syn/interactions.csv" -m "ials:factors=8" --trials 6 --budget 0 --json "$dir/tune.json" >"$dir/tune.out"
check "tune exits 0" test $? -eq 0
check "tune prints the best spec to paste" grep -qE "^best: nudge train -m 'ials:[^']*factors=8" "$dir/tune.out"
check "tune compares defaults and tuned on test" test "$(grep -cE '^(defaults|tuned) ' "$dir/tune.out")" -eq 2
check "tune writes every trial" test "$(jq '.trials | length' "$dir/tune.json")" -eq 6
check "tune JSON has the test comparison" test "$(jq '.test | has("default") and has("best")' "$dir/tune.json")" = true
"$nudge" -q tune --train "$dir/u1.base" --test "$dir/u1.test" -m popularity --trials 2 --budget 0 >/dev/null
check "tune on a predefined split" test $? -eq 0
err=$("$nudge" -q tune -i "$dir/syn/interactions.csv" --budget soon 2>&1); rc=$?
check "a bad budget is named" test $rc -eq 1 -a "$err" = "nudge: error: --budget: expected a duration like 90s, 10m or 1h, got 'soon'"
err=$("$nudge" -q tune -i "$dir/syn/interactions.csv" -s "ials.factors=0..8" --trials 2 2>&1); rc=$?
check "a range the model refuses is named" test $rc -eq 1 -a "$err" = "nudge: error: invalid argument: search range 'factors=0..8': ials: parameter 'factors' must be an integer in [1, 4096], got '0'"
# replay: prequential through the serving engine, windows of event time, JSON for the report.
"$nudge" -q replay -i "$dir/syn/interactions.csv" -m "ials:factors=8,iterations=3" --window 30d --retrain-every 45d --json "$dir/replay.json" >"$dir/replay.out"
check "replay exits 0" test $? -eq 0
check "replay prints windows and totals" grep -qE "^hr@10 [0-9.]+  ndcg@10 [0-9.]+$" "$dir/replay.out"
check "replay scores every event after the warm-up" test "$(jq '.scored + .repeats + .warmup_events == .events' "$dir/replay.json")" = true
check "replay retrains on event time" test "$(jq '.retrains' "$dir/replay.json")" -ge 2
"$nudge" -q report "$dir/replay.json" -o "$dir/replay.html"
check "the report draws a replay" grep -q "<h2>Replay</h2>" "$dir/replay.html"
err=$("$nudge" -q replay -i "$dir/syn/interactions.csv" --retrain-every weekly 2>&1); rc=$?
check "a bad --retrain-every is named" test $rc -eq 1 -a "$err" = "nudge: error: --retrain-every: expected a duration like 12h or 7d, got 'weekly'"
err=$("$nudge" -q replay -i "$dir/u1.base" --timestamp-unit s --map user=1,item=2 2>&1); rc=$?
check "replay needs timestamps" test $rc -eq 1 -a "$err" = "nudge: error: $dir/u1.base: no timestamps: replay plays events in time order"
"$nudge" -q eval -i "$dir/syn/interactions.csv" -m itemknn --folds 3 -k 10 >"$dir/folds.out"
check "k-fold eval shows mean±std" grep -q "±" "$dir/folds.out"
"$nudge" -q eval -i "$dir/syn/interactions.csv" -m itemknn --protocol sampled --method leave-last -k 10 >"$dir/sampled.out"
check "sampled eval" grep -q "sampled(100)" "$dir/sampled.out"

"$nudge" -q export --model-file "$dir/m.nudge" -o "$dir/m.snap" --int8 >"$dir/export.out"
check "export int8" grep -q "(int8) -> $dir/m.snap" "$dir/export.out"
"$nudge" -q train -i "$dir/syn/interactions.csv" -m itemknn -o "$dir/knn.nudge" >/dev/null
err=$("$nudge" -q export --model-file "$dir/knn.nudge" -o "$dir/k.snap" 2>&1); rc=$?
check "export of a non-ials model exits 1" test $rc -eq 1
check "export explains" test "$err" = "nudge: error: export supports ials models; '$dir/knn.nudge' holds a itemknn model"
"$nudge" -q export --format onnx --model-file "$dir/m.nudge" -o "$dir/m.onnx" >"$dir/onnx.out"
check "onnx export" grep -q "exported ials (user graph, float32) -> $dir/m.onnx" "$dir/onnx.out"
check "onnx file written" test -s "$dir/m.onnx"
err=$("$nudge" -q export --format onnx --model-file "$dir/knn.nudge" -o "$dir/k.onnx" 2>&1); rc=$?
check "onnx export of itemknn explains" test $rc -eq 1 -a "$err" = "nudge: error: invalid argument: onnx export: itemknn models have no ONNX form (exportable: ials, bpr, svd, svdpp, gmf, mlp, neumf, twotower, sasrec, fusion of those)"
err=$("$nudge" -q export --format onnx --graph fold --model-file "$dir/m.nudge" -o "$dir/k.onnx" 2>&1); rc=$?
check "a bad --graph exits 1" test $rc -eq 1
check "no file after a refused export" test ! -e "$dir/k.onnx"
"$nudge" -q export --format onnx --top-k 5 --model-file "$dir/m.nudge" -o "$dir/top.onnx" >/dev/null
check "onnx top-k export" test -s "$dir/top.onnx"
err=$("$nudge" -q export --top-k 5 --model-file "$dir/m.nudge" -o "$dir/k.snap" 2>&1); rc=$?
check "--top-k is an onnx option" test $rc -eq 1 -a "$err" = "nudge: error: --graph and --top-k are options of --format onnx"
for bad in -1 1e400 ten; do
  "$nudge" -q export --format onnx --top-k "$bad" --model-file "$dir/m.nudge" -o "$dir/bad.onnx" >/dev/null 2>&1
  check "--top-k $bad exits 1" test $? -eq 1
done
check "no file after a bad --top-k" test ! -e "$dir/bad.onnx"

"$nudge" --help >/dev/null
check "help exits 0" test $? -eq 0
"$nudge" bogus >/dev/null 2>&1
check "unknown command exits 1" test $? -eq 1

# Argument errors exit 1 before anything runs (no out-of-range port or k slips through).
for args in "serve --port 99999" "serve --port -5" "serve --threads 5000" "recommend --model-file $dir/m.nudge -u u1 -k -1" \
            "recommend --model-file $dir/m.nudge -u u1 -k 0" "train --no-such-flag" "synth --users 0"; do
  # shellcheck disable=SC2086
  timeout 20 "$nudge" -q $args >"$dir/arg.out" 2>&1
  check "'$args' exits 1" test $? -eq 1
done

# Scale-out parts that cannot be reached stop `nudge serve` at start, naming them.
printf '[kafka]\nbrokers = "127.0.0.1:1"\nstartup_timeout_ms = 1000\n[kafka.properties]\n"log_level" = "0"\n' >"$dir/kafka.toml"
err=$(timeout 20 "$nudge" -q serve -c "$dir/kafka.toml" -d "$dir/serve-kafka" --port 0 2>&1); rc=$?
check "serve with an unreachable Kafka exits 1" test $rc -eq 1
check "serve names the brokers" grep -q "kafka: topic 'nudge-events' on 127.0.0.1:1: brokers did not answer" <<<"$err"
err=$(timeout 20 "$nudge" -q serve --redis 127.0.0.1:1 -d "$dir/serve-redis" --port 0 2>&1); rc=$?
check "serve with an unreachable Redis exits 1" test $rc -eq 1
check "serve names Redis" grep -q "redis 127.0.0.1:1" <<<"$err"
err=$(timeout 20 "$nudge" -q serve --redis 127.0.0.1:1 --trainer -d "$dir/serve-redis" --port 0 2>&1); rc=$?
check "a trainer without --model-dir exits 1" grep -q "cluster.model_dir" <<<"$err"
err=$(timeout 20 "$nudge" -q serve --redis 127.0.0.1:1 --advertise 10.0.0.7:8080 -d "$dir/serve-redis" --port 0 2>&1)
check "an --advertise that is not a URL is named" grep -q "cluster.advertise" <<<"$err"

# Hostile data files: invalid UTF-8, overflowing weights, absurd timestamps are rejected rows
# (named by file:line), never stored; the read still succeeds with the good rows.
printf 'user,item,value,timestamp\nu1,i1,1,1600000000\nu1,bad\xff,1,1600000000\nu2,i2,1e308,1600000000\nu3,i3,1,1000000000000000000\nu4,i4,1,1600000000\n' >"$dir/hostile.csv"
"$nudge" -q data stats -i "$dir/hostile.csv" --rejects "$dir/hostile.tsv" >"$dir/hostile.out"
check "hostile rows: read succeeds" test $? -eq 0
check "hostile rows: three rejected" test "$(wc -l <"$dir/hostile.tsv")" -eq 3
check "hostile rows: invalid UTF-8 named" grep -q "hostile.csv:3	.*not valid UTF-8" "$dir/hostile.tsv"
check "hostile rows: overflowing weight named" grep -q "hostile.csv:4	.*out of range" "$dir/hostile.tsv"
check "hostile rows: timestamp named" grep -q "hostile.csv:5	.*out of range" "$dir/hostile.tsv"
err=$("$nudge" -q data stats -i "$dir/hostile.csv" --strict 2>&1 >/dev/null); rc=$?
check "hostile rows: strict exits 1" test $rc -eq 1
check "hostile rows: strict names line 3" grep -q "hostile.csv:3:" <<<"$err"
err=$(timeout 20 "$nudge" -q recommend --model-file /dev/zero -u u1 2>&1); rc=$?
check "model file /dev/zero exits 1" test $rc -eq 1

# nudge store: check, backup, restore, repair on a store made by an import; -d '' refused.
"$nudge" -q serve -d "$dir/store" --import "$dir/syn/interactions.csv" --import-only -m popularity >/dev/null 2>&1
out=$("$nudge" store check "$dir/store"); rc=$?
check "store check of a good store exits 0" test $rc -eq 0
check "store check counts the events" grep -q "events 6000 (sequence up to 6000, acknowledged 6000)" <<<"$out"
"$nudge" -q store backup "$dir/store" "$dir/store-backup" >/dev/null
check "store backup exits 0" test $? -eq 0
err=$("$nudge" store backup "$dir/store" "$dir/store-backup" 2>&1); rc=$?
check "store backup over an existing directory exits 1" test $rc -eq 1
check "store backup names the directory" grep -q "store-backup exists; give a new directory" <<<"$err"
rm "$dir/store/events/CURRENT"
err=$(timeout 20 "$nudge" -q serve -d "$dir/store" --port 0 2>&1); rc=$?
check "serve refuses a store without CURRENT" test $rc -eq 1
check "serve names the missing CURRENT and the repair" grep -q "CURRENT is missing.*nudge store repair" <<<"$err"
err=$("$nudge" store check "$dir/store" 2>&1); rc=$?
check "store check of a damaged store exits 1" test $rc -eq 1
out=$("$nudge" store repair "$dir/store"); rc=$?
check "store repair exits 0" test $rc -eq 0
check "store repair keeps a copy" grep -q "copied the store to $dir/store/events.before-repair-" <<<"$out"
check "store repair brings every event back" grep -q "events 6000 " <<<"$out"
out=$("$nudge" store restore "$dir/store-backup" "$dir/store"); rc=$?
check "store restore exits 0" test $rc -eq 0
check "store restore moves the old directory aside" grep -q "moved the old $dir/store to $dir/store.before-restore-" <<<"$out"
check "the restored store checks" "$nudge" -q store check "$dir/store"
err=$(timeout 20 "$nudge" -q serve -d '' --port 0 2>&1); rc=$?
check "serve -d '' exits 1" test $rc -eq 1
check "serve -d '' names the flag" grep -q -- "--data-dir: an empty path" <<<"$err"

echo "cli: $passed passed, $failed failed"
test "$failed" -eq 0
