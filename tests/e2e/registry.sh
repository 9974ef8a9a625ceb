#!/usr/bin/env bash
# difr registry: prints the table, looks names up, takes overrides from --registry and $DIFR_REGISTRY, and
# fails with exit 2 and a message saying what to add.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$DIFR" registry >"$WORK/table.txt"
grep -Eq "^meta-llama/Llama-3.3-70B-Instruct +fireworks +accounts/fireworks/models/llama-v3p3-70b-instruct$" "$WORK/table.txt" \
    || fail "table lacks Llama-3.3-70B's Fireworks name"
[ "$("$DIFR" registry zai-org/GLM-4.7 --kind openrouter)" = "z-ai/glm-4.7" ] || fail "lookup"
[ "$("$DIFR" registry HuggingFaceTB/SmolLM2-135M-Instruct --kind gguf)" = "smollm2-135m-instruct-q4_1" ] || fail "gguf lookup"
"$DIFR" registry --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["models"]) == 11' \
    || fail "json format"
echo "ok: table, lookups, json"

printf '{"models": [{"hf": "zai-org/GLM-4.7", "fireworks": "accounts/me/models/glm"}]}' >"$WORK/env.json"
printf '{"models": [{"hf": "zai-org/GLM-4.7", "openrouter": "me/glm"}]}' >"$WORK/cli.json"
[ "$(DIFR_REGISTRY="$WORK/env.json" "$DIFR" registry zai-org/GLM-4.7 --kind fireworks)" = "accounts/me/models/glm" ] \
    || fail "\$DIFR_REGISTRY override"
[ "$(DIFR_REGISTRY="$WORK/env.json" "$DIFR" registry zai-org/GLM-4.7 --kind openrouter --registry "$WORK/cli.json")" = "me/glm" ] \
    || fail "--registry override"
echo "ok: \$DIFR_REGISTRY and --registry override by HF name"

expect_error 2 "no fireworks name for 'moonshotai/Kimi-K2-Instruct'.*--registry or \\\$DIFR_REGISTRY" -- \
    "$DIFR" registry moonshotai/Kimi-K2-Instruct --kind fireworks
printf '{"models": [{"fireworks": "x"}]}' >"$WORK/bad.json"
expect_error 2 "bad.json: models\[0\]: needs \"hf\"" -- "$DIFR" registry --registry "$WORK/bad.json"
