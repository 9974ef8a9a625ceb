#!/usr/bin/env bash
# Nothing lost after kill -9 (docs/hardening.md): difr generate and difr verify, killed at random points again
# and again and started once more with the same settings each time, keep every sequence they had finished
# (the restart says how many, and generates or verifies only the rest), and end with exactly the files an
# uninterrupted run writes. Checkpoints of another run or of an older difr are refused, naming the file.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEED=${DIFR_RESUME_SEED:-$RANDOM}
echo "kill points drawn with seed $SEED (DIFR_RESUME_SEED=$SEED reproduces them)"
RANDOM=$SEED
head -n 8 "$ROOT/data/prompts/default.jsonl" >"$WORK/prompts.jsonl"
SAMPLED=(--temperature 1 --seed 42 --top-k 50 --top-p 0.95)
# One thread: on a loaded machine ggml's spinning threads wait for each other far longer than they work.
ENGINE=(--parallel 2 --batch 64 -t 1)

# The uninterrupted runs everything is compared with, and how long they take.
t0=$(date +%s.%N)
"$DIFR" generate --prompts "$WORK/prompts.jsonl" -n 32 "${SAMPLED[@]}" "${ENGINE[@]}" -o "$WORK/ref.json" >/dev/null 2>&1
t1=$(date +%s.%N)
"$DIFR" verify -i "$WORK/ref.json" "${SAMPLED[@]}" "${ENGINE[@]}" -o "$WORK/ref-v" >/dev/null 2>&1
t2=$(date +%s.%N)
gen_s=$(python3 -c "print($t1 - $t0)")
ver_s=$(python3 -c "print($t2 - $t1)")
echo "uninterrupted: generate ${gen_s} s, verify ${ver_s} s"

# kill_until_done LABEL SECONDS COUNT_CMD -- command...: runs the command, kills it with SIGKILL after a random
# delay, and again until a run finishes by itself. Before each restart COUNT_CMD prints
# how many sequences the checkpoint holds; the restart must report exactly that many kept.
kill_until_done() {
    local label=$1 span=$2 count_cmd=$3
    shift 4
    local kills=0 round
    for round in $(seq 1 40); do
        local before
        before=$(eval "$count_cmd")
        local delay
        # Within the first half of what is left of the run (its share of unfinished sequences), so that most
        # kills land mid-run however fast the machine is.
        # After three kills the run is left to finish.
        delay=$(python3 -c "import sys; s, b, k = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]); left = s * (8 - b) / 8
print(round(0.1 + ($RANDOM / 32767.0) * max(0.05, 0.5 * left - 0.1), 3) if k < 3 else 'none')" "$span" "$before" "$kills")
        # The child truncates its files only after the fork: remove the last round's first, or the check below
        # could read the previous restart's message.
        rm -f "$WORK/$label.out" "$WORK/$label.err"
        "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" &
        local pid=$!
        if [ "$before" -gt 0 ]; then
            # The restart announces what it kept before doing any work.
            for _ in $(seq 300); do grep -q "resuming: .* kept from" "$WORK/$label.err" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if ! grep -q "resuming: $before of " "$WORK/$label.err"; then
                local rc=0
                kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
                wait "$pid" || rc=$?
                cat "$WORK/$label.out" "$WORK/$label.err" >&2
                fail "$label: restart $round (exit status $rc) did not keep the $before finished sequences"
            fi
        fi
        [ "$delay" = none ] || sleep "$delay"
        if [ "$delay" != none ] && kill -KILL "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            kills=$((kills + 1))
            echo "  $label: killed after ${delay} s; the checkpoint holds $(eval "$count_cmd") sequences"
        else
            wait "$pid" || { cat "$WORK/$label.err" >&2; fail "$label: the run failed"; }
            echo "  $label: finished on round $round after $kills kills"
            KILLS=$kills
            return 0
        fi
    done
    fail "$label: did not finish in 40 rounds"
}

# generate: the checkpoint is OUT.partial.jsonl (a header line, then one line per finished sequence).
gen_count() { [ -f "$WORK/g.json.partial.jsonl" ] && python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], "rb").read().split(b"\n")[1:-1]:  # whole lines after the header
    n += "index" in json.loads(line)
