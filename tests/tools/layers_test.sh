#!/usr/bin/env bash
# scripts/check-layers.sh passes on this tree and fails, naming file:line, on a copy where a
# lower module includes a higher one, or a file includes a header of no module.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
check="$repo/scripts/check-layers.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
passed=0 failed=0
expect() {  # expect NAME CONDITION-COMMAND...
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}

"$check" "$repo" >/dev/null 2>&1
expect "this tree follows the graph" test $? -eq 0

cp -r "$repo/src" "$repo/include" "$dir/"
sed -i '1i #include "nudge/serve/engine.h"' "$dir/src/data/csr.cc"
err=$("$check" "$dir" 2>&1); rc=$?
expect "data including serve fails" test $rc -eq 1
expect "the failure names file:line and the modules" grep -qF 'src/data/csr.cc:1: data may not include "nudge/serve/engine.h" (serve)' <<<"$err"

cp "$repo/src/data/csr.cc" "$dir/src/data/csr.cc"
sed -i '1i #include "nudge/registry.h"' "$dir/include/nudge/recommender.h"
err=$("$check" "$dir" 2>&1); rc=$?
expect "a public header including upwards fails" test $rc -eq 1
expect "its message" grep -qF 'include/nudge/recommender.h:1: models may not include "nudge/registry.h" (fusion)' <<<"$err"

cp "$repo/include/nudge/recommender.h" "$dir/include/nudge/recommender.h"
touch "$dir/include/nudge/stray.h"
err=$("$check" "$dir" 2>&1); rc=$?
expect "an unplaced public header fails" test $rc -eq 1

echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
