# Shared settings for the scripts: where difr keeps what it downloads and builds outside the repository.
# Sourced, not run.

DIFR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIFR_CACHE="${DIFR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/difr}"
DIFR_BUILD="${DIFR_BUILD:-$DIFR_ROOT/build}"

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
