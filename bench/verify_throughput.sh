#!/usr/bin/env bash
# difr verify throughput against llama.cpp's own prefill speed (llama-bench, same model, threads and batch),
# measured in the same run, and difr's peak memory for 1x and 4x the sequences.
#   bench/verify_throughput.sh            # defaults: all cores, batch 512, 24 prompts x 200 tokens, 3 repeats
# Environment: THREADS, BATCH, REPEATS, MAX_TOKENS, WORK (scratch folder), CPU_TIME (1, the default: also the same comparison on one
# thread in CPU seconds, which a shared machine's load does not disturb, and difr verify with ggml's kernels).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

DIFR="$DIFR_BUILD/bin/difr"
LLAMA_BENCH="$DIFR_BUILD/bin/llama-bench"
MODEL="$DIFR_CACHE/models/smollm2-135m-instruct-q4_1.gguf"
THREADS="${THREADS:-$(nproc)}"
BATCH="${BATCH:-512}"
REPEATS="${REPEATS:-3}"
MAX_TOKENS="${MAX_TOKENS:-200}"
WORK="${WORK:-$DIFR_CACHE/bench}"
mkdir -p "$WORK"
[ -x "$LLAMA_BENCH" ] || die "llama-bench not built ($LLAMA_BENCH); run scripts/build.sh"

seqs="$WORK/seqs-$MAX_TOKENS.json"
if [ ! -f "$seqs" ]; then
    log "generating the benchmark's sequences (24 prompts x $MAX_TOKENS tokens, T 1, seed 42)"
    "$DIFR" generate --prompts "$DIFR_ROOT/data/prompts/default.jsonl" --max-tokens "$MAX_TOKENS" --temperature 1 \
        --seed 42 --top-k 50 --top-p 0.95 -t "$THREADS" -o "$seqs" >/dev/null
fi
python3 - "$seqs" "$WORK/seqs-x4.json" <<'PY'
import json, sys
seqs = json.load(open(sys.argv[1]))
json.dump(seqs * 4, open(sys.argv[2], "w"))
PY

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# llama.cpp's prefill: pp512 with the same threads and batch, n_ubatch as difr uses it; flash attention off
# as in difr's engine (the like-for-like anchor) and on (llama.cpp's CPU default, for what batch invariance
# costs).
ubatch=$(( BATCH < 512 ? BATCH : 512 ))
log "llama-bench: pp512, $THREADS threads, batch $BATCH, ubatch $ubatch, flash attention off and on, $REPEATS repetitions"
read -r anchor anchor_fa < <("$LLAMA_BENCH" -m "$MODEL" -t "$THREADS" -b "$BATCH" -ub "$ubatch" -p 512 -n 0 -fa 0,1 \
    -r "$REPEATS" -o json 2>/dev/null |
    python3 -c 'import json,sys; d={r["flash_attn"]: r["avg_ts"] for r in json.load(sys.stdin)}; print(d[0], d[1])')

run_verify() {  # run_verify INPUT OUTDIR sampling...  -> tokens/s; peak RSS (KiB) in $WORK/rss
    local input=$1 out=$2; shift 2
    rm -rf "$out"
    /usr/bin/time -f '%M' -o "$WORK/rss" "$DIFR" verify -i "$input" -o "$out" -t "$THREADS" -b "$BATCH" "$@" >/dev/null 2>&1
    read -r tokens seconds < <(verify_work "$out")
    python3 -c 'import sys; print(float(sys.argv[1]) / float(sys.argv[2]))' "$tokens" "$seconds"
}

# The two modes alternate within each repetition, so that both see the same (shared, noisy) machine.
T0_ARGS=(--temperature 0)
T1_ARGS=(--temperature 1 --seed 42 --top-k 50 --top-p 0.95)
rates_t0=() rates_t1=()
for _ in $(seq "$REPEATS"); do
    rates_t0+=("$(run_verify "$seqs" "$WORK/out-t0" "${T0_ARGS[@]}")")
    rates_t1+=("$(run_verify "$seqs" "$WORK/out-t1" "${T1_ARGS[@]}")")
done
declare -A RATE=([t0]="$(median "${rates_t0[@]}")" [t1]="$(median "${rates_t1[@]}")")
run_verify "$seqs" "$WORK/out-mem1" "${T1_ARGS[@]}" >/dev/null
rss1=$(cat "$WORK/rss")
run_verify "$WORK/seqs-x4.json" "$WORK/out-mem4" "${T1_ARGS[@]}" >/dev/null
rss4=$(cat "$WORK/rss")
n1=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$seqs")

