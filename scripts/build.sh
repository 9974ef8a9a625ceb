#!/usr/bin/env bash
# Configures and builds difr (and llama.cpp inside it) with ccache. Extra arguments go to cmake's configure.
#
#   scripts/build.sh            the default, portable build: ggml's CPU kernels for x86-64-v3 (AVX2, FMA, F16C,
#                               BMI2), the same logits on every host that can run it (docs/engine.md)
#   scripts/build.sh --native   opt-in: -march=native kernels (AVX-512 where the build machine has it; never
#                               AMX), into build-native/; results then depend on the build machine's CPU
#   scripts/build.sh --cuda     adds ggml's CUDA backend for current data-centre GPUs (A100 sm_80, H100/H200
#                               sm_90, B200 sm_100; DIFR_CUDA_ARCHS overrides) into build-cuda/; use
#                               --gpu-layers N to offload. Long: compiles ggml's CUDA kernels
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

variant_args=()
case "${1:-}" in
    --native)
        shift
        DIFR_BUILD="${DIFR_BUILD_NATIVE:-$DIFR_ROOT/build-native}"
        variant_args=(-DDIFR_CPU_ISA=native)
        ;;
    --cuda)
        shift
        DIFR_BUILD="${DIFR_BUILD_CUDA:-$DIFR_ROOT/build-cuda}"
        command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || die "--cuda needs nvcc (the CUDA toolkit)"
        export PATH="$PATH:/usr/local/cuda/bin"
        variant_args=(-DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=${DIFR_CUDA_ARCHS:-80;90;100}")
        ;;
esac

if [ ! -f "$DIFR_BUILD/CMakeCache.txt" ] || [ $# -gt 0 ] || [ ${#variant_args[@]} -gt 0 ]; then
    cmake -S "$DIFR_ROOT" -B "$DIFR_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CPP_DIR="$LLAMA_SRC" \
        "${variant_args[@]}" "$@" >/dev/null
fi
jobs=$(nproc)
log "building in $DIFR_BUILD with $jobs jobs (ccache: $CCACHE_DIR)"
cmake --build "$DIFR_BUILD" -j "$jobs"
