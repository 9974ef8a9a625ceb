#!/usr/bin/env bash
# What hidden-state capture costs (issue #13): difr generate with and without --fingerprint K --toploc, and
# difr verify with and without --fingerprints, alternating within each repetition so that both sides of each
# ratio see the same (shared, noisy) machine. Also peak RSS of verify with and without capture.
#   bench/fingerprint_overhead.sh     # defaults: 1 thread, 24 default prompts x 64 tokens, k 8, 3 repeats
# Environment: THREADS, REPEATS, MAX_TOKENS, K, N_PROMPTS (the first N of data/prompts/default.jsonl).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

DIFR="$DIFR_BUILD/bin/difr"
THREADS="${THREADS:-1}"
REPEATS="${REPEATS:-3}"
MAX_TOKENS="${MAX_TOKENS:-64}"
K="${K:-8}"
WORK="$DIFR_CACHE/bench/fingerprints"
mkdir -p "$WORK"
N_PROMPTS="${N_PROMPTS:-24}"
PROMPTS="$WORK/prompts.jsonl"
head -n "$N_PROMPTS" "$DIFR_ROOT/data/prompts/default.jsonl" >"$PROMPTS"
SAMPLING=(--temperature 1 --seed 42 --top-k 50 --top-p 0.95)

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
# The seconds difr itself reports for the work (generate: OUT.meta.json; verify: summary.json), which leave out
# process start and model loading; peak RSS (KiB) of the whole process in $WORK/rss.
seconds() {  # seconds KIND OUT CMD...
    local kind=$1 out=$2; shift 2
    [ "$kind" = generate ] || rm -rf "$out"
    /usr/bin/time -f '%M' -o "$WORK/rss" "$@" >/dev/null 2>&1
    if [ "$kind" = generate ]; then
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$out.meta.json"
    else
        verify_work "$out" | cut -d' ' -f2
    fi
}

gen_plain=() gen_proofs=() ver_plain=() ver_proofs=() rss_plain=() rss_proofs=()
for r in $(seq "$REPEATS"); do
    log "repetition $r of $REPEATS"
    gen_plain+=("$(seconds generate "$WORK/plain.json" "$DIFR" generate --prompts "$PROMPTS" -n "$MAX_TOKENS" \
        -t "$THREADS" "${SAMPLING[@]}" -o "$WORK/plain.json")")
    gen_proofs+=("$(seconds generate "$WORK/proofs.json" "$DIFR" generate --prompts "$PROMPTS" -n "$MAX_TOKENS" \
        -t "$THREADS" "${SAMPLING[@]}" --fingerprint "$K" --toploc -o "$WORK/proofs.json")")
    ver_plain+=("$(seconds verify "$WORK/v-plain" "$DIFR" verify -i "$WORK/proofs.json" -t "$THREADS" "${SAMPLING[@]}" \
        -o "$WORK/v-plain")")
    rss_plain+=("$(cat "$WORK/rss")")
    ver_proofs+=("$(seconds verify "$WORK/v-proofs" "$DIFR" verify -i "$WORK/proofs.json" -t "$THREADS" \
        "${SAMPLING[@]}" --fingerprints "$WORK/proofs.json.fingerprints.jsonl" -o "$WORK/v-proofs")")
    rss_proofs+=("$(cat "$WORK/rss")")
done
cmp -s "$WORK/plain.json" "$WORK/proofs.json" || die "capture changed the generated tokens"
cmp -s "$WORK/v-plain/tokens.jsonl" "$WORK/v-proofs/tokens.jsonl" || die "capture changed the verifier's metrics"
prompt_tokens=$(python3 -c 'import json,sys; print(sum(len(s["prompt_token_ids"]) for s in json.load(open(sys.argv[1]))))' \
    "$WORK/proofs.json")
tokens=$(python3 -c 'import json,sys; print(sum(len(s["output_token_ids"]) for s in json.load(open(sys.argv[1]))))' \
    "$WORK/proofs.json")
bytes=$(stat -c %s "$WORK/proofs.json.fingerprints.jsonl")
python3 - "$(median "${gen_plain[@]}")" "$(median "${gen_proofs[@]}")" "$(median "${ver_plain[@]}")" \
    "$(median "${ver_proofs[@]}")" "$(median "${rss_plain[@]}")" "$(median "${rss_proofs[@]}")" "$tokens" "$bytes" \
    "$K" "$THREADS" "$REPEATS" "$prompt_tokens" <<'PY'
import sys
gp, gq, vp, vq, rp, rq = map(float, sys.argv[1:7])
tokens, nbytes, k, threads, reps, ptokens = map(int, sys.argv[7:])
print(f"hidden-state capture, SmolLM2-135M Q4_1, {threads} thread(s), {ptokens} prompt + {tokens} generated tokens, "
      f"medians of {reps}")
print(f"  difr generate (its seconds) {gp:7.2f} s   with --fingerprint {k} --toploc {gq:7.2f} s   ratio {gq/gp:.3f}")
print(f"  difr verify (its seconds)   {vp:7.2f} s   with --fingerprints           {vq:7.2f} s   ratio {vq/vp:.3f}")
print(f"  verify peak RSS            {rp/1024:7.1f} MiB with --fingerprints          {rq/1024:7.1f} MiB ratio {rq/rp:.3f}")
print(f"  fingerprints file          {nbytes} bytes, {nbytes/tokens:.1f} bytes per token (JSON + base64)")
print("  tokens and per-token metrics are byte-identical with and without capture")
PY
