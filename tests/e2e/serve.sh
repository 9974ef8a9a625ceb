#!/usr/bin/env bash
# difr serve on the embedded model, over loopback: both wire formats (Fireworks echo rows, vLLM
# prompt_logprobs), their logprobs against what `difr verify` writes for the same tokens, bad requests (400
# naming field and position), parallel requests against serial ones, and a clean stop on SIGTERM.
# Requests go through python3's standard library (tests/e2e/serve_client.py), as a client would send them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Four generated sequences: real prompts (chat template) and real continuations.
head -n 4 "$ROOT/data/prompts/default.jsonl" >"$WORK/prompts.jsonl"
"$DIFR" generate --prompts "$WORK/prompts.jsonl" --max-tokens 24 --temperature 1 --seed 7 -o "$WORK/seqs.json"
"$DIFR" verify -i "$WORK/seqs.json" --temperature 1 --seed 7 -o "$WORK/verify"

"$DIFR" serve --port 0 --ready-file "$WORK/ready" >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do
    [ -f "$WORK/ready" ] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log" >&2; fail "difr serve exited before listening"; }
    sleep 0.1
done
[ -f "$WORK/ready" ] || fail "difr serve did not write its ready file within 60 s"
PORT=$(cat "$WORK/ready")
grep -q "on http://127.0.0.1:$PORT" "$WORK/serve.out" || fail "the listening line does not name port $PORT"
echo "ok: listening on port $PORT"

python3 - "$PORT" "$WORK/seqs.json" "$WORK/verify/tokens.jsonl" "$WORK/verify/summary.json" <<'PY'
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from serve_client import Client, fail

port, seqs_path, tokens_path, summary_path = sys.argv[1:]
call = Client(port, timeout=120).call

seqs = json.load(open(seqs_path))
verified = {}
for line in open(tokens_path):
    t = json.loads(line)
    verified[(t["seq"], t["pos"])] = t["logprob"]

# --- health and models
st, h = call("GET", "/health")
assert st == 200 and h["status"] == "ok", h
st, m = call("GET", "/v1/models")
assert st == 200 and m["data"][0]["id"] == "smollm2-135m-instruct-q4_1", m
st, e = call("GET", "/v1/nothing")
assert st == 404 and "no route for GET /v1/nothing" in e["error"]["message"], e
print("ok: /health, /v1/models, 404 for an unknown route")

# --- Fireworks echo: row P + j is output token j; its logprob is what difr verify wrote for it.
max_diff, n_rows, n_equal = 0.0, 0, 0
for i, s in enumerate(seqs):
    P, out = s["prompt_token_ids"], s["output_token_ids"]
    st, r = call("POST", "/v1/completions", {"model": "whatever", "prompt": P + out, "max_tokens": 1,
                                              "echo": True, "logprobs": True, "top_logprobs": 5})
    if st != 200: fail(f"echo request {i}: HTTP {st} {r}")
    rows = r["choices"][0]["logprobs"]["content"]
    if len(rows) != len(P) + len(out) + 1: fail(f"sequence {i}: {len(rows)} rows")
    if rows[0]["logprob"] is not None or rows[0]["top_logprobs"] != []: fail("row 0 is not empty")
    if r["usage"] != {"prompt_tokens": len(P) + len(out), "completion_tokens": 1,
                      "total_tokens": len(P) + len(out) + 1}: fail(f"usage {r['usage']}")
    for j, tok in enumerate(out):
        row = rows[len(P) + j]
        if row["token_id"] != tok: fail(f"sequence {i} row {len(P) + j}: token_id {row['token_id']} != {tok}")
        tops = [e["logprob"] for e in row["top_logprobs"]]
        if len(tops) != 5 or tops != sorted(tops, reverse=True): fail(f"top_logprobs not 5 descending: {tops}")
        ids = [e["token_id"] for e in row["top_logprobs"]]
        if tok in ids and row["top_logprobs"][ids.index(tok)]["logprob"] != row["logprob"]:
            fail("the claimed token's logprob differs inside its own top_logprobs")
        d = abs(row["logprob"] - verified[(i, j)])
        max_diff = max(max_diff, d)
        n_equal += d == 0.0
        n_rows += 1
if max_diff > 1e-6: fail(f"echo logprobs differ from difr verify's by up to {max_diff}")
print(f"ok: echo rows of {n_rows} output tokens match difr verify's logprob: {n_equal} identical, "
      f"max |diff| {max_diff:g}")

