#!/usr/bin/env bash
# Renders an HTML report (nudge report) to a PNG with headless Chromium, as the README's
# screenshot was made: scripts/report-screenshot.sh nudge-demo/report.html docs/images/report.png
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REPORT.html OUT.png" >&2; exit 1; }
html=$(realpath "$1")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
sandbox=()
[ "$(id -u)" -eq 0 ] && sandbox=(--no-sandbox)  # Chromium refuses to sandbox as root
chromium --headless "${sandbox[@]}" --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size="${NUDGE_SHOT_SIZE:-1240,1900}" --screenshot="$(realpath -m "$2")" "file://$html" 2>/dev/null
