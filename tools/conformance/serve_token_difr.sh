#!/usr/bin/env bash
# token-difr's own Fireworks client (verify_outputs_fireworks, openai's AsyncOpenAI) against `difr serve`:
# the echo wire format as token-difr sends and parses it, and its top-k metrics against `difr verify` at T = 0
# on the same tokens. Needs the conformance virtualenv (tools/conformance/run.sh makes it); CI does not run it.
#
#   tools/conformance/serve_token_difr.sh [TEMPERATURE]     (sequences generated at TEMPERATURE, default 1)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
difr=${DIFR_BUILD_DIR:-$root/build}/bin/difr
py=${DIFR_CACHE:-$HOME/.cache/difr}/conformance-venv/bin/python
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

head -n 4 "$root/data/prompts/default.jsonl" >"$work/p.jsonl"
"$difr" generate --prompts "$work/p.jsonl" --max-tokens 32 --temperature "${1:-1}" --seed 3 -o "$work/seqs.json" 2>/dev/null
"$difr" verify -i "$work/seqs.json" --temperature 0 -o "$work/v" >/dev/null 2>&1
"$difr" serve --port 0 --ready-file "$work/ready" >/dev/null 2>"$work/serve.log" &
server=$!
for _ in $(seq 1 600); do [ -f "$work/ready" ] && break; sleep 0.1; done

"$py" - "$(cat "$work/ready")" "$work/seqs.json" "$work/v/tokens.jsonl" <<'PY'
import asyncio, json, sys
from openai import AsyncOpenAI
from token_difr import TokenSequence
from token_difr.api import verify_outputs_fireworks

port, seqs_path, tokens_path = sys.argv[1:]
seqs = [TokenSequence(prompt_token_ids=s["prompt_token_ids"], output_token_ids=s["output_token_ids"])
        for s in json.load(open(seqs_path))]
client = AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none")
res = asyncio.run(verify_outputs_fireworks(seqs, 49152, temperature=0.0, top_k=-1, top_p=1.0, seed=0,
                                           client=client, model="smollm2-135m-instruct-q4_1", topk_logprobs=5,
                                           verbose=False))
ref = [json.loads(l) for l in open(tokens_path)]
n = em = rank = in_top = outside_inf = 0
max_margin = 0.0
for t in ref:
    m = res[t["seq"]][t["pos"]]
    n += 1
    em += m.exact_match == t["exact_match"]
    if t["logit_rank"] < 5:
        in_top += 1
        rank += m.logit_rank == t["logit_rank"]
        max_margin = max(max_margin, abs(m.margin - t["margin"]))
    else:
        outside_inf += m.margin == float("inf")
print(f"{n} tokens: exact_match agrees on {em}; {in_top} in the top 5: logit_rank agrees on {rank}, "
      f"max |margin diff| {max_margin:.3g}; {n - in_top} outside: margin +inf on {outside_inf}")
ok = em == n and rank == in_top and max_margin < 1e-5 and outside_inf == n - in_top
sys.exit(0 if ok else 1)
PY
