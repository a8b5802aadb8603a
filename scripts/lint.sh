#!/usr/bin/env bash
# The house style, checked (docs/style.md, practice 13):
#   - clang-format (.clang-format) over every C and C++ file: any difference fails;
#   - clang-tidy (.clang-tidy: naming, bug-prone patterns) over the sources of src/ and
#     tools/, and the project headers they include. Tests are exempt from clang-tidy: GoogleTest
#     names its classes Suite_Name_Test.
# Usage: scripts/lint.sh [--since REV] [--fix]
#   --since REV  clang-tidy only the sources changed since REV, and those that include a
#                changed header (clang-format always checks everything: it takes seconds)
#   --fix        rewrite files with clang-format instead of failing
# clang-tidy reads build/asan/compile_commands.json (clang's flags); it is configured if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
since="" fix=0
while [ $# -gt 0 ]; do
  case "$1" in
    --since) since=$2; shift 2 ;;
    --fix) fix=1; shift ;;
    *) echo "usage: scripts/lint.sh [--since REV] [--fix]" >&2; exit 2 ;;
  esac
done

mapfile -t all < <(git ls-files '*.cc' '*.h' '*.c' | grep -v '^tests/fuzz/corpus/')
if [ $fix -eq 1 ]; then
  clang-format-14 --style=file -i "${all[@]}"
else
  bad=0
  for f in "${all[@]}"; do
    if ! clang-format-14 --style=file --dry-run -Werror "$f" 2>/dev/null; then
      echo "$f: not clang-formatted (scripts/lint.sh --fix)"; bad=1
    fi
  done
  [ $bad -eq 0 ] || exit 1
  echo "clang-format: ${#all[@]} files formatted"
fi

[ -f build/asan/compile_commands.json ] || cmake --preset asan >/dev/null
mapfile -t sources < <(git ls-files 'src/*.cc' 'tools/*.cc')
if [ -n "$since" ]; then
  mapfile -t changed < <(git diff --name-only "$since" -- src tools include)
  selected=()
  for s in "${sources[@]}"; do
    for c in "${changed[@]}"; do
      if [ "$s" = "$c" ] || { [[ "$c" == *.h ]] && grep -q "#include \".*$(basename "$c")\"" "$s"; }; then
        selected+=("$s"); break
      fi
    done
  done
  sources=("${selected[@]+"${selected[@]}"}")
fi
if [ ${#sources[@]} -eq 0 ]; then
  echo "clang-tidy: no source changed${since:+ since $since}"
  exit 0
fi
echo "clang-tidy: ${#sources[@]} sources${since:+ (changed since $since)}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
# src/distributed is left out of the sanitizer trees (no MPI there), so its sources are not in
# the asan database: clang-tidy reads them with a neighbour's flags plus Open MPI's headers.
extra=()
if command -v mpicc >/dev/null; then
  for d in $(mpicc --showme:incdirs); do extra+=("--extra-arg=-isystem$d"); done
  extra+=(--extra-arg=-DOMPI_SKIP_MPICXX)
fi
printf '%s\n' "${sources[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy-14 -quiet -p build/asan "${extra[@]+"${extra[@]}"}" >"$log" 2>/dev/null || rc=$?
if [ $rc -ne 0 ] || grep -qE '(error|warning):' "$log"; then
  grep -E '(error|warning):' -A3 "$log" || echo "clang-tidy failed (exit $rc)"
  exit 1
fi
echo "clang-tidy: clean"
