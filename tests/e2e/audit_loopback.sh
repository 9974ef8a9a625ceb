#!/usr/bin/env bash
# The loopback proof of provider audits: llama-server (built from the pinned llama.cpp) serves the embedded
# model as an honest provider, and a Q2_K requantisation of it as an impostor; `difr audit` generates through
# both at T = 0, re-tokenises their text and verifies it against the local engine. The honest provider must
# match >= 0.97, the impostor far less (bound justified in docs/audit.md from measured runs). The same stored
# answers are then verified against difr serve as a remote reference (Fireworks echo, vLLM prompt_logprobs)
# and cross-referenced: every rate must equal the local engine's and the references must agree token for
# token.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVER="$(dirname "$DIFR")/llama-server"
[ -x "$SERVER" ] || fail "$SERVER is missing (build target llama-server)"
impostor_make

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

# Trusting the reference (docs/audit.md): the same answers verified by the local engine and, as a
# cross-reference, by difr serve through vLLM's prompt_logprobs. The vLLM rows are new (stored under their own
# description); the local rows are reused. difr serve runs the same engine with the same settings and writes
# logprobs with %.9g, which round-trips float32: the references must agree on every token, with logprobs
# equal to within 1e-6 (measured: 0).
"$DIFR" audit --prompts "$ROOT/data/prompts/default.jsonl" --limit 12 --max-tokens 48 --logprobs --concurrency 2 \
    -p "honest=http://127.0.0.1:$P1/v1" -p "impostor=http://127.0.0.1:$P2/v1" -o "$WORK/audit" \
    --cross-reference "vllm=http://127.0.0.1:$REF_PORT/v1" \
    >"$WORK/out3.txt" 2>"$WORK/err3.txt" || { cat "$WORK/err3.txt"; fail "difr audit --cross-reference failed"; }
cat "$WORK/out3.txt"
# Then vLLM as the reference and Fireworks echo as the cross-reference: every row is in the store already.
"$DIFR" audit --prompts "$ROOT/data/prompts/default.jsonl" --limit 12 --max-tokens 48 --logprobs --concurrency 2 \
    -p "honest=http://127.0.0.1:$P1/v1" -p "impostor=http://127.0.0.1:$P2/v1" -o "$WORK/audit4" \
    --store "$WORK/audit/runs.sqlite" --vocab-only --reference "vllm=http://127.0.0.1:$REF_PORT/v1" \
    --cross-reference "fireworks=http://127.0.0.1:$REF_PORT/v1" \
    >"$WORK/out4.txt" 2>"$WORK/err4.txt" || { cat "$WORK/err4.txt"; fail "difr audit vllm x fireworks failed"; }
kill "$SERVE_PID" 2>/dev/null || true
cat "$WORK/out4.txt"
python3 - "$WORK/audit/audit_results.json" "$WORK/audit4/audit_results.json" "$honest_rate" "$impostor_rate" <<'PY'
import json, sys
cross, swapped = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for name, local in (("honest", float(sys.argv[3])), ("impostor", float(sys.argv[4]))):
    x, y = cross[name], swapped[name]
    for leg, r, want_new in (("local x vllm", x, x["n_sequences"]), ("vllm x fireworks", y, 0)):
        c = r["cross_reference"]
        print(f"{name} {leg}: reference {r['exact_match_rate']:.4f}, cross-reference {c['exact_match_rate']:.4f} "
              f"({c['reference']}); agreement {c['exact_match_agreement']} over {c['tokens_compared']} tokens; "
              f"|logprob diff| max {c['max_abs_logprob_diff']} mean {c['mean_abs_logprob_diff']} over "
              f"{c['logprobs_compared']} tokens; rows reused {c['reference_rows']['reused']} new "
              f"{c['reference_rows']['new']}")
        if abs(r["exact_match_rate"] - local) > 1e-9 or abs(c["exact_match_rate"] - local) > 1e-9:
            sys.exit(f"FAIL: {name} {leg}: rates differ from the local engine's {local}")
        if c["tokens_compared"] != r["total_tokens"] or c["exact_match_agreement"] != 1.0:
            sys.exit(f"FAIL: {name} {leg}: the references disagree")
        if c["logprobs_compared"] < 1 or c["max_abs_logprob_diff"] > 1e-6:
            sys.exit(f"FAIL: {name} {leg}: logprobs differ by up to {c['max_abs_logprob_diff']}")
        if c["reference_rows"]["new"] != want_new or c["reference_rows"]["reused"] != r["n_sequences"] - want_new:
            sys.exit(f"FAIL: {name} {leg}: cross-reference rows {c['reference_rows']}, expected {want_new} new")
    ref = y["reference"]
    if (ref["kind"], ref["k"], ref["wire"]) != ("topk", 5, "vllm_prompt_logprobs") or not ref["url"].endswith("/v1"):
        sys.exit(f"FAIL: {name}: reference object {ref}")
    if not ref["id"].startswith("vllm_prompt_logprobs:") or y["reference_rows"]["new"] != 0:
        sys.exit(f"FAIL: {name}: the vLLM reference rows of the cross-reference run were not reused")
PY
echo "ok: local engine, difr serve's vLLM prompt_logprobs and its Fireworks echo agree on every token"

# --provider-ids: llama-server returned its token ids (--logprobs); where they spell the answer's text they are
# verified instead of the re-tokenisation. The honest rate must be exactly 1 and the impostor stay far below.
# 11 of the 12 honest answers are verified as returned: in the twelfth ("Hoy, ¿cómo estás?") this llama-server
# leaves out of its logprobs the id of the token that ends inside the two-byte "¿", so its ids do not spell the
# text and difr re-tokenises it (the check doing its job; docs/audit.md).
"$DIFR" audit --prompts "$ROOT/data/prompts/default.jsonl" --limit 12 --max-tokens 48 --logprobs --provider-ids \
    --concurrency 2 -p "honest=http://127.0.0.1:$P1/v1" -p "impostor=http://127.0.0.1:$P2/v1" -o "$WORK/audit5" \
    --store "$WORK/audit/runs.sqlite" >"$WORK/out5.txt" 2>"$WORK/err5.txt" \
    || { cat "$WORK/err5.txt"; fail "difr audit --provider-ids failed"; }
cat "$WORK/out5.txt"
python3 - "$WORK/audit5/audit_results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
h, i = r["honest"], r["impostor"]
print(f"provider ids: honest {h['exact_match_rate']} ({h['total_tokens']} tokens), impostor {i['exact_match_rate']}")
assert h["exact_match_rate"] == 1.0, h["exact_match_rate"]
assert h["retokenization"]["sequences_verified_as_returned"] >= 11, h["retokenization"]
assert i["exact_match_rate"] <= 0.85, i["exact_match_rate"]
assert h["responses"] == {"reused": 12, "new": 0}, h["responses"]
PY
echo "ok: the provider's own ids verified"
