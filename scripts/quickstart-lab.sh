#!/usr/bin/env bash
# Turns the main job's output (scripts/main-job.sh: an honest provider and a Q2_K impostor, greedy and seeded)
# into a lab directory for `difr analyze`, until `difr lab` makes full ones. Usage:
#   scripts/quickstart-lab.sh [QUICKSTART_OUT (default out/quickstart)] [LABDIR (default out/quickstart-lab)]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
QS="$(cd "${1:-$DIFR_ROOT/out/quickstart}" && pwd)"
LAB="${2:-$DIFR_ROOT/out/quickstart-lab}"
for run in honest-t0 honest-t1 impostor-t0 impostor-t1; do
    [ -f "$QS/$run/tokens.jsonl" ] || die "$QS/$run/tokens.jsonl missing: run scripts/main-job.sh first"
done
mkdir -p "$LAB"
ln -sfn "$QS" "$LAB/runs"
cat >"$LAB/lab.json" <<JSON
{"lab": "quickstart", "reference": {"model": "smollm2-135m-instruct-q4_1"},
 "claimed": {"t1": {"temperature": 1, "top_k": 50, "top_p": 0.95, "seed": 42}, "t0": {"temperature": 0}},
 "n_prompts": 24, "max_tokens": 96,
 "configs": [
  {"name": "reference", "role": "honest", "description": "the reference model itself",
   "passes": {"t1": "runs/honest-t1", "t0": "runs/honest-t0"}},
  {"name": "q2_k", "role": "deviation", "description": "the reference requantised to Q2_K",
   "passes": {"t1": "runs/impostor-t1", "t0": "runs/impostor-t0"}}]}
JSON
log "lab directory: $LAB (difr analyze $LAB)"
