#!/usr/bin/env bash
# Provider audits against a faulty OpenRouter imitation (tests/e2e/fault_server.py): 429 with Retry-After,
# 500, a stall past the timeout and a connection cut mid-body are retried; a malformed answer and an answer
# from another provider stop the audit with exit 4 and a message naming what was wrong; re-running the same
# command continues from the run store until the audit completes, with every answer asked for and stored
# exactly once. The API key reaches the server but no output, log or stored byte.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KEY="sk-difr-e2e-$(date +%s)-7c1f"
export DIFR_FAULT_KEY="$KEY"
python3 "$ROOT/tests/e2e/fault_server.py" "$WORK/port" "$KEY" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$WORK/port")/api/v1"

cat >"$WORK/prompts.jsonl" <<'EOF'
{"prompt": "Name a colour."}
{"prompt": "fault:429x2 Count to three."}
{"prompt": "fault:500x1 Say hello."}
{"prompt": "fault:stall Name a fruit."}
{"prompt": "fault:truncate Name a river."}
{"prompt": "think What is two plus two?"}
{"prompt": "fault:malformed Name a city."}
{"prompt": "fault:provider Name a planet."}
{"prompt": "fault:cutjson Name a tree."}
EOF

# One request at a time, so the faults come in prompt order and each run stops at a known prompt.
audit() {
    "$DIFR" audit --prompts "$WORK/prompts.jsonl" -p fault --openrouter-url "$URL" --api-key-env DIFR_FAULT_KEY \
        --remote-model test/model --max-tokens 24 --concurrency 1 --timeout 1 --max-attempts 4 --backoff 0.1 \
        -o "$WORK/out" "$@"
}

# Run 1: prompts 0-5 survive their faults, prompt 6's malformed JSON stops the audit.
expect_error 4 "prompt 6\): malformed JSON in the answer at byte 44 of 46" -- audit
cp "$WORK/err.txt" "$WORK/err1.txt"
grep -q "HTTP 429" "$WORK/err1.txt" || fail "no 429 retry reported"
grep -q "HTTP 500" "$WORK/err1.txt" || fail "no 500 retry reported"
grep -q "timeout" "$WORK/err1.txt" || fail "no timeout retry reported"
grep -q "6 of 9 answers of fault are stored" "$WORK/err1.txt" || fail "stored count not reported"
# Run 2: prompt 6 answers now; prompt 7 comes from another provider than the pinned one.
expect_error 4 "prompt 7\): answered by provider 'Together', not the pinned 'fault'" -- audit
cp "$WORK/err.txt" "$WORK/err2.txt"
# Run 3: prompt 8's JSON stops in the middle.
expect_error 4 "prompt 8\): the JSON answer is truncated: it ends after [0-9]+ bytes" -- audit
cp "$WORK/err.txt" "$WORK/err3.txt"
# Run 4 completes.
audit >"$WORK/out4.txt" 2>"$WORK/err4.txt" || { cat "$WORK/err4.txt"; fail "the fourth run did not complete"; }
grep -q "fault: AuditResult(" "$WORK/out4.txt" || fail "no AuditResult line"
# Run 5 asks nothing new: everything comes from the store.
audit >"$WORK/out5.txt" 2>"$WORK/err5.txt" || fail "the fifth run failed"

curl -s "$URL/stats" >"$WORK/stats.json"
python3 - "$WORK/stats.json" "$WORK/out/runs.sqlite" "$WORK/out/audit_results.json" <<'PY'
import json, sqlite3, sys
stats = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
res = json.load(open(sys.argv[3]))["fault"]
# Every prompt was answered (validly) exactly once by the server, across all five runs.
assert len(stats) == 9, stats.keys()
for text, s in stats.items():
    assert s["ok"] == 1, (text, s)
expected_requests = {"Name a colour.": 1, "fault:429x2 Count to three.": 3, "fault:500x1 Say hello.": 2,
                     "fault:stall Name a fruit.": 2, "fault:truncate Name a river.": 2,
                     "think What is two plus two?": 1, "fault:malformed Name a city.": 2,
                     "fault:provider Name a planet.": 2, "fault:cutjson Name a tree.": 2}
assert {t: s["requests"] for t, s in stats.items()} == expected_requests, stats
# Retry-After: 1 was honoured although the backoff was 0.1 s.
t = stats["fault:429x2 Count to three."]["times"]
assert t[1] - t[0] >= 0.95 and t[2] - t[1] >= 0.95, t
# The store holds each prompt once, and a reference row for each.
rows = db.execute("SELECT prompt_index, COUNT(*) FROM responses GROUP BY prompt_index").fetchall()
assert rows == [(i, 1) for i in range(9)], rows
assert db.execute("SELECT COUNT(*) FROM reference_rows").fetchone()[0] == 9
assert db.execute("SELECT attempts FROM responses WHERE prompt_index = 1").fetchone()[0] == 3
# Reasoning is stored beside the content (the audit re-joins them as <think>reasoning</think>content).
assert db.execute("SELECT reasoning, content FROM responses WHERE prompt_index = 5").fetchone() == \
    ("The user wants a short reply.", "Short reply.")
assert res["n_sequences"] == 9 and res["n_prompts"] == 9 and res["answered_by"] == "Fault", res
assert res["responses"] == {"reused": 9, "new": 0} and res["reference_rows"] == {"reused": 9, "new": 0}, res
print(f"ok: 9 prompts answered once each across 5 runs; {res['total_tokens']} tokens verified, "
      f"match {res['exact_match_rate']:.3f}")
