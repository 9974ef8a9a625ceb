#!/usr/bin/env bash
# The main job: a local audit on the embedded model. An honest provider (the reference itself) and an impostor
# (the reference requantised to Q2_K) each answer the default prompts; difr verifies both against the
# reference, greedy and with seeded sampling, and prints the results side by side.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIFR="$DIFR_BUILD/bin/difr"
OUT="${DIFR_OUT:-$DIFR_ROOT/out/quickstart}"
PROMPTS="$DIFR_ROOT/data/prompts/default.jsonl"
MAX_TOKENS="${DIFR_MAX_TOKENS:-96}"
IMPOSTOR_TYPE="${DIFR_IMPOSTOR_TYPE:-Q2_K}"
IMPOSTOR="$DIFR_CACHE/models/derived/smollm2-135m-instruct-$(echo "$IMPOSTOR_TYPE" | tr 'A-Z' 'a-z').gguf"
mkdir -p "$OUT" "$(dirname "$IMPOSTOR")"

"$DIFR" models
bash "$DIFR_ROOT/scripts/smoke.sh"
[ -f "$IMPOSTOR" ] || "$DIFR" quantize --type "$IMPOSTOR_TYPE" -o "$IMPOSTOR"

declare -A SAMPLING=(
    [t0]="--temperature 0"
    [t1]="--temperature 1 --seed 42 --top-k 50 --top-p 0.95"
)
runs=()
for mode in t0 t1; do
    for who in honest impostor; do
        model=""
        [ "$who" = impostor ] && model="--model $IMPOSTOR"
        log "$who provider, ${SAMPLING[$mode]}"
        # shellcheck disable=SC2086
        "$DIFR" generate $model --prompts "$PROMPTS" --max-tokens "$MAX_TOKENS" ${SAMPLING[$mode]} \
            -o "$OUT/$who-$mode.json"
        # shellcheck disable=SC2086
        "$DIFR" verify --input "$OUT/$who-$mode.json" ${SAMPLING[$mode]} -o "$OUT/$who-$mode"
        runs+=("$who-$mode=$OUT/$who-$mode")
    done
done

echo
echo "Local audit of the embedded model (SmolLM2-135M-Instruct Q4_1) — reference vs. providers:"
echo "  honest   = the reference model itself;  impostor = the reference requantised to $IMPOSTOR_TYPE"
echo "  t0 = greedy;  t1 = T 1, seed 42, top-k 50, top-p 0.95 (noise profile vllm: vLLM 0.31-0.33, murmur3)"
"$DIFR" table "${runs[@]}"
echo
echo "Per-token metrics and summaries: $OUT"
