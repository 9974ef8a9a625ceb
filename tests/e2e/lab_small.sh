#!/usr/bin/env bash
# The detection lab end to end on the embedded model with data/lab/ci.toml (4 prompts x 32 tokens): the lab
# directory contract of docs/lab.md, the reference accepted at 100% at t0 and t1, gross deviations (Q2_K
# weights, a wrong seed) far below it, and a re-run that resumes without redoing finished configurations.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LAB="$WORK/lab"

"$DIFR" lab "$ROOT/data/lab/ci.toml" --out "$LAB" >"$WORK/run1.txt" 2>"$WORK/run1.err" \
    || { cat "$WORK/run1.err" >&2; fail "difr lab failed"; }
grep -q "4 configurations run, 0 kept" "$WORK/run1.txt" || fail "first run: $(cat "$WORK/run1.txt")"

# The contract: lab.json and, per configuration and pass, outputs.json + tokens.jsonl + summary.json.
python3 - "$LAB" <<'PY' || fail "lab directory contract"
import json, os, sys
lab = sys.argv[1]
j = json.load(open(f"{lab}/lab.json"))
assert j["lab"] == "ci", j["lab"]
assert j["reference"]["model"].endswith("smollm2-135m-instruct-q4_1.gguf") and len(j["reference"]["sha256"]) == 64
assert j["claimed"]["t1"] == {"temperature": 1.0, "top_k": 50, "top_p": 0.949999988079071, "seed": 42, "noise": "vllm"}, j["claimed"]
assert j["claimed"]["t0"]["temperature"] == 0.0
assert j["n_prompts"] == 4 and j["max_tokens"] == 32
names = [c["name"] for c in j["configs"]]
assert names == ["reference", "parallel_1", "q2_k", "wrong_seed"], names
roles = {c["name"]: c["role"] for c in j["configs"]}
assert roles == {"reference": "honest", "parallel_1": "honest", "q2_k": "deviation", "wrong_seed": "deviation"}, roles
for c in j["configs"]:
    want = ["t1"] if c["name"] == "wrong_seed" else ["t1", "t0"]
    assert sorted(c["passes"]) == sorted(want), c
    assert c["description"], c
    assert isinstance(j["seconds"][c["name"]], float), j["seconds"]
    for p, d in c["passes"].items():
        assert d == f"runs/{c['name']}-{p}", d
        outs = json.load(open(f"{lab}/{d}/outputs.json"))
        assert len(outs) == 4 and all(set(s) >= {"prompt_token_ids", "output_token_ids"} for s in outs)
        summ = json.load(open(f"{lab}/{d}/summary.json"))
        lines = sum(1 for _ in open(f"{lab}/{d}/tokens.jsonl"))
        assert summ["total_tokens"] == lines == sum(len(s["output_token_ids"]) for s in outs), (d, lines)
        assert summ["provenance"]["sampling"]["temperature"] == (1.0 if p == "t1" else 0.0), summ["provenance"]
wrong = [c for c in j["configs"] if c["name"] == "wrong_seed"][0]
assert "t0" in wrong["skipped_passes"], wrong
# The claimed prompts are the same for every configuration: the reference's tokens of the conversation.
ref = json.load(open(f"{lab}/runs/reference-t1/outputs.json"))
q2 = json.load(open(f"{lab}/runs/q2_k-t1/outputs.json"))
assert [s["prompt_token_ids"] for s in ref] == [s["prompt_token_ids"] for s in q2]
print("ok: lab directory contract")
PY

emr() { json_get "$LAB/runs/$1/summary.json" exact_match_rate; }
# The reference and an honest engine variation are accepted exactly: difr's engine is batch-invariant.
for run in reference-t1 reference-t0 parallel_1-t1 parallel_1-t0; do expect_ge "$run exact_match_rate" "$(emr $run)" 1.0; done
# Gross deviations. Q2_K weights measured on this lab: 0.537 at t1 (108 tokens) and 0.680 at t0 (122 tokens).
# 0.85 is 4 binomial standard deviations (0.042 at p = 0.68, n = 122) above the larger, and the honest runs
# are exactly 1.0, so the bound can only pass for a deviation that is really caught.
expect_le "q2_k-t1 exact_match_rate" "$(emr q2_k-t1)" 0.85
expect_le "q2_k-t0 exact_match_rate" "$(emr q2_k-t0)" 0.85
# A wrong seed matches only where the two seeds' samples coincide, with chance sum_i p_i^2 per token
# (e2e/generate_verify.sh measured 0.445); 0.65 stays far below the honest 1.0.
expect_le "wrong_seed-t1 exact_match_rate" "$(emr wrong_seed-t1)" 0.65

