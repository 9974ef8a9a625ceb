#!/usr/bin/env bash
# difr audit-report on a multi-provider audit_results.json written here (no model, no network): the page's
# bars carry each provider's rate, the threshold colours them and draws its line, the SVGs are well-formed
# XML, nothing is loaded from outside; bad files and options exit 2 naming the file, provider and field.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R="$WORK/run/audit_results.json"
mkdir -p "$WORK/run"
python3 - "$R" <<'PY'
import json, sys
cfg = lambda url: {"base_url": url, "pin_provider": "", "max_tokens": 48,
                   "sampling": {"temperature": 0.0, "top_k": -1, "top_p": 1.0, "seed": 42, "noise": "vllm"}}
def result(rate, margin, tokens, url, reference):
    return {"exact_match_rate": rate, "avg_prob": rate, "avg_margin": margin, "avg_logit_rank": 0.3,
            "avg_gumbel_rank": 0.3, "infinite_margin_rate": 0.0, "total_tokens": tokens, "n_sequences": 12,
            "provider": "x", "model": "smollm2-135m-instruct-q4_1", "answered_by": "", "reference": reference,
            "n_prompts": 12, "skipped_sequences": 0, "n_truncated": 12, "avg_logprob": -0.4,
            "retokenization": {"sequences_compared": 12, "sequences_changed": 1, "sequence_change_rate": 1 / 12,
                               "tokens_compared": 477, "tokens_changed": 7},
            "responses": {"reused": 0, "new": 12}, "reference_rows": {"reused": 0, "new": 12},
            "config": cfg(url), "cross_reference": {"kind": "topk", "id": "future field, ignored"}}
ref = "local:" + "ab" * 32
json.dump({"honest": result(1.0, 0.0, 478, "http://127.0.0.1:8080/v1", ref),
           "impostor": result(0.702, 0.47, 506, "http://127.0.0.1:8081/v1", {"kind": "local", "id": ref}),
           "seed-only": {"exact_match_rate": 0.9625, "avg_prob": 0.96, "avg_margin": None, "total_tokens": 80,
                         "n_sequences": 2}},
          open(sys.argv[1], "w"), indent=2)
PY

# check_page HTML THRESHOLD: bars = the file's rates in %, colours by the threshold, well-formed SVGs.
check_page() {
    python3 - "$R" "$1" "$2" <<'PY'
import json, re, sys
import xml.etree.ElementTree as ET
results = json.load(open(sys.argv[1]))
html = open(sys.argv[2]).read()
threshold = float(sys.argv[3]) if sys.argv[3] else None
svgs = re.findall(r"<svg.*?</svg>", html, re.S)
assert len(svgs) == 2, len(svgs)
ns = {"s": "http://www.w3.org/2000/svg"}
bars = [[r for r in ET.fromstring(s).iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"]
        for s in svgs]
names = list(results)
# data-value is C's %g (6 significant digits), which Python's :g reproduces.
assert [b.get("data-value") for b in bars[0]] == [f"{100 * results[p]['exact_match_rate']:g}" for p in names], \
    [b.get("data-value") for b in bars[0]]
assert [b.find("s:title", ns).text.split(":")[0] for b in bars[0]] == names
margins = [p for p in names if results[p]["avg_margin"] is not None]
assert [b.get("data-value") for b in bars[1]] == [f"{results[p]['avg_margin']:g}" for p in margins]
fills = [b.get("fill") for b in bars[0]]
rules = re.findall(r'<line class="rule" data-value="([0-9.]+)"', svgs[0])
if threshold is None:
    assert set(fills) == {"#4c72b0"} and not rules, (fills, rules)
else:
    want = ["#c44e52" if results[p]["exact_match_rate"] < threshold else "#55a868" for p in names]
    assert fills == want, (fills, want)
    assert rules == [f"{100 * threshold:g}"], rules
    below = sum(results[p]["exact_match_rate"] < threshold for p in names)
    assert f"{below} of {len(names)} providers below" in html
assert "No avg_margin bar for seed-only" in html
assert "<td>1 of 12 answers changed, 7 of 477 tokens</td>" in html
assert "<h1>Provider audit: smollm2-135m-instruct-q4_1</h1>" in html
assert "future field" not in html
for external in ("<script", "src=", "href=", "url(", "<link", "@import"):
    assert external not in html, external
print(f"ok: {sys.argv[2].split('/')[-1]}: {len(bars[0])} rate bars, {len(bars[1])} margin bars, "
      f"threshold {threshold}, fills {fills}")
PY
}

"$DIFR" audit-report "$R" -o "$WORK/plain.html" 2>"$WORK/err.txt" || { cat "$WORK/err.txt"; fail "audit-report failed"; }
grep -q "wrote $WORK/plain.html" "$WORK/err.txt" || fail "no 'wrote' line"
check_page "$WORK/plain.html" ""
"$DIFR" audit-report "$R" --threshold 0.97 -o "$WORK/t97.html" 2>/dev/null || fail "--threshold 0.97 failed"
check_page "$WORK/t97.html" 0.97
# --fail-below is the same option (as in difr audit); without -o the page goes beside the results.
"$DIFR" audit-report "$R" --fail-below 0.5 2>/dev/null || fail "--fail-below 0.5 failed"
[ -s "$WORK/run/report.html" ] || fail "report.html not written beside the results"
check_page "$WORK/run/report.html" 0.5

# Bad input: exit 2, naming the file (and the provider and field).
expect_error 2 "'$WORK/missing.json' not found" -- "$DIFR" audit-report "$WORK/missing.json" -o "$WORK/x.html"
printf '{"honest": {"exact_match_rate": 1.0,\n  "avg_prob": }' >"$WORK/broken.json"
expect_error 2 "$WORK/broken.json: malformed JSON at line 2" -- "$DIFR" audit-report "$WORK/broken.json" -o "$WORK/x.html"
python3 - "$R" "$WORK/nofield.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
del r["impostor"]["n_sequences"]
json.dump(r, open(sys.argv[2], "w"))
PY
expect_error 2 "$WORK/nofield.json: provider 'impostor': missing field 'n_sequences'" -- \
    "$DIFR" audit-report "$WORK/nofield.json" -o "$WORK/x.html"
sed 's/"exact_match_rate": 0.702/"exact_match_rate": "70%"/' "$R" >"$WORK/badrate.json"
expect_error 2 "$WORK/badrate.json: provider 'impostor': field 'exact_match_rate' must be a number" -- \
    "$DIFR" audit-report "$WORK/badrate.json" -o "$WORK/x.html"
[ ! -e "$WORK/x.html" ] || fail "a failed render must not leave a page"
expect_error 2 "threshold" -- "$DIFR" audit-report "$R" --threshold 1.5 -o "$WORK/x.html"
expect_error 2 "results is required|RESULTS|required" -- "$DIFR" audit-report
echo "ok: bad input"
