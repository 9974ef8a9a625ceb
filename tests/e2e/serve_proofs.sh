#!/usr/bin/env bash
# Activation proofs from a remote prover, on loopback (issue #13, "Serving"): difr serve's prover endpoints
# return Activation-DiFR fingerprints and TOPLOC proofs on request; a client saves the tokens and the proofs
# the way the response hands them over and checks them with `difr verify --fingerprints` against the local
# reference. An honest server's proofs are those `difr generate` makes for the same request, byte for byte,
# and verify at distance 0 with 0 TOPLOC mismatches; a server running the model requantised to Q4_0 is caught
# by both, and so is a tampered copy of the honest proofs; malformed proof fields get a 400 naming the field.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SAMPLED=(--temperature 1 --seed 42 --top-k 50 --top-p 0.95)
SERVERS=()
trap 'for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# serve NAME [difr serve options]: starts a prover on a free port; its port is in $WORK/NAME.port.
serve() {
    local name=$1
    shift
    "$DIFR" serve --prover-completions --port 0 -t 1 --ready-file "$WORK/$name.port" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.log" &
    SERVERS+=($!)
    local pid=$!
    for _ in $(seq 1 1200); do
        [ -f "$WORK/$name.port" ] && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "difr serve ($name) exited before listening"; }
        sleep 0.1
    done
    fail "difr serve ($name) did not write its ready file within 120 s"
}

# The client: two requests (a chat completion and a text completion, the same sampling and the same proofs:
# k = 8 fingerprints, TOPLOC top-128 per 8 tokens), saved as a token file (token-difr format) and a
# fingerprints file (the header, then each response's sequence line, numbered in order).
cat >"$WORK/client.py" <<'PY'
import json, sys
from serve_client import Client, fail
port, prefix = sys.argv[1:]
call = Client(port, timeout=600).post

sampling = {"max_tokens": 24, "temperature": 1, "top_k": 50, "top_p": 0.95, "seed": 42}
proofs = {"fingerprint": {"k": 8}, "toploc": {"decode_batching_size": 8}}
asks = [("/v1/chat/completions", {"messages": [{"role": "user", "content": "Name three rivers in Europe."}]}),
        ("/v1/completions", {"prompt": "Photosynthesis is the process"})]
tokens, header, lines, sizes = [], None, [], []
for path, body in asks:
    st, r = call(path, {**body, **sampling, **proofs})
    if st != 200: fail(f"{path}: HTTP {st} {r}")
    p = r["difr"]["activation_proofs"]
    t, seq, b = p["tokens"], p["sequence"], p["bytes"]
    n = len(t["output_token_ids"])
    if not 0 < n <= 24 or r["usage"]["completion_tokens"] != n or seq["tokens"] != n: fail(f"{path}: {n} tokens, {r['usage']}")
    if r["usage"]["prompt_tokens"] != len(t["prompt_token_ids"]): fail(f"{path}: prompt ids {r['usage']}")
    chunks = (n + 7) // 8
    if len(seq["toploc"]) != chunks: fail(f"{path}: {len(seq['toploc'])} TOPLOC proofs for {n} tokens")
    # The byte cost: 2k = 16 bytes per token, 2 + 2 x 128 = 258 per proof, and the line as sent.
    want = {"fingerprint": 16 * n, "toploc": 258 * chunks, "total": 16 * n + 258 * chunks,
            "per_token": (16 * n + 258 * chunks) / n, "line": len(json.dumps(seq, separators=(",", ":")))}
    if b != want: fail(f"{path}: bytes {b}, expected {want}")
    if header is not None and p["header"] != header: fail(f"{path}: another header {p['header']}")
    header = p["header"]
    tokens.append(t)
    lines.append(dict(seq, seq=len(lines)))
    sizes.append(b)
    print(f"ok: {path}: {n} tokens, proofs {b['total']} bytes ({b['per_token']:.2f} per token), line {b['line']} bytes")
json.dump(tokens, open(prefix + ".tokens.json", "w"))
with open(prefix + ".proofs.jsonl", "w") as f:
    for o in [header] + lines:
        f.write(json.dumps(o, separators=(",", ":")) + "\n")
json.dump({"header": header, "lines": lines, "bytes": sizes}, open(prefix + ".responses.json", "w"))
PY

impostor=$WORK/q4_0.gguf
"$DIFR" quantize --type Q4_0 -o "$impostor" -t 1 >/dev/null
serve honest
serve impostor -m "$impostor"

# Honest: the proofs check exactly against the local reference (same engine, same defaults, batch-invariant).
python3 "$WORK/client.py" "$(cat "$WORK/honest.port")" "$WORK/honest"
"$DIFR" verify -i "$WORK/honest.tokens.json" "${SAMPLED[@]}" -t 1 --fingerprints "$WORK/honest.proofs.jsonl" \
    --fingerprint-max-l2 0 -o "$WORK/hv" | tee "$WORK/hv.txt"
