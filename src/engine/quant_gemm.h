// Matrix products of quantised weights with quantised activations that give, element for element, the very
// bits of ggml's CPU kernels (x86-64-v3 build), computed several rows at a time. Internal to src/engine.
//
// ggml multiplies a Q4_1 or Q8_0 weight matrix by activations one output element at a time: one call of its
// vec_dot per (weight row, token), which unpacks the weight block and converts both scales again for every
// token. These kernels unpack each weight block once for a tile of tokens and keep the tile's sums in
// registers, but add every element's terms in exactly ggml's order (eight float lanes, one fused multiply-add
// per 32-value block, ggml's horizontal sum; for Q4_1 the min term summed separately with a fused
// multiply-add), so every logit is bit for bit what ggml computes, whatever the batch. quant_gemm_self_check
// proves it against ggml's own vec_dot at run time.
#pragma once

#include <ggml.h>

#include <cstddef>
#include <cstdint>

namespace difr {

// One product: c[t * c_stride + r] = dot(weight row r, activation row t) for r in [r0, r1), t in [t0, t1).
// Activation rows are already quantised by ggml's from_float for the weight type's vec_dot_type (Q8_1 for
// Q4_1, Q8_0 for Q8_0).
struct QuantGemm {
    ggml_type type = GGML_TYPE_COUNT;  // of the weights: GGML_TYPE_Q4_1 or GGML_TYPE_Q8_0
    int64_t k = 0;                     // row length, a multiple of 32
    const uint8_t *w = nullptr;        // weight rows
    size_t w_stride = 0;               // bytes between weight rows
    const uint8_t *a = nullptr;        // quantised activation rows
    size_t a_stride = 0;               // bytes between activation rows
    float *c = nullptr;
    size_t c_stride = 0;  // floats between output rows (one output row per activation row)
};

// True when this build has the kernels for `type` (x86-64 with AVX2, FMA and F16C).
bool quant_gemm_supports(ggml_type type);

void quant_gemm_run(const QuantGemm &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1);

// Product nodes of llama.cpp's graphs that these kernels computed in this process (graph_rewrite.cpp).
int64_t quant_gemm_nodes_computed();

// Compares the kernels with ggml's vec_dot on random blocks, every tile shape included. True when every
// result is bit-identical; computed once per process.
bool quant_gemm_self_check();

}  // namespace difr
