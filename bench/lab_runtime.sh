#!/usr/bin/env bash
# Runs a detection lab under /usr/bin/time and reports, per configuration, its wall time and tokens, the
# measured generation and verification speed, and the time projected for the full lab file's n_prompts x
# max_tokens (linear in the number of tokens: contexts stay short next to the model's, so the cost per token
# barely grows with length).
#   bench/lab_runtime.sh LABDIR [LABFILE [N_PROMPTS MAX_TOKENS]]   # defaults: data/lab/default.toml 10 32
#   bench/lab_runtime.sh --report LABDIR                           # only the report of a finished LABDIR
# Run it niced on a shared machine (nice -n 10); the figures are then those of the share it got.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
DIFR="${DIFR:-$DIFR_BUILD/bin/difr}"

report_only=0
if [ "${1:-}" = "--report" ]; then report_only=1; shift; fi
LABDIR="${1:?usage: bench/lab_runtime.sh [--report] LABDIR [LABFILE [N_PROMPTS MAX_TOKENS]]}"
LABFILE="${2:-$DIFR_ROOT/data/lab/default.toml}"
N_PROMPTS="${3:-10}"
MAX_TOKENS="${4:-32}"

if [ "$report_only" -eq 0 ]; then
    log "running $LABFILE with $N_PROMPTS prompts x $MAX_TOKENS tokens into $LABDIR"
    /usr/bin/time -f "%e s wall, %U s user, %M KiB peak" -o "$LABDIR.time" \
        "$DIFR" lab "$LABFILE" --out "$LABDIR" --n-prompts "$N_PROMPTS" --max-tokens "$MAX_TOKENS"
    log "whole run: $(cat "$LABDIR.time")"
fi

python3 - "$LABDIR" "$LABFILE" <<'PY'
import json, re, sys
labdir, labfile = sys.argv[1], sys.argv[2]
lab = json.load(open(f"{labdir}/lab.json"))
text = open(labfile).read()
full = {k: int(re.search(rf"^{k} = (\d+)", text, re.M).group(1)) for k in ("n_prompts", "max_tokens")}
scale = (full["n_prompts"] * full["max_tokens"]) / (lab["n_prompts"] * lab["max_tokens"])
print(f"lab {lab['lab']}: {lab['n_prompts']} prompts x {lab['max_tokens']} tokens; projection x{scale:.1f} "
      f"to {full['n_prompts']} x {full['max_tokens']}\n")
print("| config | role | pass | exact_match_rate | avg_margin | tokens | generate s | verify s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
total = gen_tok = gen_s = ver_tok = ver_s = 0.0
for c in lab["configs"]:
    for p, d in c["passes"].items():
        s = json.load(open(f"{labdir}/{d}/summary.json"))
        m = json.load(open(f"{labdir}/{d}/outputs.json.meta.json"))
        gen_tok += m["generated_tokens"]; gen_s += m["seconds"]
        ver_tok += s["provenance"]["tokens_evaluated"]; ver_s += s["provenance"]["seconds"]
        print(f"| {c['name']} | {c['role']} | {p} | {s['exact_match_rate']:.4f} | {s['avg_margin']:.4f} | "
              f"{s['total_tokens']} | {m['seconds']:.1f} | {s['provenance']['seconds']:.1f} |")
    for p, why in c.get("skipped_passes", {}).items():
        print(f"| {c['name']} | {c['role']} | {p} | (skipped: {why}) | | | | |")
print("\n| config | wall s (generate + verify, all passes) | projected s |")
print("| --- | --- | --- |")
for c in lab["configs"]:
    sec = lab["seconds"].get(c["name"])
    if sec is None:
        print(f"| {c['name']} | (kept from an earlier run, not timed) | |"); continue
    total += sec
    print(f"| {c['name']} | {sec:.1f} | {sec * scale:.0f} |")
print(f"\nconfigurations: {len(lab['configs'])}; timed wall total {total:.0f} s, projected {total * scale / 3600:.1f} h")
print(f"generation {gen_tok:.0f} tokens in {gen_s:.0f} s ({gen_tok / max(gen_s, 1e-9):.1f} tok/s); "
      f"verification {ver_tok:.0f} tokens evaluated in {ver_s:.0f} s ({ver_tok / max(ver_s, 1e-9):.1f} tok/s)")
PY
