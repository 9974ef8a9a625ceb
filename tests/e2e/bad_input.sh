#!/usr/bin/env bash
# Bad input gets a clear message naming file, sequence and position, and a non-zero exit. Never a crash.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

printf '[{"prompt_token_ids": [1, 2, 3], "output_token_ids": [4, 5,]}]' >"$WORK/malformed.json"
expect_error 2 "malformed.json: malformed JSON at line 1, column" -- "$DIFR" verify -i "$WORK/malformed.json" -o "$WORK/o1"

printf '[{"prompt_token_ids": [1, 2], "output_token_ids": [4]},\n {"prompt_token_ids": [1, 2, 3], "output_token_ids": [4, 99999999]}]' >"$WORK/oov.json"
expect_error 2 "sequence 1, output position 1: token id 99999999 is outside the model's vocabulary" -- \
    "$DIFR" verify -i "$WORK/oov.json" -o "$WORK/o2"

printf '[{"prompt_token_ids": [1, 2], "output_token_ids": "nope"}]' >"$WORK/type.json"
expect_error 2 "type.json: sequence 0.output_token_ids must be an array" -- "$DIFR" verify -i "$WORK/type.json" -o "$WORK/o3"

python3 -c 'import json; print(json.dumps([{"prompt_token_ids": [1]*50, "output_token_ids": [2]*40}]))' >"$WORK/long.json"
expect_error 2 "sequence 0: 50 prompt \+ 40 output tokens exceed the context of 64 tokens" -- \
    "$DIFR" verify -i "$WORK/long.json" --ctx 64 -o "$WORK/o4"

expect_error 2 "model '/nonexistent.gguf' is neither a file nor a cached model" -- \
    "$DIFR" verify -i "$WORK/oov.json" -m /nonexistent.gguf -o "$WORK/o5"

expect_error 2 "top_p must be in \(0, 1\], got 1.5" -- "$DIFR" verify -i "$WORK/oov.json" --top-p 1.5 -o "$WORK/o7"
expect_error 2 "min_p is only defined for the llama.cpp profile" -- \
    "$DIFR" verify -i "$WORK/oov.json" -T 1 --min-p 0.05 -o "$WORK/o8"
expect_error 2 "unknown noise profile 'llama'" -- "$DIFR" verify -i "$WORK/oov.json" -T 1 --noise llama -o "$WORK/o9"

# A remote reference: a bad spec, token ids checked against the vocabulary before any request (nothing listens
# on port 9: a request would be exit 4), a missing key variable, a profile that needs the full row.
DEAD="http://127.0.0.1:9/v1"
expect_error 2 "--reference 'openai=$DEAD': expected local, fireworks=URL or vllm=URL" -- \
    "$DIFR" verify -i "$WORK/oov.json" --reference "openai=$DEAD" -o "$WORK/o10"
expect_error 2 "sequence 1, output position 1: token id 99999999 is outside the model's vocabulary" -- \
    "$DIFR" verify -i "$WORK/oov.json" --reference "vllm=$DEAD" -o "$WORK/o11"
printf '[{"prompt_token_ids": [1, 2], "output_token_ids": [4]}]' >"$WORK/one.json"
expect_error 2 "DIFR_TEST_UNSET_KEY is not set" -- env -u DIFR_TEST_UNSET_KEY \
    "$DIFR" verify -i "$WORK/one.json" --reference "fireworks=$DEAD" --reference-key-env DIFR_TEST_UNSET_KEY -o "$WORK/o12"
expect_error 2 "needs the full row of logits" -- \
    "$DIFR" verify -i "$WORK/one.json" --reference "vllm=$DEAD" -T 1 --noise llama.cpp -o "$WORK/o13"
printf '{"prompt": "hi"}\n' >"$WORK/prompts.jsonl"
expect_error 2 "--cross-reference 'local' is the reference itself" -- \
    "$DIFR" audit --prompts "$WORK/prompts.jsonl" -p "x=$DEAD" --cross-reference local -o "$WORK/a1"
expect_error 2 "--vocab-only and --cross-reference local exclude each other" -- \
    "$DIFR" audit --prompts "$WORK/prompts.jsonl" -p "x=$DEAD" --vocab-only --reference "vllm=$DEAD" \
    --cross-reference local -o "$WORK/a2"

# Empty outputs are skipped and counted, not an error.
printf '[{"prompt_token_ids": [1, 2], "output_token_ids": []}, {"prompt_token_ids": [1, 2, 3], "output_token_ids": [4, 5]}]' >"$WORK/empty.json"
"$DIFR" verify -i "$WORK/empty.json" -o "$WORK/o6" 2>"$WORK/err.txt"
grep -q "skipped 1 sequences with empty outputs" "$WORK/err.txt" || fail "empty output not reported"
[ "$(json_get "$WORK/o6/summary.json" skipped_sequences)" = 1 ] || fail "skipped_sequences != 1"
[ "$(json_get "$WORK/o6/summary.json" total_tokens)" = 2 ] || fail "total_tokens != 2"
echo "ok: empty outputs skipped and counted"

# difr table on a summary whose fields are not numbers: an input error naming the file and field.
printf '{"exact_match_rate": "high", "total_tokens": 3}' >"$WORK/sum.json"
expect_error 2 "sum.json: field 'exact_match_rate' must be a number or null" -- "$DIFR" table "a=$WORK/sum.json"
printf '[1, 2]' >"$WORK/sum2.json"
expect_error 2 "sum2.json: expected a summary object" -- "$DIFR" table "a=$WORK/sum2.json"