print(n)' "$WORK/g.json.partial.jsonl" || echo 0; }
kill_until_done generate "$gen_s" gen_count -- \
    "$DIFR" generate --prompts "$WORK/prompts.jsonl" -n 32 "${SAMPLED[@]}" "${ENGINE[@]}" -o "$WORK/g.json"
gen_kills=$KILLS
cmp "$WORK/ref.json" "$WORK/g.json" || fail "the resumed generate output differs from the uninterrupted one"
[ ! -f "$WORK/g.json.partial.jsonl" ] || fail "the checkpoint was left behind"
echo "ok: generate killed $gen_kills times, resumed, output byte-identical to the uninterrupted run"

# verify: the checkpoint is OUT/tokens.jsonl (whole sequences in input order) with OUT/verify-run.json.
ver_count() { [ -f "$WORK/v/tokens.jsonl" ] && python3 -c '
import json, sys
seqs = json.load(open(sys.argv[1]))
rows = {}
for line in open(sys.argv[2], "rb").read().split(b"\n")[:-1]:  # whole lines only
    r = json.loads(line)
    rows[r["seq"]] = rows.get(r["seq"], 0) + 1
n = 0
while n < len(seqs) and rows.get(n, 0) == len(seqs[n]["output_token_ids"]):
    n += 1
print(n)' "$WORK/ref.json" "$WORK/v/tokens.jsonl" || echo 0; }
kill_until_done verify "$ver_s" ver_count -- "$DIFR" verify -i "$WORK/ref.json" "${SAMPLED[@]}" "${ENGINE[@]}" -o "$WORK/v"
ver_kills=$KILLS
cmp "$WORK/ref-v/tokens.jsonl" "$WORK/v/tokens.jsonl" || fail "the resumed tokens.jsonl differs from the uninterrupted one"
python3 - "$WORK/ref-v/summary.json" "$WORK/v/summary.json" <<'PY' || fail "the resumed summary differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
work = ("seconds", "tokens_evaluated", "decode_calls", "resumed_sequences")
for d in (a, b):
    for k in work:
        d["provenance"].pop(k, None)
assert a == b, (a, b)
PY
echo "ok: verify killed $ver_kills times, resumed, tokens.jsonl byte-identical and the same summary"
[ $((gen_kills + ver_kills)) -ge 2 ] || fail "fewer than 2 kills landed mid-run: the test did not test resuming"

# A checkpoint is refused when it cannot be trusted, naming the file and what to do.
printf '{"index": 0, "prompt_token_ids": [1], "output_token_ids": [2]}\n' >"$WORK/old.json.partial.jsonl"
expect_error 2 "old.json.partial.jsonl:1: not a difr generate checkpoint \(no run header" -- \
    "$DIFR" generate --prompts "$WORK/prompts.jsonl" -n 4 -o "$WORK/old.json"
mkdir -p "$WORK/old-v" && head -n 3 "$WORK/ref-v/tokens.jsonl" >"$WORK/old-v/tokens.jsonl"
expect_error 2 "holds a tokens.jsonl without verify-run.json" -- "$DIFR" verify -i "$WORK/ref.json" -o "$WORK/old-v"
head -n 3 "$WORK/ref-v/tokens.jsonl" >"$WORK/v/tokens.jsonl"  # v's verify-run.json names seed 42
expect_error 2 "sampling.seed: 43 here, 42 in the checkpoint" -- \
    "$DIFR" verify -i "$WORK/ref.json" --temperature 1 --seed 43 --top-k 50 --top-p 0.95 "${ENGINE[@]}" -o "$WORK/v"
