#!/usr/bin/env bash
# What activation proofs cost over difr serve's prover endpoint (issue #13, "Serving"): the same chat
# completions with and without `"fingerprint": K, "toploc": true`, alternating request by request so that both
# sides of each ratio see the same (shared, noisy) machine; the response's bytes with and without proofs; and
# difr verify of the served tokens with and without --fingerprints (the seconds it reports for the work).
#   bench/serve_proofs.sh     # defaults: 1 thread, the first 8 default prompts x 32 tokens, k 8, 3 repeats
# Environment: THREADS, REPEATS, MAX_TOKENS, K, N_PROMPTS (the first N of data/prompts/default.jsonl).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

DIFR="$DIFR_BUILD/bin/difr"
THREADS="${THREADS:-1}"
REPEATS="${REPEATS:-3}"
MAX_TOKENS="${MAX_TOKENS:-32}"
K="${K:-8}"
N_PROMPTS="${N_PROMPTS:-8}"
WORK="$DIFR_CACHE/bench/serve_proofs"
rm -rf "$WORK"
mkdir -p "$WORK"
SAMPLING=(--temperature 1 --seed 42 --top-k 50 --top-p 0.95)

"$DIFR" serve --prover-completions --port 0 -t "$THREADS" --ready-file "$WORK/port" >"$WORK/serve.out" \
    2>"$WORK/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 1200); do
    [ -f "$WORK/port" ] && break
    kill -0 "$server" 2>/dev/null || die "difr serve exited: $(tail -3 "$WORK/serve.log")"
    sleep 0.1
done
[ -f "$WORK/port" ] || die "difr serve did not listen within 120 s"

# The client: per repetition, each prompt without and then with proofs; wall-clock seconds of each request and
# the body's bytes. The proofs' responses of the last repetition are saved as a token file and a fingerprints
# file, as a client of docs/serve.md "Activation proofs" does.
python3 - "$(cat "$WORK/port")" "$DIFR_ROOT/data/prompts/default.jsonl" "$N_PROMPTS" "$REPEATS" "$MAX_TOKENS" \
    "$K" "$WORK" <<'PY'
import json, statistics, sys, time, urllib.request
port, prompts, n, reps, max_tokens, k, work = sys.argv[1:]
n, reps, max_tokens, k = int(n), int(reps), int(max_tokens), int(k)
asks = [json.loads(l) for l in open(prompts)][:n]
sampling = {"max_tokens": max_tokens, "temperature": 1, "top_k": 50, "top_p": 0.95, "seed": 42}
def call(body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=json.dumps(body).encode())
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        raw = r.read()
    return time.perf_counter() - t, raw
plain, proofs, plain_bytes, proofs_bytes = [], [], 0, 0
for rep in range(reps):
    tp = tq = 0.0
    tokens, header, lines, raw_total = [], None, [], 0
    for ask in asks:
        s, a = call({**ask, **sampling})
        tp += s
        s, b = call({**ask, **sampling, "fingerprint": k, "toploc": True})
        tq += s
        ra, rb = json.loads(a), json.loads(b)
        p = rb["difr"]["activation_proofs"]
        if ra["choices"][0]["message"] != rb["choices"][0]["message"]:
            sys.exit("proofs changed the generated message")
        plain_bytes, proofs_bytes = (plain_bytes + len(a), proofs_bytes + len(b)) if rep == 0 else (plain_bytes,
                                                                                                    proofs_bytes)
        tokens.append(p["tokens"])
        header = p["header"]
        lines.append(dict(p["sequence"], seq=len(lines)))
        raw_total += p["bytes"]["total"]
    plain.append(tp)
    proofs.append(tq)
json.dump(tokens, open(f"{work}/tokens.json", "w"))
with open(f"{work}/proofs.jsonl", "w") as f:
    for o in [header] + lines:
        f.write(json.dumps(o, separators=(",", ":")) + "\n")
ntok = sum(len(t["output_token_ids"]) for t in tokens)
json.dump({"plain": statistics.median(plain), "proofs": statistics.median(proofs), "tokens": ntok,
           "plain_bytes": plain_bytes, "proofs_bytes": proofs_bytes, "raw": raw_total,
           "prompt_tokens": sum(len(t["prompt_token_ids"]) for t in tokens)}, open(f"{work}/serve.json", "w"))
PY
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true

seconds() { verify_work "$1" | cut -d' ' -f2; }
ver_plain=() ver_proofs=()
for r in $(seq "$REPEATS"); do
    log "verify, repetition $r of $REPEATS"
    rm -rf "$WORK/v-plain" "$WORK/v-proofs"
    "$DIFR" verify -i "$WORK/tokens.json" -t "$THREADS" "${SAMPLING[@]}" -o "$WORK/v-plain" >/dev/null 2>&1
    ver_plain+=("$(seconds "$WORK/v-plain")")
    "$DIFR" verify -i "$WORK/tokens.json" -t "$THREADS" "${SAMPLING[@]}" --fingerprints "$WORK/proofs.jsonl" \
        --fingerprint-max-l2 0 -o "$WORK/v-proofs" >/dev/null 2>&1 || die "the served proofs did not verify exactly"
    ver_proofs+=("$(seconds "$WORK/v-proofs")")
done
python3 - "$WORK/serve.json" "$WORK/proofs.jsonl" "$K" "$THREADS" "$REPEATS" "$N_PROMPTS" \
    "$(python3 -c 'import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))' "${ver_plain[@]}")" \
    "$(python3 -c 'import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))' "${ver_proofs[@]}")" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
file_bytes = os.path.getsize(sys.argv[2])
k, threads, reps, n = map(int, sys.argv[3:7])
vp, vq = map(float, sys.argv[7:9])
t = s["tokens"]
print(f"activation proofs over difr serve, SmolLM2-135M Q4_1, {threads} thread(s), {n} chat completions, "
      f"{s['prompt_tokens']} prompt + {t} generated tokens, medians of {reps}")
print(f"  requests (client wall clock)  {s['plain']:7.2f} s   with fingerprint {k} + toploc {s['proofs']:7.2f} s   "
      f"ratio {s['proofs'] / s['plain']:.3f}")
print(f"  response bodies               {s['plain_bytes']} bytes   with proofs {s['proofs_bytes']} bytes   "
      f"+{(s['proofs_bytes'] - s['plain_bytes']) / t:.1f} bytes per token")
print(f"  proofs as the prover emits them {s['raw']} bytes, {s['raw'] / t:.2f} per token; saved file {file_bytes} "
      f"bytes, {file_bytes / t:.1f} per token")
print(f"  difr verify (its seconds)     {vp:7.2f} s   with --fingerprints {vq:7.2f} s   ratio {vq / vp:.3f}  "
      f"(all proofs at distance 0, every TOPLOC chunk passes)")
PY
