#!/usr/bin/env bash
# Activation proofs end to end on the embedded model (issue #13): a prover emits fingerprints and TOPLOC proofs
# while generating; the verifier checks them in one batched prefill. Honest proofs verify exactly (distance 0,
# every TOPLOC chunk with 0 exponent mismatches); a Q2_K impostor's proofs for its own tokens do not; `difr
# toploc build/verify` reproduce toploc 0.1.6's proofs from an npz file; bad proofs are input errors.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROMPTS="$WORK/prompts.jsonl"
head -n 6 "$ROOT/data/prompts/default.jsonl" >"$PROMPTS"
SAMPLED=(--temperature 1 --seed 42 --top-k 50 --top-p 0.95)

# Honest: generate with proofs (3 sequences together), verify with another batch and parallelism.
"$DIFR" generate --prompts "$PROMPTS" --max-tokens 40 "${SAMPLED[@]}" -t 1 --parallel 3 \
    --fingerprint 8 --toploc --toploc-chunk 16 -o "$WORK/h.json" | tee "$WORK/gen.txt"
grep -q "fingerprints k=8 (16 bytes/token), TOPLOC top-128 per 16 tokens" "$WORK/gen.txt" || fail "generate's proof line"
"$DIFR" verify -i "$WORK/h.json" "${SAMPLED[@]}" -t 1 --batch 48 --parallel 2 \
    --fingerprints "$WORK/h.json.fingerprints.jsonl" -o "$WORK/hv" | tee "$WORK/ver.txt"
python3 - "$WORK/hv" <<'PY'
import json, sys
d = sys.argv[1]
p = json.load(open(d + "/summary.json"))["provenance"]
assert p["fingerprints"]["l2_max"] == 0 and p["fingerprints"]["identical_rate"] == 1, p["fingerprints"]
assert p["toploc"]["passed"] == p["toploc"]["chunks"] > 0 and p["toploc"]["max_exp_mismatches"] == 0, p["toploc"]
n = sum(1 for _ in open(d + "/fingerprints.jsonl"))
assert n == p["fingerprints"]["tokens"], n
print(f"ok: honest proofs: {n} tokens at distance 0, {p['toploc']['chunks']} TOPLOC chunks with 0 mismatches")
PY

# The impostor (the reference requantised to Q2_K) generates and proves its own tokens; the reference verifier
# sees other hidden states: every fingerprint moves and TOPLOC fails (exit 1).
impostor_make
"$DIFR" generate -m "$IMPOSTOR" --prompts "$PROMPTS" --max-tokens 40 "${SAMPLED[@]}" -t 1 \
    --fingerprint 8 --toploc --toploc-chunk 16 -o "$WORK/i.json" >/dev/null
set +e
"$DIFR" verify -i "$WORK/i.json" "${SAMPLED[@]}" -t 1 --fingerprints "$WORK/i.json.fingerprints.jsonl" \
    -o "$WORK/iv" >"$WORK/iv.txt" 2>"$WORK/iv.err"
status=$?
set -e
[ "$status" -eq 1 ] || { cat "$WORK/iv.err"; fail "impostor's proofs: exit $status, expected 1"; }
grep -q "TOPLOC chunks fail" "$WORK/iv.err" || fail "no TOPLOC failure message"
python3 - "$WORK/iv" <<'PY'
import json, sys
p = json.load(open(sys.argv[1] + "/summary.json"))["provenance"]
f, t = p["fingerprints"], p["toploc"]
assert f["identical_rate"] == 0 and f["l2_median"] > 0, f
assert t["passed"] == 0, t
print(f"ok: Q2_K impostor: fingerprint L2 median {f['l2_median']:.3g}, {t['passed']} of {t['chunks']} TOPLOC chunks pass")
PY

# Proofs that do not match the token file: another sequence count.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump(d[:-1], open(sys.argv[2], "w"))' \
    "$WORK/h.json" "$WORK/short.json"
expect_error 2 "holds proofs for 6 sequences, the token file has 5" -- \
    "$DIFR" verify -i "$WORK/short.json" "${SAMPLED[@]}" --fingerprints "$WORK/h.json.fingerprints.jsonl" -o "$WORK/x"
