#!/usr/bin/env bash
# Nothing lost: a generation interrupted with Ctrl-C (SIGINT) keeps every sequence it had finished.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set -m  # job control, so the background job does not ignore SIGINT as non-interactive shells make it
"$DIFR" generate --prompts "$ROOT/data/prompts/default.jsonl" --max-tokens 64 --parallel 2 -o "$WORK/g.json" \
    >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do  # up to 60 s for the first finished sequence
    # the checkpoint's first line is its header; a finished sequence is a whole line after it
    [ -f "$WORK/g.json.partial.jsonl" ] && [ "$(wc -l <"$WORK/g.json.partial.jsonl")" -ge 2 ] && break
    sleep 0.1
done
kill -INT "$pid"
wait "$pid" && fail "generate was not interrupted (finished too early?)"
[ ! -f "$WORK/g.json" ] || fail "an interrupted run wrote the final file"
python3 - "$WORK/g.json.partial.jsonl" <<'PY' || fail "partial file is not valid"
import json, sys
header, *rows = [json.loads(l) for l in open(sys.argv[1])]
assert header["difr_checkpoint"] == "generate" and header["format"] == 1, header
assert rows and all(r["output_token_ids"] and r["prompt_token_ids"] for r in rows), rows
print(f"ok: {len(rows)} finished sequences kept after SIGINT (indices {[r['index'] for r in rows]})")
PY
# The kept sequences verify like any others.
python3 -c 'import json,sys; json.dump([{k: r[k] for k in ("prompt_token_ids", "output_token_ids")} for r in map(json.loads, open(sys.argv[1])) if "index" in r], open(sys.argv[2], "w"))' \
    "$WORK/g.json.partial.jsonl" "$WORK/kept.json"
"$DIFR" verify -i "$WORK/kept.json" -o "$WORK/v" --fail-below 0.99 2>/dev/null