python3 - "$WORK/hv/summary.json" "$WORK/honest.tokens.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["provenance"]
n = sum(len(t["output_token_ids"]) for t in json.load(open(sys.argv[2])))
f, t = p["fingerprints"], p["toploc"]
assert f["tokens"] == n and f["l2_max"] == 0 and f["identical_rate"] == 1, f
chunks = sum((len(s["output_token_ids"]) + 7) // 8 for s in json.load(open(sys.argv[2])))
assert t["chunks"] == chunks and t["passed"] == chunks and t["max_exp_mismatches"] == 0, t
assert t["max_mant_err_mean"] == 0 and t["max_mant_err_median"] == 0, t
print(f"ok: honest server: {n} tokens at fingerprint distance 0, {chunks} of {chunks} TOPLOC chunks with 0 mismatches")
PY

# The same proofs as the command line's prover: difr generate with the same prompt, sampling and proofs.
"$DIFR" generate -p "Name three rivers in Europe." -n 24 "${SAMPLED[@]}" -t 1 --fingerprint 8 --toploc \
    --toploc-chunk 8 -o "$WORK/cli.json" >/dev/null
python3 - "$WORK/cli.json" "$WORK/honest.responses.json" "$WORK/honest.tokens.json" <<'PY'
import json, sys
cli = json.load(open(sys.argv[1]))[0]
served = json.load(open(sys.argv[2]))
tokens = json.load(open(sys.argv[3]))[0]
assert tokens["prompt_token_ids"] == cli["prompt_token_ids"], "the chat prompt's token ids differ"
assert tokens["output_token_ids"] == cli["output_token_ids"], "the served tokens differ from difr generate's"
lines = [json.loads(l) for l in open(sys.argv[1] + ".fingerprints.jsonl")]
assert lines[0] == served["header"], (lines[0], served["header"])
assert lines[1] == served["lines"][0], "the served proofs differ from difr generate's"
print(f"ok: the served chat completion = difr generate: {len(cli['output_token_ids'])} tokens, header and proofs identical")
PY

# Tampered: the honest server's proofs with one fingerprint value's sign flipped (sequence 0, token 5) and one
# TOPLOC coefficient moved by 1 (sequence 1, chunk 1, coefficient 1). verify exits 1 naming both; exactly the
# tampered token moves (by 2|v|) and exactly the tampered chunk fails, the rest still check at distance 0.
python3 - "$WORK/honest.proofs.jsonl" "$WORK/tampered.proofs.jsonl" <<'PY'
import base64, json, struct, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
fp = bytearray(base64.b64decode(lines[1]["fingerprint"]))
at = (5 * 8 + 0) * 2  # token 5, value 0, little-endian f16
v = struct.unpack("<e", bytes(fp[at:at + 2]))[0]
assert v != 0, "token 5's first fingerprint value is 0: pick another"
fp[at + 1] ^= 0x80
lines[1]["fingerprint"] = base64.b64encode(bytes(fp)).decode()
proof = bytearray(base64.b64decode(lines[2]["toploc"][1]))  # modulus, then 128 coefficients, big-endian
# Coefficient 1, not 0: the constant moved by 1 shifts every value by one bf16 ulp, inside TOPLOC's tolerance.
c = (int.from_bytes(proof[4:6], "big") + 1) % 65497
proof[4:6] = c.to_bytes(2, "big")
lines[2]["toploc"][1] = base64.b64encode(bytes(proof)).decode()
with open(sys.argv[2], "w") as f:
    for o in lines:
        f.write(json.dumps(o, separators=(",", ":")) + "\n")
json.dump({"v": v}, open(sys.argv[2] + ".v", "w"))
PY
set +e
"$DIFR" verify -i "$WORK/honest.tokens.json" "${SAMPLED[@]}" -t 1 --fingerprints "$WORK/tampered.proofs.jsonl" \
    --fingerprint-max-l2 0 -o "$WORK/tv" >"$WORK/tv.txt" 2>"$WORK/tv.err"
status=$?
set -e
cat "$WORK/tv.txt"
[ "$status" -eq 1 ] || { cat "$WORK/tv.err" >&2; fail "tampered proofs: verify exited $status, expected 1"; }
grep -q "fingerprint distance .* exceeds 0" "$WORK/tv.err" || fail "no fingerprint failure: $(cat "$WORK/tv.err")"
grep -q "1 TOPLOC chunks fail the thresholds" "$WORK/tv.err" || fail "no TOPLOC failure: $(cat "$WORK/tv.err")"
python3 - "$WORK/tv" "$WORK/tampered.proofs.jsonl.v" <<'PY'
import json, sys
out, v = sys.argv[1], json.load(open(sys.argv[2]))["v"]
moved = [r for r in map(json.loads, open(out + "/fingerprints.jsonl")) if r["l2"] != 0]
assert [(r["seq"], r["pos"]) for r in moved] == [(0, 5)], moved
assert abs(moved[0]["l2"] - 2 * abs(v)) <= 1e-6 * abs(v), (moved, v)
failed = [r for r in map(json.loads, open(out + "/toploc.jsonl")) if not r["pass"]]
assert [(r["seq"], r["chunk"]) for r in failed] == [(1, 1)], failed
print(f"ok: tampered proofs rejected: token (0, 5) at L2 {moved[0]['l2']:.4g} = 2|{v:.4g}|, the 47 others at 0; "
      f"TOPLOC chunk (1, 1) fails (exp mismatches {failed[0]['exp_mismatches']}, mant err mean "
      f"{failed[0]['mant_err_mean']:.3g}), the 5 others pass")
PY

# The impostor (Q4_0): its proofs of its own tokens, checked against the Q4_1 reference, move in every token
# and fail TOPLOC in every chunk; verify exits 1 naming both.
python3 "$WORK/client.py" "$(cat "$WORK/impostor.port")" "$WORK/impostor"
set +e
"$DIFR" verify -i "$WORK/impostor.tokens.json" "${SAMPLED[@]}" -t 1 --fingerprints "$WORK/impostor.proofs.jsonl" \
    --fingerprint-max-l2 0 -o "$WORK/iv" >"$WORK/iv.txt" 2>"$WORK/iv.err"
status=$?
set -e
cat "$WORK/iv.txt"
[ "$status" -eq 1 ] || { cat "$WORK/iv.err" >&2; fail "the Q4_0 server's proofs: verify exited $status, expected 1"; }
grep -q "fingerprint distance .* exceeds 0" "$WORK/iv.err" || fail "no fingerprint failure: $(cat "$WORK/iv.err")"
grep -q "TOPLOC chunks fail the thresholds" "$WORK/iv.err" || fail "no TOPLOC failure: $(cat "$WORK/iv.err")"
python3 - "$WORK/iv/summary.json" "$WORK/iv/toploc.jsonl" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["provenance"]
f, t = p["fingerprints"], p["toploc"]
assert f["identical_rate"] == 0 and f["l2_median"] > 0, f
assert t["passed"] == 0, t
worst = min(json.loads(l)["exp_mismatches"] for l in open(sys.argv[2]))
print(f"ok: Q4_0 server caught: {f['tokens']} tokens, fingerprint L2 median {f['l2_median']:.3g} (min relative "
      f"{min(json.loads(l)['relative'] for l in open(sys.argv[1].replace('summary.json', 'fingerprints.jsonl'))):.3g}), "
      f"0 identical; TOPLOC 0 of {t['chunks']} chunks pass (exp mismatches {worst} to {t['max_exp_mismatches']} of 128, "
      f"mant err mean up to {t['max_mant_err_mean']:.3g})")
PY

# Malformed proof fields: 400 and an OpenAI error naming the field, on both endpoints, before any generation.
python3 - "$(cat "$WORK/honest.port")" <<'PY'
import sys
from serve_client import Client, fail
call = Client(sys.argv[1], timeout=600).post
bad = [({"fingerprint": 1}, "fingerprint", "fingerprint: 1 is outside [2, 128]"),
       ({"fingerprint": 200}, "fingerprint", "fingerprint: 200 is outside [2, 128]"),
       ({"fingerprint": {"k": "8"}}, "fingerprint", "fingerprint.k: expected an integer, got string"),
       ({"fingerprint": {"k": 8, "basis": "random"}}, "fingerprint", "fingerprint.basis: fingerprint basis must be orthonormal or gaussian, got 'random'"),
       ({"fingerprint": {"k": 8, "sead": 1}}, "fingerprint", "fingerprint.sead: unknown field (fingerprint takes k, seed, basis, dtype)"),
       ({"toploc": {"topk": 577}}, "toploc", "toploc.topk: 577 is outside [1, 576]"),
       ({"toploc": {"decode_batching_size": 0}}, "toploc", "toploc.decode_batching_size: 0 is outside [1, 1048576]"),
       ({"toploc": {"decode_batching_size": 8.5}}, "toploc", "toploc.decode_batching_size: expected an integer, got number"),
       ({"toploc": {"skip_prefill": False}}, "toploc", "toploc.skip_prefill: false is not offered"),
       ({"toploc": "yes"}, "toploc", "toploc: expected true or an object")]
for path, base_body in (("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]}),
                        ("/v1/completions", {"prompt": [1, 9690, 198]})):
    for extra, param, message in bad:
        st, r = call(path, {**base_body, **extra, "max_tokens": 4})
        if st != 400 or r["error"]["param"] != param or not r["error"]["message"].startswith(message):
            fail(f"{path} {extra}: HTTP {st} {r}")
print(f"ok: {2 * len(bad)} malformed proof fields answered 400 naming the field")
PY
grep -q "fingerprint k=8, toploc top-128" "$WORK/honest.log" || fail "the request log does not say which proofs were made"
echo "all serve_proofs checks passed"
