#!/usr/bin/env bash
# The module layering, checked: every #include in src/ and include/nudge/ must name a header
# of the including file's own module or of a module it is declared to depend on (below).
# A lower module including a higher one fails with file:line. ctest runs it (layers_test),
# so a wrong include fails CI; docs/architecture.md draws the same graph.
#
#   scripts/check-layers.sh [ROOT]      (ROOT: the repository, default this one)
#   scripts/check-layers.sh --markdown  the table below as docs/architecture.md holds it
#                                       (layers_test fails when the doc differs)
set -euo pipefail
markdown=false
if [ "${1:-}" = --markdown ]; then
  markdown=true
  shift
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# Each module and every module it may use.
declare -A allowed=(
  [common]=""
  [retrieval]="common"
  [embed]="retrieval"
  [data]="common"
  [nn]="common"
  [models]="common data retrieval nn"
  [eval]="common data retrieval nn models"
  [fusion]="common data retrieval nn models eval"
  [report]="common data retrieval nn models eval"
  [tune]="common data retrieval nn models eval fusion"
  [io]="common data retrieval nn models eval fusion embed"
  [serve]="common data retrieval nn models eval fusion io embed"
  [export]="common data retrieval nn models eval fusion io embed"
  [distributed]="common data retrieval nn models"
)

if $markdown; then  # lowest first, as the graph is read bottom up
  echo "| module | may include |"
  echo "|---|---|"
  for m in common retrieval embed data nn models eval fusion report tune io serve export distributed; do
    deps=${allowed[$m]}
    echo "| $m | ${deps:-(nothing)} |"
  done
  exit 0
fi

# The module owning a public header (a path under include/nudge/).
public_module() {
  case "$1" in
    status.h | check.h | log.h | parallel.h | progress.h | rng.h | input_limits.h) echo common ;;
    id_map.h | event_types.h | interactions.h | features.h | borrowed_array.h | csr.h | dataset.h | readers.h | cleaning.h | \
      split.h | stats.h | synth.h | writers.h | serialize.h) echo data ;;
    top_k.h) echo retrieval ;;
    nn/*) echo nn ;;
    recommender.h | params.h | param_table.h | models/*) echo models ;;
    metrics.h | evaluate.h) echo eval ;;
    fusion.h | registry.h) echo fusion ;;
    search_space.h | tune.h) echo tune ;;
    report.h) echo report ;;
    model_file.h | snapshot.h) echo io ;;
    onnx_export.h) echo export ;;
    nudge_c.h | snapshot_format.h) echo embed ;;
    serve/*) echo serve ;;
    distributed/*) echo distributed ;;
    *) echo unknown ;;
  esac
}

# The module of an included name as written in the file at $2 (module $3).
included_module() {
  local name=$1 own=$3
  case "$name" in
    nudge/*) public_module "${name#nudge/}" ;;
    common/* | data/* | models/* | nn/* | eval/* | fusion/* | tune/* | report/* | io/* | retrieval/* | serve/* | embed/* | \
      export/* | distributed/*) echo "${name%%/*}" ;;
    *) echo "$own" ;;  # next to the including file: its own module
  esac
}

status=0
check_file() {
  local file=$1 module=$2 line name to
  while IFS=: read -r line name; do
    name=${name#*\"}
    name=${name%%\"*}
    to=$(included_module "$name" "$file" "$module")
    if [ "$to" = unknown ]; then
      echo "$file:$line: \"$name\" belongs to no module: add it to scripts/check-layers.sh" >&2
      status=1
    elif [ "$to" != "$module" ] && [[ " ${allowed[$module]} " != *" $to "* ]]; then
      echo "$file:$line: $module may not include \"$name\" ($to)" >&2
      status=1
    fi
  done < <(grep -n '^#include "' "$file" || true)
}

cd "$root"
for dir in src/*/; do
  module=$(basename "$dir")
  [ -n "${allowed[$module]+set}" ] || { echo "src/$module: a module scripts/check-layers.sh does not know" >&2; status=1; continue; }
  while IFS= read -r file; do check_file "$file" "$module"; done < <(find "$dir" -name '*.h' -o -name '*.cc' | sort)
done
while IFS= read -r file; do
  module=$(public_module "${file#include/nudge/}")
  if [ "$module" = unknown ]; then
    echo "$file: a public header scripts/check-layers.sh does not place in a module" >&2
    status=1
    continue
  fi
  check_file "$file" "$module"
done < <(find include/nudge -name '*.h' | sort)
[ $status -eq 0 ] && echo "layers: every include follows the module graph"
exit $status
