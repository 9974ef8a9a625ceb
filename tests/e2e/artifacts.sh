#!/usr/bin/env bash
# Inference artifacts end to end on loopback: difr serve plays the prover (/v1/chat/completions with a
# weighted seed proof) and the validator's engine (the enforced_tokens replay); difr validate compares the
# two responses offline as Gonka's validator does, re-scores the artifact with the local engine, and
# catches a tampered token with the seed proof. Then difr generate --artifact, bad requests (400 naming the
# field) and malformed artifacts (exit 2 naming file, sequence and position).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$DIFR" serve --prover-completions --port 0 --ready-file "$WORK/ready" >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do
    [ -f "$WORK/ready" ] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log" >&2; fail "difr serve exited before listening"; }
    sleep 0.1
done
[ -f "$WORK/ready" ] || fail "difr serve did not write its ready file within 60 s"
PORT=$(cat "$WORK/ready")

python3 - "$PORT" "$WORK" <<'PY'
import json, sys
from serve_client import Client, fail
port, work = sys.argv[1:]
call = Client(port, timeout=300).post

# The prover: a chat completion with logprobs, token ids and a weighted seed proof.
request = {"model": "smollm2", "messages": [{"role": "user", "content": "Name three rivers in Europe."}],
           "max_tokens": 24, "temperature": 1.0, "top_k": 20, "top_p": 0.95, "seed": 42, "logprobs": True,
           "top_logprobs": 5, "return_token_ids": True, "seed_proof": "weighted"}
st, resp = call("/v1/chat/completions", request)
if st != 200: fail(f"prover: HTTP {st} {resp}")
content = resp["choices"][0]["logprobs"]["content"]
if len(content) == 0 or len(content) > 24: fail(f"prover: {len(content)} positions")
if resp["difr"]["seed_proof"] != "weighted" or resp["difr"]["k"] != 20: fail(f"prover: {resp['difr']}")
for e in content:
    if e["token"] != str(e["token_id"]): fail(f"return_token_ids: token {e['token']!r} is not its id")
    # The weighted proof widens k to top_k and returns the whole list its draw is replayed from.
    if len(e["top_logprobs"]) != 20: fail(f"prover: {len(e['top_logprobs'])} top_logprobs, expected k = top_k = 20")
json.dump({"request": request, "response": resp}, open(f"{work}/prover.json", "w"))
print(f"ok: prover returned {len(content)} positions, text {resp['choices'][0]['message']['content']!r}")

# The validator's replay: Gonka's enforced_tokens with the prover's top-k ids, as its validator sends it.
replay = dict(request, enforced_tokens={"tokens": [{"token": e["token"], "top_tokens": [t["token"] for t in e["top_logprobs"]]}
                                                   for e in content]}, skip_special_tokens=False, stream=False)
del replay["seed_proof"]
st, val = call("/v1/chat/completions", replay)
if st != 200: fail(f"replay: HTTP {st} {val}")
vc = val["choices"][0]["logprobs"]["content"]
if [e["token"] for e in vc] != [e["token"] for e in content]: fail("replay: the forced tokens differ")
diff = max(abs(a["logprob"] - b["logprob"]) for p, q in zip(content, vc) for a, b in zip(p["top_logprobs"], q["top_logprobs"]))
if diff != 0: fail(f"replay: the validator's logprobs at the prover's ids differ by {diff} (same engine, same settings)")
json.dump(val, open(f"{work}/validator.json", "w"))
print(f"ok: replay of {len(vc)} enforced tokens: logprobs at the prover's top-k ids identical")

# A text-spelled artifact (no return_token_ids, no proof): validated by mapping text to ids.
text_req = {k: v for k, v in request.items() if k not in ("return_token_ids", "seed_proof")}
st, tr = call("/v1/chat/completions", text_req)
if st != 200: fail(f"text prover: HTTP {st} {tr}")
json.dump({"request": text_req, "response": tr}, open(f"{work}/prover_text.json", "w"))

# A tampered artifact: one chosen token replaced by another of its top-k list.
t = json.loads(json.dumps({"request": request, "response": resp}))
c = t["response"]["choices"][0]["logprobs"]["content"]
i = min(3, len(c) - 1)
other = next(x for x in c[i]["top_logprobs"] if x["token"] != c[i]["token"])
c[i]["token"], c[i]["token_id"], c[i]["logprob"] = other["token"], other["token_id"], other["logprob"]
json.dump(t, open(f"{work}/tampered.json", "w"))
open(f"{work}/tampered_pos", "w").write(str(i))

