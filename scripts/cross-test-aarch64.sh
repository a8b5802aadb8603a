#!/usr/bin/env bash
# Cross-builds the embedded core (nudge_embed, its C test and example) for aarch64 and runs
# them under qemu-user on snapshots made by the host build; then checks that the aarch64
# build answers fixed queries with exactly the host's items and scores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
host=build/release
[ -x "$host/tools/nudge/nudge" ] || scripts/build.sh release
snaps=build/aarch64-snapshots
tests/capi/make_snapshots.sh "$host/tools/nudge/nudge" "$snaps"
cmake -S . -B build/aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DNUDGE_EMBED_ONLY=ON -DNUDGE_WERROR=ON \
  -DNUDGE_SNAPSHOT_DIR="$PWD/$snaps" >/dev/null
cmake --build build/aarch64 -j "$(nproc)"
file build/aarch64/tests/capi/capi_test | grep -q "ARM aarch64" || { echo "not an aarch64 binary" >&2; exit 1; }
ctest --test-dir build/aarch64 --output-on-failure
run_arm=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
"$host/tests/capi/capi_test" "$snaps/float.snap" "$snaps/int8.snap" --print | grep '^ref' >"$snaps/host.ref"
"${run_arm[@]}" build/aarch64/tests/capi/capi_test "$snaps/float.snap" "$snaps/int8.snap" --print | grep '^ref' >"$snaps/aarch64.ref"
if diff -q "$snaps/host.ref" "$snaps/aarch64.ref" >/dev/null; then
  echo "aarch64: $(wc -l <"$snaps/host.ref") reference answers identical to the host's"
else
  diff "$snaps/host.ref" "$snaps/aarch64.ref" | head -20
  echo "aarch64: answers differ from the host's" >&2
  exit 1
fi
