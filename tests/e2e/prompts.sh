#!/usr/bin/env bash
# difr prompts on small hand-written files in ShareGPT, LMSYS and WildChat shape, with the embedded model's
# chat template: filters, the token limit, dedup, -n, the system prompt, output that difr generate reads, and
# bad input (exit 2 naming file and line).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cat >"$WORK/sharegpt.json" <<'JSON'
[
 {"id": "a", "conversations": [{"from": "human", "value": "Name three primary colours."}, {"from": "gpt", "value": "Red, yellow, blue."}]},
 {"id": "b", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}, {"from": "human", "value": "Tell me a joke about cats."}]},
 {"id": "c", "conversations": [{"from": "gpt", "value": "I start the conversation."}]},
 {"id": "d", "conversations": [{"from": "human", "value": "   "}]},
 {"id": "e", "conversations": [{"from": "human", "value": "Name three primary colours."}]},
 {"id": "f", "conversations": [{"from": "human", "value": "Summarise this text: PLACEHOLDER"}]}
]
JSON
# A long turn for the token limit (about 600 tokens).
python3 - "$WORK/sharegpt.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d[5]["conversations"][0]["value"] = "Summarise this text: " + "the quick brown fox jumps over the lazy dog " * 60
json.dump(d, open(sys.argv[1], "w"))
PY
cat >"$WORK/lmsys.jsonl" <<'JSON'
{"conversation_id": "1", "model": "vicuna-13b", "conversation": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4"}], "turn": 1, "language": "English"}
{"conversation_id": "2", "model": "vicuna-13b", "conversation": [{"role": "user", "content": "Wie spät ist es?"}], "turn": 1, "language": "German"}
{"conversation_hash": "x", "conversation": [{"role": "user", "content": "Write a limerick about a robot.", "language": "English", "toxic": false}, {"role": "assistant", "content": "There once was..."}], "language": "English", "turn": 1}
JSON

"$DIFR" prompts -i "$WORK/sharegpt.json" -o "$WORK/sg.jsonl" --max-tokens 256 2>"$WORK/sg.err"
cat "$WORK/sg.err"
[ "$(wc -l <"$WORK/sg.jsonl")" -eq 2 ] || fail "ShareGPT: expected 2 prompts, got $(wc -l <"$WORK/sg.jsonl")"
grep -q "read 6, kept 2; dropped: not English 0, unknown role 0, no user turn 1, empty turn 1, too long 1, duplicate 1" "$WORK/sg.err" \
    || fail "ShareGPT filter counts"
python3 - "$WORK/sg.jsonl" <<'PY' || fail "ShareGPT output"
import json, sys
convs = [json.loads(l)["messages"] for l in open(sys.argv[1])]
assert convs[0] == [{"role": "user", "content": "Name three primary colours."}], convs[0]
assert [m["role"] for m in convs[1]] == ["user", "assistant", "user"], convs[1]
assert convs[1][-1]["content"] == "Tell me a joke about cats."
PY
echo "ok: ShareGPT: final assistant turns dropped, empty/duplicate/too-long/assistant-only filtered"

# Without the limit the long one fits.
"$DIFR" prompts -i "$WORK/sharegpt.json" -o "$WORK/sg-all.jsonl" --max-tokens 0 2>/dev/null
[ "$(wc -l <"$WORK/sg-all.jsonl")" -eq 3 ] || fail "--max-tokens 0 should keep the long prompt"
echo "ok: --max-tokens 0 keeps the long prompt"

"$DIFR" prompts -i "$WORK/lmsys.jsonl" -o "$WORK/lm.jsonl" --system "You are a helpful assistant." 2>"$WORK/lm.err"
grep -q "read 3, kept 2; dropped: not English 1" "$WORK/lm.err" || { cat "$WORK/lm.err"; fail "LMSYS filter counts"; }
python3 - "$WORK/lm.jsonl" <<'PY' || fail "LMSYS output"
import json, sys
convs = [json.loads(l)["messages"] for l in open(sys.argv[1])]
assert convs[0] == [{"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": "What is 2 + 2?"}], convs[0]
assert convs[1][1]["content"] == "Write a limerick about a robot."
PY
"$DIFR" prompts -i "$WORK/lmsys.jsonl" -o "$WORK/lm-all.jsonl" --all-languages -n 2 2>/dev/null
[ "$(wc -l <"$WORK/lm-all.jsonl")" -eq 2 ] && grep -q "Wie spät" "$WORK/lm-all.jsonl" || fail "--all-languages -n 2"
echo "ok: LMSYS/WildChat: language filter, system prompt, -n, --all-languages"

# The length limit is measured with the chat template: a limit just below the templated length drops it.
"$DIFR" prompts -i "$WORK/lmsys.jsonl" -o "$WORK/one.jsonl" --max-tokens 8 2>"$WORK/one.err"
grep -q "kept 0; .*too long 2" "$WORK/one.err" || { cat "$WORK/one.err"; fail "--max-tokens 8 should drop both templated prompts"; }
echo "ok: the token limit counts the chat template's tokens"

# Seeded shuffle: reproducible.
"$DIFR" prompts -i "$WORK/sharegpt.json" -o "$WORK/s1.jsonl" --max-tokens 0 --shuffle 3 2>/dev/null
"$DIFR" prompts -i "$WORK/sharegpt.json" -o "$WORK/s2.jsonl" --max-tokens 0 --shuffle 3 2>/dev/null
cmp "$WORK/s1.jsonl" "$WORK/s2.jsonl" || fail "--shuffle 3 twice gave different sets"
echo "ok: --shuffle is reproducible"

# What difr prompts writes, difr generate reads.
"$DIFR" generate --prompts "$WORK/lm.jsonl" --max-tokens 4 -o "$WORK/gen.json" >/dev/null 2>&1 || fail "generate cannot read the prompt set"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d) == 2 and all(len(s["output_token_ids"]) == 4 for s in d)' "$WORK/gen.json" \
    || fail "generate output"
echo "ok: difr generate reads the prompt set"

# Bad input: exit 2, file and line.
printf '{"conversation": [{"role": "user", "content": "ok"}]}\n{"conversation": [{"role": "user", "content": "oops"}\n' >"$WORK/broken.jsonl"
expect_error 2 "broken.jsonl:2: malformed JSON" -- "$DIFR" prompts -i "$WORK/broken.jsonl" -o "$WORK/x.jsonl"
printf '{"conversation": [{"role": "user", "content": "ok"}]}\n{"text": "no conversation"}\n' >"$WORK/shape.jsonl"
expect_error 2 "shape.jsonl:2: no conversation" -- "$DIFR" prompts -i "$WORK/shape.jsonl" -o "$WORK/x.jsonl"
printf '[{"conversations": [{"from": "human", "value": 5}]}]' >"$WORK/type.json"
expect_error 2 "type.json: entry 0, conversations\[0\]: needs \"value\"" -- "$DIFR" prompts -i "$WORK/type.json" -o "$WORK/x.jsonl"
[ ! -e "$WORK/x.jsonl" ] || fail "an output file was written for bad input"
