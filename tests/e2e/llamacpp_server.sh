#!/usr/bin/env bash
# The llama.cpp noise profile against llama.cpp itself: llama-server (built from the pinned llama.cpp) serves
# the embedded model on loopback and samples with T = 1, top-k 50, top-p 0.95 and a seed; `difr verify
# --noise llama.cpp` replays its sampler on difr's own logits. Honest: >= 0.99 exact match; a wrong seed:
# far lower. Usage: llamacpp_server.sh DIFR LLAMA_SERVER
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SERVER="$2"
MODEL="${DIFR_CACHE:-$HOME/.cache/difr}/models/smollm2-135m-instruct-q4_1.gguf"
[ -f "$MODEL" ] || fail "embedded model missing: $MODEL (run scripts/deps.sh)"
N_PROMPTS=8
N_PREDICT=64

# Prompt token ids rendered with the model's chat template, exactly as difr generate feeds them.
head -n "$N_PROMPTS" "$ROOT/data/prompts/default.jsonl" >"$WORK/prompts.jsonl"
"$DIFR" generate --prompts "$WORK/prompts.jsonl" --max-tokens 1 --temperature 0 -o "$WORK/prompts.json" 2>/dev/null

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# One slot and flash attention off: difr's batch-invariant settings (docs/engine.md).
"$SERVER" -m "$MODEL" --host 127.0.0.1 --port "$PORT" -t 2 -np 1 -c 2048 -fa off >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

python3 - "$PORT" "$WORK/prompts.json" "$WORK/claimed.json" "$N_PREDICT" "$SERVER_PID" <<'PY'
import json, os, sys, time, urllib.request, urllib.error
port, src, dst, n_predict, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
base = f"http://127.0.0.1:{port}"
deadline = time.time() + 120
while True:
    try:
        with urllib.request.urlopen(base + "/health", timeout=2) as r:
            if r.status == 200:
                break
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("llama-server exited before it was ready (see server.log)")
    if time.time() > deadline:
        sys.exit("llama-server not ready after 120 s")
    time.sleep(0.5)
seqs = []
for s in json.load(open(src)):
    body = {"prompt": s["prompt_token_ids"], "n_predict": n_predict, "temperature": 1.0, "top_k": 50,
            "top_p": 0.95, "min_p": 0.0, "seed": 42, "samplers": ["top_k", "top_p", "min_p", "temperature"],
            "cache_prompt": False, "return_tokens": True, "stream": False}
    req = urllib.request.Request(base + "/completion", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        out = json.load(r)
    seqs.append({"prompt_token_ids": s["prompt_token_ids"], "output_token_ids": out["tokens"]})
json.dump(seqs, open(dst, "w"))
print(f"llama-server returned {sum(len(s['output_token_ids']) for s in seqs)} tokens for {len(seqs)} prompts")
PY

SAMPLED="--noise llama.cpp --temperature 1 --top-k 50 --top-p 0.95"
# shellcheck disable=SC2086
"$DIFR" verify -i "$WORK/claimed.json" $SAMPLED --seed 42 -o "$WORK/honest"
expect_ge "llama.cpp profile, honest exact_match_rate" "$(json_get "$WORK/honest/summary.json" exact_match_rate)" 0.99

# A wrong seed draws other uniforms: a match then needs the other draw to land in the same candidate's
# interval, sum_i p_i^2 per token, as for the Gumbel profiles (0.445 there); 0.65 is far below honest.
# shellcheck disable=SC2086
"$DIFR" verify -i "$WORK/claimed.json" $SAMPLED --seed 43 -o "$WORK/wrong-seed"
expect_le "llama.cpp profile, wrong-seed exact_match_rate" \
    "$(json_get "$WORK/wrong-seed/summary.json" exact_match_rate)" 0.65

# The Gumbel profile cannot explain llama.cpp's samples either: the noise is a different function entirely.
# shellcheck disable=SC2086
"$DIFR" verify -i "$WORK/claimed.json" --noise vllm --temperature 1 --top-k 50 --top-p 0.95 --seed 42 \
    -o "$WORK/vllm-profile"
expect_le "vllm profile on llama.cpp samples, exact_match_rate" \
    "$(json_get "$WORK/vllm-profile/summary.json" exact_match_rate)" 0.65

# difr's own generator with the llama.cpp profile replays llama-server's sampling: same tokens.
# shellcheck disable=SC2086
"$DIFR" generate --prompts "$WORK/prompts.jsonl" --max-tokens "$N_PREDICT" $SAMPLED --seed 42 \
    -o "$WORK/difr-generated.json" 2>/dev/null
python3 - "$WORK/claimed.json" "$WORK/difr-generated.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
same = sum(1 for x, y in zip(a, b) if x["output_token_ids"] == y["output_token_ids"][:len(x["output_token_ids"])])
print(f"ok: difr generate --noise llama.cpp reproduces {same}/{len(a)} llama-server sequences token for token")
sys.exit(0 if same >= len(a) - 1 else 1)
PY