expect_error 2 "not a fingerprints file" -- \
    "$DIFR" verify -i "$WORK/h.json" "${SAMPLED[@]}" --fingerprints "$WORK/h.json" -o "$WORK/x"

# difr toploc on an npz the test writes from the conformance goldens (the package's own proofs and results).
python3 - "$ROOT/tests/data/conformance/toploc.json" "$WORK" <<'PY'
import base64, json, struct, sys, zipfile
g = json.load(open(sys.argv[1]))
c = next(c for c in g["cases"] if c["name"] == "smollm_dbs32_k128")
def npy(bits_b64, shape):
    header = "{'descr': '<u2', 'fortran_order': False, 'shape': (%s), }" % (", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + base64.b64decode(bits_b64)
for name, acts in (("prover", c["activations"]), ("jitter", next(v for v in c["verify"] if v["name"] == "jitter_1e-2")["activations"])):
    with zipfile.ZipFile(f"{sys.argv[2]}/{name}.npz", "w", zipfile.ZIP_DEFLATED) as z:  # as savez_compressed
        for i, a in enumerate(acts):
            z.writestr(f"a{i}.npy", npy(a["bf16"], a["shape"]))
open(f"{sys.argv[2]}/package.txt", "w").write("\n".join(c["proofs"]) + "\n")
jit = next(v for v in c["verify"] if v["name"] == "jitter_1e-2")["cpp"]
open(f"{sys.argv[2]}/package_results.json", "w").write(json.dumps(jit))
PY
TL=(--topk 128 --decode-batching-size 32 --skip-prefill)
"$DIFR" toploc build --activations "$WORK/prover.npz" "${TL[@]}" >"$WORK/difr.txt"
cmp "$WORK/difr.txt" "$WORK/package.txt" || fail "difr toploc build differs from toploc 0.1.6's proofs"
echo "ok: difr toploc build = toploc 0.1.6's proofs, byte for byte ($(wc -l <"$WORK/difr.txt") proofs)"
"$DIFR" toploc verify --activations "$WORK/jitter.npz" --proofs "$WORK/package.txt" "${TL[@]}" >"$WORK/res.jsonl" || true
python3 - "$WORK/res.jsonl" "$WORK/package_results.json" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = json.load(open(sys.argv[2]))
assert [[r["exp_mismatches"], r["mant_err_mean"], r["mant_err_median"]] for r in got] == want, (got, want)
print(f"ok: difr toploc verify = the package's C++-path results on jittered activations ({len(got)} chunks)")
PY

# Bad proofs are input errors naming the line, never a crash.
printf '%s\n' "$(head -n 1 "$WORK/package.txt")" >"$WORK/few.txt"
expect_error 2 "1 proofs for 3 chunks" -- "$DIFR" toploc verify --activations "$WORK/prover.npz" --proofs "$WORK/few.txt" "${TL[@]}"
{ head -n 2 "$WORK/package.txt"; python3 -c 'import base64; print(base64.b64encode(bytes(258)).decode())'; } >"$WORK/null.txt"
expect_error 2 "null.txt:3: modulus 0: a null proof" -- "$DIFR" toploc verify --activations "$WORK/prover.npz" --proofs "$WORK/null.txt" "${TL[@]}"
{ head -n 2 "$WORK/package.txt"; echo 'AAAA*AAA'; } >"$WORK/b64.txt"
expect_error 2 "b64.txt:3: invalid base64 character" -- "$DIFR" toploc verify --activations "$WORK/prover.npz" --proofs "$WORK/b64.txt" "${TL[@]}"
{ head -n 2 "$WORK/package.txt"; head -n 3 "$WORK/package.txt" | tail -n 1 | cut -c1-340; } >"$WORK/len.txt"
expect_error 2 "len.txt:3: a proof for top-k 128 has 258 bytes" -- "$DIFR" toploc verify --activations "$WORK/prover.npz" --proofs "$WORK/len.txt" "${TL[@]}"
expect_error 2 "fewer than --topk" -- "$DIFR" toploc build --activations "$WORK/prover.npz" --topk 20000 --decode-batching-size 32 --skip-prefill
echo "all fingerprint checks passed"