# Bad requests: 400 and an OpenAI error naming the field.
bad = [({"messages": []}, "messages"),
       ({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 50, "logprobs": True}, "top_logprobs"),
       ({"messages": [{"role": "user", "content": "x"}], "seed": "42"}, "seed"),
       ({"messages": [{"role": "user", "content": "x"}], "seed_proof": "weighted", "seed": 1, "temperature": 1}, "top_k"),
       ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 100000}, "max_tokens"),
       ({"messages": [{"role": "user", "content": "x"}], "enforced_tokens": {"tokens": [{"token": "49152"}]}}, "enforced_tokens"),
       ({"messages": [{"role": "user", "content": "x"}], "enforced_tokens": {"tokens": [{"token": "abc"}]}}, "enforced_tokens"),
       ({"messages": [{"role": "user", "content": "x"}], "temperature": -1}, "temperature"),
       ({"messages": [{"role": "user", "content": "x"}], "stream": True}, "stream"),
       ({"messages": [{"role": "robot", "content": "x"}]}, "messages")]
for body, param in bad:
    st, r = call("/v1/chat/completions", body)
    if st != 400 or r["error"]["param"] != param: fail(f"bad request {body}: HTTP {st} {r}")
st, r = call("/v1/completions", {"prompt": [1, 49152], "max_tokens": 2})
if st != 400 or "prompt[1]" not in r["error"]["message"]: fail(f"bad completions prompt: {st} {r}")
print(f"ok: {len(bad) + 1} bad requests answered 400 naming the field")

# /v1/completions: the prover for generation, the reference (echo) still answers echo requests.
st, r = call("/v1/completions", {"prompt": "The capital of France is", "max_tokens": 5, "temperature": 0, "logprobs": 3})
if st != 200 or len(r["choices"][0]["logprobs"]["content"]) != 5: fail(f"text completion: {st} {r}")
st, r = call("/v1/completions", {"prompt": [1, 9690, 198], "max_tokens": 1, "echo": True, "logprobs": True, "top_logprobs": 2})
if st != 200 or len(r["choices"][0]["logprobs"]["content"]) != 4: fail(f"echo reference: {st} {r}")
print("ok: /v1/completions generates; echo requests still reach the reference")
PY

# Offline, as Gonka's validator compares the executor's response with its own.
"$DIFR" validate --artifact "$WORK/prover.json" --against "$WORK/validator.json" >"$WORK/offline.json"
python3 - "$WORK/offline.json" <<'PY' || fail "offline comparison"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["gonka_similarity"] == 1.0, r["gonka_similarity"]
assert all(p["decision"] == "pass" for p in r["presets"].values()), r["presets"]
s = r["sequences"][0]["checks"]["seed_proof"]
assert s["kind"] == "weighted" and s["verdict"] == "honest", s
print(f"ok: --against: gonka_similarity 1.0, every preset passes, weighted seed proof honest over {s['positions_checked']} positions")
PY

# Against the local engine: every check.
"$DIFR" validate --artifact "$WORK/prover.json" --joint-threshold -5 -o "$WORK/local.json" >/dev/null
python3 - "$WORK/local.json" <<'PY' || fail "local validation"
import json, sys
r = json.load(open(sys.argv[1]))
c = r["sequences"][0]["checks"]
assert c["gonka_similarity"]["value"] == 1.0 and c["gonka_similarity"]["decision"] == "pass", c["gonka_similarity"]
assert c["seed_proof"]["verdict"] == "honest", c["seed_proof"]
assert c["seed_proof"]["distribution_check"]["value"] == 0.0, c["seed_proof"]
assert c["joint_probability"]["decision"] == "pass" and c["joint_probability"]["threshold_source"] == "--joint-threshold"
assert c["token_difr"]["decision"] in ("no_threshold", "pass", "fail"), c["token_difr"]
print(f"ok: local reference: gonka 1.0, seed proof honest, MAE 0, mean logprob {c['joint_probability']['value']:.3f}")
PY

"$DIFR" validate --artifact "$WORK/prover_text.json" --no-token-difr >"$WORK/text.json"
python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); c=r["sequences"][0]["checks"]
assert c["gonka_similarity"]["value"] == 1.0, c["gonka_similarity"]
print("ok: text tokens mapped to ids with the vocabulary: gonka 1.0 over", r["sequences"][0]["positions"], "positions")' "$WORK/text.json"

# A remote prompt-logprob reference (difr serve's Fireworks-style echo, top 20): the validator's own top-k,
# as Gonka's launch code compared; the same engine, so the same lists.
"$DIFR" validate --artifact "$WORK/prover.json" --reference "fireworks=http://127.0.0.1:$PORT/v1" --reference-topk 20 \
    >"$WORK/remote.json"
python3 - "$WORK/remote.json" <<'PY' || fail "remote reference validation"
import json, sys
r = json.load(open(sys.argv[1]))
c = r["sequences"][0]["checks"]
assert r["reference"]["kind"] == "topk" and r["reference"]["k"] == 20, r["reference"]
assert c["gonka_similarity"]["value"] == 1.0, c["gonka_similarity"]
assert c["seed_proof"]["verdict"] == "honest" and "distribution_check" not in c["seed_proof"], c["seed_proof"]
print(f"ok: remote reference (echo, top 20): gonka 1.0, joint {c['joint_probability']['decision']}, token_difr {c['token_difr']['decision']}")
PY

