# Helpers for the end-to-end tests. Sourced.
set -euo pipefail
DIFR="$1"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/difr-e2e.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

fail() { echo "FAIL: $*" >&2; exit 1; }

# The tests' Python scripts import serve_client (the HTTP client of difr serve's tests) from here.
export PYTHONPATH="$ROOT/tests/e2e${PYTHONPATH:+:$PYTHONPATH}"

# json_get FILE KEY: a top-level field of a summary.
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# expect_ge NAME VALUE BOUND / expect_le NAME VALUE BOUND
expect_ge() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$2" "$3" \
    || fail "$1 = $2, expected >= $3"; echo "ok: $1 = $2 (>= $3)"; }
expect_le() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$2" "$3" \
    || fail "$1 = $2, expected <= $3"; echo "ok: $1 = $2 (<= $3)"; }

# expect_error STATUS PATTERN -- command...: the command fails with STATUS and stderr matches PATTERN.
expect_error() {
    local status=$1 pattern=$2; shift 3
    set +e
    "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"
    local got=$?
    set -e
    [ "$got" -eq "$status" ] || { cat "$WORK/err.txt" >&2; fail "'$*' exited $got, expected $status"; }
    grep -Eq -- "$pattern" "$WORK/err.txt" || { cat "$WORK/err.txt" >&2; fail "stderr of '$*' lacks /$pattern/"; }
    echo "ok: exit $got, $(head -c 300 "$WORK/err.txt")"
}

# The embedded model, and its Q2_K requantisation (the impostor), made once into the model cache.
MODELS="${DIFR_CACHE:-$HOME/.cache/difr}/models"
HONEST="$MODELS/smollm2-135m-instruct-q4_1.gguf"
IMPOSTOR="$MODELS/derived/smollm2-135m-instruct-q2_k.gguf"
impostor_make() {
    [ -f "$IMPOSTOR" ] && return 0
    mkdir -p "$MODELS/derived"
    "$DIFR" quantize -m "$HONEST" --type Q2_K -o "$IMPOSTOR" >/dev/null
}