# --- vLLM prompt_logprobs: same numbers, vLLM's dict shape.
s = seqs[1]
P, out = s["prompt_token_ids"], s["output_token_ids"]
st, r = call("POST", "/v1/completions", {"prompt": P + out, "max_tokens": 1, "prompt_logprobs": 3})
assert st == 200, r
plp = r["choices"][0]["prompt_logprobs"]
assert len(plp) == len(P) + len(out) and plp[0] is None
for j, tok in enumerate(out):
    d = plp[len(P) + j]
    e = d[str(tok)]
    assert list(d)[0] == str(tok), d
    assert len(d) in (3, 4) and (len(d) == 3) == (e["rank"] <= 3), d
    if abs(e["logprob"] - verified[(1, j)]) > 1e-6: fail(f"prompt_logprobs position {len(P) + j}: {e} vs {verified[(1, j)]}")
print(f"ok: prompt_logprobs for {len(out)} output tokens match difr verify")

# --- bad requests: 400, OpenAI-style error naming field and position.
cases = [
    ({"prompt": P[:3] + [49152] + P[3:]}, "prompt[3]: token id 49152 is outside the model's vocabulary [0, 49152)"),
    ({"prompt": [1, 2, "x"]}, "prompt[2]: expected a token id (integer), got string"),
    ({"prompt": "Hello"}, "prompt: this reference takes token ids"),
    ({"prompt": [1] * 8193}, "prompt: 8193 tokens exceed the context of 8192 tokens"),
    ({"prompt": [1, 2], "logprobs": True, "top_logprobs": 50}, "top_logprobs: 50 is outside [0, 20]"),
    ({"prompt": [1, 2], "max_tokens": 16}, "max_tokens: this reference generates exactly one token"),
]
for body, want in cases:
    st, e = call("POST", "/v1/completions", body)
    if st != 400 or want not in e["error"]["message"] or e["error"]["type"] != "invalid_request_error":
        fail(f"{str(body)[:60]}: HTTP {st} {e}")
st, e = call("POST", "/v1/completions", raw=b'{"prompt": [1, 2')
if st != 400 or "not valid JSON" not in e["error"]["message"]: fail(f"bad JSON: {st} {e}")
print(f"ok: {len(cases) + 1} bad requests answered 400 naming the field and position")

# --- parallel requests give the serial answers (engine access is serialised).
def strip(r):
    r = dict(r); r.pop("id"); r.pop("created"); return json.dumps(r, sort_keys=True)
bodies = [{"prompt": s["prompt_token_ids"] + s["output_token_ids"], "echo": True, "logprobs": True,
           "top_logprobs": 3, "prompt_logprobs": 2} for s in seqs] * 2
t0 = time.time()
serial = [strip(call("POST", "/v1/completions", b)[1]) for b in bodies]
serial_s = time.time() - t0
t0 = time.time()
with ThreadPoolExecutor(len(bodies)) as ex:
    parallel = [strip(r[1]) for r in ex.map(lambda b: call("POST", "/v1/completions", b), bodies)]
parallel_s = time.time() - t0
if parallel != serial: fail("parallel answers differ from serial ones")
print(f"ok: {len(bodies)} parallel requests = serial answers")
# Throughput, for the record (no bound: timings are not tests). The anchor is difr verify on the same four
# sequences in this run; the server also computes logits and top-k for every prompt position.
tokens = sum(len(b["prompt"]) for b in bodies)
prov = json.load(open(summary_path))["provenance"]
verify_tps = prov["tokens_evaluated"] / prov["seconds"]
print(f"figures: serial {len(bodies) / serial_s:.2f} requests/s, {tokens / serial_s:.0f} tokens/s; parallel "
      f"{len(bodies) / parallel_s:.2f} requests/s ({tokens / len(bodies):.0f} tokens per request); difr verify "
      f"{verify_tps:.0f} tokens/s: ratio serial/verify {tokens / serial_s / verify_tps:.2f}")
PY

# One log line per request, never a body: the prompt's first ids never appear in the log.
lines=$(grep -c "difr serve: POST /v1/completions" "$WORK/serve.log")
[ "$lines" -ge 20 ] || fail "only $lines request log lines"
grep -q "POST /v1/completions 400 .*prompt\[3\]: token id 49152" "$WORK/serve.log" || fail "no 400 log line"
first_ids=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))[0]; print(", ".join(map(str, s["prompt_token_ids"][:6])))' "$WORK/seqs.json")
! grep -qF "$first_ids" "$WORK/serve.log" || fail "a request body reached the log"
echo "ok: $lines request log lines, no bodies"

kill -TERM "$SERVER"
wait "$SERVER" || fail "difr serve exited $? on SIGTERM"
grep -q "difr serve: stopped" "$WORK/serve.log" || fail "no stop message"
echo "ok: stopped cleanly on SIGTERM"
