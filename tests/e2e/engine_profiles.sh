#!/usr/bin/env bash
# The engines' noise profiles end to end (issue #14): difr's generator samples as vLLM 0.31+ (vllm), vLLM with
# --use-fp64-gumbel (vllm-fp64) and SGLang's deterministic mode (sglang); verifying with the same profile
# explains every token, the other engine's profile does not, and `--noise auto` names the engine.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROMPTS="$WORK/prompts.jsonl"
head -n 4 "$ROOT/data/prompts/default.jsonl" >"$PROMPTS"
SAMPLED="--temperature 1 --seed 42 --top-k 50 --top-p 0.95"

# difr noise: the raw hash, u and G of one token; SGLang issue #25106's vector hashes to all ones.
"$DIFR" noise --noise sglang --seed 7847 --position 12345 --token 1208 >"$WORK/noise.json"
python3 - "$WORK/noise.json" <<'PY'
import json, math, sys
n = json.load(open(sys.argv[1]))
assert n["hash"] == "0xffffffff", n
assert abs(n["gumbel"] - 32 * math.log(2)) < 1e-12, n  # the clamp: finite, 32 ln 2
print("ok: difr noise sglang (7847, 12345, 1208) ->", n["hash"], n["gumbel"])
PY
expect_error 2 "not counter-based" -- "$DIFR" noise --noise torch-cpu --seed 1
expect_error 2 "auto identifies" -- "$DIFR" generate -p hi -n 2 --temperature 1 --noise auto -o "$WORK/x.json"

for profile in vllm vllm-fp64 sglang; do
    # shellcheck disable=SC2086
    "$DIFR" generate --prompts "$PROMPTS" --max-tokens 48 $SAMPLED --noise "$profile" -o "$WORK/$profile.json"
    # shellcheck disable=SC2086
    "$DIFR" verify -i "$WORK/$profile.json" $SAMPLED --noise "$profile" -o "$WORK/$profile-same"
    expect_ge "$profile tokens under $profile" "$(json_get "$WORK/$profile-same/summary.json" exact_match_rate)" 0.99
    # shellcheck disable=SC2086
    "$DIFR" verify -i "$WORK/$profile.json" $SAMPLED --noise auto -o "$WORK/$profile-auto" | tee "$WORK/auto.txt"
    python3 - "$WORK/$profile-auto/summary.json" "$profile" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p = s["provenance"]
ident = p["noise_identification"]
assert ident["verdict"] == "identified", ident
assert ident["profile"] == sys.argv[2], ident
assert p["noise_identified"] == sys.argv[2]
assert s["exact_match_rate"] >= 0.99, s["exact_match_rate"]
runner_up = ident["profiles"][1]
print(f"ok: auto identifies {sys.argv[2]} (10^{ident['log10_lr_vs_next']:.0f} over {runner_up['profile']}, "
      f"which explains {100 * runner_up['exact_match_rate']:.1f}%)")
PY
done

# The other engine's noise does not explain the tokens (its match is chance: sum_i p_i^2 per token).
# shellcheck disable=SC2086
"$DIFR" verify -i "$WORK/sglang.json" $SAMPLED --noise vllm -o "$WORK/sglang-as-vllm"
expect_le "sglang tokens under vllm" "$(json_get "$WORK/sglang-as-vllm/summary.json" exact_match_rate)" 0.7

# Tokens no profile made (a different seed): auto says so rather than picking one.
# shellcheck disable=SC2086
"$DIFR" verify -i "$WORK/vllm.json" --temperature 1 --seed 7 --top-k 50 --top-p 0.95 --noise auto -o "$WORK/none"
python3 - "$WORK/none/summary.json" <<'PY'
import json, sys
ident = json.load(open(sys.argv[1]))["provenance"]["noise_identification"]
assert ident["verdict"] == "no profile explains these tokens", ident
print("ok: wrong seed -> no profile explains these tokens (best", ident["profile"], ident["profiles"][0]["log10_lr"], ")")
PY
