#!/usr/bin/env bash
# difr generate throughput against llama.cpp's own batched decode (llama-batched-bench: same model, threads,
# batch and number of parallel sequences; prompts as long as difr's on average, as many new tokens as difr's
# limit), measured in the same run, alternating within each repetition.
#   bench/generate_throughput.sh        # defaults: all cores, 8 parallel sequences, 24 prompts x 128 tokens, 3 repeats
# Environment: THREADS, PARALLEL, BATCH, MAX_TOKENS, REPEATS, WORK (scratch folder), CPU_TIME (1: also the 1-thread CPU-time ratio,
# which a shared machine's load does not disturb; the default).
#
# What is compared: difr generate decodes the 24 default prompts with continuous batching (PARALLEL slots,
# seeded T = 1 sampling over the whole vocabulary for every token, sequences end at their end-of-generation
# token or after MAX_TOKENS); llama-batched-bench prefills PARALLEL random prompts and decodes exactly
# MAX_TOKENS random tokens for each, computing logits but sampling nothing, with llama.cpp's CPU defaults
# (flash attention auto, i.e. on). Throughput is all tokens through the model (prompt + generated) per
# second; the decode-only figure (generated tokens per second against llama-batched-bench's S_TG) is printed
# too.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

DIFR="$DIFR_BUILD/bin/difr"
BATCHED_BENCH="$DIFR_BUILD/bin/llama-batched-bench"
MODEL="$DIFR_CACHE/models/smollm2-135m-instruct-q4_1.gguf"
THREADS="${THREADS:-$(nproc)}"
PARALLEL="${PARALLEL:-8}"
BATCH="${BATCH:-512}"
MAX_TOKENS="${MAX_TOKENS:-128}"
REPEATS="${REPEATS:-3}"
CPU_TIME="${CPU_TIME:-1}"
WORK="${WORK:-$DIFR_CACHE/bench/generate}"
mkdir -p "$WORK"
[ -x "$BATCHED_BENCH" ] || die "llama-batched-bench not built ($BATCHED_BENCH); run scripts/build.sh"
SAMPLING=(--temperature 1 --seed 42 --top-k 50 --top-p 0.95)
ubatch=$(( BATCH < 512 ? BATCH : 512 ))

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
cpu_seconds() { python3 -c 'import sys; u,s=open(sys.argv[1]).read().split(); print(float(u)+float(s))' "$1"; }

run_difr() {  # run_difr THREADS -> "total_tok_s generated_tok_s prompt_tokens generated_tokens cpu_s"
    /usr/bin/time -f '%U %S' -o "$WORK/difr.cpu" "$DIFR" generate --prompts "$DIFR_ROOT/data/prompts/default.jsonl" \
        --max-tokens "$MAX_TOKENS" "${SAMPLING[@]}" -t "$1" -b "$BATCH" --parallel "$PARALLEL" \
        -o "$WORK/out.json" >/dev/null 2>&1
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); p,g,s=m["prompt_tokens"],m["generated_tokens"],m["seconds"]
print((p+g)/s, g/s, p, g)' "$WORK/out.json.meta.json" | tr '\n' ' '
    cpu_seconds "$WORK/difr.cpu"
}

run_llama() {  # run_llama THREADS PP -> "S_t/s S_TG_t/s cpu_s"
    local pp=$2
    /usr/bin/time -f '%U %S' -o "$WORK/llama.cpu" "$BATCHED_BENCH" -m "$MODEL" -t "$1" -b "$BATCH" -ub "$ubatch" \
        -c $(( PARALLEL * (pp + MAX_TOKENS) )) -npp "$pp" -ntg "$MAX_TOKENS" -npl "$PARALLEL" \
        --output-format jsonl 2>/dev/null >"$WORK/llama.jsonl"
    python3 -c 'import json,sys
r=[json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]; print(r["speed"], r["speed_tg"])' \
        "$WORK/llama.jsonl" | tr '\n' ' '
    cpu_seconds "$WORK/llama.cpu"
}

# llama-batched-bench's prompts are as long as difr's on average (difr's chat template around each prompt).
log "difr generate: 24 prompts x $MAX_TOKENS tokens, $PARALLEL parallel, $THREADS threads, batch $BATCH"
read -r _ _ prompt_tokens _ _ < <(run_difr "$THREADS")
pp=$(( (prompt_tokens + 12) / 24 ))
log "llama-batched-bench: -npp $pp -ntg $MAX_TOKENS -npl $PARALLEL; $REPEATS alternating repetitions"
difr_total=() difr_gen=() llama_total=() llama_tg=()
for _ in $(seq "$REPEATS"); do
    read -r a b _ _ _ < <(run_difr "$THREADS")
    difr_total+=("$a") difr_gen+=("$b")
    read -r c d _ < <(run_llama "$THREADS" "$pp")
    llama_total+=("$c") llama_tg+=("$d")
done

cpu_line=""
if [ "$CPU_TIME" = 1 ]; then
    # One thread, CPU seconds (user + sys) rather than wall time: what each program computes per token,
    # whatever else the machine runs.
    log "1 thread, CPU time"
    read -r _ _ p g difr_cpu < <(run_difr 1)
    read -r _ _ llama_cpu < <(run_llama 1 "$pp")
    cpu_line=$(python3 -c 'import sys
p,g,dc,pp,par,tg,lc=map(float,sys.argv[1:])
d=(p+g)/dc; l=par*(pp+tg)/lc
print(f"  1 thread, CPU time: difr {d:.1f} tok/cpu-s, llama-batched-bench {l:.1f} tok/cpu-s   ratio {d/l:.3f}")' \
        "$p" "$g" "$difr_cpu" "$pp" "$PARALLEL" "$MAX_TOKENS" "$llama_cpu")
fi

python3 - "$(median "${difr_total[@]}")" "$(median "${difr_gen[@]}")" "$(median "${llama_total[@]}")" \
    "$(median "${llama_tg[@]}")" "$THREADS" "$PARALLEL" "$BATCH" "$pp" "$MAX_TOKENS" "$cpu_line" <<'PY'
import sys
dt, dg, lt, ltg = map(float, sys.argv[1:5])
threads, parallel, batch, pp, tg, cpu_line = sys.argv[5:]
print(f"difr generate vs llama.cpp batched decode (SmolLM2-135M Q4_1, {threads} threads, {parallel} parallel, "
      f"batch {batch}, medians)")
print(f"  llama-batched-bench -npp {pp} -ntg {tg} -npl {parallel}   S {lt:8.1f} tok/s   S_TG {ltg:8.1f} tok/s")
print(f"  difr generate, 24 prompts, T=1          {dt:8.1f} tok/s   generated {dg:8.1f} tok/s")
print(f"  ratio (prompt + generated tokens per second)   {dt/lt:.3f}")
print(f"  ratio (generated tokens / llama's S_TG)        {dg/ltg:.3f}")
if cpu_line:
    print(cpu_line)
print("target: ratio >= 0.9")
PY
