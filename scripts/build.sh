#!/usr/bin/env bash
# Configures and builds difr (and llama.cpp inside it) with ccache. Extra arguments go to cmake's configure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ ! -f "$DIFR_BUILD/CMakeCache.txt" ] || [ $# -gt 0 ]; then
    cmake -S "$DIFR_ROOT" -B "$DIFR_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CPP_DIR="$LLAMA_SRC" "$@" >/dev/null
fi
jobs=$(nproc)
log "building in $DIFR_BUILD with $jobs jobs (ccache: $CCACHE_DIR)"
cmake --build "$DIFR_BUILD" -j "$jobs"
