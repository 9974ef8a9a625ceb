#!/usr/bin/env bash
# The activation-proof lab end to end on the embedded model (data/lab/ci.toml, 4 prompts x 16 tokens): the
# reference and a batch variation give bit-identical hidden states (fingerprint distance 0, TOPLOC without a
# mismatch), the Q2_K impostor moves every fingerprint and is detected from the first tokens, and a wrong seed
# -- other tokens, the reference's own forward pass -- is invisible to activation proofs (distance 0): only
# Token-DiFR can see it. A re-run keeps every configuration and rewrites the analysis.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB="$WORK/lab"
run() { "$DIFR" lab "$ROOT/data/lab/ci.toml" --fingerprints --n-prompts 4 --max-tokens 16 --out "$LAB"; }
run >"$WORK/run1.txt" 2>"$WORK/run1.err" || { cat "$WORK/run1.err" >&2; fail "difr lab --fingerprints failed"; }
python3 - "$LAB/fingerprints" <<'PY' || fail "activation-proof lab"
import json, sys
d = sys.argv[1]
def tokens(name):
    lines = [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
    return lines[0], [l for l in lines[1:] if "pos" in l], [l for l in lines[1:] if "chunk" in l]
for name in ("reference", "parallel_1", "wrong_seed"):
    head, toks, chunks = tokens(name)
    assert len(toks) > 40 and head["ks"] == [2, 4, 8, 16, 32, 64, 128], (name, len(toks))
    assert all(l == 0 for t in toks for l in t["l2"]), name
    assert all(r[0] == 0 for t in toks for r in t["tl"]) and all(c["tl"][0] == 0 for c in chunks), name
    print(f"ok: {name}: {len(toks)} tokens, every fingerprint at distance 0, no TOPLOC mismatch")
head, toks, chunks = tokens("q2_k")
assert all(l > 0 for t in toks for l in t["l2"]), "q2_k: a fingerprint did not move"
print(f"ok: q2_k: every fingerprint moved ({len(toks)} tokens)")
r = json.load(open(f"{d}/results.json"))
need = {m["method"]: {x["config"]: x["tokens_needed"] for x in m["deviations"]} for m in r["methods"]}
assert need["adifr-8"]["q2_k"] is not None and need["adifr-8"]["q2_k"] <= 3, need["adifr-8"]
assert need["adifr-8"]["wrong_seed"] is None, need["adifr-8"]
assert {m["method"]: m["bytes_per_token"] for m in r["methods"]}["adifr-8"] == 16
print(f"ok: Activation-DiFR k=8 detects q2_k within {need['adifr-8']['q2_k']} tokens; not the wrong seed")
PY
grep -q "| Activation-DiFR k=8 | 16 |" "$LAB/fingerprints/results.md" || fail "results.md lacks the k=8 row"
grep -q "<svg" "$LAB/fingerprints/report.html" || fail "report.html has no chart"
run >"$WORK/run2.txt" 2>"$WORK/run2.err" || fail "re-run failed"
[ "$(grep -c "complete, kept" "$WORK/run2.err")" -eq 4 ] || fail "re-run redid configurations: $(cat "$WORK/run2.err")"
echo "ok: re-run kept all 4 configurations"
