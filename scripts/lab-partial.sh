#!/usr/bin/env bash
# Analyses the configurations of a lab that have finished while the lab itself goes on running (a full-size
# lab takes many hours; docs/results.md "Full size" was made this way).
#   scripts/lab-partial.sh LAB.toml LABDIR [OUT (default LABDIR-partial)]
# OUT gets a lab file holding only the finished configurations (both passes present, t1 only for the
# temperature, top-p and seed configurations) and symlinks to their runs; `difr lab` on it keeps every run
# and analyses them (results.md/json, report.html). LABDIR is only read.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -ge 2 ] || die "usage: scripts/lab-partial.sh LAB.toml LABDIR [OUT]"
TOML=$1 SRC=$2 DST=${3:-$2-partial}
DIFR="${DIFR:-$DIFR_BUILD/bin/difr}"
[ -f "$SRC/lab.json" ] || die "$SRC/lab.json: not a lab directory (no lab.json)"
rm -rf "$DST"
mkdir -p "$DST/runs"
python3 "$DIFR_ROOT/scripts/lab_merge.py" "$TOML" "$DST" "$SRC"
"$DIFR" lab "$DST/lab.toml" --out "$DST" | tail -n 1
"$DIFR" analyze "$DST" >/dev/null
log "results: $DST/results.md, $DST/report.html"
