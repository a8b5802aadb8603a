#!/usr/bin/env bash
# README command 2: installs dependencies, builds, runs the whole test suite.
# Usage: scripts/test.sh [release|debug|asan|tsan ...]
# Default: release (every test, the crash soak and replicas scenarios), asan (clang-14
# ASan/UBSan: every test but the deep-model quality tests, the NeuMF/MLP/sasrec same-seed contract
# cases (NeuMF's own tests stay), the tuning quality and search-order tests (tune's other
# cases stay), the long Kafka failover cases, the replicas scenario and the module-graph
# script, which run in release, and the fusion hot-swap stress case, which TSan runs; the glue code
# (tests, CLI, HTTP/JSON/Kafka/Redis wiring) is compiled at -O0 there, see CMakeLists.txt;
# then each libFuzzer target on its seeds and fuzzing for NUDGE_FUZZ_SECONDS, default 20),
# tsan (the in-process serve tests: store, engine, HTTP API and server, the
# cluster; not librdkafka, which TSan cannot follow), then the embedded core
# cross-built for aarch64 under qemu. The default run starts with the style check
# (scripts/lint.sh: clang-format on every file, clang-tidy on the sources changed since the
# commit recorded in .lint-clean, where the whole tree last passed it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ $# -eq 0 ]; then
  echo "== style: clang-format, clang-tidy"
  start=$SECONDS
  base=$(cat .lint-clean 2>/dev/null || true)
  if [ -n "$base" ] && git rev-parse -q --verify "$base^{commit}" >/dev/null; then
    scripts/lint.sh --since "$base"
  else
    scripts/lint.sh  # no history to compare with (a shallow clone): every source
  fi
  echo "== style: $((SECONDS - start)) s"
fi
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan tsan)
for preset in "${presets[@]}"; do
  echo "== build + test: $preset"
  start=$SECONDS
  case "$preset" in
    tsan) scripts/build.sh tsan serve_tests ;;  # only what its tests need
    asan)
      cmake --preset asan -DNUDGE_FUZZ_SECONDS="${NUDGE_FUZZ_SECONDS:-20}" >/dev/null
      scripts/build.sh asan
      ;;
    *) scripts/build.sh "$preset" ;;
  esac
  ctest --preset "$preset"
  echo "== $preset: $((SECONDS - start)) s"
done
if [ $# -eq 0 ]; then
  echo "== cross build + test: embedded core on aarch64 (qemu-user)"
  scripts/cross-test-aarch64.sh
fi
