#!/usr/bin/env bash
# Renders a lab's report.html in headless Chromium and saves a screenshot (docs only; no test needs Chromium).
#   scripts/report-screenshot.sh LABDIR [OUT.png (default docs/report-screenshot.png)] [WIDTHxHEIGHT]
# Runs `difr analyze LABDIR` first when report.html is missing. Chromium: apt-get install chromium
# (scripts/deps.sh installs it with DIFR_DOCS_TOOLS=1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LAB="${1:?usage: $0 LABDIR [OUT.png] [WIDTHxHEIGHT]}"
OUT="${2:-$DIFR_ROOT/docs/report-screenshot.png}"
SIZE="${3:-1100x1900}"
command -v chromium >/dev/null || die "chromium not found (apt-get install chromium)"
[ -f "$LAB/report.html" ] || "$DIFR_BUILD/bin/difr" analyze "$LAB" >/dev/null
# --no-sandbox: CI containers run as root; the page is a local file without scripts.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${SIZE/x/,}" \
    --screenshot="$(realpath -m "$OUT")" "file://$(realpath "$LAB/report.html")" 2>/dev/null
[ -s "$OUT" ] || die "no screenshot written"
log "screenshot: $OUT"
