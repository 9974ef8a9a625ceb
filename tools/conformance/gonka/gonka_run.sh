#!/usr/bin/env bash
# Goldens for difr's Gonka checks, made by the originals (docs/conformance.md "Gonka"):
#  - gonka_similarity.json: Gonka's Go validator's customSimilarity (decentralized-api/internal/validation/
#    inference_validation.go at the pinned commit), built with Debian's Go toolchain, on difr's cases
#    (make_cases.py). The three functions are extracted from the checkout at run time into a scratch module
#    with difr's driver; nothing of Gonka's is committed.
#  - detsample.json: gonka-ai/vllm's reference of the deterministic-sampling contract
#    (vllm/v1/sample/deterministic_utils.py at the pinned commit), run by python3, on difr's cases.
#
#   tools/conformance/gonka/gonka_run.sh        needs git checkouts (bare or not) of both repositories:
#     GONKA_GIT (default $DIFR_CACHE/gonka.git) and VLLM_GIT (default $DIFR_CACHE/gonka-vllm.git); they are
#     cloned from GitHub when missing. Needs golang-go (apt) and python3.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cache="${DIFR_CACHE:-$HOME/.cache/difr}"
GONKA_GIT="${GONKA_GIT:-$cache/gonka.git}"
VLLM_GIT="${VLLM_GIT:-$cache/gonka-vllm.git}"
GONKA_COMMIT=312044d28c7170d7f08bf88e41427396f3b95817  # main, 2025-08-24 "MLNode Update: Launch version (#303)"
VLLM_COMMIT=4ce45cf5e91129b4a0430f33a1826a5248257de1   # tg/detemrinistic_sampling_dump, 2026-04-14
out="$root/tests/data/conformance"

# Debian's Go toolchain, for this on-demand harness only (not a dependency of the build or the tests).
command -v go >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go; }
[ -d "$GONKA_GIT" ] || git clone --mirror https://github.com/gonka-ai/gonka "$GONKA_GIT"
[ -d "$VLLM_GIT" ] || git clone --mirror https://github.com/gonka-ai/vllm "$VLLM_GIT"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export GOPATH="$scratch/gopath" GOCACHE="$scratch/gocache" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
mod="$scratch/mod"
mkdir -p "$mod/completionapi" "$mod/logging" "$mod/stub/x/inference/types" "$scratch/orig"
git --git-dir="$GONKA_GIT" show "$GONKA_COMMIT:decentralized-api/internal/validation/inference_validation.go" \
    > "$scratch/orig/inference_validation.go.src"
# completionapi's response types (Logprob, TopLogprobs), verbatim: the file declares types only.
git --git-dir="$GONKA_GIT" show "$GONKA_COMMIT:decentralized-api/completionapi/openai.go" > "$mod/completionapi/openai.go"
# Stand-ins for the two packages the functions log through (logging only; no effect on the result).
printf 'package logging\n\nfunc Error(msg string, args ...any) {}\n' > "$mod/logging/logging.go"
printf 'package types\n\nconst Validation = "validation"\n' > "$mod/stub/x/inference/types/types.go"
printf 'module github.com/productscience/inference\n\ngo 1.19\n' > "$mod/stub/go.mod"
cat > "$mod/go.mod" <<MOD
module decentralized-api

go 1.19

require github.com/productscience/inference v0.0.0
replace github.com/productscience/inference => ./stub
MOD
(cd "$here" && go run extract.go "$scratch/orig/inference_validation.go.src" \
    "decentralized-api/completionapi,decentralized-api/logging,fmt,math,sort,github.com/productscience/inference/x/inference/types" \
    customSimilarity customDistance positionDistance) > "$mod/similarity_extracted.go"
cp "$here/driver.go.txt" "$mod/main.go"
(cd "$mod" && go build -o "$scratch/similarity" .)

python3 "$here/make_cases.py" > "$scratch/cases.json"
"$scratch/similarity" < "$scratch/cases.json" > "$scratch/results.json"
made="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
python3 - "$scratch/cases.json" "$scratch/results.json" "$out/gonka_similarity.json" "$made" "$(go version)" "$GONKA_COMMIT" <<'PY'
import json, sys
cases, results = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert [c["name"] for c in cases] == [r["name"] for r in results]
for c, r in zip(cases, results):
    c["similarity"], c["bits"] = r["similarity"], r["bits"]
doc = {"what": "Gonka's customSimilarity (Go) on difr's cases", "made": sys.argv[4], "go": sys.argv[5],
       "source": "gonka-ai/gonka " + sys.argv[6] + " decentralized-api/internal/validation/inference_validation.go",
       "command": "tools/conformance/gonka/gonka_run.sh", "cases": cases}
json.dump(doc, open(sys.argv[3], "w"), ensure_ascii=False, separators=(",", ":"))
PY

git --git-dir="$VLLM_GIT" show "$VLLM_COMMIT:vllm/v1/sample/deterministic_utils.py" > "$scratch/deterministic_utils.py"
python3 "$here/detsample_cases.py" "$scratch/deterministic_utils.py" > "$scratch/detsample.json"
python3 - "$scratch/detsample.json" "$out/detsample.json" "$made" "$(python3 --version)" "$VLLM_COMMIT" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc = {"what": "the deterministic-sampling contract v1.0.0 reference (Python) on difr's cases", "made": sys.argv[3],
       "python": sys.argv[4], "source": "gonka-ai/vllm " + sys.argv[5] + " vllm/v1/sample/deterministic_utils.py",
       "command": "tools/conformance/gonka/gonka_run.sh", **doc}
json.dump(doc, open(sys.argv[2], "w"), separators=(",", ":"))
PY
echo "run.sh: wrote $out/gonka_similarity.json and $out/detsample.json"
