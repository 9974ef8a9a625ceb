#!/usr/bin/env bash
# End to end on the embedded model: generate, then verify with the same settings (honest: near 100% match),
# and with a wrong seed (far lower). Figures in the comments were measured on the 2-core CI machine.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROMPTS="$WORK/prompts.jsonl"
head -n 8 "$ROOT/data/prompts/default.jsonl" >"$PROMPTS"
SAMPLED="--temperature 1 --seed 42 --top-k 50 --top-p 0.95"

# Greedy.
"$DIFR" generate --prompts "$PROMPTS" --max-tokens 64 --temperature 0 -o "$WORK/t0.json"
"$DIFR" verify -i "$WORK/t0.json" --temperature 0 -o "$WORK/t0"
expect_ge "T=0 exact_match_rate" "$(json_get "$WORK/t0/summary.json" exact_match_rate)" 0.99

# Seeded sampling, written in DiFR's vLLM-style format this time.
# shellcheck disable=SC2086
"$DIFR" generate --prompts "$PROMPTS" --max-tokens 64 $SAMPLED --format vllm -o "$WORK/t1.json"
# shellcheck disable=SC2086
"$DIFR" verify -i "$WORK/t1.json" $SAMPLED -o "$WORK/t1"
expect_ge "T=1 exact_match_rate" "$(json_get "$WORK/t1/summary.json" exact_match_rate)" 0.99

# The same tokens under a wrong seed: the replayed noise no longer explains them.
"$DIFR" verify -i "$WORK/t1.json" --temperature 1 --seed 43 --top-k 50 --top-p 0.95 -o "$WORK/t1-wrong-seed"
expect_le "T=1 wrong-seed exact_match_rate" "$(json_get "$WORK/t1-wrong-seed/summary.json" exact_match_rate)" 0.80

# Every token has a line; the summary counts them all.
lines=$(wc -l <"$WORK/t1/tokens.jsonl")
total=$(json_get "$WORK/t1/summary.json" total_tokens)
[ "$lines" -eq "$total" ] || fail "tokens.jsonl has $lines lines, summary says $total tokens"
echo "ok: $lines per-token lines"
