# Shared settings for the scripts: where difr keeps what it downloads and builds outside the repository.
# Sourced, not run.

DIFR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIFR_CACHE="${DIFR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/difr}"
DIFR_BUILD="${DIFR_BUILD:-$DIFR_ROOT/build}"
# The hardening build (docs/hardening.md): clang, difr's code with ASan + UBSan and libFuzzer's coverage.
DIFR_BUILD_ASAN="${DIFR_BUILD_ASAN:-$DIFR_ROOT/build-asan}"

# llama.cpp comes from the llama-cpp-python source distribution on PyPI, pinned by version and sha256.
LLAMA_PY_VERSION="0.3.36"
LLAMA_PY_SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
LLAMA_SRC="$DIFR_CACHE/src/llama.cpp-py$LLAMA_PY_VERSION"

export DIFR_CACHE
export CCACHE_DIR="${CCACHE_DIR:-$DIFR_CACHE/ccache}"
# Paths inside the checkout become relative, so a fresh clone reuses the cache of an earlier one.
export CCACHE_BASEDIR="$DIFR_ROOT"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"

log() { printf '[difr] %s\n' "$*" >&2; }
die() { printf '[difr] error: %s\n' "$*" >&2; exit 1; }

# For the benchmarks: verify_work OUT prints "TOKENS_EVALUATED SECONDS" of the `difr verify` run in OUT, and
# fails when it evaluated nothing. difr verify resumes a finished OUT rather than verifying it again, so a
# benchmark that repeats a run removes OUT before each one.
verify_work() {
    python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))["provenance"]
if p["tokens_evaluated"] == 0: sys.exit(sys.argv[1] + ": difr verify evaluated no token (a resumed, finished run)")
print(p["tokens_evaluated"], p["seconds"])' "$1/summary.json"
}

pip_download() {  # pip_download REQUIREMENT DEST [extra pip args]
    local req=$1 dest=$2; shift 2
    python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$dest" "$@" "$req" \
        || die "could not download $req from PyPI (is PyPI reachable?)"
}

check_sha256() {  # check_sha256 FILE SHA256
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$got" = "$2" ] || die "sha256 mismatch for $1: expected $2, got $got (delete it and run again)"
}

# asan_build TARGET...: configures the hardening build (once) and builds the targets. llama.cpp is compiled by
# clang there, uninstrumented; ccache keeps it for the next run.
asan_build() {
    command -v clang++ >/dev/null || die "the sanitizer and fuzz builds need clang and libFuzzer (scripts/deps.sh installs them)"
    if [ ! -f "$DIFR_BUILD_ASAN/CMakeCache.txt" ]; then
        cmake -S "$DIFR_ROOT" -B "$DIFR_BUILD_ASAN" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CPP_DIR="$LLAMA_SRC" \
            -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DDIFR_FUZZ=ON -DDIFR_BUILD_BENCH=OFF -DDIFR_PYTHON=OFF >/dev/null
    fi
    log "building $* in $DIFR_BUILD_ASAN (ASan + UBSan + libFuzzer coverage)"
    cmake --build "$DIFR_BUILD_ASAN" -j "$(nproc)" --target "$@"
}

# The sanitizers' run-time settings: every report is fatal, leaks included; tests/sanitize/lsan.supp names the
# leaks of uninstrumented third-party code that are not difr's.
sanitizer_env() {
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    export LSAN_OPTIONS="suppressions=$DIFR_ROOT/tests/sanitize/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
}
