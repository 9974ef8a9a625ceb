#!/usr/bin/env bash
# System-prompt detection through `difr audit`: one llama-server (the embedded model) is reached directly
# (provider "plain": no system prompt of its own) and through system_prompt_proxy.py (provider "pirate": it
# puts its own system prompt before every conversation). Audited at T = 0 against the local engine,
#   - without --assume-system, "plain" matches (>= 0.97) and "pirate" does not (<= 0.92);
#   - with --assume-system set to the pirate's prompt, the roles swap: the check identifies the prompt.
# The second audit reuses the stored answers (nothing is generated again); only the reference rows are new.
# The model names come from the registry (--hf-model, no -m). Bounds: docs/audit.md "System prompts".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVER="$(dirname "$DIFR")/llama-server"
[ -x "$SERVER" ] || fail "$SERVER is missing (build target llama-server)"
PIRATE="You are a pirate. Always answer like a pirate would, in one short paragraph."
HF=HuggingFaceTB/SmolLM2-135M-Instruct

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
PORT=$(free_port)
"$SERVER" -m "$HONEST" --host 127.0.0.1 --port "$PORT" -fa off --parallel 1 -t 1 -c 2048 --no-webui \
    >"$WORK/server.log" 2>&1 &
pids+=($!)
python3 "$ROOT/tests/e2e/system_prompt_proxy.py" "$WORK/proxy.port" "http://127.0.0.1:$PORT/v1" "$PIRATE" &
pids+=($!)
for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && [ -s "$WORK/proxy.port" ] && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { tail -5 "$WORK/server.log"; fail "llama-server did not start"; }
[ -s "$WORK/proxy.port" ] || fail "the system-prompt proxy did not start"
PROXY=$(cat "$WORK/proxy.port")

audit() {  # audit OUTFILE [extra options]: both providers, 8 prompts x 32 tokens
    local out=$1; shift
    "$DIFR" audit --hf-model "$HF" --prompts "$ROOT/data/prompts/default.jsonl" --limit 8 --max-tokens 32 \
        --concurrency 2 -t 1 -p "plain=http://127.0.0.1:$PORT/v1" -p "pirate=http://127.0.0.1:$PROXY/v1" \
        -o "$WORK/audit" "$@" >"$WORK/$out" 2>"$WORK/err.txt" || { cat "$WORK/err.txt"; fail "difr audit $* failed"; }
    cat "$WORK/$out"
}
# rates FILE: "plain_rate pirate_rate pirate_new_responses plain_model assumed"
rates() {
    python3 - "$WORK/audit/audit_results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ref = r["plain"]["reference"]
assert ref["kind"] == "local" and len(ref["model_sha256"]) == 64 and ref["id"] == "local:" + ref["model_sha256"], ref
assert ref["model"] == "smollm2-135m-instruct-q4_1.gguf", ref  # the registry's GGUF for the HF name
print(r["plain"]["exact_match_rate"], r["pirate"]["exact_match_rate"], r["pirate"]["responses"]["new"],
      r["plain"]["model"], json.dumps(r["pirate"]["config"]["assumed_system_prompt"]))
PY
}

audit out1.txt
read -r plain pirate _ model assumed < <(rates)
[ "$model" = "$HF" ] || fail "the model sent to a NAME=URL endpoint with --hf-model is '$model', expected $HF"
[ "$assumed" = "null" ] || fail "assumed_system_prompt is $assumed without --assume-system"
echo "no system prompt assumed: plain $plain, pirate $pirate"
expect_ge "plain provider, nothing assumed" "$plain" 0.97
expect_le "pirate provider, nothing assumed" "$pirate" 0.92

audit out2.txt --assume-system "$PIRATE"
read -r plain2 pirate2 new2 _ assumed2 < <(rates)
echo "pirate's system prompt assumed: plain $plain2, pirate $pirate2"
expect_ge "pirate provider, its prompt assumed" "$pirate2" 0.97
expect_le "plain provider, the pirate's prompt assumed" "$plain2" 0.92
[ "$new2" = "0" ] || fail "the second audit asked the pirate provider again ($new2 new answers)"
[ "$assumed2" = "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$PIRATE")" ] \
    || fail "assumed_system_prompt recorded as $assumed2"
echo "PASS"
