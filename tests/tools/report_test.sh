#!/usr/bin/env bash
# nudge report as a browser shows it: eval and tune results on synthetic data rendered to an
# HTML file, which must be well-formed XML (python3), hold one SVG per plot, and render in
# headless Chromium to a screenshot with no console messages.
# Usage: report_test.sh path/to/nudge
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
for tool in chromium python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh installs it)"; exit 1; }
done

"$nudge" -q synth --users 400 --items 300 --interactions 12000 --seed 3 --out "$dir/syn" >/dev/null
"$nudge" -q eval -i "$dir/syn/interactions.csv" -m popularity -m "ials:factors=16" -m "bpr:epochs=5" -k 5 -k 10 \
  --json "$dir/eval.json" --report "$dir/direct.html" >/dev/null
check "eval --report writes the report" test -s "$dir/direct.html"
"$nudge" -q tune -i "$dir/syn/interactions.csv" -m "ials:factors=8" --trials 5 --budget 0 --json "$dir/tune.json" >/dev/null
"$nudge" -q report "$dir/eval.json" "$dir/tune.json" -o "$dir/report.html" --title "report test"
check "report exits 0" test $? -eq 0
# precision, recall, ndcg, hit rate @K; accuracy vs time; coverage; ARP; training curves; tuning.
check "one SVG per plot" test "$(grep -c '<svg ' "$dir/report.html")" -eq 9
check "the report is well-formed XML" python3 -c "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])" "$dir/report.html"
check "nothing is fetched" test "$(grep -cE '(src|href)=' "$dir/report.html")" -eq 0

# Headless Chromium: a screenshot, and the page's console messages in the log (there must be none).
timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$dir/profile" \
  --enable-logging=stderr --v=0 --window-size=1240,2800 --screenshot="$dir/report.png" \
  "file://$dir/report.html" >"$dir/chromium.out" 2>"$dir/chromium.err"
check "chromium renders the report" test $? -eq 0
check "the screenshot is a PNG" test "$(head -c 8 "$dir/report.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a"
check "the screenshot is not blank" test "$(stat -c %s "$dir/report.png")" -gt 50000
check "no console messages" test "$(grep -c 'CONSOLE' "$dir/chromium.err")" -eq 0

ReportBad="$dir/bad.json"
echo '[{"model": "m", "metrics": {"ndcg@10": "x"}}]' >"$ReportBad"
err=$("$nudge" -q report "$ReportBad" -o "$dir/bad.html" 2>&1); rc=$?
check "a bad input file is named" test $rc -eq 1 -a "$err" = "nudge: error: invalid argument: $ReportBad: [0].metrics.ndcg@10: expected a number"

echo "report: $passed passed, $failed failed"
test "$failed" -eq 0
