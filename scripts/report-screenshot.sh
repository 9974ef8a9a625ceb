#!/usr/bin/env bash
# Renders a report.html in headless Chromium and saves a screenshot (docs only; no test needs Chromium).
#   scripts/report-screenshot.sh DIR [OUT.png (default docs/report-screenshot.png)] [WIDTHxHEIGHT]
# DIR is a lab directory or an audit's output directory (holding audit_results.json). When report.html is
# missing it is made first: `difr analyze DIR` for a lab, `difr audit-report` for an audit. Chromium:
# apt-get install chromium (scripts/deps.sh installs it with DIFR_DOCS_TOOLS=1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
DIR="${1:?usage: $0 DIR [OUT.png] [WIDTHxHEIGHT]}"
OUT="${2:-$DIFR_ROOT/docs/report-screenshot.png}"
SIZE="${3:-1100x1900}"
command -v chromium >/dev/null || die "chromium not found (apt-get install chromium)"
if [ ! -f "$DIR/report.html" ]; then
    if [ -f "$DIR/audit_results.json" ]; then
        "$DIFR_BUILD/bin/difr" audit-report "$DIR/audit_results.json" -o "$DIR/report.html" 2>/dev/null
    else
        "$DIFR_BUILD/bin/difr" analyze "$DIR" >/dev/null
    fi
fi
# --no-sandbox: CI containers run as root; the page is a local file without scripts.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${SIZE/x/,}" \
    --screenshot="$(realpath -m "$OUT")" "file://$(realpath "$DIR/report.html")" 2>/dev/null
[ -s "$OUT" ] || die "no screenshot written"
log "screenshot: $OUT"
