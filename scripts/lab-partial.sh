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
cp "$SRC/lab.json" "$DST/lab.json"
python3 - "$TOML" "$SRC" "$DST" <<'PY'
import os, re, sys, tomllib
toml, src, dst = sys.argv[1:]
text = open(toml).read()
spec = tomllib.loads(text)
prompts = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(toml)), spec["prompts"]))
head, *blocks = re.split(r"(?m)^\[\[configs\]\]\n", text)
head = re.sub(r"(?m)^prompts = .*$", f'prompts = "{prompts}"', head)
keep = []
for b in blocks:
    name = tomllib.loads(b)["name"]
    t1_only = re.match(r"(temperature|top_p|wrong_seed)", name)  # greedy would ignore what they change
    runs = [f"{name}-t1"] + ([] if t1_only else [f"{name}-t0"])
    if all(os.path.exists(f"{src}/runs/{r}/summary.json") for r in runs):
        keep.append(b)
        for r in runs:
            os.symlink(os.path.abspath(f"{src}/runs/{r}"), f"{dst}/runs/{r}")
if not keep:
    sys.exit(f"{src}: no configuration has finished yet")
open(f"{dst}/lab.toml", "w").write(head + "".join("[[configs]]\n" + b for b in keep))
print("finished:", ", ".join(tomllib.loads(b)["name"] for b in keep))
PY
"$DIFR" lab "$DST/lab.toml" --out "$DST" | tail -n 1
"$DIFR" analyze "$DST" >/dev/null
log "results: $DST/results.md, $DST/report.html"
