#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz) for SECONDS each (default 60), as many at once as
# there are cores, from the sanitizer build (built here if needed). Reproducers of any crash
# land in build/fuzz-artifacts/. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
scripts/build.sh asan
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^nudge_fuzz(\([a-z_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
fi
export NUDGE_FUZZ_ARTIFACTS=$PWD/build/fuzz-artifacts
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
printf '%s\n' "${targets[@]}" |
  xargs -P "$(nproc)" -I{} sh -c "tests/fuzz/run_fuzz.sh build/asan/tests/fuzz/{} tests/fuzz/corpus/{} $seconds >$log/{}.out 2>&1; echo \$? >$log/{}.rc"
failed=0
for t in "${targets[@]}"; do
  tail -1 "$log/$t.out"
  [ "$(cat "$log/$t.rc")" = 0 ] || { failed=1; tail -40 "$log/$t.out"; }
done
exit $failed