PY

# The report is written after each provider: a second provider that fails for good (nothing listens on port 1)
# leaves the first one's results and report on disk, and the run exits 4.
expect_error 4 "broken" -- "$DIFR" audit --prompts "$WORK/prompts.jsonl" -p fault -p broken=http://127.0.0.1:1/v1 \
    --openrouter-url "$URL" --api-key-env DIFR_FAULT_KEY --remote-model test/model --max-tokens 24 \
    --concurrency 1 --max-attempts 1 --fail-below 0.5 -o "$WORK/out"
python3 - "$WORK/out/audit_results.json" "$WORK/out/report.html" <<'PY'
import json, re, sys
import xml.etree.ElementTree as ET
res = json.load(open(sys.argv[1]))
assert list(res) == ["fault"], list(res)
html = open(sys.argv[2]).read()
svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
bars = [r for r in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"]
assert [b.get("data-value") for b in bars] == [f"{100 * res['fault']['exact_match_rate']:g}"], bars
assert re.findall(r'<line class="rule" data-value="([0-9.]+)"', svg) == ["50"]
print(f"ok: report.html after a failing second provider: fault at {bars[0].get('data-value')}%, threshold 50%")
PY

# A crash (SIGKILL) in the middle of generation loses no stored answer; the re-run asks only for the rest.
for i in $(seq 0 9); do echo "{\"prompt\": \"slow Tell me fact number $i.\"}"; done >"$WORK/slow.jsonl"
slow_args=(audit --prompts "$WORK/slow.jsonl" -p fault --openrouter-url "$URL" --api-key-env DIFR_FAULT_KEY
           --remote-model test/model --max-tokens 16 --concurrency 1 -o "$WORK/slow")
stored() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM responses").fetchone()[0])' "$WORK/slow/runs.sqlite" 2>/dev/null || echo 0; }
"$DIFR" "${slow_args[@]}" >"$WORK/out_slow1.txt" 2>"$WORK/err_slow1.txt" &  # difr itself, not a subshell
pid=$!
for _ in $(seq 300); do [ "$(stored)" -ge 3 ] && break; sleep 0.05; done
kill -KILL "$pid"
wait "$pid" 2>/dev/null && fail "the audit finished before it was killed"
before=$(stored)
[ "$before" -ge 3 ] && [ "$before" -lt 10 ] || fail "$before answers stored when killed, expected 3..9"
"$DIFR" "${slow_args[@]}" >"$WORK/out_slow2.txt" 2>"$WORK/err_slow2.txt" || { cat "$WORK/err_slow2.txt"; fail "re-run after SIGKILL failed"; }
curl -s "$URL/stats" >"$WORK/stats2.json"
python3 - "$WORK/stats2.json" "$WORK/slow/runs.sqlite" "$WORK/slow/audit_results.json" "$before" <<'PY'
import json, sqlite3, sys
stats = {t: s for t, s in json.load(open(sys.argv[1])).items() if t.startswith("slow")}
db = sqlite3.connect(sys.argv[2])
res = json.load(open(sys.argv[3]))["fault"]
before = int(sys.argv[4])
rows = db.execute("SELECT prompt_index, COUNT(*) FROM responses GROUP BY prompt_index").fetchall()
assert rows == [(i, 1) for i in range(10)], rows
assert res["responses"] == {"reused": before, "new": 10 - before}, (res["responses"], before)
served = sum(s["ok"] for s in stats.values())
# Only an answer in flight at the kill can have been served twice.
assert 10 <= served <= 11, served
print(f"ok: killed with {before} answers stored; the re-run asked for {10 - before} more; server answered {served} times")
PY

# --provider-ids verifies a provider's own token ids only when they spell its text: ids 1, 2, 3 do not, so the
# answer is re-tokenised (and counted as changed); without --logprobs the option is refused.
printf '{"prompt": "ids Name a bird."}\n' >"$WORK/ids.jsonl"
ids_args=(audit --prompts "$WORK/ids.jsonl" -p fault --openrouter-url "$URL" --api-key-env DIFR_FAULT_KEY
          --remote-model test/model --max-tokens 16 -o "$WORK/ids")
"$DIFR" "${ids_args[@]}" --logprobs --provider-ids >"$WORK/out_ids.txt" 2>"$WORK/err_ids.txt" \
    || { cat "$WORK/err_ids.txt"; fail "the --provider-ids audit failed"; }
python3 - "$WORK/ids/audit_results.json" <<'PY'
import json, sys
rt = json.load(open(sys.argv[1]))["fault"]["retokenization"]
assert rt["sequences_compared"] == 1 and rt["sequences_changed"] == 1, rt
assert rt["sequences_verified_as_returned"] == 0, rt
print("ok: ids that do not spell the answer are not verified; the text is re-tokenised")
PY
expect_error 2 "provider-ids needs --logprobs" -- "$DIFR" "${ids_args[@]}" --provider-ids

# The key went to the server (it answers 401 otherwise) but nowhere else.
if grep -a -r -l -- "$KEY" "$WORK"/out "$WORK"/slow "$WORK"/ids "$WORK"/err*.txt "$WORK"/out*.txt; then fail "the API key leaked"; fi
echo "ok: the key appears in no output, log or stored file"
# Without the key variable the audit refuses to start, naming the variable.
unset DIFR_FAULT_KEY
rm -rf "$WORK/out"
expect_error 2 "DIFR_FAULT_KEY is not set" -- audit
