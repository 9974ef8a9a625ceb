#!/usr/bin/env bash
# difr analyze on a small synthetic lab directory (no model needed): two honest configurations, a gross
# deviation and a subtle one, passes t1 and t0 (one config lacks t0), 60 prompts x 200 tokens. Checks the
# outputs, that the gross deviation is caught within 30 tokens by both methods with its TPR's lower bound
# >= 0.99 (400 held-out buckets at n = 30), that the subtle one is not resolvable at this size, that honest
# variation is accepted, that the report's SVGs are well-formed XML, and that bad input exits 2 naming the
# file and line.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAB="$WORK/lab"
python3 - "$LAB" <<'PY'
import json, os, random, sys
lab = sys.argv[1]
rng = random.Random(42)

def token(seq, pos, mismatch_rate, margin_of):
    if rng.random() < mismatch_rate:
        m = margin_of()
        return {"seq": seq, "pos": pos, "token": 7, "predicted": 8, "exact_match": False,
                "prob": round(rng.uniform(0.0, 0.3), 6), "margin": m, "logit_rank": 1, "gumbel_rank": 1,
                "logprob": -3.0}
    return {"seq": seq, "pos": pos, "token": 8, "predicted": 8, "exact_match": True,
            "prob": round(rng.uniform(0.2, 1.0), 6), "margin": 0, "logit_rank": 0, "gumbel_rank": 0,
            "logprob": -0.5}

configs = [  # name, role, mismatch rate, margin distribution, passes
    ("reference", "honest", 0.0, lambda: 0.01, ["t1", "t0"]),
    ("threads-1", "honest", 0.004, lambda: round(rng.uniform(0.001, 0.05), 6), ["t1", "t0"]),
    ("q2_k", "deviation", 0.4, lambda: None if rng.random() < 0.3 else round(rng.expovariate(1.0), 6), ["t1", "t0"]),
    ("kv-q8_0", "deviation", 0.01, lambda: round(rng.uniform(0.001, 0.05), 6), ["t1"]),
]
entries = []
for name, role, rate, margin, passes in configs:
    dirs = {}
    for p in passes:
        d = os.path.join(lab, "runs", f"{name}-{p}")
        os.makedirs(d)
        with open(os.path.join(d, "tokens.jsonl"), "w") as f:
            for seq in range(60):
                for pos in range(200):
                    f.write(json.dumps(token(seq, pos, rate, margin), separators=(",", ":")) + "\n")
        json.dump({"total_tokens": 12000}, open(os.path.join(d, "summary.json"), "w"))
        dirs[p] = f"runs/{name}-{p}"
    entries.append({"name": name, "role": role, "description": f"synthetic {name}", "passes": dirs})
json.dump({"lab": "synthetic", "reference": {"model": "none"}, "claimed": {"t1": {}, "t0": {}},
           "n_prompts": 60, "max_tokens": 200, "configs": entries}, open(os.path.join(lab, "lab.json"), "w"), indent=1)
PY

"$DIFR" analyze "$LAB" >"$WORK/stdout.md" 2>"$WORK/stderr.txt" || { cat "$WORK/stderr.txt"; fail "analyze failed"; }
for f in results.json results.md report.html; do [ -s "$LAB/$f" ] || fail "$f not written"; done
cmp -s "$WORK/stdout.md" "$LAB/results.md" || fail "stdout differs from results.md"
grep -q "| q2_k |" "$LAB/results.md" || fail "results.md lacks the q2_k row"
echo "ok: results.json, results.md (= stdout), report.html written"

python3 - "$LAB" <<'PY' || fail "results.json checks"
import json, re, sys
import xml.etree.ElementTree as ET
lab = sys.argv[1]
r = json.load(open(f"{lab}/results.json"))
assert list(r["passes"]) == ["t1", "t0"], list(r["passes"])
for p in ("t1", "t0"):
    cs = {c["name"]: c for c in r["passes"][p]["configs"]}
    q = cs["q2_k"]["tokens_needed"]
    assert isinstance(q["logistic"], int) and q["logistic"] <= 30, (p, q)
    assert isinstance(q["calibrated"], int) and q["calibrated"] <= 30, (p, q)
    at = next(e for e in cs["q2_k"]["calibrated"] if e["n"] == q["calibrated"])["tpr"]
    assert min(at["clopper_pearson"][0], at["bootstrap"][0]) >= 0.99, at
    for h in ("reference", "threads-1"):
        assert cs[h]["accepted"] is True, (p, h)
        assert cs[h]["sprt"]["deviation_decisions"] == 0, (p, h, cs[h]["sprt"])
    s = cs["q2_k"]["sprt"]
    assert s["honest_decisions"] == 0 and s["decisions"] > 50 and s["mean_tokens_to_decision"] < 15, s
    # Two folds hold out 6000 tokens each per config: n = 1000 gives 6 buckets per fold.
    assert cs["reference"]["calibrated"][6]["fpr"]["m"] == 12
    if p == "t1":
        assert cs["kv-q8_0"]["tokens_needed"]["calibrated"] == "not resolvable at this size", cs["kv-q8_0"]
    print(f"ok: pass {p}: q2_k needs {q['logistic']} (DiFR) / {q['calibrated']} (difr) tokens; "
          f"SPRT {s['mean_tokens_to_decision']:.1f} tokens; honest accepted")
assert "kv-q8_0" not in {c["name"] for c in r["passes"]["t0"]["configs"]}
html = open(f"{lab}/report.html").read()
svgs = re.findall(r"<svg.*?</svg>", html, re.S)
assert len(svgs) == 7, len(svgs)  # per pass: bar chart, legend, one AUC panel per deviation (2 at t1, 1 at t0)
for s in svgs:
    ET.fromstring(s)
bars = re.findall(r'class="bar"', svgs[0])
assert len(bars) == 4, len(bars)
assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', ""), "report must not load anything"
assert len(re.findall(r'class="band"', html)) == 3, "each panel shades the honest band"
print("ok: report.html has 7 well-formed SVG charts and no external resources")
PY

# Bad input: exit 2, naming the file (and line).
mkdir -p "$WORK/empty"
expect_error 2 "empty/lab.json' not found" -- "$DIFR" analyze "$WORK/empty"
cp -r "$LAB" "$WORK/lab2"
rm "$WORK/lab2/runs/q2_k-t0/tokens.jsonl"
expect_error 2 "runs/q2_k-t0/tokens.jsonl' \(a pass directory must hold" -- "$DIFR" analyze "$WORK/lab2"
cp -r "$LAB" "$WORK/lab3"
sed -i '3s/.*/{"seq":0,"pos":2,"exact_match":tru/' "$WORK/lab3/runs/threads-1-t1/tokens.jsonl"
expect_error 2 "runs/threads-1-t1/tokens.jsonl:3: malformed JSON" -- "$DIFR" analyze "$WORK/lab3"
cp -r "$LAB" "$WORK/lab4"
rm "$WORK/lab4"/results.* "$WORK/lab4/report.html"
sed -i '5s/"margin":[^,]*,//' "$WORK/lab4/runs/reference-t0/tokens.jsonl"
expect_error 2 "runs/reference-t0/tokens.jsonl:5: missing field 'margin'" -- "$DIFR" analyze "$WORK/lab4"
[ ! -e "$WORK/lab4/results.json" ] || fail "a failed analysis must not leave a partial results.json"
echo "ok: bad input"
