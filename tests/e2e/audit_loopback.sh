#!/usr/bin/env bash
# The loopback proof of provider audits: llama-server (built from the pinned llama.cpp) serves the embedded
# model as an honest provider, and a Q2_K requantisation of it as an impostor; `difr audit` generates through
# both at T = 0, re-tokenises their text and verifies it against the local engine. The honest provider must
# match >= 0.97, the impostor far less (bound justified in docs/audit.md from measured runs).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVER="$(dirname "$DIFR")/llama-server"
[ -x "$SERVER" ] || fail "$SERVER is missing (build target llama-server)"
MODELS="${DIFR_CACHE:-$HOME/.cache/difr}/models"
HONEST="$MODELS/smollm2-135m-instruct-q4_1.gguf"
IMPOSTOR="$MODELS/derived/smollm2-135m-instruct-q2_k.gguf"
if [ ! -f "$IMPOSTOR" ]; then
    mkdir -p "$MODELS/derived"
    "$DIFR" quantize -m "$HONEST" --type Q2_K -o "$IMPOSTOR" >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
start_server() {  # start_server MODEL PORT LOG: one slot, flash attention off (docs/engine.md), one thread
    "$SERVER" -m "$1" --host 127.0.0.1 --port "$2" -fa off --parallel 1 -t 1 -c 2048 --no-webui >"$3" 2>&1 &
    pids+=($!)
}
P1=$(free_port)
start_server "$HONEST" "$P1" "$WORK/honest.log"
P2=$(free_port)
start_server "$IMPOSTOR" "$P2" "$WORK/impostor.log"
for p in "$P1" "$P2"; do
    for _ in $(seq 600); do
        curl -sf "http://127.0.0.1:$p/health" >/dev/null && break
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$p/health" >/dev/null || { tail -5 "$WORK"/*.log; fail "llama-server on $p did not start"; }
done

"$DIFR" audit --prompts "$ROOT/data/prompts/default.jsonl" --limit 12 --max-tokens 48 --logprobs --concurrency 2 \
    -p "honest=http://127.0.0.1:$P1/v1" -p "impostor=http://127.0.0.1:$P2/v1" -o "$WORK/audit" \
    >"$WORK/out.txt" 2>"$WORK/err.txt" || { cat "$WORK/err.txt"; fail "difr audit failed"; }
cat "$WORK/out.txt"
python3 - "$WORK/audit/audit_results.json" <<'PY' >"$WORK/rates.txt"
import json, sys
r = json.load(open(sys.argv[1]))
for name in ("honest", "impostor"):
    x = r[name]
    rt = x["retokenization"]
    print(name, x["exact_match_rate"], x["total_tokens"], x["n_sequences"], rt["sequences_changed"],
          rt["sequences_compared"], rt["tokens_changed"], rt["tokens_compared"])
PY
read -r _ honest_rate honest_tokens honest_seqs rc_seq rc_n rc_tok rc_tokn < <(grep '^honest' "$WORK/rates.txt")
read -r _ impostor_rate impostor_tokens _ _ _ _ _ < <(grep '^impostor' "$WORK/rates.txt")
echo "measured: honest $honest_rate over $honest_tokens tokens ($honest_seqs sequences), impostor $impostor_rate over" \
     "$impostor_tokens tokens; re-tokenisation changed $rc_seq of $rc_n honest answers ($rc_tok of $rc_tokn tokens)"
expect_ge "honest exact-match rate" "$honest_rate" 0.97
expect_le "impostor exact-match rate" "$impostor_rate" 0.85
expect_ge "honest sequences" "$honest_seqs" 12
expect_ge "answers compared for re-tokenisation" "$rc_n" 12

# The same stored answers against a remote reference: difr serve over the local engine, asked with
# Fireworks-style echo logprobs (top 5). Nothing is generated again; only the reference changes. With a top-k
# reference the greedy check is unchanged for tokens inside the top 5, so the rates must agree with the
# local engine's.
"$DIFR" serve --port 0 --ready-file "$WORK/serve.port" -t 1 >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
pids+=("$SERVE_PID")
for _ in $(seq 1 240); do [ -s "$WORK/serve.port" ] && break; sleep 0.5; done
[ -s "$WORK/serve.port" ] || { cat "$WORK/serve.log"; fail "difr serve did not start"; }
REF_PORT=$(tr -dc '0-9' <"$WORK/serve.port")
"$DIFR" audit --prompts "$ROOT/data/prompts/default.jsonl" --limit 12 --max-tokens 48 --logprobs --concurrency 2 \
    -p "honest=http://127.0.0.1:$P1/v1" -p "impostor=http://127.0.0.1:$P2/v1" -o "$WORK/audit" \
    --reference "fireworks=http://127.0.0.1:$REF_PORT/v1" \
    >"$WORK/out2.txt" 2>"$WORK/err2.txt" || { cat "$WORK/err2.txt"; fail "difr audit against difr serve failed"; }
kill "$SERVE_PID" 2>/dev/null || true
cat "$WORK/out2.txt"
python3 - "$WORK/audit/audit_results.json" "$honest_rate" "$impostor_rate" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for name, local in (("honest", float(sys.argv[2])), ("impostor", float(sys.argv[3]))):
    got = r[name]["exact_match_rate"]
    print(f"{name}: difr serve reference {got:.4f}, local engine {local:.4f}")
    if abs(got - local) > 1e-9:
        sys.exit(f"FAIL: {name} rate against difr serve differs from the local engine's")
PY
echo "ok: difr serve as the reference gives the local engine's rates"