# Resume: a second run keeps everything; after removing one pass's summary only that configuration runs again.
before_ref=$(sha256sum "$LAB/runs/reference-t1/tokens.jsonl" | cut -d' ' -f1)
mtime_ref=$(stat -c %y "$LAB/runs/reference-t1/summary.json")
"$DIFR" lab "$ROOT/data/lab/ci.toml" --out "$LAB" >"$WORK/run2.txt" 2>"$WORK/run2.err"
grep -q "0 configurations run, 4 kept" "$WORK/run2.txt" || fail "second run: $(cat "$WORK/run2.txt")"
rm "$LAB/runs/q2_k-t0/summary.json"
"$DIFR" lab "$ROOT/data/lab/ci.toml" --out "$LAB" >"$WORK/run3.txt" 2>"$WORK/run3.err"
grep -q "1 configurations run, 3 kept" "$WORK/run3.txt" || fail "third run: $(cat "$WORK/run3.txt")"
grep -q "q2_k-t0: verified" "$WORK/run3.err" || fail "q2_k-t0 not verified again"
if grep -q "generated" "$WORK/run3.err"; then fail "the third run generated again: $(cat "$WORK/run3.err")"; fi
[ "$(stat -c %y "$LAB/runs/reference-t1/summary.json")" = "$mtime_ref" ] || fail "reference-t1 was rewritten"
[ "$(sha256sum "$LAB/runs/reference-t1/tokens.jsonl" | cut -d' ' -f1)" = "$before_ref" ] || fail "reference-t1 changed"
[ -f "$LAB/runs/q2_k-t0/summary.json" ] || fail "q2_k-t0 not completed again"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert [c["name"] for c in j["configs"]] == ["reference","parallel_1","q2_k","wrong_seed"]' \
    "$LAB/lab.json" || fail "lab.json after resume"
echo "ok: resumed (4 kept; then 1 re-verified from its kept outputs, nothing regenerated)"

# A lab directory of another lab is refused rather than mixed.
sed 's/^max_tokens = 32/max_tokens = 16/' "$ROOT/data/lab/ci.toml" >"$WORK/other.toml"
sed -i "s|^prompts = .*|prompts = \"$ROOT/data/prompts/lab.jsonl\"|" "$WORK/other.toml"
expect_error 2 "holds another lab \(its lab.json differs in 'max_tokens'\)" -- "$DIFR" lab "$WORK/other.toml" --out "$LAB"

# The same lab two configurations at a time (scripts/lab-parallel.sh): every run's tokens are the sequential
# lab's byte for byte, and so is the merged analysis (wall times aside).
PAR="$WORK/par"
DIFR="$DIFR" bash "$ROOT/scripts/lab-parallel.sh" "$ROOT/data/lab/ci.toml" "$PAR" -j 2 >"$WORK/par.txt" 2>&1 \
    || { cat "$WORK/par.txt" >&2; fail "scripts/lab-parallel.sh failed"; }
# Every worker's `difr lab` succeeded (a one-configuration lab of a deviation alone has nothing to analyse:
# the workers leave the analysis to the merge).
[ "$(grep -c ': difr lab exited 0$' "$PAR/split/log")" = 4 ] || fail "a worker failed: $(cat "$PAR/split/log")"
[ ! -e "$PAR/cfg/q2_k/results.json" ] || fail "a worker analysed its one-configuration lab"
for run in reference-t1 reference-t0 parallel_1-t1 parallel_1-t0 q2_k-t1 q2_k-t0 wrong_seed-t1; do
    cmp -s "$LAB/runs/$run/tokens.jsonl" "$PAR/runs/$run/tokens.jsonl" || fail "$run: parallel tokens differ"
done
diff <(grep -v seconds "$LAB/results.md") <(grep -v seconds "$PAR/results.md") >&2 || fail "merged results differ"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert [c["name"] for c in j["configs"]] == ["reference","parallel_1","q2_k","wrong_seed"]; assert all(isinstance(v, float) for v in j["seconds"].values()), j["seconds"]' \
    "$PAR/lab.json" || fail "merged lab.json"
# A configuration that has not finished is left out of the merge (--merge analyses what has finished) and
# run again, alone, by the next run.
rm "$PAR/cfg/q2_k/runs/q2_k-t0/summary.json"
DIFR="$DIFR" bash "$ROOT/scripts/lab-parallel.sh" "$ROOT/data/lab/ci.toml" "$PAR" --merge >"$WORK/merge.txt" 2>&1 \
    || { cat "$WORK/merge.txt" >&2; fail "--merge failed"; }
grep -q "not finished: q2_k" "$WORK/merge.txt" || fail "--merge: $(cat "$WORK/merge.txt")"
grep -q "q2_k" "$PAR/results.md" && fail "--merge analysed the unfinished q2_k"
DIFR="$DIFR" bash "$ROOT/scripts/lab-parallel.sh" "$ROOT/data/lab/ci.toml" "$PAR" -j 2 >"$WORK/par2.txt" 2>&1 \
    || { cat "$WORK/par2.txt" >&2; fail "scripts/lab-parallel.sh (resumed) failed"; }
grep -q "q2_k-t0: verified" "$PAR/cfg/q2_k.log" || fail "q2_k-t0 not verified again"
for c in reference parallel_1 wrong_seed; do grep -q "$c: complete, kept" "$PAR/cfg/$c.log" || fail "$c ran again"; done
diff <(grep -v seconds "$LAB/results.md") <(grep -v seconds "$PAR/results.md") >&2 || fail "resumed results differ"
echo "ok: scripts/lab-parallel.sh gives the sequential lab's tokens and results, merges what finished, resumes"