# The tampered token: Gonka's similarity still passes (the logprobs are the model's), the seed proof fails
# at that position.
"$DIFR" validate --artifact "$WORK/tampered.json" --no-token-difr >"$WORK/tampered_report.json"
python3 - "$WORK/tampered_report.json" "$(cat "$WORK/tampered_pos")" <<'PY' || fail "tampered artifact"
import json, sys
r = json.load(open(sys.argv[1])); pos = int(sys.argv[2])
c = r["sequences"][0]["checks"]
assert c["seed_proof"]["verdict"] == "fraud" and c["seed_proof"]["first_mismatch"] == pos, c["seed_proof"]
print(f"ok: tampered token at position {pos}: seed proof fraud there; gonka similarity {c['gonka_similarity']['value']:.4f}")
PY

# difr generate --artifact: the weighted prover on the command line, validated offline.
"$DIFR" generate -p "Explain photosynthesis in one sentence." -n 16 --temperature 0.8 --top-k 20 --seed 7 \
    --artifact "$WORK/gen_artifact.json" --seed-proof weighted -o "$WORK/gen.json" >/dev/null
"$DIFR" validate --artifact "$WORK/gen_artifact.json" --against "$WORK/gen_artifact.json" >"$WORK/gen_report.json"
python3 -c '
import json,sys; r=json.load(open(sys.argv[1])); s=r["sequences"][0]["checks"]["seed_proof"]
assert s["verdict"]=="honest" and r["gonka_similarity"]==1.0, r; print("ok: generate --artifact: weighted proof honest over", s["positions_checked"], "positions")' "$WORK/gen_report.json"

# Malformed artifacts: exit 2, naming file, sequence and position; nothing written.
mk() { python3 -c "$1" "$WORK/prover.json" "$WORK/bad.json"; }
mk 'import sys; open(sys.argv[2],"w").write(open(sys.argv[1]).read()[:-10])'
expect_error 2 "bad.json: malformed JSON" -- "$DIFR" validate --artifact "$WORK/bad.json" --against "$WORK/validator.json"
mk 'import json,sys; d=json.load(open(sys.argv[1])); del d["response"]["choices"][0]["logprobs"]; json.dump(d,open(sys.argv[2],"w"))'
expect_error 2 "bad.json: sequence 0, position 0: choices\[0\].logprobs is missing" -- "$DIFR" validate --artifact "$WORK/bad.json" --against "$WORK/validator.json"
mk 'import json,sys; d=json.load(open(sys.argv[1])); d["response"]["choices"][0]["logprobs"]["content"][2]["top_logprobs"].pop(); json.dump(d,open(sys.argv[2],"w"))'
expect_error 2 "bad.json: sequence 0, position 2: 19 top logprobs where earlier positions have 20" -- "$DIFR" validate --artifact "$WORK/bad.json" --against "$WORK/validator.json"
mk 'import sys; s=open(sys.argv[1]).read(); i=s.index("\"logprob\": ", s.index("\"content\"")); open(sys.argv[2],"w").write(s[:i]+"\"logprob\": NaN"+s[s.index(",", i):])'
expect_error 2 "bad.json: sequence 0, position 0: logprob is NaN" -- "$DIFR" validate --artifact "$WORK/bad.json" --against "$WORK/validator.json"
mk 'import json,sys; d=json.load(open(sys.argv[1])); e=d["response"]["choices"][0]["logprobs"]["content"][1]; e["token_id"]=49999; e["token"]="49999"; json.dump(d,open(sys.argv[2],"w"))'
expect_error 2 "bad.json: sequence 0, position 1: token id 49999 is outside the model's vocabulary" -- "$DIFR" validate --artifact "$WORK/bad.json"
PLEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["response"]["usage"]["prompt_tokens"])' "$WORK/prover.json")
expect_error 2 "prover.json: sequence 0, position 4: .*exceed the model's context of $((PLEN + 4)) tokens" -- "$DIFR" validate --artifact "$WORK/prover.json" --ctx $((PLEN + 4))
mk 'import json,sys; d=json.load(open(sys.argv[1])); d["request"]["seed"]="0x2a"; json.dump(d,open(sys.argv[2],"w"))'
expect_error 2 "bad.json: sequence 0: request.seed must be an integer" -- "$DIFR" validate --artifact "$WORK/bad.json" --against "$WORK/validator.json"
python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); d["sequences"][0]["positions"][3]["top"][1][0]=-4; json.dump(d,open(sys.argv[2],"w"))' "$WORK/gen_artifact.json" "$WORK/bad.json"
expect_error 2 "bad.json: sequence 0, position 3: top\[1\]\[0\] -4 is not a token id" -- "$DIFR" validate --artifact "$WORK/bad.json" --against "$WORK/gen_artifact.json"
expect_error 2 "report.json|artifact" -- "$DIFR" validate --artifact "$WORK/missing.json" --against "$WORK/validator.json" -o "$WORK/report.json"
[ ! -e "$WORK/report.json" ] || fail "a failed validation left a report behind"
echo "ok: malformed artifacts exit 2 naming file, sequence and position"
