#!/usr/bin/env bash
# Which engine? How well `difr verify --noise auto` identifies the profile that sampled a sequence, by length.
#
#   bench/identify_profiles.sh [OUT]     (default out/identify; ~10 minutes on 2 cores)
#
# For each profile the generator can sample with, difr generates PROMPTS sequences of 300 tokens at T = 1,
# seed 42, top-k 50, top-p 0.95; each sequence cut to 30, 100 and 300 tokens is one trial, verified on its
# own with --noise auto. A trial counts as correct when the verdict is "identified" and names the profile.
# Prints a markdown table (docs/results.md "Which engine") and keeps every summary under OUT.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIFR=${DIFR:-$ROOT/build/bin/difr}
OUT=${1:-$ROOT/out/identify}
PROMPTS=${DIFR_IDENTIFY_PROMPTS:-8}
PROFILES=${DIFR_IDENTIFY_PROFILES:-"vllm vllm-fp64 vllm-0.30 vllm-0.30-fp64 vllm-0.22 sglang torch-cpu llama.cpp"}
SAMPLED="--temperature 1 --seed 42 --top-k 50 --top-p 0.95"
mkdir -p "$OUT"
head -n "$PROMPTS" "$ROOT/data/prompts/default.jsonl" >"$OUT/prompts.jsonl"

for profile in $PROFILES; do
    # shellcheck disable=SC2086
    [ -f "$OUT/$profile.json" ] || "$DIFR" generate --prompts "$OUT/prompts.jsonl" --max-tokens 300 $SAMPLED \
        --noise "$profile" -o "$OUT/$profile.json" >/dev/null
    for n in 30 100 300; do
        for ((i = 0; i < PROMPTS; i++)); do
            trial="$OUT/$profile-$n-$i"
            [ -f "$trial/summary.json" ] && continue
            python3 - "$OUT/$profile.json" "$i" "$n" "$trial.json" <<'PY'
import json, sys
seqs = json.load(open(sys.argv[1]))
s = seqs[int(sys.argv[2])]
s["output_token_ids"] = s["output_token_ids"][: int(sys.argv[3])]
json.dump([s], open(sys.argv[4], "w"))
PY
            # shellcheck disable=SC2086
            "$DIFR" verify -i "$trial.json" $SAMPLED --noise auto -o "$trial" >/dev/null 2>&1
        done
    done
done

python3 - "$OUT" "$PROMPTS" $PROFILES <<'PY'
import json, os, statistics, sys
out, n_prompts, profiles = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| profile sampled | tokens | identified correctly | wrong profile | inconclusive | no profile | median log10 LR vs runner-up |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for profile in profiles:
    for n in (30, 100, 300):
        counts = {"ok": 0, "wrong": 0, "inconclusive": 0, "none": 0}
        lrs, toks = [], []
        for i in range(n_prompts):
            p = json.load(open(os.path.join(out, f"{profile}-{n}-{i}", "summary.json")))["provenance"]
            ident = p["noise_identification"]
            toks.append(p["tokens_evaluated"])
            lrs.append(ident["log10_lr_vs_next"])
            if ident["verdict"] == "identified":
                counts["ok" if ident["profile"] == profile else "wrong"] += 1
            elif ident["verdict"] == "inconclusive":
                counts["inconclusive"] += 1
            else:
                counts["none"] += 1
        print(f"| {profile} | {n} (mean {statistics.mean(toks):.0f}) | {counts['ok']}/{n_prompts} | {counts['wrong']} "
              f"| {counts['inconclusive']} | {counts['none']} | {statistics.median(lrs):.1f} |")
PY
