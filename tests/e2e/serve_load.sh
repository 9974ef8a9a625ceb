#!/usr/bin/env bash
# difr serve under load and under attack, loopback only (docs/hardening.md): 64 concurrent clients send
# thousands of mixed valid requests and every answer equals the serial one, with throughput, p50/p99 latency
# and the server's memory reported; then hostile clients (oversized body and headers, slow senders, malformed
# JSON, invalid UTF-8, prompts past the context, ids outside the vocabulary, a request that would hold the
# engine, missing or wrong bearer keys) each get an HTTP error with a JSON message while a well-behaved client
# keeps being served. The key is never logged. Sizes: DIFR_LOAD_REQUESTS (default 2000, half of them GETs),
# DIFR_LOAD_CLIENTS (64), DIFR_LOAD_MAX_PROMPT (24 tokens).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY="$ROOT/tests/e2e/serve_load.py"
REQUESTS=${DIFR_LOAD_REQUESTS:-2000}
CLIENTS=${DIFR_LOAD_CLIENTS:-64}
MAX_PROMPT=${DIFR_LOAD_MAX_PROMPT:-24}

# serve_start NAME ARGS...: starts difr serve on a free port; sets PORT and PID.
serve_start() {
    local name=$1
    shift
    rm -f "$WORK/$name.port"
    "$DIFR" serve --port 0 --ready-file "$WORK/$name.port" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
    PID=$!
    for _ in $(seq 600); do
        [ -s "$WORK/$name.port" ] && break
        kill -0 "$PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "difr serve ($name) did not start"; }
        sleep 0.1
    done
    PORT=$(cat "$WORK/$name.port")
}
serve_stop() {
    kill -TERM "$PID"
    wait "$PID" || fail "difr serve did not stop cleanly on SIGTERM"
}

# The default bind address is loopback.
# One engine thread: on a loaded machine ggml's spinning threads wait for each other far longer than they work.
serve_start load -t 1
grep -q "on http://127.0.0.1:$PORT" "$WORK/load.out" || fail "difr serve does not listen on 127.0.0.1 by default"
python3 "$PY" load --port "$PORT" --pid "$PID" --clients "$CLIENTS" --requests "$REQUESTS" --max-prompt "$MAX_PROMPT" \
    --json "$WORK/load.json" --max-rss-growth-mib 512
serve_stop
echo "load figures: $(cat "$WORK/load.json" | tr -d '\n ')"

# Attacks, against a server with short limits and a bearer key.
export DIFR_TEST_SERVE_KEY="k-$RANDOM$RANDOM-secret"
serve_start attack -t 1 --request-timeout 2 --engine-timeout 1 --max-body-bytes 1048576 --ctx 8192 \
    --api-key-env DIFR_TEST_SERVE_KEY
python3 "$PY" attack --port "$PORT" --key "$DIFR_TEST_SERVE_KEY" --ctx 8192 --max-body 1048576 \
    --request-timeout 2 --engine-timeout 1
# The difr client speaks the key too (--reference-key-env), and the server still answers after all that.
cat >"$WORK/one.json" <<'JSON'
[{"prompt_token_ids": [1, 9690, 198, 2683, 359, 253, 10300], "output_token_ids": [28, 5248, 30, 2]}]
JSON
"$DIFR" verify -i "$WORK/one.json" --reference "fireworks=http://127.0.0.1:$PORT/v1" \
    --reference-key-env DIFR_TEST_SERVE_KEY -o "$WORK/v" >/dev/null 2>"$WORK/verify.err" \
    || { cat "$WORK/verify.err" >&2; fail "difr verify with the bearer key failed"; }
echo "ok: difr verify --reference-key-env against the keyed server"
serve_stop
if grep -q "$DIFR_TEST_SERVE_KEY" "$WORK/attack.log" "$WORK/attack.out"; then fail "the bearer key appears in the server's log"; fi
grep -q " 401 " "$WORK/attack.log" && grep -q " 408 " "$WORK/attack.log" && grep -q " 413 " "$WORK/attack.log" \
    || fail "the log lacks the 401, 408 or 413 lines"
echo "ok: the key never appears in the log; the refusals are logged"

# A missing key variable is an input error before the model loads.
expect_error 2 "DIFR_TEST_UNSET_KEY" -- "$DIFR" serve --port 0 --api-key-env DIFR_TEST_UNSET_KEY
