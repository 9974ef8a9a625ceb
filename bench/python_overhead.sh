#!/usr/bin/env bash
# What Python adds to a verification: difr_llm.verify_outputs against `difr verify` on the same sequences,
# model and engine settings, alternating within each repetition. Two ratios: the whole process (start, model
# load, verify, results: what a user waits for) and the verification call alone (verify_outputs, which also
# builds token-difr's TokenMetrics objects, against the CLI's own timer in summary.json).
#   bench/python_overhead.sh      # 24 default prompts x 96 tokens (T 1, seed 42), all cores, 5 repetitions
# Environment: THREADS, REPEATS, MAX_TOKENS.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

DIFR="$DIFR_BUILD/bin/difr"
PY="$DIFR_CACHE/python-venv/bin/python"
THREADS="${THREADS:-$(nproc)}"
REPEATS="${REPEATS:-5}"
MAX_TOKENS="${MAX_TOKENS:-96}"
WORK="$DIFR_CACHE/bench"
mkdir -p "$WORK"
[ -f "$DIFR_BUILD/python/difr_llm/__init__.py" ] || die "difr_llm is not built in $DIFR_BUILD/python (scripts/build.sh)"
export PYTHONPATH="$DIFR_BUILD/python"

seqs="$WORK/overhead-seqs-$MAX_TOKENS.json"
if [ ! -f "$seqs" ]; then
    log "generating the sequences (24 prompts x $MAX_TOKENS tokens, T 1, seed 42)"
    "$DIFR" generate --prompts "$DIFR_ROOT/data/prompts/default.jsonl" --max-tokens "$MAX_TOKENS" --temperature 1 \
        --seed 42 --top-k 50 --top-p 0.95 -t "$THREADS" -o "$seqs" >/dev/null
fi
sampling=(--temperature 1 --top-k 50 --top-p 0.95 --seed 42)
py_verify='
import json, sys, time
from difr_llm import TokenSequence, verify_outputs, load_model
seqs = [TokenSequence.from_dict(s) for s in json.load(open(sys.argv[1]))]
model = load_model(threads=int(sys.argv[2]))
t0 = time.perf_counter()
r = verify_outputs(seqs, model, temperature=1.0, top_k=50, top_p=0.95, seed=42, verbose=False)
print(time.perf_counter() - t0, sum(len(x) for x in r))
'
now() { date +%s.%N; }
cli_wall=() py_wall=() cli_call=() py_call=()
for rep in $(seq "$REPEATS"); do
    rm -rf "$WORK/overhead-cli"
    t0=$(now)
    "$DIFR" verify -i "$seqs" -o "$WORK/overhead-cli" -t "$THREADS" "${sampling[@]}" >/dev/null 2>&1
    t1=$(now)
    read -r call tokens < <("$PY" -c "$py_verify" "$seqs" "$THREADS")
    t2=$(now)
    cli_wall+=("$(python3 -c "print($t1 - $t0)")")
    py_wall+=("$(python3 -c "print($t2 - $t1)")")
    cli_call+=("$(verify_work "$WORK/overhead-cli" | cut -d' ' -f2)")
    py_call+=("$call")
    log "repetition $rep: CLI ${cli_wall[-1]} s (verify ${cli_call[-1]} s), Python ${py_wall[-1]} s (verify_outputs $call s), $tokens tokens"
done
python3 - "${cli_wall[*]}" "${py_wall[*]}" "${cli_call[*]}" "${py_call[*]}" "$tokens" "$THREADS" <<'PY'
import statistics, sys
cw, pw, cc, pc = ([float(x) for x in a.split()] for a in sys.argv[1:5])
m = statistics.median
print(f"{sys.argv[5]} claimed tokens, {sys.argv[6]} threads, medians of {len(cw)} alternating repetitions")
print(f"| measured | difr verify (CLI) | difr_llm.verify_outputs | Python / CLI |")
print(f"| --- | ---: | ---: | ---: |")
print(f"| whole process | {m(cw):.3f} s | {m(pw):.3f} s | {m(pw) / m(cw):.3f} |")
print(f"| verification call | {m(cc):.3f} s | {m(pc):.3f} s | {m(pc) / m(cc):.3f} |")
PY