# One thread, CPU seconds (user + sys): what each program computes per token, whatever else the machine runs.
# llama-bench's share of one pp512 run is the difference between 1 + REPEATS and 1 runs (each invocation also
# loads the model and runs a warm-up); difr's is the whole verify run, model load included.
cpu_seconds() {  # cpu_seconds COMMAND... -> user + sys seconds
    /usr/bin/time -f '%U %S' -o "$WORK/cpu" "$@" >/dev/null 2>&1
    python3 -c 'import sys; u,s=open(sys.argv[1]).read().split(); print(float(u)+float(s))' "$WORK/cpu"
}
cpu_args=()
if [ "${CPU_TIME:-1}" = 1 ]; then
    log "1 thread, CPU time: llama-bench pp512 (flash attention off, on), difr verify T=1 (difr's and ggml's kernels)"
    for fa in 0 1; do
        one=$(cpu_seconds "$LLAMA_BENCH" -m "$MODEL" -t 1 -b "$BATCH" -ub "$ubatch" -p 512 -n 0 -fa "$fa" -r 1)
        more=$(cpu_seconds "$LLAMA_BENCH" -m "$MODEL" -t 1 -b "$BATCH" -ub "$ubatch" -p 512 -n 0 -fa "$fa" -r $(( 1 + REPEATS )))
        cpu_args+=("$(python3 -c 'import sys; a,b,r=map(float,sys.argv[1:]); print(512*r/(b-a))' "$one" "$more" "$REPEATS")")
    done
    for kernels in difr ggml; do
        rm -rf "$WORK/out-cpu"
        c=$(cpu_seconds "$DIFR" verify -i "$seqs" -o "$WORK/out-cpu" -t 1 -b "$BATCH" --kernels "$kernels" "${T1_ARGS[@]}")
        cpu_args+=("$(python3 -c 'import sys; print(float(sys.argv[1])/float(sys.argv[2]))' "$(verify_work "$WORK/out-cpu" | cut -d' ' -f1)" "$c")")
    done
fi

python3 - "$anchor" "$anchor_fa" "${RATE[t0]}" "${RATE[t1]}" "$rss1" "$rss4" "$n1" "$THREADS" "$BATCH" "${cpu_args[@]}" <<'PY'
import sys
anchor, anchor_fa, t0, t1, rss1, rss4, n1, threads, batch = sys.argv[1:10]
cpu = [float(x) for x in sys.argv[10:]]
anchor, anchor_fa, t0, t1, rss1, rss4 = float(anchor), float(anchor_fa), float(t0), float(t1), int(rss1), int(rss4)
print(f"difr verify vs llama.cpp prefill (SmolLM2-135M Q4_1, {threads} threads, batch {batch}, medians)")
print(f"  llama-bench pp512, flash attn off  {anchor:9.1f} tok/s   (anchor: difr's engine settings)")
print(f"  llama-bench pp512, flash attn on   {anchor_fa:9.1f} tok/s   (llama.cpp's CPU default)")
print(f"  difr verify T=0                    {t0:9.1f} tok/s   ratio {t0/anchor_fa:.3f} vs fa on  ({t0/anchor:.3f} vs fa off)")
print(f"  difr verify T=1 top-k 50 top-p .95 {t1:9.1f} tok/s   ratio {t1/anchor_fa:.3f} vs fa on  ({t1/anchor:.3f} vs fa off)")
print(f"  peak RSS, {int(n1):4d} sequences          {rss1/1024:9.1f} MiB")
print(f"  peak RSS, {4*int(n1):4d} sequences          {rss4/1024:9.1f} MiB   ratio {rss4/rss1:.3f}")
if cpu:
    off, on, difr, ggml = cpu
    print(f"1 thread, CPU time (tokens per CPU second; undisturbed by the machine's other load)")
    print(f"  llama-bench pp512, flash attn off  {off:9.1f} tok/cpu-s")
    print(f"  llama-bench pp512, flash attn on   {on:9.1f} tok/cpu-s")
    print(f"  difr verify T=1                    {difr:9.1f} tok/cpu-s   ratio {difr/on:.3f} vs fa on  ({difr/off:.3f} vs fa off)")
    print(f"  difr verify T=1, --kernels ggml    {ggml:9.1f} tok/cpu-s   ratio {ggml/on:.3f} vs fa on  ({ggml/off:.3f} vs fa off)")
print(f"target: ratio >= 0.9 against flash attention on (llama.cpp's default prefill), both modes; memory ratio ~1 "
      f"(independent of the number of sequences)")
PY
